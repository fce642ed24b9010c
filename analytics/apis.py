"""HTTP interface of analytics (API.md section 6): a vehicle's health trend and forecast, its cell ranking."""

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from analytics.domain.cells import cells_rank
from analytics.domain.profiles import profile_get
from analytics.selectors import vehicle_cells_window, vehicle_health, vocabulary_get
from analytics.serializers import CellRankingSerializer, VehicleHealthSerializer, VocabularySerializer
from common.openapi import AUTHENTICATED_ERRORS, error_responses
from common.timestamps import format_timestamp
from fleets.permissions import IsFleetMember
from vehicles.models import Vehicle
from vehicles.selectors import vehicle_get

WINDOW_DAYS_DEFAULT = 30
WINDOW_DAYS_MAX = 365


def _vehicle_or_404(request: Request, vehicle_id: str) -> Vehicle:
    vehicle = vehicle_get(fleet_id=request.user.fleet_id, vehicle_id=vehicle_id)
    if vehicle is None:
        raise NotFound("No such vehicle.")
    return vehicle


class VehicleHealthApi(APIView):
    """GET /api/v1/vehicles/<vehicle_id>/health: fade rates, the forecast of the end-of-life threshold with its
    prediction interval, the jumps kept out of the trend, and the (thinned) series with the fitted trend."""

    permission_classes = [IsAuthenticated, IsFleetMember]

    @extend_schema(
        operation_id="vehicles_health",
        responses={
            200: OpenApiResponse(VehicleHealthSerializer, description="API.md section 6, health trend and forecast."),
            **error_responses(404, *AUTHENTICATED_ERRORS),
        },
    )
    def get(self, request: Request, vehicle_id: str) -> Response:
        vehicle = _vehicle_or_404(request, vehicle_id)
        return Response(vehicle_health(vehicle=vehicle, now=timezone.now()))


class VehicleCellsApi(APIView):
    """GET /api/v1/vehicles/<vehicle_id>/cells?window_days=30: the pack's cells ranked over the window."""

    permission_classes = [IsAuthenticated, IsFleetMember]

    @extend_schema(
        operation_id="vehicles_cells",
        parameters=[
            OpenApiParameter(
                "window_days",
                {"type": "integer", "minimum": 1, "maximum": WINDOW_DAYS_MAX},
                description="1-365 (default 30): the days up to the vehicle's newest log.",
            )
        ],
        responses={
            200: OpenApiResponse(CellRankingSerializer, description="API.md section 6, cells."),
            **error_responses(400, 404, *AUTHENTICATED_ERRORS),
        },
    )
    def get(self, request: Request, vehicle_id: str) -> Response:
        raw = request.query_params.get("window_days", str(WINDOW_DAYS_DEFAULT))
        if not (raw.isascii() and raw.isdigit() and 1 <= int(raw) <= WINDOW_DAYS_MAX):
            raise ValidationError({"window_days": [f"Must be an integer from 1 to {WINDOW_DAYS_MAX}."]})
        window_days = int(raw)
        vehicle = _vehicle_or_404(request, vehicle_id)
        until, logs = vehicle_cells_window(vehicle_pk=vehicle.pk, window_days=window_days)
        ranking = cells_rank(logs, profile=profile_get(vehicle.profile))
        return Response(
            {
                "vehicle_id": vehicle.vehicle_id,
                "window": {
                    "since": None if until is None else format_timestamp(logs[0].timestamp),
                    "until": None if until is None else format_timestamp(until),
                    "logs": len(logs),
                },
                "cells": [rank.as_dict() for rank in ranking],
            }
        )


class VocabularyApi(APIView):
    """GET /api/v1/vocabulary: every code the API speaks with its label, a report anomaly's message and unit, a
    profile's report thresholds (common.vocabulary), so that clients read them rather than retype them."""

    permission_classes = [IsAuthenticated, IsFleetMember]

    @extend_schema(
        operation_id="vocabulary",
        responses={
            200: OpenApiResponse(VocabularySerializer, description="The vocabulary (beyond API.md)."),
            **error_responses(*AUTHENTICATED_ERRORS),
        },
    )
    def get(self, request: Request) -> Response:
        return Response(vocabulary_get())
