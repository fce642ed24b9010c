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


SWEEP_BATCH = 100


def report_queue_depth() -> int | None:
    """Report tasks waiting in the broker: 0 in eager mode, None when the broker cannot be asked."""
    from kombu.exceptions import ChannelError

    from config.celery import app

    if app.conf.task_always_eager:
        return 0
    try:
        with app.connection_for_write() as conn:
            _, count, _ = conn.default_channel.queue_declare(queue=app.conf.task_default_queue, passive=True)
            return int(count)
    except ChannelError:  # Redis drops an empty queue's key: "no such queue" is an empty queue
        return 0
    except Exception as exc:
        logger.warning("sweeper: broker unavailable (%s: %s)", type(exc).__name__, exc)
        return None


def stale_logs_requeue(*, older_than_s: float, limit: int = 1000) -> list[uuid.UUID]:
    """Re-enqueue logs left `pending` or `processing` for longer than `older_than_s` seconds.

    The broker is a hint, the database the record: a publish lost to a broker outage, a flushed queue
    or a worker killed mid-task leaves its log here, and this brings it back, in batch tasks of 100.
    While tasks still wait in the queue, a pending log may be one of them: only stuck `processing`
    logs are re-enqueued then, so a backlog is never multiplied; once the queue has drained, a
    pending log past the threshold was lost and comes back. With the broker down nothing is sent.
    A requeued log goes back to `pending` (a `processing` one was abandoned: a worker that is still on
    a log holds its row lock, and locked rows are skipped) with a fresh `status_changed_at`, so the next
    sweep leaves it alone for a threshold. Safe with several sweepers at once (SKIP LOCKED).
    """
    from diagnostics.services import enqueue_reports_on_commit

    depth = report_queue_depth()
    if depth is None:
        return []
    statuses = [ProcessingStatus.PROCESSING] if depth else [ProcessingStatus.PENDING, ProcessingStatus.PROCESSING]
    now = timezone.now()
    cutoff = now - timedelta(seconds=older_than_s)
    with transaction.atomic():
        ids = list(
            DiagnosticLog.objects.select_for_update(skip_locked=True)
            .filter(status__in=statuses, status_changed_at__lt=cutoff)
            .order_by("status_changed_at")
            .values_list("id", flat=True)[:limit]
        )
        if ids:
            # Abandoned: back to pending, so the batch claim takes them (it never takes a `processing` log).
            DiagnosticLog.objects.filter(pk__in=ids).update(status=ProcessingStatus.PENDING, status_changed_at=now)
            for start in range(0, len(ids), SWEEP_BATCH):
                enqueue_reports_on_commit(ids[start : start + SWEEP_BATCH])
    if ids:
        logger.warning("sweeper: re-enqueued %d stale log(s) (queue depth %d)", len(ids), depth)
    return ids


@dataclass(frozen=True)
class BatchOutcome:
    """What one batch run did: reports stored (or already there), logs failed, logs skipped."""

    completed: tuple[uuid.UUID, ...]
    failed: dict[uuid.UUID, str]
    skipped: int  # unknown, already completed or already failed


# Logs one batch task works on: its own ids, topped up with the oldest pending logs (see below).
BATCH_FILL = 100


def battery_reports_generate(*, log_ids: list[uuid.UUID], max_attempts: int, fill_to: int = 0) -> BatchOutcome:
    """Compute and store the reports of many logs in a constant number of statements, whatever their number.

    1. claim (committed at once, so an attempt counts even if the worker dies next): one UPDATE … RETURNING
       marks `processing` and counts an attempt for the given logs still `pending` and, up to `fill_to`
       logs in all, the oldest other `pending` logs. Under load a task so takes a full batch whatever it
       was published with, and the tasks of the logs it took find them done (a one-statement no-op):
       batches form where the backlog is, in the database, not at publish time. A `processing` log is
       never claimed here: a worker is on it, or one died on it, and only the sweeper
       (`stale_logs_requeue`) decides that it was abandoned and puts it back to `pending`. So a log is
       claimed once per attempt, never by two tasks at once, and attempts count real attempts.
    2. one transaction: the claimed logs still `processing` are locked and read (FOR UPDATE, in id order:
       no deadlock), the pure rules run in Python, one multi-row INSERT … ON CONFLICT DO NOTHING stores
       the reports and one UPDATE the statuses. It waits for a lock rather than skipping the log: a lock
       there can be another task's claim statement passing over the row, and a skip would leave the log
       `processing` with no one on it. If the worker dies, its transaction and locks die with it; the logs
       stay `processing` until the sweeper's threshold, then go back to `pending` and to a task.
    Idempotent like the single-log path: a repeated batch leaves one report per log. A log past
    `max_attempts` (a poison log) or one the rules reject is marked failed; the others go on.
    """
    if not log_ids and fill_to <= 0:
        return BatchOutcome(completed=(), failed={}, skipped=0)
    ids = [str(log_id) for log_id in dict.fromkeys(log_ids)]
    with connection.cursor() as cursor:
        cursor.execute(
            # Rows another worker holds are skipped, not waited for: no deadlock between overlapping
            # batches (a redelivery racing the original), and each log is worked on by one worker at a time.
            f"WITH own AS (SELECT id FROM {_LOG_TABLE} WHERE id = ANY(%s::uuid[]) AND status = %s "
            "ORDER BY id FOR UPDATE SKIP LOCKED), "
            f"extra AS (SELECT id FROM {_LOG_TABLE} WHERE status = %s AND NOT (id = ANY(%s::uuid[])) "
            "ORDER BY status_changed_at LIMIT %s FOR UPDATE SKIP LOCKED) "
            f"UPDATE {_LOG_TABLE} SET status = %s, attempts = attempts + 1, status_changed_at = now() "
            "WHERE id IN (SELECT id FROM own UNION ALL SELECT id FROM extra) RETURNING id, attempts",
            [
                ids,
                ProcessingStatus.PENDING,
                ProcessingStatus.PENDING,
                ids,
                max(0, fill_to - len(ids)),
                ProcessingStatus.PROCESSING,
            ],
        )
        claimed = cursor.fetchall()
    failed: dict[uuid.UUID, str] = {
        log_id: f"Gave up after {max_attempts} attempts." for log_id, attempts in claimed if attempts > max_attempts
    }
    to_compute = [str(log_id) for log_id, attempts in claimed if attempts <= max_attempts]
    reports: list[tuple[str, float, str, str, str]] = []
    with transaction.atomic(), connection.cursor() as cursor:
        if to_compute:
            cursor.execute(
                "SELECT id, cells, cycle_count, nominal_capacity_kwh, current_capacity_kwh "
                f"FROM {_LOG_TABLE} WHERE id = ANY(%s::uuid[]) AND status = %s ORDER BY id FOR UPDATE",
                [to_compute, ProcessingStatus.PROCESSING],
            )
            rows = cursor.fetchall()
        else:
            rows = []
        for log_id, cells, cycle_count, nominal, current in rows:
            try:
                log = {
                    "cells": json.loads(cells) if isinstance(cells, str) else cells,
                    "cycle_count": cycle_count,
                    "nominal_capacity_kwh": nominal,
                    "current_capacity_kwh": current,
                }
                report = evaluate(BatterySnapshot.from_mapping(log)).as_dict()
            except Exception as exc:  # bad data: terminal for this log, never for its neighbours
                failed[log_id] = f"{type(exc).__name__}: {exc}"
                continue
            reports.append(
                (
                    str(log_id),
                    report["battery_soh"],
                    json.dumps(report["anomalies"]),
                    json.dumps(report["anomaly_details"], ensure_ascii=False),
                    json.dumps(report["diagnostics"]),
                )
            )
        done = [row[0] for row in reports]
        if reports:
            columns = list(zip(*reports, strict=True))
            cursor.execute(
                f"INSERT INTO {_REPORT_TABLE} "
                "(log_id, battery_soh, anomalies, anomaly_details, diagnostics, generated_at) "
                "SELECT r.log_id, r.soh, r.anomalies, r.details, r.diagnostics, now() FROM unnest("
                "%s::uuid[], %s::float8[], %s::jsonb[], %s::jsonb[], %s::jsonb[]"
                ") AS r(log_id, soh, anomalies, details, diagnostics) ON CONFLICT (log_id) DO NOTHING",
                [list(column) for column in columns],
            )
            cursor.execute(
                f"UPDATE {_LOG_TABLE} SET status = %s, error = '', status_changed_at = now() "
                "WHERE id = ANY(%s::uuid[])",
                [ProcessingStatus.COMPLETED, done],
            )
        if failed:
            cursor.execute(
                f"UPDATE {_LOG_TABLE} AS log SET status = %s, error = f.reason, status_changed_at = now() "
                "FROM unnest(%s::uuid[], %s::text[]) AS f(id, reason) WHERE log.id = f.id AND log.status <> %s",
                [
                    ProcessingStatus.FAILED,
                    [str(log_id) for log_id in failed],
                    [reason[:2000] for reason in failed.values()],
                    ProcessingStatus.COMPLETED,
                ],
            )
    return BatchOutcome(
        completed=tuple(uuid.UUID(log_id) for log_id in done),
        failed=failed,
        skipped=len(set(ids) - {str(log_id) for log_id, _ in claimed}),
    )
