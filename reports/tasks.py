"""Celery tasks: thin interfaces over reports.services and reports.dispatch. Tasks take ids, never objects."""

import logging
import random
import uuid
from typing import Any

from celery import shared_task
from celery.signals import worker_ready
from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from common.metrics import REPORT_ANOMALIES, REPORT_LAG, REPORTS
from reports.dispatch import REPORT_TASK, abandoned_claims_requeue, stale_logs_requeue
from reports.services import BATCH_FILL, BatchOutcome, battery_reports_generate

logger = logging.getLogger(__name__)

# Errors worth retrying: the database went away or refused a connection. Bad data is never retried.
TRANSIENT_ERRORS = (OperationalError, InterfaceError)
MAX_RETRIES = 5
RETRY_BACKOFF_MAX_S = 60
# Every claim of a log counts an attempt: first runs, retries after a transient error, runs after a worker
# died on it. A log that has used them all is a poison log: marked failed, the queue flows on.
MAX_ATTEMPTS = 8


def retry_countdown(retries: int) -> float:
    """Exponential backoff with jitter: about 1, 2, 4 ... seconds, never above RETRY_BACKOFF_MAX_S."""
    base = min(2**retries, RETRY_BACKOFF_MAX_S)
    return base / 2 + random.uniform(0, base / 2)


@shared_task(bind=True, name=REPORT_TASK, acks_late=True, max_retries=MAX_RETRIES)
def generate_battery_reports(self, log_ids: list[str], request_ids: dict[str, str] | None = None) -> None:  # type: ignore[no-untyped-def]
    """Reports of many logs in one task: the ids it was published with, topped up to BATCH_FILL with the
    oldest pending logs (under load the backlog is worked off in full batches; reports.services).

    `request_ids` (log id -> id of the request that posted it) are logged with each log's line: one line
    per log this task was published with or computed, with its `log_id` and, where known, `request_id`.

    A transient database error retries the task with backoff; its claim lock is released first, so the
    retry takes the same logs again. After MAX_RETRIES the logs stay abandoned for the sweeper.
    """
    ids = []
    for log_id in log_ids if isinstance(log_ids, list) else []:
        try:
            ids.append(uuid.UUID(str(log_id)))
        except ValueError:
            logger.error("generate_battery_reports: malformed log id %r dropped", log_id)
    try:
        outcome = battery_reports_generate(log_ids=ids, max_attempts=MAX_ATTEMPTS, fill_to=BATCH_FILL)
    except TRANSIENT_ERRORS as exc:
        if self.request.retries >= self.max_retries:
            logger.error("generate_battery_reports: %d logs: %s retries used: %s", len(ids), self.max_retries, exc)
            return  # the logs stay abandoned; the sweeper brings them back
        raise self.retry(exc=exc, countdown=retry_countdown(self.request.retries)) from exc
    for log_id, reason in outcome.failed.items():
        logger.error(
            "generate_battery_reports: log %s failed: %s",
            log_id,
            reason,
            extra=_log_fields(log_id, request_ids or {}),
        )
    _observe(outcome, ids=ids, request_ids=request_ids or {})


def _observe(outcome: BatchOutcome, *, ids: list[uuid.UUID], request_ids: dict[str, str]) -> None:
    """The batch's metrics, and a log line per log: stored here, or (published with this task) by another."""
    now = timezone.now()
    if outcome.completed:
        REPORTS.labels("completed").inc(len(outcome.completed))
    if outcome.failed:
        REPORTS.labels("failed").inc(len(outcome.failed))
    for log_id in outcome.completed:
        received_at = outcome.received_at.get(log_id)
        if received_at is not None:
            REPORT_LAG.observe(max(0.0, (now - received_at).total_seconds()))
        for code in outcome.anomaly_codes.get(log_id, ()):
            REPORT_ANOMALIES.labels(code).inc()
        logger.info("report stored", extra=_log_fields(log_id, request_ids))
    done_here = set(outcome.completed) | set(outcome.failed)
    for log_id in ids:
        if log_id not in done_here:
            logger.info("log already handled by another batch", extra=_log_fields(log_id, request_ids))


def _log_fields(log_id: uuid.UUID, request_ids: dict[str, str]) -> dict[str, str]:
    fields = {"log_id": str(log_id)}
    if request_id := request_ids.get(str(log_id)):
        fields["request_id"] = request_id
    return fields


@shared_task(name="reports.sweep_stale_logs", acks_late=True, ignore_result=True)
def sweep_stale_logs() -> int:
    """Periodic (Celery beat): re-enqueue lost pending logs and abandoned claims."""
    return len(stale_logs_requeue(older_than_s=settings.SWEEPER_STALE_AFTER_S))


@worker_ready.connect
def _requeue_abandoned_claims_at_start(sender: Any = None, **kwargs: Any) -> None:
    """As a worker starts, in its main process and at once: the logs a dead worker had claimed go back to
    `pending`, where the first tasks this worker runs take them (their top-up takes the oldest pending logs
    first). Not a task: one published now would wait behind whatever backlog the queue holds."""
    from django.db import connections

    try:
        abandoned_claims_requeue()
    except Exception as exc:  # the database is down: the sweeper is the last resort
        logger.warning("abandoned claims not released at worker start (%s: %s)", type(exc).__name__, exc)
    finally:
        connections.close_all()  # the pool's processes have their own connections; the main process keeps none
