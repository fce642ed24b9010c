"""HTTP interface of ingestion: validate, make one service call, serialize."""

from django.conf import settings
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common.openapi import AUTHENTICATED_ERRORS, INGEST_RESPONSE, error_responses
from common.request import json_body
from common.uuids import uuid_or_404
from diagnostics.models import ProcessingStatus
from diagnostics.selectors import diagnostic_log_get
from diagnostics.serializers import (
    DiagnosticLogOutputSerializer,
    DiagnosticLogSerializer,
    format_timestamp,
    validate_log,
)
from diagnostics.services import diagnostic_log_ingest, diagnostic_log_status
from fleets.permissions import IsFleetMember


def report_location(log_id: object) -> str:
    return f"/api/v1/reports/{log_id}"


class DiagnosticLogIngestApi(APIView):
    """POST /api/v1/diagnostics: 202 for a new log, 200 for a same-content retry."""

    permission_classes = [IsAuthenticated, IsFleetMember]

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
        data = validate_log(json_body(request))
        result = diagnostic_log_ingest(fleet_id=request.user.fleet_id, data=data)
        status = result.status
        if result.created and settings.CELERY_TASK_ALWAYS_EAGER:
            # In-process mode computed the report on commit; say so.
            status = diagnostic_log_status(log_id=result.log_id)
        body = {
            "message": "Diagnostic log received",
            "log_id": str(result.log_id),
            "status": "completed" if status == ProcessingStatus.COMPLETED else "processing",
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
