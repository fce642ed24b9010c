#!/usr/bin/env python
"""GET report and GET vehicle with and without the read cache (common.readcache), same server code, same run.

    .venv-bench/bin/python benchmarks/bench_cache.py [--quick] [--connections 16] [--duration 8] [--repeat 4]

On the harness's stack (benchmarks/common.py ``bench_stack``: a fresh database, a private redis-server as
broker and cache), ``--logs`` logs with their reports (COPY and the raw batch loop), then a closed-loop GET
load (wrk, or the asyncio client) with a JWT, served by granian 2x2 (the harness's server), cycling over

- ``GET /api/v1/reports/<log_id>`` over the completed reports, and
- ``GET /api/v1/vehicles/<vehicle_id>`` over the fleet's vehicles,

each with ``READ_CACHE=true`` (the answer's bytes from Redis after the first read) and ``READ_CACHE=false``
(the fleet-scoped query every time). Rounds interleave the four servers (the order rotating); each row
keeps the median requests/s and the lowest server CPU per request over the rounds (the figure a busy
shared host disturbs least), and the cache's gain is read from both.
"""

from __future__ import annotations

import os
import statistics
import sys
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [str(REPO_ROOT), *(p for p in sys.path if Path(p or ".").resolve() != REPO_ROOT / "benchmarks")]

from benchmarks.bench_workers import insert_pending  # noqa: E402
from benchmarks.common import GetSpec, Results, base_parser, bench_stack, closed_loop, log, serve, wrk_available  # noqa: E402


def main() -> int:
    p = base_parser(__doc__ or "")
    p.add_argument("--connections", type=int, default=16)
    p.add_argument("--duration", type=float, default=None, help="seconds per run (default 8, quick 3)")
    p.add_argument("--logs", type=int, default=2000, help="logs with reports to cycle over (default 2000)")
    p.add_argument("--repeat", type=int, default=None, help="interleaved rounds (default 4, quick 1)")
    args = p.parse_args()
    duration = args.duration or (3.0 if args.quick else 8.0)
    rounds = args.repeat or (1 if args.quick else 4)
    results = Results("bench_cache", args)
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
