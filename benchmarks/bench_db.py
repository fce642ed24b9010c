#!/usr/bin/env python
"""The database's limit vs our ingest services, same rows, same table, side by side.

    .venv/bin/python benchmarks/bench_db.py [--quick]

On a fresh private database (see benchmarks/common.py), 100-cell logs for vehicles of the bench fleet:

- single rows, one commit each: raw psycopg 3 INSERT, raw psycopg2 INSERT, psycopg 3 pipeline mode, and
  ``diagnostics.services.diagnostic_log_ingest`` (our one-statement fast path, through Django and
  psycopg2, publishing its report task to the private Redis after commit like in production);
- many rows: raw COPY (psycopg 3 and psycopg2), one multi-row INSERT from unnest (psycopg 3), and
  ``diagnostic_logs_ingest_bulk`` (1,000 logs per call, one transaction, one batch task);
- context: COPY again without the GIN index on ``cells`` (what that index costs on every write).

Targets served: bulk ingest >= 0.75x raw COPY (the HTTP figure is in bench_ingest_http.py; the service
figure here shows how much of it the database layer leaves); the psycopg2 vs psycopg 3 choice.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [str(REPO_ROOT), *(p for p in sys.path if Path(p or ".").resolve() != REPO_ROOT / "benchmarks")]

from benchmarks.common import Results, Stack, base_parser, hundred_cell_log, log, wait_quiet  # noqa: E402


def make_logs(stack: Stack, count: int) -> list[dict[str, Any]]:
    """`count` new validated-shape logs (datetime timestamps) in a fresh window."""
    base = stack.window()
    templates = [hundred_cell_log(seed) for seed in range(4)]
    logs = []
    for k in range(count):
        t = templates[k % 4]
        logs.append(
            {
                "vehicle_id": f"{stack.vehicle_prefix}-{k % stack.vehicles:05d}",
                "timestamp": datetime.fromtimestamp(base + k, UTC),
                "cells": t["cells"],
                "cycle_count": t["cycle_count"],
                "nominal_capacity_kwh": float(t["nominal_capacity_kwh"]),
                "current_capacity_kwh": float(t["current_capacity_kwh"]),
            }
        )
    return logs


def vehicle_pks(stack: Stack) -> dict[str, int]:
    with stack.pg() as conn:
        return dict(conn.execute("SELECT vehicle_id, id FROM diagnostics_vehicle").fetchall())


def main() -> int:
    p = base_parser(__doc__ or "")
    p.add_argument("--single-rows", type=int, default=None, help="rows per single-row run (default 3000, quick 300)")
    p.add_argument("--bulk-rows", type=int, default=None, help="rows per bulk run (default 20000, quick 2000)")
    args = p.parse_args()
    single_n = args.single_rows or (300 if args.quick else 3000)
    bulk_n = args.bulk_rows or (2000 if args.quick else 20000)
    if args.wait_quiet:
        wait_quiet(args.wait_quiet)
    results = Results("bench_db", args)

    with Stack(name="bench-db", keep=args.keep) as stack:
        import psycopg2
        from django.db import connection

        from benchmarks.reference import raw_db
        from diagnostics.services import diagnostic_log_ingest, diagnostic_logs_ingest_bulk

        results.meta["database"] = stack.db_description
        pks = vehicle_pks(stack)
        with stack.pg() as conn:
            results.meta["postgres"] = conn.execute("SELECT version()").fetchone()[0]
            results.meta["synchronous_commit"] = conn.execute("SHOW synchronous_commit").fetchone()[0]
            results.meta["fsync"] = conn.execute("SHOW fsync").fetchone()[0]
        conn3 = __import__("psycopg").connect(stack.libpq_url(), autocommit=True)
        conn2 = psycopg2.connect(stack.db_url)
        conn2.autocommit = True
        try:
            # Warm up each path (connections, prepared statements, caches) on a few rows.
            raw_db.insert_single(conn3, raw_db.log_rows(make_logs(stack, 50), pks))
            raw_db.insert_single_psycopg2(conn2, raw_db.log_rows(make_logs(stack, 50), pks))
            for data in make_logs(stack, 50):
                diagnostic_log_ingest(fleet_id=stack.fleet_id, data=data)

            # -- single rows, one commit each ------------------------------------------------------------
            rows = raw_db.log_rows(make_logs(stack, single_n), pks)
            secs = raw_db.insert_single(conn3, rows)
            results.add("raw_insert_pg3", "raw single-row INSERT, psycopg 3", single_n / secs, "commits/s")
            rows = raw_db.log_rows(make_logs(stack, single_n), pks)
            secs = raw_db.insert_single_psycopg2(conn2, rows)
            results.add("raw_insert_pg2", "raw single-row INSERT, psycopg2", single_n / secs, "commits/s")
            rows = raw_db.log_rows(make_logs(stack, single_n), pks)
            secs = raw_db.insert_single_pipeline(conn3, rows)
            results.add(
                "raw_insert_pipeline", "raw single-row INSERT, psycopg 3 pipeline (50)", single_n / secs, "commits/s"
            )
            logs = make_logs(stack, single_n)
            started = time.perf_counter()
            for data in logs:
                diagnostic_log_ingest(fleet_id=stack.fleet_id, data=data)
            secs = time.perf_counter() - started
            results.add(
                "service_single", "diagnostic_log_ingest (Django, psycopg2, + publish)", single_n / secs, "logs/s"
            )
            queued = stack.queue_length()
            stack.purge_queue()
            # The same calls without the report-task publish (patched out in this process only).
            import diagnostics.services as services

            saved = services.reports_enqueue_on_commit
            services.reports_enqueue_on_commit = lambda log_ids: None
            try:
                logs = make_logs(stack, single_n)
                started = time.perf_counter()
                for data in logs:
                    diagnostic_log_ingest(fleet_id=stack.fleet_id, data=data)
                secs = time.perf_counter() - started
            finally:
                services.reports_enqueue_on_commit = saved
            results.add(
                "service_single_nopublish", "diagnostic_log_ingest without the task publish", single_n / secs, "logs/s"
            )

            # -- many rows ---------------------------------------------------------------------------------
            conn3.autocommit = False
            rows = raw_db.log_rows(make_logs(stack, bulk_n), pks)
            secs = raw_db.copy_rows(conn3, rows)
            results.add("raw_copy_pg3", "raw COPY, psycopg 3 (1000 rows/txn)", bulk_n / secs, "rows/s")
            conn2.autocommit = False
            rows = raw_db.log_rows(make_logs(stack, bulk_n), pks)
            secs = raw_db.copy_rows_psycopg2(conn2, rows)
            results.add("raw_copy_pg2", "raw COPY, psycopg2 copy_expert (1000 rows/txn)", bulk_n / secs, "rows/s")
            conn3.autocommit = True
            rows = raw_db.log_rows(make_logs(stack, bulk_n), pks)
            secs = raw_db.insert_unnest(conn3, rows)
            results.add("raw_unnest_pg3", "raw INSERT … unnest, psycopg 3 (1000 rows/stmt)", bulk_n / secs, "rows/s")
            logs = make_logs(stack, bulk_n)
            started = time.perf_counter()
            for start in range(0, bulk_n, 1000):
                items = dict(enumerate(logs[start : start + 1000]))
                outcome = diagnostic_logs_ingest_bulk(fleet_id=stack.fleet_id, items=items)
                assert all(r.status == "created" for r in outcome.values()), "bulk service did not create every row"
            secs = time.perf_counter() - started
            results.add("service_bulk", "diagnostic_logs_ingest_bulk (1000 logs/call)", bulk_n / secs, "rows/s")
            stack.purge_queue()

            # -- context: what the GIN index on cells costs ------------------------------------------------
            conn3.autocommit = True
            conn3.execute("DROP INDEX diagnosticlog_cells_gin")
            conn3.autocommit = False
            rows = raw_db.log_rows(make_logs(stack, bulk_n), pks)
            secs = raw_db.copy_rows(conn3, rows)
            results.add("raw_copy_pg3_nogin", "raw COPY, psycopg 3, without the GIN index", bulk_n / secs, "rows/s")
            conn3.autocommit = True
            rows = raw_db.log_rows(make_logs(stack, single_n), pks)
            secs = raw_db.insert_single(conn3, rows)
            results.add(
                "raw_insert_pg3_nogin", "raw single-row INSERT, psycopg 3, without GIN", single_n / secs, "commits/s"
            )
        finally:
            conn3.close()
            conn2.close()
            connection.close()
        log(f"service single path published {queued} report tasks (queue purged)")

    results.ratio("diagnostic_log_ingest / raw INSERT (psycopg2)", "service_single", "raw_insert_pg2")
    results.ratio("diagnostic_log_ingest / raw INSERT (psycopg 3)", "service_single", "raw_insert_pg3")
    results.ratio(
        "diagnostic_log_ingest without publish / raw INSERT (psycopg2)", "service_single_nopublish", "raw_insert_pg2"
    )
    results.ratio(
        "diagnostic_logs_ingest_bulk / raw COPY (psycopg 3)",
        "service_bulk",
        "raw_copy_pg3",
        target=0.75,
        note="service layer only; the HTTP bulk figure is in bench_ingest_http",
    )
    results.ratio("raw INSERT: psycopg 3 / psycopg2", "raw_insert_pg3", "raw_insert_pg2")
    results.ratio("raw INSERT: psycopg 3 pipeline / plain", "raw_insert_pipeline", "raw_insert_pg3")
    results.ratio("raw COPY: psycopg 3 / psycopg2", "raw_copy_pg3", "raw_copy_pg2")
    results.ratio("raw INSERT … unnest / COPY (psycopg 3)", "raw_unnest_pg3", "raw_copy_pg3")
    results.ratio("COPY without / with the GIN index", "raw_copy_pg3_nogin", "raw_copy_pg3")
    results.note(
        f"{single_n} rows per single-row run, {bulk_n} per bulk run; 100-cell logs (~4.7 KB JSON); "
        f"{results.meta['database']}; synchronous_commit={results.meta['synchronous_commit']}"
    )
    results.print()
    results.save()
    return 0


if __name__ == "__main__":
    sys.exit(main())
