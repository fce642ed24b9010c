"""Reads for vehicles, always scoped to the caller's fleet."""

from datetime import UTC, datetime
from typing import Any

from django.db.models import DateTimeField, FloatField, QuerySet, Value
from django.db.models.functions import Coalesce

from common.timestamps import format_timestamp
from vehicles.models import DeviceCredential, Vehicle

# Orderings never meet a NULL: a vehicle with no report sorts as SoH -1, one with no log as 1970.
_NO_SOH = Value(-1.0, output_field=FloatField())
_NEVER = Value(datetime(1970, 1, 1, tzinfo=UTC), output_field=DateTimeField())


def vehicles_of_fleet(*, fleet_id: int) -> QuerySet[Vehicle]:
    """The fleet's vehicles, with the sort keys the list orders by."""
    return Vehicle.objects.filter(fleet_id=fleet_id).annotate(
        soh_order=Coalesce("latest_soh", _NO_SOH), last_seen_order=Coalesce("last_seen_at", _NEVER)
    )


def vehicle_get(*, fleet_id: int, vehicle_id: str) -> Vehicle | None:
    """The fleet's vehicle, or None when it is unknown or another fleet's (never disclosed)."""
    return Vehicle.objects.filter(fleet_id=fleet_id, vehicle_id=vehicle_id).first()


def _time(value: datetime | None) -> str | None:
    return None if value is None else format_timestamp(value)


def vehicle_data(vehicle: Vehicle) -> dict[str, Any]:
    """The contract's vehicle object (API.md section 5)."""
    latest = None
    if vehicle.latest_log_id is not None:
        latest = {
            "log_id": str(vehicle.latest_log_id),
            "timestamp": _time(vehicle.latest_at),
            "battery_soh": vehicle.latest_soh,
            "cycle_count": vehicle.latest_cycle_count,
            "anomalies": vehicle.latest_anomalies or [],
        }
    return {
        "vehicle_id": vehicle.vehicle_id,
        "vin": vehicle.vin,
        "model": vehicle.model,
        "manufacture_date": None if vehicle.manufacture_date is None else vehicle.manufacture_date.isoformat(),
        "profile": vehicle.profile,
        "first_seen": _time(vehicle.first_seen_at),
        "last_seen": _time(vehicle.last_seen_at),
        "log_count": vehicle.log_count,
        "latest": latest,
    }


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
