#!/usr/bin/env python
"""GET /api/v1/reports/<log_id> vs the plain Django ``.values()`` + orjson view, same server.

    .venv-bench/bin/python -m benchmarks.bench_get [--quick] [--connections 16] [--duration 10]

On the harness's stack (benchmarks/benchlib.py ``bench_stack``), ``--logs`` logs with their reports
(written by COPY and the raw batch loop), then a closed-loop GET load (wrk, or the asyncio client)
cycling over those ids, with a JWT, both served by granian 2x2 (the harness's server):

- ours: ``GET /api/v1/reports/<id>`` (DRF APIView, simplejwt, fleet permission, throttles, orjson);
- the reference: ``GET /plain/reports/<id>`` (benchmarks/reference/textbook_views.py ``plain_report``:
  PyJWT, one ``.values()`` query scoped to the token's user's fleet, orjson, the same JSON).

Rounds interleaved (A B A B), the best of each kept. Target: ours >= 1.0x the plain view.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from benchmarks.bench_workers import insert_pending
from benchmarks.benchlib import (
    GetSpec,
    Results,
    base_parser,
    bench_stack,
    closed_loop,
    log,
    serve,
    serve_textbook,
    wrk_available,
)

REPO_ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    p = base_parser(__doc__ or "")
    p.add_argument("--connections", type=int, default=16)
    p.add_argument("--duration", type=float, default=None, help="seconds per run (default 10, quick 3)")
    p.add_argument("--logs", type=int, default=2000, help="logs with reports to cycle over (default 2000)")
    p.add_argument("--repeat", type=int, default=None, help="interleaved rounds, best kept (default 2, quick 1)")
    args = p.parse_args()
    duration = args.duration or (3.0 if args.quick else 10.0)
    rounds = args.repeat or (1 if args.quick else 2)
    results = Results("bench_get", args)
    results.meta["load_generator"] = "wrk" if wrk_available() else "asyncio"

    with bench_stack("bench_get", args) as fleet:
        from benchmarks.reference import raw_db

        results.meta["database"] = fleet.database
        ids = insert_pending(fleet, args.logs)
        with fleet.pg() as conn:
            raw_db.raw_batch_reports(conn, ids)
            conn.execute("ANALYZE")
        runs = (
            (
                "ours",
                "ours: GET /api/v1/reports/<id>, granian 2w x 2t",
                "/api/v1/reports/",
                lambda: serve(fleet.stack, "ours"),
            ),
            (
                "plain",
                "reference: plain Django .values() + orjson",
                "/plain/reports/",
                lambda: serve_textbook(fleet.stack),
            ),
        )
        best: dict[str, tuple[Any, float, list[int]]] = {}
        for round_no in range(rounds):
            for key, _, path, start in runs:
                server = start()
                try:
                    spec = GetSpec(token=fleet.token, paths=[f"{path}{i}" for i in ids])
                    closed_loop(server.url, spec, duration_s=1 if args.quick else 3, connections=args.connections)
                    cpu_before = server.cpu()
                    result = closed_loop(server.url, spec, duration_s=duration, connections=args.connections)
                    cpu = server.cpu() - cpu_before
                finally:
                    server.stop()
                log(f"  round {round_no + 1}/{rounds} {key}: {result.rps:.0f} req/s")
                history = [*best.get(key, (None, 0.0, []))[2], round(result.rps)]
                if key not in best or result.rps > best[key][0].rps:
                    best[key] = (result, cpu, history)
                best[key] = (*best[key][:2], history)
        for key, label, _, _ in runs:
            result, cpu, history = best[key]
            cpu_ms = round(1000 * cpu / max(result.requests, 1), 3)
            rounds_text = " / ".join(map(str, history))
            results.add(
                key, label, round(result.rps, 1), "req/s", **result.figures(), cpu_ms_per_req=cpu_ms, rounds=rounds_text
            )
            if result.errors:
                results.note(f"{label}: {result.errors} errors")

    results.ratio("GET report: ours / plain .values() + orjson view", "ours", "plain", target=1.0)
    results.ratio(
        "GET report CPU per request: ours / plain (>1: ours costs more)",
        "",
        "",
        values=(results.rows["ours"]["cpu_ms_per_req"], results.rows["plain"]["cpu_ms_per_req"]),
    )
    results.note(f"closed loop, {args.connections} connections, {duration:.0f} s per run, {args.logs} distinct reports")
    results.print()
    results.save()
    return 0


if __name__ == "__main__":
    sys.exit(main())
