"""Writes for reports: compute a log's report with the pure rules and store it, exactly once."""

import json
import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone

from diagnostics.models import DiagnosticLog, ProcessingStatus
from reports.health import BatterySnapshot, evaluate
from reports.models import BatteryReport

logger = logging.getLogger(__name__)
_REPORT_TABLE = BatteryReport._meta.db_table
_LOG_TABLE = DiagnosticLog._meta.db_table


class LogNotFound(Exception):
    """The log does not exist (deleted, or never committed): a terminal error, never retried."""


@dataclass(frozen=True)
class ReportOutcome:
    log_id: uuid.UUID
    created: bool


def battery_report_mark_processing(*, log_id: uuid.UUID) -> int | None:
    """Count an attempt and mark the log as being processed.

    Returns the attempt number, or None when there is nothing to do (log unknown, completed or failed).
    """
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {_LOG_TABLE} SET status = %s, attempts = attempts + 1, status_changed_at = now() "
            "WHERE id = %s AND status IN (%s, %s) RETURNING attempts",
            [ProcessingStatus.PROCESSING, log_id, ProcessingStatus.PENDING, ProcessingStatus.PROCESSING],
        )
        row = cursor.fetchone()
    return row[0] if row else None


def battery_report_generate(*, log_id: uuid.UUID) -> ReportOutcome:
    """Compute and store the report of one log; idempotent (a second run leaves the one report)."""
    log = (
        DiagnosticLog.objects.filter(pk=log_id)
        .values("cells", "cycle_count", "nominal_capacity_kwh", "current_capacity_kwh")
        .first()
    )
    if log is None:
        raise LogNotFound(str(log_id))
    report = evaluate(BatterySnapshot.from_mapping(log)).as_dict()
    with transaction.atomic(), connection.cursor() as cursor:
        # The primary key makes a second run (a redelivery, a sweeper's re-enqueue) a no-op.
        cursor.execute(
            f"INSERT INTO {_REPORT_TABLE} (log_id, battery_soh, anomalies, anomaly_details, diagnostics, generated_at) "
            "VALUES (%s, %s, %s::jsonb, %s::jsonb, %s::jsonb, now()) ON CONFLICT (log_id) DO NOTHING RETURNING log_id",
            [
                log_id,
                report["battery_soh"],
                json.dumps(report["anomalies"]),
                json.dumps(report["anomaly_details"], ensure_ascii=False),
                json.dumps(report["diagnostics"]),
            ],
        )
        created = cursor.fetchone() is not None
        DiagnosticLog.objects.filter(pk=log_id).update(
            status=ProcessingStatus.COMPLETED, error="", status_changed_at=timezone.now()
        )
    return ReportOutcome(log_id=log_id, created=created)


def battery_report_fail(*, log_id: uuid.UUID, reason: str) -> None:
    """Record a terminal failure: the log stays, its report is never produced, the reason is kept."""
    DiagnosticLog.objects.filter(pk=log_id).exclude(status=ProcessingStatus.COMPLETED).update(
        status=ProcessingStatus.FAILED, error=reason[:2000], status_changed_at=timezone.now()
    )


def stale_logs_requeue(*, older_than_s: float, limit: int = 1000) -> list[uuid.UUID]:
    """Re-enqueue logs left `pending` or `processing` for longer than `older_than_s` seconds.

    The broker is a hint, the database the record: a publish lost to a broker outage, a flushed queue
    or a worker killed mid-task leaves its log here, and this brings it back. Safe with several
    sweepers at once: rows another sweeper holds are skipped (SKIP LOCKED), and requeued rows get a
    fresh `status_changed_at`, so the next sweep leaves them alone for another threshold.
    """
    from diagnostics.services import enqueue_report_on_commit

    now = timezone.now()
    cutoff = now - timedelta(seconds=older_than_s)
    with transaction.atomic():
        ids = list(
            DiagnosticLog.objects.select_for_update(skip_locked=True)
            .filter(status__in=[ProcessingStatus.PENDING, ProcessingStatus.PROCESSING], status_changed_at__lt=cutoff)
            .order_by("status_changed_at")
            .values_list("id", flat=True)[:limit]
        )
        if ids:
            DiagnosticLog.objects.filter(pk__in=ids).update(status_changed_at=now)
            for log_id in ids:
                enqueue_report_on_commit(log_id)
    if ids:
        logger.warning("sweeper: re-enqueued %d stale log(s)", len(ids))
    return ids
