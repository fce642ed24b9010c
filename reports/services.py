"""Writes for reports: compute a log's report with the pure rules and store it, exactly once."""

import json
import logging
import secrets
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection, transaction

from alerts.services import EvaluatedReport, alerts_evaluate
from common.sql import unnest_rows
from reports.health import UnprocessableLog
from reports.health.report import LogReport, StoredLog, log_report
from reports.models import BatteryReport
from vehicles.models import DiagnosticLog, ProcessingStatus, Vehicle
from vehicles.services import CompletedReport, vehicle_summaries_update

logger = logging.getLogger(__name__)
_REPORT_TABLE = BatteryReport._meta.db_table
# The batch's reports as the INSERT's parallel arrays (common.sql.unnest_rows), in parameter order.
_REPORT_ARRAYS = (
    ("log_id", "uuid"),
    ("soh", "float8"),
    ("anomalies", "jsonb"),
    ("details", "jsonb"),
    ("diagnostics", "jsonb"),
    ("profile", "text"),
    ("rules_version", "text"),
    ("quality", "jsonb"),
    ("fleet_id", "int"),
    ("log_timestamp", "timestamptz"),
)
_LOG_TABLE = DiagnosticLog._meta.db_table
_VEHICLE_TABLE = Vehicle._meta.db_table


@dataclass(frozen=True)
class BatchOutcome:
    """What one batch run did: reports stored (or already there), logs failed, logs skipped."""

    completed: tuple[uuid.UUID, ...]
    failed: dict[uuid.UUID, str]
    skipped: int  # unknown, already completed or already failed
    # Of each completed log: when it was received, and its report's anomaly codes (for the worker's metrics).
    received_at: dict[uuid.UUID, datetime] = field(default_factory=dict)
    anomaly_codes: dict[uuid.UUID, list[str]] = field(default_factory=dict)


# Logs one batch task works on: its own ids, topped up with the oldest pending logs (see below).
BATCH_FILL = 100

# A log is "abandoned" when it is `processing` and the claim lock of the batch that claimed it is free:
# the worker that holds a claim holds its lock, and PostgreSQL releases it when that worker's connection
# dies. `pg_try_advisory_xact_lock` takes the lock for the rest of the statement's transaction only when
# nobody holds it, so the test has no lasting effect.
_ABANDONED = "(status = %s AND claim_key IS NOT NULL AND pg_try_advisory_xact_lock(claim_key))"


def _claim_key_new(cursor: object) -> int:
    """A fresh claim key, locked by this session until `_claim_key_release`: the batch's proof of life."""
    key = secrets.randbits(63)
    cursor.execute("SELECT pg_advisory_lock(%s)", [key])  # type: ignore[attr-defined]
    return key


def _claim_key_release(key: int) -> None:
    """Release the claim lock (if the connection is gone, so is the lock: nothing to do)."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
    except DatabaseError as exc:
        logger.warning("claim lock %s not released (%s); the connection's end releases it", key, exc)


def claims_abandoned_release(*, limit: int = 1000, keep_claim_time: bool = False) -> list[uuid.UUID]:
    """Put the logs whose claim was abandoned back to `pending`; their ids (the caller enqueues them).

    Abandoned: `processing` under a claim whose lock nobody holds (the claiming worker died, or gave up
    on a transient error). A log that a live worker holds is never taken: its lock is held, and its row
    is locked while it is computed (SKIP LOCKED). `keep_claim_time`: the
    released logs keep their claim's time as `status_changed_at`, older than the logs that arrived since, so
    the next tasks' top-ups (oldest pending first) take them first; otherwise they are stamped now (the
    sweeper's way: it then leaves them alone for a threshold).
    """
    stamp = "" if keep_claim_time else ", status_changed_at = now()"
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {_LOG_TABLE} SET status = %s, claim_key = NULL{stamp} "
            f"WHERE id IN (SELECT id FROM {_LOG_TABLE} WHERE {_ABANDONED} "
            "ORDER BY status_changed_at LIMIT %s FOR UPDATE SKIP LOCKED) RETURNING id",
            [ProcessingStatus.PENDING, ProcessingStatus.PROCESSING, limit],
        )
        return [row[0] for row in cursor.fetchall()]


def battery_reports_generate(*, log_ids: list[uuid.UUID], max_attempts: int, fill_to: int = 0) -> BatchOutcome:
    """Compute and store the reports of many logs in a constant number of statements, whatever their number.

    0. the batch takes a fresh claim key and holds its PostgreSQL advisory lock (session level) until it
       ends: the claim's proof of life. If the worker dies, its connection dies and the lock with it, and
       the claim is seen as abandoned at once (no lease to wait out).
    1. claim (committed at once, so an attempt counts even if the worker dies next): one UPDATE … RETURNING
       marks `processing` under the claim key and counts an attempt for the given logs that are `pending`
       or abandoned (a redelivered task retakes its own logs), and, up to `fill_to` logs in all, the oldest
       other `pending` logs. Under load a task so takes a full batch whatever it was published with, and
       the tasks of the logs it took find them done (a one-statement no-op): batches form where the
       backlog is, in the database, not at publish time. A log that a live batch holds is never claimed
       (its lock is held), so a log is claimed by one batch at a time and attempts count real attempts.
    2. one transaction: the logs still `processing` under this claim are locked and read (FOR UPDATE, in
       id order: no deadlock), the pure rules run in Python, one multi-row INSERT … ON CONFLICT DO NOTHING
       stores the reports and one UPDATE the statuses.
    3. the claim lock is released. Logs a transient error left `processing` are then abandoned: the
       task's retry (or any later claim of them) takes them again at once.
    Idempotent: a repeated batch leaves one report per log. A log past `max_attempts` (a poison log) or
    one the rules reject is marked failed; the others go on.
    """
    if not log_ids and fill_to <= 0:
        return BatchOutcome(completed=(), failed={}, skipped=0)
    ids = [str(log_id) for log_id in dict.fromkeys(log_ids)]
    with connection.cursor() as cursor:
        key = _claim_key_new(cursor)
    try:
        claimed = _claim(ids=ids, key=key, fill_to=fill_to)
        return _compute(ids=ids, claimed=claimed, key=key, max_attempts=max_attempts)
    finally:
        _claim_key_release(key)


def _claim(*, ids: list[str], key: int, fill_to: int) -> list[tuple[uuid.UUID, int]]:
    """Step 1: claim the logs under `key` and count an attempt each; (log id, attempts) of each claimed."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            # Rows another transaction holds are skipped, not waited for: no deadlock between overlapping
            # claims (a redelivery racing the original), and a computing batch's rows are never taken.
            f"WITH own AS (SELECT id FROM {_LOG_TABLE} WHERE id = ANY(%s::uuid[]) AND (status = %s OR {_ABANDONED}) "
            "ORDER BY id FOR UPDATE SKIP LOCKED), "
            f"extra AS (SELECT id FROM {_LOG_TABLE} WHERE status = %s AND NOT (id = ANY(%s::uuid[])) "
            "ORDER BY status_changed_at LIMIT %s FOR UPDATE SKIP LOCKED) "
            f"UPDATE {_LOG_TABLE} SET status = %s, attempts = attempts + 1, claim_key = %s, status_changed_at = now() "
            "WHERE id IN (SELECT id FROM own UNION ALL SELECT id FROM extra) RETURNING id, attempts",
            [
                ids,
                ProcessingStatus.PENDING,
                ProcessingStatus.PROCESSING,
                ProcessingStatus.PENDING,
                ids,
                max(0, fill_to - len(ids)),
                ProcessingStatus.PROCESSING,
                key,
            ],
        )
        return cursor.fetchall()  # type: ignore[no-any-return]


def _compute(*, ids: list[str], claimed: list[tuple[uuid.UUID, int]], key: int, max_attempts: int) -> BatchOutcome:
    """Step 2, in one transaction: read the logs claimed under `key`, compute each one's report with the pure
    step (reports.health.report.log_report), store the reports and the logs' statuses, update the vehicles'
    summaries and evaluate the alerts."""
    failed: dict[uuid.UUID, str] = {
        log_id: f"Gave up after {max_attempts} attempts." for log_id, attempts in claimed if attempts > max_attempts
    }
    to_compute = [str(log_id) for log_id, attempts in claimed if attempts <= max_attempts]
    done: list[LogReport] = []
    with transaction.atomic(), connection.cursor() as cursor:
        for log in _claimed_logs_read(cursor, log_ids=to_compute, key=key):
            outcome = _log_report_or_reason(log)
            if isinstance(outcome, LogReport):
                done.append(outcome)
            else:
                failed[log.log_id] = outcome
        _reports_store(cursor, done)
        _logs_status_write(cursor, completed=[item.log.log_id for item in done], failed=failed)
        vehicle_summaries_update(
            processed=[*(item.log.log_id for item in done), *failed], completed=[_summary(item) for item in done]
        )
        if settings.ALERTS_ENABLED:
            # Same transaction: an alert changes with the reports that show it.
            alerts_evaluate(reports=[_evaluated(item) for item in done])
    return BatchOutcome(
        completed=tuple(item.log.log_id for item in done),
        failed=failed,
        skipped=len(set(ids) - {str(log_id) for log_id, _ in claimed}),
        received_at={item.log.log_id: item.log.received_at for item in done},
        anomaly_codes={item.log.log_id: item.anomaly_codes for item in done},
    )


def _claimed_logs_read(cursor: Any, *, log_ids: list[str], key: int) -> list[StoredLog]:
    """The logs still `processing` under this claim, locked (FOR UPDATE, in id order: no deadlock)."""
    if not log_ids:
        return []
    cursor.execute(
        "SELECT l.id, l.cells, l.cycle_count, l.nominal_capacity_kwh, l.current_capacity_kwh, l.timestamp, "
        f"l.received_at, v.profile, l.vehicle_id, v.fleet_id FROM {_LOG_TABLE} AS l "
        f"JOIN {_VEHICLE_TABLE} AS v ON v.id = l.vehicle_id "
        "WHERE l.id = ANY(%s::uuid[]) AND l.status = %s AND l.claim_key = %s ORDER BY l.id FOR UPDATE OF l",
        [log_ids, ProcessingStatus.PROCESSING, key],
    )
    return [StoredLog(*row) for row in cursor.fetchall()]


def _log_report_or_reason(log: StoredLog) -> LogReport | str:
    """The log's report, or why it has none (stored as the failed log's `error`). Bad data is terminal for that
    log, never for its neighbours. Anything else is a bug in the rules: logged with its traceback for the
    operators, and the log fails with a reason that says so rather than passing the bug off as bad data."""
    try:
        return log_report(log)
    except UnprocessableLog as exc:
        return str(exc)
    except Exception as exc:  # the batch must survive a bug in the rules: the other logs still get their reports
        logger.exception("the report rules failed on log %s", log.log_id)
        return f"Internal error in the report rules ({type(exc).__name__}); see the worker's log."


def _reports_store(cursor: Any, done: Sequence[LogReport]) -> None:
    """One multi-row INSERT of the reports (a report already stored for a log is kept: ON CONFLICT DO NOTHING)."""
    if not done:
        return
    rows = [
        (
            str(item.log.log_id),
            item.report.battery_soh,
            json.dumps(list(item.report.anomalies)),
            json.dumps([detail.as_dict() for detail in item.report.anomaly_details], ensure_ascii=False),
            json.dumps(item.report.diagnostics.as_dict()),
            item.profile,
            item.rules_version,
            json.dumps({"flags": list(item.flags)}),
            item.log.fleet_pk,
            item.log.timestamp,
        )
        for item in done
    ]
    cursor.execute(
        f"INSERT INTO {_REPORT_TABLE} "
        "(log_id, battery_soh, anomalies, anomaly_details, diagnostics, profile, rules_version, data_quality, "
        "fleet_id, log_timestamp, generated_at) "
        "SELECT r.log_id, r.soh, r.anomalies, r.details, r.diagnostics, r.profile, r.rules_version, r.quality, "
        f"r.fleet_id, r.log_timestamp, now() FROM {unnest_rows('r', _REPORT_ARRAYS)} "
        "ON CONFLICT (log_id) DO NOTHING",
        [list(column) for column in zip(*rows, strict=True)],
    )


def _logs_status_write(cursor: Any, *, completed: Sequence[uuid.UUID], failed: Mapping[uuid.UUID, str]) -> None:
    """The logs' new statuses: `completed`, or `failed` with its reason (a completed log stays completed)."""
    if completed:
        cursor.execute(
            f"UPDATE {_LOG_TABLE} SET status = %s, error = '', claim_key = NULL, status_changed_at = now() "
            "WHERE id = ANY(%s::uuid[])",
            [ProcessingStatus.COMPLETED, [str(log_id) for log_id in completed]],
        )
    if failed:
        cursor.execute(
            f"UPDATE {_LOG_TABLE} AS log SET status = %s, error = f.reason, claim_key = NULL, "
            "status_changed_at = now() "
            "FROM unnest(%s::uuid[], %s::text[]) AS f(id, reason) WHERE log.id = f.id AND log.status <> %s",
            [
                ProcessingStatus.FAILED,
                [str(log_id) for log_id in failed],
                [reason[:2000] for reason in failed.values()],
                ProcessingStatus.COMPLETED,
            ],
        )


def _summary(item: LogReport) -> CompletedReport:
    """What the vehicle's summary columns take from a report (vehicles.services)."""
    return CompletedReport(
        log_id=item.log.log_id,
        battery_soh=item.report.battery_soh,
        cycle_count=item.log.cycle_count,
        anomalies=list(item.report.anomalies),
        anomaly_codes=item.anomaly_codes,
    )


def _evaluated(item: LogReport) -> EvaluatedReport:
    """What alert evaluation takes from a report (alerts.services)."""
    return EvaluatedReport(
        log_id=item.log.log_id,
        vehicle_pk=item.log.vehicle_pk,
        timestamp=item.log.timestamp,
        anomaly_details=[detail.as_dict() for detail in item.report.anomaly_details],
        battery_soh=item.report.battery_soh,
        cycle_count=item.log.cycle_count,
        cell_voltages=list(item.voltages),
        cell_temperatures=list(item.temperatures),
    )
