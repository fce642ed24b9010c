"""The batched report path: many logs per task, three statements per batch, still exactly one report each."""

import threading
import uuid
from datetime import timedelta
from unittest.mock import patch

import pytest
from django.db import connection
from django.utils import timezone

from diagnostics.models import DiagnosticLog, ProcessingStatus
from reports.health import BatterySnapshot, evaluate
from reports.models import BatteryReport
from reports.services import BATCH_FILL, battery_reports_generate, stale_logs_requeue
from reports.tasks import MAX_ATTEMPTS, generate_battery_reports
from simulator.generator import mock_log


@pytest.fixture
def pending_logs(fleet, ingest, monkeypatch):  # type: ignore[no-untyped-def]
    """Committed logs whose report task was never published (as after a broker outage)."""
    monkeypatch.setattr("diagnostics.services.enqueue_reports", lambda log_ids: False)

    def _make(count: int) -> list[uuid.UUID]:
        return [ingest(fleet, mock_log(seed=seed, vehicle_id=f"EV-B{seed}")).log_id for seed in range(count)]

    return _make


def _other_connection():  # type: ignore[no-untyped-def]
    """A second session on the test database (another worker), wherever Django connects (embedded too)."""
    import psycopg2

    params = {key: value for key, value in connection.get_connection_params().items() if value is not None}
    params.pop("cursor_factory", None)
    return psycopg2.connect(**params)


def _batches_at_once(batches: list[list[uuid.UUID]], fill_to: int = 0) -> list[BaseException]:
    """Run one battery_reports_generate per batch, each in a thread of its own (own connection), all at
    once; the exceptions they raised."""
    errors: list[BaseException] = []

    def run(log_ids: list[uuid.UUID]) -> None:
        try:
            battery_reports_generate(log_ids=log_ids, max_attempts=MAX_ATTEMPTS, fill_to=fill_to)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(batch,)) for batch in batches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return errors


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
    # the claim, then read under lock + insert + status update in one transaction (plus its savepoint)
    with django_assert_max_num_queries(6):
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
    errors = _batches_at_once([list(reversed(ids))] * 5)
    assert errors == []
    assert BatteryReport.objects.count() == 30
    assert set(DiagnosticLog.objects.values_list("status", flat=True)) == {ProcessingStatus.COMPLETED}


def test_a_task_tops_its_batch_up_with_the_oldest_pending_logs(pending_logs):
    ids = pending_logs(12)
    start = timezone.now() - timedelta(minutes=1)  # one test transaction: now() alone would tie them all
    for age, log_id in enumerate(ids):
        DiagnosticLog.objects.filter(pk=log_id).update(status_changed_at=start + timedelta(seconds=age))
    outcome = battery_reports_generate(log_ids=[ids[-1]], max_attempts=MAX_ATTEMPTS, fill_to=5)
    # its own log, and the four logs pending longest
    assert sorted(outcome.completed) == sorted([ids[-1], *ids[:4]])
    assert BatteryReport.objects.count() == 5
    # the tasks published for the logs it took find them done: no second computation, no attempt counted
    again = battery_reports_generate(log_ids=ids[:4], max_attempts=MAX_ATTEMPTS)
    assert (again.completed, again.skipped) == ((), 4)
    assert set(DiagnosticLog.objects.filter(pk__in=outcome.completed).values_list("attempts", flat=True)) == {1}
    # a task that carries no id at all (or a spent one) still works the backlog off, a batch at a time
    rest = battery_reports_generate(log_ids=[], max_attempts=MAX_ATTEMPTS, fill_to=BATCH_FILL)
    assert sorted(rest.completed) == sorted(ids[4:11])
    assert BatteryReport.objects.count() == 12


def test_a_task_never_takes_more_than_its_own_ids_beyond_the_fill(pending_logs):
    ids = pending_logs(6)
    outcome = battery_reports_generate(log_ids=ids[:4], max_attempts=MAX_ATTEMPTS, fill_to=2)
    assert sorted(outcome.completed) == sorted(ids[:4])
    assert DiagnosticLog.objects.filter(status=ProcessingStatus.PENDING).count() == 2


@pytest.mark.django_db(transaction=True)
def test_a_log_another_worker_is_computing_is_skipped_not_computed_twice(pending_logs):
    """A worker holds its claimed logs' row locks while computing; a task for the same log meanwhile
    (a redelivery, the log's own task after another took it) leaves it to that worker."""
    ids = pending_logs(2)
    DiagnosticLog.objects.filter(pk=ids[0]).update(status=ProcessingStatus.PROCESSING, attempts=1)
    other = _other_connection()
    try:
        with other.cursor() as cursor:  # the other worker, inside its compute transaction
            cursor.execute("SELECT id FROM diagnostics_diagnosticlog WHERE id = %s FOR UPDATE", [str(ids[0])])
            outcome = battery_reports_generate(log_ids=ids, max_attempts=MAX_ATTEMPTS, fill_to=BATCH_FILL)
    finally:
        other.rollback()
        other.close()
    assert outcome.completed == (ids[1],)
    assert outcome.skipped == 1
    held = DiagnosticLog.objects.get(pk=ids[0])
    assert (held.status, held.attempts) == (ProcessingStatus.PROCESSING, 1)
    assert not BatteryReport.objects.filter(pk=ids[0]).exists()
    # That worker is gone (its transaction rolled back): a redelivery still leaves the log alone (it is
    # `processing`: only the sweeper may judge it abandoned), the sweeper puts it back to pending, and
    # the task it enqueues computes it: a second attempt, counted as such.
    assert battery_reports_generate(log_ids=[ids[0]], max_attempts=MAX_ATTEMPTS).completed == ()
    DiagnosticLog.objects.filter(pk=ids[0]).update(status_changed_at=timezone.now() - timedelta(minutes=5))
    with patch("reports.services.report_queue_depth", return_value=0):
        assert stale_logs_requeue(older_than_s=60) == [ids[0]]
    assert DiagnosticLog.objects.get(pk=ids[0]).status == ProcessingStatus.PENDING
    again = battery_reports_generate(log_ids=[ids[0]], max_attempts=MAX_ATTEMPTS)
    assert again.completed == (ids[0],)
    assert DiagnosticLog.objects.get(pk=ids[0]).attempts == 2


@pytest.mark.django_db(transaction=True)
def test_concurrent_topped_up_batches_compute_each_log_once(pending_logs, monkeypatch):
    ids = pending_logs(60)
    computed: list[str] = []
    lock = threading.Lock()
    from reports import services

    real_evaluate = services.evaluate

    def counting_evaluate(snapshot):  # type: ignore[no-untyped-def]
        with lock:
            computed.append(snapshot)
        return real_evaluate(snapshot)

    monkeypatch.setattr(services, "evaluate", counting_evaluate)
    errors = _batches_at_once([ids[start : start + 6] for start in range(0, 60, 6)], fill_to=20)
    assert errors == []
    assert BatteryReport.objects.count() == 60
    assert len(computed) == 60
    assert set(DiagnosticLog.objects.values_list("status", flat=True)) == {ProcessingStatus.COMPLETED}


@pytest.mark.django_db(transaction=True)
def test_a_claimed_log_locked_for_a_moment_is_waited_for_not_left_processing(pending_logs, monkeypatch):
    """Between its claim and its compute transaction, a worker's log can be locked for an instant by
    another task's claim statement passing over the row. The worker waits for the lock instead of
    skipping the log: a skip would leave it `processing` with no one on it until the sweeper."""
    from reports import services

    ids = pending_logs(3)
    other = _other_connection()
    real_atomic = services.transaction.atomic
    release = threading.Timer(0.3, other.rollback)

    class LockedForAMoment:
        @staticmethod
        def atomic(*args, **kwargs):  # type: ignore[no-untyped-def]
            with other.cursor() as cursor:  # after the claim, before the compute transaction
                cursor.execute("SELECT id FROM diagnostics_diagnosticlog WHERE id = %s FOR UPDATE", [str(ids[1])])
            release.start()
            return real_atomic(*args, **kwargs)

    monkeypatch.setattr(services, "transaction", LockedForAMoment)
    try:
        outcome = battery_reports_generate(log_ids=ids, max_attempts=MAX_ATTEMPTS)
    finally:
        release.join(5)
        other.close()
    assert sorted(outcome.completed) == sorted(ids)
    assert set(DiagnosticLog.objects.values_list("status", flat=True)) == {ProcessingStatus.COMPLETED}
