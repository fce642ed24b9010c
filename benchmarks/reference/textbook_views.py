"""Two Django references, served with ``textbook_settings``.

1. The textbook DRF floor: ``POST /textbook/diagnostics``, a nested ModelSerializer for DiagnosticLog
   (cells as a nested ``CellSerializer(many=True)``, the vehicle as a SlugRelatedField, DRF's generated
   unique-together validator for (vehicle, timestamp)), a generic ``CreateAPIView``, simplejwt
   authentication; it publishes the report task after commit like our service does, and answers 201
   with the serialized log (DRF's default).
2. The plain GET view: ``GET /plain/reports/<log_id>``, no REST framework: the token checked with PyJWT
   (same key and claims as simplejwt), one ``.values()`` query scoped to the token's user's fleet, the same
   JSON shape as ``GET /api/v1/reports/<log_id>``, encoded with orjson.
"""

import statistics
import uuid
from typing import Any

import jwt
import orjson
from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from rest_framework import generics, serializers

from common.timestamps import format_timestamp
from reports.tasks import generate_battery_reports
from vehicles.models import DiagnosticLog, Vehicle


class CellSerializer(serializers.Serializer):
    id = serializers.IntegerField(min_value=0, max_value=1023)
    voltage = serializers.FloatField(min_value=0.0, max_value=5.0)
    temperature = serializers.FloatField(min_value=-40.0, max_value=125.0)


class TextbookDiagnosticLogSerializer(serializers.ModelSerializer):
    vehicle_id = serializers.SlugRelatedField(source="vehicle", slug_field="vehicle_id", queryset=Vehicle.objects.all())
    cells = CellSerializer(many=True)

    class Meta:
        model = DiagnosticLog
        fields = [
            "id",
            "vehicle_id",
            "timestamp",
            "cells",
            "cycle_count",
            "nominal_capacity_kwh",
            "current_capacity_kwh",
            "status",
        ]
        read_only_fields = ["id", "status"]

    def create(self, validated_data: dict[str, Any]) -> DiagnosticLog:
        cells = validated_data["cells"] = [dict(cell) for cell in validated_data["cells"]]
        voltages = [cell["voltage"] for cell in cells]  # the cell history's columns, as the service stores them
        return DiagnosticLog.objects.create(
            **validated_data,
            cell_voltages=voltages,
            cell_temperatures=[cell["temperature"] for cell in cells],
            voltage_median=statistics.median(voltages),
        )


class TextbookDiagnosticLogCreate(generics.CreateAPIView):
    serializer_class = TextbookDiagnosticLogSerializer
    queryset = DiagnosticLog.objects.all()

    def perform_create(self, serializer: TextbookDiagnosticLogSerializer) -> None:
        log = serializer.save()
        transaction.on_commit(lambda: generate_battery_reports.delay([str(log.id)]))


def _error(status: int, message: str) -> HttpResponse:
    return HttpResponse(
        orjson.dumps({"code": "error", "message": message}), status=status, content_type="application/json"
    )


def plain_report(request: HttpRequest, log_id: str) -> HttpResponse:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return _error(401, "Authentication credentials were not provided.")
    try:
        claims = jwt.decode(header[7:], settings.SIMPLE_JWT["SIGNING_KEY"], algorithms=["HS256"])
    except jwt.PyJWTError:
        return _error(401, "Token is invalid or expired.")
    if claims.get("token_type") != "access":
        return _error(401, "Token is invalid or expired.")
    try:
        pk = uuid.UUID(log_id)
    except ValueError:
        return _error(404, "No such log.")
    row = (
        DiagnosticLog.objects.filter(pk=pk, vehicle__fleet__users__id=int(claims["user_id"]))
        .values(
            "id",
            "vehicle__vehicle_id",
            "timestamp",
            "cycle_count",
            "status",
            "error",
            "report__battery_soh",
            "report__anomalies",
            "report__anomaly_details",
            "report__diagnostics",
            "report__generated_at",
        )
        .first()
    )
    if row is None:
        return _error(404, "No such log.")
    if row["report__generated_at"] is None:
        body = {"log_id": str(row["id"]), "status": "processing"}
        return HttpResponse(orjson.dumps(body), status=202, content_type="application/json")
    body = {
        "log_id": str(row["id"]),
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
    return HttpResponse(orjson.dumps(body), content_type="application/json")
