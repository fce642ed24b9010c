"""One cell's history (API §6) on PostgreSQL: the stored per-log arrays and median, and the selector."""

import importlib
import io
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection

from common.timestamps import format_timestamp
from diagnostics import services
from diagnostics.validation import log_validate
from reports.models import BatteryReport
from vehicles.history import history_position, vehicle_cell_history
from vehicles.models import DiagnosticLog, ProcessingStatus

T0 = datetime(2025, 10, 4, 10, 0, tzinfo=UTC)
# Values whose text a careless path would change: shortest reprs at the edge of a double, a sum that is
# not its decimal, the range's ends, a tiny number.
EDGE_CELLS = [
    {"id": 3, "voltage": 0.30000000000000004, "temperature": 124.99999999999999},
    {"id": 0, "voltage": 4.0500000000000001, "temperature": -40},
    {"id": 2, "voltage": 1e-300, "temperature": 0.1},
    {"id": 1, "voltage": 3.9999999999999996, "temperature": 36.123456789012345},
    {"id": 4, "voltage": 5, "temperature": -0.0},
]
EDGE_VOLTAGES = [4.05, 3.9999999999999996, 1e-300, 0.30000000000000004, 5.0]
EDGE_TEMPERATURES = [-40.0, 36.123456789012345, 0.1, 124.99999999999999, -0.0]
EDGE_MEDIAN = 3.9999999999999996


def _log(vehicle_id: str, at: datetime, cells: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "vehicle_id": vehicle_id,
        "timestamp": at.isoformat(),
        "cells": cells,
        "cycle_count": 412,
        "nominal_capacity_kwh": 60.0,
        "current_capacity_kwh": 54.9,
    }


def _pack(*voltages: float, temperature: float = 30.0) -> list[dict[str, Any]]:
    return [{"id": i, "voltage": v, "temperature": temperature + i} for i, v in enumerate(voltages)]


def _history(fleet: Any, vehicle_id: str = "EV-1", cell_id: int = 1, **kwargs: Any) -> Any:
    arguments: dict[str, Any] = {"since": None, "until": None, "limit": 100, "after": None}
    arguments.update(kwargs)
    rows = vehicle_cell_history(fleet_id=fleet.id, vehicle_id=vehicle_id, cell_id=cell_id, **arguments)
    if rows is None:
        return None
    # The selector hands the id and the time over as the API's text; compared here as the values they name.
    for row in rows:
        assert row["timestamp"] == format_timestamp(datetime.fromisoformat(row["timestamp"]))
        row["timestamp"], row["log_id"] = history_position(row)
    return rows


def _columns(log_id: Any) -> tuple[list[float], list[float], float]:
    return DiagnosticLog.objects.values_list("cell_voltages", "cell_temperatures", "voltage_median").get(pk=log_id)


# --- the write paths store the arrays exactly ---------------------------------------------------------------


def test_single_ingest_stores_the_cells_exactly(fleet, ingest):
    result = ingest(fleet, _log("EV-1", T0, EDGE_CELLS))  # a new vehicle: the full path
    assert _columns(result.log_id) == (EDGE_VOLTAGES, EDGE_TEMPERATURES, EDGE_MEDIAN)
    again = ingest(fleet, _log("EV-1", T0 + timedelta(hours=1), EDGE_CELLS))  # a known vehicle: one statement
    assert _columns(again.log_id) == (EDGE_VOLTAGES, EDGE_TEMPERATURES, EDGE_MEDIAN)


def _bulk(fleet: Any, logs: list[dict[str, Any]]) -> dict[int, Any]:
    items = {index: log_validate(json.dumps(log).encode()) for index, log in enumerate(logs)}
    return services.diagnostic_logs_ingest_bulk(fleet_id=fleet.id, items=items)


def test_bulk_copy_stores_the_cells_exactly(fleet, monkeypatch):
    taken: list[bool] = []
    copy = services._copy_new_logs
    monkeypatch.setattr(services, "_copy_new_logs", lambda cursor, rows: taken.append(copy(cursor, rows)) or taken[-1])
    results = _bulk(fleet, [_log("EV-1", T0, EDGE_CELLS), _log("EV-2", T0, _pack(4.1, 4.0))])
    assert taken == [True]
    assert _columns(results[0].log_id) == (EDGE_VOLTAGES, EDGE_TEMPERATURES, EDGE_MEDIAN)
    assert _columns(results[1].log_id) == ([4.1, 4.0], [30.0, 31.0], (4.1 + 4.0) / 2)


def test_bulk_insert_fallback_stores_the_cells_exactly(fleet, ingest, monkeypatch):
    ingest(fleet, _log("EV-1", T0, _pack(4.0)))  # stored already: the COPY breaks the unique constraint
    inserted: list[int] = []
    insert = services._insert_new_logs
    monkeypatch.setattr(
        services, "_insert_new_logs", lambda cursor, rows: inserted.append(len(rows)) or insert(cursor, rows)
    )
    results = _bulk(
        fleet,
        [_log("EV-1", T0, _pack(4.0)), _log("EV-1", T0 + timedelta(hours=1), EDGE_CELLS), _log("EV-3", T0, _pack(3.9))],
    )
    assert inserted == [3]
    assert [results[i].status for i in range(3)] == ["duplicate", "created", "created"]
    assert _columns(results[1].log_id) == (EDGE_VOLTAGES, EDGE_TEMPERATURES, EDGE_MEDIAN)
    assert _columns(results[2].log_id) == ([3.9], [30.0], 3.9)


def test_the_migration_backfills_what_ingest_writes(fleet, ingest):
    ids = [
        ingest(fleet, _log("EV-1", T0 + timedelta(hours=k), cells)).log_id
        for k, cells in enumerate([EDGE_CELLS, _pack(4.2, 4.0, 4.1, 3.95), _pack(4.0)])
    ]
    written = [_columns(log_id) for log_id in ids]
    editor = type("SchemaEditor", (), {"connection": connection})()
    with connection.cursor() as cursor:  # as the table was before 0006 (DDL is rolled back with the test)
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the deferred foreign key checks run first
        cursor.execute(
            "ALTER TABLE diagnostics_diagnosticlog ALTER COLUMN cell_voltages DROP NOT NULL, "
            "ALTER COLUMN cell_temperatures DROP NOT NULL, ALTER COLUMN voltage_median DROP NOT NULL"
        )
    DiagnosticLog.objects.update(cell_voltages=None, cell_temperatures=None, voltage_median=None)
    importlib.import_module("vehicles.migrations.0005_cell_history_storage").backfill(None, editor)
    assert [_columns(log_id) for log_id in ids] == written
    # 0006 backfills what 0005 left (an interrupted run; a row with some of the columns only), before NOT NULL.
    DiagnosticLog.objects.filter(pk=ids[0]).update(cell_voltages=None, cell_temperatures=None, voltage_median=None)
    DiagnosticLog.objects.filter(pk=ids[1]).update(voltage_median=None)
    importlib.import_module("vehicles.migrations.0006_no_legacy_rows").backfill_missing(None, editor)
    assert [_columns(log_id) for log_id in ids] == written


# --- the selector ----------------------------------------------------------------------------------------------


def test_history_lists_the_cell_as_posted_oldest_first(fleet, ingest):
    # Posted out of order; the pack's median is the middle voltage (odd count) or the mean of the two middle ones.
    later = ingest(fleet, _log("EV-1", T0 + timedelta(hours=1), list(reversed(_pack(3.9, 4.1, 4.0))))).log_id
    earlier = ingest(fleet, _log("EV-1", T0, _pack(4.05, 4.03, 4.04, 4.06, temperature=35.2))).log_id
    assert _history(fleet) == [
        {"log_id": earlier, "timestamp": T0, "voltage": 4.03, "temperature": 36.2, "voltage_deviation_mv": -15.0},
        {
            "log_id": later,
            "timestamp": T0 + timedelta(hours=1),
            "voltage": 4.1,
            "temperature": 31.0,
            "voltage_deviation_mv": 100.0,
        },
    ]


def test_history_deviation_is_rounded_to_three_decimals(fleet, ingest):
    ingest(fleet, _log("EV-1", T0, _pack(4.0001234, 4.0, 3.9)))
    assert _history(fleet, cell_id=0)[0]["voltage_deviation_mv"] == 0.123


def test_logs_without_the_cell_are_left_out(fleet, ingest):
    small = _pack(4.0, 4.1)
    big = _pack(4.0, 4.1, 4.2, 4.3)
    for k, cells in enumerate([big, small, big, small]):
        ingest(fleet, _log("EV-1", T0 + timedelta(hours=k), cells))
    rows = _history(fleet, cell_id=3)
    assert [(row["timestamp"], row["voltage"]) for row in rows] == [(T0, 4.3), (T0 + timedelta(hours=2), 4.3)]
    assert len(_history(fleet, cell_id=1)) == 4
    assert _history(fleet, cell_id=4) == []
    assert _history(fleet, cell_id=-1) == []


def test_since_is_inclusive_and_until_exclusive(fleet, ingest):
    for k in range(5):
        ingest(fleet, _log("EV-1", T0 + timedelta(hours=k), _pack(4.0, 4.1)))
    rows = _history(fleet, since=T0 + timedelta(hours=1), until=T0 + timedelta(hours=3))
    assert [row["timestamp"] for row in rows] == [T0 + timedelta(hours=1), T0 + timedelta(hours=2)]
    assert _history(fleet, since=T0 + timedelta(hours=5)) == []
    assert len(_history(fleet, until=T0 + timedelta(microseconds=1))) == 1


def test_keyset_pages_are_stable_while_logs_arrive(fleet, ingest):
    for k in (0, 2, 4, 6):
        ingest(fleet, _log("EV-1", T0 + timedelta(hours=k), _pack(4.0, 4.1)))
    first = _history(fleet, limit=2)
    assert [row["timestamp"] for row in first] == [T0, T0 + timedelta(hours=2)]
    # A late log before the cursor and a new one after it arrive between the pages.
    ingest(fleet, _log("EV-1", T0 + timedelta(hours=1), _pack(4.0, 4.1)))
    ingest(fleet, _log("EV-1", T0 + timedelta(hours=8), _pack(4.0, 4.1)))
    after = (first[-1]["timestamp"], first[-1]["log_id"])
    second = _history(fleet, limit=2, after=after)
    assert [row["timestamp"] for row in second] == [T0 + timedelta(hours=4), T0 + timedelta(hours=6)]
    third = _history(fleet, limit=2, after=(second[-1]["timestamp"], second[-1]["log_id"]))
    assert [row["timestamp"] for row in third] == [T0 + timedelta(hours=8)]
    # The cursor combines with the window: since after the cursor wins, and until still bounds the page.
    assert _history(fleet, after=after, since=T0 + timedelta(hours=6)) == _history(fleet, since=T0 + timedelta(hours=6))
    assert [row["timestamp"] for row in _history(fleet, after=after, until=T0 + timedelta(hours=6))] == [
        T0 + timedelta(hours=4)
    ]


def test_another_fleets_or_an_unknown_vehicle_is_none(fleet, other_fleet, ingest):
    ingest(other_fleet, _log("EV-B", T0, _pack(4.0, 4.1)))
    ingest(fleet, _log("EV-A", T0, _pack(4.0, 4.1)))
    assert _history(fleet, vehicle_id="EV-B") is None
    assert _history(fleet, vehicle_id="EV-NOPE") is None
    assert len(_history(other_fleet, vehicle_id="EV-B")) == 1
    assert _history(fleet, vehicle_id="EV-A")[0]["voltage"] == 4.1


# --- the seeding command ---------------------------------------------------------------------------------------


def test_seed_stores_through_bulk_ingest_and_computes_the_reports(fleet):
    out = io.StringIO()
    arguments = ["--vehicles", "3", "--logs-per-vehicle", "4", "--seed", "5", "--fleet", fleet.name]
    arguments += ["--cells", "6-8", "--interval", "1h", "--start", "2025-01-01T00:00:00Z", "--chunk", "5"]
    call_command("seed_diagnostics", *arguments, "--no-progress", stdout=out)
    assert "Seeded fleet fleet-a: 12 logs in " in out.getvalue()
    assert "logs/s; created: 12); reports computed in-process" in out.getvalue()
    logs = list(DiagnosticLog.objects.filter(vehicle__fleet=fleet).order_by("vehicle__vehicle_id", "timestamp"))
    assert len(logs) == 12
    assert all(6 <= len(log.cells) <= 8 for log in logs)
    assert all(log.cell_voltages == [cell["voltage"] for cell in log.cells] for log in logs)
    assert [log.timestamp.replace(minute=0, second=0, microsecond=0) for log in logs[:4]] == [
        datetime(2025, 1, 1, hour, tzinfo=UTC) for hour in range(4)
    ]
    assert {log.status for log in logs} == {ProcessingStatus.COMPLETED}
    assert BatteryReport.objects.filter(log__in=logs).count() == 12
    # The same seed and start again: the same logs, every one a duplicate.
    out = io.StringIO()
    call_command("seed_diagnostics", *arguments, "--no-progress", stdout=out)
    assert "duplicate: 12)" in out.getvalue()
    assert DiagnosticLog.objects.count() == 12


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [("--interval", "1w", "--interval"), ("--cells", "9-3", "--cells"), ("--cells", "many", "--cells")],
)
def test_seed_rejects_bad_options(fleet, option, value, message):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match=message):
        call_command("seed_diagnostics", "--vehicles", "1", "--logs-per-vehicle", "1", "--seed", "1", option, value)


def test_log_ids_are_uuids(fleet, ingest):
    ingest(fleet, _log("EV-1", T0, _pack(4.0, 4.1)))
    assert isinstance(_history(fleet)[0]["log_id"], uuid.UUID)


def _late_flags(fleet) -> list[bool]:
    return [
        "late_upload" in report.data_quality["flags"]
        for report in BatteryReport.objects.filter(log__vehicle__fleet=fleet).order_by("log__timestamp")
    ]


def _seed_week_old_history(fleet, *extra: str) -> None:
    start = format_timestamp((datetime.now(UTC) - timedelta(days=10)).replace(microsecond=0))
    arguments = ["--vehicles", "2", "--logs-per-vehicle", "4", "--seed", "5", "--fleet", fleet.name]
    call_command("seed_diagnostics", *arguments, "--start", start, *extra, "--no-progress", stdout=io.StringIO())
    assert DiagnosticLog.objects.filter(vehicle__fleet=fleet).count() == 8


def test_a_backfill_is_received_now_and_its_week_old_logs_are_late(fleet):
    _seed_week_old_history(fleet)
    assert _late_flags(fleet) == [True] * 8


def test_as_live_logs_are_received_within_minutes_of_their_time_and_none_is_late(fleet):
    _seed_week_old_history(fleet, "--as-live")
    delays = [(log.received_at - log.timestamp).total_seconds() for log in DiagnosticLog.objects.all()]
    assert all(5 <= delay < 120 for delay in delays), delays
    assert len(set(delays)) > 1  # spread, not one fixed delay
    assert _late_flags(fleet) == [False] * 8


def test_the_demo_fleet_cries_no_wolf(db):
    call_command("bootstrap_demo", "--vehicles", "2", "--logs-per-vehicle", "10", stdout=io.StringIO())
    from fleets.models import Fleet

    demo = Fleet.objects.get(name="demo")
    flags = _late_flags(demo)
    assert len(flags) == 20
    assert not any(flags)
