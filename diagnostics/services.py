"""Writes for diagnostic logs: the one ingest path used by the API, the seeding command and tests."""

import io
import json
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from django.db import IntegrityError, connection, transaction

from common import vocabulary
from common.choices import text_choices
from common.exceptions import Conflict, ForbiddenError
from common.sql import unnest_rows
from reports.dispatch import reports_enqueue_on_commit
from vehicles.history import cell_history_columns
from vehicles.models import DiagnosticLog, ProcessingStatus, Vehicle
from vehicles.queries import vehicle_claim

logger = logging.getLogger(__name__)

_LOG_TABLE = DiagnosticLog._meta.db_table
_VEHICLE_TABLE = Vehicle._meta.db_table


@dataclass(frozen=True)
class IngestResult:
    log_id: uuid.UUID
    created: bool
    status: str  # the log's ProcessingStatus after the call


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


_LOG_COLUMNS = (
    "id, vehicle_id, timestamp, cells, cycle_count, nominal_capacity_kwh, current_capacity_kwh, "
    "received_at, status, attempts, error, status_changed_at, cell_voltages, cell_temperatures, voltage_median"
)
# The common case in one statement (and so one round trip and one commit): the vehicle exists in the
# caller's fleet and the log is new. Anything else returns inserted = false and takes the full path.
_INGEST_KNOWN_VEHICLE_SQL = (
    f"WITH v AS (SELECT id FROM {_VEHICLE_TABLE} WHERE vehicle_id = %s AND fleet_id = %s), "
    f"ins AS (INSERT INTO {_LOG_TABLE} ({_LOG_COLUMNS}) "
    "SELECT %s, v.id, %s, %s::jsonb, %s, %s, %s, now(), %s, 0, '', now(), %s::float8[], %s::float8[], %s::float8 "
    "FROM v "
    "ON CONFLICT (vehicle_id, timestamp) DO NOTHING RETURNING 1) "
    "SELECT EXISTS (SELECT 1 FROM ins)"
)


def cells_json(cells: list[dict[str, Any]]) -> str:
    """The cells as JSON text for the JSONB column: orjson, far cheaper than the standard library (the values
    are validated finite numbers, so nothing it would reject can reach it)."""
    return orjson.dumps(cells).decode()


def _float8_array(values: list[float]) -> str:
    """A float8[] literal, {4.05,4.03}: orjson writes the shortest text that reads back as the same double
    (as repr does, more cheaply), so the array holds exactly the validated numbers."""
    return "{" + orjson.dumps(values)[1:-1].decode() + "}"


def _history_texts(data: dict[str, Any]) -> tuple[str, str, str]:
    """The cell history columns (vehicles.history) as text: voltages, temperatures, median voltage."""
    voltages, temperatures, median = cell_history_columns(data["cells"])
    return _float8_array(voltages), _float8_array(temperatures), repr(median)


def _log_row(log_id: uuid.UUID, data: dict[str, Any]) -> list[Any]:
    return [
        log_id,
        data["timestamp"],
        cells_json(data["cells"]),
        data["cycle_count"],
        data["nominal_capacity_kwh"],
        data["current_capacity_kwh"],
        ProcessingStatus.PENDING,
        *_history_texts(data),
    ]


def diagnostic_log_ingest(*, fleet_id: int, data: dict[str, Any], device_vehicle_id: str | None = None) -> IngestResult:
    """Store one validated log and schedule its report after commit.

    Idempotent by (vehicle_id, timestamp): a same-content retry returns the original log (created=False);
    different content raises Conflict (409). Concurrent duplicates are settled by the unique constraint,
    never by a read before the write. `device_vehicle_id`, for a device credential, is the one vehicle it
    may post for: a log of any other raises ForbiddenError (403) and nothing is read or stored.
    """
    if device_vehicle_id is not None and data["vehicle_id"] != device_vehicle_id:
        raise ForbiddenError(device_forbidden_message(device_vehicle_id))
    new_id = uuid.uuid4()
    row = _log_row(new_id, data)
    with connection.cursor() as cursor:
        cursor.execute(_INGEST_KNOWN_VEHICLE_SQL, [data["vehicle_id"], fleet_id, *row])
        (inserted,) = cursor.fetchone()
    if inserted:
        reports_enqueue_on_commit([new_id])
        return IngestResult(log_id=new_id, created=True, status=ProcessingStatus.PENDING)
    return _ingest_full_path(fleet_id=fleet_id, data=data, new_id=new_id, row=row)


def _ingest_full_path(*, fleet_id: int, data: dict[str, Any], new_id: uuid.UUID, row: list[Any]) -> IngestResult:
    """A vehicle seen for the first time, another fleet's vehicle, a retry or a conflict: one transaction."""
    timestamp: datetime = data["timestamp"]
    with transaction.atomic(), connection.cursor() as cursor:
        vehicle_pk = vehicle_claim(cursor, vehicle_id=data["vehicle_id"], fleet_id=fleet_id)
        cursor.execute(
            f"INSERT INTO {_LOG_TABLE} ({_LOG_COLUMNS}) VALUES (%s, %s, %s, %s::jsonb, %s, %s, %s, now(), %s, 0, '', "
            "now(), %s::float8[], %s::float8[], %s::float8) "
            "ON CONFLICT (vehicle_id, timestamp) DO NOTHING RETURNING id",
            [row[0], vehicle_pk, *row[1:]],
        )
        if cursor.fetchone() is not None:
            reports_enqueue_on_commit([new_id])
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


#: One bulk item's outcome (common.vocabulary.BULK_ITEM_STATUSES).
BulkStatus = text_choices("BulkStatus", vocabulary.BULK_ITEM_STATUSES)


@dataclass(frozen=True)
class BulkItemResult:
    status: str  # a BulkStatus value
    log_id: uuid.UUID | None = None
    message: str | None = None  # why, for a forbidden item


def device_forbidden_message(device_vehicle_id: str) -> str:
    return f"This device credential may only post logs of vehicle {device_vehicle_id}."


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


_COPY_LOGS_SQL = f"COPY {_LOG_TABLE} ({_LOG_COLUMNS}) FROM STDIN"

# A row to store: (new log id, (vehicle pk, timestamp), validated data).
_NewLog = tuple[uuid.UUID, tuple[int, datetime], dict[str, Any]]


def _copy_text(text: str) -> str:
    """A text value for COPY's text format: backslash, tab, newline and carriage return escaped."""
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:  # four memchr scans, cheaper than a regex
        return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return text


def _copy_new_logs(cursor: Any, rows: list[_NewLog]) -> bool:
    """Store all the rows with one COPY, in a savepoint: True if stored; False, nothing stored, when a row
    breaks a constraint (most often its (vehicle, timestamp) exists, or a concurrent request stored it).

    The common case (every log new) at COPY's speed; anything else is for `_insert_new_logs` to settle.
    received_at and status_changed_at are the transaction's now(), as in the INSERTs (COPY cannot call
    it, and the columns' database default is statement_timestamp()).
    """
    cursor.execute("SELECT now()")
    now = cursor.fetchone()[0].isoformat()
    middle = f"\t{now}\t{_copy_text(str(ProcessingStatus.PENDING))}\t0\t\t{now}\t"
    # Numbers, arrays of numbers and ISO timestamps never hold a character COPY escapes; the cells JSON is
    # escaped anyway.
    buffer = "".join(
        [
            f"{log_id}\t{vehicle_pk}\t{timestamp.isoformat()}\t{_copy_text(cells_json(data['cells']))}\t"
            f"{data['cycle_count']}\t{data['nominal_capacity_kwh']}\t{data['current_capacity_kwh']}{middle}"
            f"{voltages}\t{temperatures}\t{median}\n"
            for (log_id, (vehicle_pk, timestamp), data), (voltages, temperatures, median) in zip(
                rows, map(_history_texts, (data for _, _, data in rows)), strict=True
            )
        ]
    ).encode()
    try:
        # The savepoint (rolled back by atomic on any error) keeps the request's transaction usable.
        with transaction.atomic(), connection.wrap_database_errors:
            _copy_from(cursor, buffer)
    except (IntegrityError, connection.Database.IntegrityError) as exc:  # the driver's own, should one escape
        logger.debug("bulk COPY of %d logs fell back to INSERT … ON CONFLICT: %s", len(rows), exc)
        return False
    return True


def _copy_from(cursor: Any, buffer: bytes) -> None:
    """COPY the text-format rows in `buffer`, sent at once (not in copy_expert's default 8 KiB reads)."""
    copy_expert = getattr(cursor, "copy_expert", None)
    if copy_expert is not None:  # psycopg2
        copy_expert(_COPY_LOGS_SQL, io.BytesIO(buffer), size=len(buffer))
    else:  # psycopg 3, which Django uses instead when it is installed
        with cursor.copy(_COPY_LOGS_SQL) as copy:
            copy.write(buffer)


# The new logs' columns as the batch INSERT's parallel arrays (common.sql.unnest_rows), in parameter order.
_NEW_LOG_ARRAYS = (
    ("id", "uuid"),
    ("vehicle_id", "bigint"),
    ("ts", "timestamptz"),
    ("cells", "jsonb"),
    ("cycle_count", "int"),
    ("nominal", "float8"),
    ("current", "float8"),
    ("voltages", "text"),
    ("temperatures", "text"),
    ("median", "float8"),
)


def _insert_new_logs(cursor: Any, rows: list[_NewLog]) -> set[uuid.UUID]:
    """Store the rows whose (vehicle, timestamp) is free, in one INSERT … ON CONFLICT DO NOTHING; their ids."""
    cursor.execute(
        f"INSERT INTO {_LOG_TABLE} ({_LOG_COLUMNS}) "
        "SELECT l.id, l.vehicle_id, l.ts, l.cells, l.cycle_count, l.nominal, l.current, now(), %s, 0, '', now(), "
        "l.voltages::float8[], l.temperatures::float8[], l.median "
        f"FROM {unnest_rows('l', _NEW_LOG_ARRAYS)} "
        "ON CONFLICT (vehicle_id, timestamp) DO NOTHING RETURNING id",
        [
            ProcessingStatus.PENDING,
            [str(log_id) for log_id, _, _ in rows],
            [key[0] for _, key, _ in rows],
            [key[1] for _, key, _ in rows],
            [cells_json(data["cells"]) for _, _, data in rows],
            *(
                [data[field] for _, _, data in rows]
                for field in ("cycle_count", "nominal_capacity_kwh", "current_capacity_kwh")
            ),
            # Arrays of unequal lengths cannot travel as one float8[][]: each as its literal, cast per row.
            *(list(column) for column in zip(*(_history_texts(data) for _, _, data in rows), strict=True)),
        ],
    )
    return {row[0] for row in cursor.fetchall()}


def diagnostic_logs_ingest_bulk(
    *, fleet_id: int, items: dict[int, dict[str, Any]], device_vehicle_id: str | None = None
) -> dict[int, BulkItemResult]:
    """Store many validated logs in one transaction: each item created, duplicate, conflict or forbidden.

    Same rules as the single ingest, per item: identity by (vehicle, timestamp) decided by the unique
    constraint; a same-content repeat is a duplicate (of a stored log or of an earlier item of the
    batch), different content a conflict. The new logs go in with one COPY; when that breaks the unique
    constraint (some are stored already, or a concurrent request stored them) it is rolled back to its
    savepoint and one multi-row INSERT … ON CONFLICT settles each. One batch report task after commit.
    `device_vehicle_id`, for a device credential: an item of any other vehicle is forbidden, not stored.
    """
    results: dict[int, BulkItemResult] = {}
    if device_vehicle_id is not None:
        message = device_forbidden_message(device_vehicle_id)
        for index, data in items.items():
            if data["vehicle_id"] != device_vehicle_id:
                results[index] = BulkItemResult(BulkStatus.FORBIDDEN, message=message)
        items = {index: data for index, data in items.items() if index not in results}
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
        rows = [(candidates[first_of[key]], key, items[first_of[key]]) for key in keys]
        if not rows:
            inserted: set[uuid.UUID] = set()
        elif _copy_new_logs(cursor, rows):
            inserted = set(candidates.values())
        else:
            inserted = _insert_new_logs(cursor, rows)
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
            reports_enqueue_on_commit(created)
    return results


def diagnostic_logs_received_as_live(*, log_ids: list[uuid.UUID], seed: int) -> None:
    """Seeding only (`seed_diagnostics --as-live`): record the logs, stored in this transaction, as received
    5 s to 2 min after their timestamps (never later than now), as a telematics unit reporting live uploads
    them; deterministic per seed and log timestamp. Their reports, computed after commit, read these times."""
    if not log_ids:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {_LOG_TABLE} SET received_at = LEAST(now(), timestamp + make_interval(secs => "
            "5 + (abs(hashtextextended(vehicle_id::text || timestamp::text, %s)) %% 115))) "
            "WHERE id = ANY(%s::uuid[])",
            [seed, [str(log_id) for log_id in log_ids]],
        )
