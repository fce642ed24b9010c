#!/usr/bin/env python
"""What metrics and structured logs cost single-log ingest: the same server, before and after, in one run.

    .venv/bin/python benchmarks/bench_observability.py --before /path/to/checkout-without [--rounds 3]

"before" is a checkout of the code without observability (e.g. a worktree of main), "after" this checkout
with everything on as in production: prometheus_client multiprocess mode (PROMETHEUS_MULTIPROC_DIR),
LOG_FORMAT=json (one access line per request, to a file), the middleware. Both serve granian 2 workers x
2 threads (the Dockerfile's) on the same database (DATABASE_URL, migrated here) and the same broker
(CELERY_BROKER_URL; no worker runs, the queue is purged after each run). The load: wrk (or the asyncio
client), --connections keep-alive connections, each POST a new 100-cell log with a JWT; a warm-up, then
--duration seconds measured. Rounds alternate before/after (A B A B ...) and the best round of each is kept
(on a shared VM interference only lowers a figure). Prints requests/s, p50/p99 and the ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [str(REPO_ROOT), *(p for p in sys.path if Path(p or ".").resolve() != REPO_ROOT / "benchmarks")]

import httpx  # noqa: E402
import psutil  # noqa: E402

from benchmarks.common import IngestSpec, closed_loop  # noqa: E402
from tests.support.infra import free_port, stop_tree, wait_for_http, web_server_argv  # noqa: E402


def _serve(checkout: Path, env: dict[str, str], log_path: Path) -> tuple[subprocess.Popen[bytes], str]:
    """granian 2 x 2 (the harness's command line) serving `checkout`'s code."""
    port = free_port()
    proc = subprocess.Popen(
        web_server_argv(port, workers=2, threads=2),
        cwd=checkout,
        env=env,
        stdout=log_path.open("wb"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    wait_for_http(f"{url}/healthz", proc, timeout=60)
    return proc, url


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a process and its children so far."""
    processes = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
    return sum(sum(process.cpu_times()[:2]) for process in processes)


def _purge(env: dict[str, str]) -> None:
    subprocess.run(
        [sys.executable, "-m", "celery", "-A", "config", "purge", "-f"], cwd=REPO_ROOT, env=env, capture_output=True
    )


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--before", type=Path, required=True, help="a checkout without observability (e.g. main)")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--duration", type=float, default=8.0)
    p.add_argument("--warmup", type=float, default=2.0)
    p.add_argument("--connections", type=int, default=16)
    p.add_argument("--json", type=Path, default=None)
    args = p.parse_args()
    for name in ("DATABASE_URL", "CELERY_BROKER_URL"):
        if not os.environ.get(name):
            p.error(f"{name} must be set")

    work = Path(tempfile.mkdtemp(prefix="bench-obs-"))
    base = dict(os.environ, DJANGO_SETTINGS_MODULE="config.settings", DJANGO_SECRET_KEY="bench-only-not-secret")
    base.pop("PROMETHEUS_MULTIPROC_DIR", None)
    base.update(THROTTLE_USER_RATE="100000000/min", THROTTLE_FLEET_RATE="100000000/min", LOG_LEVEL="INFO")
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput"], cwd=REPO_ROOT, env=base, check=True)
    subprocess.run(
        [sys.executable, "manage.py", "create_api_user", "bench-obs", "--fleet", "bench-obs", "--password", "bench-pw"],
        cwd=REPO_ROOT,
        env=base,
        check=True,
        capture_output=True,
    )
    configs = {
        "before": (args.before.resolve(), {**base, "LOG_FORMAT": "console"}),
        "after": (
            REPO_ROOT,
            {
                **base,
                "LOG_FORMAT": "json",
                "PROMETHEUS_MULTIPROC_DIR": str(work / "metrics"),
                "METRICS_MULTIPROC_ROOT": str(work / "metrics"),
            },
        ),
        # The same with LOG_REQUESTS=errors (no line for a 2xx): how much is the access line, how much the rest.
        "after-errors": (
            REPO_ROOT,
            {
                **base,
                "LOG_FORMAT": "json",
                "LOG_REQUESTS": "errors",
                "PROMETHEUS_MULTIPROC_DIR": str(work / "metrics-errors"),
                "METRICS_MULTIPROC_ROOT": str(work / "metrics-errors"),
            },
        ),
    }
    results: dict[str, list[dict[str, float | None]]] = {name: [] for name in configs}
    window = int(time.time()) - 10 * 365 * 86400
    for round_index in range(args.rounds):
        for name, (checkout, env) in configs.items():
            proc, url = _serve(checkout, env, work / f"{name}.log")
            try:
                token = httpx.post(
                    f"{url}/api/v1/auth/token", json={"username": "bench-obs", "password": "bench-pw"}
                ).json()["access"]
                window += 100_000
                spec = IngestSpec(token=token, vehicle_prefix="BOBS", vehicles=500, base_s=window)
                closed_loop(url, spec, duration_s=args.warmup, connections=args.connections)
                window += 100_000
                spec = IngestSpec(token=token, vehicle_prefix="BOBS", vehicles=500, base_s=window)
                cpu_before = cpu_seconds(proc.pid)
                result = closed_loop(url, spec, duration_s=args.duration, connections=args.connections)
                cpu = cpu_seconds(proc.pid) - cpu_before
            finally:
                stop_tree(proc)
                _purge(env)
            figures = {"rps": round(result.rps, 1), "p50_ms": result.p50_ms, "p99_ms": result.p99_ms}
            figures["errors"] = result.errors
            figures["cpu_ms_per_req"] = round(1000 * cpu / max(result.requests, 1), 3)
            results[name].append(figures)
            print(f"round {round_index + 1} {name:12s} {figures}", flush=True)
    best = {name: max(runs, key=lambda run: run["rps"] or 0) for name, runs in results.items()}
    ratio = (best["after"]["rps"] or 0) / (best["before"]["rps"] or 1)
    # Server CPU per request is less disturbed by other load on the host than requests/s: the lowest of each.
    cpu = {name: min(run["cpu_ms_per_req"] or 0 for run in runs) for name, runs in results.items()}
    for name, figures in best.items():
        print(f"best {name:12s} {figures}")
    print(f"after/before requests/s: {ratio:.3f} (cost {100 * (1 - ratio):.1f} %)")
    for name in ("after", "after-errors"):
        print(
            f"server CPU ms/request, lowest: before {cpu['before']}, {name} {cpu[name]} "
            f"(cost {100 * (cpu[name] / (cpu['before'] or 1) - 1):.1f} %)"
        )
    if args.json:
        args.json.write_text(
            json.dumps(
                {"runs": results, "best": best, "ratio": ratio, "cpu_ms_per_req": cpu, "args": vars(args)}, default=str
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
