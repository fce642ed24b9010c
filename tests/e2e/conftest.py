"""The whole stack as processes: granian serving the API and a Celery worker, on a real broker and the
test database. Tests here talk HTTP only."""

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.services import (
    broker,
    database_url,
    free_port,
    service_env,
    start_web,
    start_worker,
    stop,
    wait_for_http,
)


@dataclass(frozen=True)
class Stack:
    url: str
    broker_url: str


@pytest.fixture
def stack(transactional_db, tmp_path) -> Iterator[Stack]:  # type: ignore[no-untyped-def]
    from django.db import connection

    with broker() as broker_url:
        queue = f"e2e-{uuid.uuid4().hex[:8]}"
        env = service_env(db_url=database_url(connection.settings_dict), broker_url=broker_url, queue=queue)
        port = free_port()
        web = start_web(env, port, tmp_path / "web.log")
        worker = start_worker(env, queue, tmp_path / "worker.log")
        try:
            wait_for_http(f"http://127.0.0.1:{port}/healthz", web)
            yield Stack(url=f"http://127.0.0.1:{port}", broker_url=broker_url)
        finally:
            stop(web)
            stop(worker)
            # Close this process's connections so the flush after the test is not blocked.
            connection.close()
