"""diagnostic_log_ingest on PostgreSQL: identity, idempotent retries, conflicts, tenancy, races, on_commit."""

import copy
import threading
from collections.abc import Callable
from typing import Any

import kombu.exceptions
import pytest
from django.db import connection, transaction

from common.exceptions import Conflict, ForbiddenError
from diagnostics.selectors import diagnostic_log_get
from reports.health import BatterySnapshot, evaluate
from reports.models import BatteryReport
from vehicles.models import DiagnosticLog, ProcessingStatus, Vehicle

SORTED_CELLS = [
    {"id": 0, "voltage": 4.05, "temperature": 35.2},
    {"id": 1, "voltage": 4.03, "temperature": 36.1},
    {"id": 2, "voltage": 4.04, "temperature": 35.0},
    {"id": 3, "voltage": 4.06, "temperature": 34.8},
]


def _stored() -> list[tuple[Any, ...]]:
    """Every log row, with the fields a retry or a conflict must not touch."""
    return list(
        DiagnosticLog.objects.order_by("vehicle__vehicle_id", "timestamp").values_list(
            "id",
            "vehicle__vehicle_id",
            "timestamp",
            "cells",
            "cycle_count",
            "nominal_capacity_kwh",
            "current_capacity_kwh",
            "status",
        )
    )


def _run_concurrently(count: int, work: Callable[[int], Any]) -> list[tuple[str, Any]]:
    """Run work(i) in `count` threads released together; each uses (and closes) its own DB connection.

    Returns one ("ok", value) or ("error", exception) per thread, in thread order.
    """
    barrier = threading.Barrier(count)
    outcomes: list[tuple[str, Any]] = [("missing", None)] * count

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            outcomes[index] = ("ok", work(index))
        except Exception as exc:
            outcomes[index] = ("error", exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "an ingest thread hung (a lock never released?)"
    return outcomes


# --------------------------------------------------------------------------- a new log


@pytest.mark.django_db
def test_new_log_creates_vehicle_and_pending_log_with_cells_sorted_by_id(fleet, ingest, make_log):
    shuffled = [SORTED_CELLS[2], SORTED_CELLS[0], SORTED_CELLS[3], SORTED_CELLS[1]]

    result = ingest(fleet, make_log(cells=shuffled, firmware="1.2.3"))

    assert result.created is True
    assert result.status == ProcessingStatus.PENDING
    assert list(Vehicle.objects.values_list("vehicle_id", "fleet_id")) == [("EV-12345", fleet.id)]
    log = DiagnosticLog.objects.get()
    assert log.id == result.log_id
    assert log.vehicle.vehicle_id == "EV-12345"
    assert log.timestamp.isoformat() == "2025-10-04T10:30:00+00:00"
    assert log.cells == SORTED_CELLS
    assert (log.cycle_count, log.nominal_capacity_kwh, log.current_capacity_kwh) == (412, 60.0, 54.9)
    assert (log.status, log.attempts, log.error) == (ProcessingStatus.PENDING, 0, "")
    assert BatteryReport.objects.count() == 0  # the report waits for the commit


@pytest.mark.django_db
def test_stored_log_reads_back_as_validated(fleet, ingest, sample_log):
    result = ingest(fleet, sample_log)

    stored = diagnostic_log_get(log_id=result.log_id, fleet_id=fleet.id)

    assert stored["vehicle__vehicle_id"] == "EV-12345"
    assert stored["timestamp"].isoformat() == "2025-10-04T10:30:00+00:00"
    assert stored["cells"] == SORTED_CELLS
    assert stored["cycle_count"] == 412
    assert stored["nominal_capacity_kwh"] == 60.0
    assert stored["current_capacity_kwh"] == 54.9
    assert diagnostic_log_get(log_id=result.log_id, fleet_id=fleet.id + 1000) is None


@pytest.mark.django_db
def test_second_vehicle_of_the_same_fleet_is_created_in_that_fleet(fleet, ingest, make_log):
    ingest(fleet, make_log())
    ingest(fleet, make_log(vehicle_id="EV-2"))

    assert list(Vehicle.objects.order_by("vehicle_id").values_list("vehicle_id", "fleet_id")) == [
        ("EV-12345", fleet.id),
        ("EV-2", fleet.id),
    ]
    assert DiagnosticLog.objects.count() == 2


@pytest.mark.django_db
def test_another_timestamp_of_the_same_vehicle_is_a_new_log(fleet, ingest, make_log):
    first = ingest(fleet, make_log())
    second = ingest(fleet, make_log(timestamp="2025-10-04T10:30:00.000001Z"))

    assert second.created is True
    assert second.log_id != first.log_id
    assert Vehicle.objects.count() == 1
    assert DiagnosticLog.objects.count() == 2


# --------------------------------------------------------------------------- retries and conflicts


@pytest.mark.django_db
def test_same_content_retry_returns_the_original_log_and_stores_nothing(fleet, ingest, sample_log):
    first = ingest(fleet, sample_log)
    before = _stored()

    retry = ingest(fleet, copy.deepcopy(sample_log))

    assert (retry.log_id, retry.created, retry.status) == (first.log_id, False, ProcessingStatus.PENDING)
    assert _stored() == before
    assert Vehicle.objects.count() == 1


@pytest.mark.parametrize(
    "retry_overrides",
    [
        pytest.param(
            {"cells": [SORTED_CELLS[3], SORTED_CELLS[1], SORTED_CELLS[0], SORTED_CELLS[2]]}, id="cells-reordered"
        ),
        pytest.param({"cycle_count": 412.0}, id="integral-float-cycle-count"),
        pytest.param({"nominal_capacity_kwh": 60}, id="integer-capacity"),
        pytest.param({"firmware": "9.9", "odometer_km": 12}, id="unknown-fields-ignored"),
        pytest.param({"timestamp": "2025-10-04T10:30:00Z"}, id="timestamp-without-fraction"),
    ],
)
@pytest.mark.django_db
def test_retry_with_equivalent_content_is_a_retry(fleet, ingest, make_log, retry_overrides):
    first = ingest(fleet, make_log())
    before = _stored()

    retry = ingest(fleet, make_log(**retry_overrides))

    assert (retry.log_id, retry.created) == (first.log_id, False)
    assert _stored() == before


@pytest.mark.parametrize(
    "changed",
    [
        pytest.param({"cycle_count": 413}, id="cycle-count"),
        pytest.param({"nominal_capacity_kwh": 61.0}, id="nominal-capacity"),
        pytest.param({"current_capacity_kwh": 54.8}, id="current-capacity"),
        pytest.param({"cells": [*SORTED_CELLS[:3], {"id": 3, "voltage": 4.07, "temperature": 34.8}]}, id="voltage"),
        pytest.param({"cells": [*SORTED_CELLS[:3], {"id": 3, "voltage": 4.06, "temperature": 34.9}]}, id="temp"),
        pytest.param({"cells": SORTED_CELLS[:3]}, id="fewer-cells"),
    ],
)
@pytest.mark.django_db
def test_conflicting_content_raises_conflict_with_the_existing_log_id_and_stores_nothing(
    fleet, ingest, make_log, changed
):
    first = ingest(fleet, make_log())
    before = _stored()

    with pytest.raises(Conflict) as caught:
        ingest(fleet, make_log(**changed))

    assert caught.value.log_id == str(first.log_id)
    assert caught.value.status == 409
    assert caught.value.code == "conflict"
    assert _stored() == before


@pytest.mark.django_db
def test_the_same_instant_in_two_offsets_is_the_same_log(fleet, ingest, make_log):
    first = ingest(fleet, make_log(timestamp="2025-10-04T10:30:00Z"))

    retry = ingest(fleet, make_log(timestamp="2025-10-04T12:30:00+02:00"))
    west = ingest(fleet, make_log(timestamp="2025-10-04T05:30:00.000000-05:00"))

    assert (retry.log_id, retry.created) == (first.log_id, False)
    assert (west.log_id, west.created) == (first.log_id, False)
    assert DiagnosticLog.objects.count() == 1
    with pytest.raises(Conflict) as caught:
        ingest(fleet, make_log(timestamp="2025-10-04T12:30:00+02:00", cycle_count=1))
    assert caught.value.log_id == str(first.log_id)


@pytest.mark.django_db
def test_a_timestamp_posted_with_an_offset_is_stored_in_utc(fleet, ingest, make_log):
    result = ingest(fleet, make_log(timestamp="2025-10-04T16:00:00.250000+05:30"))

    stored = DiagnosticLog.objects.values_list("timestamp", flat=True).get(pk=result.log_id)
    assert stored.isoformat() == "2025-10-04T10:30:00.250000+00:00"


# --------------------------------------------------------------------------- tenancy


@pytest.mark.django_db
def test_vehicle_of_another_fleet_is_permission_denied_and_nothing_is_stored(fleet, other_fleet, ingest, make_log):
    ingest(fleet, make_log())
    before = _stored()

    with pytest.raises(ForbiddenError):
        ingest(other_fleet, make_log(timestamp="2025-10-05T10:30:00Z"))

    assert _stored() == before
    assert list(Vehicle.objects.values_list("vehicle_id", "fleet_id")) == [("EV-12345", fleet.id)]


@pytest.mark.django_db
def test_another_fleet_reposting_an_existing_log_is_denied_not_a_retry_or_conflict(
    fleet, other_fleet, ingest, make_log
):
    ingest(fleet, make_log())
    before = _stored()

    with pytest.raises(ForbiddenError):
        ingest(other_fleet, make_log())  # same content: must not reveal the log id as a retry would
    with pytest.raises(ForbiddenError):
        ingest(other_fleet, make_log(cycle_count=1))  # different content: must not disclose it by a conflict

    assert _stored() == before


# --------------------------------------------------------------------------- after commit


@pytest.mark.django_db
def test_new_log_registers_exactly_one_on_commit_callback_that_computes_the_report(
    fleet, ingest, sample_log, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        result = ingest(fleet, sample_log)

    assert len(callbacks) == 1
    assert BatteryReport.objects.count() == 0

    callbacks[0]()  # what happens at commit; Celery is eager in these tests

    report = BatteryReport.objects.get(log_id=result.log_id)
    expected = evaluate(BatterySnapshot.from_mapping(sample_log)).as_dict()
    assert report.battery_soh == expected["battery_soh"]
    assert report.diagnostics == expected["diagnostics"]
    assert DiagnosticLog.objects.get().status == ProcessingStatus.COMPLETED


@pytest.mark.django_db
def test_retry_conflict_and_denial_register_no_on_commit_callback(
    fleet, other_fleet, ingest, make_log, django_capture_on_commit_callbacks
):
    ingest(fleet, make_log())

    with django_capture_on_commit_callbacks(execute=False) as on_retry:
        ingest(fleet, make_log())
    with django_capture_on_commit_callbacks(execute=False) as on_conflict, pytest.raises(Conflict):
        ingest(fleet, make_log(cycle_count=1))
    with django_capture_on_commit_callbacks(execute=False) as on_denied, pytest.raises(ForbiddenError):
        ingest(other_fleet, make_log(timestamp="2025-10-06T00:00:00Z"))

    assert (len(on_retry), len(on_conflict), len(on_denied)) == (0, 0, 0)


@pytest.fixture
def enqueued(monkeypatch) -> list[Any]:
    """Record the report tasks published (instead of publishing them)."""
    calls: list[Any] = []
    monkeypatch.setattr("reports.dispatch.reports_enqueue", calls.extend)
    return calls


@pytest.mark.django_db(transaction=True)
def test_report_is_enqueued_only_after_the_outer_transaction_commits(fleet, ingest, sample_log, enqueued):
    with transaction.atomic():
        result = ingest(fleet, sample_log)
        assert enqueued == []

    assert enqueued == [result.log_id]


@pytest.mark.django_db(transaction=True)
def test_nothing_is_enqueued_when_the_outer_transaction_rolls_back(fleet, ingest, sample_log, enqueued):
    def ingest_then_fail() -> None:
        with transaction.atomic():
            ingest(fleet, sample_log)
            raise RuntimeError("the caller's transaction fails after the ingest")

    with pytest.raises(RuntimeError):
        ingest_then_fail()

    assert enqueued == []
    assert DiagnosticLog.objects.count() == 0
    assert Vehicle.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_a_failing_publish_after_commit_keeps_the_log_and_returns_normally(fleet, ingest, sample_log, monkeypatch):
    def broker_down(log_ids):
        raise kombu.exceptions.OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr("reports.dispatch.reports_enqueue", broker_down)

    result = ingest(fleet, sample_log)

    assert result.created is True
    assert list(DiagnosticLog.objects.values_list("id", "status")) == [(result.log_id, ProcessingStatus.PENDING)]
    assert BatteryReport.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_committed_ingest_computes_the_report_and_a_retry_reports_completed(fleet, ingest, sample_log):
    result = ingest(fleet, sample_log)  # autocommit: the eager task runs right after the commit

    report = BatteryReport.objects.get(log_id=result.log_id)
    assert report.battery_soh == 91.5
    assert report.anomalies == []
    retry = ingest(fleet, sample_log)
    assert (retry.log_id, retry.created, retry.status) == (result.log_id, False, ProcessingStatus.COMPLETED)
    assert BatteryReport.objects.count() == 1


# --------------------------------------------------------------------------- races


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_identical_ingests_store_exactly_one_log(fleet, ingest, sample_log, enqueued):
    outcomes = _run_concurrently(20, lambda _: ingest(fleet, copy.deepcopy(sample_log)))

    assert [kind for kind, _ in outcomes] == ["ok"] * 20, outcomes
    results = [value for _, value in outcomes]
    log_ids = {result.log_id for result in results}
    assert len(log_ids) == 1
    assert sum(result.created for result in results) == 1
    assert list(DiagnosticLog.objects.values_list("id", flat=True)) == list(log_ids)
    assert Vehicle.objects.count() == 1
    assert enqueued == list(log_ids)  # one report task, for the one new log


@pytest.mark.django_db(transaction=True)
def test_concurrent_ingests_with_different_content_store_one_log_and_the_rest_conflict(
    fleet, ingest, make_log, enqueued
):
    outcomes = _run_concurrently(10, lambda i: ingest(fleet, make_log(cycle_count=i)))

    winners = [(i, value) for i, (kind, value) in enumerate(outcomes) if kind == "ok"]
    conflicts = [value for kind, value in outcomes if kind == "error" and isinstance(value, Conflict)]
    assert len(winners) == 1, outcomes
    assert len(conflicts) == 9, outcomes
    winner_index, winner = winners[0]
    assert winner.created is True
    assert {conflict.log_id for conflict in conflicts} == {str(winner.log_id)}
    assert list(DiagnosticLog.objects.values_list("id", "cycle_count")) == [(winner.log_id, winner_index)]
    assert enqueued == [winner.log_id]


@pytest.mark.django_db(transaction=True)
def test_two_fleets_racing_for_a_new_vehicle_exactly_one_wins(fleet, other_fleet, ingest, make_log, enqueued):
    fleets = [fleet, other_fleet]
    for round_number in range(5):
        vehicle_id = f"EV-RACE-{round_number}"

        outcomes = _run_concurrently(2, lambda i, v=vehicle_id: ingest(fleets[i], make_log(vehicle_id=v)))

        kinds = sorted(kind for kind, _ in outcomes)
        assert kinds == ["error", "ok"], outcomes
        winner_index = next(i for i, (kind, _) in enumerate(outcomes) if kind == "ok")
        loser_error = outcomes[1 - winner_index][1]
        assert isinstance(loser_error, ForbiddenError), outcomes
        winner_fleet = fleets[winner_index]
        assert list(Vehicle.objects.filter(vehicle_id=vehicle_id).values_list("fleet_id", flat=True)) == [
            winner_fleet.id
        ]
        assert list(DiagnosticLog.objects.filter(vehicle__vehicle_id=vehicle_id).values_list("id", flat=True)) == [
            outcomes[winner_index][1].log_id
        ]

    assert len(enqueued) == 5
