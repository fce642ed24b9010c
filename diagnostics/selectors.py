"""Reads for diagnostic logs, always scoped to the caller's fleet."""

import uuid
from typing import Any

from vehicles.models import DiagnosticLog


def diagnostic_log_get(*, log_id: uuid.UUID, fleet_id: int) -> dict[str, Any] | None:
    """The stored log, or None when it is unknown or belongs to another fleet (never disclosed)."""
    return (
        DiagnosticLog.objects.filter(pk=log_id, vehicle__fleet_id=fleet_id)
        .values(
            "id",
            "vehicle__vehicle_id",
            "timestamp",
            "cells",
            "cycle_count",
            "nominal_capacity_kwh",
            "current_capacity_kwh",
            "received_at",
            "status",
        )
        .first()
    )
