"""The sweeper asks the real broker how many report tasks wait (no worker consumes here), on both brokers."""

import uuid

import pytest

from reports.dispatch import report_queue_depth, reports_enqueue
from tests.support.infra import app_publishing_to, private_broker
from tests.support.stack import BROKERS


@pytest.mark.parametrize("kind", BROKERS)
def test_queue_depth_counts_waiting_tasks_on_a_real_broker(kind: str) -> None:
    queue = f"depth-{uuid.uuid4().hex[:8]}"
    with private_broker(kind) as url, app_publishing_to(url, queue):
        assert report_queue_depth() == 0
        for size in (1, 1, 2):
            assert reports_enqueue([uuid.uuid4() for _ in range(size)])
        assert report_queue_depth() == 3


def test_queue_depth_is_unknown_when_the_broker_is_down():
    with app_publishing_to("redis://127.0.0.1:1/0", "nowhere"):
        assert report_queue_depth() is None
