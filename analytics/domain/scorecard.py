"""The scorecard: how well the analytics recover facts that a simulator injected.

Pure and simulator-agnostic: a :class:`VehicleCase` holds one vehicle's observed data (in the analytics'
own types) next to its true facts; :func:`scorecard_vehicle` scores one case, :func:`scorecard_summarize`
adds the scores up. ``analytics/scorecard_cli.py`` feeds it from ``simulator/truth.py``.

Definitions:

* **weak cells**: a cell is reported weak when its ranking has ``low_voltage``, ``high_voltage`` or
  ``voltage_drift`` among its reasons; **hot cells**: ``hot`` among its reasons. Precision = true
  reported / reported; recall = true reported / injected.
* **jumps**: on the vehicle's full history, a reported jump matches an injected one within
  :data:`JUMP_MATCH_DAYS` days (each injected jump matches at most one report). Precision = matched
  reports / reports; recall = matched injected / injected; plus the share of jump-free vehicles with no
  jump reported.
* **suspect sensors**: over the logs of the cell window, a log is reported when ``data_quality_flags``
  has ``suspect_sensor``; precision and recall against the logs with an injected sensor fault (a weak or
  hot cell flagged as a sensor fault counts against precision).
* **forecast**: from the logs up to the day the true SoH first falls to 90 % (the "forecast point"),
  the forecast of the 80 % crossing is compared with the true crossing cycle count: error
  ``(estimate - true) / true``; the median of its absolute value (%), and the coverage = the share of
  cases whose true cycle count lies in ``[low, high]`` (``high`` None counts as unbounded). A forecast
  with a status other than ``ok`` counts as a miss for coverage and is left out of the error median
  (their number is reported). Only vehicles whose true crossing lies within the simulated history count.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from .cells import CellsSnapshot, cells_rank
from .profiles import profile_get
from .quality import SUSPECT_SENSOR, data_quality_flags
from .trend import METHODS, Method, SohPoint, health_trend

__all__ = [
    "JUMP_MATCH_DAYS",
    "ForecastScore",
    "MethodSummary",
    "Scorecard",
    "VehicleCase",
    "VehicleScore",
    "scorecard_summarize",
    "scorecard_vehicle",
]

JUMP_MATCH_DAYS = 7.0
_WEAK_REASONS = frozenset({"low_voltage", "high_voltage", "voltage_drift"})


@dataclass(frozen=True, slots=True)
class VehicleCase:
    """One simulated vehicle: what the analytics see and what is true.

    ``history``: every SoH point; ``forecast_points``: the points up to the forecast point (empty if the
    true SoH never falls to 90 %); ``early_forecast_points``: the same up to 95 % (a longer extrapolation,
    reported for information); ``true_crossing_cycle`` / ``true_crossing_date``: the true 80 % crossing
    (None if beyond the simulated history); ``cell_window``: the logs of the cell-ranking window;
    ``sensor_fault_log_ids``: the ``log_id`` of the window's logs with an injected sensor fault.
    """

    vehicle_id: str
    profile: str
    history: tuple[SohPoint, ...]
    true_jumps_at: tuple[datetime, ...]
    forecast_points: tuple[SohPoint, ...]
    early_forecast_points: tuple[SohPoint, ...]
    true_crossing_cycle: int | None
    true_crossing_date: date | None
    cell_window: tuple[CellsSnapshot, ...]
    weak_cells: frozenset[int]
    hot_cells: frozenset[int]
    sensor_fault_log_ids: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class ForecastScore:
    """One forecast against the truth: ``status``; ``error`` ``(estimate - true)/true`` (None unless ok);
    ``covered``; ``date_error_days`` (estimate - true date, days; None unless ok);
    ``log_remaining_error``: ``log((estimate - N_last) / (true - N_last))``, the error of the remaining
    cycles on a log scale (None unless ok and both positive) — what ``trend.MODEL_SD`` was calibrated on."""

    status: str
    error: float | None
    covered: bool
    date_error_days: int | None
    log_remaining_error: float | None = None


@dataclass(frozen=True, slots=True)
class VehicleScore:
    """Counts of one vehicle (see the module docstring); ``forecasts`` by method name."""

    vehicle_id: str
    profile: str
    weak_reported: int
    weak_true_reported: int
    weak_injected: int
    hot_reported: int
    hot_true_reported: int
    hot_injected: int
    jumps_reported: int
    jumps_matched_reports: int
    jumps_injected: int
    jumps_found: int
    suspect_reported: int = 0
    suspect_true_reported: int = 0
    suspect_injected: int = 0
    forecasts: dict[str, ForecastScore] = field(default_factory=dict)
    early_forecasts: dict[str, ForecastScore] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class MethodSummary:
    """Forecast figures of one trend method over a fleet."""

    method: str
    cases: int
    not_ok: int
    median_abs_error_pct: float | None
    median_error_pct: float | None
    p90_abs_error_pct: float | None
    coverage: float | None
    median_abs_date_error_days: float | None
    p80_abs_log_remaining_error: float | None = None


@dataclass(frozen=True, slots=True)
class Scorecard:
    """A fleet's figures (ratios in 0-1; None when their denominator is 0)."""

    vehicles: int
    profiles: dict[str, int]
    weak_precision: float | None
    weak_recall: float | None
    weak_injected: int
    hot_precision: float | None
    hot_recall: float | None
    hot_injected: int
    jump_precision: float | None
    jump_recall: float | None
    jumps_injected: int
    jump_free_vehicles: int
    jump_free_clean_share: float | None
    suspect_precision: float | None
    suspect_recall: float | None
    suspect_injected: int
    forecasts: tuple[MethodSummary, ...]
    early_forecasts: tuple[MethodSummary, ...] = ()


def _matches(reported: Sequence[datetime], injected: Sequence[datetime]) -> tuple[int, int]:
    """Greedy one-to-one matching within :data:`JUMP_MATCH_DAYS`: (matched reports, matched injected)."""
    limit = timedelta(days=JUMP_MATCH_DAYS)
    free = list(injected)
    matched = 0
    for moment in sorted(reported):
        near = [t for t in free if abs(t - moment) <= limit]
        if near:
            free.remove(min(near, key=lambda t: abs(t - moment)))
            matched += 1
    return matched, matched


def _forecast_score(case: VehicleCase, points: Sequence[SohPoint], method: Method) -> ForecastScore | None:
    if not points or case.true_crossing_cycle is None or case.true_crossing_date is None:
        return None
    forecast = health_trend(points, now=points[-1].timestamp, method=method).forecast
    if forecast.status != "ok" or forecast.cycle_count is None or forecast.date is None:
        return ForecastScore(forecast.status, None, False, None)
    true_cycles = case.true_crossing_cycle
    cycles = forecast.cycle_count
    covered = cycles.low <= true_cycles and (cycles.high is None or true_cycles <= cycles.high)
    last = points[-1].cycle_count
    remaining, true_remaining = cycles.estimate - last, true_cycles - last
    return ForecastScore(
        status=forecast.status,
        error=(cycles.estimate - true_cycles) / true_cycles,
        covered=covered,
        date_error_days=(forecast.date.estimate - case.true_crossing_date).days,
        log_remaining_error=math.log(remaining / true_remaining) if remaining > 0 and true_remaining > 0 else None,
    )


def scorecard_vehicle(case: VehicleCase, *, methods: Sequence[Method] = METHODS) -> VehicleScore:
    """Score one vehicle: cell ranking on its window, jumps on its full history, forecasts per method."""
    ranks = cells_rank(case.cell_window, profile=profile_get(case.profile)) if case.cell_window else []
    weak = {r.id for r in ranks if _WEAK_REASONS.intersection(r.reasons)}
    suspect = {
        snapshot.log_id
        for snapshot in case.cell_window
        if SUSPECT_SENSOR
        in data_quality_flags(
            timestamp=snapshot.timestamp,
            received_at=None,
            voltages=snapshot.voltages_v,
            temperatures=snapshot.temperatures_c,
            nominal_capacity_kwh=1.0,
            current_capacity_kwh=1.0,
            profile=profile_get(case.profile),
        )
    }
    hot = {r.id for r in ranks if "hot" in r.reasons}
    trend = health_trend(case.history, now=case.history[-1].timestamp) if case.history else None
    reported = [jump.timestamp for jump in trend.jumps] if trend is not None else []
    matched, found = _matches(reported, case.true_jumps_at)
    forecasts: dict[str, ForecastScore] = {}
    early_forecasts: dict[str, ForecastScore] = {}
    for method in methods:
        score = _forecast_score(case, case.forecast_points, method)
        if score is not None:
            forecasts[method] = score
        early = _forecast_score(case, case.early_forecast_points, method)
        if early is not None:
            early_forecasts[method] = early
    return VehicleScore(
        vehicle_id=case.vehicle_id,
        profile=case.profile,
        weak_reported=len(weak),
        weak_true_reported=len(weak & case.weak_cells),
        weak_injected=len(case.weak_cells),
        hot_reported=len(hot),
        hot_true_reported=len(hot & case.hot_cells),
        hot_injected=len(case.hot_cells),
        jumps_reported=len(reported),
        jumps_matched_reports=matched,
        jumps_injected=len(case.true_jumps_at),
        jumps_found=found,
        suspect_reported=len(suspect),
        suspect_true_reported=len(suspect & case.sensor_fault_log_ids),
        suspect_injected=len(case.sensor_fault_log_ids),
        forecasts=forecasts,
        early_forecasts=early_forecasts,
    )


def _ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def _percentile(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _method_summary(method: str, forecast_scores: Sequence[ForecastScore]) -> MethodSummary:
    errors = [f.error * 100 for f in forecast_scores if f.error is not None]
    dates = [abs(f.date_error_days) for f in forecast_scores if f.date_error_days is not None]
    abs_errors = [abs(e) for e in errors]
    return MethodSummary(
        method=method,
        cases=len(forecast_scores),
        not_ok=sum(f.status != "ok" for f in forecast_scores),
        median_abs_error_pct=statistics.median(abs_errors) if abs_errors else None,
        median_error_pct=statistics.median(errors) if errors else None,
        p90_abs_error_pct=_percentile(abs_errors, 0.9),
        coverage=_ratio(sum(f.covered for f in forecast_scores), len(forecast_scores)),
        median_abs_date_error_days=statistics.median(dates) if dates else None,
        p80_abs_log_remaining_error=_percentile(
            [abs(f.log_remaining_error) for f in forecast_scores if f.log_remaining_error is not None], 0.8
        ),
    )


def scorecard_summarize(scores: Iterable[VehicleScore]) -> Scorecard:
    """Add up vehicle scores into fleet figures (see the module docstring for each definition)."""
    items = list(scores)
    profiles: dict[str, int] = {}
    for s in items:
        profiles[s.profile] = profiles.get(s.profile, 0) + 1
    jump_free = [s for s in items if s.jumps_injected == 0]
    return Scorecard(
        vehicles=len(items),
        profiles=profiles,
        weak_precision=_ratio(sum(s.weak_true_reported for s in items), sum(s.weak_reported for s in items)),
        weak_recall=_ratio(sum(s.weak_true_reported for s in items), sum(s.weak_injected for s in items)),
        weak_injected=sum(s.weak_injected for s in items),
        hot_precision=_ratio(sum(s.hot_true_reported for s in items), sum(s.hot_reported for s in items)),
        hot_recall=_ratio(sum(s.hot_true_reported for s in items), sum(s.hot_injected for s in items)),
        hot_injected=sum(s.hot_injected for s in items),
        jump_precision=_ratio(sum(s.jumps_matched_reports for s in items), sum(s.jumps_reported for s in items)),
        jump_recall=_ratio(sum(s.jumps_found for s in items), sum(s.jumps_injected for s in items)),
        jumps_injected=sum(s.jumps_injected for s in items),
        jump_free_vehicles=len(jump_free),
        jump_free_clean_share=_ratio(sum(s.jumps_reported == 0 for s in jump_free), len(jump_free)),
        suspect_precision=_ratio(sum(s.suspect_true_reported for s in items), sum(s.suspect_reported for s in items)),
        suspect_recall=_ratio(sum(s.suspect_true_reported for s in items), sum(s.suspect_injected for s in items)),
        suspect_injected=sum(s.suspect_injected for s in items),
        forecasts=tuple(
            _method_summary(method, [s.forecasts[method] for s in items if method in s.forecasts]) for method in METHODS
        ),
        early_forecasts=tuple(
            _method_summary(method, [s.early_forecasts[method] for s in items if method in s.early_forecasts])
            for method in METHODS
        ),
    )
