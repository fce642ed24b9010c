"""What several of the alert services need: the names of the tables they write in SQL."""

from alerts.models import Webhook, WebhookDelivery

DELIVERY_TABLE = WebhookDelivery._meta.db_table
WEBHOOK_TABLE = Webhook._meta.db_table
