"""Reads for vehicles, always scoped to the caller's fleet."""

from typing import Any

from vehicles.models import DeviceCredential, Vehicle


def device_credential_list(*, fleet_id: int, vehicle_id: str) -> list[dict[str, Any]] | None:
    """The vehicle's credentials, oldest first, revoked ones included (never a token or its hash); None when
    the vehicle is unknown or another fleet's (never disclosed)."""
    if not Vehicle.objects.filter(vehicle_id=vehicle_id, fleet_id=fleet_id).exists():
        return None
    return list(
        DeviceCredential.objects.filter(vehicle__vehicle_id=vehicle_id)
        .order_by("created_at", "id")
        .values("id", "name", "created_at", "last_used_at", "revoked_at")
    )
