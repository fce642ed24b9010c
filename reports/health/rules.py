"""Battery health rules: the one place where a diagnostic log becomes a report.

This module is the executable form of section 2 ("The report") of the API contract
(``shared/spec/API.md``). It is deliberately framework-free: it imports nothing but the
standard library, so the API, the Celery task, the management commands and the tests all
compute reports with exactly the same code.

Units used throughout:

* voltages in volts (V), voltage spreads in millivolts (mV);
* temperatures in degrees Celsius (°C);
* capacities in kilowatt-hours (kWh);
* state of health (SoH) in percent (%).

Boundary handling (so that binary floating-point noise never flips a decision):

* a voltage spread is compared in millivolts *after* rounding to 3 decimals, so cells at
  4.15 V and 4.10 V are exactly 50.000 mV apart and are not an imbalance;
* the SoH is compared *after* rounding to 6 decimals, so 32.16 / 40.2 is exactly 80 % and is
  not low, although a plain float division gives 79.99999999999999;
* temperatures are compared as given: 45.0 °C is not overheating, anything above is.

Rounding is Python's :func:`round` (round-half-even on the binary value), which the contract allows.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from analytics.domain.profiles import DEFAULT_PROFILE, NMC, BatteryProfile
from common import vocabulary

__all__ = [
    "ANOMALY_MESSAGES",
    "LOW_SOH_CODE",
    "LOW_SOH_MESSAGE",
    "LOW_SOH_THRESHOLD_PCT",
    "LOW_SOH_UNIT",
    "OVERHEATING_CODE",
    "OVERHEATING_MESSAGE",
    "OVERHEATING_UNIT",
    "OVERHEAT_THRESHOLD_C",
    "SOH_CAP_PCT",
    "VOLTAGE_IMBALANCE_CODE",
    "VOLTAGE_IMBALANCE_MESSAGE",
    "VOLTAGE_IMBALANCE_THRESHOLD_MV",
    "VOLTAGE_IMBALANCE_UNIT",
    "AnomalyDetail",
    "BatterySnapshot",
    "Cell",
    "Diagnostics",
    "HealthReport",
    "UnprocessableLog",
    "battery_soh",
    "compute_diagnostics",
    "evaluate",
    "has_voltage_imbalance",
    "is_low_soh",
    "overheating_cells",
    "state_of_health_pct",
    "voltage_extreme_cells",
    "voltage_spread_mv",
]

# --------------------------------------------------------------------------- constants

#: A pack is imbalanced when max - min cell voltage is strictly above this (mV, after rounding to 3 decimals).
VOLTAGE_IMBALANCE_THRESHOLD_MV: float = NMC.voltage_imbalance_threshold_mv
#: A cell overheats when its temperature is strictly above this (°C).
OVERHEAT_THRESHOLD_C: float = NMC.overheat_threshold_c
#: A pack has a low state of health when its SoH is strictly below this (%, after rounding to 6 decimals).
LOW_SOH_THRESHOLD_PCT: float = NMC.low_soh_threshold_pct
#: The reported ``battery_soh`` never exceeds this (%).
SOH_CAP_PCT: float = 100.0

# The codes, messages and units are the vocabulary's (common.vocabulary.ANOMALIES), named here for the rules.
VOLTAGE_IMBALANCE_CODE = vocabulary.VOLTAGE_IMBALANCE.code
OVERHEATING_CODE = vocabulary.OVERHEATING.code
LOW_SOH_CODE = vocabulary.LOW_SOH.code

VOLTAGE_IMBALANCE_MESSAGE = vocabulary.VOLTAGE_IMBALANCE.message
OVERHEATING_MESSAGE = vocabulary.OVERHEATING.message
LOW_SOH_MESSAGE = vocabulary.LOW_SOH.message

VOLTAGE_IMBALANCE_UNIT = vocabulary.VOLTAGE_IMBALANCE.unit
OVERHEATING_UNIT = vocabulary.OVERHEATING.unit
LOW_SOH_UNIT = vocabulary.LOW_SOH.unit

#: The three anomaly messages, in the order in which a report lists them.
ANOMALY_MESSAGES: tuple[str, str, str] = (VOLTAGE_IMBALANCE_MESSAGE, OVERHEATING_MESSAGE, LOW_SOH_MESSAGE)

# Decimal places of each reported figure (and of the comparisons that must not flip on float noise).
_VOLTAGE_DECIMALS = 3
_SPREAD_MV_DECIMALS = 3
_TEMPERATURE_DECIMALS = 2
_SOH_DECIMALS = 2
_SOH_COMPARE_DECIMALS = 6


# --------------------------------------------------------------------------- data


class UnprocessableLog(ValueError):
    """The log's data cannot make a report (no cells, a capacity that is not a finite positive number, a field
    missing or malformed): terminal for that log. Anything else the rules raise is a bug in them, not bad data."""


@dataclass(frozen=True, slots=True)
class Cell:
    """One cell of a pack: its ``id``, ``voltage`` (V) and ``temperature`` (°C)."""

    id: int
    voltage: float
    temperature: float


@dataclass(frozen=True, slots=True)
class BatterySnapshot:
    """The part of a diagnostic log that the report is computed from.

    ``cells`` are kept sorted by id; capacities are in kWh.
    """

    cells: tuple[Cell, ...]
    cycle_count: int
    nominal_capacity_kwh: float
    current_capacity_kwh: float

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> BatterySnapshot:
        """Build a snapshot from an already-validated log dict.

        Reads ``cells`` (a list of ``{"id", "voltage", "temperature"}``), ``cycle_count``,
        ``nominal_capacity_kwh`` and ``current_capacity_kwh``; every other key (``vehicle_id``,
        ``timestamp``, …) is ignored. Cells are sorted by id. A missing key or a value of the wrong
        shape raises :class:`UnprocessableLog` (a :class:`ValueError`) naming the problem (validation proper
        is the API's job).
        """
        try:
            raw_cells = data["cells"]
            cells = tuple(
                sorted(
                    (
                        Cell(id=int(c["id"]), voltage=float(c["voltage"]), temperature=float(c["temperature"]))
                        for c in raw_cells
                    ),
                    key=lambda cell: cell.id,
                )
            )
            return cls(
                cells=cells,
                cycle_count=int(data["cycle_count"]),
                nominal_capacity_kwh=float(data["nominal_capacity_kwh"]),
                current_capacity_kwh=float(data["current_capacity_kwh"]),
            )
        except KeyError as exc:
            raise UnprocessableLog(f"diagnostic log is missing the field {exc.args[0]!r}") from exc
        except (TypeError, ValueError) as exc:
            raise UnprocessableLog(f"diagnostic log has a malformed value: {exc}") from exc


@dataclass(frozen=True, slots=True)
class AnomalyDetail:
    """One anomaly with its figures.

    ``value`` and ``threshold`` are in ``unit``; ``cells`` are the ids involved (for an imbalance the
    min- and max-voltage cells, for overheating every cell above the limit, for low SoH none).
    """

    code: str
    message: str
    value: float
    threshold: float
    unit: str
    cells: tuple[int, ...]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready plain data (``cells`` as a list)."""
        return {
            "code": self.code,
            "message": self.message,
            "value": self.value,
            "threshold": self.threshold,
            "unit": self.unit,
            "cells": list(self.cells),
        }


@dataclass(frozen=True, slots=True)
class Diagnostics:
    """Summary figures of a pack: voltages in V (3 decimals), spread in mV (3 decimals), temperatures in °C
    (2 decimals)."""

    cell_count: int
    voltage_min: float
    voltage_max: float
    voltage_spread_mv: float
    temperature_min: float
    temperature_max: float
    temperature_avg: float

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready plain data, keys in contract order."""
        return {
            "cell_count": self.cell_count,
            "voltage_min": self.voltage_min,
            "voltage_max": self.voltage_max,
            "voltage_spread_mv": self.voltage_spread_mv,
            "temperature_min": self.temperature_min,
            "temperature_max": self.temperature_max,
            "temperature_avg": self.temperature_avg,
        }


@dataclass(frozen=True, slots=True)
class HealthReport:
    """The computed part of a report: ``battery_soh`` (%), anomalies (messages and details), diagnostics."""

    battery_soh: float
    anomalies: tuple[str, ...]
    anomaly_details: tuple[AnomalyDetail, ...]
    diagnostics: Diagnostics

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready plain data: ``battery_soh``, ``anomalies``, ``anomaly_details``, ``diagnostics``."""
        return {
            "battery_soh": self.battery_soh,
            "anomalies": list(self.anomalies),
            "anomaly_details": [detail.as_dict() for detail in self.anomaly_details],
            "diagnostics": self.diagnostics.as_dict(),
        }


# --------------------------------------------------------------------------- helpers


def _round(value: float, ndigits: int) -> float:
    """``round`` that never returns ``-0.0`` (so ``-0.001`` °C reports as ``0.0``, not ``-0.0``)."""
    return round(value, ndigits) + 0.0


def _require_cells(cells: Sequence[Cell]) -> None:
    if not cells:
        raise UnprocessableLog("a battery snapshot needs at least one cell; got an empty cell list")


def _check_capacities(nominal_kwh: float, current_kwh: float) -> None:
    if not math.isfinite(nominal_kwh) or nominal_kwh <= 0:
        raise UnprocessableLog(f"nominal_capacity_kwh must be a finite number > 0; got {nominal_kwh!r}")
    if not math.isfinite(current_kwh) or current_kwh < 0:
        raise UnprocessableLog(f"current_capacity_kwh must be a finite number >= 0; got {current_kwh!r}")


def _as_sequence(cells: Iterable[Cell]) -> Sequence[Cell]:
    return cells if isinstance(cells, Sequence) else tuple(cells)


# --------------------------------------------------------------------------- rules


def state_of_health_pct(nominal_kwh: float, current_kwh: float) -> float:
    """Unrounded, uncapped state of health in percent.

    Formula: ``SoH (%) = current_kwh / nominal_kwh * 100`` with both capacities in kWh.

    Raises :class:`ValueError` if ``nominal_kwh`` is not a finite number > 0 or ``current_kwh`` is not a
    finite number >= 0.
    """
    _check_capacities(nominal_kwh, current_kwh)
    return current_kwh / nominal_kwh * 100


def battery_soh(nominal_kwh: float, current_kwh: float) -> float:
    """The report's ``battery_soh``, in percent.

    Formula: ``round(min(current_kwh / nominal_kwh * 100, 100), 2)`` — the SoH of
    :func:`state_of_health_pct` capped at 100 % and rounded to 2 decimals.
    """
    return _round(min(state_of_health_pct(nominal_kwh, current_kwh), SOH_CAP_PCT), _SOH_DECIMALS)


def is_low_soh(nominal_kwh: float, current_kwh: float, threshold_pct: float = LOW_SOH_THRESHOLD_PCT) -> bool:
    """Whether the pack has a low state of health.

    Rule: ``round(current_kwh / nominal_kwh * 100, 6) < 80`` (%). The rounding absorbs float noise:
    ``32.16 / 40.2`` is exactly 80 % (not low) although the float division gives 79.99999999999999.
    """
    return round(state_of_health_pct(nominal_kwh, current_kwh), _SOH_COMPARE_DECIMALS) < threshold_pct


def voltage_extreme_cells(cells: Iterable[Cell]) -> tuple[int, int]:
    """Ids of the lowest- and highest-voltage cells, as ``(min_id, max_id)``.

    Ties are broken by the lowest id, for each of the two, whatever the order of ``cells``.
    Raises :class:`ValueError` on an empty cell list.
    """
    seq = _as_sequence(cells)
    _require_cells(seq)
    low = min(seq, key=lambda c: (c.voltage, c.id))
    high = min(seq, key=lambda c: (-c.voltage, c.id))
    return low.id, high.id


def voltage_spread_mv(cells: Iterable[Cell]) -> float:
    """Spread between the highest and the lowest cell voltage, in millivolts.

    Formula: ``round((max(voltage) - min(voltage)) * 1000, 3)`` with voltages in V. The rounding to
    3 decimals makes 4.15 V - 4.10 V exactly ``50.0`` (the raw float product is 50.00000000000071,
    and 4.00 V - 3.95 V gives 49.99999999999982).
    Raises :class:`ValueError` on an empty cell list.
    """
    seq = _as_sequence(cells)
    _require_cells(seq)
    voltages = [c.voltage for c in seq]
    return _round((max(voltages) - min(voltages)) * 1000, _SPREAD_MV_DECIMALS)


def has_voltage_imbalance(cells: Iterable[Cell], threshold_mv: float = VOLTAGE_IMBALANCE_THRESHOLD_MV) -> bool:
    """Whether the pack is imbalanced.

    Rule: :func:`voltage_spread_mv` (mV, rounded to 3 decimals) ``> 50``. So 4.15 V / 4.10 V
    (50.000 mV) is not an imbalance and 4.151 V / 4.10 V (51.000 mV) is.
    """
    return voltage_spread_mv(cells) > threshold_mv


def overheating_cells(cells: Iterable[Cell], threshold_c: float = OVERHEAT_THRESHOLD_C) -> tuple[int, ...]:
    """Ids of the cells whose temperature (°C) is strictly above 45 °C, sorted ascending.

    45.0 °C itself is not overheating. An empty result means no overheating.
    """
    return tuple(sorted(c.id for c in cells if c.temperature > threshold_c))


def compute_diagnostics(cells: Iterable[Cell]) -> Diagnostics:
    """Summary figures of a pack.

    * ``cell_count``: number of cells;
    * ``voltage_min`` / ``voltage_max``: lowest / highest cell voltage, V, rounded to 3 decimals;
    * ``voltage_spread_mv``: ``(max - min voltage) * 1000``, mV, rounded to 3 decimals
      (see :func:`voltage_spread_mv`; computed from the unrounded voltages);
    * ``temperature_min`` / ``temperature_max``: °C, rounded to 2 decimals;
    * ``temperature_avg``: ``fsum(temperatures) / cell_count``, °C, rounded to 2 decimals
      (``math.fsum`` so that the result does not depend on the order of the cells).

    Raises :class:`ValueError` on an empty cell list.
    """
    seq = _as_sequence(cells)
    _require_cells(seq)
    voltages = [c.voltage for c in seq]
    temperatures = [c.temperature for c in seq]
    t_min, t_max = min(temperatures), max(temperatures)
    # The true mean lies in [t_min, t_max]; clamping only removes a possible last-bit division error.
    t_avg = min(max(math.fsum(temperatures) / len(temperatures), t_min), t_max)
    return Diagnostics(
        cell_count=len(seq),
        voltage_min=_round(min(voltages), _VOLTAGE_DECIMALS),
        voltage_max=_round(max(voltages), _VOLTAGE_DECIMALS),
        voltage_spread_mv=voltage_spread_mv(seq),
        temperature_min=_round(t_min, _TEMPERATURE_DECIMALS),
        temperature_max=_round(t_max, _TEMPERATURE_DECIMALS),
        temperature_avg=_round(t_avg, _TEMPERATURE_DECIMALS),
    )


def evaluate(snapshot: BatterySnapshot, profile: BatteryProfile = DEFAULT_PROFILE) -> HealthReport:
    """Compute the health report of one snapshot — the single entry point of these rules.

    The thresholds are the battery profile's (``analytics.domain.profiles``); the default, ``nmc``, is
    exactly contract section 2, whose figures are quoted below.

    * ``battery_soh``: :func:`battery_soh` (%, capped at 100, 2 decimals);
    * anomalies, in this order, those that hold:

      - ``voltage_imbalance`` (:func:`has_voltage_imbalance`): value = spread in mV (3 decimals),
        threshold 50.0 mV, cells = ``[min-voltage cell id, max-voltage cell id]`` (ties: lowest id);
      - ``overheating`` (:func:`overheating_cells` not empty): value = max temperature in °C
        (2 decimals), threshold 45.0 °C, cells = every id above 45 °C, ascending;
      - ``low_soh`` (:func:`is_low_soh`): value = SoH in % (uncapped, 2 decimals), threshold 80.0 %,
        cells = ``[]``;

    * ``diagnostics``: :func:`compute_diagnostics`.

    The result does not depend on the order of ``snapshot.cells``.
    Raises :class:`ValueError` on an empty cell list or a non-positive nominal capacity.
    """
    cells = snapshot.cells
    _require_cells(cells)
    _check_capacities(snapshot.nominal_capacity_kwh, snapshot.current_capacity_kwh)

    diagnostics = compute_diagnostics(cells)
    details: list[AnomalyDetail] = []

    if diagnostics.voltage_spread_mv > profile.voltage_imbalance_threshold_mv:
        details.append(
            AnomalyDetail(
                code=VOLTAGE_IMBALANCE_CODE,
                message=VOLTAGE_IMBALANCE_MESSAGE,
                value=diagnostics.voltage_spread_mv,
                threshold=profile.voltage_imbalance_threshold_mv,
                unit=VOLTAGE_IMBALANCE_UNIT,
                cells=voltage_extreme_cells(cells),
            )
        )

    hot = overheating_cells(cells, profile.overheat_threshold_c)
    if hot:
        details.append(
            AnomalyDetail(
                code=OVERHEATING_CODE,
                message=OVERHEATING_MESSAGE,
                value=diagnostics.temperature_max,
                threshold=profile.overheat_threshold_c,
                unit=OVERHEATING_UNIT,
                cells=hot,
            )
        )

    if is_low_soh(snapshot.nominal_capacity_kwh, snapshot.current_capacity_kwh, profile.low_soh_threshold_pct):
        soh = state_of_health_pct(snapshot.nominal_capacity_kwh, snapshot.current_capacity_kwh)
        details.append(
            AnomalyDetail(
                code=LOW_SOH_CODE,
                message=LOW_SOH_MESSAGE,
                value=_round(soh, _SOH_DECIMALS),
                threshold=profile.low_soh_threshold_pct,
                unit=LOW_SOH_UNIT,
                cells=(),
            )
        )

    return HealthReport(
        battery_soh=battery_soh(snapshot.nominal_capacity_kwh, snapshot.current_capacity_kwh),
        anomalies=tuple(detail.message for detail in details),
        anomaly_details=tuple(details),
        diagnostics=diagnostics,
    )
