"""Every benchmark the docs quote, with the arguments each needs, one after another: what `make bench` runs.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres CELERY_BROKER_URL=redis://127.0.0.1:6379/4 \\
        .venv-bench/bin/python -m benchmarks.run [--quick] [--only NAME ...]

DATABASE_URL names a PostgreSQL server (its database is not used: each benchmark creates and drops its own);
CELERY_BROKER_URL a Redis database the revision and observability comparisons publish into (their queue is
purged after each run; the other scripts start a private redis-server). Each script writes its raw JSON to
benchmarks/results/<name>[-quick].json (command, git commit, UTC times, load before and after, figures,
ratios); this run's own record, benchmarks/results/run[-quick].json, lists every step with its command, exit
status and duration. A step that fails is recorded and the run goes on; the exit status is 1 if any failed.
`benchmarks/report.py --write` then renders docs/performance.md's generated section from the results.

Order matters once: bench_workers and bench_latency read bench_ingest_http's ingest rate from its result.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from benchmarks.benchlib import REPO_ROOT, log, run_meta, save_result
from tests.support.infra import NamedDatabase, manage, service_env

# The revision before the issue "The fleet's data through the API" (docs/performance.md, "Ingest before and
# after the issue"): the one bench_ingest_revisions compares ingest with, and bench_cell_history's "before"
# write path (diagnostics/services.py as it was before the cell arrays).
INGEST_BEFORE = "ae2b7ad"


@dataclass
class Step:
    name: str
    argv: list[str]
    database: str = ""  # "<prefix>": a fresh database on the server, passed as DATABASE_URL (or --database-url)
    seed_cells: bool = False  # seed the cell-history vehicle and a small fleet into it first
    interpreter: str = field(default_factory=lambda: sys.executable)


def steps(quick: bool) -> list[Step]:
    q = ["--quick"] if quick else []
    return [
        Step("bench_validation", ["-m", "benchmarks.bench_validation", *q]),
        Step("bench_db", ["-m", "benchmarks.bench_db", *q]),
        Step("bench_ingest_http", ["-m", "benchmarks.bench_ingest_http", *q]),
        Step("bench_workers", ["-m", "benchmarks.bench_workers", *q]),
        Step("bench_latency", ["-m", "benchmarks.bench_latency", *q]),
        Step("bench_get", ["-m", "benchmarks.bench_get", *q]),
        Step("bench_cache", ["-m", "benchmarks.bench_cache", *q]),
        Step("bench_alert_cost", ["-m", "benchmarks.bench_alert_cost", *q]),
        Step("bench_certificate", ["-m", "benchmarks.bench_certificate", *q]),
        Step("bench_fleet_api", ["-m", "benchmarks.bench_fleet_api", *q]),
        Step(
            "bench_cell_history",
            ["-m", "benchmarks.bench_cell_history", "--base", INGEST_BEFORE, *q],
            database="bench_cells",
            seed_cells=True,
        ),
        Step("bench_ingest_revisions", ["-m", "benchmarks.bench_ingest_revisions", "--before", INGEST_BEFORE, *q]),
        Step("bench_observability", ["-m", "benchmarks.bench_observability", "--in-process", *q], database="bench_obs"),
        Step("dashboard_load", ["-m", "benchmarks.dashboard_load", *q], database="bench_dashboard"),
    ]


@contextmanager
def step_database(step: Step, server_url: str, quick: bool) -> Iterator[str]:
    """A fresh database for the step (dropped after), seeded for the cell history if it asks; "" if none."""
    if not step.database:
        yield ""
        return
    database = NamedDatabase(server_url, prefix=step.database).create()
    try:
        if step.seed_cells:
            env = service_env(db_url=database.url, broker_url="", queue="bench-cells")
            env.pop("REDIS_URL", None)
            manage(env, "migrate", "--noinput", "-v", "0", timeout=600)
            history, fleet = (1000, (20, 50)) if quick else (4400, (200, 100))
            common = ["--seed", "2", "--fleet", "bench", "--cells", "96-120", "--interval", "1h", "--no-progress"]
            log(f"{step.name}: seeding 1 vehicle x {history} hourly logs and {fleet[0]} x {fleet[1]} beside it")
            manage(env, "seed_diagnostics", "--vehicles", "1", "--logs-per-vehicle", str(history), "--prefix",
                   "EV-HIST", *common, timeout=3600)  # fmt: skip
            manage(env, "seed_diagnostics", "--vehicles", str(fleet[0]), "--logs-per-vehicle", str(fleet[1]),
                   "--prefix", "EV-FLEET", *common, timeout=3600)  # fmt: skip
            _vacuum_analyze(database.url)  # autovacuum may be off on the server: fresh statistics for the reads
        yield database.url
    finally:
        database.close()


def _vacuum_analyze(url: str) -> None:
    import psycopg2

    conn = psycopg2.connect(url)
    try:
        conn.autocommit = True  # VACUUM refuses a transaction block
        with conn.cursor() as cur:
            cur.execute("VACUUM (ANALYZE)")
    finally:
        conn.close()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="every script's --quick (a smoke run; under 15 min here)")
    p.add_argument("--only", nargs="*", default=None, help="run only these steps (names as in the list)")
    args = p.parse_args()
    missing = [name for name in ("DATABASE_URL", "CELERY_BROKER_URL") if not os.environ.get(name)]
    if missing:
        p.error(f"set {' and '.join(missing)} (see the docstring: a server URL and a Redis database of yours)")
    server_url = os.environ["DATABASE_URL"]
    meta = run_meta("run", quick=args.quick)
    record = []
    started = time.monotonic()
    for step in steps(args.quick):
        if args.only is not None and step.name not in args.only:
            continue
        print(f"== {step.name}", flush=True)
        step_started = time.monotonic()
        env = dict(os.environ)
        argv = [step.interpreter, *step.argv]
        try:
            with step_database(step, server_url, args.quick) as db_url:
                if db_url and step.name == "bench_cell_history":
                    argv += ["--database-url", db_url]
                elif db_url:
                    env["DATABASE_URL"] = db_url
                status = subprocess.run(argv, cwd=REPO_ROOT, env=env, check=False).returncode
        except Exception as error:  # a failed seeding or database: recorded, the run goes on
            log(f"{step.name}: {error!r}")
            status = -1
        seconds = round(time.monotonic() - step_started, 1)
        command = " ".join([os.path.relpath(argv[0], REPO_ROOT), *argv[1:]])
        record.append({"step": step.name, "command": command, "exit_status": status, "seconds": seconds})
        log(f"{step.name}: exit {status} after {seconds} s")
    total = round(time.monotonic() - started, 1)
    failed = [r["step"] for r in record if r["exit_status"] != 0]
    save_result("run", {**meta, "steps": record, "total_seconds": total, "failed": failed}, quick=args.quick)
    print(f"\n{len(record)} steps in {total / 60:.1f} min; failed: {', '.join(failed) or 'none'}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
