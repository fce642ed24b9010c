"""The batched report path: many logs per task, three statements per batch, still exactly one report each."""

import threading
import uuid
from datetime import timedelta
from unittest.mock import patch

import pytest
from django.db import connection
from django.utils import timezone

from reports.dispatch import abandoned_claims_requeue, stale_logs_requeue
from reports.health import BatterySnapshot, evaluate
from reports.models import BatteryReport
from reports.services import BATCH_FILL, battery_reports_generate, claims_abandoned_release
from reports.tasks import MAX_ATTEMPTS, generate_battery_reports
from simulator.generator import mock_log
from tests.support.waiting import wait_until
from vehicles.models import DiagnosticLog, ProcessingStatus


@pytest.fixture
def pending_logs(fleet, ingest, monkeypatch):  # type: ignore[no-untyped-def]
    """Committed logs whose report task was never published (as after a broker outage)."""
    monkeypatch.setattr("reports.dispatch.reports_enqueue", lambda log_ids: False)

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
        # The copy of the log's fleet and timestamp that the fleet's list reads, written by the batch itself.
        log = DiagnosticLog.objects.select_related("vehicle").get(pk=log_id)
        assert (report.fleet_id, report.log_timestamp) == (log.vehicle.fleet_id, log.timestamp)
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
    # the claim lock, the claim (in a savepoint here), then read under lock + insert + status update + the
    # vehicles' lock and summary update in one transaction (plus its savepoint), the alert evaluation in that
    # same transaction (at most 7: vehicles and watermarks, late logs, unresolved alerts, insert, update,
    # watermarks, outbox), and the lock's release
    with django_assert_max_num_queries(19):
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
    assert second.error == "a battery snapshot needs at least one cell; got an empty cell list"  # the rules' reason
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


def _claim_by_other_worker(log_id: uuid.UUID, key: int):  # type: ignore[no-untyped-def]
    """Another worker's session that claimed `log_id` under `key` and holds the claim lock (and keeps it
    until the session ends): what a live batch looks like to everyone else."""
    other = _other_connection()
    other.autocommit = True
    with other.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [key])
        cursor.execute(
            "UPDATE diagnostics_diagnosticlog SET status = 'processing', attempts = 1, claim_key = %s WHERE id = %s",
            [key, str(log_id)],
        )
    return other


def _dies(other) -> None:  # type: ignore[no-untyped-def]
    """The other worker's connection closes, as a killed process's does; return once PostgreSQL has ended its
    session (the backend exits a moment after the client goes: until then it still holds its locks)."""
    with other.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    other.close()

    def backend_gone() -> bool:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [pid])
            return cursor.fetchone()[0] == 0

    wait_until(backend_gone, 10, 0.01, f"the end of backend {pid} after its client closed")


@pytest.mark.django_db(transaction=True)
def test_a_log_a_live_worker_claimed_is_left_to_it_and_retaken_at_once_when_that_worker_dies(pending_logs):
    """A worker holds its claim lock for as long as its batch runs; a task for the same log meanwhile (a
    redelivery, the log's own task after another took it) and the sweeper leave the log to it. Once the
    worker's connection is gone (kill -9), the claim is abandoned and the next task takes it: a second
    attempt, counted as such, with no threshold to wait out."""
    ids = pending_logs(2)
    other = _claim_by_other_worker(ids[0], key=424242)
    try:
        outcome = battery_reports_generate(log_ids=ids, max_attempts=MAX_ATTEMPTS, fill_to=BATCH_FILL)
        assert (outcome.completed, outcome.skipped) == ((ids[1],), 1)
        assert claims_abandoned_release() == []
        with patch("reports.dispatch.report_queue_depth", return_value=0):
            assert stale_logs_requeue(older_than_s=0) == []
        held = DiagnosticLog.objects.get(pk=ids[0])
        assert (held.status, held.attempts, held.claim_key) == (ProcessingStatus.PROCESSING, 1, 424242)
        assert not BatteryReport.objects.filter(pk=ids[0]).exists()
    finally:
        _dies(other)  # the worker dies: PostgreSQL drops its session and its locks
    again = battery_reports_generate(log_ids=[ids[0]], max_attempts=MAX_ATTEMPTS)
    assert again.completed == (ids[0],)
    assert DiagnosticLog.objects.values_list("status", "attempts", "claim_key").get(pk=ids[0]) == (
        ProcessingStatus.COMPLETED,
        2,
        None,
    )


@pytest.mark.django_db(transaction=True)
def test_a_log_whose_worker_died_is_not_retaken_by_a_top_up_but_by_the_start_of_a_worker(pending_logs, monkeypatch):
    """Top-ups take pending logs only; the logs of a dead worker come back through the task a worker sends
    as it starts (or the task's own redelivery, or the sweeper), released to pending and enqueued."""
    enqueued: list[list[uuid.UUID]] = []
    monkeypatch.setattr("reports.dispatch.reports_enqueue", lambda log_ids: enqueued.append(list(log_ids)) or True)
    ids = pending_logs(3)
    enqueued.clear()  # the ingests' own publishes
    _dies(_claim_by_other_worker(ids[0], key=77))
    topped_up = battery_reports_generate(log_ids=[], max_attempts=MAX_ATTEMPTS, fill_to=BATCH_FILL)
    assert sorted(topped_up.completed) == sorted(ids[1:])
    assert DiagnosticLog.objects.get(pk=ids[0]).status == ProcessingStatus.PROCESSING

    assert abandoned_claims_requeue() == [ids[0]]

    assert enqueued == [[ids[0]]]
    assert DiagnosticLog.objects.values_list("status", "claim_key").get(pk=ids[0]) == (ProcessingStatus.PENDING, None)


@pytest.mark.django_db(transaction=True)
def test_concurrent_topped_up_batches_compute_each_log_once(pending_logs, monkeypatch):
    ids = pending_logs(60)
    computed: list[str] = []
    lock = threading.Lock()
    from reports.health import report as report_step  # the pure step the batch calls

    real_evaluate = report_step.evaluate

    def counting_evaluate(snapshot, *args):  # type: ignore[no-untyped-def]
        with lock:
            computed.append(snapshot)
        return real_evaluate(snapshot, *args)

    monkeypatch.setattr(report_step, "evaluate", counting_evaluate)
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
    real_compute = services._compute
    release = threading.Timer(0.3, other.rollback)

    def locked_for_a_moment(**kwargs):  # type: ignore[no-untyped-def]
        with other.cursor() as cursor:  # after the claim, before the compute transaction
            cursor.execute("SELECT id FROM diagnostics_diagnosticlog WHERE id = %s FOR UPDATE", [str(ids[1])])
        release.start()
        return real_compute(**kwargs)

    monkeypatch.setattr(services, "_compute", locked_for_a_moment)
    try:
        outcome = battery_reports_generate(log_ids=ids, max_attempts=MAX_ATTEMPTS)
    finally:
        release.join(5)
        other.close()
    assert sorted(outcome.completed) == sorted(ids)
    assert set(DiagnosticLog.objects.values_list("status", flat=True)) == {ProcessingStatus.COMPLETED}


@pytest.mark.django_db(transaction=True)
def test_a_starting_worker_releases_abandoned_claims_itself_keeping_their_time(pending_logs, monkeypatch):
    """worker_ready's handler, not a task queued behind the backlog: the dead worker's logs are pending again
    at once, with their claim's time, so the oldest-first top-up of the next task takes them first."""
    from reports.tasks import _requeue_abandoned_claims_at_start

    monkeypatch.setattr("reports.dispatch.reports_enqueue", lambda log_ids: True)
    ids = pending_logs(2)
    _dies(_claim_by_other_worker(ids[0], key=99))
    claimed_at = DiagnosticLog.objects.get(pk=ids[0]).status_changed_at

    _requeue_abandoned_claims_at_start()

    released = DiagnosticLog.objects.get(pk=ids[0])
    assert (released.status, released.claim_key, released.status_changed_at) == (
        ProcessingStatus.PENDING,
        None,
        claimed_at,
    )
    first = battery_reports_generate(log_ids=[], max_attempts=MAX_ATTEMPTS, fill_to=1)
    assert first.completed == (ids[0],)
