"""Health trend and forecast of one vehicle's SoH series (API contract section 6, "Health trend and forecast").

Input: the vehicle's logs as :class:`SohPoint` (timestamp, cycle count, SoH in %). Output: a
:class:`HealthTrend` with the jumps found, the fade rates, the forecast of the ``threshold_soh`` crossing
(cycles and date, with a central prediction interval) and the series thinned to at most 2,000 points with
the trend's fitted values.

**Jumps** (sudden steps that wear cannot explain: BMS recalibration, module or pack replacement). The
series is detrended by a robust fit of the calendar + cycle model below; on the residuals ``r`` the step
statistic at log ``i`` is the difference of two windowed medians,

    ``s_i = median(r[i : i + w]) - median(r[i - w : i])``,   ``w = min(30, i, n - i)`` logs, ``w ≥ 8``,

and ``i`` is a candidate when ``|s_i|`` is the largest within ``w`` logs and
``|s_i| > max(JUMP_MIN_PCT, JUMP_K * sigma_step)`` with ``sigma_step = 1.2533 * sigma * sqrt(2 / w)`` (the
standard deviation of a difference of two medians of ``w`` Gaussian values), ``sigma = 1.4826 * MAD`` of the
residuals, ``JUMP_MIN_PCT = 1.0`` % and ``JUMP_K = 5``. Medians make one wild reading unable to fake a jump.
Since ``s_i`` is flat within half a window of a step, the candidate is then put on the log that splits
its neighbourhood into two constant levels with the least sum of squared deviations (residuals clipped
to their median +- 3 sigma, so that one wild reading cannot pull the split), and confirmed only
if straight lines fitted to the ``JUMP_GAP_WINDOW = 60`` logs on each side (points beyond 4 sigma of
their median left out) disagree at the step by more than ``max(JUMP_MIN_PCT, JUMP_GAP_K * SE)``
(``JUMP_GAP_K = 4``, ``SE`` the standard error of that gap): a bend of the trend (a knee) is continuous,
a step is not. The fit is then redone with a level offset from each jump on (a step function), each jump
is re-tested with its own step added back, new candidates are searched on the new residuals (at most
4 rounds). Jump offsets never enter the fade rate or the forecast: the forecast starts from the level of
the last segment.

**Trend models** (both with one level offset per jump, both robust to wild readings), SoH in %, ``N`` the
cycle count, ``A`` the pack's age in days:

* ``calendar_cycle`` (the default; it won the comparison on the simulator, see ``docs/analytics.md``)::

      SoH = q - alpha * sqrt(A) - beta * N,   alpha, beta ≥ 0

  the square-root-of-time calendar law plus a cycle term (the form of the semi-empirical models of
  Naumann et al. 2018/2020 for LFP; Schmalstieg et al. 2014 fit t^0.75 and sqrt(throughput) for NMC, a
  close relative). Linear in its parameters: fitted by iteratively reweighted least
  squares with Huber weights (``c = 1.345 sigma``); a negative ``alpha`` or ``beta`` is fixed at 0 and the fit redone.
  ``A`` is days since the first log plus ``N_first / r_first`` (the cycles already done, at the early
  cycles per day), i.e. the first log is taken as the pack's start when its cycle count is 0.
* ``power_law``::

      SoH = q - a * (N / 1000)^b,   a ≥ 0, 0.3 ≤ b ≤ 1.5

  the empirical power law of throughput (Wang et al., J. Power Sources 2011), fitted by
  ``scipy.optimize.least_squares`` with the ``soft_l1`` loss (``f_scale = sigma``).

**Forecast.** The time axis ahead uses the vehicle's recent usage ``r`` (cycles per day: the cycle count
gained over the last 90 days of logs divided by their span; the whole series if that span is under
14 days). The central estimate is where the fitted trend, from the last segment's level on, meets
``threshold_soh``; ``cycle_count`` and ``date`` map to each other through ``r``. The prediction interval
takes the ``(1 - interval)/2`` and ``(1 + interval)/2`` quantiles of the crossing over
:data:`DRAWS` parameter draws from the fit's normal approximation ``N(theta, sigma² (XᵀWX)⁻¹)`` (``W`` the robust
weights), widened by a model-discrepancy factor: each draw's remaining cycles are multiplied by
``exp(eps)``, ``eps ~ N(0, MODEL_SD)`` — the spread of the log forecast error that the parametric spread
alone does not cover (fitted on the simulator's tuning seeds, see ``docs/analytics.md``).

``status``: ``insufficient_data`` (fewer than :data:`MIN_LOGS` logs or a span under :data:`MIN_SPAN_DAYS`
days: fade, forecast and fitted values are None), ``reached`` (the fitted SoH at the last log, rounded to
6 decimals, is below ``threshold_soh``: estimates None), ``beyond_horizon`` (the central estimate is more
than 25 years after ``now`` or beyond 100,000 cycles, or the trend never falls: estimates None), else
``ok``; in ``ok``, a ``high`` beyond the horizon is None.

Rounding: SoH values to 2 decimals, fade rates to 2 decimals, cycle counts to integers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from scipy.optimize import least_squares  # type: ignore[import-untyped]

from common import vocabulary

__all__ = [
    "DRAWS",
    "HORIZON_CYCLES",
    "HORIZON_YEARS",
    "JUMP_GAP_K",
    "JUMP_GAP_WINDOW",
    "JUMP_K",
    "JUMP_MIN_PCT",
    "JUMP_WINDOW",
    "METHODS",
    "MIN_LOGS",
    "MIN_SPAN_DAYS",
    "MODEL_SD",
    "SERIES_MAX_POINTS",
    "TREND_VERSION",
    "CycleEstimate",
    "DateEstimate",
    "Fade",
    "Forecast",
    "HealthTrend",
    "Jump",
    "Method",
    "SeriesPoint",
    "SohPoint",
    "health_trend",
    "soh_jumps",
]

Method = Literal["calendar_cycle", "power_law"]
#: Trend models by name; the first is the default.
METHODS: tuple[Method, ...] = ("calendar_cycle", "power_law")
TREND_VERSION = "1.0"

MIN_LOGS = 10
MIN_SPAN_DAYS = 90.0
HORIZON_YEARS = 25
HORIZON_CYCLES = 100_000
SERIES_MAX_POINTS = 2000
JUMP_WINDOW = 30
JUMP_MIN_WINDOW = 8
JUMP_MIN_PCT = 1.0
JUMP_K = 5.0
JUMP_GAP_WINDOW = 60
JUMP_GAP_K = 4.0
DRAWS = 1000
MODEL_SD = 0.16
_HUBER_C = 1.345
_NEVER = 1e15
_SIGMA_FLOOR = 0.02
_MAD_TO_SIGMA = 1.4826
_MEDIAN_SE = 1.2533
_RATE_WINDOW_DAYS = 90.0
_RATE_MIN_SPAN_DAYS = 14.0
_DAY_S = 86_400.0
_YEAR_DAYS = 365.25
# The forecast's statuses are the vocabulary's (common.vocabulary.FORECAST_STATUSES).
_STATUS_OK, _STATUS_INSUFFICIENT, _STATUS_REACHED, _STATUS_BEYOND = vocabulary.codes(vocabulary.FORECAST_STATUSES)

FloatArray = npt.NDArray[np.float64]


# --------------------------------------------------------------------------- data


@dataclass(frozen=True, slots=True)
class SohPoint:
    """One log as the trend sees it: aware ``timestamp``, ``cycle_count``, ``soh`` (%, unrounded, uncapped:
    ``current_capacity_kwh / nominal_capacity_kwh * 100``) and the log's id (echoed in jumps and series)."""

    timestamp: datetime
    cycle_count: int
    soh: float
    log_id: str = ""


@dataclass(frozen=True, slots=True)
class Jump:
    """A step in SoH that the trend does not explain, at the log ``log_id`` (the first log after the step).

    ``soh_before`` / ``soh_after``: the fitted SoH at the log before and at this log (%, 2 decimals);
    ``delta = soh_after - soh_before`` (%, 2 decimals; positive: up).
    """

    log_id: str
    timestamp: datetime
    soh_before: float
    soh_after: float
    delta: float


@dataclass(frozen=True, slots=True)
class Fade:
    """Current fade rate of the fitted trend (calendar and cycle wear together, at the recent usage).

    ``percent_per_year``: SoH points lost per 365.25 days; ``percent_per_1000_cycles``: per 1,000 cycles
    (None when the vehicle does no cycles). Both 2 decimals.
    """

    percent_per_1000_cycles: float | None
    percent_per_year: float | None


@dataclass(frozen=True, slots=True)
class CycleEstimate:
    """Cycle count at the crossing: central ``estimate`` and interval ``low``/``high`` (None: beyond horizon)."""

    estimate: int
    low: int
    high: int | None


@dataclass(frozen=True, slots=True)
class DateEstimate:
    """Date (UTC) of the crossing: central ``estimate`` and interval ``low``/``high`` (None: beyond horizon)."""

    estimate: date
    low: date
    high: date | None


@dataclass(frozen=True, slots=True)
class Forecast:
    """When the SoH reaches ``threshold_soh`` (%); ``interval`` is the probability of ``[low, high]``.

    ``status``: ``ok`` | ``insufficient_data`` | ``reached`` | ``beyond_horizon``; ``cycle_count`` and
    ``date`` are None unless ``ok``. ``method`` and ``version`` name the fit.
    """

    status: str
    threshold_soh: float
    interval: float
    cycle_count: CycleEstimate | None
    date: DateEstimate | None
    method: str
    version: str


@dataclass(frozen=True, slots=True)
class SeriesPoint:
    """One log of the (thinned) series: ``battery_soh`` as in reports (capped at 100, 2 decimals) and the
    trend's ``fitted`` SoH (2 decimals; None when there is no fit)."""

    log_id: str
    timestamp: datetime
    cycle_count: int
    battery_soh: float
    fitted: float | None


@dataclass(frozen=True, slots=True)
class HealthTrend:
    """The health trend of one vehicle (contract section 6, minus ``vehicle_id`` and ``profile``).

    ``logs_used``: logs in the fit; ``soh_latest``: the fitted SoH at the last log (capped at 100,
    2 decimals), or the last log's ``battery_soh`` when there is no fit (None without logs).
    """

    logs_used: int
    soh_latest: float | None
    fade: Fade
    forecast: Forecast
    jumps: tuple[Jump, ...]
    series: tuple[SeriesPoint, ...]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready plain data in the contract's shape (dates ``YYYY-MM-DD``, timestamps ISO 8601 UTC ``Z``)."""
        forecast = self.forecast
        return {
            "logs_used": self.logs_used,
            "soh_latest": self.soh_latest,
            "fade": {
                "percent_per_1000_cycles": self.fade.percent_per_1000_cycles,
                "percent_per_year": self.fade.percent_per_year,
            },
            "forecast": {
                "status": forecast.status,
                "threshold_soh": forecast.threshold_soh,
                "interval": forecast.interval,
                "cycle_count": _cycles_dict(forecast.cycle_count),
                "date": _dates_dict(forecast.date),
                "method": forecast.method,
                "version": forecast.version,
            },
            "jumps": [
                {
                    "log_id": jump.log_id,
                    "timestamp": _iso(jump.timestamp),
                    "soh_before": jump.soh_before,
                    "soh_after": jump.soh_after,
                    "delta": jump.delta,
                }
                for jump in self.jumps
            ],
            "series": [
                {
                    "log_id": point.log_id,
                    "timestamp": _iso(point.timestamp),
                    "cycle_count": point.cycle_count,
                    "battery_soh": point.battery_soh,
                    "fitted": point.fitted,
                }
                for point in self.series
            ],
        }


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _cycles_dict(value: CycleEstimate | None) -> dict[str, int | None]:
    if value is None:
        return {"estimate": None, "low": None, "high": None}
    return {"estimate": value.estimate, "low": value.low, "high": value.high}


def _dates_dict(value: DateEstimate | None) -> dict[str, str | None]:
    if value is None:
        return {"estimate": None, "low": None, "high": None}
    return {
        "estimate": value.estimate.isoformat(),
        "low": value.low.isoformat(),
        "high": value.high.isoformat() if value.high is not None else None,
    }


# --------------------------------------------------------------------------- robust statistics


def _robust_sigma(residuals: FloatArray) -> float:
    """``1.4826 * MAD`` with a floor of 0.02 % (a perfectly flat series still has a scale)."""
    mad = float(np.median(np.abs(residuals - np.median(residuals))))
    return max(_MAD_TO_SIGMA * mad, _SIGMA_FLOOR)


def _steps(n: int, jump_indices: Sequence[int]) -> FloatArray:
    """Design columns of the level offsets: column ``k`` is 1 from log ``jump_indices[k]`` on."""
    index = np.arange(n)
    return np.array([(index >= j).astype(np.float64) for j in jump_indices]).reshape(len(jump_indices), n).T


@dataclass(frozen=True, slots=True)
class _Fit:
    """A fitted trend: ``fitted`` values (with offsets), ``trend_at_last(θ)`` pieces and the draws."""

    fitted: FloatArray
    residuals: FloatArray
    offsets: FloatArray
    sigma: float
    params: FloatArray
    cov: FloatArray


def _fit_calendar_cycle(age: FloatArray, cycles: FloatArray, soh: FloatArray, jumps: Sequence[int]) -> _Fit:
    """Huber IRLS fit of ``SoH = q + sum offsets - alpha sqrt(A) - beta N`` with ``alpha, beta ≥ 0``.

    ``params`` is ``(q_last, alpha, beta)`` where ``q_last = q + sum offsets`` (the last segment's level);
    ``cov`` its 3*3 covariance (zero rows for a parameter fixed at 0).
    """
    n = soh.size
    base = np.column_stack([np.ones(n), -np.sqrt(age), -cycles / 1000.0])
    design_full = np.hstack([base, _steps(n, jumps)])
    active = [0, 1, 2, *range(3, 3 + len(jumps))]
    while True:
        design = design_full[:, active]
        weights = np.ones(n)
        coef = np.zeros(len(active))
        sigma = _SIGMA_FLOOR
        for _ in range(12):
            sw = np.sqrt(weights)
            coef_new = np.linalg.lstsq(design * sw[:, None], soh * sw, rcond=None)[0]
            residuals = soh - design @ coef_new
            sigma = _robust_sigma(residuals)
            limit = _HUBER_C * sigma
            weights = np.minimum(1.0, limit / np.maximum(np.abs(residuals), 1e-12))
            converged = bool(np.max(np.abs(coef_new - coef)) < 1e-5)
            coef = coef_new
            if converged:
                break
        negative = [k for k, column in enumerate(active) if column in (1, 2) and coef[k] < 0]
        if not negative:
            break
        active.remove(active[min(negative, key=lambda k: coef[k])])
    full = np.zeros(3 + len(jumps))
    full[active] = coef
    xtwx = design.T @ (design * weights[:, None])
    cov_active = sigma**2 * np.linalg.pinv(xtwx)
    cov_full = np.zeros((full.size, full.size))
    cov_full[np.ix_(active, active)] = cov_active
    # q_last = q + sum offsets: a linear map of the full parameter vector.
    transform = np.zeros((3, full.size))
    transform[0, 0] = 1.0
    transform[0, 3:] = 1.0
    transform[1, 1] = 1.0
    transform[2, 2] = 1.0
    params = transform @ full
    cov = transform @ cov_full @ transform.T
    fitted = design_full @ full
    return _Fit(
        fitted=fitted,
        residuals=soh - fitted,
        offsets=full[3:],
        sigma=sigma,
        params=params,
        cov=cov,
    )


def _fit_power_law(cycles: FloatArray, soh: FloatArray, jumps: Sequence[int]) -> _Fit:
    """``soft_l1`` fit of ``SoH = q + sum offsets - a (N/1000)^b``; ``params = (q_last, a, b)``."""
    n = soh.size
    x = np.maximum(cycles / 1000.0, 0.0)
    log_x = np.where(x > 0, np.log(np.where(x > 0, x, 1.0)), 0.0)
    steps = _steps(n, jumps)
    sigma0 = _robust_sigma(np.diff(soh) / math.sqrt(2)) if n > 2 else 1.0

    def model(theta: FloatArray) -> FloatArray:
        q, a, b = theta[0], theta[1], theta[2]
        result: FloatArray = q - a * np.power(x, b) + steps @ theta[3:]
        return result

    def jac(theta: FloatArray) -> FloatArray:
        a, b = theta[1], theta[2]
        xb = np.power(x, b)
        columns = [np.ones(n), xb, a * xb * log_x]  # derivatives of the residual soh - model
        return np.column_stack([-columns[0], columns[1], columns[2], -steps])

    q0 = float(np.median(soh[: max(3, n // 20)]))
    theta0 = np.concatenate([[q0, max(q0 - float(np.median(soh[-max(3, n // 20) :])), 0.1), 0.8], np.zeros(len(jumps))])
    lower = np.concatenate([[-np.inf, 0.0, 0.3], np.full(len(jumps), -np.inf)])
    upper = np.concatenate([[np.inf, np.inf, 1.5], np.full(len(jumps), np.inf)])
    theta0 = np.clip(theta0, lower + 1e-9, upper - 1e-9)
    result = least_squares(
        lambda theta: soh - model(theta),
        theta0,
        jac=jac,
        bounds=(lower, upper),
        loss="soft_l1",
        f_scale=max(sigma0, _SIGMA_FLOOR),
        method="trf",
    )
    theta = np.asarray(result.x, dtype=np.float64)
    fitted = model(theta)
    residuals = soh - fitted
    sigma = _robust_sigma(residuals)
    weights = 1.0 / np.sqrt(1.0 + (residuals / sigma) ** 2)
    j = jac(theta)
    cov_full = sigma**2 * np.linalg.pinv(j.T @ (j * weights[:, None]))
    transform = np.zeros((3, theta.size))
    transform[0, 0] = 1.0
    transform[0, 3:] = 1.0
    transform[1, 1] = 1.0
    transform[2, 2] = 1.0
    return _Fit(
        fitted=fitted,
        residuals=residuals,
        offsets=theta[3:],
        sigma=sigma,
        params=transform @ theta,
        cov=transform @ cov_full @ transform.T,
    )


# --------------------------------------------------------------------------- jumps


def _step_statistics(residuals: FloatArray) -> tuple[FloatArray, FloatArray]:
    """``s_i`` (difference of the medians of the ``w`` logs from ``i`` on and the ``w`` before) and ``w_i``;
    NaN where fewer than :data:`JUMP_MIN_WINDOW` logs lie on a side."""
    n = residuals.size
    stats = np.full(n, np.nan)
    widths = np.zeros(n)
    if n < 2 * JUMP_MIN_WINDOW:
        return stats, widths
    w = min(JUMP_WINDOW, n // 2)
    medians = np.median(np.lib.stride_tricks.sliding_window_view(residuals, w), axis=1)  # medians[k] of r[k:k+w]
    core = np.arange(w, n - w + 1)
    stats[core] = medians[core] - medians[core - w]
    widths[core] = w
    # Near the ends the window shrinks to what is there (at least JUMP_MIN_WINDOW logs a side): one padded
    # matrix per side, NaN beyond each window, so that all edge medians are two nanmedian calls.
    edges = np.array(
        [i for i in [*range(JUMP_MIN_WINDOW, w), *range(n - w + 1, n - JUMP_MIN_WINDOW + 1)] if i < n],
        dtype=np.intp,
    )
    if edges.size:
        edge_widths = np.minimum(edges, n - edges)
        keep = (edge_widths >= JUMP_MIN_WINDOW) & (edge_widths < w)
        edges, edge_widths = edges[keep], edge_widths[keep]
        offsets = np.arange(w)
        inside = offsets[None, :] < edge_widths[:, None]
        after_index = np.clip(edges[:, None] + offsets[None, :], 0, n - 1)
        before_index = np.clip(edges[:, None] - 1 - offsets[None, :], 0, n - 1)
        after = np.where(inside, residuals[after_index], np.nan)
        before = np.where(inside, residuals[before_index], np.nan)
        stats[edges] = np.nanmedian(after, axis=1) - np.nanmedian(before, axis=1)
        widths[edges] = edge_widths
    return stats, widths


def _jump_candidates(residuals: FloatArray, sigma: float) -> list[int]:
    """Indices ``i`` whose ``|s_i|`` passes the threshold and is the largest within ``w`` logs."""
    stats, widths = _step_statistics(residuals)
    valid = ~np.isnan(stats)
    if not valid.any():
        return []
    size = np.abs(np.where(valid, stats, 0.0))
    limit = np.maximum(JUMP_MIN_PCT, JUMP_K * _MEDIAN_SE * sigma * np.sqrt(2.0 / np.maximum(widths, 1.0)))
    passing = np.flatnonzero(valid & (size > limit))
    chosen: list[int] = []
    for i in passing[np.argsort(-size[passing], kind="stable")]:
        if all(abs(int(i) - c) > widths[i] for c in chosen):
            chosen.append(int(i))
    return sorted(chosen)


def _refine(residuals: FloatArray, i: int, lo: int, hi: int, sigma: float) -> int:
    """The split ``j`` near ``i`` (within ``[lo, hi)`` and one window) that best separates two constant levels.

    The windowed-median statistic is flat within half a window of a step; this puts the jump on its log.
    Cost: the sum of squared deviations from each side's mean, on residuals clipped to their median
    +- 3 sigma (so one wild reading cannot pull the split); computed for every split at once from cumulative sums.
    """
    lo = max(lo, i - JUMP_WINDOW)
    hi = min(hi, i + JUMP_WINDOW)
    half = JUMP_MIN_WINDOW // 2
    if hi - lo < 2 * half:
        return i
    segment = residuals[lo:hi]
    center = float(np.median(segment))
    values = np.clip(segment, center - 3 * sigma, center + 3 * sigma)
    total, total_sq, count = values.sum(), (values**2).sum(), values.size
    cumsum, cumsum_sq = np.cumsum(values), np.cumsum(values**2)
    splits = np.arange(half, count - half + 1)  # j - lo: the left side holds values[:split]
    left_n = splits.astype(np.float64)
    right_n = count - left_n
    left_sum, left_sq = cumsum[splits - 1], cumsum_sq[splits - 1]
    right_sum, right_sq = total - left_sum, total_sq - left_sq
    cost = left_sq - left_sum**2 / left_n + right_sq - right_sum**2 / right_n
    return lo + int(splits[int(np.argmin(cost))])


def _line_at(days: FloatArray, values: FloatArray, sigma: float, at: float) -> tuple[float, float]:
    """Least-squares line through ``values`` (points beyond 4 sigma of their median dropped), its value at
    ``at`` and that value's variance factor ``1/m + (at - mean)² / Sxx`` (* sigma² gives the variance)."""
    keep = np.abs(values - np.median(values)) <= 4.0 * sigma
    x, y = days[keep], values[keep]
    m = x.size
    mean = float(x.mean())
    sxx = float(((x - mean) ** 2).sum())
    if sxx <= 0:
        return float(y.mean()), 1.0 / m
    slope = float(((x - mean) * (y - y.mean())).sum()) / sxx
    return float(y.mean()) + slope * (at - mean), 1.0 / m + (at - mean) ** 2 / sxx


def _gap_confirms(residuals: FloatArray, days: FloatArray, j: int, lo: int, hi: int, sigma: float) -> bool:
    """Whether the lines fitted to the :data:`JUMP_GAP_WINDOW` logs on each side of ``j`` (within
    ``[lo, hi)``) disagree at the step by more than ``max(JUMP_MIN_PCT, JUMP_GAP_K * standard error)``.

    A bend of the trend (a knee) is continuous: the two local lines meet; a step is not.
    """
    left = slice(max(lo, j - JUMP_GAP_WINDOW), j)
    right = slice(j, min(hi, j + JUMP_GAP_WINDOW))
    if j - left.start < JUMP_MIN_WINDOW or right.stop - j < JUMP_MIN_WINDOW:
        return False
    at = (days[j - 1] + days[j]) / 2
    before, var_before = _line_at(days[left], residuals[left], sigma, at)
    after, var_after = _line_at(days[right], residuals[right], sigma, at)
    gap = after - before
    return abs(gap) > max(JUMP_MIN_PCT, JUMP_GAP_K * sigma * math.sqrt(var_before + var_after))


def _jumps_find(days: FloatArray, age: FloatArray, cycles: FloatArray, soh: FloatArray) -> tuple[list[int], _Fit]:
    """Jump indices (first log after each step) and the calendar-cycle fit with their offsets."""
    n = soh.size
    jumps: list[int] = []
    fit = _fit_calendar_cycle(age, cycles, soh, jumps)
    for _ in range(4):
        sigma = fit.sigma
        # Each current jump is re-tested on the residuals with its own step added back; new candidates
        # come from the residuals of the current fit.
        tests: list[tuple[int, FloatArray]] = [
            (j, fit.residuals + _steps(n, [j])[:, 0] * fit.offsets[k]) for k, j in enumerate(jumps)
        ]
        tests += [
            (i, fit.residuals)
            for i in _jump_candidates(fit.residuals, sigma)
            if all(abs(i - j) > JUMP_WINDOW for j in jumps)
        ]
        tests.sort(key=lambda test: test[0])
        positions = [test[0] for test in tests]
        kept: list[int] = []
        for k, (i, residuals) in enumerate(tests):
            lo = positions[k - 1] if k > 0 else 0
            hi = positions[k + 1] if k + 1 < len(tests) else n
            j = _refine(residuals, i, lo, hi, sigma)
            if _gap_confirms(residuals, days, j, lo, hi, sigma) and (not kept or j - kept[-1] >= JUMP_MIN_WINDOW):
                kept.append(j)
        if kept == jumps:
            break
        jumps = kept
        fit = _fit_calendar_cycle(age, cycles, soh, jumps)
    return jumps, fit


# --------------------------------------------------------------------------- forecast


def _recent_rate(days: FloatArray, cycles: FloatArray) -> float:
    """Cycles per day over the last 90 days of logs (the whole series if those span < 14 days), ≥ 0."""
    recent = days >= days[-1] - _RATE_WINDOW_DAYS
    first = int(np.argmax(recent))
    if days[-1] - days[first] < _RATE_MIN_SPAN_DAYS:
        first = 0
    span = days[-1] - days[first]
    return max(float(cycles[-1] - cycles[first]) / span, 0.0) if span > 0 else 0.0


def _crossing_calendar_cycle(
    params: FloatArray, age_last: float, cycles_last: float, rate: float, threshold: float
) -> FloatArray:
    """Age (days) at which ``q - alpha sqrt(A) - beta (N_last + r (A - A_last)) = threshold``, per row of ``params``
    (``q, alpha, beta`` with beta per 1,000 cycles); ``inf`` if never; ``A_last`` if already below."""
    q, alpha, beta = params[:, 0], params[:, 1], params[:, 2] / 1000.0
    level = q - alpha * math.sqrt(age_last) - beta * cycles_last
    margin = level - threshold
    a2 = beta * rate
    a1 = alpha
    c0 = -margin - a1 * math.sqrt(age_last) - a2 * age_last  # a2 u² + a1 u + c0 = 0 with u = sqrt(A)
    with np.errstate(divide="ignore", invalid="ignore"):
        quadratic = (-a1 + np.sqrt(a1 * a1 - 4 * a2 * c0)) / (2 * a2)
        linear = -c0 / a1
    u = np.where(a2 > 1e-15, quadratic, np.where(a1 > 1e-15, linear, np.inf))
    age = np.where(margin <= 0, age_last, np.maximum(u, math.sqrt(age_last)) ** 2)
    result: FloatArray = np.where(np.isfinite(age), age, np.inf)
    return result


def _remaining_power_law(params: FloatArray, cycles_last: float, threshold: float) -> FloatArray:
    """Cycles from ``N_last`` until ``q - a (N/1000)^b = threshold``, per row of ``params``; ``inf`` if never."""
    q, a, b = params[:, 0], params[:, 1], params[:, 2]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        crossing = 1000.0 * np.power(np.maximum(q - threshold, 0.0) / a, 1.0 / b)
    crossing = np.where(a > 1e-12, crossing, np.inf)
    result: FloatArray = np.maximum(np.nan_to_num(crossing, nan=np.inf) - cycles_last, 0.0)
    return result


def _draws(fit: _Fit, count: int) -> FloatArray:
    """Parameter draws from ``N(theta, cov)`` with a fixed seed (the same input gives the same interval)."""
    rng = np.random.default_rng(20261129)
    cov = (fit.cov + fit.cov.T) / 2
    values, vectors = np.linalg.eigh(cov)
    root = vectors * np.sqrt(np.clip(values, 0.0, None))
    result: FloatArray = fit.params + rng.standard_normal((count, 3)) @ root.T
    return result


# --------------------------------------------------------------------------- entry point


def _thin(days: FloatArray, limit: int) -> npt.NDArray[np.intp]:
    """At most ``limit`` indices evenly over time: the log nearest each of ``limit`` equally spaced instants."""
    n = days.size
    if n <= limit:
        return np.arange(n, dtype=np.intp)
    targets = np.linspace(days[0], days[-1], limit)
    right = np.clip(np.searchsorted(days, targets), 1, n - 1)
    left = right - 1
    nearest = np.where(targets - days[left] <= days[right] - targets, left, right)
    return np.unique(nearest).astype(np.intp)


def _round2(value: float) -> float:
    """A plain ``float`` rounded to 2 decimals (never ``-0.0``, never a NumPy scalar)."""
    return round(float(value), 2) + 0.0


def health_trend(
    points: Sequence[SohPoint],
    *,
    now: datetime,
    threshold_soh: float = 80.0,
    interval: float = 0.8,
    method: Method = "calendar_cycle",
) -> HealthTrend:
    """Jumps, fade rates, forecast and fitted series of one vehicle's SoH points (see the module docstring).

    ``points`` in any order (sorted by timestamp here); ``now`` (aware) anchors the 25-year horizon;
    ``threshold_soh`` in %; ``interval`` in (0, 1); ``method`` one of :data:`METHODS`.
    Raises :class:`ValueError` for an unknown method or an interval outside (0, 1).
    """
    if method not in METHODS:
        raise ValueError(f"unknown trend method {method!r}; expected one of {', '.join(METHODS)}")
    if not 0.0 < interval < 1.0:
        raise ValueError(f"interval must be in (0, 1); got {interval!r}")
    ordered = sorted(points, key=lambda p: p.timestamp)
    n = len(ordered)
    method_name = f"{method}/huber" if method == "calendar_cycle" else f"{method}/soft_l1"
    version = TREND_VERSION

    def empty_forecast(status: str) -> Forecast:
        return Forecast(status, threshold_soh, interval, None, None, method_name, version)

    if n == 0:
        return HealthTrend(0, None, Fade(None, None), empty_forecast(_STATUS_INSUFFICIENT), (), ())
    origin = ordered[0].timestamp
    days = (np.array([p.timestamp.timestamp() for p in ordered]) - origin.timestamp()) / _DAY_S
    cycles = np.array([float(p.cycle_count) for p in ordered])
    soh = np.array([p.soh for p in ordered], dtype=np.float64)

    def series(fitted: FloatArray | None) -> tuple[SeriesPoint, ...]:
        chosen = _thin(days, SERIES_MAX_POINTS)
        shown = [round(v, 2) + 0.0 for v in np.minimum(soh[chosen], 100.0).tolist()]
        trend = [round(v, 2) + 0.0 for v in fitted[chosen].tolist()] if fitted is not None else [None] * chosen.size
        return tuple(
            SeriesPoint(ordered[i].log_id, ordered[i].timestamp, ordered[i].cycle_count, shown[k], trend[k])
            for k, i in enumerate(chosen.tolist())
        )

    if n < MIN_LOGS or days[-1] < MIN_SPAN_DAYS:
        return HealthTrend(
            n, _round2(min(soh[-1], 100.0)), Fade(None, None), empty_forecast(_STATUS_INSUFFICIENT), (), series(None)
        )

    rate = _recent_rate(days, cycles)
    early = days <= days[0] + _RATE_WINDOW_DAYS
    early_rate = _recent_rate(days[early], cycles[early]) if early.sum() > 1 else rate
    age_offset = cycles[0] / early_rate if cycles[0] > 0 and early_rate > 0 else 0.0
    age = days + age_offset

    jump_indices, fit = _jumps_find(days, age, cycles, soh)
    if method == "power_law":
        fit = _fit_power_law(cycles, soh, jump_indices)

    fitted = fit.fitted
    jumps = tuple(
        Jump(
            log_id=ordered[j].log_id,
            timestamp=ordered[j].timestamp,
            soh_before=_round2(float(fitted[j - 1])),
            soh_after=_round2(float(fitted[j])),
            delta=_round2(_round2(float(fitted[j])) - _round2(float(fitted[j - 1]))),
        )
        for j in jump_indices
    )

    age_last, cycles_last = float(age[-1]), float(cycles[-1])
    per_day: float
    if method == "calendar_cycle":
        _, alpha, beta = (float(v) for v in fit.params)
        per_day = alpha / (2 * math.sqrt(max(age_last, 1.0))) + beta / 1000.0 * rate
    else:
        _, a, b = (float(v) for v in fit.params)
        x = max(cycles_last / 1000.0, 1e-9)
        per_day = a * b * x ** (b - 1) / 1000.0 * rate
    fade = Fade(
        percent_per_1000_cycles=_round2(per_day / rate * 1000.0) if rate > 0 else None,
        percent_per_year=_round2(per_day * _YEAR_DAYS),
    )
    latest = float(fitted[-1])
    trend = HealthTrend(n, _round2(min(latest, 100.0)), fade, empty_forecast(_STATUS_OK), jumps, series(fitted))

    if round(latest, 6) < threshold_soh:
        return _with_forecast(trend, empty_forecast(_STATUS_REACHED))

    # Remaining cycles to the crossing: central estimate, then the draws (with the model-discrepancy factor).
    central = fit.params[None, :]
    draws = _draws(fit, DRAWS)
    if method == "calendar_cycle":
        if rate > 0:
            remaining = (
                _crossing_calendar_cycle(central, age_last, cycles_last, rate, threshold_soh) - age_last
            ) * rate
            remaining_draws = (
                _crossing_calendar_cycle(draws, age_last, cycles_last, rate, threshold_soh) - age_last
            ) * rate
        else:
            remaining = _crossing_calendar_cycle(central, age_last, cycles_last, rate, threshold_soh) - age_last
            remaining_draws = _crossing_calendar_cycle(draws, age_last, cycles_last, rate, threshold_soh) - age_last
    else:
        remaining = _remaining_power_law(central, cycles_last, threshold_soh)
        remaining_draws = _remaining_power_law(draws, cycles_last, threshold_soh)
    # Without cycles the calendar model still ages the pack: ``remaining`` is then in days, not cycles.
    in_days = method == "calendar_cycle" and rate <= 0
    noise = np.random.default_rng(1129).normal(0.0, MODEL_SD, DRAWS) if MODEL_SD > 0 else np.zeros(DRAWS)
    # A draw that never crosses is 'very late' (a finite stand-in keeps the quantiles free of inf - inf).
    remaining_draws = np.where(np.isfinite(remaining_draws), remaining_draws * np.exp(noise), _NEVER)
    lower_q, upper_q = np.quantile(remaining_draws, [(1 - interval) / 2, (1 + interval) / 2])
    # The interval always holds the central estimate (a skewed set of draws could leave it just outside).
    lower_q, upper_q = min(float(lower_q), float(remaining[0])), max(float(upper_q), float(remaining[0]))

    last_at = ordered[-1].timestamp.astimezone(UTC)
    horizon_at = now + timedelta(days=HORIZON_YEARS * _YEAR_DAYS)

    def as_days(value: float) -> float:
        if in_days:
            return value
        return value / rate if rate > 0 else math.inf

    def at(value: float) -> datetime | None:
        span = as_days(value)
        if not math.isfinite(span) or span > (horizon_at - last_at).total_seconds() / _DAY_S:
            return None
        return last_at + timedelta(days=span)

    def cycles_at(value: float) -> int | None:
        total = cycles_last + (value * rate if in_days else value)
        return round(total) if math.isfinite(total) and total <= HORIZON_CYCLES else None

    estimate_value = float(remaining[0])
    estimate_at, estimate_cycles = at(estimate_value), cycles_at(estimate_value)
    low_at, low_cycles = at(float(lower_q)), cycles_at(float(lower_q))
    if estimate_at is None or estimate_cycles is None or low_at is None or low_cycles is None:
        return _with_forecast(trend, empty_forecast(_STATUS_BEYOND))
    high_at, high_cycles = at(float(upper_q)), cycles_at(float(upper_q))
    if high_at is None or high_cycles is None:
        high_at, high_cycles = None, None
    forecast = Forecast(
        status=_STATUS_OK,
        threshold_soh=threshold_soh,
        interval=interval,
        cycle_count=CycleEstimate(estimate=estimate_cycles, low=low_cycles, high=high_cycles),
        date=DateEstimate(
            estimate=estimate_at.date(), low=low_at.date(), high=high_at.date() if high_at is not None else None
        ),
        method=method_name,
        version=version,
    )
    return _with_forecast(trend, forecast)


def soh_jumps(points: Sequence[SohPoint]) -> tuple[Jump, ...]:
    """The jumps of a short recent series (alert evaluation: tens of logs), without fade, forecast or series.

    The same tests as :func:`health_trend`'s detector (the windowed-median step statistic, the split that best
    separates two levels, the gap between straight lines fitted on each side), but on the raw series rather
    than on the residuals of the calendar + cycle fit: over a few tens of logs the fade is far below the
    noise, and a global fit over so short a window absorbs a step into its fade term instead. ``sigma`` is the
    robust spread of the first differences over ``sqrt(2)`` (a step moves one difference, not the MAD).
    ``soh_before`` / ``soh_after`` are the two side lines at the step. ``()`` with fewer than
    ``2 * JUMP_MIN_WINDOW`` points.
    """
    ordered = sorted(points, key=lambda p: p.timestamp)
    n = len(ordered)
    if n < 2 * JUMP_MIN_WINDOW:
        return ()
    origin = ordered[0].timestamp
    days = (np.array([p.timestamp.timestamp() for p in ordered]) - origin.timestamp()) / _DAY_S
    soh = np.array([p.soh for p in ordered], dtype=np.float64)
    sigma = max(_robust_sigma(np.diff(soh)) / math.sqrt(2.0), _SIGMA_FLOOR)
    candidates = _jump_candidates(soh, sigma)
    # Each candidate is refined over the whole series, then the splits deduplicated: on a flat series two
    # candidates (a window's edge and its middle) can sit on one step, and bounding each by the other would cut
    # the other's side short of the logs that the split and the gap test need.
    refined = sorted({_refine(soh, i, 0, n, sigma) for i in candidates})
    kept: list[int] = []
    for k, j in enumerate(refined):
        lo = refined[k - 1] if k > 0 else 0
        hi = refined[k + 1] if k + 1 < len(refined) else n
        if _gap_confirms(soh, days, j, lo, hi, sigma) and (not kept or j - kept[-1] >= JUMP_MIN_WINDOW):
            kept.append(j)
    jumps = []
    for k, j in enumerate(kept):
        lo = kept[k - 1] if k > 0 else 0
        hi = kept[k + 1] if k + 1 < len(kept) else n
        at = (days[j - 1] + days[j]) / 2
        left = slice(max(lo, j - JUMP_GAP_WINDOW), j)
        right = slice(j, min(hi, j + JUMP_GAP_WINDOW))
        before, _ = _line_at(days[left], soh[left], sigma, at)
        after, _ = _line_at(days[right], soh[right], sigma, at)
        jumps.append(
            Jump(
                log_id=ordered[j].log_id,
                timestamp=ordered[j].timestamp,
                soh_before=_round2(before),
                soh_after=_round2(after),
                delta=_round2(_round2(after) - _round2(before)),
            )
        )
    return tuple(jumps)


def _with_forecast(trend: HealthTrend, forecast: Forecast) -> HealthTrend:
    return HealthTrend(trend.logs_used, trend.soh_latest, trend.fade, forecast, trend.jumps, trend.series)
