"""The service under test as processes, and what a fault test does to them.

A Stack is one test's world: a database cloned from the migrated template on the private PostgreSQL,
a private redis-server (broker on db 0, cache on db 1), granian, a Celery worker and the sweeper.
"""

from __future__ import annotations

import re
import subprocess
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg2

from tests.faults.checker import Checker
from tests.faults.infra import PrivatePostgres, PrivateRedis, descendants, kill_tree, stop_tree, tail, wait_until
from tests.faults.ledger import Ledger
from tests.services import service_env, start_worker

# The sweeper re-enqueues logs left pending/processing longer than this (production: 120 s).
SWEEPER_STALE_AFTER_S = 5.0
SWEEP_LOOP_S = 1.0
# Recovery bound: a log stranded just before the fault clears is swept within threshold + one loop;
# the margin covers the worker's broker reconnect and running the re-enqueued tasks on a 2-core box.
RECOVERY_MARGIN_S = 6.0
RECOVERY_BOUND_S = SWEEPER_STALE_AFTER_S + SWEEP_LOOP_S + RECOVERY_MARGIN_S

API_USER = "fault-op"
API_FLEET = "fault-fleet"
API_PASSWORD = "fault-pass-not-secret"
TEMPLATE_DB = "faults_template"


def base_env(db_url: str, *, broker_url: str, cache_url: str, queue: str = "faults") -> dict[str, str]:
    env = service_env(db_url=db_url, broker_url=broker_url, queue=queue)
    env.update(
        REDIS_URL=cache_url,
        SWEEPER_STALE_AFTER_S=str(SWEEPER_STALE_AFTER_S),
        SWEEPER_INTERVAL_S=str(SWEEP_LOOP_S),
        DJANGO_SECRET_KEY="faults-" + "x" * 50,
        LOG_LEVEL="INFO",
        # The load is modest but bursty: keep throttling out of the figures.
        THROTTLE_USER_RATE="100000/min",
        THROTTLE_FLEET_RATE="100000/min",
    )
    if not broker_url:
        env.pop("CELERY_BROKER_URL", None)
    return env


@dataclass
class Stack:
    pg: PrivatePostgres
    redis: PrivateRedis
    dbname: str
    env: dict[str, str]
    queue: str
    url: str
    logdir: Path
    web: subprocess.Popen | None = None
    worker: subprocess.Popen | None = None
    sweeper: subprocess.Popen | None = None
    workers_started: int = 0
    _token: str | None = None
    extra: list[subprocess.Popen] = field(default_factory=list)
    # The deployment restarts a worker that exits (compose: restart: unless-stopped); so does the stack,
    # and it keeps a note of each unexpected exit for the report card.
    worker_exits: list[str] = field(default_factory=list)
    ledgers: list[Ledger] = field(default_factory=list)
    _supervised: bool = False
    _lock: threading.RLock = field(default_factory=threading.RLock)
    _closing: threading.Event = field(default_factory=threading.Event)
    _supervisor: threading.Thread | None = None

    @property
    def checker(self) -> Checker:
        return Checker(self.pg.dsn(self.dbname))

    # -- processes
    def start_worker(self, wait_ready: bool = True) -> subprocess.Popen:
        """Start a worker (and wait until it consumes, unless the broker may be down: wait_ready=False)."""
        with self._lock:
            assert self.worker is None or self.worker.poll() is not None
            self.workers_started += 1
            log = self.logdir / f"worker-{self.workers_started}.log"
            self.worker = start_worker(self.env, self.queue, log)
            if wait_ready:
                wait_until(lambda: b" ready." in log.read_bytes(), 60, 0.1, "celery worker ready")
            self._supervised = True
            if self._supervisor is None:
                self._supervisor = threading.Thread(target=self._supervise, name="worker-supervisor", daemon=True)
                self._supervisor.start()
            return self.worker

    def _supervise(self) -> None:
        while not self._closing.wait(0.5):
            with self._lock:
                worker = self.worker
                if not self._supervised or worker is None or worker.poll() is None or self._closing.is_set():
                    continue
                log = self.logdir / f"worker-{self.workers_started}.log"
                lines = tail(log, 400).splitlines()
                why = [line for line in lines if "CRITICAL" in line] or [line for line in lines if "ERROR" in line]
                self.worker_exits.append(f"exit code {worker.returncode}: {why[-1][:200] if why else '?'}")
                self.start_worker(wait_ready=False)

    def close_supervisor(self) -> None:
        self._closing.set()
        if self._supervisor is not None:
            self._supervisor.join(90)

    def worker_log(self) -> str:
        return "\n".join(path.read_text(errors="replace") for path in sorted(self.logdir.glob("worker-*.log")))

    def worker_children(self) -> list[int]:
        return [child.pid for child in descendants(self.worker)] if self.worker else []

    def kill_worker(self) -> list[int]:
        with self._lock:
            assert self.worker is not None
            self._supervised = False
            return kill_tree(self.worker)

    def stop_worker(self) -> None:
        with self._lock:
            self._supervised = False
            stop_tree(self.worker, timeout=30)

    # -- HTTP
    def token(self) -> str:
        if self._token is None:
            response = httpx.post(
                f"{self.url}/api/v1/auth/token", json={"username": API_USER, "password": API_PASSWORD}, timeout=10
            )
            assert response.status_code == 200, response.text
            self._token = response.json()["access"]
        return self._token

    def ledger(self, logs: Iterable[dict[str, Any]], **kwargs: Any) -> Ledger:
        ledger = Ledger(self.url, self.token(), logs, **kwargs)
        self.ledgers.append(ledger)
        return ledger

    # -- database
    def connect(self):  # type: ignore[no-untyped-def]
        return psycopg2.connect(connect_timeout=3, **self.pg.dsn(self.dbname))

    @contextmanager
    def reports_held(self) -> Iterator[None]:
        """Hold a SHARE lock on the report table: every task blocks on its report INSERT, mid-task,
        after it counted its attempt and marked the log processing. Released on exit."""
        conn = self.connect()
        try:
            with conn.cursor() as cursor:
                cursor.execute("LOCK TABLE reports_batteryreport IN SHARE MODE")
            yield
        finally:
            conn.rollback()
            conn.close()

    def blocked_pids(self) -> set[int]:
        """Backends of tasks waiting on the held report table (tasks caught mid-flight).

        A killed task's backend keeps waiting until the lock goes (it cannot tell its client is gone),
        so callers compare with the pids they saw before."""
        conn = self.connect()
        try:
            with conn.cursor() as cursor:
                cursor.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock' "
                    "AND query ILIKE 'INSERT INTO reports_batteryreport%%'",
                    [self.dbname],
                )
                return {int(row[0]) for row in cursor.fetchall()}
        finally:
            conn.close()

    def sweeper_requeued(self) -> int:
        """Logs the sweeper re-enqueued so far (it prints one line per sweep)."""
        text = (self.logdir / "sweeper.log").read_text(errors="replace")
        return sum(int(n) for n in re.findall(r"^re-enqueued (\d+) stale", text, flags=re.MULTILINE))

    def tails(self) -> str:
        parts = []
        for path in sorted(self.logdir.glob("*.log")):
            parts.append(f"===== {path.name}\n{tail(path, 25)}")
        return "\n".join(parts)
