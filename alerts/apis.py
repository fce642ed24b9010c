"""HTTP interface of alerts (API.md section 7): the fleet's alerts and their lifecycle, its webhooks."""

import uuid

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from alerts import rules
from alerts.filters import AlertFilterSet
from alerts.selectors import (
    alert_data,
    alert_get,
    alerts_of_fleet,
    deliveries_of_webhook,
    delivery_data,
    webhook_data,
    webhooks_of_fleet,
)
from alerts.serializers import (
    AlertSerializer,
    DeliverySerializer,
    WebhookCreatedSerializer,
    WebhookCreateInputSerializer,
    WebhookSerializer,
)
from alerts.services import alert_acknowledge, alert_resolve, webhook_create, webhook_delete
from common.filters import filtered
from common.openapi import AUTHENTICATED_ERRORS, LIST_PARAMETERS, error_responses, list_response
from common.pagination import KeysetCursorPagination


def _id_or_404(value: str, what: str) -> uuid.UUID:
    """A malformed id names nothing: 404, like an unknown one (and never reaches the database)."""
    try:
        return uuid.UUID(value)
    except ValueError:
        raise NotFound(f"No such {what}.") from None


class AlertListApi(APIView):
    """GET /api/v1/alerts: the fleet's alerts, newest last_seen_at first, cursor-paginated and filtered."""

    @extend_schema(
        operation_id="alerts_list",
        parameters=[
            *LIST_PARAMETERS,
            OpenApiParameter("state", str, enum=list(rules.STATES)),
            OpenApiParameter("type", str, enum=list(rules.ALERT_TYPES)),
            OpenApiParameter("severity", str, enum=list(rules.SEVERITIES)),
            OpenApiParameter("vehicle_id", str),
        ],
        responses={200: list_response(AlertSerializer, "AlertList"), **error_responses(400, *AUTHENTICATED_ERRORS)},
    )
    def get(self, request: Request) -> Response:
        queryset, _ = filtered(
            AlertFilterSet(request.query_params, queryset=alerts_of_fleet(fleet_id=request.user.fleet_id))
        )
        paginator = KeysetCursorPagination(ordering="-last_seen_at", salt="alerts")
        page = paginator.paginate_queryset(queryset, request, view=self)
        return paginator.get_paginated_response([alert_data(alert) for alert in page])


class AlertDetailApi(APIView):
    """GET /api/v1/alerts/<id>: one alert; another fleet's: 404."""

    @extend_schema(
        operation_id="alerts_retrieve", responses={200: AlertSerializer, **error_responses(404, *AUTHENTICATED_ERRORS)}
    )
    def get(self, request: Request, alert_id: str) -> Response:
        alert = alert_get(fleet_id=request.user.fleet_id, alert_id=_id_or_404(alert_id, "alert"))
        if alert is None:
            raise NotFound("No such alert.")
        return Response(alert_data(alert))


class AlertAcknowledgeApi(APIView):
    """POST /api/v1/alerts/<id>/acknowledge: 200 the alert, acknowledged; a resolved one 409."""

    @extend_schema(
        operation_id="alerts_acknowledge",
        request=None,
        responses={
            200: OpenApiResponse(AlertSerializer, description="Acknowledged (again: unchanged)."),
            **error_responses(404, 409, *AUTHENTICATED_ERRORS),
        },
    )
    def post(self, request: Request, alert_id: str) -> Response:
        alert = alert_acknowledge(
            fleet_id=request.user.fleet_id, alert_id=_id_or_404(alert_id, "alert"), user=request.user
        )
        return Response(alert_data(alert))


class AlertResolveApi(APIView):
    """POST /api/v1/alerts/<id>/resolve: 200 the alert, resolved with resolution manual."""

    @extend_schema(
        operation_id="alerts_resolve",
        request=None,
        responses={
            200: OpenApiResponse(AlertSerializer, description="Resolved (already resolved: unchanged)."),
            **error_responses(404, *AUTHENTICATED_ERRORS),
        },
    )
    def post(self, request: Request, alert_id: str) -> Response:
        alert = alert_resolve(fleet_id=request.user.fleet_id, alert_id=_id_or_404(alert_id, "alert"))
        return Response(alert_data(alert))


class WebhookListCreateApi(APIView):
    """GET and POST /api/v1/webhooks."""

    @extend_schema(
        operation_id="webhooks_list",
        parameters=LIST_PARAMETERS,
        responses={200: list_response(WebhookSerializer, "WebhookList"), **error_responses(400, *AUTHENTICATED_ERRORS)},
    )
    def get(self, request: Request) -> Response:
        paginator = KeysetCursorPagination(ordering="created_at", salt="webhooks")
        page = paginator.paginate_queryset(webhooks_of_fleet(fleet_id=request.user.fleet_id), request, view=self)
        return paginator.get_paginated_response([webhook_data(webhook) for webhook in page])

    @extend_schema(
        operation_id="webhooks_create",
        description="Registers a webhook; the signing secret is in this answer only. The URL must be https and "
        "resolve to public addresses only (unless WEBHOOK_ALLOW_PRIVATE).",
        request=WebhookCreateInputSerializer,
        responses={201: WebhookCreatedSerializer, **error_responses(400, 413, 415, *AUTHENTICATED_ERRORS)},
    )
    def post(self, request: Request) -> Response:
        serializer = WebhookCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        webhook = webhook_create(fleet_id=request.user.fleet_id, **serializer.validated_data)
        return Response({**webhook_data(webhook), "secret": webhook.secret}, status=201)


class WebhookDetailApi(APIView):
    """DELETE /api/v1/webhooks/<id>: 204."""

    @extend_schema(
        operation_id="webhooks_destroy",
        responses={204: OpenApiResponse(description="Deleted."), **error_responses(404, *AUTHENTICATED_ERRORS)},
    )
    def delete(self, request: Request, webhook_id: str) -> Response:
        webhook_delete(fleet_id=request.user.fleet_id, webhook_id=_id_or_404(webhook_id, "webhook"))
        return Response(status=204)


class WebhookDeliveryListApi(APIView):
    """GET /api/v1/webhooks/<id>/deliveries: the delivery log, newest first."""

    @extend_schema(
        operation_id="webhooks_deliveries_list",
        parameters=LIST_PARAMETERS,
        responses={
            200: list_response(DeliverySerializer, "DeliveryList"),
            **error_responses(400, 404, *AUTHENTICATED_ERRORS),
        },
    )
    def get(self, request: Request, webhook_id: str) -> Response:
        queryset = deliveries_of_webhook(fleet_id=request.user.fleet_id, webhook_id=_id_or_404(webhook_id, "webhook"))
        if queryset is None:
            raise NotFound("No such webhook.")
        paginator = KeysetCursorPagination(ordering="-created_at", salt="deliveries")
        page = paginator.paginate_queryset(queryset, request, view=self)
        return paginator.get_paginated_response([delivery_data(delivery) for delivery in page])
