"""The whole stack as processes (tests.support.stack): granian serving the API and a Celery worker, on a
private broker and the test database. Tests here talk HTTP only."""

from collections.abc import Iterator

import pytest

from tests.support.infra import database_url, skip_or_fail
from tests.support.stack import Stack


@pytest.fixture
def stack(transactional_db, tmp_path) -> Iterator[Stack]:  # type: ignore[no-untyped-def]
    import shutil

    from django.db import connection

    if not shutil.which("redis-server"):
        skip_or_fail("e2e tests need the redis-server binary (the stack's private broker and cache)")
    the_stack = Stack(db_url=database_url(connection.settings_dict), workdir=tmp_path, api_user=None)
    try:
        the_stack.start(sweeper=False)
        yield the_stack
    finally:
        the_stack.close()
        # Close this process's connections so the flush after the test is not blocked.
        connection.close()
