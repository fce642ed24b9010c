"""stale_logs_requeue on PostgreSQL: logs stuck in pending/processing get their report task published again."""

from datetime import timedelta
from typing import Any

import kombu.exceptions
import pytest
from django.utils import timezone

from reports.dispatch import stale_logs_requeue
from reports.models import BatteryReport
from reports.tasks import sweep_stale_logs
from vehicles.models import DiagnosticLog, ProcessingStatus

pytestmark = pytest.mark.django_db(transaction=True)  # the sweeper publishes after its commit


@pytest.fixture
def enqueued(monkeypatch) -> list[Any]:
    """Every log id handed to the broker."""
    calls: list[Any] = []
    monkeypatch.setattr("reports.dispatch.reports_enqueue", calls.extend)
    return calls


@pytest.fixture
def logs_in_every_state(fleet, ingest, make_log, enqueued) -> dict[str, Any]:
    """One log per (state, age); `enqueued` keeps the ingests from computing their reports."""
    ids = {}
    hour_ago = timezone.now() - timedelta(hours=1)
    for minute, (name, status, stale) in enumerate(
        [
            ("stale_pending", ProcessingStatus.PENDING, True),
            ("stale_processing", ProcessingStatus.PROCESSING, True),
            ("fresh_pending", ProcessingStatus.PENDING, False),
            ("stale_completed", ProcessingStatus.COMPLETED, True),
            ("stale_failed", ProcessingStatus.FAILED, True),
        ]
    ):
        log_id = ingest(fleet, make_log(timestamp=f"2025-10-04T10:{minute:02d}:00Z")).log_id
        changes: dict[str, Any] = {"status": status}
        if status == ProcessingStatus.PROCESSING:
            changes["claim_key"] = 4242  # a claim whose lock nobody holds: abandoned (its worker died)
        if stale:
            changes["status_changed_at"] = hour_ago
        DiagnosticLog.objects.filter(pk=log_id).update(**changes)
        ids[name] = log_id
    enqueued.clear()
    return ids


def test_only_stale_pending_and_processing_logs_are_requeued_oldest_first(logs_in_every_state, enqueued):
    before = timezone.now()

    requeued = stale_logs_requeue(older_than_s=120)

    expected = [logs_in_every_state["stale_pending"], logs_in_every_state["stale_processing"]]
    assert sorted(requeued) == sorted(expected)
    assert sorted(enqueued) == sorted(expected)
    for log_id in expected:
        assert DiagnosticLog.objects.get(pk=log_id).status_changed_at >= before


def test_a_second_sweep_right_after_requeues_nothing(logs_in_every_state, enqueued):
    stale_logs_requeue(older_than_s=120)
    enqueued.clear()

    assert stale_logs_requeue(older_than_s=120) == []
    assert enqueued == []


def test_sweep_limit_takes_the_oldest(logs_in_every_state, enqueued):
    older = timezone.now() - timedelta(hours=2)
    DiagnosticLog.objects.filter(pk=logs_in_every_state["stale_processing"]).update(status_changed_at=older)

    assert stale_logs_requeue(older_than_s=120, limit=1) == [logs_in_every_state["stale_processing"]]
    assert enqueued == [logs_in_every_state["stale_processing"]]


def test_sweep_task_returns_the_number_requeued(logs_in_every_state, enqueued, settings):
    settings.SWEEPER_STALE_AFTER_S = 120

    assert sweep_stale_logs() == 2
    assert len(enqueued) == 2


def test_a_publish_failing_during_a_sweep_does_not_stop_the_others(logs_in_every_state, monkeypatch):
    monkeypatch.setattr("reports.dispatch.SWEEP_BATCH", 1)  # one batch task per log
    published: list[Any] = []

    def first_publish_fails(log_ids):  # type: ignore[no-untyped-def]
        if not published:
            published.append(("failed", log_ids))
            raise kombu.exceptions.OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
        published.append(("ok", log_ids))

    monkeypatch.setattr("reports.dispatch.reports_enqueue", first_publish_fails)

    requeued = stale_logs_requeue(older_than_s=120)

    assert len(requeued) == 2
    assert [outcome for outcome, _ in published] == ["failed", "ok"]
    assert sorted(log_id for _, ids in published for log_id in ids) == sorted(requeued)


def test_while_tasks_wait_in_the_queue_only_stuck_processing_logs_are_requeued(
    logs_in_every_state, enqueued, monkeypatch
):
    monkeypatch.setattr("reports.dispatch.report_queue_depth", lambda: 25)

    assert stale_logs_requeue(older_than_s=120) == [logs_in_every_state["stale_processing"]]
    assert enqueued == [logs_in_every_state["stale_processing"]]


def test_with_the_broker_down_nothing_is_requeued(logs_in_every_state, enqueued, monkeypatch):
    monkeypatch.setattr("reports.dispatch.report_queue_depth", lambda: None)

    assert stale_logs_requeue(older_than_s=120) == []
    assert enqueued == []
    stale = DiagnosticLog.objects.get(pk=logs_in_every_state["stale_pending"])
    assert stale.status_changed_at < timezone.now() - timedelta(minutes=30)  # still due at the next sweep


def test_a_swept_log_gets_its_report(fleet, ingest, make_log, monkeypatch):
    monkeypatch.setattr("reports.dispatch.reports_enqueue", lambda log_ids: None)  # the publish was lost
    log_id = ingest(fleet, make_log()).log_id
    DiagnosticLog.objects.filter(pk=log_id).update(status_changed_at=timezone.now() - timedelta(hours=1))
    monkeypatch.undo()  # the broker is back; Celery is eager in these tests

    assert stale_logs_requeue(older_than_s=120) == [log_id]

    assert BatteryReport.objects.filter(log_id=log_id).count() == 1
    assert DiagnosticLog.objects.values_list("status", "attempts").get(pk=log_id) == (ProcessingStatus.COMPLETED, 1)
