from django.contrib import admin

from alerts.models import Alert, DeliveryAttempt, Webhook, WebhookDelivery


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = ("id", "vehicle", "type", "severity", "state", "last_seen_at", "occurrences")
    list_filter = ("state", "type", "severity")
    raw_id_fields = ("vehicle", "acknowledged_by")


@admin.register(Webhook)
class WebhookAdmin(admin.ModelAdmin):
    list_display = ("id", "fleet", "url", "active", "created_at")
    exclude = ("secret",)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ("id", "webhook", "event", "sequence", "status", "attempts", "next_attempt_at")
    list_filter = ("status", "event")
    raw_id_fields = ("webhook", "alert")


@admin.register(DeliveryAttempt)
class DeliveryAttemptAdmin(admin.ModelAdmin):
    list_display = ("delivery", "attempted_at", "status_code", "error", "duration_ms")
    raw_id_fields = ("delivery",)
