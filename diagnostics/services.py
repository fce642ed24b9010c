"""Writes for diagnostic logs: the one ingest path used by the API, the seeding command and tests."""

import json
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from django.db import connection, transaction
from rest_framework.exceptions import PermissionDenied

from common.exceptions import Conflict
from diagnostics.models import DiagnosticLog, ProcessingStatus, Vehicle
from diagnostics.publisher import publisher

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


def enqueue_report_on_commit(log_id: uuid.UUID) -> None:
    """Schedule the report for after the current transaction commits (never before), off the request."""
    enqueue_reports_on_commit([log_id])


_LOG_COLUMNS = (
    "id, vehicle_id, timestamp, cells, cycle_count, nominal_capacity_kwh, current_capacity_kwh, "
    "received_at, status, attempts, error, status_changed_at"
)
# The common case in one statement (and so one round trip and one commit): the vehicle exists in the
# caller's fleet and the log is new. Anything else returns inserted = false and takes the full path.
_INGEST_KNOWN_VEHICLE_SQL = (
    f"WITH v AS (SELECT id FROM {_VEHICLE_TABLE} WHERE vehicle_id = %s AND fleet_id = %s), "
    f"ins AS (INSERT INTO {_LOG_TABLE} ({_LOG_COLUMNS}) "
    "SELECT %s, v.id, %s, %s::jsonb, %s, %s, %s, now(), %s, 0, '', now() FROM v "
    "ON CONFLICT (vehicle_id, timestamp) DO NOTHING RETURNING 1) "
    "SELECT EXISTS (SELECT 1 FROM ins)"
)


def cells_json(cells: list[dict[str, Any]]) -> str:
    """The cells as JSON text for the JSONB column: orjson, about 10x the standard library (the values are
    validated finite numbers, so nothing it would reject can reach it)."""
    return orjson.dumps(cells).decode()


def _log_row(log_id: uuid.UUID, data: dict[str, Any]) -> list[Any]:
    return [
        log_id,
        data["timestamp"],
        cells_json(data["cells"]),
        data["cycle_count"],
        data["nominal_capacity_kwh"],
        data["current_capacity_kwh"],
        ProcessingStatus.PENDING,
    ]


def diagnostic_log_ingest(*, fleet_id: int, data: dict[str, Any]) -> IngestResult:
    """Store one validated log and schedule its report after commit.

    Idempotent by (vehicle_id, timestamp): a same-content retry returns the original log (created=False);
    different content raises Conflict (409). Concurrent duplicates are settled by the unique constraint,
    never by a read before the write.
    """
    new_id = uuid.uuid4()
    row = _log_row(new_id, data)
    with connection.cursor() as cursor:
        cursor.execute(_INGEST_KNOWN_VEHICLE_SQL, [data["vehicle_id"], fleet_id, *row])
        (inserted,) = cursor.fetchone()
    if inserted:
        enqueue_report_on_commit(new_id)
        return IngestResult(log_id=new_id, created=True, status=ProcessingStatus.PENDING)
    return _ingest_full_path(fleet_id=fleet_id, data=data, new_id=new_id, row=row)


def _ingest_full_path(*, fleet_id: int, data: dict[str, Any], new_id: uuid.UUID, row: list[Any]) -> IngestResult:
    """A vehicle seen for the first time, another fleet's vehicle, a retry or a conflict: one transaction."""
    timestamp: datetime = data["timestamp"]
    with transaction.atomic(), connection.cursor() as cursor:
        vehicle_pk = _vehicle_pk_for_fleet(cursor, vehicle_id=data["vehicle_id"], fleet_id=fleet_id)
        cursor.execute(
            f"INSERT INTO {_LOG_TABLE} ({_LOG_COLUMNS}) VALUES (%s, %s, %s, %s::jsonb, %s, %s, %s, now(), %s, 0, '', "
            "now()) ON CONFLICT (vehicle_id, timestamp) DO NOTHING RETURNING id",
            [row[0], vehicle_pk, *row[1:]],
        )
        if cursor.fetchone() is not None:
            enqueue_report_on_commit(new_id)
            return IngestResult(log_id=new_id, created=True, status=ProcessingStatus.PENDING)
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
        return IngestResult(log_id=existing_id, created=False, status=status)


def diagnostic_log_status(*, log_id: uuid.UUID) -> str:
    return DiagnosticLog.objects.filter(pk=log_id).values_list("status", flat=True).get()


class BulkStatus:
    CREATED = "created"
    DUPLICATE = "duplicate"
    CONFLICT = "conflict"
    FORBIDDEN = "forbidden"
    INVALID = "invalid"


@dataclass(frozen=True)
class BulkItemResult:
    status: str  # a BulkStatus value
    log_id: uuid.UUID | None = None


def _vehicle_pks_for_fleet(cursor: Any, *, vehicle_ids: list[str], fleet_id: int) -> dict[str, int | None]:
    """vehicle_id -> primary key for this fleet's vehicles (created on first sight), None for another fleet's."""
    owners: dict[str, tuple[int, int]] = {}
    for attempt in range(2):
        missing = [vehicle_id for vehicle_id in vehicle_ids if vehicle_id not in owners]
        if not missing:
            break
        if attempt:
            cursor.execute(
                f"INSERT INTO {_VEHICLE_TABLE} (vehicle_id, fleet_id, created_at) "
                "SELECT v, %s, now() FROM unnest(%s::varchar[]) AS v ON CONFLICT (vehicle_id) DO NOTHING",
                [fleet_id, missing],
            )
        cursor.execute(
            f"SELECT vehicle_id, id, fleet_id FROM {_VEHICLE_TABLE} WHERE vehicle_id = ANY(%s::varchar[])", [missing]
        )
        owners.update({vehicle_id: (pk, owner) for vehicle_id, pk, owner in cursor.fetchall()})
    return {vehicle_id: pk if owner == fleet_id else None for vehicle_id, (pk, owner) in owners.items()}


def diagnostic_logs_ingest_bulk(*, fleet_id: int, items: dict[int, dict[str, Any]]) -> dict[int, BulkItemResult]:
    """Store many validated logs in one transaction: each item created, duplicate, conflict or forbidden.

    Same rules as the single ingest, per item: identity by (vehicle, timestamp) decided by the unique
    constraint; a same-content repeat is a duplicate (of a stored log or of an earlier item of the
    batch), different content a conflict. One multi-row INSERT, and one batch report task after commit.
    """
    results: dict[int, BulkItemResult] = {}
    if not items:
        return results
    with transaction.atomic(), connection.cursor() as cursor:
        vehicles = _vehicle_pks_for_fleet(
            cursor, vehicle_ids=sorted({data["vehicle_id"] for data in items.values()}), fleet_id=fleet_id
        )
        first_of: dict[tuple[int, datetime], int] = {}  # (vehicle pk, timestamp) -> index of its first item
        repeats: list[int] = []
        for index, data in items.items():
            vehicle_pk = vehicles[data["vehicle_id"]]
            if vehicle_pk is None:
                results[index] = BulkItemResult(BulkStatus.FORBIDDEN)
            elif (vehicle_pk, data["timestamp"]) in first_of:
                repeats.append(index)
            else:
                first_of[(vehicle_pk, data["timestamp"])] = index
        candidates = {index: uuid.uuid4() for index in first_of.values()}
        keys = list(first_of)
        cursor.execute(
            f"INSERT INTO {_LOG_TABLE} (id, vehicle_id, timestamp, cells, cycle_count, nominal_capacity_kwh, "
            "current_capacity_kwh, received_at, status, attempts, error, status_changed_at) "
            "SELECT l.id, l.vehicle_id, l.ts, l.cells, l.cycle_count, l.nominal, l.current, now(), %s, 0, '', now() "
            "FROM unnest(%s::uuid[], %s::bigint[], %s::timestamptz[], %s::jsonb[], %s::int[], %s::float8[], "
            "%s::float8[]) AS l(id, vehicle_id, ts, cells, cycle_count, nominal, current) "
            "ON CONFLICT (vehicle_id, timestamp) DO NOTHING RETURNING id",
            [
                ProcessingStatus.PENDING,
                [str(candidates[first_of[key]]) for key in keys],
                [key[0] for key in keys],
                [key[1] for key in keys],
                [cells_json(items[first_of[key]]["cells"]) for key in keys],
                *(
                    [items[first_of[key]][field] for key in keys]
                    for field in ("cycle_count", "nominal_capacity_kwh", "current_capacity_kwh")
                ),
            ],
        )
        inserted = {row[0] for row in cursor.fetchall()}
        stored: dict[tuple[int, datetime], tuple[uuid.UUID, tuple[Any, ...]]] = {}
        for key in keys:
            index = first_of[key]
            if candidates[index] in inserted:
                results[index] = BulkItemResult(BulkStatus.CREATED, candidates[index])
                data = items[index]
                stored[key] = (
                    candidates[index],
                    (data["cells"], data["cycle_count"], data["nominal_capacity_kwh"], data["current_capacity_kwh"]),
                )
        existing_keys = [key for key in keys if key not in stored]
        if existing_keys:
            cursor.execute(
                f"SELECT l.id, l.vehicle_id, l.timestamp, l.cells, l.cycle_count, l.nominal_capacity_kwh, "
                f"l.current_capacity_kwh FROM {_LOG_TABLE} AS l "
                "JOIN unnest(%s::bigint[], %s::timestamptz[]) AS k(vehicle_id, ts) "
                "ON l.vehicle_id = k.vehicle_id AND l.timestamp = k.ts",
                [[key[0] for key in existing_keys], [key[1] for key in existing_keys]],
            )
            for log_id, vehicle_pk, timestamp, *content in cursor.fetchall():
                stored[(vehicle_pk, timestamp)] = (log_id, tuple(content))
        for index in [first_of[key] for key in existing_keys] + repeats:
            data = items[index]
            log_id, content = stored[(vehicles[data["vehicle_id"]], data["timestamp"])]  # type: ignore[index]
            status = BulkStatus.DUPLICATE if _same_content(content, data) else BulkStatus.CONFLICT
            results[index] = BulkItemResult(status, log_id)
        created = [result.log_id for result in results.values() if result.status == BulkStatus.CREATED]
        if created:
            enqueue_reports_on_commit(created)
    return results


def enqueue_reports_on_commit(log_ids: list[uuid.UUID]) -> None:
    """One batch report task for many logs, after commit, off the request."""
    transaction.on_commit(lambda: publisher.submit(log_ids), robust=True)


def enqueue_reports(log_ids: list[uuid.UUID]) -> bool:
    """Publish one batch report task for many logs, best effort (the sweeper covers a failure)."""
    from reports.tasks import generate_battery_reports

    try:
        generate_battery_reports.apply_async(args=[[str(log_id) for log_id in log_ids]], retry=False)
    except Exception as exc:
        logger.warning("batch report task for %d logs not published (%s: %s)", len(log_ids), type(exc).__name__, exc)
        return False
    return True
