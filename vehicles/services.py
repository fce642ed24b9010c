"""Writes for vehicles: device credentials."""

import uuid
from dataclasses import dataclass

from django.db.models.functions import Coalesce, Now
from rest_framework.exceptions import NotFound, PermissionDenied

from vehicles.models import DeviceCredential, Vehicle
from vehicles.tokens import device_token_hash, device_token_new


@dataclass(frozen=True)
class IssuedDeviceCredential:
    """A new credential and its token: the only time the token exists outside the vehicle."""

    credential: DeviceCredential
    token: str


def _fleet_vehicle_pk(*, fleet_id: int, vehicle_id: str) -> int:
    """The vehicle's primary key for a write: unknown 404; another fleet's 403 (contract §3)."""
    row = Vehicle.objects.filter(vehicle_id=vehicle_id).values_list("pk", "fleet_id").first()
    if row is None:
        raise NotFound("No such vehicle.")
    vehicle_pk, owner_fleet_id = row
    if owner_fleet_id != fleet_id:
        raise PermissionDenied(f"Vehicle {vehicle_id} belongs to another fleet.")
    return vehicle_pk


def device_credential_create(*, fleet_id: int, vehicle_id: str, name: str = "") -> IssuedDeviceCredential:
    """Give one of the fleet's vehicles a new ingest-only credential; only the token's hash is stored."""
    vehicle_pk = _fleet_vehicle_pk(fleet_id=fleet_id, vehicle_id=vehicle_id)
    token = device_token_new()
    credential = DeviceCredential.objects.create(vehicle_id=vehicle_pk, name=name, token_hash=device_token_hash(token))
    return IssuedDeviceCredential(credential=credential, token=token)


def device_credential_revoke(*, fleet_id: int, vehicle_id: str, credential_id: uuid.UUID) -> None:
    """Revoke the vehicle's credential: from the next request on, its token is refused (401).

    Revoking a revoked credential changes nothing (a retried DELETE is answered the same); one that is not
    this vehicle's is 404.
    """
    vehicle_pk = _fleet_vehicle_pk(fleet_id=fleet_id, vehicle_id=vehicle_id)
    matched = DeviceCredential.objects.filter(pk=credential_id, vehicle_id=vehicle_pk).update(
        revoked_at=Coalesce("revoked_at", Now())
    )
    if not matched:
        raise NotFound("No such credential.")
