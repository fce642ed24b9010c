"""Cell ranking over a window of logs (API contract section 6, "Cells").

For each log, each cell is compared with the pack's median in that same log (so the pack's state of
charge and temperature, which move every cell together, cancel out):

* ``voltage_deviation_mv`` = median over the logs of ``(v_cell - median_cells(v)) * 1000`` (mV);
* ``temperature_excess_c`` = median over the logs of ``t_cell - median_cells(t)`` (°C);
* ``voltage_drift_mv_per_30d`` = Theil-Sen slope (the median of the pairwise slopes, as
  ``scipy.stats.theilslopes``) of the per-log deviation against time, * 30 days (mV per 30 d). With more
  than :data:`DRIFT_MAX_POINTS` logs, the logs are first grouped into that many equal-time bins and each
  bin contributes the median of its deviations at the median of its times, which keeps the pairwise
  computation bounded. None with fewer than :data:`DRIFT_MIN_LOGS` logs or a span under
  :data:`DRIFT_MIN_SPAN_DAYS` days (too short to tell drift from noise).

A cell missing from a log (a pack with fewer cells in it) is left out of that log's figures.
Figures are rounded to 2 decimals and thresholds compared on the rounded values, with ``>=``:

* ``low_voltage`` — ``deviation ≤ -cell_warn_deviation_mv``; ``high_voltage`` — ``deviation ≥ +warn``;
* ``voltage_drift`` — ``|drift| ≥ cell_warn_drift_mv_per_30d``;
* ``hot`` — ``excess ≥ cell_warn_temperature_excess_c`` (a cold cell is not flagged);
* ``level`` is ``alert`` when ``|deviation| ≥ cell_alert_deviation_mv``, ``|drift| ≥
  cell_alert_drift_mv_per_30d`` or ``excess ≥ cell_alert_temperature_excess_c``; else ``warn`` when any
  reason holds; else ``ok``.

Order: ``alert`` first, then ``warn``, then ``ok``; within a level by ``|deviation|`` descending, then by
id ascending. Reasons are listed in the order ``low_voltage``, ``high_voltage``, ``voltage_drift``, ``hot``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from common import vocabulary

from .profiles import DEFAULT_PROFILE, BatteryProfile

__all__ = [
    "DRIFT_MAX_POINTS",
    "DRIFT_MIN_LOGS",
    "DRIFT_MIN_SPAN_DAYS",
    "LEVELS",
    "REASONS",
    "CellRank",
    "CellsSnapshot",
    "cells_rank",
    "theil_sen_slopes",
    "voltage_deviations_mv",
]

# The levels (worst first) and reasons are the vocabulary's (common.vocabulary.CELL_LEVELS, CELL_REASONS).
LEVELS: tuple[str, ...] = vocabulary.codes(vocabulary.CELL_LEVELS)
REASONS: tuple[str, ...] = vocabulary.codes(vocabulary.CELL_REASONS)
_ALERT, _WARN, _OK = LEVELS
_LOW_VOLTAGE, _HIGH_VOLTAGE, _VOLTAGE_DRIFT, _HOT = REASONS
DRIFT_MIN_LOGS = 4
DRIFT_MIN_SPAN_DAYS = 2.0
DRIFT_MAX_POINTS = 100
_DAY_S = 86_400.0

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class CellsSnapshot:
    """The cells of one log: ``voltages_v[i]`` (V) and ``temperatures_c[i]`` (°C) of cell id ``i``
    (the contract's ids are exactly ``0 … n-1``), at the aware ``timestamp``."""

    timestamp: datetime
    voltages_v: tuple[float, ...]
    temperatures_c: tuple[float, ...]
    log_id: str = ""

    @classmethod
    def from_log(cls, log: Mapping[str, Any], *, timestamp: datetime, log_id: str = "") -> CellsSnapshot:
        """From a validated log dict (``cells``: ``[{"id", "voltage", "temperature"}]``, any order)."""
        cells = sorted(log["cells"], key=lambda cell: int(cell["id"]))
        return cls(
            timestamp=timestamp,
            voltages_v=tuple(float(cell["voltage"]) for cell in cells),
            temperatures_c=tuple(float(cell["temperature"]) for cell in cells),
            log_id=log_id,
        )


@dataclass(frozen=True, slots=True)
class CellRank:
    """One cell's ranking figures (mV, mV per 30 days, °C; 2 decimals), ``level`` and ``reasons``."""

    id: int
    voltage_deviation_mv: float
    voltage_drift_mv_per_30d: float | None
    temperature_excess_c: float
    level: str
    reasons: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready plain data in the contract's key order."""
        return {
            "id": self.id,
            "voltage_deviation_mv": self.voltage_deviation_mv,
            "voltage_drift_mv_per_30d": self.voltage_drift_mv_per_30d,
            "temperature_excess_c": self.temperature_excess_c,
            "level": self.level,
            "reasons": list(self.reasons),
        }


def voltage_deviations_mv(snapshot: CellsSnapshot) -> tuple[float, ...]:
    """Each cell's ``(v - median of the log's voltages) * 1000`` in mV, rounded to 3 decimals (cell history)."""
    voltages = np.asarray(snapshot.voltages_v, dtype=np.float64)
    if voltages.size == 0:
        return ()
    deviations = (voltages - float(np.median(voltages))) * 1000.0
    return tuple(round(float(d), 3) + 0.0 for d in deviations)


def _median(values: FloatArray, axis: int) -> FloatArray:
    """``np.median`` when nothing is missing (fast), else ``np.nanmedian`` (all-NaN slices give NaN)."""
    if not np.isnan(values).any():
        result: FloatArray = np.median(values, axis=axis)
        return result
    present = ~np.all(np.isnan(values), axis=axis)
    out_shape = values.shape[1 - axis]
    out = np.full(out_shape, np.nan)
    if present.any():
        taken = values[:, present] if axis == 0 else values[present, :]
        out[present] = np.nanmedian(taken, axis=axis)
    return out


def _matrix(rows: Sequence[tuple[float, ...]], width: int) -> FloatArray:
    matrix = np.full((len(rows), width), np.nan)
    for i, row in enumerate(rows):
        matrix[i, : len(row)] = row
    return matrix


def theil_sen_slopes(times: FloatArray, values: FloatArray) -> FloatArray:
    """Theil-Sen slope of each column of ``values`` (rows at ``times``): the median over the pairs
    ``i < j`` with ``times[j] > times[i]`` of ``(values[j] - values[i]) / (times[j] - times[i])``.
    NaN values are left out of the pairs; a column with no pair gives NaN."""
    i, j = np.triu_indices(times.size, k=1)
    dt = times[j] - times[i]
    keep = dt > 0
    i, j, dt = i[keep], j[keep], dt[keep]
    if i.size == 0:
        return np.full(values.shape[1], np.nan)
    slopes = (values[j] - values[i]) / dt[:, None]
    return _median(slopes, axis=0)


def _binned(times: FloatArray, values: FloatArray, bins: int) -> tuple[FloatArray, FloatArray]:
    """Median time and median values of ``bins`` equal-time bins (empty bins dropped)."""
    edges = np.linspace(times[0], times[-1], bins + 1)
    which = np.clip(np.searchsorted(edges, times, side="right") - 1, 0, bins - 1)
    out_t: list[float] = []
    out_v: list[FloatArray] = []
    for b in np.unique(which):
        rows = which == b
        out_t.append(float(np.median(times[rows])))
        out_v.append(_median(values[rows], axis=0))
    return np.asarray(out_t), np.vstack(out_v)


def _round2(value: float) -> float:
    return round(value, 2) + 0.0


def cells_rank(logs: Sequence[CellsSnapshot], *, profile: BatteryProfile = DEFAULT_PROFILE) -> list[CellRank]:
    """Rank the cells of a pack over ``logs`` (the window), as defined in the module docstring.

    Every cell id seen in any log is ranked; ``[]`` without logs. Vectorised over logs * cells.
    """
    if not logs:
        return []
    ordered = sorted(logs, key=lambda snapshot: snapshot.timestamp)
    width = max(len(snapshot.voltages_v) for snapshot in ordered)
    voltages = _matrix([s.voltages_v for s in ordered], width)
    temperatures = _matrix([s.temperatures_c for s in ordered], width)
    deviation = (voltages - _median(voltages, axis=1)[:, None]) * 1000.0
    excess = temperatures - _median(temperatures, axis=1)[:, None]
    present = ~np.all(np.isnan(deviation), axis=0)
    median_deviation = _median(deviation, axis=0)
    median_excess = _median(excess, axis=0)

    origin = ordered[0].timestamp
    days = np.array([(s.timestamp - origin).total_seconds() / _DAY_S for s in ordered])
    drift = np.full(width, np.nan)
    if len(ordered) >= DRIFT_MIN_LOGS and days[-1] - days[0] >= DRIFT_MIN_SPAN_DAYS:
        times, values = days, deviation
        if times.size > DRIFT_MAX_POINTS:
            times, values = _binned(times, values, DRIFT_MAX_POINTS)
        drift = theil_sen_slopes(times, values) * 30.0

    ranks: list[CellRank] = []
    for cell in np.flatnonzero(present):
        dev = _round2(float(median_deviation[cell]))
        slope = None if np.isnan(drift[cell]) else _round2(float(drift[cell]))
        heat = _round2(float(median_excess[cell]))
        reasons: list[str] = []
        if dev <= -profile.cell_warn_deviation_mv:
            reasons.append(_LOW_VOLTAGE)
        if dev >= profile.cell_warn_deviation_mv:
            reasons.append(_HIGH_VOLTAGE)
        if slope is not None and abs(slope) >= profile.cell_warn_drift_mv_per_30d:
            reasons.append(_VOLTAGE_DRIFT)
        if heat >= profile.cell_warn_temperature_excess_c:
            reasons.append(_HOT)
        alert = (
            abs(dev) >= profile.cell_alert_deviation_mv
            or (slope is not None and abs(slope) >= profile.cell_alert_drift_mv_per_30d)
            or heat >= profile.cell_alert_temperature_excess_c
        )
        level = _ALERT if alert else _WARN if reasons else _OK
        ranks.append(CellRank(int(cell), dev, slope, heat, level, tuple(reasons)))
    ranks.sort(key=lambda r: (LEVELS.index(r.level), -abs(r.voltage_deviation_mv), r.id))
    return ranks
