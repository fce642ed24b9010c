"""Reads for alerts and webhooks, always scoped to the caller's fleet."""

from datetime import datetime
from typing import Any

from django.db.models import Count, Q, QuerySet

from alerts import rules
from alerts.models import UNRESOLVED_STATES, Alert, Webhook, WebhookDelivery
from common.timestamps import format_timestamp


def _time(value: datetime | None) -> str | None:
    return None if value is None else format_timestamp(value)


def alert_payload(
    *,
    id: str,
    vehicle_id: str,
    type: str,
    severity: str,
    state: str,
    opened_at: datetime,
    last_seen_at: datetime,
    occurrences: int,
    last_log_id: str,
    cells: list[int],
    acknowledged_at: datetime | None,
    acknowledged_by: str | None,
    resolved_at: datetime | None,
    resolution: str | None,
) -> dict[str, Any]:
    """The contract's alert object (API.md section 7), for the API and the webhook bodies alike."""
    return {
        "id": str(id),
        "vehicle_id": vehicle_id,
        "type": type,
        "severity": severity,
        "state": state,
        "opened_at": format_timestamp(opened_at),
        "last_seen_at": format_timestamp(last_seen_at),
        "occurrences": occurrences,
        "last_log_id": str(last_log_id),
        "cells": list(cells),
        "acknowledged_at": _time(acknowledged_at),
        "acknowledged_by": acknowledged_by,
        "resolved_at": _time(resolved_at),
        "resolution": resolution,
    }


def alert_data(alert: Alert) -> dict[str, Any]:
    """An alert row (with `vehicle` and `acknowledged_by` selected) as the contract's object."""
    return alert_payload(
        id=str(alert.id),
        vehicle_id=alert.vehicle.vehicle_id,
        type=alert.type,
        severity=alert.severity,
        state=alert.state,
        opened_at=alert.opened_at,
        last_seen_at=alert.last_seen_at,
        occurrences=alert.occurrences,
        last_log_id=str(alert.last_log_id),
        cells=list(alert.cells),
        acknowledged_at=alert.acknowledged_at,
        acknowledged_by=alert.acknowledged_by.username if alert.acknowledged_by is not None else None,
        resolved_at=alert.resolved_at,
        resolution=alert.resolution,
    )


def alerts_of_fleet(*, fleet_id: int) -> QuerySet[Alert]:
    return Alert.objects.filter(vehicle__fleet_id=fleet_id).select_related("vehicle", "acknowledged_by")


def alert_get(*, fleet_id: int, alert_id: Any) -> Alert | None:
    """The fleet's alert, or None when it is unknown or another fleet's (never disclosed)."""
    return alerts_of_fleet(fleet_id=fleet_id).filter(pk=alert_id).first()


def alerts_open_counts(*, fleet_id: int) -> dict[str, int]:
    """Unresolved alerts of the fleet by severity: {"warning": n, "critical": n}."""
    counts = Alert.objects.filter(vehicle__fleet_id=fleet_id, state__in=UNRESOLVED_STATES).aggregate(
        **{severity: Count("id", filter=Q(severity=severity)) for severity in rules.SEVERITIES}
    )
    return {severity: counts[severity] or 0 for severity in rules.SEVERITIES}


def webhooks_of_fleet(*, fleet_id: int) -> QuerySet[Webhook]:
    return Webhook.objects.filter(fleet_id=fleet_id)


def webhook_data(webhook: Webhook) -> dict[str, Any]:
    """A webhook without its secret (shown once, at registration)."""
    return {
        "id": str(webhook.id),
        "url": webhook.url,
        "events": list(webhook.events),
        "active": webhook.active,
        "created_at": format_timestamp(webhook.created_at),
    }


def deliveries_of_webhook(*, fleet_id: int, webhook_id: Any) -> QuerySet[WebhookDelivery] | None:
    """The webhook's deliveries, or None when the webhook is unknown or another fleet's."""
    if not Webhook.objects.filter(pk=webhook_id, fleet_id=fleet_id).exists():
        return None
    return WebhookDelivery.objects.filter(webhook_id=webhook_id)


def delivery_data(delivery: WebhookDelivery) -> dict[str, Any]:
    return {
        "id": str(delivery.id),
        "event": delivery.event,
        "sequence": delivery.sequence,
        "attempts": delivery.attempts,
        "status": delivery.status,
        "last_status_code": delivery.last_status_code,
        "next_attempt_at": _time(delivery.next_attempt_at),
        "created_at": format_timestamp(delivery.created_at),
    }
