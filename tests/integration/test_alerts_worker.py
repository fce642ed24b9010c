"""Alerts on the real path: ingest commits, a real Celery worker computes the report and the alert in one
transaction, publishes the delivery task after commit, and a real worker delivers it, signed, to a receiver on
loopback. Needs the broker (REQUIRE_BROKER=1 turns a missing one into a failure)."""

import os
from collections.abc import Iterator

import pytest

from alerts.models import Alert, WebhookDelivery
from alerts.services import webhook_create
from tests.integration.test_alerts import Receiver, log
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.broker, pytest.mark.django_db(transaction=True)]

TIMEOUT_S = 60


@pytest.fixture(scope="module", autouse=True)
def _worker_allows_loopback_webhooks() -> Iterator[None]:
    """The worker inherits this environment (autouse: set before the module's worker starts)."""
    previous = os.environ.get("WEBHOOK_ALLOW_PRIVATE")
    os.environ["WEBHOOK_ALLOW_PRIVATE"] = "true"
    yield
    if previous is None:
        os.environ.pop("WEBHOOK_ALLOW_PRIVATE", None)
    else:
        os.environ["WEBHOOK_ALLOW_PRIVATE"] = previous


def test_a_real_worker_opens_the_alert_and_delivers_it_signed(real_worker, fleet, ingest, settings):
    from config.celery import app

    assert app.conf.task_always_eager is False
    settings.WEBHOOK_ALLOW_PRIVATE = True  # this process registers the loopback URL
    receiver = Receiver()
    try:
        webhook = webhook_create(fleet_id=fleet.id, url=receiver.url, events=["alert.opened"])
        receiver.secret = webhook.secret
        log_id = ingest(fleet, log("EV-W1", 1, hot=50.0)).log_id

        def received() -> bool:
            real_worker.assert_alive()
            return bool(receiver.received)

        try:
            wait_until(received, TIMEOUT_S, 0.2, "the alert.opened webhook")
        except TimeoutError as exc:
            pytest.fail(f"{exc}; worker log:\n{real_worker.log_tail()}")
        assert receiver.rejected == []
        assert len(receiver.received) == 1, real_worker.log_tail()
        event = receiver.received[0]
        alert = Alert.objects.get()
        assert (event["type"], event["data"]["sequence"]) == ("alert.opened", 1)
        assert event["data"]["alert"]["id"] == str(alert.id)
        assert event["data"]["alert"]["last_log_id"] == str(log_id)
        delivery = WebhookDelivery.objects.get()
        assert event["id"] == f"msg_{delivery.id}"
        # The receiver answered before the worker records the delivery: wait for the row to say so.

        def recorded() -> bool:
            delivery.refresh_from_db()
            return delivery.status != "pending"

        wait_until(recorded, TIMEOUT_S, 0.1, "the delivery's status")
        assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 1, 204)
    finally:
        receiver.close()
