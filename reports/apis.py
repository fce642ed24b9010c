"""HTTP interface of reports."""

from django.conf import settings
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common.openapi import AUTHENTICATED_ERRORS, PROCESSING_RESPONSE, error_responses
from common.timestamps import format_timestamp
from common.uuids import uuid_or_404
from fleets.permissions import IsFleetMember
from reports.selectors import report_get
from reports.serializers import REPORT_OK_RESPONSE
from vehicles.models import ProcessingStatus


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
    def get(self, request: Request, log_id: str) -> Response:
        row = report_get(log_id=uuid_or_404(log_id), fleet_id=request.user.fleet_id)
        if row is None:
            raise NotFound("No such log.")
        log_id_text = str(row["id"])
        if row["report__generated_at"] is not None:
            return Response(
                {
                    "log_id": log_id_text,
                    "vehicle_id": row["vehicle__vehicle_id"],
                    "timestamp": format_timestamp(row["timestamp"]),
                    "battery_soh": row["report__battery_soh"],
                    "cycle_count": row["cycle_count"],
                    "anomalies": row["report__anomalies"],
                    "anomaly_details": row["report__anomaly_details"],
                    "diagnostics": row["report__diagnostics"],
                    "status": "completed",
                    "generated_at": format_timestamp(row["report__generated_at"]),
                }
            )
        if row["status"] == ProcessingStatus.FAILED:
            return Response({"log_id": log_id_text, "status": "failed", "error": row["error"]})
        return Response(
            {"log_id": log_id_text, "status": "processing"},
            status=202,
            headers={"Retry-After": str(settings.REPORT_RETRY_AFTER_SECONDS)},
        )
