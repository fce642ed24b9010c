"""Writes for diagnostic logs: the one ingest path used by the API, the seeding command and tests."""

import json
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from rest_framework.exceptions import PermissionDenied

from common.exceptions import Conflict
from diagnostics.models import DiagnosticLog, ProcessingStatus, Vehicle

logger = logging.getLogger(__name__)

_LOG_TABLE = DiagnosticLog._meta.db_table
_VEHICLE_TABLE = Vehicle._meta.db_table


@dataclass(frozen=True)
class IngestResult:
    log_id: uuid.UUID
    created: bool
    status: str  # the log's ProcessingStatus after the call


def _vehicle_pk_for_fleet(cursor: Any, *, vehicle_id: str, fleet_id: int) -> int:
    """The vehicle's primary key, creating it in this fleet on first sight; 403 if another fleet owns it."""
    cursor.execute(f"SELECT id, fleet_id FROM {_VEHICLE_TABLE} WHERE vehicle_id = %s", [vehicle_id])
    row = cursor.fetchone()
    if row is None:
        # The unique constraint decides which fleet sees the vehicle first; the loser reads the winner's row.
        cursor.execute(
            f"INSERT INTO {_VEHICLE_TABLE} (vehicle_id, fleet_id, created_at) VALUES (%s, %s, now()) "
            "ON CONFLICT (vehicle_id) DO NOTHING RETURNING id, fleet_id",
            [vehicle_id, fleet_id],
        )
        row = cursor.fetchone()
        if row is None:
            cursor.execute(f"SELECT id, fleet_id FROM {_VEHICLE_TABLE} WHERE vehicle_id = %s", [vehicle_id])
            row = cursor.fetchone()
    vehicle_pk, owner_fleet_id = row
    if owner_fleet_id != fleet_id:
        raise PermissionDenied(f"Vehicle {vehicle_id} belongs to another fleet.")
    return vehicle_pk


def _same_content(stored: tuple[Any, ...], data: dict[str, Any]) -> bool:
    cells, cycle_count, nominal, current = stored
    if isinstance(cells, str):
        cells = json.loads(cells)
    return (
        cells == data["cells"]
        and cycle_count == data["cycle_count"]
        and nominal == data["nominal_capacity_kwh"]
        and current == data["current_capacity_kwh"]
    )


def enqueue_report(log_id: uuid.UUID) -> bool:
    """Publish the report task, best effort; True if published.

    Called after commit. A failure is logged, never raised: the log is committed and the sweeper
    re-enqueues it. No publish retries either: a request must not wait on a dead broker.
    """
    from reports.tasks import generate_battery_report

    try:
        generate_battery_report.apply_async(args=[str(log_id)], retry=False)
    except Exception as exc:
        logger.warning(
            "report task for log %s not published (%s: %s); the sweeper will", log_id, type(exc).__name__, exc
        )
        return False
    return True


def enqueue_report_on_commit(log_id: uuid.UUID) -> None:
    """Schedule the report task for after the current transaction commits (never before)."""
    transaction.on_commit(lambda: enqueue_report(log_id), robust=True)


def diagnostic_log_ingest(*, fleet_id: int, data: dict[str, Any]) -> IngestResult:
    """Store one validated log in one transaction and schedule its report after commit.

    Idempotent by (vehicle_id, timestamp): a same-content retry returns the original log (created=False);
    different content raises Conflict (409). Concurrent duplicates are settled by the unique constraint.
    """
    timestamp: datetime = data["timestamp"]
    with transaction.atomic(), connection.cursor() as cursor:
        vehicle_pk = _vehicle_pk_for_fleet(cursor, vehicle_id=data["vehicle_id"], fleet_id=fleet_id)
        new_id = uuid.uuid4()
        cursor.execute(
            f"INSERT INTO {_LOG_TABLE} (id, vehicle_id, timestamp, cells, cycle_count, nominal_capacity_kwh, "
            "current_capacity_kwh, received_at, status, attempts, error, status_changed_at) "
            "VALUES (%s, %s, %s, %s::jsonb, %s, %s, %s, now(), %s, 0, '', now()) "
            "ON CONFLICT (vehicle_id, timestamp) DO NOTHING RETURNING id",
            [
                new_id,
                vehicle_pk,
                timestamp,
                json.dumps(data["cells"], allow_nan=False),
                data["cycle_count"],
                data["nominal_capacity_kwh"],
                data["current_capacity_kwh"],
                ProcessingStatus.PENDING,
            ],
        )
        if cursor.fetchone() is not None:
            enqueue_report_on_commit(new_id)
            result = IngestResult(log_id=new_id, created=True, status=ProcessingStatus.PENDING)
        else:
            cursor.execute(
                f"SELECT id, cells, cycle_count, nominal_capacity_kwh, current_capacity_kwh, status "
                f"FROM {_LOG_TABLE} WHERE vehicle_id = %s AND timestamp = %s",
                [vehicle_pk, timestamp],
            )
            existing_id, *content, status = cursor.fetchone()
            if not _same_content(tuple(content), data):
                raise Conflict(
                    log_id=str(existing_id),
                    detail=f"A log for {data['vehicle_id']} at this timestamp exists with different content.",
                )
            result = IngestResult(log_id=existing_id, created=False, status=status)
    return result


def diagnostic_log_status(*, log_id: uuid.UUID) -> str:
    return DiagnosticLog.objects.filter(pk=log_id).values_list("status", flat=True).get()
