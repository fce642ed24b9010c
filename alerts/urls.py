from django.urls import path

from alerts.apis import (
    AlertAcknowledgeApi,
    AlertDetailApi,
    AlertListApi,
    AlertResolveApi,
    WebhookDeliveryListApi,
    WebhookDetailApi,
    WebhookListCreateApi,
)

urlpatterns = [
    path("alerts", AlertListApi.as_view(), name="alerts-list"),
    path("alerts/<str:alert_id>", AlertDetailApi.as_view(), name="alerts-detail"),
    path("alerts/<str:alert_id>/acknowledge", AlertAcknowledgeApi.as_view(), name="alerts-acknowledge"),
    path("alerts/<str:alert_id>/resolve", AlertResolveApi.as_view(), name="alerts-resolve"),
    path("webhooks", WebhookListCreateApi.as_view(), name="webhooks-list"),
    path("webhooks/<str:webhook_id>", WebhookDetailApi.as_view(), name="webhooks-detail"),
    path("webhooks/<str:webhook_id>/deliveries", WebhookDeliveryListApi.as_view(), name="webhooks-deliveries"),
]
