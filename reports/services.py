"""Writes for reports: compute a log's report with the pure rules and store it, exactly once."""

import json
import logging
import uuid
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from diagnostics.models import DiagnosticLog, ProcessingStatus
from reports.health import BatterySnapshot, evaluate
from reports.models import BatteryReport

logger = logging.getLogger(__name__)
_REPORT_TABLE = BatteryReport._meta.db_table


class LogNotFound(Exception):
    """The log does not exist (deleted, or never committed): a terminal error, never retried."""


@dataclass(frozen=True)
class ReportOutcome:
    log_id: uuid.UUID
    created: bool


def battery_report_mark_processing(*, log_id: uuid.UUID) -> None:
    """Count an attempt and mark the log as being processed (unless already completed)."""
    DiagnosticLog.objects.filter(pk=log_id).exclude(status=ProcessingStatus.COMPLETED).update(
        status=ProcessingStatus.PROCESSING, attempts=F("attempts") + 1, status_changed_at=timezone.now()
    )


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
