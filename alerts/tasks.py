"""Celery tasks: thin interfaces over alerts.services (actions, delivery). Tasks take ids, never objects."""

import logging
import uuid

from celery import shared_task

from alerts.dispatch import DELIVER_TASK, FAN_OUT_TASK, deliveries_enqueue, deliveries_enqueue_each
from alerts.services import alerts_escalate, webhook_deliveries_due, webhook_delivery_attempt

logger = logging.getLogger(__name__)


@shared_task(name=DELIVER_TASK, acks_late=True, ignore_result=True)
def deliver_webhook(delivery_id: str) -> str | None:
    """One attempt of one delivery, if it may go now (idempotent: a repeat of a done attempt is a no-op).
    Retries are the outbox's: the delivery's next_attempt_at, found by deliver_due_webhooks."""
    try:
        parsed = uuid.UUID(str(delivery_id))
    except ValueError:
        logger.error("deliver_webhook: malformed delivery id %r dropped", delivery_id)
        return None
    return webhook_delivery_attempt(delivery_id=parsed)


@shared_task(name=FAN_OUT_TASK, acks_late=True, ignore_result=True)
def deliver_webhooks(delivery_ids: list[str]) -> int:
    """Fan out one report batch's deliveries (one message from the batch) into one task per delivery."""
    ids = [str(delivery_id) for delivery_id in delivery_ids if isinstance(delivery_id, str)]
    deliveries_enqueue_each(ids)
    return len(ids)


@shared_task(name="alerts.deliver_due_webhooks", acks_late=True, ignore_result=True)
def deliver_due_webhooks() -> int:
    """Periodic (Celery beat): publish every delivery that is due (retries, and messages the broker lost)."""
    due = webhook_deliveries_due()
    deliveries_enqueue(due)
    return len(due)


@shared_task(name="alerts.escalate_alerts", acks_late=True, ignore_result=True)
def escalate_alerts() -> int:
    """Periodic (Celery beat): alert.escalated for critical alerts unacknowledged past ALERT_ESCALATE_AFTER."""
    return alerts_escalate()
