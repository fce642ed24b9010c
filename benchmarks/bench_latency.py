#!/usr/bin/env python
"""End-to-end POST -> report latency at half the max ingest rate vs the no-op Celery task's round trip.

    .venv/bin/python benchmarks/bench_latency.py [--quick] [--rate R] [--duration S]

A private stack with our service (the best server configuration of bench_ingest_http, else gunicorn
gthread 2x4) and one Celery worker (prefork, ``--concurrency`` 2), all on the same 2 CPUs:

1. the queue's latency: ``bench.noop`` tasks (benchmarks/reference/celery_noop.py) published open-loop at
   ``--noop-rate``; latency = the wall time the task ran minus the wall time it was published;
2. end to end: open-loop single-log POSTs (asyncio client, each a new 100-cell log with a JWT) at
   ``--rate``, by default half of bench_ingest_http's best rate; latency = the report's ``generated_at``
   (PostgreSQL's clock, same machine) minus the wall time the POST was written. POST latency (to the 202)
   is reported too. All accepted logs must get their report (bounded wait).

3. context: the same end-to-end run at ``--context-rates`` (40/s and a quarter of the max ingest rate),
   to separate the pipeline's own latency from the queueing of a saturated host (web, worker, database
   and load generator share the 2 CPUs).

Target: end-to-end p99 <= 10x the no-op task's p99.
"""

from __future__ import annotations

import sys
import time
import uuid
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [str(REPO_ROOT), *(p for p in sys.path if Path(p or ".").resolve() != REPO_ROOT / "benchmarks")]

from benchmarks.common import (  # noqa: E402
    Results,
    Stack,
    WebConfig,
    asyncio_open_loop,
    base_parser,
    closed_loop,
    latency_summary,
    load_results,
    log,
    wait_for,
    wait_quiet,
)


def accepted_logs(sends: list[Any]) -> dict[str, Any]:
    """log_id -> the send that got it, for every POST answered 202."""
    import orjson

    return {orjson.loads(send.body)["log_id"]: send for send in sends if send.status == 202}


def reports_done(stack: Stack, ids: list[str]) -> bool:
    with stack.pg() as conn:
        return conn.execute(
            "SELECT count(*) FROM reports_batteryreport WHERE log_id = ANY(%s::uuid[])", [ids]
        ).fetchone()[0] >= len(ids)


def report_times(stack: Stack, ids: list[str]) -> list[tuple[str, float]]:
    """(log_id, the report's generated_at as epoch seconds) for the reports of `ids` stored so far."""
    with stack.pg() as conn:
        rows = conn.execute(
            "SELECT log_id::text, extract(epoch from generated_at) FROM reports_batteryreport "
            "WHERE log_id = ANY(%s::uuid[])",
            [ids],
        ).fetchall()
    return [(log_id, float(generated)) for log_id, generated in rows]


def noop_latencies(stack: Stack, *, rate: float, duration: float) -> list[float]:
    import redis

    app = stack.celery_app()
    key = f"bench:noop:{uuid.uuid4().hex}"
    total = int(rate * duration)
    t0 = time.monotonic()
    for i in range(total):
        delay = t0 + i / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        app.send_task("bench.noop", args=[time.time(), key], queue=stack.queue)
    r = redis.Redis.from_url(stack.broker_url)
    try:
        wait_for(lambda: r.llen(key) >= total, timeout=60, every=0.2)
        pairs = [item.decode().split() for item in r.lrange(key, 0, -1)]
        r.delete(key)
    finally:
        r.close()
    return [float(ran) - float(sent) for sent, ran in pairs]


def main() -> int:
    p = base_parser(__doc__ or "")
    p.add_argument("--rate", type=float, default=None, help="POSTs per second (default: half the max ingest rate)")
    p.add_argument("--duration", type=float, default=None, help="seconds of POSTs (default 20, quick 5)")
    p.add_argument("--noop-rate", type=float, default=50.0, help="no-op tasks per second (default 50)")
    p.add_argument("--concurrency", type=int, default=2, help="Celery prefork processes (default 2)")
    p.add_argument(
        "--context-rates",
        default="40,q",
        help="context runs at these rates, comma-separated; q = a quarter of the max ingest rate (default 40,q)",
    )
    args = p.parse_args()
    duration = args.duration or (5.0 if args.quick else 20.0)
    if args.wait_quiet:
        wait_quiet(args.wait_quiet)
    results = Results("bench_latency", args)
    ingest = load_results("bench_ingest_http", quick=args.quick)
    config = WebConfig("granian", 2, 2)  # the production default (Dockerfile)
    max_rate = None
    if ingest:
        best = ingest["meta"]["best_config"] if "meta" in ingest else ingest.get("best_config")
        if best:
            config = WebConfig(best["kind"], best["workers"], best["threads"])
        max_rate = ingest["rows"].get("ours_best", {}).get("value")

    with Stack(name="bench-latency", keep=args.keep) as stack:
        results.meta["database"] = stack.db_description
        results.meta["server"] = config.label
        server = stack.start_app(config)
        if max_rate is None:
            log("no bench_ingest_http results: measuring the max ingest rate now (closed loop, 5 s)")
            max_rate = closed_loop(server.url, stack.ingest_spec(), duration_s=5, connections=16).rps
        rate = args.rate or max_rate / 2
        results.add("max_ingest", "max single-log ingest rate (bench_ingest_http)", round(max_rate, 1), "logs/s")
        worker = stack.start_worker(concurrency=args.concurrency)

        noop = noop_latencies(stack, rate=args.noop_rate, duration=3.0 if args.quick else 10.0)
        s = latency_summary(noop)
        results.add(
            "noop_p99",
            f"no-op Celery task round trip p99 ({args.noop_rate:g}/s)",
            s["p99_ms"],
            "ms",
            p50_ms=s["p50_ms"],
            max_ms=s["max_ms"],
            tasks=len(noop),
        )

        # Warm-up at the same rate, then the measured run.
        asyncio_open_loop(server.url, stack.ingest_spec(), rate=rate, duration_s=2.0)
        spec = stack.ingest_spec()
        cpu_before = server.cpu() + worker.cpu()
        sends, lag = asyncio_open_loop(server.url, spec, rate=rate, duration_s=duration)
        accepted = accepted_logs(sends)
        ids = list(accepted)
        drained = wait_for(lambda: reports_done(stack, ids), timeout=180, every=0.5)
        cpu = server.cpu() + worker.cpu() - cpu_before
        rows = report_times(stack, ids)
        e2e = [generated - accepted[log_id].sent_wall for log_id, generated in rows]
        with stack.pg() as conn:
            # The reports of one batch share one generated_at (one transaction's now()).
            transactions = conn.execute(
                "SELECT count(DISTINCT generated_at) FROM reports_batteryreport WHERE log_id = ANY(%s::uuid[])", [ids]
            ).fetchone()[0]
        if transactions:
            results.add(
                "logs_per_report_txn",
                "logs per report transaction (worker batch size)",
                round(len(rows) / transactions, 2),
                "logs",
                transactions=transactions,
            )
        if rows:
            first_sent = min(send.sent_wall for send in accepted.values())
            last_report = max(generated for _, generated in rows)
            results.add(
                "drain_rate",
                "reports/s over the run (first POST to last report)",
                round(len(rows) / (last_report - first_sent), 1),
                "reports/s",
            )
        posts = [send.latency_s for send in sends if send.latency_s is not None]
        errors = len(sends) - len(accepted)
        if errors:
            from collections import Counter

            answers = Counter(str(send.status or "connection error/timeout") for send in sends if send.status != 202)
            results.note(f"POSTs not answered 202: {dict(answers)}")
        ps = latency_summary(posts)
        es = latency_summary(e2e)
        results.add(
            "post_p99",
            f"POST -> 202 at {rate:.0f}/s (open loop)",
            ps["p99_ms"],
            "ms",
            p50_ms=ps["p50_ms"],
            max_ms=ps["max_ms"],
            sent=len(sends),
            errors=errors,
            max_send_lag_ms=round(lag * 1000, 1),
        )
        results.add(
            "e2e_p99",
            f"POST -> report at {rate:.0f}/s (open loop)",
            es["p99_ms"],
            "ms",
            p50_ms=es["p50_ms"],
            p90_ms=es["p90_ms"],
            max_ms=es["max_ms"],
            reports=len(rows),
            drained=drained,
            cpu_ms_per_log=round(1000 * cpu / max(len(rows), 1), 2),
        )
        context_rates = [
            max_rate / 4 if item.strip() == "q" else float(item)
            for item in (args.context_rates or "").split(",")
            if item.strip()
        ]
        for number, context_rate in enumerate(context_rates):
            # Context: the same pipeline at lower rates, to separate its own latency from saturation.
            spec = stack.ingest_spec()
            sends, _ = asyncio_open_loop(server.url, spec, rate=context_rate, duration_s=duration)
            ok = accepted_logs(sends)
            context_ids = list(ok)
            wait_for(lambda ids=context_ids: reports_done(stack, ids), timeout=120, every=0.5)
            rows = report_times(stack, context_ids)
            cs = latency_summary([generated - ok[log_id].sent_wall for log_id, generated in rows])
            posts = latency_summary([s.latency_s for s in sends if s.latency_s is not None])
            key = "e2e_context_p99" if number == 0 else f"e2e_context{number + 1}_p99"
            results.add(
                key,
                f"context: POST -> report at {context_rate:.0f}/s (open loop)",
                cs["p99_ms"],
                "ms",
                p50_ms=cs["p50_ms"],
                max_ms=cs["max_ms"],
                reports=len(rows),
                post_p99_ms=posts["p99_ms"],
            )
            results.ratio(f"context run at {context_rate:.0f}/s: end-to-end p99 / no-op task p99", key, "noop_p99")
        stack.stop_server(worker)
        stack.stop_server(server)

    results.ratio("end-to-end p99 / no-op task p99", "e2e_p99", "noop_p99", target=10.0, at_most=True)
    results.note(
        f"{duration:.0f} s of POSTs at {rate:.1f}/s = half of {max_rate:.1f}; server {config.label}; "
        f"worker prefork x{args.concurrency}"
    )
    results.print()
    results.save()
    return 0


if __name__ == "__main__":
    sys.exit(main())
