"""The batched report path: many logs per task, three statements per batch, still exactly one report each."""

import threading
import uuid

import pytest
from django.db import connection

from diagnostics.models import DiagnosticLog, ProcessingStatus
from reports.health import BatterySnapshot, evaluate
from reports.models import BatteryReport
from reports.services import battery_reports_generate
from reports.tasks import MAX_ATTEMPTS, generate_battery_reports
from simulator.generator import mock_log


@pytest.fixture
def pending_logs(fleet, ingest, monkeypatch):  # type: ignore[no-untyped-def]
    """Committed logs whose report task was never published (as after a broker outage)."""
    monkeypatch.setattr("diagnostics.services.enqueue_reports", lambda log_ids: False)

    def _make(count: int) -> list[uuid.UUID]:
        return [ingest(fleet, mock_log(seed=seed, vehicle_id=f"EV-B{seed}")).log_id for seed in range(count)]

    return _make


def _expected(log_id: uuid.UUID) -> dict:
    log = DiagnosticLog.objects.values("cells", "cycle_count", "nominal_capacity_kwh", "current_capacity_kwh").get(
        pk=log_id
    )
    return evaluate(BatterySnapshot.from_mapping(log)).as_dict()


def test_a_batch_stores_one_exact_report_per_log(pending_logs):
    ids = pending_logs(25)
    assert BatteryReport.objects.count() == 0
    outcome = battery_reports_generate(log_ids=ids, max_attempts=MAX_ATTEMPTS)
    assert sorted(outcome.completed) == sorted(ids)
    assert outcome.failed == {}
    assert BatteryReport.objects.count() == 25
    for log_id in ids:
        report = BatteryReport.objects.get(pk=log_id)
        expected = _expected(log_id)
        assert report.battery_soh == expected["battery_soh"]
        assert report.anomalies == expected["anomalies"]
        assert report.anomaly_details == expected["anomaly_details"]
        assert report.diagnostics == expected["diagnostics"]
    assert set(DiagnosticLog.objects.values_list("status", flat=True)) == {ProcessingStatus.COMPLETED}
    assert set(DiagnosticLog.objects.values_list("attempts", flat=True)) == {1}


def test_a_repeated_batch_is_a_cheap_no_op(pending_logs):
    ids = pending_logs(5)
    battery_reports_generate(log_ids=ids, max_attempts=MAX_ATTEMPTS)
    again = battery_reports_generate(log_ids=ids + ids, max_attempts=MAX_ATTEMPTS)
    assert again.completed == ()
    assert again.skipped == 5
    assert BatteryReport.objects.count() == 5
    assert set(DiagnosticLog.objects.values_list("attempts", flat=True)) == {1}


def test_statement_count_does_not_grow_with_the_batch(pending_logs, django_assert_max_num_queries):
    ids = pending_logs(40)
    # claim, then insert + status update inside one transaction (plus its savepoint bookkeeping)
    with django_assert_max_num_queries(5):
        battery_reports_generate(log_ids=ids, max_attempts=MAX_ATTEMPTS)
    assert BatteryReport.objects.count() == 40


def test_poison_and_bad_logs_fail_alone(pending_logs):
    ids = pending_logs(4)
    DiagnosticLog.objects.filter(pk=ids[0]).update(attempts=MAX_ATTEMPTS)
    with connection.cursor() as cursor:  # data the rules cannot take (the API would never store it)
        cursor.execute("UPDATE diagnostics_diagnosticlog SET cells = '[]'::jsonb WHERE id = %s", [ids[1]])
    outcome = battery_reports_generate(log_ids=ids, max_attempts=MAX_ATTEMPTS)
    assert sorted(outcome.completed) == sorted(ids[2:])
    assert set(outcome.failed) == {ids[0], ids[1]}
    first, second = (DiagnosticLog.objects.get(pk=log_id) for log_id in ids[:2])
    assert (first.status, first.error) == (ProcessingStatus.FAILED, f"Gave up after {MAX_ATTEMPTS} attempts.")
    assert second.status == ProcessingStatus.FAILED
    assert second.error.startswith("ValueError")
    assert BatteryReport.objects.filter(pk__in=ids[:2]).count() == 0
    assert BatteryReport.objects.filter(pk__in=ids[2:]).count() == 2


def test_unknown_and_malformed_ids_are_skipped(pending_logs):
    ids = pending_logs(2)
    generate_battery_reports.apply(args=[[str(ids[0]), "not-a-uuid", str(uuid.uuid4()), str(ids[1])]])
    assert BatteryReport.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_concurrent_batches_over_the_same_logs_leave_one_report_each(pending_logs):
    ids = pending_logs(30)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            battery_reports_generate(log_ids=list(reversed(ids)), max_attempts=MAX_ATTEMPTS)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert BatteryReport.objects.count() == 30
    assert set(DiagnosticLog.objects.values_list("status", flat=True)) == {ProcessingStatus.COMPLETED}
