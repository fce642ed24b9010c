#!/usr/bin/env python
"""GET report and GET vehicle with and without the read cache (common.readcache), same server code, same run.

    .venv-bench/bin/python -m benchmarks.bench_cache [--quick] [--connections 16] [--duration 8] [--repeat 4]

On the harness's stack (benchmarks/benchlib.py ``bench_stack``: a fresh database, a private redis-server as
broker and cache), ``--logs`` logs with their reports (COPY and the raw batch loop), then a closed-loop GET
load (wrk, or the asyncio client) with a JWT, served by granian 2x2 (the harness's server), cycling over

- ``GET /api/v1/reports/<log_id>`` over the completed reports, and
- ``GET /api/v1/vehicles/<vehicle_id>`` over the fleet's vehicles,

each with ``READ_CACHE=true`` (the answer's bytes from Redis after the first read) and ``READ_CACHE=false``
(the fleet-scoped query every time). Rounds interleave the four servers (the order rotating); each row
keeps the median requests/s and the lowest server CPU per request over the rounds (the figure a busy
shared host disturbs least), and the cache's gain is read from both.

`--in-process`: on a host loaded several times over (other jobs), a closed loop over HTTP gives noise, not
figures. Then two long-lived processes (READ_CACHE on, off) call the project's WSGI application directly
with the same GETs and the same JWT on the same stack, in alternating blocks of --block requests (the order
rotating), and each request's own CPU time (its thread's) and wall time are recorded: the median request
of each is the figure (interference inflates some requests a lot and most not at all).
"""

from __future__ import annotations

import os
import statistics
import sys
from pathlib import Path
from typing import Any

from benchmarks.bench_workers import insert_pending
from benchmarks.benchlib import (
    GetSpec,
    Results,
    base_parser,
    bench_stack,
    child_ask,
    closed_loop,
    log,
    serve,
    wrk_available,
)

REPO_ROOT = Path(__file__).resolve().parent.parent


def _child() -> int:
    """One configuration's process for --in-process: `<kind> N` on stdin runs N GETs; JSON on stdout."""
    import io
    import json
    import time

    import django

    django.setup()
    from django.core.wsgi import get_wsgi_application

    application = get_wsgi_application()
    token = os.environ["BENCH_TOKEN"]
    paths = json.loads(os.environ["BENCH_PATHS"])
    position = dict.fromkeys(paths, 0)
    statuses: dict[str, int] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: object = None) -> None:
        statuses[status[:3]] = statuses.get(status[:3], 0) + 1

    for line in sys.stdin:
        kind, count = line.split()
        statuses.clear()
        cpu: list[float] = []
        wall: list[float] = []
        for _ in range(int(count)):
            path = paths[kind][position[kind] % len(paths[kind])]
            position[kind] += 1
            environ = {
                "REQUEST_METHOD": "GET",
                "PATH_INFO": path,
                "QUERY_STRING": "",
                "HTTP_AUTHORIZATION": f"Bearer {token}",
                "HTTP_HOST": "127.0.0.1",
                "SERVER_NAME": "127.0.0.1",
                "SERVER_PORT": "8000",
                "SERVER_PROTOCOL": "HTTP/1.1",
                "REMOTE_ADDR": "127.0.0.1",
                "wsgi.input": io.BytesIO(b""),
                "wsgi.url_scheme": "http",
                "wsgi.errors": sys.stderr,
            }
            started_cpu, started_wall = time.thread_time(), time.perf_counter()
            result = application(environ, start_response)
            for _chunk in result:
                pass
            result.close()
            cpu.append(time.thread_time() - started_cpu)
            wall.append(time.perf_counter() - started_wall)
        print(json.dumps({"cpu_s": cpu, "wall_s": wall, "statuses": statuses}), flush=True)
    return 0


def _in_process(args: Any, fleet: Any, paths: dict[str, list[str]], results: Results) -> None:
    import json
    import subprocess

    children = {}
    for mode in ("cache", "nocache"):
        env = {
            **fleet.stack.env,
            "READ_CACHE": "true" if mode == "cache" else "false",
            "BENCH_TOKEN": fleet.token,
            "BENCH_PATHS": json.dumps(paths),
        }
        children[mode] = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.bench_cache", "--child"],
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=(fleet.stack.logdir / f"in-process-{mode}.log").open("w"),
            text=True,
        )

    def block(mode: str, kind: str, count: int) -> dict[str, Any]:
        return child_ask(children[mode], f"{kind} {count}", fleet.stack.logdir / f"in-process-{mode}.log")

    runs = [(kind, mode) for kind in ("report", "vehicle") for mode in ("cache", "nocache")]
    samples: dict[str, dict[str, list[float]]] = {f"{k}-{m}": {"cpu": [], "wall": []} for k, m in runs}
    statuses: dict[str, dict[str, int]] = {f"{k}-{m}": {} for k, m in runs}
    try:
        for kind, mode in runs:  # warm-up: every path read once (the cached runs fill the cache)
            block(mode, kind, len(paths[kind]))
        for round_no in range(args.blocks):
            shift = round_no % len(runs)
            for kind, mode in runs[shift:] + runs[:shift]:
                answer = block(mode, kind, args.block)
                key = f"{kind}-{mode}"
                samples[key]["cpu"].extend(answer["cpu_s"])
                samples[key]["wall"].extend(answer["wall_s"])
                for status, count in answer["statuses"].items():
                    statuses[key][status] = statuses[key].get(status, 0) + count
    finally:
        for child in children.values():
            if child.stdin:
                child.stdin.close()
            child.wait(timeout=60)
    for kind, mode in runs:
        key = f"{kind}-{mode}"
        cpu_ms = 1000 * statistics.median(samples[key]["cpu"])
        wall_ms = 1000 * statistics.median(samples[key]["wall"])
        results.add(
            key,
            f"GET {kind}, {'with' if mode == 'cache' else 'without'} the cache (in-process)",
            round(cpu_ms, 4),
            "ms CPU (median request)",
            wall_ms_median=round(wall_ms, 4),
            requests=len(samples[key]["cpu"]),
            statuses=statuses[key],
        )
    for kind in ("report", "vehicle"):
        results.ratio(
            f"GET {kind} CPU per request: with / without the cache (<1: the cache saves)",
            f"{kind}-cache",
            f"{kind}-nocache",
            target=1.0,
            at_most=True,
        )
        results.ratio(
            f"GET {kind} wall time per request: with / without the cache",
            "",
            "",
            values=(results.rows[f"{kind}-cache"]["wall_ms_median"], results.rows[f"{kind}-nocache"]["wall_ms_median"]),
        )
    results.note(f"in-process WSGI calls, {args.blocks} blocks of {args.block} requests per row, order rotating")


def main() -> int:
    if sys.argv[1:] == ["--child"]:
        return _child()
    p = base_parser(__doc__ or "")
    p.add_argument("--connections", type=int, default=16)
    p.add_argument("--duration", type=float, default=None, help="seconds per run (default 8, quick 3)")
    p.add_argument("--logs", type=int, default=2000, help="logs with reports to cycle over (default 2000)")
    p.add_argument("--repeat", type=int, default=None, help="interleaved rounds (default 4, quick 1)")
    p.add_argument("--in-process", action="store_true", help="alternating blocks of WSGI calls, not HTTP load")
    p.add_argument("--blocks", type=int, default=20, help="--in-process: blocks per row")
    p.add_argument("--block", type=int, default=200, help="--in-process: requests per block")
    args = p.parse_args()
    duration = args.duration or (3.0 if args.quick else 8.0)
    rounds = args.repeat or (1 if args.quick else 4)
    results = Results("bench_cache-in-process" if args.in_process else "bench_cache", args)
    results.meta["load_generator"] = "wrk" if wrk_available() else "asyncio"

    # BENCH_DB_PREFIX: the name its database starts with (a shared server's naming rules).
    with bench_stack(os.environ.get("BENCH_DB_PREFIX", "bench_cache"), args) as fleet:
        from benchmarks.reference import raw_db

        results.meta["database"] = fleet.database
        ids = insert_pending(fleet, args.logs)
        with fleet.pg() as conn:
            raw_db.raw_batch_reports(conn, ids)
            conn.execute("ANALYZE")
        vehicles = sorted(fleet.vehicle_pks())
        paths = {
            "report": [f"/api/v1/reports/{log_id}" for log_id in ids],
            "vehicle": [f"/api/v1/vehicles/{vehicle_id}" for vehicle_id in vehicles],
        }
        if args.in_process:
            _in_process(args, fleet, paths, results)
            results.print()
            results.save()
            return 0
        runs = [(f"{what}-{mode}", what, mode) for what in ("report", "vehicle") for mode in ("cache", "nocache")]
        figures: dict[str, list[dict[str, Any]]] = {key: [] for key, _, _ in runs}
        for round_no in range(rounds):
            shift = round_no % len(runs)
            for key, what, mode in runs[shift:] + runs[:shift]:
                server = serve(fleet.stack, key, env={"READ_CACHE": "true" if mode == "cache" else "false"})
                try:
                    spec = GetSpec(token=fleet.token, paths=paths[what])
                    # The warm-up reads every path once (fills the cache for the cached runs).
                    closed_loop(server.url, spec, duration_s=1 if args.quick else 3, connections=args.connections)
                    cpu_before = server.cpu()
                    result = closed_loop(server.url, spec, duration_s=duration, connections=args.connections)
                    cpu = server.cpu() - cpu_before
                finally:
                    server.stop()
                run = {
                    "rps": round(result.rps, 1),
                    "cpu_ms_per_req": round(1000 * cpu / max(result.requests, 1), 4),
                    "errors": result.errors,
                    **result.figures(),
                }
                figures[key].append(run)
                log(f"  round {round_no + 1}/{rounds} {key}: {run['rps']:.0f} req/s, {run['cpu_ms_per_req']} ms CPU")
        for key, what, mode in runs:
            series = figures[key]
            rps = statistics.median(run["rps"] for run in series)
            results.add(
                key,
                f"GET {what}, {'with' if mode == 'cache' else 'without'} the cache",
                round(rps, 1),
                "req/s (median)",
                cpu_ms_per_req=min(run["cpu_ms_per_req"] for run in series),
                p50_ms=statistics.median(run["p50_ms"] for run in series),
                p99_ms=statistics.median(run["p99_ms"] for run in series),
                rounds=" / ".join(f"{run['rps']:.0f}" for run in series),
            )
            if any(run["errors"] for run in series):
                results.note(f"{key}: {sum(run['errors'] for run in series)} errors")
        for what in ("report", "vehicle"):
            results.ratio(
                f"GET {what}: with / without the cache (req/s)", f"{what}-cache", f"{what}-nocache", target=1.0
            )
            results.ratio(
                f"GET {what} CPU per request: with / without the cache (<1: the cache saves)",
                "",
                "",
                values=(
                    results.rows[f"{what}-cache"]["cpu_ms_per_req"],
                    results.rows[f"{what}-nocache"]["cpu_ms_per_req"],
                ),
            )
        results.meta["runs"] = figures
    results.note(
        f"closed loop, {args.connections} connections, {duration:.0f} s per run, {rounds} interleaved rounds, "
        f"{args.logs} distinct reports, the fleet's vehicles"
    )
    results.print()
    results.save()
    return 0


if __name__ == "__main__":
    sys.exit(main())
