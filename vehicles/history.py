"""One cell's history (API §6): what the ingest services store for it, and the read.

Each log row carries its cells' voltages (V) and temperatures (°C) as float8 arrays indexed by cell id,
and the pack's median voltage (V), beside the JSONB kept as received; the history reads one array
element per log through the (vehicle, timestamp) index. Why this storage and not the JSONB or a per-cell
table: docs/performance.md, "One cell's history: storage by measurement".
"""

import statistics
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db import connection

from vehicles.models import DiagnosticLog, Vehicle

_LOG_TABLE = DiagnosticLog._meta.db_table
_VEHICLE_TABLE = Vehicle._meta.db_table

HISTORY_LIMIT_MAX = 10_000  # the largest page the history endpoint serves (API §6); the caller validates `limit`


def cell_history_columns(cells: Sequence[dict[str, Any]]) -> tuple[list[float], list[float], float]:
    """(voltages, temperatures, median voltage) of a validated log's cells, sorted by id (ids 0..n-1).

    The numbers are the validated ones, unchanged (float8 holds each exactly); the median is
    statistics.median: the middle voltage, or the mean of the two middle ones for an even count.
    """
    voltages = [cell["voltage"] for cell in cells]
    return voltages, [cell["temperature"] for cell in cells], statistics.median(voltages)


def voltage_deviation_mv(voltage: float, median_v: float) -> float:
    """The cell's voltage minus the pack's median voltage, in mV rounded to 3 decimals."""
    return round((voltage - median_v) * 1000, 3)


# One index range scan on (vehicle_id, timestamp); per row one element of each array (ids are 0-based,
# arrays 1-based). The id and the timestamp come as the API's text (format_timestamp's format): parsing
# 4,400 UUIDs and datetimes in Python and formatting them back cost more than the query.
_HISTORY_SQL = f"""
SELECT l.id::text, to_char(l.timestamp AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
       l.cell_voltages[%(index)s], l.cell_temperatures[%(index)s], l.voltage_median
FROM {_LOG_TABLE} AS l
WHERE l.vehicle_id = %(vehicle_pk)s
  AND l.timestamp >= %(low)s AND (%(until)s::timestamptz IS NULL OR l.timestamp < %(until)s)
  AND (%(after_ts)s::timestamptz IS NULL OR (l.timestamp, l.id) > (%(after_ts)s, %(after_id)s::uuid))
  AND cardinality(l.cell_voltages) > %(cell_id)s
ORDER BY l.timestamp, l.id
LIMIT %(limit)s
"""

_MIN_TIMESTAMP = "-infinity"


def history_position(row: dict[str, Any]) -> tuple[datetime, uuid.UUID]:
    """A history row's keyset position (timestamp, log_id), as `after` takes it."""
    return datetime.fromisoformat(row["timestamp"]), uuid.UUID(row["log_id"])


def vehicle_cell_history(
    *,
    fleet_id: int,
    vehicle_id: str,
    cell_id: int,
    since: datetime | None,
    until: datetime | None,
    limit: int,
    after: tuple[datetime, uuid.UUID] | None,
) -> list[dict[str, Any]] | None:
    """One cell's readings, oldest first: one dict per log of the vehicle that has cell `cell_id`.

    Each dict: log_id (text), timestamp (the API's text, UTC: common.timestamps.format_timestamp's format),
    voltage (V) and temperature (°C) exactly as stored, voltage_deviation_mv (voltage minus the log's median
    cell voltage, mV, 3 decimals); `history_position` gives a row's keyset position.
    `since` is inclusive, `until` exclusive; `after` is the keyset position (timestamp, log_id) of the
    previous page's last row, and the page holds the next `limit` rows after it. None when the vehicle is
    unknown or belongs to another fleet (the caller answers 404 for both).
    """
    if cell_id < 0 or limit < 1:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id FROM {_VEHICLE_TABLE} WHERE vehicle_id = %s AND fleet_id = %s", [vehicle_id, fleet_id]
        )
        row = cursor.fetchone()
        if row is None:
            return None
        low: object = since if since is not None else _MIN_TIMESTAMP
        if after is not None and (since is None or after[0] > since):
            low = after[0]  # a bound the index scan can use; the row comparison then settles ties
        cursor.execute(
            _HISTORY_SQL,
            {
                "vehicle_pk": row[0],
                "index": cell_id + 1,
                "cell_id": cell_id,
                "low": low,
                "until": until,
                "after_ts": after[0] if after is not None else None,
                "after_id": str(after[1]) if after is not None else None,
                "limit": limit,
            },
        )
        rows = cursor.fetchall()
    history = []
    for log_id, timestamp, voltage, temperature, median in rows:
        history.append(
            {
                "log_id": log_id,
                "timestamp": timestamp,
                "voltage": voltage,
                "temperature": temperature,
                "voltage_deviation_mv": voltage_deviation_mv(voltage, median),
            }
        )
    return history
