"""Reads for analytics: a vehicle's completed logs, as the domain's plain data."""

from datetime import datetime, timedelta
from typing import Any

from django.db import connection

from analytics.domain.cells import CellsSnapshot
from analytics.domain.profiles import profile_get
from analytics.domain.trend import SohPoint, health_trend
from common.vocabulary import vocabulary_as_dict
from vehicles.models import DiagnosticLog, ProcessingStatus, Vehicle

_LOG = DiagnosticLog._meta.db_table


def vehicle_soh_points(*, vehicle_pk: int) -> list[SohPoint]:
    """Every completed log of the vehicle as (timestamp, cycle count, unrounded SoH %, log id)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT timestamp, cycle_count, current_capacity_kwh / nominal_capacity_kwh * 100, id::text FROM {_LOG} "
            "WHERE vehicle_id = %s AND status = %s ORDER BY timestamp",
            [vehicle_pk, ProcessingStatus.COMPLETED],
        )
        return [
            SohPoint(timestamp=ts, cycle_count=cycles, soh=soh, log_id=log_id) for ts, cycles, soh, log_id in cursor
        ]


def vehicle_health(*, vehicle: Vehicle, now: datetime) -> dict[str, Any]:
    """The vehicle's health trend and forecast as GET /api/v1/vehicles/<vehicle_id>/health answers it (API.md
    section 6): the trend of its completed logs against its profile's low-SoH threshold; `now` anchors the
    forecast's horizon. One function for the endpoint and the battery health certificate."""
    profile = profile_get(vehicle.profile)
    trend = health_trend(
        vehicle_soh_points(vehicle_pk=vehicle.pk), now=now, threshold_soh=profile.low_soh_threshold_pct
    )
    return {"vehicle_id": vehicle.vehicle_id, "profile": profile.name, **trend.as_dict()}


def vehicle_cells_window(*, vehicle_pk: int, window_days: int) -> tuple[datetime | None, list[CellsSnapshot]]:
    """The vehicle's completed logs of the `window_days` days up to its newest one: (that newest timestamp,
    the logs' cells). The window ends at the newest log, not at the clock, so a vehicle that stopped
    reporting still has a ranking of its last month."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT max(timestamp) FROM {_LOG} WHERE vehicle_id = %s AND status = %s",
            [vehicle_pk, ProcessingStatus.COMPLETED],
        )
        (until,) = cursor.fetchone()
        if until is None:
            return None, []
        cursor.execute(
            # The cells' readings in id order, as the ingest stores them (vehicles.history).
            f"SELECT timestamp, id::text, cell_voltages, cell_temperatures FROM {_LOG} "
            "WHERE vehicle_id = %s AND status = %s AND timestamp >= %s AND timestamp <= %s ORDER BY timestamp",
            [vehicle_pk, ProcessingStatus.COMPLETED, until - timedelta(days=window_days), until],
        )
        return until, [
            CellsSnapshot(timestamp=ts, voltages_v=tuple(volts), temperatures_c=tuple(temps), log_id=log_id)
            for ts, log_id, volts, temps in cursor
        ]


def vocabulary_get() -> dict[str, Any]:
    """The service's vocabulary as GET /api/v1/vocabulary answers it: every code with its label (and an
    anomaly's message and unit, a profile's report thresholds), from common.vocabulary."""
    return vocabulary_as_dict()
