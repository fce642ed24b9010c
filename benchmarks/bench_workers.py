#!/usr/bin/env python
"""Reports per second: our worker paths with a real Celery worker vs the raw batch report loop.

    .venv/bin/python benchmarks/bench_workers.py [--quick] [--concurrency 2]

On a private stack, pending 100-cell logs are written straight into the table (COPY), then:

- the raw batch loop (benchmarks/reference/raw_db.py ``raw_batch_reports``, in this process, psycopg 3):
  100 logs per transaction: SELECT … WHERE id = ANY, ``reports.health.evaluate``, one multi-row INSERT of
  the reports, one UPDATE of the statuses: the worker's limit on this machine;
- our batched path: ``reports.generate_battery_reports`` tasks of 100 log ids (what the bulk endpoint
  enqueues) run by a Celery worker (prefork, ``--concurrency``);
- one id per task (``generate_battery_reports``): what single-log ingest publishes at light load, and the
  smallest task it can publish under load;
- ten ids per task, same worker.

What single-log ingest enqueues: a background thread per web process (``reports/dispatch.py``)
publishes one ``generate_battery_reports`` task for the ids waiting when it wakes (1 at light load, at
most one publish per 50 ms). Since the worker tops every task up to 100 logs with the oldest pending
ones (``reports.services.battery_reports_generate``), a backlog is worked off in full batches whatever
size the tasks were published with; the tasks whose logs were taken find them done (one statement).
The 1-id run is therefore the path that must keep up with single-log ingest.

For a task path the queue is filled first, then the worker is started, and the rate is taken between the
first and the last report's ``generated_at`` (so neither the worker's start nor the publishing counts).
Targets: worker >= 0.5x the raw batch loop, and >= 1.2x the single-log ingest rate (bench_ingest_http's
best figure, read from benchmarks/results/): the 1-id path is the one that drains single-log ingest, so
it is the one that has to keep up with it.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [str(REPO_ROOT), *(p for p in sys.path if Path(p or ".").resolve() != REPO_ROOT / "benchmarks")]

from benchmarks.common import (  # noqa: E402
    Results,
    Stack,
    base_parser,
    hundred_cell_log,
    load_results,
    log,
    wait_for,
    wait_quiet,
)


def insert_pending(stack: Stack, count: int, pks: dict[str, int]) -> list[Any]:
    """`count` new pending logs written by COPY; their ids."""
    from benchmarks.reference import raw_db

    base = stack.window()
    templates = [hundred_cell_log(seed) for seed in range(8)]
    logs = []
    for k in range(count):
        t = templates[k % len(templates)]
        logs.append(
            {
                **t,
                "vehicle_id": f"{stack.vehicle_prefix}-{k % stack.vehicles:05d}",
                "timestamp": datetime.fromtimestamp(base + k, UTC),
            }
        )
    rows = raw_db.log_rows(logs, pks)
    with stack.pg(autocommit=False) as conn:
        raw_db.copy_rows(conn, rows)
    return [row[0] for row in rows]


def reports_span(stack: Stack, ids: list[Any]) -> tuple[int, float]:
    """(reports stored for `ids`, seconds between the first and the last generated_at)."""
    with stack.pg() as conn:
        count, first, last = conn.execute(
            "SELECT count(*), min(generated_at), max(generated_at) FROM reports_batteryreport WHERE log_id = ANY(%s)",
            [ids],
        ).fetchone()
    return int(count), ((last - first).total_seconds() if count else 0.0)


def count_reports(stack: Stack, ids: list[Any]) -> int:
    return reports_span(stack, ids)[0]


def run_task_path(stack: Stack, ids: list[Any], *, batch: int, concurrency: int, timeout: float) -> dict[str, Any]:
    app = stack.celery_app()
    started = time.monotonic()
    for start in range(0, len(ids), batch):
        chunk = [str(i) for i in ids[start : start + batch]]
        app.send_task("reports.generate_battery_reports", args=[chunk], queue=stack.queue)
    log(f"published {len(ids) // batch} tasks in {time.monotonic() - started:.1f} s; starting the worker")
    worker = stack.start_worker(concurrency=concurrency)
    cpu_before = worker.cpu()  # after start-up (imports), which is not the tasks' cost
    try:
        done = wait_for(lambda: count_reports(stack, ids) >= len(ids), timeout=timeout, every=0.5)
        cpu = worker.cpu() - cpu_before
    finally:
        stack.stop_server(worker)
        # Tasks whose logs a topped-up batch took are still queued (no-ops): not the next run's work.
        stack.purge_queue()
    count, span = reports_span(stack, ids)
    rate = (count - batch) / span if span > 0 else None
    return {
        "rate": rate,
        "reports": count,
        "complete": done,
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
    if args.wait_quiet:
        wait_quiet(args.wait_quiet)
    results = Results("bench_workers", args)

    with Stack(name="bench-workers", keep=args.keep) as stack:
        from benchmarks.reference import raw_db

        results.meta["database"] = stack.db_description
        with stack.pg() as conn:
            pks = dict(conn.execute("SELECT vehicle_id, id FROM diagnostics_vehicle").fetchall())

        # The raw loop: warm up, then measure.
        with stack.pg(autocommit=True) as conn:
            raw_db.use_orjson_for_json(conn)
            raw_db.raw_batch_reports(conn, insert_pending(stack, 200, pks))
            ids = insert_pending(stack, batch_n, pks)
            secs = raw_db.raw_batch_reports(conn, ids)
        results.add(
            "raw_batch", "raw batch loop (psycopg 3, 100 logs/txn, 1 process)", round(batch_n / secs, 1), "reports/s"
        )

        runs = [
            ("task_batch", "100 ids/task", batch_n, 100),
            ("task_single", "1 id/task (topped up)", single_n, 1),
            ("task_batch10", "10 ids/task (topped up)", single_n, 10),
        ]
        for key, what, count, batch in runs:
            ids = insert_pending(stack, count, pks)
            fig = run_task_path(stack, ids, batch=batch, concurrency=args.concurrency, timeout=300)
            results.add(
                key,
                f"ours: generate_battery_reports, {what}, worker x{args.concurrency}",
                None if fig["rate"] is None else round(fig["rate"], 1),
                "reports/s",
                **{k: v for k, v in fig.items() if k != "rate"},
            )

    ingest = load_results("bench_ingest_http", quick=args.quick)
    ingest_rate = None
    if ingest and "ours_best" in ingest["rows"]:
        ingest_rate = ingest["rows"]["ours_best"]["value"]
        results.add("ingest_rate", "single-log ingest rate (bench_ingest_http, best)", ingest_rate, "logs/s")
    else:
        results.note("no bench_ingest_http results: run it first for the ingest-rate ratios")
    results.ratio("batched worker / raw batch loop", "task_batch", "raw_batch", target=0.5)
    results.ratio("1-id tasks / raw batch loop", "task_single", "raw_batch", target=0.5)
    results.ratio(
        "1-id tasks / single-log ingest",
        "task_single",
        "ingest_rate",
        target=1.2,
        note="the path single-log ingest enqueues: this is the one that must keep up",
    )
    results.ratio("batched worker / single-log ingest", "task_batch", "ingest_rate", target=1.2)
    results.ratio("10-log batches / single-log ingest", "task_batch10", "ingest_rate", target=1.2)
    results.note(
        f"{batch_n} logs per 100-id run, {single_n} for the 1- and 10-id runs; worker prefork concurrency "
        f"{args.concurrency}; rates between the first and the last report"
    )
    results.print()
    results.save()
    return 0


if __name__ == "__main__":
    sys.exit(main())
