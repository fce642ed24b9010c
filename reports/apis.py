"""HTTP interface of reports."""

from typing import Any

import orjson
from django.conf import settings
from django.db.models import QuerySet
from django.http import HttpResponse, StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common import readcache
from common.exceptions import ConflictError
from common.filters import filtered
from common.openapi import (
    AUTHENTICATED_ERRORS,
    LIST_PARAMETERS,
    PROCESSING_RESPONSE,
    TIME_WINDOW_PARAMETERS,
    ErrorSerializer,
    error_responses,
    list_response,
)
from common.pagination import KeysetCursorPagination
from common.renderers import ORJSONRenderer
from common.uuids import uuid_or_404
from fleets.permissions import IsFleetMember
from reports.certificate import certificate_filename, certificate_pdf
from reports.exports import CSV_HEADER, reports_csv_chunks
from reports.filters import ReportFilterSet, VehicleReportFilterSet
from reports.selectors import (
    SUMMARY_WINDOWS,
    TIMELINE_DAYS_DEFAULT,
    TIMELINE_DAYS_MAX,
    fleet_anomaly_timeline,
    fleet_summary,
    report_data,
    report_get,
    report_rows,
    reports_of_fleet,
    reports_of_vehicle,
    vehicle_certificate_data,
)
from reports.serializers import (
    REPORT_OK_RESPONSE,
    AnomalyTimelineSerializer,
    BatteryReportOutputSerializer,
    FleetSummarySerializer,
)
from vehicles.models import AnomalyCode, ProcessingStatus
from vehicles.selectors import vehicle_get

ANOMALY_PARAMETER = OpenApiParameter("anomaly", str, enum=AnomalyCode.values, description="Reports with it.")
REPORT_FILTER_PARAMETERS = [
    *TIME_WINDOW_PARAMETERS,
    ANOMALY_PARAMETER,
    OpenApiParameter("vehicle_id", str),
    OpenApiParameter("soh_lt", float, description="battery_soh below this (%)."),
]


class BatteryReportDetailApi(APIView):
    """GET /api/v1/reports/<log_id>: 200 with the report, 202 while processing, 404 if unknown or foreign."""

    permission_classes = [IsAuthenticated, IsFleetMember]

    @extend_schema(
        operation_id="reports_retrieve",
        responses={
            200: OpenApiResponse(REPORT_OK_RESPONSE, description="The report, or status failed with the reason."),
            202: OpenApiResponse(PROCESSING_RESPONSE, description="Not computed yet; see Retry-After."),
            **error_responses(404, *AUTHENTICATED_ERRORS),
        },
    )
    def get(self, request: Request, log_id: str) -> HttpResponse | Response:
        log_uuid = uuid_or_404(log_id)
        # The key carries the caller's fleet (common.readcache): another fleet's log is never a hit.
        key = readcache.report_key(fleet_id=request.user.fleet_id, log_id=log_uuid)
        cached = readcache.cached_get(key)
        if cached is not None:
            return HttpResponse(cached, content_type=ORJSONRenderer.media_type)
        row = report_get(log_id=log_uuid, fleet_id=request.user.fleet_id)
        if row is None:
            raise NotFound("No such log.")
        log_id_text = str(row["log_id"])
        if row["generated_at"] is not None:
            if not readcache.enabled():
                return Response(report_data(row))
            body = ORJSONRenderer().render(report_data(row))
            readcache.cached_set(key, body, ttl_s=settings.READ_CACHE_REPORT_TTL_S)
            return HttpResponse(body, content_type=ORJSONRenderer.media_type)
        if row["status"] == ProcessingStatus.FAILED:
            return Response({"log_id": log_id_text, "status": "failed", "error": row["error"]})
        return Response(
            {"log_id": log_id_text, "status": "processing"},
            status=202,
            headers={"Retry-After": str(settings.REPORT_RETRY_AFTER_SECONDS)},
        )


class VehicleReportListApi(APIView):
    """GET /api/v1/vehicles/<vehicle_id>/reports: the vehicle's completed reports, newest log timestamp first."""

    permission_classes = [IsAuthenticated, IsFleetMember]

    @extend_schema(
        operation_id="vehicles_reports_list",
        parameters=[*LIST_PARAMETERS, *TIME_WINDOW_PARAMETERS, ANOMALY_PARAMETER],
        responses={
            200: list_response(BatteryReportOutputSerializer, "VehicleReportList"),
            **error_responses(400, 404, *AUTHENTICATED_ERRORS),
        },
    )
    def get(self, request: Request, vehicle_id: str) -> Response:
        vehicle = vehicle_get(fleet_id=request.user.fleet_id, vehicle_id=vehicle_id)
        if vehicle is None:
            raise NotFound("No such vehicle.")
        queryset, _ = filtered(
            VehicleReportFilterSet(request.query_params, queryset=reports_of_vehicle(vehicle_pk=vehicle.pk))
        )
        return _report_page(request, self, queryset, salt="vehicle-reports", ordering="-log__timestamp")


class ReportListApi(APIView):
    """GET /api/v1/reports: the fleet's completed reports, newest log timestamp first."""

    permission_classes = [IsAuthenticated, IsFleetMember]

    @extend_schema(
        operation_id="reports_list",
        parameters=[*LIST_PARAMETERS, *REPORT_FILTER_PARAMETERS],
        responses={
            200: list_response(BatteryReportOutputSerializer, "ReportList"),
            **error_responses(400, *AUTHENTICATED_ERRORS),
        },
    )
    def get(self, request: Request) -> Response:
        queryset, _ = filtered(
            ReportFilterSet(request.query_params, queryset=reports_of_fleet(fleet_id=request.user.fleet_id))
        )
        return _report_page(request, self, queryset, salt="reports", ordering="-log_timestamp")


def _report_page(request: Request, view: APIView, queryset: QuerySet[Any], *, salt: str, ordering: str) -> Response:
    # A vehicle's reports: the logs' (vehicle, timestamp) index; the fleet's: the reports' (fleet, time) index.
    paginator = KeysetCursorPagination(ordering=ordering, tiebreak="log_id", salt=salt)
    page = paginator.paginate_queryset(report_rows(queryset), request, view=view)
    return paginator.get_paginated_response([report_data(row) for row in page])


class CSVRenderer(BaseRenderer):
    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        return orjson.dumps(data)  # only errors are rendered: the export itself streams


class ReportCsvApi(APIView):
    """GET /api/v1/reports.csv: the fleet's reports (same filters as the list) as CSV, streamed."""

    permission_classes = [IsAuthenticated, IsFleetMember]
    renderer_classes = [ORJSONRenderer, CSVRenderer]

    @extend_schema(
        operation_id="reports_csv",
        parameters=REPORT_FILTER_PARAMETERS,
        responses={
            (200, "text/csv"): OpenApiResponse(
                OpenApiTypes.STR, description="Header " + ",".join(CSV_HEADER) + ", then one row per report."
            ),
            **error_responses(400, *AUTHENTICATED_ERRORS),
        },
    )
    def get(self, request: Request) -> StreamingHttpResponse:
        queryset, _ = filtered(
            ReportFilterSet(request.query_params, queryset=reports_of_fleet(fleet_id=request.user.fleet_id))
        )
        response = StreamingHttpResponse(reports_csv_chunks(queryset), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="reports.csv"'
        return response

    def handle_exception(self, exc: Exception) -> Response:
        # Errors keep the contract's JSON shape, whatever the client accepts.
        self.request.accepted_renderer = ORJSONRenderer()
        self.request.accepted_media_type = ORJSONRenderer.media_type
        return super().handle_exception(exc)


class FleetSummaryApi(APIView):
    """GET /api/v1/fleet/summary?window=24h|7d|30d: the fleet at a glance."""

    permission_classes = [IsAuthenticated, IsFleetMember]

    @extend_schema(
        operation_id="fleet_summary",
        parameters=[OpenApiParameter("window", str, enum=list(SUMMARY_WINDOWS), description="Default 24h.")],
        responses={200: FleetSummarySerializer, **error_responses(400, *AUTHENTICATED_ERRORS)},
    )
    def get(self, request: Request) -> Response:
        window = request.query_params.get("window", "24h")
        if window not in SUMMARY_WINDOWS:
            raise ValidationError({"window": [f"Must be one of {', '.join(SUMMARY_WINDOWS)}."]})
        return Response(
            fleet_summary(fleet_id=request.user.fleet_id, window=SUMMARY_WINDOWS[window], now=timezone.now())
        )


class FleetAnomalyTimelineApi(APIView):
    """GET /api/v1/fleet/anomaly-timeline?days=30: the fleet's reports and anomalies per UTC day, oldest first."""

    permission_classes = [IsAuthenticated, IsFleetMember]

    @extend_schema(
        operation_id="fleet_anomaly_timeline",
        parameters=[
            OpenApiParameter(
                "days",
                {"type": "integer", "minimum": 1, "maximum": TIMELINE_DAYS_MAX},
                description=f"1-{TIMELINE_DAYS_MAX} (default {TIMELINE_DAYS_DEFAULT}): the UTC days up to today.",
            )
        ],
        responses={200: AnomalyTimelineSerializer, **error_responses(400, *AUTHENTICATED_ERRORS)},
    )
    def get(self, request: Request) -> Response:
        raw = request.query_params.get("days", str(TIMELINE_DAYS_DEFAULT))
        if not (raw.isascii() and raw.isdigit() and 1 <= int(raw) <= TIMELINE_DAYS_MAX):
            raise ValidationError({"days": [f"Must be an integer from 1 to {TIMELINE_DAYS_MAX}."]})
        return Response(fleet_anomaly_timeline(fleet_id=request.user.fleet_id, days=int(raw), now=timezone.now()))


class NoCompletedReport(ConflictError):
    """A certificate states a measured health: a vehicle without a completed report has none yet (its logs may
    still be processing). 409, not 404: the vehicle exists and the same request succeeds once a report does."""

    default_message = "The vehicle has no completed report yet: no certificate can be issued."


class PDFRenderer(BaseRenderer):
    media_type = "application/pdf"
    format = "pdf"
    charset = None

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        return orjson.dumps(data)  # only errors are rendered (as JSON): the certificate is a response of its own


class VehicleCertificateApi(APIView):
    """GET /api/v1/vehicles/<vehicle_id>/certificate.pdf: the battery health certificate, one A4 page."""

    permission_classes = [IsAuthenticated, IsFleetMember]
    renderer_classes = [ORJSONRenderer, PDFRenderer]

    @extend_schema(
        operation_id="vehicles_certificate",
        responses={
            (200, "application/pdf"): OpenApiResponse(
                OpenApiTypes.BINARY,
                description="The battery health certificate (A4 PDF), as an attachment named "
                "battery-certificate-<vehicle_id>-<YYYY-MM-DD>.pdf: the vehicle, its SoH (the /health trend) "
                "with its forecast and interval, the SoH trend chart, its cycle count, its anomalies of the "
                "last 90 days, the method and rules versions, the date of issue.",
            ),
            **error_responses(404),
            409: OpenApiResponse(
                ErrorSerializer, description="The vehicle has no completed report yet (conflict): nothing to certify."
            ),
            **error_responses(*AUTHENTICATED_ERRORS),
        },
    )
    def get(self, request: Request, vehicle_id: str) -> HttpResponse:
        vehicle = vehicle_get(fleet_id=request.user.fleet_id, vehicle_id=vehicle_id)
        if vehicle is None:
            raise NotFound("No such vehicle.")
        data = vehicle_certificate_data(vehicle=vehicle, now=timezone.now())
        if data is None:
            raise NoCompletedReport()
        response = HttpResponse(certificate_pdf(data), content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{certificate_filename(data)}"'
        return response

    def handle_exception(self, exc: Exception) -> Response:
        # Errors keep the contract's JSON shape, whatever the client accepts.
        self.request.accepted_renderer = ORJSONRenderer()
        self.request.accepted_media_type = ORJSONRenderer.media_type
        return super().handle_exception(exc)
