"""The sweeper asks the real broker how many report tasks wait (no worker consumes here), on both brokers."""

import uuid

import pytest

from reports.dispatch import report_queue_depth, reports_enqueue
from tests.support.infra import app_publishing_to, private_broker
from tests.support.stack import BROKERS
from tests.support.waiting import wait_until


@pytest.mark.parametrize("kind", BROKERS)
def test_queue_depth_counts_waiting_tasks_on_a_real_broker(kind: str) -> None:
    queue = f"depth-{uuid.uuid4().hex[:8]}"
    with private_broker(kind) as url, app_publishing_to(url, queue):
        assert report_queue_depth() == 0
        for size in (1, 1, 2):
            assert reports_enqueue([uuid.uuid4() for _ in range(size)])
        # A publish is fire-and-forget (no publisher confirms) and the depth is asked on another connection:
        # RabbitMQ may answer before it has queued the last messages (seen in CI: 1 of 3), so wait for them.
        wait_until(lambda: report_queue_depth() == 3, timeout=10, what="3 tasks in the queue")
        assert report_queue_depth() == 3


def test_queue_depth_is_unknown_when_the_broker_is_down():
    with app_publishing_to("redis://127.0.0.1:1/0", "nowhere"):
        assert report_queue_depth() is None
