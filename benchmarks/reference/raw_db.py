"""The database's own limits, with no framework: a raw single-row INSERT, COPY, and the raw report loop.

Used by bench_db.py, bench_ingest_http.py, bench_workers.py and bench_get.py. Every function takes an
open connection (psycopg 3 unless the name says psycopg2) and rows made by ``log_rows``, and writes the
same table and columns as the service (``diagnostics_diagnosticlog``; ``reports_batteryreport``).
"""

from __future__ import annotations

import statistics
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import orjson

# The service's columns, the cell history's arrays and median included (diagnostics/services.py _LOG_COLUMNS).
LOG_COLUMNS = (
    "id, vehicle_id, timestamp, cells, cycle_count, nominal_capacity_kwh, current_capacity_kwh, "
    "cell_voltages, cell_temperatures, voltage_median, received_at, status, attempts, error, status_changed_at"
)
INSERT_ONE = (
    f"INSERT INTO diagnostics_diagnosticlog ({LOG_COLUMNS}) "
    "VALUES (%s, %s, %s, %s::jsonb, %s, %s, %s, %s::float8[], %s::float8[], %s, now(), 'pending', 0, '', now())"
)
COPY_SQL = f"COPY diagnostics_diagnosticlog ({LOG_COLUMNS}) FROM STDIN"

Row = tuple[uuid.UUID, int, datetime, str, int, float, float, list[float], list[float], float]


def log_rows(logs: Sequence[dict[str, Any]], vehicle_pks: dict[str, int]) -> list[Row]:
    """Rows of validated-shape logs (vehicle_id resolved to its primary key; cells as JSON text)."""
    rows = []
    for data in logs:
        ts = data["timestamp"]
        if isinstance(ts, str):
            ts = datetime.fromisoformat(ts.replace("Z", "+00:00")).astimezone(UTC)
        rows.append(
            (
                uuid.uuid4(),
                vehicle_pks[data["vehicle_id"]],
                ts,
                orjson.dumps(data["cells"]).decode(),
                data["cycle_count"],
                float(data["nominal_capacity_kwh"]),
                float(data["current_capacity_kwh"]),
                # what ingest stores beside the JSONB (vehicles.history.cell_history_columns), computed here
                # without the framework: per-cell voltages and temperatures in cell order, the median voltage
                voltages := [cell["voltage"] for cell in data["cells"]],
                [cell["temperature"] for cell in data["cells"]],
                statistics.median(voltages),
            )
        )
    return rows


def insert_single_psycopg2(conn2: Any, rows: Sequence[Row]) -> float:
    """psycopg2 (the driver Django uses here), autocommit: one INSERT and one commit per row; seconds taken."""
    started = time.perf_counter()
    with conn2.cursor() as cur:
        for row in rows:
            cur.execute(INSERT_ONE, (str(row[0]), *row[1:]))
    return time.perf_counter() - started


def copy_rows(conn: Any, rows: Sequence[Row], batch: int = 1000) -> float:
    """psycopg 3 COPY FROM STDIN (text format), one transaction per `batch` rows; seconds taken."""
    started = time.perf_counter()
    for start in range(0, len(rows), batch):
        with conn.transaction(), conn.cursor() as cur, cur.copy(COPY_SQL) as copy:
            for row in rows[start : start + batch]:
                now = datetime.now(UTC)
                copy.write_row((*row, now, "pending", 0, "", now))
    return time.perf_counter() - started


# --------------------------------------------------------------------------------------------------------
# The raw batch report loop: the worker's limit
# --------------------------------------------------------------------------------------------------------
def raw_batch_reports(conn: Any, log_ids: Sequence[uuid.UUID], batch: int = 100) -> float:
    """Reports of `log_ids`, `batch` per transaction: SELECT … WHERE id = ANY, evaluate, one multi-row
    INSERT of the reports and one UPDATE of the statuses. Seconds taken. (psycopg 3, orjson.)"""
    from reports.health import BatterySnapshot, evaluate

    started = time.perf_counter()
    for start in range(0, len(log_ids), batch):
        chunk = list(log_ids[start : start + batch])
        with conn.transaction():
            fetched = conn.execute(
                "SELECT id, cells, cycle_count, nominal_capacity_kwh, current_capacity_kwh "
                "FROM diagnostics_diagnosticlog WHERE id = ANY(%s)",
                [chunk],
            ).fetchall()
            ids, soh, anomalies, details, diagnostics = [], [], [], [], []
            for log_id, cells, cycle_count, nominal, current in fetched:
                report = evaluate(
                    BatterySnapshot.from_mapping(
                        {
                            "cells": cells,
                            "cycle_count": cycle_count,
                            "nominal_capacity_kwh": nominal,
                            "current_capacity_kwh": current,
                        }
                    )
                ).as_dict()
                ids.append(log_id)
                soh.append(report["battery_soh"])
                anomalies.append(orjson.dumps(report["anomalies"]).decode())
                details.append(orjson.dumps(report["anomaly_details"]).decode())
                diagnostics.append(orjson.dumps(report["diagnostics"]).decode())
            conn.execute(
                "INSERT INTO reports_batteryreport (log_id, battery_soh, anomalies, anomaly_details, diagnostics, "
                "generated_at) SELECT r.i, r.s, r.a, r.d, r.g, now() FROM unnest(%s::uuid[], %s::float8[], "
                "%s::jsonb[], %s::jsonb[], %s::jsonb[]) AS r(i, s, a, d, g) ON CONFLICT (log_id) DO NOTHING",
                [ids, soh, anomalies, details, diagnostics],
            )
            conn.execute(
                "UPDATE diagnostics_diagnosticlog SET status = 'completed', error = '', status_changed_at = now() "
                "WHERE id = ANY(%s)",
                [ids],
            )
    return time.perf_counter() - started


def use_orjson_for_json(conn: Any) -> None:
    """Make a psycopg 3 connection parse json/jsonb with orjson (the raw loop's only JSON trick)."""
    from psycopg.types.json import set_json_loads

    set_json_loads(orjson.loads, conn)
