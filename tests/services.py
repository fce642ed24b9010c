"""Real services for tests that need more than the database: a Redis broker, a web server, a worker.

The broker is CELERY_BROKER_URL when set; otherwise a private redis-server on a spare port when the
binary is installed. When neither is available, tests that need one skip with the reason, unless
REQUIRE_BROKER=1 (set by .ci/run), which turns that skip into a failure.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def broker_reachable(url: str, timeout: float = 2.0) -> str | None:
    """None when the broker answers, else the reason."""
    from kombu import Connection

    try:
        with Connection(url, connect_timeout=timeout) as conn:
            conn.ensure_connection(max_retries=1, timeout=timeout)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def skip_or_fail(reason: str) -> None:
    if os.environ.get("REQUIRE_BROKER") == "1":
        pytest.fail(f"REQUIRE_BROKER=1 but {reason}")
    pytest.skip(reason)


@contextmanager
def private_redis() -> Iterator[str]:
    """A throw-away redis-server on a spare loopback port, nothing kept on disk."""
    with private_redis_process() as (url, _):
        yield url


@contextmanager
def private_redis_process() -> Iterator[tuple[str, subprocess.Popen]]:
    """`private_redis`, with its process (to freeze it with SIGSTOP, or stop it)."""
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="test-redis-")
    proc = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            workdir,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        deadline = time.monotonic() + 10
        while broker_reachable(url, timeout=0.5) is not None:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("private redis-server did not start")
            time.sleep(0.1)
        yield url, proc
    finally:
        proc.send_signal(signal.SIGCONT)  # a frozen server cannot act on SIGTERM
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)


@contextmanager
def broker() -> Iterator[str]:
    url = os.environ.get("CELERY_BROKER_URL")
    if url:
        reason = broker_reachable(url)
        if reason:
            skip_or_fail(f"CELERY_BROKER_URL={url} is unreachable ({reason})")
        yield url
    elif shutil.which("redis-server"):
        with private_redis() as private_url:
            yield private_url
    else:
        skip_or_fail("no broker: CELERY_BROKER_URL is not set and redis-server is not installed")


def database_url(settings_dict: dict) -> str:
    """A DATABASE_URL for subprocesses, naming the database the tests use (the test database)."""
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


def wait_for_http(url: str, proc: subprocess.Popen, timeout: float = 30.0) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


def stop(proc: subprocess.Popen, timeout: float = 15.0) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def service_env(*, db_url: str, broker_url: str, queue: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=db_url,
        CELERY_BROKER_URL=broker_url,
        CELERY_TASK_DEFAULT_QUEUE=queue,
        DJANGO_SETTINGS_MODULE="config.settings",
        PYTHONUNBUFFERED="1",
    )
    return env


def start_worker(env: dict[str, str], queue: str, log_path: Path, concurrency: int = 2) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--loglevel=INFO",
            f"--concurrency={concurrency}",
            "--pool=prefork",
            "-Q",
            queue,
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        cwd=REPO_ROOT,
        env=env,
        stdout=log_path.open("wb"),
        stderr=subprocess.STDOUT,
    )


def web_server_argv(port: int, workers: int = 2, threads: int = 2) -> list[str]:
    """The production server (Dockerfile, docker-compose.yml): granian serving the WSGI app, workers
    respawned if they die (docs/performance.md, "The server")."""
    return [
        sys.executable,
        "-m",
        "granian",
        "--interface",
        "wsgi",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--blocking-threads",
        str(threads),
        "--respawn-failed-workers",
        "--respawn-interval",
        "0.5",
        "--log-level",
        "warning",
        "config.wsgi:application",
    ]


def start_web(env: dict[str, str], port: int, log_path: Path, workers: int = 2) -> subprocess.Popen:
    return subprocess.Popen(
        web_server_argv(port, workers),
        cwd=REPO_ROOT,
        env=env,
        stdout=log_path.open("wb"),
        stderr=subprocess.STDOUT,
    )


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
