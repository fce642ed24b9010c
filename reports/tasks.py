"""Celery tasks: thin interfaces over reports.services. Tasks take ids, never objects."""

import logging
import random
import uuid

from celery import shared_task
from django.db import InterfaceError, OperationalError

from reports.services import LogNotFound, battery_report_fail, battery_report_generate, battery_report_mark_processing

logger = logging.getLogger(__name__)

# Errors worth retrying: the database went away or refused a connection. Bad data is never retried.
TRANSIENT_ERRORS = (OperationalError, InterfaceError)
MAX_RETRIES = 5
RETRY_BACKOFF_MAX_S = 60


def retry_countdown(retries: int) -> float:
    """Exponential backoff with jitter: 1, 2, 4 ... seconds, capped at RETRY_BACKOFF_MAX_S."""
    base = min(2**retries, RETRY_BACKOFF_MAX_S)
    return base / 2 + random.uniform(0, base / 2)


@shared_task(bind=True, name="reports.generate_battery_report", acks_late=True, max_retries=MAX_RETRIES)
def generate_battery_report(self, log_id: str) -> None:  # type: ignore[no-untyped-def]
    try:
        log_uuid = uuid.UUID(str(log_id))
    except ValueError:
        logger.error("generate_battery_report: malformed log id %r dropped", log_id)
        return
    try:
        battery_report_mark_processing(log_id=log_uuid)
        battery_report_generate(log_id=log_uuid)
    except LogNotFound:
        logger.warning("generate_battery_report: log %s does not exist; nothing to do", log_uuid)
    except TRANSIENT_ERRORS as exc:
        if self.request.retries >= self.max_retries:
            logger.error(
                "generate_battery_report: log %s gave up after %s retries: %s", log_uuid, self.max_retries, exc
            )
            raise
        raise self.retry(exc=exc, countdown=retry_countdown(self.request.retries)) from exc
    except Exception as exc:
        # A log the rules cannot process is a terminal failure: keep the reason, let the queue flow.
        logger.exception("generate_battery_report: log %s failed", log_uuid)
        battery_report_fail(log_id=log_uuid, reason=f"{type(exc).__name__}: {exc}")
