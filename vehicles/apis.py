"""HTTP interface of vehicles: the fleet's vehicles, their registry and their device credentials."""

import uuid
from datetime import datetime
from typing import Any

from django.conf import settings
from django.http import HttpResponse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param
from rest_framework.views import APIView

from common import readcache
from common.filters import TimeWindowFilterSet, filtered
from common.identifiers import VEHICLE_ID_INVALID, VEHICLE_ID_RE, is_vehicle_id
from common.openapi import AUTHENTICATED_ERRORS, LIST_PARAMETERS, TIME_WINDOW_PARAMETERS, error_responses, list_response
from common.pagination import KeysetCursorPagination, limit_param, position_sign, position_unsign
from common.renderers import ORJSONRenderer
from common.timestamps import format_timestamp
from fleets.permissions import IsFleetMember, IsFleetUser
from vehicles.filters import ORDERING_CHOICES, VehicleFilterSet, vehicle_ordering
from vehicles.history import HISTORY_LIMIT_MAX, history_position, vehicle_cell_history
from vehicles.models import AnomalyCode, BatteryProfile, Vehicle
from vehicles.selectors import device_credential_list, vehicle_data, vehicle_get, vehicles_of_fleet
from vehicles.serializers import VehicleRegistrySerializer, VehicleSerializer
from vehicles.services import device_credential_create, device_credential_revoke, vehicle_register

HISTORY_DEFAULT_LIMIT = 1000
CELL_READING = inline_serializer(
    "CellReading",
    {
        "log_id": serializers.UUIDField(),
        "timestamp": serializers.DateTimeField(),
        "voltage": serializers.FloatField(help_text="V, as posted"),
        "temperature": serializers.FloatField(help_text="°C, as posted"),
        "voltage_deviation_mv": serializers.FloatField(help_text="The cell minus the pack's median voltage, mV"),
    },
    many=True,
)


class VehicleListApi(APIView):
    """GET /api/v1/vehicles: the fleet's vehicles, cursor-paginated, filtered and ordered."""

    permission_classes = [IsAuthenticated, IsFleetMember]

    @extend_schema(
        operation_id="vehicles_list",
        parameters=[
            *LIST_PARAMETERS,
            OpenApiParameter("profile", str, enum=BatteryProfile.values),
            OpenApiParameter("anomaly", str, enum=AnomalyCode.values, description="In the latest report."),
            OpenApiParameter("soh_lt", float, description="Latest SoH below this (%)."),
            OpenApiParameter("soh_gte", float, description="Latest SoH at least this (%)."),
            OpenApiParameter("ordering", str, enum=[value for value, _ in ORDERING_CHOICES]),
        ],
        responses={200: list_response(VehicleSerializer, "VehicleList"), **error_responses(400, *AUTHENTICATED_ERRORS)},
    )
    def get(self, request: Request) -> Response:
        queryset, params = filtered(
            VehicleFilterSet(request.query_params, queryset=vehicles_of_fleet(fleet_id=request.user.fleet_id))
        )
        paginator = KeysetCursorPagination(ordering=vehicle_ordering(params.get("ordering")), salt="vehicles")
        page = paginator.paginate_queryset(queryset, request, view=self)
        return paginator.get_paginated_response([vehicle_data(vehicle) for vehicle in page])


class VehicleDetailApi(APIView):
    """GET and PUT /api/v1/vehicles/<vehicle_id>: one vehicle; its registry."""

    permission_classes = [IsAuthenticated, IsFleetMember]

    @extend_schema(
        operation_id="vehicles_retrieve",
        responses={200: VehicleSerializer, **error_responses(404, *AUTHENTICATED_ERRORS)},
    )
    def get(self, request: Request, vehicle_id: str) -> HttpResponse | Response:
        # The key carries the caller's fleet (common.readcache): another fleet's vehicle is never a hit.
        # Under the vehicle's current generation: a newer report or a PUT moves it on.
        key = readcache.versioned_key(readcache.vehicle_key(fleet_id=request.user.fleet_id, vehicle_id=vehicle_id))
        cached = readcache.cached_get(key)
        if cached is not None:
            return HttpResponse(cached, content_type=ORJSONRenderer.media_type)
        vehicle = vehicle_get(fleet_id=request.user.fleet_id, vehicle_id=vehicle_id)
        if vehicle is None:
            raise NotFound("No such vehicle.")
        if not readcache.enabled():
            return Response(vehicle_data(vehicle))
        body = ORJSONRenderer().render(vehicle_data(vehicle))
        readcache.cached_set(key, body, ttl_s=settings.READ_CACHE_VEHICLE_TTL_S)
        return HttpResponse(body, content_type=ORJSONRenderer.media_type)

    @extend_schema(
        operation_id="vehicles_update",
        request=VehicleRegistrySerializer,
        responses={
            200: OpenApiResponse(VehicleSerializer, description="Updated; fields left out keep their values."),
            201: OpenApiResponse(VehicleSerializer, description="Registered before its first log."),
            **error_responses(400, 409, 415, *AUTHENTICATED_ERRORS),
        },
    )
    def put(self, request: Request, vehicle_id: str) -> Response:
        if not is_vehicle_id(vehicle_id):
            raise ValidationError({"vehicle_id": [VEHICLE_ID_INVALID]})
        serializer = VehicleRegistrySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        vehicle, created = vehicle_register(
            fleet_id=request.user.fleet_id, vehicle_id=vehicle_id, changes=serializer.validated_data
        )
        return Response(vehicle_data(vehicle), status=201 if created else 200)


def _vehicle_id_or_404(value: str) -> str:
    """A malformed vehicle id names no vehicle: 404, like an unknown one (and never reaches the database)."""
    if not VEHICLE_ID_RE.fullmatch(value):
        raise NotFound("No such vehicle.")
    return value


def _credential_id_or_404(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise NotFound("No such credential.") from None


def _optional_time(value: datetime | None) -> str | None:
    return format_timestamp(value) if value is not None else None


class _StrictCharField(serializers.CharField):
    """A JSON string only (DRF's CharField would turn 7 into "7")."""

    def to_internal_value(self, data: object) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class DeviceCredentialCreateInputSerializer(serializers.Serializer):
    name = _StrictCharField(
        max_length=100, required=False, allow_blank=True, default="", help_text="A label, e.g. the unit's serial."
    )


DEVICE_CREDENTIAL_CREATED = inline_serializer(
    "DeviceCredentialCreated",
    {
        "id": serializers.UUIDField(),
        "token": serializers.CharField(
            help_text="Shown this once; only its hash is stored. Send it as `Authorization: Device <token>`."
        ),
        "created_at": serializers.DateTimeField(),
    },
)

DEVICE_CREDENTIAL_LIST = inline_serializer(
    "DeviceCredentialList",
    {
        "results": inline_serializer(
            "DeviceCredential",
            {
                "id": serializers.UUIDField(),
                "name": serializers.CharField(),
                "created_at": serializers.DateTimeField(),
                "last_used_at": serializers.DateTimeField(
                    allow_null=True, help_text="Approximate: updated at most every 10 minutes."
                ),
                "revoked_at": serializers.DateTimeField(allow_null=True),
            },
            many=True,
        ),
        "next": serializers.CharField(allow_null=True, help_text="Always null: a vehicle has few credentials."),
    },
)


class DeviceCredentialListCreateApi(APIView):
    """GET and POST /api/v1/vehicles/<vehicle_id>/credentials."""

    permission_classes = [IsFleetUser]

    @extend_schema(
        operation_id="vehicles_credentials_list",
        description="The vehicle's device credentials, revoked ones included, never a token. Unknown or another "
        "fleet's vehicle: 404.",
        responses={200: DEVICE_CREDENTIAL_LIST, **error_responses(404, *AUTHENTICATED_ERRORS)},
    )
    def get(self, request: Request, vehicle_id: str) -> Response:
        rows = device_credential_list(fleet_id=request.user.fleet_id, vehicle_id=_vehicle_id_or_404(vehicle_id))
        if rows is None:
            raise NotFound("No such vehicle.")
        results = [
            {
                "id": str(row["id"]),
                "name": row["name"],
                "created_at": format_timestamp(row["created_at"]),
                "last_used_at": _optional_time(row["last_used_at"]),
                "revoked_at": _optional_time(row["revoked_at"]),
            }
            for row in rows
        ]
        return Response({"results": results, "next": None})

    @extend_schema(
        operation_id="vehicles_credentials_create",
        description="A new ingest-only credential for one of the fleet's vehicles; the token is shown this once. "
        "Unknown vehicle: 404; another fleet's: 403.",
        request=DeviceCredentialCreateInputSerializer,
        responses={
            201: OpenApiResponse(DEVICE_CREDENTIAL_CREATED, description="The token, shown this once."),
            **error_responses(400, 404, 413, 415, *AUTHENTICATED_ERRORS),
        },
    )
    def post(self, request: Request, vehicle_id: str) -> Response:
        serializer = DeviceCredentialCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        issued = device_credential_create(
            fleet_id=request.user.fleet_id, vehicle_id=_vehicle_id_or_404(vehicle_id), **serializer.validated_data
        )
        credential = issued.credential
        return Response(
            {"id": str(credential.id), "token": issued.token, "created_at": format_timestamp(credential.created_at)},
            status=201,
        )


class DeviceCredentialRevokeApi(APIView):
    """DELETE /api/v1/vehicles/<vehicle_id>/credentials/<id>: 204; the token is refused from then on."""

    permission_classes = [IsFleetUser]

    @extend_schema(
        operation_id="vehicles_credentials_destroy",
        description="Revokes the credential: its token is refused (401) from the next request on. Another fleet's "
        "vehicle: 403.",
        responses={
            204: OpenApiResponse(description="Revoked (or already revoked)."),
            **error_responses(404, *AUTHENTICATED_ERRORS),
        },
    )
    def delete(self, request: Request, vehicle_id: str, credential_id: str) -> Response:
        device_credential_revoke(
            fleet_id=request.user.fleet_id,
            vehicle_id=_vehicle_id_or_404(vehicle_id),
            credential_id=_credential_id_or_404(credential_id),
        )
        return Response(status=204)


class CellHistoryFilterSet(TimeWindowFilterSet):
    """?since= (inclusive) &until= (exclusive): validated here, applied by the selector's SQL."""

    def filter_since(self, queryset: Any, name: str, value: datetime) -> Any:
        return queryset

    def filter_until(self, queryset: Any, name: str, value: datetime) -> Any:
        return queryset


class CellHistoryApi(APIView):
    """GET /api/v1/vehicles/<vehicle_id>/cells/<cell_id>/history: one cell's readings, oldest first."""

    permission_classes = [IsAuthenticated, IsFleetMember]

    @extend_schema(
        operation_id="vehicles_cell_history",
        parameters=[
            OpenApiParameter(
                "limit", {"type": "integer", "minimum": 1, "maximum": HISTORY_LIMIT_MAX}, description="Default 1000."
            ),
            OpenApiParameter("cursor", str, description="The opaque cursor from a previous answer's `next`."),
            *TIME_WINDOW_PARAMETERS,
        ],
        responses={200: list_response(CELL_READING, "CellHistory"), **error_responses(400, 404, *AUTHENTICATED_ERRORS)},
    )
    def get(self, request: Request, vehicle_id: str, cell_id: str) -> Response:
        if not (cell_id.isascii() and cell_id.isdigit()):
            raise NotFound("No such cell.")
        limit = limit_param(request, default=HISTORY_DEFAULT_LIMIT, maximum=HISTORY_LIMIT_MAX)
        _, params = filtered(CellHistoryFilterSet(request.query_params, queryset=Vehicle.objects.none()))
        salt = f"cell-history:{vehicle_id}:{cell_id}"
        after = None
        if "cursor" in request.query_params:
            timestamp, log_id = position_unsign(request.query_params["cursor"], salt=salt)
            after = (datetime.fromisoformat(timestamp), uuid.UUID(log_id))
        rows = vehicle_cell_history(
            fleet_id=request.user.fleet_id,
            vehicle_id=vehicle_id,
            cell_id=int(cell_id),
            since=params.get("since"),
            until=params.get("until"),
            limit=limit + 1,
            after=after,
        )
        if rows is None:
            raise NotFound("No such vehicle.")
        page, following = rows[:limit], None
        if len(rows) > limit:
            token = position_sign(history_position(page[-1]), salt=salt)
            following = replace_query_param(request.build_absolute_uri(), "cursor", token)
        return Response({"results": page, "next": following})
