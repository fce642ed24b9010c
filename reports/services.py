"""Writes for reports: compute a log's report with the pure rules and store it, exactly once."""

import json
import logging
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import DatabaseError, connection, transaction

from alerts.services import EvaluatedReport, alerts_evaluate
from analytics.domain.profiles import RULES_VERSION, profile_get
from analytics.domain.quality import data_quality_flags
from reports.health import BatterySnapshot, evaluate
from reports.models import BatteryReport
from vehicles.models import DiagnosticLog, ProcessingStatus, Vehicle
from vehicles.services import CompletedReport, vehicle_summaries_update

logger = logging.getLogger(__name__)
_REPORT_TABLE = BatteryReport._meta.db_table
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
    """Step 2: compute and store the reports of the logs claimed under `key`, in one transaction."""
    failed: dict[uuid.UUID, str] = {
        log_id: f"Gave up after {max_attempts} attempts." for log_id, attempts in claimed if attempts > max_attempts
    }
    to_compute = [str(log_id) for log_id, attempts in claimed if attempts <= max_attempts]
    reports: list[tuple[str, float, str, str, str, str, str, str, int, datetime]] = []
    summaries: list[CompletedReport] = []
    evaluated: list[EvaluatedReport] = []
    with transaction.atomic(), connection.cursor() as cursor:
        rows: list[tuple[uuid.UUID, object, int, float, float, datetime, datetime, str, int, int]] = []
        if to_compute:
            cursor.execute(
                "SELECT l.id, l.cells, l.cycle_count, l.nominal_capacity_kwh, l.current_capacity_kwh, l.timestamp, "
                f"l.received_at, v.profile, l.vehicle_id, v.fleet_id FROM {_LOG_TABLE} AS l "
                f"JOIN {_VEHICLE_TABLE} AS v ON v.id = l.vehicle_id "
                "WHERE l.id = ANY(%s::uuid[]) AND l.status = %s AND l.claim_key = %s ORDER BY l.id FOR UPDATE OF l",
                [to_compute, ProcessingStatus.PROCESSING, key],
            )
            rows = cursor.fetchall()
        received: dict[uuid.UUID, datetime] = {}
        for row in rows:
            log_id, cells, cycle_count, nominal, current, timestamp, received_at, profile_name, vehicle_pk = row[:9]
            fleet_pk = row[9]
            try:
                log = {
                    "cells": json.loads(cells) if isinstance(cells, str) else cells,
                    "cycle_count": cycle_count,
                    "nominal_capacity_kwh": nominal,
                    "current_capacity_kwh": current,
                }
                profile = profile_get(profile_name)
                snapshot = BatterySnapshot.from_mapping(log)
                report = evaluate(snapshot, profile).as_dict()
                flags = data_quality_flags(
                    timestamp=timestamp,
                    received_at=received_at,
                    voltages=[cell.voltage for cell in snapshot.cells],
                    temperatures=[cell.temperature for cell in snapshot.cells],
                    nominal_capacity_kwh=nominal,
                    current_capacity_kwh=current,
                    profile=profile,
                )
            except Exception as exc:  # bad data: terminal for this log, never for its neighbours
                failed[log_id] = f"{type(exc).__name__}: {exc}"
                continue
            received[log_id] = received_at
            summaries.append(
                CompletedReport(
                    log_id=log_id,
                    battery_soh=report["battery_soh"],
                    cycle_count=cycle_count,
                    anomalies=report["anomalies"],
                    anomaly_codes=[detail["code"] for detail in report["anomaly_details"]],
                )
            )
            evaluated.append(
                EvaluatedReport(
                    log_id=log_id,
                    vehicle_pk=vehicle_pk,
                    timestamp=timestamp,
                    anomaly_details=report["anomaly_details"],
                    battery_soh=report["battery_soh"],
                    cycle_count=cycle_count,
                    cell_voltages=[cell.voltage for cell in snapshot.cells],
                    cell_temperatures=[cell.temperature for cell in snapshot.cells],
                )
            )
            reports.append(
                (
                    str(log_id),
                    report["battery_soh"],
                    json.dumps(report["anomalies"]),
                    json.dumps(report["anomaly_details"], ensure_ascii=False),
                    json.dumps(report["diagnostics"]),
                    profile.name,
                    RULES_VERSION,
                    json.dumps({"flags": flags}),
                    fleet_pk,
                    timestamp,
                )
            )
        done = [row[0] for row in reports]
        if reports:
            columns = list(zip(*reports, strict=True))
            cursor.execute(
                f"INSERT INTO {_REPORT_TABLE} "
                "(log_id, battery_soh, anomalies, anomaly_details, diagnostics, profile, rules_version, data_quality, "
                "fleet_id, log_timestamp, generated_at) "
                "SELECT r.log_id, r.soh, r.anomalies, r.details, r.diagnostics, r.profile, r.rules_version, r.quality, "
                "r.fleet_id, r.log_timestamp, now() FROM unnest("
                "%s::uuid[], %s::float8[], %s::jsonb[], %s::jsonb[], %s::jsonb[], %s::text[], %s::text[], %s::jsonb[], "
                "%s::int[], %s::timestamptz[]"
                ") AS r(log_id, soh, anomalies, details, diagnostics, profile, rules_version, quality, fleet_id, "
                "log_timestamp) "
                "ON CONFLICT (log_id) DO NOTHING",
                [list(column) for column in columns],
            )
            cursor.execute(
                f"UPDATE {_LOG_TABLE} SET status = %s, error = '', claim_key = NULL, status_changed_at = now() "
                "WHERE id = ANY(%s::uuid[])",
                [ProcessingStatus.COMPLETED, done],
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
        vehicle_summaries_update(processed=[*map(uuid.UUID, done), *failed], completed=summaries)
        if settings.ALERTS_ENABLED:
            alerts_evaluate(reports=evaluated)  # same transaction: an alert changes with the reports that show it
    return BatchOutcome(
        completed=tuple(uuid.UUID(log_id) for log_id in done),
        failed=failed,
        skipped=len(set(ids) - {str(log_id) for log_id, _ in claimed}),
        received_at=received,
        anomaly_codes={summary.log_id: list(summary.anomaly_codes) for summary in summaries},
    )
