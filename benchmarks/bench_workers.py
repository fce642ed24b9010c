#!/usr/bin/env python
"""Reports per second: our worker with real Celery tasks vs the raw batch report loop.

    .venv-bench/bin/python -m benchmarks.bench_workers [--quick] [--concurrency 2]

On the harness's stack (benchmarks/benchlib.py ``bench_stack``), pending 100-cell logs are written
straight into the table (COPY), then:

- the raw batch loop (benchmarks/reference/raw_db.py ``raw_batch_reports``, in this process, psycopg 3):
  100 logs per transaction (SELECT ... WHERE id = ANY, ``reports.health.evaluate``, one multi-row
  INSERT, one UPDATE): the worker's limit on this machine;
- ``reports.generate_battery_reports`` tasks of 100 log ids (what the bulk endpoint enqueues), of 1 id
  (what single-log ingest publishes at light load; the worker tops every task up to 100 pending logs)
  and of 10 ids, run by the harness's Celery worker (``Stack.start_worker``: prefork, ``--concurrency``).

For a task path the queue is filled first, then the worker started, and the rate taken between the first
and the last report's ``generated_at`` (neither the worker's start nor the publishing counts). Targets:
worker >= 0.5x the raw batch loop, and >= 1.2x the single-log ingest rate (bench_ingest_http's, read from
benchmarks/results/).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from benchmarks.benchlib import Fleet, Results, base_parser, bench_stack, load_results, log
from tests.support.waiting import wait_until

REPO_ROOT = Path(__file__).resolve().parent.parent


def insert_pending(fleet: Fleet, count: int) -> list[Any]:
    """`count` new pending logs written by COPY; their ids."""
    import orjson

    from benchmarks.reference import raw_db

    spec = fleet.ingest_spec()
    rows = raw_db.log_rows([orjson.loads(spec.body(k)) for k in range(count)], fleet.vehicle_pks())
    with fleet.pg(autocommit=False) as conn:
        raw_db.copy_rows(conn, rows)
    return [row[0] for row in rows]


def reports_span(fleet: Fleet, ids: list[Any]) -> tuple[int, float]:
    """(reports stored for `ids`, seconds between the first and the last generated_at)."""
    with fleet.pg() as conn:
        count, first, last = conn.execute(
            "SELECT count(*), min(generated_at), max(generated_at) FROM reports_batteryreport WHERE log_id = ANY(%s)",
            [ids],
        ).fetchone()
    return int(count), ((last - first).total_seconds() if count else 0.0)


def run_task_path(fleet: Fleet, ids: list[Any], *, batch: int, timeout: float) -> dict[str, Any]:
    from config.celery import app

    stack = fleet.stack
    for start in range(0, len(ids), batch):
        app.send_task(
            "reports.generate_battery_reports", args=[[str(i) for i in ids[start : start + batch]]], queue=stack.queue
        )
    log(f"published {len(ids) // batch} tasks of {batch}; starting the worker")
    stack.start_worker()
    cpu_before = stack.cpu_seconds()["worker"]  # after start-up (imports), which is not the tasks' cost
    try:
        wait_until(lambda: reports_span(fleet, ids)[0] >= len(ids), timeout, 0.5, "every report")
        complete = True
    except TimeoutError:
        complete = False
    cpu = stack.cpu_seconds()["worker"] - cpu_before
    stack.stop_worker()
    fleet.purge_queue()  # tasks whose logs a topped-up batch took are still queued: not the next run's work
    count, span = reports_span(fleet, ids)
    return {
        "rate": (count - batch) / span if span > 0 else None,
        "reports": count,
        "complete": complete,
        "span_s": round(span, 2),
        "cpu_ms_per_report": round(1000 * cpu / max(count, 1), 3),
    }


def main() -> int:
    p = base_parser(__doc__ or "")
    p.add_argument("--concurrency", type=int, default=2, help="Celery prefork processes (default 2)")
    p.add_argument("--batch-logs", type=int, default=None, help="logs for the batch runs (default 20000, quick 2000)")
    p.add_argument(
        "--single-logs", type=int, default=None, help="logs for the 1- and 10-id runs (default 3000, quick 300)"
    )
    args = p.parse_args()
    batch_n = args.batch_logs or (2000 if args.quick else 20000)
    single_n = args.single_logs or (300 if args.quick else 3000)
    results = Results("bench_workers", args)

    with bench_stack("bench_workers", args, worker_concurrency=args.concurrency) as fleet:
        from benchmarks.reference import raw_db

        results.meta["database"] = fleet.database
        with fleet.pg() as conn:
            raw_db.use_orjson_for_json(conn)
            raw_db.raw_batch_reports(conn, insert_pending(fleet, 200))  # warm-up
            ids = insert_pending(fleet, batch_n)
            secs = raw_db.raw_batch_reports(conn, ids)
        results.add(
            "raw_batch", "raw batch loop (psycopg 3, 100 logs/txn, 1 process)", round(batch_n / secs, 1), "reports/s"
        )

        for key, what, count, batch in [
            ("task_batch", "100 ids/task", batch_n, 100),
            ("task_single", "1 id/task (topped up)", single_n, 1),
            ("task_batch10", "10 ids/task (topped up)", single_n, 10),
        ]:
            fig = run_task_path(fleet, insert_pending(fleet, count), batch=batch, timeout=300)
            rate = fig.pop("rate")
            label = f"ours: generate_battery_reports, {what}, worker x{args.concurrency}"
            results.add(key, label, None if rate is None else round(rate, 1), "reports/s", **fig)

    ingest = load_results("bench_ingest_http", quick=args.quick)
    if ingest and "ours" in ingest["rows"]:
        results.add(
            "ingest_rate", "single-log ingest rate (bench_ingest_http)", ingest["rows"]["ours"]["value"], "logs/s"
        )
    else:
        results.note("no bench_ingest_http results: run it first for the ingest-rate ratios")
    results.ratio("batched worker / raw batch loop", "task_batch", "raw_batch", target=0.5)
    results.ratio("1-id tasks / raw batch loop", "task_single", "raw_batch", target=0.5)
    results.ratio(
        "1-id tasks / single-log ingest",
        "task_single",
        "ingest_rate",
        target=1.2,
        note="the path that drains single-log ingest",
    )
    results.ratio("batched worker / single-log ingest", "task_batch", "ingest_rate", target=1.2)
    results.note(f"{batch_n} logs per 100-id run, {single_n} per 1- and 10-id run; rate from first to last report")
    results.print()
    results.save()
    return 0


if __name__ == "__main__":
    sys.exit(main())
