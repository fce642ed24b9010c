"""One stored log in, its report out: the pure step of the report batch (reports.services), no Django.

:func:`log_report` applies the log's battery profile to the health rules (:func:`reports.health.rules.evaluate`)
and the data-quality flags (``analytics.domain.quality``), and returns everything the batch stores: the report,
the profile and rules version that computed it, the flags, and the cells' readings that alert evaluation reads.
Bad data raises :class:`UnprocessableLog`; any other exception is a bug in the rules, and the batch treats it so.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from analytics.domain.profiles import RULES_VERSION, UnknownProfileError, profile_get
from analytics.domain.quality import data_quality_flags

from .rules import BatterySnapshot, HealthReport, UnprocessableLog, evaluate

__all__ = ["LogReport", "StoredLog", "log_report"]


@dataclass(frozen=True, slots=True)
class StoredLog:
    """A stored diagnostic log as the batch reads it: ``cells`` as stored (the JSON text or the parsed list of
    ``{"id", "voltage" (V), "temperature" (°C)}``), capacities in kWh, times aware; ``profile`` is the vehicle's
    battery profile name; ``vehicle_pk`` and ``fleet_pk`` are the rows' keys (the report keeps its fleet)."""

    log_id: uuid.UUID
    cells: str | Sequence[Mapping[str, Any]]
    cycle_count: int
    nominal_capacity_kwh: float
    current_capacity_kwh: float
    timestamp: datetime
    received_at: datetime
    profile: str
    vehicle_pk: int
    fleet_pk: int


@dataclass(frozen=True, slots=True)
class LogReport:
    """The report of a :class:`StoredLog`: the rules' ``report``, the ``profile`` and ``rules_version`` that made it,
    its data-quality ``flags`` (in the flags' order), and the cells' ``voltages`` (V) and ``temperatures`` (°C) in
    id order."""

    log: StoredLog
    report: HealthReport
    profile: str
    rules_version: str
    flags: tuple[str, ...]
    voltages: tuple[float, ...]
    temperatures: tuple[float, ...]

    @property
    def anomaly_codes(self) -> list[str]:
        """The codes of the report's anomalies, in the report's order."""
        return [detail.code for detail in self.report.anomaly_details]


def log_report(log: StoredLog) -> LogReport:
    """Compute the report of one stored log under its vehicle's profile.

    Raises :class:`UnprocessableLog` when the data cannot make a report: an unknown profile name, a malformed
    cell list, no cells, a capacity that is not a finite positive number (the rules' own checks).
    """
    try:
        profile = profile_get(log.profile)
    except UnknownProfileError as exc:
        raise UnprocessableLog(str(exc)) from exc
    try:
        cells = json.loads(log.cells) if isinstance(log.cells, str) else log.cells
    except ValueError as exc:
        raise UnprocessableLog(f"the stored cells are not JSON: {exc}") from exc
    snapshot = BatterySnapshot.from_mapping(
        {
            "cells": cells,
            "cycle_count": log.cycle_count,
            "nominal_capacity_kwh": log.nominal_capacity_kwh,
            "current_capacity_kwh": log.current_capacity_kwh,
        }
    )
    report = evaluate(snapshot, profile)
    voltages = tuple(cell.voltage for cell in snapshot.cells)
    temperatures = tuple(cell.temperature for cell in snapshot.cells)
    flags = data_quality_flags(
        timestamp=log.timestamp,
        received_at=log.received_at,
        voltages=voltages,
        temperatures=temperatures,
        nominal_capacity_kwh=log.nominal_capacity_kwh,
        current_capacity_kwh=log.current_capacity_kwh,
        profile=profile,
    )
    return LogReport(
        log=log,
        report=report,
        profile=profile.name,
        rules_version=RULES_VERSION,
        flags=tuple(flags),
        voltages=voltages,
        temperatures=temperatures,
    )
