#!/usr/bin/env python
"""The database's limit vs our ingest services, same rows, same table, in this process.

    .venv-bench/bin/python -m benchmarks.bench_db [--quick]

On the harness's stack (benchmarks/benchlib.py ``bench_stack``), 100-cell logs for vehicles of the bench
fleet, validated by ``diagnostics.validation.log_validate`` as the endpoints do:

- single rows, one commit each: a raw psycopg2 INSERT (the app's driver) vs
  ``diagnostics.services.diagnostic_log_ingest`` (through Django, publishing its report task to the
  private Redis after commit like in production);
- many rows: a raw psycopg 3 COPY (1,000 rows per transaction) vs ``diagnostic_logs_ingest_bulk``
  (1,000 logs per call, one transaction, one batch task).

Target: the bulk service >= 0.75x raw COPY (the HTTP figure is bench_ingest_http's; this one shows how
much of it the database layer leaves). The driver study (psycopg2 vs psycopg 3, pipeline mode, unnest)
and the GIN index's cost are settled in docs/performance.md.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.benchlib import Fleet, Results, base_parser, bench_stack

REPO_ROOT = Path(__file__).resolve().parent.parent


def make_logs(fleet: Fleet, count: int) -> list[dict[str, Any]]:
    """`count` new logs in a fresh window, as the endpoints' validation returns them."""
    from diagnostics.validation import log_validate

    spec = fleet.ingest_spec()
    return [log_validate(spec.body(k)) for k in range(count)]


def main() -> int:
    p = base_parser(__doc__ or "")
    p.add_argument("--single-rows", type=int, default=None, help="rows per single-row run (default 3000, quick 300)")
    p.add_argument("--bulk-rows", type=int, default=None, help="rows per bulk run (default 20000, quick 2000)")
    args = p.parse_args()
    single_n = args.single_rows or (300 if args.quick else 3000)
    bulk_n = args.bulk_rows or (2000 if args.quick else 20000)
    results = Results("bench_db", args)

    with bench_stack("bench_db", args) as fleet:
        import psycopg2

        from benchmarks.reference import raw_db
        from diagnostics.services import diagnostic_log_ingest, diagnostic_logs_ingest_bulk

        results.meta["database"] = fleet.database
        pks = fleet.vehicle_pks()
        conn2 = psycopg2.connect(fleet.stack.db_url)
        conn2.autocommit = True
        try:
            # Warm up both single-row paths (connections, caches) on a few rows.
            raw_db.insert_single_psycopg2(conn2, raw_db.log_rows(make_logs(fleet, 50), pks))
            for data in make_logs(fleet, 50):
                diagnostic_log_ingest(fleet_id=fleet.fleet_id, data=data)

            secs = raw_db.insert_single_psycopg2(conn2, raw_db.log_rows(make_logs(fleet, single_n), pks))
            results.add("raw_insert", "raw single-row INSERT, psycopg2", single_n / secs, "commits/s")
            logs = make_logs(fleet, single_n)
            started = time.perf_counter()
            for data in logs:
                diagnostic_log_ingest(fleet_id=fleet.fleet_id, data=data)
            secs = time.perf_counter() - started
            results.add(
                "service_single", "diagnostic_log_ingest (Django, psycopg2, + publish)", single_n / secs, "logs/s"
            )

            with fleet.pg(autocommit=False) as conn3:
                secs = raw_db.copy_rows(conn3, raw_db.log_rows(make_logs(fleet, bulk_n), pks))
            results.add("raw_copy", "raw COPY, psycopg 3 (1000 rows/txn)", bulk_n / secs, "rows/s")
            logs = make_logs(fleet, bulk_n)
            started = time.perf_counter()
            for start in range(0, bulk_n, 1000):
                outcome = diagnostic_logs_ingest_bulk(
                    fleet_id=fleet.fleet_id, items=dict(enumerate(logs[start : start + 1000]))
                )
                assert all(r.status == "created" for r in outcome.values()), "the bulk service did not create every row"
            secs = time.perf_counter() - started
            results.add("service_bulk", "diagnostic_logs_ingest_bulk (1000 logs/call)", bulk_n / secs, "rows/s")
        finally:
            conn2.close()
            fleet.purge_queue()

    results.ratio("diagnostic_log_ingest / raw INSERT (psycopg2)", "service_single", "raw_insert")
    results.ratio(
        "diagnostic_logs_ingest_bulk / raw COPY",
        "service_bulk",
        "raw_copy",
        target=0.75,
        note="service layer only; the HTTP bulk figure is in bench_ingest_http",
    )
    results.note(f"{single_n} rows per single-row run, {bulk_n} per bulk run; 100-cell logs; {fleet.database}")
    results.print()
    results.save()
    return 0


if __name__ == "__main__":
    sys.exit(main())
