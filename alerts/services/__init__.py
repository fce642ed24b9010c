"""Writes for alerts, one module per idea: `evaluation` (a report batch folded into alerts, in the report worker's
transaction), `outbox` (an alert event's delivery rows), `actions` (acknowledge, resolve, escalate) and `delivery`
(webhook registration and sending). This package re-exports what the other modules import; patch a name in the
module that looks it up (e.g. `alerts.services.delivery.webhook_send`), not here."""

from alerts.services.actions import alert_acknowledge, alert_resolve, alerts_escalate
from alerts.services.delivery import webhook_create, webhook_delete, webhook_deliveries_due, webhook_delivery_attempt
from alerts.services.evaluation import EvaluatedReport, alerts_evaluate

__all__ = [
    "EvaluatedReport",
    "alert_acknowledge",
    "alert_resolve",
    "alerts_escalate",
    "alerts_evaluate",
    "webhook_create",
    "webhook_delete",
    "webhook_deliveries_due",
    "webhook_delivery_attempt",
]
