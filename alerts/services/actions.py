"""The fleet's actions on its alerts (acknowledge, resolve) and the periodic escalation: each a change of the alert
and its event in the outbox, in one transaction. Services take `now` so that tests control time."""

import uuid
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from alerts import rules
from alerts.models import Alert
from alerts.selectors import alert_data
from alerts.services.outbox import outbox_write
from common.exceptions import ConflictError, NotFoundError


def _event_of(alert: Alert, event: str, *, now: datetime) -> None:
    """Save the alert with its change and its next event number, and write the event's deliveries."""
    alert.sequence += 1
    alert.save()
    outbox_write([(str(alert.id), alert.vehicle.fleet_id, event, alert.sequence, alert_data(alert))], now=now)


class AlertResolvedConflict(ConflictError):
    """409: a resolved alert cannot be acknowledged."""

    default_message = "The alert is resolved; a resolved alert cannot be acknowledged."


def _alert_for_update(*, fleet_id: int, alert_id: uuid.UUID) -> Alert:
    alert = (
        Alert.objects.select_for_update(of=("self",))
        .select_related("vehicle", "acknowledged_by")
        .filter(pk=alert_id, vehicle__fleet_id=fleet_id)
        .first()
    )
    if alert is None:
        raise NotFoundError("No such alert.")
    return alert


def alert_acknowledge(*, fleet_id: int, alert_id: uuid.UUID, user: Any, now: datetime | None = None) -> Alert:
    """Acknowledge the fleet's alert (`alert.acknowledged`). Already acknowledged: unchanged, no event;
    resolved: AlertResolvedConflict (409); another fleet's or unknown: NotFoundError (404)."""
    now = now or timezone.now()
    with transaction.atomic():
        alert = _alert_for_update(fleet_id=fleet_id, alert_id=alert_id)
        if alert.state == rules.RESOLVED:
            raise AlertResolvedConflict()
        if alert.state == rules.OPEN:
            alert.state, alert.acknowledged_at, alert.acknowledged_by = rules.ACKNOWLEDGED, now, user
            _event_of(alert, rules.ACKNOWLEDGED_EVENT, now=now)
    return alert


def alert_resolve(*, fleet_id: int, alert_id: uuid.UUID, now: datetime | None = None) -> Alert:
    """Resolve the fleet's alert by hand (`resolution: "manual"`, `alert.resolved`). Already resolved:
    unchanged, no event (a retried POST gets the same answer); another fleet's or unknown: NotFoundError (404)."""
    now = now or timezone.now()
    with transaction.atomic():
        alert = _alert_for_update(fleet_id=fleet_id, alert_id=alert_id)
        if alert.state != rules.RESOLVED:
            alert.state, alert.resolved_at, alert.resolution = rules.RESOLVED, now, rules.MANUAL
            _event_of(alert, rules.RESOLVED_EVENT, now=now)
    return alert


def alerts_escalate(*, now: datetime | None = None, after: timedelta | None = None, limit: int = 500) -> int:
    """Send `alert.escalated` once for each critical alert still `open` (unacknowledged) `after` (default
    settings.ALERT_ESCALATE_AFTER) since it became critical; the number escalated. Safe to run in several
    places at once (SKIP LOCKED; `escalated_at` marks it done)."""
    now = now or timezone.now()
    after = settings.ALERT_ESCALATE_AFTER if after is None else after
    with transaction.atomic():
        due = list(
            Alert.objects.select_for_update(of=("self",), skip_locked=True)
            .select_related("vehicle", "acknowledged_by")
            .filter(state=rules.OPEN, severity=rules.CRITICAL, escalated_at__isnull=True, critical_at__lte=now - after)
            .order_by("critical_at")[:limit]
        )
        for alert in due:
            alert.escalated_at = now
            alert.sequence += 1
        Alert.objects.bulk_update(due, ["escalated_at", "sequence"], batch_size=max(1, len(due)))
        outbox_write(
            [(str(a.id), a.vehicle.fleet_id, rules.ESCALATED, a.sequence, alert_data(a)) for a in due], now=now
        )
    return len(due)
