"""First load of the dashboard's fleet overview on 2,000 seeded vehicles, in Debian's chromium (Playwright).

A logged-in user opens http://.../ in a new browser context (empty HTTP cache: a first load); the clock runs
from navigation start until the vehicles table has its rows and the SoH histogram, the open-alerts chart
and the anomaly timeline have their bars, i.e. the page as the user sees it. The server is granian with the
production arguments (tests.support.infra.start_web, 2 workers) on a database named by DATABASE_URL; its
fleet `bench` is seeded with 2,000 vehicles x 3 logs on the first run (seed_diagnostics, reports in-process).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/frontend_bench .venv/bin/python -m benchmarks.dashboard_load

Run by `make bench-dashboard` (the app must be built: make frontend). Not one of `make bench`'s bench_*.py
scripts: it needs Playwright, which the benchmarks' own virtualenv does not carry. Prints the figures and
writes benchmarks/results/dashboard_load.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import httpx

from benchmarks.benchlib import run_meta, save_result
from tests.support.infra import free_port, manage, service_env, start_web, stop_tree, wait_for_http

REPO_ROOT = Path(__file__).resolve().parent.parent

TARGET_S = 2.0
USER = {"username": "bench", "password": "bench"}
READY = [
    "[data-testid=vehicles-table] tbody tr",
    "[data-testid=soh-histogram] .recharts-bar-rectangle",
    "[data-testid=alerts-by-severity] .recharts-bar-rectangle",
    "[data-testid=anomaly-timeline] .recharts-bar-rectangle",
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vehicles", type=int, default=2000)
    parser.add_argument("--logs-per-vehicle", type=int, default=3)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--quick", action="store_true", help="3 runs (a smoke run; the fleet as given)")
    parser.add_argument("--name", default="dashboard_load", help="results file: benchmarks/results/<name>.json")
    args = parser.parse_args()
    if args.quick:
        args.runs = min(args.runs, 3)
    meta = run_meta("dashboard_load", quick=args.quick)
    if not os.environ.get("DATABASE_URL"):
        parser.error("set DATABASE_URL to a database of yours (it is migrated and seeded on the first run)")
    if not (REPO_ROOT / "frontend" / "dist" / "index.html").exists():
        parser.error("the dashboard is not built: make frontend")

    env = service_env(db_url=os.environ["DATABASE_URL"], broker_url="", queue="dashboard-bench")
    env.pop("REDIS_URL", None)
    manage(env, "migrate", "--noinput", "-v", "0", timeout=600)
    manage(env, "create_api_user", USER["username"], "--fleet", "bench", "--password", USER["password"])

    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    log_path = Path("/tmp") / f"dashboard_load_web_{port}.log"
    web = start_web(env, port, log_path, workers=2)
    try:
        wait_for_http(f"{base_url}/healthz", web)
        if _summary(base_url)["vehicles"] < args.vehicles:  # seeded once; a rerun measures the same fleet
            seeded = time.perf_counter()
            manage(
                env,
                *("seed_diagnostics", "--vehicles", str(args.vehicles)),
                *("--logs-per-vehicle", str(args.logs_per_vehicle), "--seed", "7", "--fleet", "bench"),
                *("--prefix", "EV-B", "--no-progress"),
                timeout=3600,
            )
            print(f"seeded in {time.perf_counter() - seeded:.1f} s", file=sys.stderr)
        summary = _summary(base_url)
        assert summary["vehicles"] >= args.vehicles, summary["vehicles"]
        loads = _measure(base_url, args.chromium, args.runs)
    finally:
        stop_tree(web)

    figures = {
        "what": "first load of the fleet overview (new browser context, empty cache) until table and charts are drawn",
        "vehicles": summary["vehicles"],
        "logs_per_vehicle": args.logs_per_vehicle,
        "runs": len(loads),
        "seconds": [round(x["total_s"], 3) for x in loads],
        "median_s": round(statistics.median(x["total_s"] for x in loads), 3),
        "max_s": round(max(x["total_s"] for x in loads), 3),
        "min_s": round(min(x["total_s"] for x in loads), 3),
        "runs_under_target": sum(1 for x in loads if x["total_s"] < TARGET_S),
        "median_api_done_ms": statistics.median(x["api_done_ms"] for x in loads),
        "first_run_s": round(loads[0]["total_s"], 3),
        "navigation": loads,
        "target_s": TARGET_S,
        "loadavg": [round(x, 2) for x in os.getloadavg()],
        "nproc": os.cpu_count(),
    }
    out = save_result(args.name, {**meta, **figures}, quick=args.quick)
    assert out is not None
    print(
        f"fleet overview, {summary['vehicles']} vehicles: first load median {figures['median_s']} s, "
        f"min {figures['min_s']} s, max {figures['max_s']} s over {len(loads)} runs, "
        f"{figures['runs_under_target']} under target; API answers all in by {figures['median_api_done_ms']} ms "
        f"(median) (target < {TARGET_S} s; load average "
        f"{figures['loadavg'][0]} on {figures['nproc']} cores) -> {out.relative_to(REPO_ROOT)}"
    )
    return 0 if figures["max_s"] < TARGET_S else 1


def _summary(base_url: str) -> dict:
    token = httpx.post(f"{base_url}/api/v1/auth/token", json=USER, timeout=30).json()["access"]
    return httpx.get(
        f"{base_url}/api/v1/fleet/summary", headers={"Authorization": f"Bearer {token}"}, timeout=30
    ).json()


def _measure(base_url: str, chromium: str, runs: int) -> list[dict]:
    from playwright.sync_api import sync_playwright

    results = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            for _ in range(runs):
                # A fresh context: no HTTP cache, no stored token; log in through the API, store the pair as
                # the app does, then time the first load of / alone.
                context = browser.new_context(viewport={"width": 1280, "height": 900})
                pair = httpx.post(f"{base_url}/api/v1/auth/token", json=USER, timeout=30).json()
                context.add_init_script(f"localStorage.setItem('battery.tokens', {json.dumps(json.dumps(pair))})")
                page = context.new_page()
                started = time.perf_counter()
                page.goto(base_url + "/", wait_until="commit")
                for selector in READY:
                    page.wait_for_selector(selector, timeout=30_000)
                total = time.perf_counter() - started
                timing = page.evaluate(
                    "() => { const n = performance.getEntriesByType('navigation')[0];"
                    " return {ttfb_ms: n.responseStart, dom_content_loaded_ms: n.domContentLoadedEventEnd,"
                    " load_ms: n.loadEventEnd, transfer_bytes: performance.getEntriesByType('resource')"
                    ".reduce((s, r) => s + r.transferSize, n.transferSize),"
                    " api_ms: Object.fromEntries(performance.getEntriesByType('resource')"
                    ".filter(r => r.name.includes('/api/v1/'))"
                    ".map(r => [new URL(r.name).pathname, Math.round(r.responseEnd - r.startTime)])),"
                    " api_done_ms: Math.round(Math.max(...performance.getEntriesByType('resource')"
                    ".filter(r => r.name.includes('/api/v1/')).map(r => r.responseEnd)))}; }"
                )
                api_ms = timing.pop("api_ms")
                results.append({"total_s": total, **{k: round(v, 1) for k, v in timing.items()}, "api_ms": api_ms})
                context.close()
        finally:
            browser.close()
    return results


if __name__ == "__main__":
    sys.exit(main())
