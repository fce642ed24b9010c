"""Webhook dispatch: the one module that publishes delivery tasks (named, not imported: the tasks call services).

After commit, never before: a delivery task never looks for an outbox row that is not committed. Publishing is
best effort: a message lost to a broker outage is found by the periodic `alerts.deliver_due_webhooks`, since
the outbox row (pending, due) is the record and the broker only a hint. In eager mode (no broker) the task
runs at once, in the caller's thread.

A report batch's deliveries go out as one message (`alerts.deliver_webhooks`, the ids), which a worker fans
out into one task per delivery: the batch pays one broker round trip, not one per delivery (bench_alert_cost).
"""

import logging
import uuid
from collections.abc import Iterable

from celery import current_app
from django.db import transaction

logger = logging.getLogger(__name__)

DELIVER_TASK = "alerts.deliver_webhook"
FAN_OUT_TASK = "alerts.deliver_webhooks"


def deliveries_enqueue(delivery_ids: Iterable[uuid.UUID]) -> None:
    """Publish the deliveries now: one task for one, one fan-out message for several; a refused publish is
    logged (the periodic task catches up)."""
    ids = [str(delivery_id) for delivery_id in delivery_ids]
    if len(ids) == 1:
        deliveries_enqueue_each(ids)
    elif ids:
        try:
            current_app.tasks[FAN_OUT_TASK].apply_async(args=[ids], retry=False)
        except Exception as exc:
            logger.warning("%d webhook deliveries not published (%s: %s)", len(ids), type(exc).__name__, exc)


def deliveries_enqueue_each(delivery_ids: Iterable[str]) -> None:
    """Publish one delivery task per id now (the fan-out's work)."""
    for delivery_id in delivery_ids:
        try:
            current_app.tasks[DELIVER_TASK].apply_async(args=[str(delivery_id)], retry=False)
        except Exception as exc:
            logger.warning("webhook delivery %s not published (%s: %s)", delivery_id, type(exc).__name__, exc)


def deliveries_enqueue_on_commit(delivery_ids: list[uuid.UUID]) -> None:
    """Have the deliveries sent once the current transaction commits (never before)."""
    if delivery_ids:
        ids = list(delivery_ids)
        transaction.on_commit(lambda: deliveries_enqueue(ids), robust=True)
