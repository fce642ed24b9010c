"""The report task that production runs, generate_battery_reports, on PostgreSQL (Celery eager): exactly one
report, retries of transient database errors, the attempts limit, terminal failures, its options."""

import json
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import InterfaceError, OperationalError, connection

from diagnostics.validation import log_validate
from reports import services, tasks
from reports.health import BatterySnapshot, evaluate
from reports.health import report as report_step
from reports.models import BatteryReport
from reports.tasks import MAX_RETRIES, generate_battery_reports, retry_countdown
from tests.conftest import load_cases
from vehicles.models import DiagnosticLog, ProcessingStatus, Vehicle

HOT_IMBALANCED_WORN = {
    "cells": [
        {"id": 0, "voltage": 4.15, "temperature": 45.0},
        {"id": 1, "voltage": 4.10, "temperature": 47.5},
        {"id": 2, "voltage": 4.201, "temperature": 46.25},
    ],
    "cycle_count": 1500,
    "nominal_capacity_kwh": 40.2,
    "current_capacity_kwh": 30.0,
}


@pytest.fixture(autouse=True)
def eager_celery():
    """Run tasks in-process, as Celery's apply() does, whatever CELERY_BROKER_URL says."""
    from config.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield app
    app.conf.task_always_eager = previous


@pytest.fixture
def pending_log(fleet, ingest, make_log, monkeypatch):
    """A stored log whose report task has not run (the test runs it)."""
    monkeypatch.setattr("reports.dispatch.reports_enqueue", lambda log_ids: True)

    def _pending(**overrides: Any) -> DiagnosticLog:
        result = ingest(fleet, make_log(**overrides))
        return DiagnosticLog.objects.get(pk=result.log_id)

    return _pending


def _expected(log: DiagnosticLog) -> dict[str, Any]:
    return evaluate(
        BatterySnapshot.from_mapping(
            {
                "cells": log.cells,
                "cycle_count": log.cycle_count,
                "nominal_capacity_kwh": log.nominal_capacity_kwh,
                "current_capacity_kwh": log.current_capacity_kwh,
            }
        )
    ).as_dict()


def _report_values(log_id: uuid.UUID) -> list[dict[str, Any]]:
    return list(
        BatteryReport.objects.filter(log_id=log_id).values("battery_soh", "anomalies", "anomaly_details", "diagnostics")
    )


def _state(log_id: uuid.UUID) -> tuple[str, int, str, int | None]:
    return DiagnosticLog.objects.values_list("status", "attempts", "error", "claim_key").get(pk=log_id)


def _run(*ids: Any):  # type: ignore[no-untyped-def]
    return generate_battery_reports.delay([str(log_id) if isinstance(log_id, uuid.UUID) else log_id for log_id in ids])


class ComputeSpy:
    """Stands in for step 2 of a batch (reports.services._compute), after the real claim committed: counts
    calls, raises queued errors, then calls through."""

    def __init__(self, real: Callable[..., Any]) -> None:
        self.real = real
        self.count = 0
        self.fail_with: list[BaseException] = []

    def __call__(self, **kwargs: Any) -> Any:
        self.count += 1
        if self.fail_with:
            raise self.fail_with.pop(0)
        return self.real(**kwargs)


@pytest.fixture
def calls_to_compute(monkeypatch) -> ComputeSpy:
    spy = ComputeSpy(services._compute)
    monkeypatch.setattr(services, "_compute", spy)
    return spy


# --------------------------------------------------------------------------- one report per log


@pytest.mark.django_db
def test_task_creates_exactly_one_report_with_the_rules_values(pending_log):
    log = pending_log(**HOT_IMBALANCED_WORN)
    before = datetime.now(UTC)

    result = _run(log.id)

    assert result.status == "SUCCESS"
    assert _report_values(log.id) == [_expected(log)]
    report = BatteryReport.objects.get(log_id=log.id)
    assert report.anomalies == ["Voltage imbalance detected", "Overheating detected", "Low state of health detected"]
    assert report.battery_soh == 74.63
    assert report.generated_at.utcoffset().total_seconds() == 0
    assert before - timedelta(seconds=5) <= report.generated_at <= datetime.now(UTC) + timedelta(seconds=5)
    assert _state(log.id) == (ProcessingStatus.COMPLETED, 1, "", None)


@pytest.mark.parametrize("case", load_cases(), ids=lambda case: case["name"])
@pytest.mark.django_db
def test_task_report_matches_the_shared_sample_reports(pending_log, fleet, ingest, case):
    log_id = ingest(fleet, case["log"]).log_id

    _run(log_id)

    log = DiagnosticLog.objects.get(pk=log_id)
    report = BatteryReport.objects.get(log_id=log_id)
    assert _report_values(log_id) == [_expected(log)]
    assert report.battery_soh == case["expected"]["battery_soh"]
    assert report.anomalies == case["expected"]["anomalies"]
    assert report.diagnostics == case["expected"]["diagnostics"]
    assert (
        log_validate(json.dumps(case["log"]).encode())["cycle_count"]
        == log.cycle_count
        == case["expected"]["cycle_count"]
    )


@pytest.mark.django_db
def test_running_five_times_leaves_one_unchanged_report_and_one_counted_attempt(pending_log):
    log = pending_log()
    _run(log.id)
    first = BatteryReport.objects.values("battery_soh", "generated_at").get(log_id=log.id)

    results = [_run(log.id) for _ in range(4)]

    assert [result.status for result in results] == ["SUCCESS"] * 4
    assert BatteryReport.objects.count() == 1
    assert BatteryReport.objects.values("battery_soh", "generated_at").get(log_id=log.id) == first
    # Attempts count the claims; runs after completion claim nothing.
    assert _state(log.id) == (ProcessingStatus.COMPLETED, 1, "", None)


@pytest.mark.django_db(transaction=True)
def test_five_concurrent_runs_leave_exactly_one_report_and_one_attempt(pending_log):
    log = pending_log(**HOT_IMBALANCED_WORN)
    barrier = threading.Barrier(5)
    statuses: list[str] = []

    def run() -> None:
        try:
            barrier.wait(timeout=30)
            statuses.append(_run(log.id).status)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert statuses == ["SUCCESS"] * 5
    assert _report_values(log.id) == [_expected(log)]
    assert BatteryReport.objects.count() == 1
    # A live claim is never taken by another run: the log is claimed once.
    assert _state(log.id) == (ProcessingStatus.COMPLETED, 1, "", None)


# --------------------------------------------------------------------------- ids that lead nowhere


@pytest.mark.django_db
def test_unknown_log_id_claims_nothing_but_the_backlog(pending_log):
    log = pending_log()

    result = _run(uuid.uuid4())

    # The task tops its batch up with pending logs: the stored one gets its report.
    assert (result.status, result.result) == ("SUCCESS", None)
    assert list(DiagnosticLog.objects.values_list("id", flat=True)) == [log.id]
    assert _state(log.id) == (ProcessingStatus.COMPLETED, 1, "", None)


@pytest.mark.parametrize("bad", ["not-a-uuid", "", "123", "1234567890abcdef1234567890abcdeg", None, 42, ["x"]])
@pytest.mark.django_db
def test_malformed_log_ids_are_dropped(fleet, bad):
    result = _run(bad)

    assert (result.status, result.result) == ("SUCCESS", None)
    assert generate_battery_reports(bad) is None  # a bare value instead of a list, called in-process
    assert BatteryReport.objects.count() == 0


# --------------------------------------------------------------------------- transient errors: retries


@pytest.mark.parametrize("error", [OperationalError, InterfaceError])
@pytest.mark.django_db
def test_transient_database_error_is_retried_and_ends_with_one_report(pending_log, calls_to_compute, error):
    log = pending_log()
    calls_to_compute.fail_with = [error("server closed the connection unexpectedly"), error("connection refused")]

    result = _run(log.id)

    assert result.status == "SUCCESS"
    assert calls_to_compute.count == 3
    assert _report_values(log.id) == [_expected(log)]
    # Each run claimed the log again (its claim lock was released on the error): three attempts.
    assert _state(log.id) == (ProcessingStatus.COMPLETED, 3, "", None)


@pytest.mark.django_db
def test_a_transient_error_leaves_the_claim_abandoned_so_the_retry_takes_the_log_again(pending_log, calls_to_compute):
    log = pending_log()
    calls_to_compute.fail_with = [OperationalError("down")]
    seen: list[tuple[str, int, str, int | None]] = []
    real = calls_to_compute.real

    def look_then_compute(**kwargs: Any) -> Any:
        seen.append(_state(log.id))
        return real(**kwargs)

    calls_to_compute.real = look_then_compute

    _run(log.id)

    status, attempts, _, key = seen[0]  # the retry, after the failed first run
    assert (status, attempts) == (ProcessingStatus.PROCESSING, 2)
    assert key is not None
    assert _state(log.id) == (ProcessingStatus.COMPLETED, 2, "", None)


@pytest.mark.django_db
def test_transient_errors_are_retried_at_most_max_retries_times_then_left_for_the_sweeper(
    pending_log, calls_to_compute
):
    log = pending_log()
    calls_to_compute.fail_with = [OperationalError(f"down {n}") for n in range(MAX_RETRIES + 5)]

    _run(log.id)

    assert calls_to_compute.count == MAX_RETRIES + 1
    assert BatteryReport.objects.count() == 0
    # Not a verdict on the data: the log stays claimed with no reason recorded, its claim abandoned.
    status, attempts, error, _ = _state(log.id)
    assert (status, attempts, error) == (ProcessingStatus.PROCESSING, MAX_RETRIES + 1, "")
    assert services.claims_abandoned_release() == [log.id]


def test_every_retry_countdown_is_below_the_visibility_timeout(eager_celery):
    visibility_timeout = eager_celery.conf.broker_transport_options["visibility_timeout"]

    for retries in range(MAX_RETRIES + 1):
        base = min(2**retries, tasks.RETRY_BACKOFF_MAX_S)
        for _ in range(200):  # the countdown has jitter
            countdown = retry_countdown(retries)
            assert base / 2 <= countdown <= base
            assert countdown < visibility_timeout


# --------------------------------------------------------------------------- terminal failures


@pytest.mark.django_db
def test_a_log_that_used_every_attempt_is_marked_failed_without_running_the_rules(pending_log, monkeypatch):
    log = pending_log()
    DiagnosticLog.objects.filter(pk=log.id).update(attempts=tasks.MAX_ATTEMPTS)
    evaluated: list[Any] = []
    monkeypatch.setattr(report_step, "evaluate", lambda snapshot, profile: evaluated.append(snapshot))

    result = _run(log.id)

    assert result.status == "SUCCESS"
    assert evaluated == []
    assert BatteryReport.objects.count() == 0
    assert _state(log.id) == (
        ProcessingStatus.FAILED,
        tasks.MAX_ATTEMPTS + 1,
        f"Gave up after {tasks.MAX_ATTEMPTS} attempts.",
        None,
    )


@pytest.mark.django_db
def test_a_log_the_rules_cannot_process_fails_with_the_rules_reason_and_is_not_retried(fleet):
    vehicle = Vehicle.objects.create(vehicle_id="EV-BROKEN", fleet=fleet)
    log = DiagnosticLog.objects.create(
        vehicle=vehicle,
        timestamp=datetime(2025, 1, 1, tzinfo=UTC),
        cells=[],
        cell_voltages=[],
        cell_temperatures=[],
        voltage_median=0.0,  # a row no ingest could write: an empty pack
        cycle_count=1,
        nominal_capacity_kwh=60.0,
        current_capacity_kwh=50.0,
    )

    result = _run(log.id)
    again = _run(log.id)  # a redelivery: the failed log is terminal

    assert (result.status, again.status) == ("SUCCESS", "SUCCESS")
    assert BatteryReport.objects.count() == 0
    assert _state(log.id) == (
        ProcessingStatus.FAILED,
        1,
        "a battery snapshot needs at least one cell; got an empty cell list",
        None,
    )


@pytest.mark.django_db
def test_a_bug_in_the_rules_fails_the_log_as_an_internal_error_logged_with_its_cause(pending_log, monkeypatch, caplog):
    broken = pending_log(vehicle_id="EV-BUG", cycle_count=777)
    sound = pending_log(vehicle_id="EV-SOUND", cycle_count=100)

    def evaluate_with_a_bug(snapshot, profile):  # type: ignore[no-untyped-def]
        if snapshot.cycle_count == 777:  # the bug hits one log of the batch only
            raise ZeroDivisionError("float division by zero")
        return evaluate(snapshot, profile)

    monkeypatch.setattr(report_step, "evaluate", evaluate_with_a_bug)
    with caplog.at_level("ERROR", logger="reports.services"):
        result = _run(broken.id, sound.id)

    assert result.status == "SUCCESS"
    assert _state(broken.id) == (
        ProcessingStatus.FAILED,
        1,
        "Internal error in the report rules (ZeroDivisionError); see the worker's log.",
        None,
    )
    assert BatteryReport.objects.filter(log_id=broken.id).count() == 0
    # Its neighbour got its report as if nothing happened.
    assert _report_values(sound.id) == [_expected(sound)]
    assert _state(sound.id) == (ProcessingStatus.COMPLETED, 1, "", None)
    # The cause is in the worker's log, with its traceback.
    [record] = [r for r in caplog.records if r.name == "reports.services"]
    assert record.getMessage() == f"the report rules failed on log {broken.id}"
    assert record.exc_info is not None
    assert record.exc_info[0] is ZeroDivisionError


@pytest.mark.django_db
def test_a_redelivery_does_not_undo_a_completed_report(pending_log, monkeypatch):
    log = pending_log()
    _run(log.id)
    monkeypatch.setattr(
        report_step, "evaluate", lambda snapshot, profile: (_ for _ in ()).throw(ValueError("late redelivery"))
    )

    _run(log.id)

    assert _report_values(log.id) == [_expected(log)]
    assert _state(log.id) == (ProcessingStatus.COMPLETED, 1, "", None)


# --------------------------------------------------------------------------- configuration


def test_task_options():
    from config.celery import app

    for task in (generate_battery_reports, app.tasks["reports.generate_battery_reports"]):
        assert (task.name, task.acks_late, task.max_retries) == ("reports.generate_battery_reports", True, MAX_RETRIES)
    assert "reports.generate_battery_report" not in app.tasks  # the single-log task is gone


def test_celery_app_configuration(eager_celery):
    conf = eager_celery.conf

    assert conf.task_serializer == "json"
    assert conf.result_serializer == "json"
    assert conf.accept_content == ["json"]
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    assert conf.task_time_limit < conf.broker_transport_options["visibility_timeout"]
