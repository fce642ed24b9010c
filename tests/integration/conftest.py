"""Integration fixtures: fleets on the real PostgreSQL test database, Celery modes, a real worker.

Every test here talks to PostgreSQL (the embedded server, or ``DATABASE_URL``); none goes through HTTP.
Reports are computed in-process (Celery eager mode) except in tests marked ``broker``, which publish to
a real broker and are consumed by the real worker that the ``real_worker`` fixture starts.
"""

import contextlib
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.db import connection

from diagnostics.services import IngestResult, diagnostic_log_ingest
from diagnostics.validation import log_validate
from fleets.models import Fleet
from fleets.services import api_user_create
from tests.support.infra import RabbitVhost, app_publishing_to, database_url, skip_or_fail
from tests.support.stack import BROKERS, Stack


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


# The RabbitMQ run of each real-worker module is slow (a virtual host, a worker start and a warm shutdown
# more): `make test-slow` runs it, `make test` the Redis run.
REAL_WORKER_BROKERS = [pytest.param(kind, marks=pytest.mark.slow) if kind == "rabbitmq" else kind for kind in BROKERS]


@pytest.fixture(scope="module", params=REAL_WORKER_BROKERS)
def real_worker(
    request: pytest.FixtureRequest, django_db_setup: None, django_db_blocker: Any, tmp_path_factory: Any
) -> Iterator[Stack]:
    """A real Celery worker (prefork, 2 processes) on a broker of its own (a private redis-server, or a
    RabbitMQ virtual host: the module runs once on each) and the TEST database (tests.support.stack).

    This process publishes to the worker's queue. The worker is stopped at module teardown, before
    pytest-django drops the test database (an idle worker holds no locks, so the per-test flush of
    transactional tests is not blocked either).
    """
    import shutil

    broker = request.param
    if not shutil.which("redis-server"):
        skip_or_fail("the real worker's stack needs the redis-server binary")
    if broker == "rabbitmq" and (why := RabbitVhost.unavailable()):
        skip_or_fail(f"the RabbitMQ run needs the machine's RabbitMQ: {why}")
    with django_db_blocker.unblock():
        db_url = database_url(connection.settings_dict)
    stack = Stack(db_url=db_url, workdir=tmp_path_factory.mktemp(f"worker-{broker}"), broker=broker, api_user=None)
    with contextlib.ExitStack() as exits:
        exits.callback(stack.close)
        stack.start(web=False, sweeper=False)
        exits.enter_context(app_publishing_to(stack.broker_url, stack.queue))
        yield stack
