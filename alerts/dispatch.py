"""Webhook dispatch: the one module that publishes delivery tasks (named, not imported: the tasks call services).

After commit, never before: a delivery task never looks for an outbox row that is not committed. Publishing is
best effort: a message lost to a broker outage is found by the periodic `alerts.deliver_due_webhooks`, since
the outbox row (pending, due) is the record and the broker only a hint. In eager mode (no broker) the task
runs at once, in the caller's thread.
"""

import logging
import uuid
from collections.abc import Iterable

from celery import current_app
from django.db import transaction

logger = logging.getLogger(__name__)

DELIVER_TASK = "alerts.deliver_webhook"


def deliveries_enqueue(delivery_ids: Iterable[uuid.UUID]) -> None:
    """Publish one delivery task per id now; a refused publish is logged (the periodic task catches up)."""
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
