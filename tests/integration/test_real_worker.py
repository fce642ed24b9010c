"""The worker path for real: ingest commits, the task goes through the broker (Redis, then RabbitMQ), a real
Celery worker writes reports. Counts come from the database (statuses, attempts, reports).

Needs the redis-server binary and a reachable RabbitMQ; skips without them, unless REQUIRE_BROKER=1
(then it fails).
"""

import uuid
from typing import Any

import pytest

from reports.health import BatterySnapshot, evaluate
from reports.models import BatteryReport
from tests.support.stack import Stack
from tests.support.waiting import wait_until
from vehicles.models import DiagnosticLog, ProcessingStatus

pytestmark = [pytest.mark.broker, pytest.mark.django_db(transaction=True)]

LOG_COUNT = 20
TIMEOUT_S = 60


def _varied_log(make_log, index: int) -> dict[str, Any]:
    """Logs that differ in SoH (capped or low), imbalance and overheating, so the reports differ too."""
    return make_log(
        vehicle_id=f"EV-W{index:02d}",
        timestamp=f"2025-10-04T10:{index:02d}:00Z",
        cells=[
            {"id": 0, "voltage": 4.0, "temperature": 30.0},
            {"id": 1, "voltage": round(4.0 + 0.004 * index, 3), "temperature": 38.0 + index * 0.5},
            {"id": 2, "voltage": 4.01, "temperature": 31.5},
        ],
        cycle_count=100 * index,
        nominal_capacity_kwh=60.0,
        current_capacity_kwh=40.0 + 1.5 * index,
    )


def _expected(values: dict[str, Any]) -> dict[str, Any]:
    return evaluate(BatterySnapshot.from_mapping(values)).as_dict()


def _wait_for_reports(log_ids: list[uuid.UUID], worker: Stack) -> None:
    def done() -> bool:
        assert not worker.worker_exits, f"the worker exited: {worker.worker_exits}\n{worker.tails()}"
        return BatteryReport.objects.filter(log_id__in=log_ids).count() == len(log_ids)

    try:
        wait_until(done, TIMEOUT_S, 0.2, f"{len(log_ids)} reports")
    except TimeoutError as exc:
        pytest.fail(f"{exc}; worker log:\n{worker.tails()}")


def test_real_worker_generates_exactly_one_report_per_ingested_log(real_worker, fleet, ingest, make_log):
    from config.celery import app

    assert app.conf.task_always_eager is False  # published to the broker, never computed in this process
    results = [ingest(fleet, _varied_log(make_log, i)) for i in range(LOG_COUNT)]
    log_ids = [result.log_id for result in results]
    assert all(result.created for result in results)

    _wait_for_reports(log_ids, real_worker)

    assert BatteryReport.objects.count() == LOG_COUNT
    logs = DiagnosticLog.objects.filter(pk__in=log_ids).values(
        "id", "cells", "cycle_count", "nominal_capacity_kwh", "current_capacity_kwh", "status", "attempts", "error"
    )
    assert len(logs) == LOG_COUNT
    reports = {
        row["log_id"]: row
        for row in BatteryReport.objects.values("log_id", "battery_soh", "anomalies", "anomaly_details", "diagnostics")
    }
    for log in logs:
        report = reports[log["id"]]
        assert {key: report[key] for key in ("battery_soh", "anomalies", "anomaly_details", "diagnostics")} == (
            _expected(log)
        ), log["id"]
        assert (log["status"], log["attempts"], log["error"]) == (ProcessingStatus.COMPLETED, 1, "")
    soh_values = sorted(report["battery_soh"] for report in reports.values())
    assert soh_values[0] == 66.67
    assert soh_values[-1] == 100.0  # capped


def _handled_elsewhere_lines(worker: Stack, log_id: uuid.UUID) -> list[str]:
    """The worker's log lines saying a task it was published with found `log_id` done already (reports.tasks)."""
    return [
        line
        for line in worker.worker_log().splitlines()
        if "log already handled by another batch" in line and str(log_id) in line
    ]


def test_real_worker_retry_of_a_committed_log_adds_no_report(real_worker, fleet, ingest, make_log):
    first = ingest(fleet, _varied_log(make_log, 0))
    _wait_for_reports([first.log_id], real_worker)

    retry = ingest(fleet, _varied_log(make_log, 0))  # a same-content retry publishes nothing (created=False)
    assert _handled_elsewhere_lines(real_worker, first.log_id) == []
    from reports.dispatch import reports_enqueue

    assert reports_enqueue([first.log_id])  # a duplicate delivery, as after a redelivery or a sweeper's re-enqueue
    # The duplicate's task has run once the worker logs that it found the log completed: only then is the
    # database checked (a second report or attempt would show).
    try:
        wait_until(lambda: _handled_elsewhere_lines(real_worker, first.log_id), TIMEOUT_S, 0.1, "the duplicate's task")
    except TimeoutError as exc:
        pytest.fail(f"{exc}; worker log:\n{real_worker.tails()}")
    real_worker.assert_alive()

    assert len(_handled_elsewhere_lines(real_worker, first.log_id)) == 1
    assert (retry.log_id, retry.created) == (first.log_id, False)
    assert BatteryReport.objects.count() == 1
    assert DiagnosticLog.objects.values_list("status", "attempts").get(pk=first.log_id) == (
        ProcessingStatus.COMPLETED,
        1,
    )
