"""HTTP interface of vehicles: device credentials (fleet users only; a device is refused with 403)."""

import uuid
from datetime import datetime

from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common.openapi import AUTHENTICATED_ERRORS, error_responses
from common.timestamps import format_timestamp
from fleets.permissions import IsFleetUser
from vehicles.identifiers import VEHICLE_ID_RE
from vehicles.selectors import device_credential_list
from vehicles.services import device_credential_create, device_credential_revoke


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
