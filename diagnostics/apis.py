"""HTTP interface of ingestion: validate, make one service call, serialize."""

from collections import Counter
from typing import Any

from django.conf import settings
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common import vocabulary
from common.logs import bind as log_context_bind
from common.metrics import INGEST_LOGS
from common.openapi import AUTHENTICATED_ERRORS, INGEST_RESPONSE, ErrorDetailSerializer, error_responses
from common.parsers import RawBulkJSONParser, RawJSONParser, RawNDJSONParser
from common.request import json_body
from common.timestamps import format_timestamp
from common.uuids import uuid_or_404
from diagnostics.selectors import diagnostic_log_get
from diagnostics.serializers import DiagnosticLogOutputSerializer, DiagnosticLogSerializer
from diagnostics.services import BulkStatus, diagnostic_log_ingest, diagnostic_log_status, diagnostic_logs_ingest_bulk
from diagnostics.validation import ItemError, log_validate, logs_validate_bulk
from fleets.permissions import IsFleetMember
from vehicles.models import ProcessingStatus
from vehicles.permissions import IsFleetUserOrDevice, device_vehicle_id

# pending and processing are one "processing" to a client; a failed log (a retry of a poison log) says so.
_STATUS_SHOWN = {ProcessingStatus.COMPLETED: "completed", ProcessingStatus.FAILED: "failed"}


def report_location(log_id: object) -> str:
    return f"/api/v1/reports/{log_id}"


class DiagnosticLogIngestApi(APIView):
    """POST /api/v1/diagnostics: 202 for a new log, 200 for a same-content retry (a fleet user, or a device
    credential for its own vehicle)."""

    permission_classes = [IsAuthenticated, IsFleetUserOrDevice]
    parser_classes = [RawJSONParser]

    @extend_schema(
        operation_id="diagnostics_create",
        request=DiagnosticLogSerializer,
        responses={
            202: OpenApiResponse(INGEST_RESPONSE, description="Accepted and committed; Location names the report."),
            200: OpenApiResponse(INGEST_RESPONSE, description="A same-content retry: the original log_id."),
            **error_responses(400, 409, 413, 415, *AUTHENTICATED_ERRORS),
        },
    )
    def post(self, request: Request) -> Response:
        data = log_validate(json_body(request))
        log_context_bind(fleet=request.user.fleet_id, vehicle_id=data["vehicle_id"])
        result = diagnostic_log_ingest(
            fleet_id=request.user.fleet_id, data=data, device_vehicle_id=device_vehicle_id(request)
        )
        log_context_bind(log_id=str(result.log_id))
        status = result.status
        if result.created and settings.CELERY_TASK_ALWAYS_EAGER:
            # In-process mode computed the report on commit; say so.
            status = diagnostic_log_status(log_id=result.log_id)
        body = {
            "message": "Diagnostic log received",
            "log_id": str(result.log_id),
            "status": _STATUS_SHOWN.get(status, "processing"),
        }
        return Response(
            body, status=202 if result.created else 200, headers={"Location": report_location(result.log_id)}
        )


class DiagnosticLogDetailApi(APIView):
    """GET /api/v1/diagnostics/<log_id>: the stored log as validated (cells sorted by id)."""

    permission_classes = [IsAuthenticated, IsFleetMember]

    @extend_schema(
        operation_id="diagnostics_retrieve",
        responses={200: DiagnosticLogOutputSerializer, **error_responses(404, *AUTHENTICATED_ERRORS)},
    )
    def get(self, request: Request, log_id: str) -> Response:
        log = diagnostic_log_get(log_id=uuid_or_404(log_id), fleet_id=request.user.fleet_id)
        if log is None:
            raise NotFound("No such log.")
        return Response(
            {
                "log_id": str(log["id"]),
                "vehicle_id": log["vehicle__vehicle_id"],
                "timestamp": format_timestamp(log["timestamp"]),
                "cells": log["cells"],
                "cycle_count": log["cycle_count"],
                "nominal_capacity_kwh": log["nominal_capacity_kwh"],
                "current_capacity_kwh": log["current_capacity_kwh"],
                "received_at": format_timestamp(log["received_at"]),
                "status": log["status"],
            }
        )


BULK_RESPONSE = inline_serializer(
    "BulkIngestResponse",
    {
        "results": inline_serializer(
            "BulkItemResult",
            {
                "index": serializers.IntegerField(),
                "status": serializers.ChoiceField(choices=vocabulary.codes(vocabulary.BULK_ITEM_STATUSES)),
                "http_status": serializers.ChoiceField(choices=[202, 200, 409, 400, 403]),
                "log_id": serializers.UUIDField(required=False),
                "error": ErrorDetailSerializer(required=False),
            },
            many=True,
        ),
        "counts": serializers.DictField(child=serializers.IntegerField()),
    },
)

_ITEM_HTTP_STATUS = {
    BulkStatus.CREATED: 202,
    BulkStatus.DUPLICATE: 200,
    BulkStatus.CONFLICT: 409,
    BulkStatus.INVALID: 400,
    BulkStatus.FORBIDDEN: 403,
}


# A bulk item's status as an ingest outcome of battery_ingest_logs_total (common.middleware counts the single
# endpoint's, and a bulk request refused as a whole).
_INGEST_OUTCOME = {
    BulkStatus.CREATED: "accepted",
    BulkStatus.DUPLICATE: "duplicate",
    BulkStatus.CONFLICT: "conflict",
    BulkStatus.INVALID: "invalid",
    BulkStatus.FORBIDDEN: "forbidden",
}


class DiagnosticLogBulkIngestApi(APIView):
    """POST /api/v1/diagnostics/bulk: up to 1,000 logs (JSON array or NDJSON), each judged on its own (a
    fleet user, or a device credential: an item of another vehicle is then forbidden)."""

    permission_classes = [IsAuthenticated, IsFleetUserOrDevice]
    parser_classes = [RawBulkJSONParser, RawNDJSONParser]

    @extend_schema(
        operation_id="diagnostics_bulk_create",
        # Any item is accepted here and judged on its own: an invalid one is a per-item 400, not a 400.
        request={
            "application/json": {
                "type": "array",
                "items": {"description": "A diagnostic log (schema DiagnosticLogRequest); up to 1,000 per request."},
            },
            "application/x-ndjson": {"type": "string", "description": "One diagnostic log per line."},
        },
        responses={
            200: OpenApiResponse(BULK_RESPONSE, description="One result per item, in order."),
            **error_responses(400, 413, 415, *AUTHENTICATED_ERRORS),
        },
    )
    def post(self, request: Request) -> Response:
        body = json_body(request, media_types=("application/json", "application/x-ndjson"))
        items = logs_validate_bulk(body)
        results: dict[int, dict[str, Any]] = {}
        valid: dict[int, dict[str, Any]] = {}
        for index, item in enumerate(items):
            if isinstance(item, ItemError):
                results[index] = {"status": BulkStatus.INVALID, "error": item.error}
            else:
                valid[index] = item
        outcomes = diagnostic_logs_ingest_bulk(
            fleet_id=request.user.fleet_id, items=valid, device_vehicle_id=device_vehicle_id(request)
        )
        for index, outcome in outcomes.items():
            result: dict[str, Any] = {"status": outcome.status, "log_id": str(outcome.log_id)}
            if outcome.status == BulkStatus.CONFLICT:
                result["error"] = {
                    "code": "conflict",
                    "message": "A log with this vehicle_id and timestamp exists with different content.",
                    "log_id": str(outcome.log_id),
                }
            elif outcome.status == BulkStatus.FORBIDDEN:
                del result["log_id"]
                result["error"] = {
                    "code": "permission_denied",
                    "message": outcome.message or f"Vehicle {valid[index]['vehicle_id']} belongs to another fleet.",
                }
            results[index] = result
        ordered = [
            {"index": index, "http_status": _ITEM_HTTP_STATUS[results[index]["status"]], **results[index]}
            for index in range(len(items))
        ]
        counts = Counter(result["status"] for result in ordered)
        log_context_bind(fleet=request.user.fleet_id)
        for status, outcome in _INGEST_OUTCOME.items():
            if counts.get(status):
                INGEST_LOGS.labels(outcome).inc(counts[status])
        return Response({"results": ordered, "counts": {status: counts.get(status, 0) for status in _ITEM_HTTP_STATUS}})
