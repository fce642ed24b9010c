"""Celery tasks: thin interfaces over reports.services. Tasks take ids, never objects."""

import logging
import random
import uuid

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError

from reports.services import (
    BATCH_FILL,
    LogNotFound,
    battery_report_fail,
    battery_report_generate,
    battery_report_mark_processing,
    battery_reports_generate,
    stale_logs_requeue,
)

logger = logging.getLogger(__name__)

# Errors worth retrying: the database went away or refused a connection. Bad data is never retried.
TRANSIENT_ERRORS = (OperationalError, InterfaceError)
MAX_RETRIES = 5
RETRY_BACKOFF_MAX_S = 60
# Every run that reaches the database counts an attempt: retries, redeliveries after a lost worker,
# sweeper re-enqueues. A log that has used them all is a poison log: marked failed, the queue flows on.
MAX_ATTEMPTS = 8


def retry_countdown(retries: int) -> float:
    """Exponential backoff with jitter: about 1, 2, 4 ... seconds, never above RETRY_BACKOFF_MAX_S."""
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
        attempt = battery_report_mark_processing(log_id=log_uuid)
        if attempt is None:
            return  # unknown, already completed or failed: a repeated delivery costs one UPDATE
        if attempt > MAX_ATTEMPTS:
            battery_report_fail(log_id=log_uuid, reason=f"Gave up after {MAX_ATTEMPTS} attempts.")
            logger.error("generate_battery_report: log %s failed after %s attempts", log_uuid, MAX_ATTEMPTS)
            return
        battery_report_generate(log_id=log_uuid)
    except LogNotFound:
        logger.warning("generate_battery_report: log %s does not exist; nothing to do", log_uuid)
    except TRANSIENT_ERRORS as exc:
        if self.request.retries >= self.max_retries:
            # The log stays pending/processing; the sweeper brings it back once the database is.
            logger.error("generate_battery_report: log %s: %s retries used: %s", log_uuid, self.max_retries, exc)
            return
        raise self.retry(exc=exc, countdown=retry_countdown(self.request.retries)) from exc
    except Exception as exc:
        # A log the rules cannot process is a terminal failure: keep the reason, let the queue flow.
        logger.exception("generate_battery_report: log %s failed", log_uuid)
        battery_report_fail(log_id=log_uuid, reason=f"{type(exc).__name__}: {exc}")


@shared_task(name="reports.sweep_stale_logs", acks_late=True, ignore_result=True)
def sweep_stale_logs() -> int:
    """Periodic (Celery beat): re-enqueue logs stuck in pending/processing past the threshold."""
    return len(stale_logs_requeue(older_than_s=settings.SWEEPER_STALE_AFTER_S))


@shared_task(bind=True, name="reports.generate_battery_reports", acks_late=True, max_retries=MAX_RETRIES)
def generate_battery_reports(self, log_ids: list[str]) -> None:  # type: ignore[no-untyped-def]
    """Reports of many logs in one task: the ids it was published with, topped up to BATCH_FILL with the
    oldest pending logs (under load the backlog is worked off in full batches; reports.services)."""
    ids = []
    for log_id in log_ids:
        try:
            ids.append(uuid.UUID(str(log_id)))
        except ValueError:
            logger.error("generate_battery_reports: malformed log id %r dropped", log_id)
    try:
        outcome = battery_reports_generate(log_ids=ids, max_attempts=MAX_ATTEMPTS, fill_to=BATCH_FILL)
    except TRANSIENT_ERRORS as exc:
        if self.request.retries >= self.max_retries:
            logger.error("generate_battery_reports: %d logs: %s retries used: %s", len(ids), self.max_retries, exc)
            return  # the logs stay pending/processing; the sweeper brings them back
        raise self.retry(exc=exc, countdown=retry_countdown(self.request.retries)) from exc
    for log_id, reason in outcome.failed.items():
        logger.error("generate_battery_reports: log %s failed: %s", log_id, reason)
