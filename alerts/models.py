"""Alerts (one condition on one vehicle, followed over time), webhooks and their deliveries (the outbox).

The vocabulary (types, severities, states, events, delivery statuses) is common.vocabulary's; these choices are
built from it.
"""

import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models.functions import Now

from alerts import rules
from common import vocabulary
from common.choices import text_choices

AlertType = text_choices("AlertType", vocabulary.ALERT_TYPES)
Severity = text_choices("Severity", vocabulary.SEVERITIES)
AlertState = text_choices("AlertState", vocabulary.ALERT_STATES)
Resolution = text_choices("Resolution", vocabulary.RESOLUTIONS)
WebhookEvent = text_choices("WebhookEvent", vocabulary.WEBHOOK_EVENTS)
DeliveryStatus = text_choices("DeliveryStatus", vocabulary.DELIVERY_STATUSES)


# Unresolved: the partial unique constraint and every "unresolved" query use this same predicate.
UNRESOLVED_STATES = (rules.OPEN, rules.ACKNOWLEDGED)
UNRESOLVED_SQL = "state IN ('open', 'acknowledged')"


class Alert(models.Model):
    """One condition (`type`) on one vehicle, from the report that first showed it until it resolves.

    `opened_at`/`last_seen_at` are log timestamps (UTC): the first and the newest report with the condition;
    `last_log_id` is that newest report's log, `cells` its cell ids involved, `occurrences` the reports with
    it. `acknowledged_at`, `resolved_at`, `critical_at` (severity became critical) and `escalated_at` are
    server times. Evaluation bookkeeping: `clean_streak` counts consecutive newer reports of the vehicle
    without the condition (the alert resolves by itself at settings.ALERT_CLEAR_AFTER); `sequence` numbers
    the alert's last webhook event. At most one unresolved alert per (vehicle, type): the database says so.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    vehicle = models.ForeignKey("vehicles.Vehicle", on_delete=models.CASCADE, related_name="alerts")
    type = models.CharField(max_length=32, choices=AlertType.choices)
    severity = models.CharField(max_length=16, choices=Severity.choices)
    state = models.CharField(max_length=16, choices=AlertState.choices, default=rules.OPEN)
    opened_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    occurrences = models.PositiveIntegerField(default=1)
    last_log_id = models.UUIDField()
    cells = ArrayField(models.IntegerField(), default=list, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution = models.CharField(  # noqa: DJ001 (NULL until resolved: "unresolved" is not a resolution)
        max_length=16, choices=Resolution.choices, null=True, blank=True
    )
    clean_streak = models.PositiveIntegerField(default=0)
    sequence = models.PositiveIntegerField(default=0)
    critical_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["vehicle", "type"],
                condition=models.Q(state__in=UNRESOLVED_STATES),
                name="alert_one_unresolved_per_vehicle_type",
            ),
        ]
        indexes = [
            models.Index(fields=["-last_seen_at", "-id"], name="alert_last_seen_idx"),
            models.Index(
                fields=["critical_at"],
                condition=models.Q(state=rules.OPEN, severity=rules.CRITICAL, escalated_at__isnull=True),
                name="alert_escalation_due_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type} on {self.vehicle_id} ({self.state})"


class AlertWatermark(models.Model):
    """Per vehicle, the newest log timestamp whose report alert evaluation has taken: an older report is late
    and changes no alert, whatever order the reports complete in.

    `soh_at`, `soh`: the SoH series that `soh_jump` is judged on, the log timestamps (epoch seconds) and the
    SoH (%) of the last alerts.rules.SOH_JUMP_WINDOW evaluated reports, oldest first (late reports never enter
    it). Two plain arrays, not JSON: the report batch appends to them and reads their range in SQL."""

    vehicle = models.OneToOneField("vehicles.Vehicle", on_delete=models.CASCADE, primary_key=True, related_name="+")
    evaluated_until = models.DateTimeField()
    soh_at = ArrayField(models.BigIntegerField(), default=list, blank=True)
    soh = ArrayField(models.FloatField(), default=list, blank=True)

    def __str__(self) -> str:
        return f"{self.vehicle_id} evaluated until {self.evaluated_until.isoformat()}"


class Webhook(models.Model):
    """A fleet's endpoint for alert events, signed per Standard Webhooks with `secret` (`whsec_` + base64).

    The secret is stored as is: signing needs it (it is shown to the fleet once, at registration).
    `failing_since`: the first failed attempt since the last success; after 24 h of that, `active` turns false.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    fleet = models.ForeignKey("fleets.Fleet", on_delete=models.CASCADE, related_name="webhooks")
    url = models.URLField(max_length=2000)
    events = ArrayField(models.CharField(max_length=32, choices=WebhookEvent.choices))
    secret = models.CharField(max_length=100, editable=False)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(db_default=Now())
    failing_since = models.DateTimeField(null=True, blank=True)
    deactivated_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.url


class WebhookDelivery(models.Model):
    """One event for one webhook (the outbox row), written in the transaction that changed the alert.

    `body` is the exact JSON sent (and signed) on every attempt; the delivery's id is the `webhook-id`, the
    same on every attempt so a receiver can drop repeats. Deliveries of one alert to one webhook go out in
    `sequence` order: one waits while an earlier one is pending.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="+")
    event = models.CharField(max_length=32, choices=WebhookEvent.choices)
    sequence = models.PositiveIntegerField()
    body = models.TextField()
    status = models.CharField(max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(db_default=Now())
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["webhook", "alert", "sequence"], name="delivery_webhook_alert_seq_uniq"),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"], condition=models.Q(status="pending"), name="delivery_pending_due_idx"
            ),
            models.Index(fields=["webhook", "-created_at", "-id"], name="delivery_webhook_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event} #{self.sequence} -> {self.webhook_id} ({self.status})"


class DeliveryAttempt(models.Model):
    """The delivery log: one row per attempt, with what the receiver answered (or why nothing was sent)."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log")
    attempted_at = models.DateTimeField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    duration_ms = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.delivery_id} @ {self.attempted_at.isoformat()}: {self.status_code or self.error}"
