"""Alerts in the report worker's transaction, the outbox, webhook delivery to a real HTTP receiver on loopback
(every signature verified with standardwebhooks), retries, ordering, disabling and escalation. Time is passed
in (`now`), never slept."""

import json
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from alerts import rules, services
from alerts.models import Alert, AlertWatermark, DeliveryAttempt, Webhook, WebhookDelivery
from alerts.services import (
    alert_acknowledge,
    alert_resolve,
    alerts_escalate,
    evaluation,
    webhook_create,
    webhook_deliveries_due,
    webhook_delivery_attempt,
)
from alerts.services import delivery as delivery_service
from reports.selectors import fleet_summary
from reports.services import battery_reports_generate
from reports.tasks import MAX_ATTEMPTS
from tests.support.receiver import WebhookReceiver as Receiver
from vehicles.models import DiagnosticLog

T0 = datetime(2025, 10, 4, 10, 0, tzinfo=UTC)


def log(vehicle_id: str, minute: int, *, hot: float | None = None, soh: float = 90.0, spread: bool = False) -> dict:
    """A 4-cell log at T0 + `minute`: cell 2 at `hot` °C, SoH `soh` %, cells 0 and 3 100 mV apart if `spread`."""
    cells = [{"id": i, "voltage": 4.0, "temperature": 30.0} for i in range(4)]
    if hot is not None:
        cells[2]["temperature"] = hot
    if spread:
        cells[0]["voltage"], cells[3]["voltage"] = 3.95, 4.05
    return {
        "vehicle_id": vehicle_id,
        "timestamp": (T0 + timedelta(minutes=minute)).isoformat(),
        "cells": cells,
        "cycle_count": 100 + minute,
        "nominal_capacity_kwh": 100.0,
        "current_capacity_kwh": soh,
    }


@pytest.fixture
def post(fleet, ingest, monkeypatch):  # type: ignore[no-untyped-def]
    """Store logs without publishing their report tasks (the test runs the batches itself)."""
    monkeypatch.setattr("reports.dispatch.reports_enqueue", lambda log_ids: False)

    def _post(*logs: dict) -> list[uuid.UUID]:
        return [ingest(fleet, item).log_id for item in logs]

    return _post


def run_batch(ids: list[uuid.UUID]) -> None:
    outcome = battery_reports_generate(log_ids=ids, max_attempts=MAX_ATTEMPTS)
    assert outcome.failed == {}


def unresolved(vehicle_id: str = "EV-A1") -> list[Alert]:
    return list(Alert.objects.filter(vehicle__vehicle_id=vehicle_id, state__in=["open", "acknowledged"]))


# --------------------------------------------------------------------------- evaluation in the batch


def test_a_report_with_an_anomaly_opens_an_alert_in_the_batch(post):
    (log_id,) = post(log("EV-A1", 1, hot=50.0))
    run_batch([log_id])
    (alert,) = Alert.objects.all()
    assert (alert.type, alert.severity, alert.state, alert.occurrences) == ("overheating", "warning", "open", 1)
    assert (alert.last_log_id, alert.cells, alert.opened_at) == (log_id, [2], T0 + timedelta(minutes=1))
    assert AlertWatermark.objects.get(vehicle=alert.vehicle).evaluated_until == T0 + timedelta(minutes=1)


def test_later_reports_update_the_one_alert_and_raise_its_severity(post):
    run_batch(post(log("EV-A1", 1, hot=50.0)))
    ids = post(log("EV-A1", 2, hot=61.0), log("EV-A1", 3, hot=50.0))
    run_batch(ids)
    (alert,) = Alert.objects.all()
    assert (alert.occurrences, alert.severity, alert.last_log_id) == (3, "critical", ids[1])
    assert alert.last_seen_at == T0 + timedelta(minutes=3)
    assert alert.critical_at is not None


def test_three_newer_clean_reports_resolve_it_by_itself(post):
    run_batch(post(log("EV-A1", 1, hot=50.0)))
    run_batch(post(log("EV-A1", 2), log("EV-A1", 3)))
    assert unresolved()[0].clean_streak == 2
    run_batch(post(log("EV-A1", 4)))
    (alert,) = Alert.objects.all()
    assert (alert.state, alert.resolution) == ("resolved", "auto")
    assert alert.resolved_at is not None


def test_clear_after_comes_from_settings(post, settings):
    settings.ALERT_CLEAR_AFTER = 1
    run_batch(post(log("EV-A1", 1, hot=50.0)))
    run_batch(post(log("EV-A1", 2)))
    assert Alert.objects.get().state == "resolved"


def test_a_late_log_neither_opens_updates_nor_clears(post):
    run_batch(post(log("EV-A1", 10, spread=True)))
    (alert,) = Alert.objects.all()
    # older than the vehicle's newest: an anomaly opens nothing, a clean one clears nothing
    run_batch(post(log("EV-A1", 5, hot=55.0), log("EV-A1", 6), log("EV-A1", 7), log("EV-A1", 8)))
    assert Alert.objects.count() == 1
    alert.refresh_from_db()
    assert (alert.state, alert.occurrences, alert.clean_streak) == ("open", 1, 0)


def test_a_log_received_after_a_newer_one_is_late_even_when_its_report_comes_first(post):
    newer, older = post(log("EV-A1", 10), log("EV-A1", 5, hot=55.0))
    # one test transaction: now() alone would give both logs the same received_at
    DiagnosticLog.objects.filter(pk=older).update(received_at=timezone.now() + timedelta(seconds=1))
    run_batch([older])  # the older log's report is computed first, but it was received after the newer log
    assert Alert.objects.count() == 0
    run_batch([newer])
    assert Alert.objects.count() == 0


def test_the_alert_types_are_followed_separately(post):
    run_batch(post(log("EV-A1", 1, hot=50.0, soh=65.0, spread=True)))
    by_type = {a.type: a for a in Alert.objects.all()}
    assert set(by_type) == {"overheating", "low_soh", "voltage_imbalance"}
    assert by_type["low_soh"].severity == "critical"
    assert by_type["voltage_imbalance"].cells == [0, 3]


# --------------------------------------------------------------------------- the analytics types


def weak_log(vehicle_id: str, minute: int, *, low_mv: float = 50.0, soh: float = 90.0) -> dict:
    """A log whose cell 1 sits `low_mv` below the other three (0 for a healthy pack)."""
    item = log(vehicle_id, minute, soh=soh)
    item["cells"][1]["voltage"] = round(4.0 - low_mv / 1000, 3)
    return item


def test_a_weak_cell_opens_once_five_logs_confirm_it_and_clears_after_three_clean_ones(post):
    for minute in range(1, 5):
        run_batch(post(weak_log("EV-W1", minute)))
    assert Alert.objects.count() == 0  # 4 logs: too few to confirm (one odd reading never opens an alert)
    fifth = post(weak_log("EV-W1", 5))
    run_batch(fifth)
    (alert,) = unresolved("EV-W1")
    assert (alert.type, alert.severity, alert.cells, alert.occurrences) == ("weak_cell", "warning", [1], 1)
    assert alert.last_log_id == fifth[0]
    run_batch(post(weak_log("EV-W1", 6, low_mv=120.0)))  # worse: 120 mV, critical on nmc
    alert.refresh_from_db()
    assert (alert.occurrences, alert.severity) == (2, "critical")
    for minute in (7, 8):
        run_batch(post(weak_log("EV-W1", minute, low_mv=0.0)))
    alert.refresh_from_db()
    assert (alert.state, alert.clean_streak, alert.severity) == ("open", 2, "critical")  # never falls by itself
    run_batch(post(weak_log("EV-W1", 9, low_mv=0.0)))
    alert.refresh_from_db()
    assert (alert.state, alert.resolution) == ("resolved", "auto")


def test_a_weak_cell_follows_the_vehicles_profile(post):
    from vehicles.models import Vehicle

    for vehicle_id in ("EV-NMC", "EV-LFP"):
        post(weak_log(vehicle_id, 0, low_mv=30.0))
    Vehicle.objects.filter(vehicle_id="EV-LFP").update(profile="lfp")
    # 30 mV low: under nmc's 40 mV alert deviation, over lfp's 25 mV; one batch: its newest log is judged
    run_batch(post(*(weak_log(v, m, low_mv=30.0) for v in ("EV-NMC", "EV-LFP") for m in range(1, 5))))
    assert unresolved("EV-NMC") == []
    (alert,) = unresolved("EV-LFP")
    assert (alert.type, alert.cells, alert.severity) == ("weak_cell", [1], "warning")


def test_a_late_weak_cell_log_opens_nothing(post):
    for minute in range(10, 15):
        run_batch(post(weak_log("EV-W1", minute, low_mv=0.0)))
    run_batch(post(*(weak_log("EV-W1", minute) for minute in range(1, 6))))  # older than the newest evaluated
    assert Alert.objects.count() == 0


def test_a_soh_drop_opens_a_critical_soh_jump_that_resolves_once_the_step_leaves_the_window(post):
    from alerts.rules import SOH_JUMP_WINDOW

    soh = [90.0] * 20 + [83.0] * 8  # a 7-point drop, 8 reports after it: detectable
    for minute, value in enumerate(soh):
        run_batch(post(log("EV-J1", minute, soh=value)))
    (alert,) = unresolved("EV-J1")
    assert (alert.type, alert.severity, alert.occurrences, alert.cells) == ("soh_jump", "critical", 1, [])
    assert AlertWatermark.objects.get(vehicle=alert.vehicle).soh[-1] == 83.0
    minute = len(soh)
    while unresolved("EV-J1") and minute < 200:
        run_batch(post(log("EV-J1", minute, soh=83.0)))
        minute += 1
    alert.refresh_from_db()
    assert (alert.state, alert.resolution) == ("resolved", "auto")
    # seen while 8 reports or more preceded the step in the window, then 3 clean reports
    assert alert.occurrences == SOH_JUMP_WINDOW - 16 + 1
    assert minute == len(soh) + alert.occurrences - 1 + 3


def test_the_same_drop_is_a_warning_on_lfp(post):
    from vehicles.models import Vehicle

    post(log("EV-J2", 0))
    Vehicle.objects.filter(vehicle_id="EV-J2").update(profile="lfp")
    soh = [90.0] * 20 + [83.0] * 8
    run_batch(post(*(log("EV-J2", minute, soh=value) for minute, value in enumerate(soh, start=1))))
    (alert,) = unresolved("EV-J2")
    assert (alert.type, alert.severity) == ("soh_jump", "warning")  # lfp: critical from an 8-point drop


def test_alerts_enabled_off_stores_reports_and_changes_no_alert(post, settings):
    from reports.models import BatteryReport

    settings.ALERTS_ENABLED = False
    ids = post(log("EV-A1", 1, hot=61.0, soh=60.0))
    run_batch(ids)
    assert BatteryReport.objects.filter(log_id__in=ids).count() == 1
    assert (Alert.objects.count(), AlertWatermark.objects.count()) == (0, 0)


def test_after_a_manual_resolve_the_next_anomaly_opens_a_new_alert(post, fleet):
    run_batch(post(log("EV-A1", 1, hot=50.0)))
    first = Alert.objects.get()
    alert_resolve(fleet_id=fleet.id, alert_id=first.id)
    run_batch(post(log("EV-A1", 2, hot=50.0)))
    assert Alert.objects.count() == 2
    assert [a.id for a in unresolved()] != [first.id]


def test_the_database_refuses_a_second_unresolved_alert(post):
    from django.db import IntegrityError, transaction

    run_batch(post(log("EV-A1", 1, hot=50.0)))
    alert = Alert.objects.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        Alert.objects.create(
            vehicle=alert.vehicle,
            type="overheating",
            severity="warning",
            state="acknowledged",
            opened_at=T0,
            last_seen_at=T0,
            last_log_id=alert.last_log_id,
        )


def test_evaluation_costs_a_constant_number_of_statements(post, django_assert_max_num_queries):
    small = post(*(log(f"EV-S{n}", 1, hot=50.0) for n in range(2)))
    with django_assert_max_num_queries(20):
        run_batch(small)
    large = post(
        *(log(f"EV-L{n}", minute, hot=50.0 if minute % 2 else None) for n in range(15) for minute in (1, 2, 3))
    )
    large += post(*(log(f"EV-S{n}", minute) for n in range(2) for minute in (2, 3, 4)))
    Webhook.objects.create(
        fleet_id=Alert.objects.first().vehicle.fleet_id,
        url="https://h.test/",
        events=["alert.opened", "alert.updated", "alert.resolved"],
        secret="whsec_" + "A" * 44,
    )
    with django_assert_max_num_queries(20):
        run_batch(large)
    assert Alert.objects.filter(state="resolved").count() == 2
    assert Alert.objects.filter(vehicle__vehicle_id__startswith="EV-L").count() == 15


@pytest.mark.django_db(transaction=True)
def test_concurrent_batches_for_the_same_vehicles_never_duplicate_an_alert(fleet, ingest, monkeypatch):
    monkeypatch.setattr("reports.dispatch.reports_enqueue", lambda log_ids: False)
    vehicles = [f"EV-C{n}" for n in range(3)]
    batches = [
        [ingest(fleet, log(v, 100 + batch, hot=50.0 + batch, soh=75.0)).log_id for v in vehicles] for batch in range(20)
    ]
    errors: list[BaseException] = []
    start = threading.Barrier(len(batches))

    def work(ids: list[uuid.UUID]) -> None:
        try:
            start.wait(10)
            battery_reports_generate(log_ids=ids, max_attempts=MAX_ATTEMPTS)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(batch,)) for batch in batches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    rows = list(Alert.objects.values_list("vehicle__vehicle_id", "type", "state"))
    # cell 2 runs 20 °C and more above the pack in every log: a weak cell as soon as 5 logs are in its window
    expected = ("overheating", "low_soh", "weak_cell")
    assert sorted(rows) == sorted((v, t, "open") for v in vehicles for t in expected)
    for alert in Alert.objects.all():
        # batches that committed after a newer one were late for it: 1 to 20 occurrences, never a duplicate
        assert 1 <= alert.occurrences <= 20
    assert Alert.objects.filter(type="overheating", severity="critical").count() == 3  # 61 °C and up was seen


# --------------------------------------------------------------------------- the outbox


@pytest.fixture
def hook(fleet, settings):  # type: ignore[no-untyped-def]
    settings.WEBHOOK_ALLOW_PRIVATE = True

    def _hook(url: str = "http://127.0.0.1:9/", events: list[str] | None = None) -> Webhook:
        return webhook_create(fleet_id=fleet.id, url=url, events=events or list(rules.EVENTS))

    return _hook


def test_an_alert_change_writes_one_delivery_per_subscribed_webhook(post, hook, fleet):
    everything = hook()
    only_resolved = hook(events=["alert.resolved"])
    run_batch(post(log("EV-A1", 1, hot=50.0)))
    (delivery,) = WebhookDelivery.objects.all()
    assert (delivery.webhook_id, delivery.event, delivery.sequence, delivery.status) == (
        everything.id,
        "alert.opened",
        1,
        "pending",
    )
    body = json.loads(delivery.body)
    alert = Alert.objects.get()
    assert body["type"] == "alert.opened"
    assert body["data"]["sequence"] == 1
    assert body["data"]["alert"]["id"] == str(alert.id)
    assert body["data"]["alert"]["vehicle_id"] == "EV-A1"
    assert set(body["data"]["alert"]) == {
        "id", "vehicle_id", "type", "severity", "state", "opened_at", "last_seen_at", "occurrences",
        "last_log_id", "cells", "acknowledged_at", "acknowledged_by", "resolved_at", "resolution",
    }  # fmt: skip
    alert_acknowledge(fleet_id=fleet.id, alert_id=alert.id, user=None)
    run_batch(post(log("EV-A1", 2), log("EV-A1", 3), log("EV-A1", 4)))
    assert list(
        WebhookDelivery.objects.filter(webhook=everything).order_by("sequence").values_list("event", "sequence")
    ) == [
        ("alert.opened", 1),
        ("alert.acknowledged", 2),
        ("alert.resolved", 3),
    ]
    assert list(WebhookDelivery.objects.filter(webhook=only_resolved).values_list("event", "sequence")) == [
        ("alert.resolved", 3)
    ]


def test_outbox_rows_commit_or_roll_back_with_the_alert(post, hook, monkeypatch):
    hook()
    real = evaluation.outbox_write

    def write_then_fail(*args: Any, **kwargs: Any) -> Any:
        real(*args, **kwargs)
        assert WebhookDelivery.objects.count() == 1  # written, in the batch's transaction
        raise RuntimeError("the batch dies after the outbox write")

    monkeypatch.setattr(evaluation, "outbox_write", write_then_fail)
    ids = post(log("EV-A1", 1, hot=50.0))
    with pytest.raises(RuntimeError):
        battery_reports_generate(log_ids=ids, max_attempts=MAX_ATTEMPTS)
    assert (Alert.objects.count(), WebhookDelivery.objects.count()) == (0, 0)
    from reports.models import BatteryReport

    assert BatteryReport.objects.count() == 0


def test_an_inactive_webhook_gets_no_deliveries(post, hook):
    webhook = hook()
    Webhook.objects.filter(pk=webhook.pk).update(active=False)
    run_batch(post(log("EV-A1", 1, hot=50.0)))
    assert WebhookDelivery.objects.count() == 0


# --------------------------------------------------------------------------- a real receiver


@pytest.fixture
def receiver(hook) -> Iterator[tuple[Receiver, Webhook]]:  # type: ignore[no-untyped-def]
    server = Receiver()
    webhook = hook(server.url)
    server.secret = webhook.secret
    yield server, webhook
    server.close()


def send_due(now: datetime) -> list[str | None]:
    return [webhook_delivery_attempt(delivery_id=d, now=now) for d in webhook_deliveries_due(now=now)]


def test_deliveries_reach_a_real_receiver_signed(post, receiver, fleet):
    server, _webhook = receiver
    run_batch(post(log("EV-A1", 1, hot=50.0)))
    alert = Alert.objects.get()
    alert_acknowledge(fleet_id=fleet.id, alert_id=alert.id, user=None)
    now = timezone.now()
    assert send_due(now) == ["delivered"]  # the acknowledgement waits for the opening to be delivered
    assert send_due(now) == ["delivered"]
    assert server.rejected == []
    assert [(r["type"], r["data"]["sequence"]) for r in server.received] == [
        ("alert.opened", 1),
        ("alert.acknowledged", 2),
    ]
    first = WebhookDelivery.objects.get(sequence=1)
    assert server.received[0]["id"] == f"msg_{first.id}"
    assert (first.status, first.attempts, first.last_status_code) == ("delivered", 1, 204)
    assert DeliveryAttempt.objects.filter(delivery=first).count() == 1


def test_a_failing_receiver_is_retried_with_backoff_then_given_up(post, receiver):
    server, _webhook = receiver
    server.answers = [500] * 20
    run_batch(post(log("EV-A1", 1, hot=50.0)))
    delivery = WebhookDelivery.objects.get()
    now = timezone.now()
    assert send_due(now) == ["pending"]
    delivery.refresh_from_db()
    assert (delivery.attempts, delivery.last_status_code, delivery.next_attempt_at) == (
        1,
        500,
        now + timedelta(seconds=30),
    )
    assert send_due(now + timedelta(seconds=29)) == []  # not due yet
    waits = []
    at = now
    while True:
        delivery.refresh_from_db()
        if delivery.status != "pending":
            break
        waits.append(delivery.next_attempt_at - at)
        at = delivery.next_attempt_at
        send_due(at)
    assert delivery.status == "failed"
    assert delivery.attempts == len(rules.DELIVERY_RETRY_DELAYS) + 1 >= 6
    assert waits == list(rules.DELIVERY_RETRY_DELAYS)
    assert at - now >= timedelta(hours=1)
    assert len(server.received) == delivery.attempts  # every attempt arrived, each signature verified
    assert server.rejected == []
    assert DeliveryAttempt.objects.filter(delivery=delivery).count() == delivery.attempts


def test_a_later_event_waits_for_the_earlier_one(post, receiver, fleet):
    server, _ = receiver
    server.answers = [503]
    run_batch(post(log("EV-A1", 1, hot=50.0)))
    alert = Alert.objects.get()
    alert_resolve(fleet_id=fleet.id, alert_id=alert.id)
    now = timezone.now()
    assert send_due(now) == ["pending"]  # sequence 1 failed once; sequence 2 is held back
    resolved = WebhookDelivery.objects.get(sequence=2)
    assert webhook_delivery_attempt(delivery_id=resolved.id, now=now + timedelta(hours=1)) is None
    assert send_due(now + timedelta(seconds=30)) == ["delivered"]
    assert send_due(now + timedelta(seconds=30)) == ["delivered"]
    assert [r["data"]["sequence"] for r in server.received] == [1, 1, 2]


def test_a_webhook_failing_for_24_hours_is_set_inactive(post, receiver):
    server, webhook = receiver
    server.answers = [500] * 100
    run_batch(post(log("EV-A1", 1, hot=50.0)))
    now = timezone.now()
    for hour in range(0, 25, 6):
        if hour:
            # 12 h: critical, an update (cell 2 hot in 2 of the 5 logs: no weak_cell alert joins in)
            run_batch(post(log("EV-A1", 1 + hour, hot={12: 61.0}.get(hour))))
        assert send_due(now + timedelta(hours=hour)) == ["pending" if hour < 24 else "failed"]
        webhook.refresh_from_db()
        assert (webhook.failing_since, webhook.active) == (now, hour < 24)
    assert webhook.deactivated_at == now + timedelta(hours=24)
    assert not WebhookDelivery.objects.filter(status="pending").exists()  # the held-back updates are given up
    assert WebhookDelivery.objects.count() == 2
    assert webhook_deliveries_due(now=now + timedelta(days=3)) == []
    assert len(server.received) == 5


def test_a_success_ends_the_failing_spell(post, receiver):
    server, webhook = receiver
    server.answers = [500]
    run_batch(post(log("EV-A1", 1, hot=50.0)))
    now = timezone.now()
    send_due(now)
    webhook.refresh_from_db()
    assert webhook.failing_since == now
    send_due(now + timedelta(seconds=30))
    webhook.refresh_from_db()
    assert (webhook.failing_since, webhook.active) == (None, True)


def test_a_url_that_turns_private_is_not_called(post, receiver, settings):
    server, _ = receiver
    run_batch(post(log("EV-A1", 1, hot=50.0)))
    settings.WEBHOOK_ALLOW_PRIVATE = False
    settings.DEBUG = True  # http allowed; the address is what is refused
    assert send_due(timezone.now()) == ["pending"]
    assert server.received == []
    attempt = DeliveryAttempt.objects.get()
    assert attempt.status_code is None
    assert "non-public address (127.0.0.1)" in attempt.error


def test_the_periodic_task_publishes_due_deliveries(post, receiver):
    from alerts.tasks import deliver_due_webhooks

    server, _ = receiver
    run_batch(post(log("EV-A1", 1, hot=50.0)))
    assert deliver_due_webhooks.apply().get() == 1  # eager here: the delivery task runs in-process
    assert [r["type"] for r in server.received] == ["alert.opened"]
    assert deliver_due_webhooks.apply().get() == 0


OUTAGE = timedelta(minutes=10)
BEAT = timedelta(seconds=15)  # settings.ALERTS_BEAT_INTERVAL_S: how often beat sends the due deliveries


def test_a_receiver_down_for_10_minutes_gets_every_event_afterwards_once_and_in_order(post, receiver, fleet):
    """The receiver's socket is closed (connection refused) for 10 minutes of a controlled clock while alerts
    open, rise, are acknowledged, resolve and open again; beat (send_due) runs every 15 s of that clock. Then
    it listens again: every event arrives, once per webhook-id, in sequence order per alert."""
    server, webhook = receiver
    hot = [f"EV-O{n}" for n in range(4)]

    def beat_until(end: datetime, during: dict[int, Any]) -> None:
        nonlocal clock
        tick = 0
        while clock < end:
            if tick in during:
                during[tick]()
            send_due(clock)
            clock += BEAT
            tick += 1

    run_batch(post(*(log(v, 1, hot=50.0, soh=75.0 if n % 2 else 90.0) for n, v in enumerate(hot))))
    clock = timezone.now()  # from here on the test's clock, ahead of the real one (which stamps new deliveries)
    assert send_due(clock) == ["delivered"] * 6  # 4 overheating, 2 low_soh: opened while the receiver is up
    before = len(server.received)

    server.stop()
    down_at = clock
    fleet_alerts = lambda vehicle_ids: Alert.objects.filter(vehicle__vehicle_id__in=vehicle_ids)  # noqa: E731
    script = {
        4: lambda: run_batch(post(*(log(v, 2, hot=61.0, soh=65.0) for v in hot))),  # all critical: updated
        10: lambda: [
            alert_acknowledge(fleet_id=fleet.id, alert_id=a.id, user=None, now=clock)
            for a in fleet_alerts(hot[:2]).filter(type="overheating")
        ],
        20: lambda: run_batch(post(*(log(v, 3) for v in hot))),
        21: lambda: run_batch(post(*(log(v, 4) for v in hot))),
        22: lambda: run_batch(post(*(log(v, 5) for v in hot))),  # the third clean report: all resolved
        30: lambda: run_batch(post(*(log(v, 6, hot=52.0) for v in ("EV-P0", "EV-P1")))),  # new vehicles' alerts
    }
    beat_until(down_at + OUTAGE, script)
    assert len(server.received) == before  # nothing got through while it was down
    refused = DeliveryAttempt.objects.filter(attempted_at__gt=down_at, attempted_at__lt=down_at + OUTAGE)
    assert refused.exists()
    assert not refused.exclude(status_code__isnull=True).exists()  # connection refused: no status code

    server.start()
    back_at = clock
    while WebhookDelivery.objects.filter(status="pending").exists() and clock < back_at + timedelta(hours=2):
        send_due(clock)
        clock += BEAT
    drained_after = clock - back_at

    deliveries = list(WebhookDelivery.objects.filter(webhook=webhook))
    assert {d.status for d in deliveries} == {"delivered"}
    assert server.rejected == []  # every signature verified with standardwebhooks
    assert server.message_ids() == {f"msg_{d.id}" for d in deliveries}  # every event arrived
    assert server.out_of_order() == []  # in sequence order per alert
    arrived: dict[str, list[int]] = {}
    for item in server.received:
        arrived.setdefault(item["data"]["alert"]["id"], []).append(item["data"]["sequence"])
    for alert in Alert.objects.all():
        assert sorted(set(arrived[str(alert.id)])) == list(range(1, alert.sequence + 1))
    events = sorted(item["type"] for item in server.received[before:])
    # during the outage: 4 overheating and 2 low_soh alerts rise to critical, 2 low_soh alerts open (65 %),
    # 2 are acknowledged, all 8 resolve, and 2 other vehicles' overheating alerts open
    assert events.count("alert.updated") == 6
    assert events.count("alert.acknowledged") == 2
    assert events.count("alert.resolved") == 8
    assert events.count("alert.opened") == 4
    duplicates = server.duplicates()
    print(
        f"\nreceiver down {OUTAGE}: {len(deliveries)} deliveries, {len(server.received)} requests, "
        f"{duplicates} duplicate(s) by webhook-id, all delivered {drained_after} after it came back"
    )
    assert duplicates == 0  # the sender never got a 2xx it did not count: nothing to repeat
    assert drained_after <= timedelta(minutes=30)  # the backoff's next attempts after 10 min of refusals


# --------------------------------------------------------------------------- escalation and the summary


def test_a_critical_alert_left_unacknowledged_escalates_once(post, hook, settings):
    hook()
    run_batch(post(log("EV-A1", 1, hot=65.0)))
    alert = Alert.objects.get()
    assert alert.severity == "critical"
    settings.ALERT_ESCALATE_AFTER = timedelta(minutes=30)
    assert alerts_escalate(now=alert.critical_at + timedelta(minutes=29, seconds=59)) == 0
    assert alerts_escalate(now=alert.critical_at + timedelta(minutes=30)) == 1
    assert alerts_escalate(now=alert.critical_at + timedelta(hours=5)) == 0
    assert list(WebhookDelivery.objects.order_by("sequence").values_list("event", "sequence")) == [
        ("alert.opened", 1),
        ("alert.escalated", 2),
    ]


def test_warning_and_acknowledged_alerts_do_not_escalate(post, fleet):
    run_batch(post(log("EV-A1", 1, hot=50.0), log("EV-A2", 1, hot=65.0)))
    critical = Alert.objects.get(severity="critical")
    alert_acknowledge(fleet_id=fleet.id, alert_id=critical.id, user=None)
    assert alerts_escalate(now=timezone.now() + timedelta(days=1)) == 0


def test_the_fleet_summary_counts_unresolved_alerts_by_severity(post, fleet, other_fleet, ingest):
    run_batch(post(log("EV-A1", 1, hot=50.0, soh=60.0), log("EV-A2", 1, hot=65.0), log("EV-A3", 1, spread=True)))
    alert_resolve(fleet_id=fleet.id, alert_id=Alert.objects.get(vehicle__vehicle_id="EV-A3").id)
    run_batch([ingest(other_fleet, log("EV-B1", 1, hot=65.0)).log_id])
    summary = fleet_summary(fleet_id=fleet.id, window=timedelta(days=1), now=timezone.now())
    assert summary["open_alerts"] == {"warning": 1, "critical": 2}


def test_a_webhook_deleted_during_an_attempt_ends_it_quietly(post, receiver, fleet, monkeypatch):
    server, webhook = receiver
    run_batch(post(log("EV-A1", 1, hot=50.0)))
    real_send = delivery_service.webhook_send

    def send_then_delete(**kwargs: Any) -> Any:
        result = real_send(**kwargs)
        services.webhook_delete(fleet_id=fleet.id, webhook_id=webhook.id)
        return result

    monkeypatch.setattr(delivery_service, "webhook_send", send_then_delete)
    assert send_due(timezone.now()) == [None]
    assert len(server.received) == 1
    assert (Webhook.objects.count(), WebhookDelivery.objects.count()) == (0, 0)


@pytest.mark.parametrize("delay_s", [0.0, 1.0])
def test_no_answer_within_the_timeout_is_a_failed_attempt(post, receiver, monkeypatch, delay_s):
    server, _ = receiver
    server.delay_s = delay_s
    monkeypatch.setattr(delivery_service, "DELIVERY_TIMEOUT_S", 0.5)  # the contract's 5 s, scaled down
    run_batch(post(log("EV-A1", 1, hot=50.0)))
    assert send_due(timezone.now()) == ["delivered" if delay_s == 0 else "pending"]
    attempt = DeliveryAttempt.objects.get()
    assert (attempt.error == "") is (delay_s == 0)


def _deliveries_counted(result: str) -> float:
    from prometheus_client import REGISTRY

    return REGISTRY.get_sample_value("battery_webhook_deliveries_total", {"result": result}) or 0.0


def test_delivery_attempts_are_counted_for_metrics_by_result(post, receiver):
    server, _webhook = receiver
    server.answers = [500]
    before = {result: _deliveries_counted(result) for result in ("delivered", "retrying", "failed")}
    run_batch(post(log("EV-A1", 1, hot=50.0)))
    now = timezone.now()

    send_due(now)
    send_due(now + timedelta(seconds=30))

    assert _deliveries_counted("retrying") - before["retrying"] == 1
    assert _deliveries_counted("delivered") - before["delivered"] == 1
    assert _deliveries_counted("failed") - before["failed"] == 0


def test_one_batch_that_resolves_an_alert_and_opens_the_next_stores_both(post):
    """Seen in the fault suite: a batch whose clean reports resolve a vehicle's open alert and whose later
    report opens the next one of the same type must move the old one out of the unique index first."""
    run_batch(post(log("EV-A1", 1, hot=50.0)))
    first = unresolved()[0]

    run_batch(post(log("EV-A1", 2), log("EV-A1", 3), log("EV-A1", 4), log("EV-A1", 5, hot=52.0)))

    first.refresh_from_db()
    assert (first.state, first.resolution) == ("resolved", "auto")
    [second] = unresolved()
    assert (second.type, second.state, second.occurrences) == ("overheating", "open", 1)
    assert second.id != first.id
