"""`Authorization: Device <token>`: a vehicle's ingest-only credential.

Every request reads its credential by one precomputed SELECT on the token hash's unique index, joined to
its vehicle (for the fleet), and refuses a revoked one: revoking takes effect on the next request, with
no cache to go stale (the same choice as fleets.authentication makes for JWT users). The principal is a
`DevicePrincipal`, not a user: vehicles.permissions lets it post its own vehicle's logs and nothing else.
"""

import functools
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, ClassVar

from django.db import connection
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from vehicles.models import DeviceCredential, Vehicle
from vehicles.tokens import device_token_hash, device_token_well_formed

KEYWORD = "Device"
# last_used_at is written at most this often per credential: a vehicle posting every 30 s would otherwise
# turn every other request into a write; 10,000 vehicles cost 10,000 / 600 s ≈ 17 small UPDATEs a second.
LAST_USED_RESOLUTION = timedelta(minutes=10)


@dataclass(frozen=True)
class DevicePrincipal:
    """`request.user` of a request authenticated by a device credential.

    It has the `fleet_id` that the fleet-scoped code reads, the one vehicle it may post for, and `pk`
    (the credential's id) with `throttle_scope = "device"`, so common.throttling counts it per credential
    (and per fleet).
    """

    credential_id: uuid.UUID
    vehicle_pk: int
    vehicle_id: str
    fleet_id: int

    is_authenticated: ClassVar[bool] = True
    is_anonymous: ClassVar[bool] = False
    is_active: ClassVar[bool] = True
    is_staff: ClassVar[bool] = False
    throttle_scope: ClassVar[str] = "device"

    @property
    def pk(self) -> uuid.UUID:
        return self.credential_id

    def __str__(self) -> str:
        return f"device {self.credential_id} of {self.vehicle_id}"


@functools.cache
def _credential_query() -> str:
    quote = connection.ops.quote_name
    credentials, vehicles = quote(DeviceCredential._meta.db_table), quote(Vehicle._meta.db_table)
    return (
        f"SELECT c.id, c.last_used_at, v.id, v.vehicle_id, v.fleet_id, now() FROM {credentials} AS c "
        f"JOIN {vehicles} AS v ON v.id = c.vehicle_id WHERE c.token_hash = %s AND c.revoked_at IS NULL"
    )


@functools.cache
def _touch_query() -> str:
    table = connection.ops.quote_name(DeviceCredential._meta.db_table)
    return (
        f"UPDATE {table} SET last_used_at = now() WHERE id = %s AND (last_used_at IS NULL OR last_used_at < now() - %s)"
    )


class DeviceTokenAuthentication(BaseAuthentication):
    """Authenticates `Authorization: Device <token>`; leaves any other scheme to the other classes."""

    def authenticate(self, request: Request) -> tuple[DevicePrincipal, None] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != KEYWORD.lower().encode():
            return None
        if len(parts) != 2:
            raise AuthenticationFailed("Invalid Device header: expected 'Device <token>'.")
        try:
            token = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise AuthenticationFailed("Invalid device token.") from None
        if not device_token_well_formed(token):
            raise AuthenticationFailed("Invalid device token.")
        with connection.cursor() as cursor:
            cursor.execute(_credential_query(), [device_token_hash(token)])
            row = cursor.fetchone()
            if row is None:
                raise AuthenticationFailed("Unknown or revoked device token.")
            credential_id, last_used_at, vehicle_pk, vehicle_id, fleet_id, now = row
            if last_used_at is None or last_used_at < now - LAST_USED_RESOLUTION:
                cursor.execute(_touch_query(), [credential_id, LAST_USED_RESOLUTION])
        return DevicePrincipal(credential_id, vehicle_pk, vehicle_id, fleet_id), None

    def authenticate_header(self, request: Request) -> str:
        return f'{KEYWORD} realm="api"'


class DeviceTokenScheme(OpenApiAuthenticationExtension):
    """OpenAPI: the `Device` security scheme, required only where a device may call (the ingest POSTs).

    Every view has this class among its authenticators (a device is authenticated everywhere and then
    refused with 403); the schema lists the scheme only on the views whose permission admits a device.
    """

    target_class = "vehicles.authentication.DeviceTokenAuthentication"
    name = "deviceToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Device <token>`: a vehicle's ingest-only credential "
            "(POST /api/v1/vehicles/{vehicle_id}/credentials).",
        }

    def get_security_requirement(self, auto_schema: Any) -> dict[str, list[Any]] | None:
        from vehicles.permissions import IsFleetUserOrDevice

        admits_devices = any(isinstance(p, IsFleetUserOrDevice) for p in auto_schema.view.get_permissions())
        return {self.name: []} if admits_devices else None
