"""The worker path for real: ingest commits, the task goes through Redis, a real Celery worker writes reports.

Needs CELERY_BROKER_URL (Redis) and skips without it, unless REQUIRE_BROKER=1 (then it fails).
"""

import re
import time
import uuid
from typing import Any

import pytest

from reports.health import BatterySnapshot, evaluate
from reports.models import BatteryReport
from vehicles.models import DiagnosticLog, ProcessingStatus

pytestmark = [pytest.mark.broker, pytest.mark.django_db(transaction=True)]

LOG_COUNT = 20
TIMEOUT_S = 60
SUCCEEDED = re.compile(r"Task reports\.generate_battery_reports?\[[0-9a-f-]{36}\] succeeded")


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


def _wait_for_reports(log_ids: list[uuid.UUID], worker) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + TIMEOUT_S
    done = 0
    while time.monotonic() < deadline:
        done = BatteryReport.objects.filter(log_id__in=log_ids).count()
        if done == len(log_ids):
            return
        worker.assert_alive()
        time.sleep(0.2)
    pytest.fail(f"{done}/{len(log_ids)} reports after {TIMEOUT_S} s; worker log:\n{worker.log_tail()}")


def _succeeded_in_worker_log(worker, *, at_least: int) -> int:  # type: ignore[no-untyped-def]
    """How many report tasks the worker logged as succeeded (waiting briefly for its log to catch up)."""
    deadline = time.monotonic() + 10
    while True:
        count = len(SUCCEEDED.findall(worker.log_text()))
        if count >= at_least or time.monotonic() > deadline:
            return count
        time.sleep(0.1)


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
    # Published in batches (one task for every log waiting at that moment): at most one task per log.
    assert 1 <= _succeeded_in_worker_log(real_worker, at_least=1) <= LOG_COUNT
    soh_values = sorted(report["battery_soh"] for report in reports.values())
    assert soh_values[0] == 66.67
    assert soh_values[-1] == 100.0  # capped


def test_real_worker_retry_of_a_committed_log_adds_no_report(real_worker, fleet, ingest, make_log):
    first = ingest(fleet, _varied_log(make_log, 0))
    _wait_for_reports([first.log_id], real_worker)

    retry = ingest(fleet, _varied_log(make_log, 0))
    from reports.dispatch import reports_enqueue as enqueue_reports

    enqueue_reports([first.log_id])  # a duplicate delivery, as after a redelivery or a sweeper's re-enqueue
    sentinel = ingest(fleet, _varied_log(make_log, 1))
    _wait_for_reports([sentinel.log_id], real_worker)
    time.sleep(0.5)  # with 2 processes the duplicate may finish just after the sentinel

    assert (retry.log_id, retry.created) == (first.log_id, False)
    assert BatteryReport.objects.count() == 2
    assert DiagnosticLog.objects.values_list("status", "attempts").get(pk=first.log_id) == (
        ProcessingStatus.COMPLETED,
        1,
    )
