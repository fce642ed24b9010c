"""What PostgreSQL itself enforces: unique keys, one report per log, JSONB cells and their index, UTC."""

import importlib
import json
import statistics
from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.db import IntegrityError, connection, transaction

from reports.models import BatteryReport
from vehicles.models import DiagnosticLog, ProcessingStatus, Vehicle

CELLS = [
    {"id": 0, "voltage": 4.05, "temperature": 35.2},
    {"id": 1, "voltage": 4.03, "temperature": 36.1},
]
AT = datetime(2025, 10, 4, 10, 30, tzinfo=UTC)
LOG_TABLE = DiagnosticLog._meta.db_table

pytestmark = pytest.mark.django_db


@pytest.fixture
def vehicle(fleet):
    return Vehicle.objects.create(vehicle_id="EV-12345", fleet=fleet)


def _log(vehicle, *, timestamp=AT, cells=CELLS, cycle_count=412):
    return DiagnosticLog.objects.create(
        vehicle=vehicle,
        timestamp=timestamp,
        cells=cells,
        cell_voltages=[cell["voltage"] for cell in cells],
        cell_temperatures=[cell["temperature"] for cell in cells],
        voltage_median=statistics.median(cell["voltage"] for cell in cells),
        cycle_count=cycle_count,
        nominal_capacity_kwh=60.0,
        current_capacity_kwh=54.9,
    )


def _report(log):
    return BatteryReport.objects.create(
        log=log, battery_soh=91.5, anomalies=[], anomaly_details=[], diagnostics={}, generated_at=AT
    )


def test_second_log_for_the_same_vehicle_and_timestamp_is_an_integrity_error(vehicle):
    first = _log(vehicle)

    with pytest.raises(IntegrityError), transaction.atomic():
        _log(vehicle, cycle_count=999)

    assert list(DiagnosticLog.objects.values_list("id", "cycle_count")) == [(first.id, 412)]


def test_the_same_instant_in_another_offset_is_the_same_key(vehicle):
    _log(vehicle)
    same_instant = datetime(2025, 10, 4, 12, 30, tzinfo=timezone(timedelta(hours=2)))

    with pytest.raises(IntegrityError), transaction.atomic():
        _log(vehicle, timestamp=same_instant)

    assert DiagnosticLog.objects.count() == 1


def test_same_timestamp_for_another_vehicle_and_another_timestamp_are_allowed(vehicle, fleet):
    other = Vehicle.objects.create(vehicle_id="EV-67890", fleet=fleet)

    _log(vehicle)
    _log(other)
    _log(vehicle, timestamp=AT + timedelta(microseconds=1))

    assert DiagnosticLog.objects.count() == 3


def test_one_report_per_log_the_log_is_the_primary_key(vehicle):
    log = _log(vehicle)
    _report(log)

    assert BatteryReport._meta.pk.name == "log"
    with pytest.raises(IntegrityError), transaction.atomic():
        BatteryReport.objects.create(
            log=log, battery_soh=10.0, anomalies=["x"], anomaly_details=[], diagnostics={}, generated_at=AT
        )

    assert list(BatteryReport.objects.values_list("log_id", "battery_soh")) == [(log.id, 91.5)]


def test_a_report_inserted_without_its_fleet_and_time_gets_them_from_its_log(vehicle):
    # The fleet's report list reads (fleet, log timestamp); the worker writes both, a trigger fills them for
    # any other insert (the ORM here, a script): a report never drops out of its fleet's list.
    log = _log(vehicle)
    report = _report(log)
    report.refresh_from_db()

    assert (report.fleet_id, report.log_timestamp) == (vehicle.fleet_id, AT)


def test_the_migration_backfills_older_reports_fleet_and_time(vehicle, monkeypatch):
    logs = [_log(vehicle, timestamp=AT + timedelta(hours=k)) for k in range(5)]
    for log in logs:
        _report(log)
    BatteryReport.objects.update(fleet=None, log_timestamp=None)  # as a report stored before migration 0004
    migration = importlib.import_module("reports.migrations.0004_report_fleet_time")
    monkeypatch.setattr(migration, "BATCH", 2)  # several batches, the last one short
    migration.backfill(None, type("SchemaEditor", (), {"connection": connection})())

    rows = sorted(BatteryReport.objects.values_list("fleet_id", "log_timestamp"), key=lambda row: row[1])
    assert rows == [(vehicle.fleet_id, AT + timedelta(hours=k)) for k in range(5)]


def test_report_rows_are_deleted_with_their_log(vehicle):
    log = _log(vehicle)
    _report(log)

    log.delete()

    assert BatteryReport.objects.count() == 0


def test_vehicle_id_is_unique(vehicle, other_fleet):
    with pytest.raises(IntegrityError), transaction.atomic():
        Vehicle.objects.create(vehicle_id="EV-12345", fleet=other_fleet)

    assert list(Vehicle.objects.values_list("vehicle_id", "fleet_id")) == [("EV-12345", vehicle.fleet_id)]


def test_new_log_defaults_are_pending_no_attempts_no_error(vehicle):
    log = _log(vehicle)

    stored = DiagnosticLog.objects.values("status", "attempts", "error").get(pk=log.pk)
    assert stored == {"status": ProcessingStatus.PENDING, "attempts": 0, "error": ""}


def test_cells_are_jsonb_and_containment_queries_work(vehicle):
    log = _log(vehicle)
    _log(vehicle, timestamp=AT + timedelta(minutes=1), cells=[{"id": 0, "voltage": 3.9, "temperature": 50.0}])

    assert list(DiagnosticLog.objects.filter(cells__contains=[{"id": 1}]).values_list("id", flat=True)) == [log.id]
    assert DiagnosticLog.objects.filter(cells__contains=[{"id": 0}]).count() == 2
    assert DiagnosticLog.objects.filter(cells__contains=[{"temperature": 50.0}]).count() == 1
    assert DiagnosticLog.objects.filter(cells__contains=[{"id": 7}]).count() == 0
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT pg_typeof(cells)::text, cells FROM {LOG_TABLE} WHERE id = %s", [log.id])
        column_type, raw_cells = cursor.fetchone()
    assert column_type == "jsonb"
    assert json.loads(raw_cells) == CELLS


def test_cells_column_type_is_jsonb_in_the_catalog():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT data_type FROM information_schema.columns WHERE table_name = %s AND column_name = 'cells'",
            [LOG_TABLE],
        )
        assert cursor.fetchall() == [("jsonb",)]


def _indexdefs() -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s", [LOG_TABLE])
        return dict(cursor.fetchall())


def test_gin_index_on_cells_exists():
    indexdefs = _indexdefs()

    assert indexdefs["diagnosticlog_cells_gin"] == (
        f"CREATE INDEX diagnosticlog_cells_gin ON public.{LOG_TABLE} USING gin (cells jsonb_path_ops)"
    )


def test_unique_index_on_vehicle_and_timestamp_exists():
    indexdefs = _indexdefs()

    assert indexdefs["diagnosticlog_vehicle_timestamp_uniq"] == (
        f"CREATE UNIQUE INDEX diagnosticlog_vehicle_timestamp_uniq ON public.{LOG_TABLE} "
        'USING btree (vehicle_id, "timestamp")'
    )


def test_containment_query_can_use_the_gin_index(vehicle):
    _log(vehicle)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN SELECT id FROM {LOG_TABLE} WHERE cells @> %s::jsonb", ['[{"id": 0}]'])
        plan = "\n".join(row[0] for row in cursor.fetchall())

    assert "diagnosticlog_cells_gin" in plan


def test_timestamps_are_stored_and_returned_in_utc(vehicle):
    local = datetime(2025, 10, 4, 12, 30, 0, 123456, tzinfo=timezone(timedelta(hours=2)))
    log = _log(vehicle, timestamp=local)

    stored = DiagnosticLog.objects.get(pk=log.pk).timestamp
    assert stored == datetime(2025, 10, 4, 10, 30, 0, 123456, tzinfo=UTC)
    assert stored.utcoffset() == timedelta(0)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT pg_typeof(timestamp)::text, to_char(timestamp AT TIME ZONE 'UTC', "
            "'YYYY-MM-DD\"T\"HH24:MI:SS.US') "
            f"FROM {LOG_TABLE} WHERE id = %s",
            [log.id],
        )
        assert cursor.fetchone() == ("timestamp with time zone", "2025-10-04T10:30:00.123456")


def test_received_at_is_set_by_the_database_in_utc(vehicle):
    log = _log(vehicle)

    received_at = DiagnosticLog.objects.values_list("received_at", flat=True).get(pk=log.pk)
    assert received_at.utcoffset() == timedelta(0)
    assert abs(datetime.now(UTC) - received_at) < timedelta(minutes=5)


def test_the_migration_puts_processing_logs_of_claims_without_a_key_back_to_pending(vehicle):
    """Claims of the revisions before claim keys: nothing holds them, so 0006 makes them pending again
    (no code path carries them any more)."""
    legacy, keyed = _log(vehicle), _log(vehicle, timestamp=AT + timedelta(minutes=1))
    DiagnosticLog.objects.filter(pk=legacy.pk).update(status=ProcessingStatus.PROCESSING, claim_key=None)
    DiagnosticLog.objects.filter(pk=keyed.pk).update(status=ProcessingStatus.PROCESSING, claim_key=7)
    migration = importlib.import_module("vehicles.migrations.0006_no_legacy_rows").Migration
    (release,) = [op for op in migration.operations if getattr(op, "sql", "").startswith("UPDATE")]
    with connection.cursor() as cursor:
        cursor.execute(release.sql)
    assert DiagnosticLog.objects.get(pk=legacy.pk).status == ProcessingStatus.PENDING
    assert DiagnosticLog.objects.get(pk=keyed.pk).status == ProcessingStatus.PROCESSING
