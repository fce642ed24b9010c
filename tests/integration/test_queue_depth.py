"""The sweeper asks the real broker how many report tasks wait (no worker consumes here)."""

import uuid

from reports.dispatch import report_queue_depth
from reports.dispatch import reports_enqueue as enqueue_reports
from tests.services import app_publishing_to, broker


def test_queue_depth_counts_waiting_tasks_on_a_real_broker():
    from config.celery import app

    queue = f"depth-{uuid.uuid4().hex[:8]}"
    with broker() as url, app_publishing_to(url, queue):
        try:
            assert report_queue_depth() == 0
            for size in (1, 1, 2):
                assert enqueue_reports([uuid.uuid4() for _ in range(size)])
            assert report_queue_depth() == 3
        finally:  # leave nothing on a shared broker
            with app.connection_for_write() as conn:
                conn.default_channel.queue_purge(queue)


def test_queue_depth_is_unknown_when_the_broker_is_down():
    with app_publishing_to("redis://127.0.0.1:1/0", "nowhere"):
        assert report_queue_depth() is None
