#!/usr/bin/env python
"""End-to-end POST -> report latency at half the max ingest rate vs the no-op Celery task's round trip.

    .venv-bench/bin/python -m benchmarks.bench_latency [--quick] [--rate R] [--duration S]

On the harness's stack (benchmarks/benchlib.py ``bench_stack``): our service as deployed (granian 2x2) and
the harness's Celery worker (prefork, ``--concurrency`` 2; it also runs ``bench.noop``,
benchmarks/reference/celery_noop.py), all on the same CPUs:

1. the queue's own latency: ``bench.noop`` tasks published open-loop at ``--noop-rate``; latency = the
   wall time the task ran minus the wall time it was published;
2. end to end: open-loop single-log POSTs (asyncio client, each a new 100-cell log) at ``--rate``, by
   default half of bench_ingest_http's rate; latency = the report's ``generated_at`` (PostgreSQL's clock,
   same machine) minus the wall time the POST was written; POST -> 202 too. Every accepted log must get
   its report (bounded wait);
3. context: the same at ``--context-rates`` (40/s and a quarter of the max rate), to separate the
   pipeline's own latency from the queueing of a saturated host.

Target: end-to-end p99 <= 10x the no-op task's p99.
"""

from __future__ import annotations

import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from benchmarks.benchlib import (
    Fleet,
    Results,
    Server,
    asyncio_open_loop,
    base_parser,
    bench_stack,
    closed_loop,
    latency_summary,
    load_results,
    log,
    serve,
)
from tests.support.waiting import wait_until

REPO_ROOT = Path(__file__).resolve().parent.parent


def noop_latencies(fleet: Fleet, *, rate: float, duration: float) -> list[float]:
    from config.celery import app

    key = f"bench:noop:{uuid.uuid4().hex}"
    total = int(rate * duration)
    t0 = time.monotonic()
    for i in range(total):
        time.sleep(max(0.0, t0 + i / rate - time.monotonic()))
        app.send_task("bench.noop", args=[time.time(), key], queue=fleet.stack.queue)
    redis = fleet.stack.redis.client()  # type: ignore[union-attr]
    wait_until(lambda: redis.llen(key) >= total, 60, 0.2, "every no-op task")
    return [float(ran) - float(sent) for sent, ran in (item.decode().split() for item in redis.lrange(key, 0, -1))]


def end_to_end(fleet: Fleet, server: Server, rate: float, duration: float) -> dict[str, Any]:
    """Open-loop POSTs at `rate`, then every accepted log's report; latencies and counts."""
    import orjson

    sends, lag = asyncio_open_loop(server.url, fleet.ingest_spec(), rate=rate, duration_s=duration)
    accepted = {orjson.loads(send.body)["log_id"]: send for send in sends if send.status == 202}
    ids = list(accepted)

    def reports() -> list[tuple[str, float]]:
        with fleet.pg() as conn:
            return conn.execute(
                "SELECT log_id::text, extract(epoch from generated_at)::float8 FROM reports_batteryreport "
                "WHERE log_id = ANY(%s::uuid[])",
                [ids],
            ).fetchall()

    try:
        wait_until(lambda: len(reports()) >= len(ids), 180, 0.5, "every report")
    except TimeoutError:
        log(f"not every report within 180 s at {rate:.0f}/s")
    rows = reports()
    return {
        "sends": sends,
        "lag": lag,
        "rows": rows,
        "e2e": [generated - accepted[log_id].sent_wall for log_id, generated in rows],
        "posts": [send.latency_s for send in sends if send.latency_s is not None],
        "refused": Counter(str(send.status or "connection error") for send in sends if send.status != 202),
    }


def main() -> int:
    p = base_parser(__doc__ or "")
    p.add_argument("--rate", type=float, default=None, help="POSTs per second (default: half the max ingest rate)")
    p.add_argument("--duration", type=float, default=None, help="seconds of POSTs (default 20, quick 5)")
    p.add_argument("--noop-rate", type=float, default=50.0, help="no-op tasks per second (default 50)")
    p.add_argument("--concurrency", type=int, default=2, help="Celery prefork processes (default 2)")
    p.add_argument("--context-rates", default="40,q", help="context runs; q = a quarter of the max rate (default 40,q)")
    args = p.parse_args()
    duration = args.duration or (5.0 if args.quick else 20.0)
    results = Results("bench_latency", args)
    ingest = load_results("bench_ingest_http", quick=args.quick)
    max_rate = (ingest or {}).get("rows", {}).get("ours", {}).get("value")

    with bench_stack("bench_latency", args, worker_concurrency=args.concurrency) as fleet:
        stack = fleet.stack
        results.meta["database"] = fleet.database
        server = serve(stack, "ours")
        if max_rate is None:
            log("no bench_ingest_http results: measuring the max ingest rate now (closed loop, 5 s)")
            max_rate = closed_loop(server.url, fleet.ingest_spec(), duration_s=5, connections=16).rps
        rate = args.rate or max_rate / 2
        results.add("max_ingest", "max single-log ingest rate (bench_ingest_http)", round(max_rate, 1), "logs/s")
        stack.env["DJANGO_SETTINGS_MODULE"] = "benchmarks.reference.textbook_settings"  # imports bench.noop
        stack.start_worker()

        noop_latencies(fleet, rate=args.noop_rate, duration=1.0)  # warm-up: the pool's first tasks
        noop = latency_summary(noop_latencies(fleet, rate=args.noop_rate, duration=3.0 if args.quick else 10.0))
        label = f"no-op Celery task round trip p99 ({args.noop_rate:g}/s)"
        results.add("noop_p99", label, noop["p99_ms"], "ms", p50_ms=noop["p50_ms"], max_ms=noop["max_ms"])

        end_to_end(fleet, server, rate, 2.0)  # warm-up at the same rate
        cpu_before = server.cpu() + stack.cpu_seconds()["worker"]
        run = end_to_end(fleet, server, rate, duration)
        cpu = server.cpu() + stack.cpu_seconds()["worker"] - cpu_before
        if run["refused"]:
            results.note(f"POSTs not answered 202: {dict(run['refused'])}")
        posts, e2e = latency_summary(run["posts"]), latency_summary(run["e2e"])
        results.add(
            "post_p99",
            f"POST -> 202 at {rate:.0f}/s (open loop)",
            posts["p99_ms"],
            "ms",
            p50_ms=posts["p50_ms"],
            max_ms=posts["max_ms"],
            sent=len(run["sends"]),
            max_send_lag_ms=round(run["lag"] * 1000, 1),
        )
        results.add(
            "e2e_p99",
            f"POST -> report at {rate:.0f}/s (open loop)",
            e2e["p99_ms"],
            "ms",
            p50_ms=e2e["p50_ms"],
            max_ms=e2e["max_ms"],
            reports=len(run["rows"]),
            cpu_ms_per_log=round(1000 * cpu / max(len(run["rows"]), 1), 2),
        )
        rates = [max_rate / 4 if r.strip() == "q" else float(r) for r in args.context_rates.split(",") if r.strip()]
        for number, context_rate in enumerate(rates):
            run = end_to_end(fleet, server, context_rate, duration)
            e2e, posts = latency_summary(run["e2e"]), latency_summary(run["posts"])
            key = f"e2e_context{number + 1}_p99"
            label = f"context: POST -> report at {context_rate:.0f}/s (open loop)"
            results.add(key, label, e2e["p99_ms"], "ms", p50_ms=e2e["p50_ms"], post_p99_ms=posts["p99_ms"])
            results.ratio(f"context at {context_rate:.0f}/s: end-to-end p99 / no-op task p99", key, "noop_p99")

    results.ratio("end-to-end p99 / no-op task p99", "e2e_p99", "noop_p99", target=10.0, at_most=True)
    results.note(f"{duration:.0f} s of POSTs at {rate:.1f}/s = half of {max_rate:.1f}; worker x{args.concurrency}")
    results.print()
    results.save()
    return 0


if __name__ == "__main__":
    sys.exit(main())
