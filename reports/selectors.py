"""Reads for reports, always scoped to the caller's fleet."""

import uuid
from typing import Any

from diagnostics.models import DiagnosticLog


def report_get(*, log_id: uuid.UUID, fleet_id: int) -> dict[str, Any] | None:
    """The log's report state in one query, or None when the log is unknown or another fleet's."""
    return (
        DiagnosticLog.objects.filter(pk=log_id, vehicle__fleet_id=fleet_id)
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
