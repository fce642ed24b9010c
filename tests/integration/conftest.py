"""Integration fixtures: fleets on the real PostgreSQL test database, Celery modes, a real worker.

Every test here talks to PostgreSQL (the embedded server, or ``DATABASE_URL``); none goes through HTTP.
Reports are computed in-process (Celery eager mode) except in tests marked ``broker``, which publish to
a real broker and are consumed by the real worker that the ``real_worker`` fixture starts.
"""

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.db import connection

from diagnostics.services import IngestResult, diagnostic_log_ingest
from diagnostics.validation import log_validate
from fleets.models import Fleet
from fleets.services import api_user_create
from tests.services import app_publishing_to, broker, database_url

REPO_ROOT = Path(__file__).resolve().parents[2]
WORKER_STOP_TIMEOUT_S = 20


@pytest.fixture(autouse=True)
def _reports_in_process(request: pytest.FixtureRequest) -> Iterator[None]:
    """Compute reports in-process unless the test needs the real broker (marker ``broker``).

    With CELERY_BROKER_URL set, settings turn eager mode off; an integration test that is not about the
    worker must still not leave messages on a shared broker.
    """
    if request.node.get_closest_marker("broker"):
        yield
        return
    from config.celery import app

    previous_conf, previous_setting = app.conf.task_always_eager, django_settings.CELERY_TASK_ALWAYS_EAGER
    app.conf.task_always_eager = True
    django_settings.CELERY_TASK_ALWAYS_EAGER = True
    yield
    app.conf.task_always_eager = previous_conf
    django_settings.CELERY_TASK_ALWAYS_EAGER = previous_setting


@pytest.fixture
def _fast_passwords(settings: Any) -> None:
    """Fleets come with their API user; a slow password hash would only slow every test down."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def fleet(db: None, _fast_passwords: None) -> Fleet:
    return api_user_create(username="alice", fleet_name="fleet-a", password="alice-pass").fleet


@pytest.fixture
def other_fleet(db: None, _fast_passwords: None) -> Fleet:
    return api_user_create(username="bob", fleet_name="fleet-b", password="bob-pass").fleet


@pytest.fixture
def ingest() -> Callable[[Fleet, dict[str, Any]], IngestResult]:
    """Validate a raw log as the API does, then store it through the one ingest service."""

    def _ingest(owner: Fleet, log: dict[str, Any]) -> IngestResult:
        return diagnostic_log_ingest(fleet_id=owner.id, data=log_validate(json.dumps(log).encode()))

    return _ingest


# --------------------------------------------------------------------------- the real worker


def worker_database_url() -> str:
    """A DATABASE_URL naming the TEST database this session uses (called once django_db_setup ran)."""
    return database_url(connection.settings_dict)


def _tail(path: Path, lines: int = 60) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no worker log)"


def _stop_worker(process: subprocess.Popen[bytes]) -> None:
    """Warm shutdown (SIGTERM), then kill the worker's process group if it does not exit in time."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=WORKER_STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # the group we created with start_new_session
        process.wait(timeout=10)


def _delete_queue(app: Any, queue: str) -> None:
    """Leave nothing behind on a shared broker: the queue, its messages and its binding."""
    from kombu import Exchange, Queue

    try:
        with app.connection_for_write() as conn:
            # A channel deletes only the bindings it knows: declare, then delete.
            bound = Queue(queue, Exchange(queue, type="direct"), routing_key=queue)(conn.default_channel)
            bound.declare()
            bound.delete()
    except Exception as exc:
        warnings.warn(f"could not delete the test queue {queue}: {exc!r}", stacklevel=1)


class RealWorker:
    def __init__(self, process: subprocess.Popen[bytes], queue: str, log_path: Path) -> None:
        self.process, self.queue, self.log_path = process, queue, log_path

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def log_tail(self) -> str:
        return _tail(self.log_path)

    def assert_alive(self) -> None:
        assert self.process.poll() is None, f"the worker exited with {self.process.returncode}:\n{self.log_tail()}"


@pytest.fixture(scope="module")
def real_worker(django_db_setup: None, django_db_blocker: Any) -> Iterator[RealWorker]:
    """A real Celery worker (prefork, 2 processes) on the real broker and the TEST database.

    It consumes a queue unique to this run, which the test process publishes to. The worker is stopped
    at module teardown, before pytest-django drops the test database (an idle worker holds no locks,
    so the per-test flush of transactional tests is not blocked either).
    """
    from config.celery import app

    stack = contextlib.ExitStack()
    broker_url = stack.enter_context(broker())  # CELERY_BROKER_URL, or a private redis-server
    queue = f"test-{uuid.uuid4().hex[:8]}"
    with django_db_blocker.unblock():
        worker_db_url = worker_database_url()
    env = {
        **os.environ,
        "DATABASE_URL": worker_db_url,
        "CELERY_BROKER_URL": broker_url,
        "CELERY_TASK_DEFAULT_QUEUE": queue,
    }
    log_file = tempfile.NamedTemporaryFile(prefix=f"celery-{queue}-", suffix=".log", delete=False)  # noqa: SIM115
    log_path = Path(log_file.name)
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "config",
        "worker",
        "--loglevel=INFO",
        "--concurrency=2",
        "--pool=prefork",
        "-Q",
        queue,
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        f"--hostname={queue}@%h",
    ]
    stack.enter_context(app_publishing_to(broker_url, queue))
    process = subprocess.Popen(
        command, cwd=REPO_ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        worker = RealWorker(process, queue, log_path)
        time.sleep(0.5)
        worker.assert_alive()
        yield worker
    finally:
        _stop_worker(process)
        log_file.close()
        _delete_queue(app, queue)
        log_path.unlink(missing_ok=True)
        stack.close()
