"""The web process's publisher across a broker outage, on a private redis-server it stops and starts again:
a batch the broker refused is published, once, within seconds of the broker's return (issue 17 §3)."""

import base64
import json
import shutil
import tempfile
import uuid
from pathlib import Path

import pytest

from reports import dispatch
from tests.support.infra import PrivateRedis, app_publishing_to
from tests.support.waiting import wait_until

pytestmark = pytest.mark.skipif(not shutil.which("redis-server"), reason="needs the redis-server binary to stop")


def queued_log_ids(redis: PrivateRedis, queue: str) -> list[list[str]]:
    """The log ids of each report task waiting in `queue` (Celery message protocol 2, base64 JSON body)."""
    return [json.loads(base64.b64decode(json.loads(raw)["body"]))[0][0] for raw in redis.client().lrange(queue, 0, -1)]


def test_a_batch_refused_during_an_outage_is_published_once_the_broker_returns(monkeypatch) -> None:
    tries: list[bool] = []
    real_enqueue = dispatch.reports_enqueue

    def spy(log_ids, request_ids=None):  # type: ignore[no-untyped-def]
        tries.append(real_enqueue(log_ids, request_ids))
        return tries[-1]

    monkeypatch.setattr(dispatch, "reports_enqueue", spy)
    redis = PrivateRedis(Path(tempfile.mkdtemp(prefix="test-redis-")))
    queue = f"outage-{uuid.uuid4().hex[:8]}"
    publisher = dispatch.BackgroundPublisher()
    log_ids = [uuid.uuid4(), uuid.uuid4()]
    try:
        redis.start()
        with app_publishing_to(redis.url(0), queue):
            redis.stop()
            publisher.submit(log_ids)
            wait_until(lambda: tries == [False], 10, 0.02, "the first publish refused")
            assert publisher.flush(1.0) is False  # the batch is still being tried, not dropped
            redis.start()
            wait_until(lambda: queued_log_ids(redis, queue) != [], 10, 0.02, "the batch in the queue")
            assert publisher.flush(5.0) is True
            assert queued_log_ids(redis, queue) == [[str(log_id) for log_id in log_ids]]
    finally:
        redis.close()

    assert tries == [False]  # one refused fast publish; the rest is kombu's retry, never a second batch
