"""The service as processes, started one way for every run that needs it (e2e, faults, soak, benchmarks).

A Stack is one run's world: a database (a clone on the private PostgreSQL, a named database on a server,
or pytest-django's test database), a broker (a private redis-server, or a virtual host of our own on the
machine's RabbitMQ), a cache (a private redis-server: db 1 of the broker's, or its own beside RabbitMQ),
granian, a Celery worker (restarted if it dies, as compose does) and the sweeper. What a fault run does
to them (kill, stop, flush, hold a table) is here too, so that a scenario reads as the fault it injects.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import psutil
import psycopg2

from tests.support.checker import Checker
from tests.support.infra import (
    PrivatePostgres,
    PrivateRedis,
    RabbitVhost,
    descendants,
    free_port,
    kill_tree,
    manage,
    service_env,
    start_sweeper,
    start_web,
    start_worker,
    stop_all,
    stop_tree,
    tail,
    wait_for_http,
)
from tests.support.ledger import Ledger
from tests.support.proxy import TcpProxy
from tests.support.waiting import wait_until

BROKERS = ("redis", "rabbitmq")

API_USER = "fault-op"
API_FLEET = "fault-fleet"
API_PASSWORD = "fault-pass-not-secret"
WORKER_READY = b" ready."
# The sweeper's line per sweep (reports/management/commands/sweep_reports.py).
SWEEPER_LINE = re.compile(r"^re-enqueued (\d+) stale", flags=re.MULTILINE)


@dataclass(frozen=True)
class StackSettings:
    """What differs between runs. The defaults are the fault suite's: a short sweeper threshold so that a
    lost message comes back within seconds, throttling out of the way."""

    sweeper_stale_after_s: float = 5.0
    sweep_loop_s: float = 1.0
    worker_concurrency: int = 2
    web_workers: int = 2
    throttle_rate: str = "100000/min"
    log_level: str = "INFO"
    extra_env: tuple[tuple[str, str], ...] = ()
    # RabbitMQ through a TCP proxy of the stack's own (tests.support.proxy), so that broker_down() can cut
    # the service off the machine's RabbitMQ without stopping it for anyone else.
    rabbitmq_proxy: bool = False


@dataclass
class Stack:
    """Start with start(); stop everything with close() (or use it as a context manager)."""

    db_url: str
    workdir: Path
    broker: str = "redis"
    settings: StackSettings = field(default_factory=StackSettings)
    pg: PrivatePostgres | None = None  # the private server the database is on, when a scenario stops it
    api_user: tuple[str, str, str] | None = (API_USER, API_FLEET, API_PASSWORD)  # (user, fleet, password)
    migrate: bool = False  # run migrate and create the API user (a fresh, empty database)

    queue: str = field(default_factory=lambda: f"hh-{uuid.uuid4().hex[:8]}")
    url: str = ""
    env: dict[str, str] = field(default_factory=dict)
    redis: PrivateRedis | None = None
    vhost: RabbitVhost | None = None
    proxy: TcpProxy | None = None
    web: subprocess.Popen | None = None
    worker: subprocess.Popen | None = None
    sweeper: subprocess.Popen | None = None
    workers_started: int = 0
    worker_started_at: list[float] = field(default_factory=list)  # time.monotonic() of each start
    extra: list[subprocess.Popen] = field(default_factory=list)
    # The deployment restarts a worker that exits (compose: restart: unless-stopped); so does the stack,
    # and it keeps a note of each unexpected exit for the report card.
    worker_exits: list[str] = field(default_factory=list)
    ledgers: list[Ledger] = field(default_factory=list)
    _token: str | None = None
    _supervised: bool = False
    _lock: threading.RLock = field(default_factory=threading.RLock)
    _closing: threading.Event = field(default_factory=threading.Event)
    _supervisor: threading.Thread | None = None

    def __post_init__(self) -> None:
        if self.broker not in BROKERS:
            raise ValueError(f"broker must be one of {BROKERS}, not {self.broker!r}")
        self.logdir = self.workdir / "logs"
        self.logdir.mkdir(parents=True, exist_ok=True)

    # ------------------------------------------------------------------ start and stop
    def __enter__(self) -> Stack:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def broker_url(self) -> str:
        if self.vhost is not None:
            url = self.vhost.url()
            if self.proxy is not None:
                parts = urlsplit(url)
                url = urlunsplit(parts._replace(netloc=f"{parts.netloc.rsplit('@', 1)[0]}@127.0.0.1:{self.proxy.port}"))
            return url
        assert self.redis is not None
        return self.redis.url(0)

    def start(self, *, web: bool = True, worker: bool = True, sweeper: bool = True) -> Stack:
        """Broker and cache, then (as asked) the web server, the sweeper and a worker, each waited for."""
        try:
            self.redis = PrivateRedis(self.workdir / "redis")
            self.redis.start()
            if self.broker == "rabbitmq":
                self.vhost = RabbitVhost().create()
                if self.settings.rabbitmq_proxy:
                    target = urlsplit(self.vhost.base_url)
                    self.proxy = TcpProxy(target.hostname or "127.0.0.1", target.port or 5672).start()
            self.env = service_env(
                db_url=self.db_url, broker_url=self.broker_url, queue=self.queue, cache_url=self.redis.url(1)
            )
            s = self.settings
            self.env.update(
                SWEEPER_STALE_AFTER_S=str(s.sweeper_stale_after_s),
                SWEEPER_INTERVAL_S=str(s.sweep_loop_s),
                THROTTLE_USER_RATE=s.throttle_rate,
                THROTTLE_FLEET_RATE=s.throttle_rate,
                LOG_LEVEL=s.log_level,
                # Never touch the checkout's .data/ (secret key file): everything lives in the work dir.
                BATTERY_DATA_DIR=str(self.workdir / "data"),
                DJANGO_SECRET_KEY="harness-" + secrets.token_urlsafe(40),
                JWT_SIGNING_KEY="harness-" + secrets.token_urlsafe(40),
                DJANGO_DEBUG="false",
                DJANGO_SECURE="false",
                DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
            )
            self.env.update(dict(s.extra_env))
            if self.migrate:
                manage(self.env, "migrate", "--noinput", "-v", "0", timeout=300)
                if self.api_user is not None:
                    user, fleet, password = self.api_user
                    manage(self.env, "create_api_user", user, "--fleet", fleet, f"--password={password}")
            if web:
                port = free_port()
                self.url = f"http://127.0.0.1:{port}"
                self.web = start_web(self.env, port, self.logdir / "web.log", workers=s.web_workers)
            if sweeper:
                self.sweeper = start_sweeper(
                    self.env, s.sweeper_stale_after_s, s.sweep_loop_s, self.logdir / "sweeper.log"
                )
            if worker:
                self.start_worker()
            if self.web is not None:
                wait_for_http(f"{self.url}/healthz", self.web, timeout=60)
        except BaseException:
            self.close()
            raise
        return self

    def close(self) -> None:
        """Stop every process (children included), the broker and the cache; abort ledgers still posting."""
        for ledger in self.ledgers:
            ledger.abort()
        self._closing.set()
        if self._supervisor is not None:
            self._supervisor.join(90)
        stop_all([self.web, self.worker, self.sweeper, *self.extra])
        if self.redis is not None:
            self.redis.close()
        if self.vhost is not None:
            self.vhost.close()
        if self.proxy is not None:
            self.proxy.close()

    # ------------------------------------------------------------------ the worker
    def worker_log_path(self, generation: int | None = None) -> Path:
        return self.logdir / f"worker-{generation or self.workers_started}.log"

    def start_worker(self, wait_ready: bool = True) -> subprocess.Popen:
        """Start a worker (and wait until it consumes, unless the broker may be down: wait_ready=False)."""
        with self._lock:
            assert self.worker is None or self.worker.poll() is not None
            self.workers_started += 1
            log = self.worker_log_path()
            self.worker_started_at.append(time.monotonic())
            self.worker = start_worker(
                self.env,
                self.queue,
                log,
                concurrency=self.settings.worker_concurrency,
                hostname=f"{self.queue}-{self.workers_started}@%h",
            )
            if wait_ready:
                wait_until(lambda: WORKER_READY in log.read_bytes(), 90, 0.1, "celery worker ready")
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
                lines = tail(self.worker_log_path(), 400).splitlines()
                why = [line for line in lines if "CRITICAL" in line] or [line for line in lines if "ERROR" in line]
                self.worker_exits.append(f"exit code {worker.returncode}: {why[-1][:200] if why else '?'}")
                self.start_worker(wait_ready=False)

    def assert_alive(self) -> None:
        """The worker runs and never exited by itself (the supervisor would have restarted it)."""
        assert self.worker is not None, "no worker started"
        assert self.worker.poll() is None, f"the worker exited with {self.worker.returncode}:\n{self.log_tail()}"
        assert not self.worker_exits, f"the worker exited and was restarted: {self.worker_exits}"

    def log_tail(self, lines: int = 60) -> str:
        """The last lines of the current worker's log."""
        return tail(self.worker_log_path(), lines)

    def worker_log(self) -> str:
        return "\n".join(path.read_text(errors="replace") for path in sorted(self.logdir.glob("worker-*.log")))

    def worker_children(self) -> list[int]:
        return [child.pid for child in descendants(self.worker)] if self.worker else []

    def kill_worker(self) -> list[int]:
        """SIGKILL the worker's main process and its pool children at once; not restarted by itself."""
        with self._lock:
            assert self.worker is not None
            self._supervised = False
            return kill_tree(self.worker)

    def stop_worker(self, timeout: float = 30) -> None:
        """Warm shutdown (SIGTERM, then SIGKILL after `timeout`); not restarted by itself."""
        with self._lock:
            self._supervised = False
            stop_tree(self.worker, timeout=timeout)

    def restart_worker(self, *, kill: bool, warm_timeout: float = 60) -> dict[str, Any]:
        """Stop the worker (SIGKILL of the whole tree, or a warm shutdown) and start a new one at once."""
        assert self.worker is not None
        old = self.worker
        info: dict[str, Any] = {"mode": "SIGKILL (main and pool children)" if kill else "SIGTERM (warm shutdown)"}
        started = time.monotonic()
        if kill:
            self.kill_worker()
        else:
            self.stop_worker(timeout=warm_timeout)
        info["old_exit_code"] = old.returncode
        info["old_stopped_after_s"] = round(time.monotonic() - started, 3)
        self.start_worker()
        info["new_ready_after_s"] = round(time.monotonic() - self.worker_started_at[-1], 3)
        return info

    # ------------------------------------------------------------------ the broker
    def broker_down(self) -> None:
        """The broker goes away: the private redis-server stopped (broker and cache; it comes back empty), or
        the stack's proxy to RabbitMQ cut (connections closed, new ones refused; the queue is kept)."""
        if self.broker == "redis":
            assert self.redis is not None
            self.redis.stop()
        else:
            assert self.proxy is not None, "a RabbitMQ outage needs StackSettings(rabbitmq_proxy=True)"
            self.proxy.cut()

    def broker_up(self) -> None:
        """The broker is back, on the same address."""
        if self.broker == "redis":
            assert self.redis is not None
            self.redis.start()
        else:
            assert self.proxy is not None
            self.proxy.restore()

    def broker_answers(self) -> bool:
        """A fresh connection to the broker's URL as the service sees it succeeds (1 s timeout)."""
        from kombu import Connection

        try:
            with Connection(self.broker_url, connect_timeout=1, transport_options={"max_retries": 0}) as conn:
                conn.ensure_connection(max_retries=1, timeout=1)
                return True
        except Exception:
            return False

    def queue_length(self) -> int:
        """Report tasks waiting in the stack's queue."""
        if self.vhost is not None:
            return self.vhost.queue_length(self.queue)
        assert self.redis is not None
        return self.redis.queue_length(self.queue)

    def queued_log_ids(self) -> list[str]:
        """The log ids in the report tasks waiting in the stack's Redis queue (Celery message protocol 2:
        the body is base64 JSON [args, kwargs, embed], args = [log_ids]). Redis only."""
        assert self.vhost is None, "queued_log_ids reads the Redis list"
        assert self.redis is not None
        ids: list[str] = []
        for raw in self.redis.client().lrange(self.queue, 0, -1):
            message = json.loads(raw)
            body = json.loads(base64.b64decode(message["body"]))
            if message["headers"].get("task") == "reports.generate_battery_reports":
                ids.extend(body[0][0])
        return ids

    def sweeper_requeued(self) -> int:
        """Logs the sweeper re-enqueued so far (it prints one line per sweep)."""
        path = self.logdir / "sweeper.log"
        return sum(int(n) for n in SWEEPER_LINE.findall(path.read_text(errors="replace"))) if path.exists() else 0

    # ------------------------------------------------------------------ HTTP
    def token(self) -> str:
        if self._token is None:
            assert self.api_user is not None
            user, _, password = self.api_user
            response = httpx.post(
                f"{self.url}/api/v1/auth/token", json={"username": user, "password": password}, timeout=10
            )
            assert response.status_code == 200, response.text
            self._token = response.json()["access"]
        return self._token

    def ledger(self, logs: Iterable[dict[str, Any]], **kwargs: Any) -> Ledger:
        ledger = Ledger(self.url, self.token(), logs, **kwargs)
        self.ledgers.append(ledger)
        return ledger

    # ------------------------------------------------------------------ database
    @property
    def checker(self) -> Checker:
        return Checker(self.db_url)

    def connect(self):  # type: ignore[no-untyped-def]
        return psycopg2.connect(self.db_url, connect_timeout=3)

    @contextmanager
    def reports_held(self) -> Iterator[None]:
        """Hold a SHARE lock on the report table: every task blocks on its report INSERT, mid-task,
        after it counted its attempt and marked the log processing. Released on exit."""
        with self.table_held("reports_batteryreport"):
            yield

    @contextmanager
    def table_held(self, table: str) -> Iterator[None]:
        """Hold a SHARE lock on `table`: every writer of it blocks on its INSERT/UPDATE, inside its transaction
        (e.g. alerts_webhookdelivery: a report batch blocks on its outbox INSERT, after its reports, summaries
        and alert changes, before its commit). Released on exit."""
        conn = self.connect()
        try:
            with conn.cursor() as cursor:
                cursor.execute(f"LOCK TABLE {table} IN SHARE MODE")
            yield
        finally:
            conn.rollback()
            conn.close()

    def blocked_pids(self, table: str = "reports_batteryreport") -> set[int]:
        """Backends of tasks waiting on the held `table` with an INSERT into it (tasks caught mid-flight).

        A killed task's backend keeps waiting until the lock goes (it cannot tell its client is gone),
        so callers compare with the pids they saw before."""
        conn = self.connect()
        try:
            with conn.cursor() as cursor:
                cursor.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock' AND query ILIKE %s",
                    [f"INSERT INTO {table}%"],
                )
                return {int(row[0]) for row in cursor.fetchall()}
        finally:
            conn.close()

    # ------------------------------------------------------------------ diagnostics
    def tails(self) -> str:
        return "\n".join(f"===== {path.name}\n{tail(path, 25)}" for path in sorted(self.logdir.glob("*.log")))

    def cpu_seconds(self) -> dict[str, float]:
        """CPU time so far of the live web server, worker and sweeper (each with its children)."""
        result = {}
        for name in ("web", "worker", "sweeper"):
            proc = getattr(self, name)
            if proc is None:
                continue
            total = 0.0
            try:
                root = psutil.Process(proc.pid)
                for each in [root, *root.children(recursive=True)]:
                    times = each.cpu_times()
                    total += times.user + times.system
            except psutil.NoSuchProcess:
                pass
            result[name] = round(total, 1)
        return result

    def web_worker_pids(self) -> list[int]:
        """granian's worker processes."""
        assert self.web is not None
        return [proc.pid for proc in psutil.Process(self.web.pid).children()]

    def signal_web_workers(self, sig: int = signal.SIGKILL) -> list[int]:
        """Send `sig` to granian's worker processes (granian respawns them)."""
        assert self.web is not None
        children = psutil.Process(self.web.pid).children()
        for proc in children:
            proc.send_signal(sig)
        return [proc.pid for proc in children]
