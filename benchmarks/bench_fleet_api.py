"""The fleet API on a seeded fleet (issue "The fleet's data through the API", targets):

- ``GET /api/v1/vehicles`` (every ordering, first and a deep page) and a vehicle's report history
  (first and deep page): p50 under 30 ms, p99 under 100 ms;
- ``GET /api/v1/reports.csv`` of 100,000 reports at 50,000 rows/s or more, with flat memory (the web
  process's RSS before and after);
- the fleet's reports list, for information;
- one cell's history through HTTP (``GET /api/v1/vehicles/<id>/cells/42/history?limit=10000``) for a
  vehicle with six months of hourly logs (about 4,400): p50 under 50 ms. The vehicle is ``--history-vehicle``
  (default EV-HIST-00000, seeded as docs/performance.md "One cell's history" shows); skipped, and said so,
  when the fleet has no such vehicle.

The fleet is seeded by the service's own ``seed_diagnostics`` (bulk COPY, reports by the worker's batch
service, with progress): 2,000 vehicles x 500 hourly logs of 96-120 cells (1,000,000 logs) unless --quick.
It is served by granian (the production server) from ``tests.support``. Requests come one at a time from
one keep-alive client, so the figures are latencies, not throughput.

    python -m benchmarks.bench_fleet_api [--quick] [--keep] [--reuse DBNAME]

Prints a table and writes benchmarks/results/fleet_api.json (fleet_api-quick.json with --quick).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse

import httpx
import psutil

from benchmarks.benchlib import run_meta, save_result
from tests.support.infra import (
    NamedDatabase,
    free_port,
    manage,
    service_env,
    start_web,
    stop_tree,
    wait_for_http,
)

REPO_ROOT = Path(__file__).resolve().parent.parent

RESULTS = REPO_ROOT / "benchmarks" / "results"
ORDERINGS = ["vehicle_id", "-vehicle_id", "latest_soh", "-latest_soh", "last_seen", "-last_seen"]
USER, FLEET, PASSWORD = "bench-fleet", "bench", "bench-fleet-pass"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


def timed(client: httpx.Client, url: str, repeat: int) -> dict[str, float]:
    """Latency of GET `url` (ms): `repeat` calls after 3 warm-up calls; every answer must be 200."""
    for _ in range(3):
        client.get(url).raise_for_status()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
    return {"p50_ms": round(statistics.median(times), 2), "p99_ms": round(percentile(times, 99), 2), "n": repeat}


def deep_url(client: httpx.Client, url: str, pages: int) -> str:
    """The URL of page `pages + 1`, following `next` links."""
    for _ in range(pages):
        following = client.get(url).json()["next"]
        if following is None:
            break
        url = following
    return url


def rss_mb(web: subprocess.Popen) -> float:
    processes = [psutil.Process(web.pid), *psutil.Process(web.pid).children(recursive=True)]
    return round(sum(process.memory_info().rss for process in processes) / 2**20, 1)


def seed(env: dict[str, str], *, vehicles: int, logs: int) -> float:
    started = time.monotonic()
    subprocess.run(
        [
            sys.executable,
            "manage.py",
            "seed_diagnostics",
            "--vehicles",
            str(vehicles),
            "--logs-per-vehicle",
            str(logs),
            "--seed",
            "1",
            "--fleet",
            FLEET,
            "--cells",
            "96-120",
            "--interval",
            "1h",
        ],
        cwd=REPO_ROOT,
        env=env,
        check=True,
    )
    return time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="50 vehicles x 40 logs, fewer calls (a smoke run)")
    parser.add_argument(
        "--server-url", default=os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    )
    parser.add_argument("--reuse", help="an already seeded database on that server (skips seeding)")
    parser.add_argument("--keep", action="store_true", help="keep the seeded database for --reuse")
    parser.add_argument("--history-vehicle", default="EV-HIST-00000", help="a vehicle with ~4,400 hourly logs")
    args = parser.parse_args()
    meta = run_meta("fleet_api", quick=args.quick)
    vehicles, logs, repeat = (50, 40, 30) if args.quick else (2000, 500, 200)
    csv_rows = 1000 if args.quick else 100_000

    database = None
    if args.reuse:
        parts = urlparse(args.server_url)
        db_url = parts._replace(path=f"/{args.reuse}").geturl()
    else:
        database = NamedDatabase(args.server_url, prefix="bench_fleet", keep=args.keep).create()
        db_url = database.url
        print(f"database {database.name}" + (" (kept: --reuse it)" if args.keep else ""), flush=True)
    env = service_env(db_url=db_url, broker_url="", queue="bench-fleet")
    env.pop("CELERY_BROKER_URL", None)  # reports in-process while seeding
    env.update(THROTTLE_USER_RATE="1000000/min", THROTTLE_FLEET_RATE="1000000/min", LOG_LEVEL="WARNING")
    results: dict[str, object] = {
        **meta,
        "fleet": {"vehicles": vehicles, "logs_per_vehicle": logs},
    }
    web = None
    try:
        manage(env, "migrate", "--noinput", "-v", "0", timeout=600)
        if not args.reuse:
            seconds = seed(env, vehicles=vehicles, logs=logs)
            results["seed_s"] = round(seconds, 1)
            results["seed_logs_per_s"] = round(vehicles * logs / seconds)
        manage(env, "create_api_user", USER, "--fleet", FLEET, "--password", PASSWORD)
        port = free_port()
        with tempfile.TemporaryDirectory() as logdir:
            web = start_web(env, port, Path(logdir) / "web.log")
            base = f"http://127.0.0.1:{port}"
            wait_for_http(f"{base}/healthz", web, timeout=60)
            token = httpx.post(f"{base}/api/v1/auth/token", json={"username": USER, "password": PASSWORD}).json()
            headers = {"Authorization": f"Bearer {token['access']}"}
            figures: dict[str, dict[str, float]] = {}
            with httpx.Client(base_url=base, headers=headers, timeout=120) as client:
                for ordering in ORDERINGS:
                    first = f"/api/v1/vehicles?ordering={ordering}&limit=50"
                    figures[f"vehicles {ordering} first page"] = timed(client, first, repeat)
                    deep = deep_url(client, first, pages=min(30, vehicles // 50 - 1))
                    figures[f"vehicles {ordering} deep page"] = timed(client, deep, repeat)
                vehicle_id = client.get("/api/v1/vehicles?limit=1").json()["results"][0]["vehicle_id"]
                history = f"/api/v1/vehicles/{vehicle_id}/reports?limit=50"
                figures["vehicle reports first page"] = timed(client, history, repeat)
                figures["vehicle reports deep page"] = timed(client, deep_url(client, history, pages=8), repeat)
                figures["fleet reports first page"] = timed(client, "/api/v1/reports?limit=50", repeat)
                hist = client.get(f"/api/v1/vehicles/{args.history_vehicle}")
                if hist.status_code == 200:
                    url = f"/api/v1/vehicles/{args.history_vehicle}/cells/42/history?limit=10000"
                    rows = len(client.get(url).json()["results"])
                    figures["cell 42 history"] = {**timed(client, url, min(repeat, 100)), "rows": rows}
                else:
                    print(f"no vehicle {args.history_vehicle}: one cell's history not measured", flush=True)
                # The CSV of the newest `csv_rows` reports: every vehicle posts hourly at the same instants, so
                # the last csv_rows / vehicles hours hold that many.
                newest = client.get("/api/v1/reports?limit=1").json()["results"][0]["timestamp"]
                hours = max(1, csv_rows // vehicles + 1)  # vehicles post a little apart: one hour more
                since = datetime.fromisoformat(newest) - timedelta(hours=hours - 1)
                since_text = since.strftime("%Y-%m-%dT%H:%M:%SZ")
                rss_before = rss_mb(web)
                started = time.perf_counter()
                rows = -1  # the header
                with client.stream("GET", f"/api/v1/reports.csv?since={since_text}") as response:
                    response.raise_for_status()
                    for chunk in response.iter_text():
                        rows += chunk.count("\n")
                seconds = time.perf_counter() - started
                rss_after = rss_mb(web)
                figures["reports.csv"] = {
                    "rows": rows,
                    "seconds": round(seconds, 2),
                    "rows_per_s": round(rows / seconds),
                    "web_rss_mb_before": rss_before,
                    "web_rss_mb_after": rss_after,
                }
            results["figures"] = figures
    finally:
        stop_tree(web)
        if database is not None:
            database.close()

    print(f"\nload average {meta['machine']['loadavg_start']} at start; fleet {vehicles} vehicles x {logs} logs")
    if "seed_s" in results:
        print(f"seeding: {results['seed_s']} s ({results['seed_logs_per_s']} logs/s, reports included)")
    print(f"{'request':42} {'p50 ms':>8} {'p99 ms':>8}   target p50 < 30, p99 < 100")
    for name, figure in results["figures"].items():  # type: ignore[attr-defined]
        if name == "cell 42 history":
            verdict = "met" if figure["p50_ms"] < 50 else "NOT met"
            print(
                f"{name + ' (' + str(figure['rows']) + ' rows)':42} {figure['p50_ms']:8.1f} {figure['p99_ms']:8.1f}"
                f"   target p50 < 50: {verdict}"
            )
        elif "p50_ms" in figure:
            verdict = "met" if figure["p50_ms"] < 30 and figure["p99_ms"] < 100 else "NOT met"
            print(f"{name:42} {figure['p50_ms']:8.1f} {figure['p99_ms']:8.1f}   {verdict}")
    csv = results["figures"]["reports.csv"]  # type: ignore[index]
    print(
        f"reports.csv: {csv['rows']} rows in {csv['seconds']} s = {csv['rows_per_s']} rows/s (target >= 50,000); "
        f"web RSS {csv['web_rss_mb_before']} -> {csv['web_rss_mb_after']} MB"
    )
    save_result("fleet_api", results, quick=args.quick)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
