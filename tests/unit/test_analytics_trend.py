"""Health trend and forecast on hand-made series: exact curves, jumps, one outlier, too little data,
already below 80 %, flat, beyond the horizon, thinning."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest

from analytics.domain.trend import (
    SERIES_MAX_POINTS,
    HealthTrend,
    SohPoint,
    health_trend,
)

START = datetime(2020, 1, 1, tzinfo=UTC)

# The calendar + cycle curve used below: SoH = 100 - 0.1 sqrt(day) - 2 x cycles / 1000, one cycle a day.
ALPHA, BETA_PER_CYCLE = 0.1, 0.002


def calendar_cycle(day: float, level: float = 100.0) -> float:
    return level - ALPHA * math.sqrt(day) - BETA_PER_CYCLE * day


def crossing_day(level: float = 100.0, threshold: float = 80.0) -> float:
    """Solve level - a u - b u^2 = threshold for u = sqrt(day)."""
    u = (-ALPHA + math.sqrt(ALPHA**2 + 4 * BETA_PER_CYCLE * (level - threshold))) / (2 * BETA_PER_CYCLE)
    return u * u


def series(
    days: int, soh: Callable[[int], float], *, cycles_per_day: float = 1.0, step_days: int = 1
) -> list[SohPoint]:
    return [
        SohPoint(START + timedelta(days=d), round(d * cycles_per_day), soh(d), f"log-{d}")
        for d in range(0, days, step_days)
    ]


def trend_of(points: list[SohPoint], **kwargs: object) -> HealthTrend:
    return health_trend(points, now=points[-1].timestamp, **kwargs)  # type: ignore[arg-type]


def test_exact_calendar_cycle_curve() -> None:
    points = series(1000, calendar_cycle)
    trend = trend_of(points)
    forecast = trend.forecast
    expected = crossing_day()  # 6,096.1 days = cycles at one cycle a day
    assert forecast.status == "ok"
    assert forecast.cycle_count is not None
    assert forecast.date is not None
    assert forecast.cycle_count.estimate == round(expected) == 6096
    assert forecast.cycle_count.low < 6096 < (forecast.cycle_count.high or 0)
    assert forecast.date.estimate == (START + timedelta(days=expected)).date()
    assert forecast.method == "calendar_cycle/huber"
    assert forecast.version == "1.0"
    assert (forecast.threshold_soh, forecast.interval) == (80.0, 0.8)
    # Fade at the last log (day 999): alpha / (2 sqrt(999)) + beta per day.
    per_day = ALPHA / (2 * math.sqrt(999)) + BETA_PER_CYCLE
    assert trend.fade.percent_per_year == round(per_day * 365.25, 2)
    assert trend.fade.percent_per_1000_cycles == round(per_day * 1000, 2)
    assert trend.jumps == ()
    assert trend.logs_used == 1000
    assert trend.soh_latest == round(calendar_cycle(999), 2)
    assert trend.series[-1].fitted == round(calendar_cycle(999), 2)


@pytest.mark.parametrize("step", [3.0, -2.5], ids=["up-recalibration", "down-recalibration"])
def test_jump_is_reported_and_kept_out_of_fade_and_forecast(step: float) -> None:
    points = series(1000, lambda d: calendar_cycle(d) + (step if d >= 500 else 0.0))
    trend = trend_of(points)
    assert len(trend.jumps) == 1
    jump = trend.jumps[0]
    assert jump.log_id == "log-500"
    assert jump.timestamp == START + timedelta(days=500)
    # The fit is exact on this noiseless curve: delta is the rounded fitted level after minus the one before.
    assert jump.delta == round(round(calendar_cycle(500) + step, 2) - round(calendar_cycle(499), 2), 2)
    assert jump.soh_before == round(calendar_cycle(499), 2)
    # Fade as without the jump; the forecast starts from the new level.
    per_day = ALPHA / (2 * math.sqrt(999)) + BETA_PER_CYCLE
    assert trend.fade.percent_per_year == round(per_day * 365.25, 2)
    assert trend.forecast.cycle_count is not None
    assert trend.forecast.cycle_count.estimate == round(crossing_day(level=100.0 + step))


def test_two_jumps_and_noise() -> None:
    rng = np.random.default_rng(7)
    noise = rng.normal(0.0, 0.4, 1500)
    points = series(
        1500, lambda d: calendar_cycle(d) + (2.0 if d >= 400 else 0.0) - (3.0 if d >= 1100 else 0.0) + noise[d]
    )
    trend = trend_of(points)
    assert [jump.log_id for jump in trend.jumps] == ["log-400", "log-1100"]
    assert [round(jump.delta) for jump in trend.jumps] == [2, -3]
    assert trend.forecast.cycle_count is not None
    expected = crossing_day(level=99.0)
    assert abs(trend.forecast.cycle_count.estimate - expected) / expected < 0.03


def test_one_wild_reading_moves_nothing_much() -> None:
    clean = trend_of(series(1000, calendar_cycle))
    wild = trend_of(series(1000, lambda d: calendar_cycle(d) - (15.0 if d == 700 else 0.0)))
    assert wild.jumps == ()
    assert clean.forecast.cycle_count is not None
    assert wild.forecast.cycle_count is not None
    assert abs(wild.forecast.cycle_count.estimate - clean.forecast.cycle_count.estimate) <= 5
    assert wild.fade.percent_per_year == pytest.approx(clean.fade.percent_per_year, abs=0.02)
    # The wild reading is shown as posted, the trend is not pulled to it.
    shown = next(p for p in wild.series if p.log_id == "log-700")
    assert shown.battery_soh == round(calendar_cycle(700) - 15.0, 2)
    assert shown.fitted == pytest.approx(round(calendar_cycle(700), 2), abs=0.02)


@pytest.mark.parametrize(
    ("days", "step_days"),
    [pytest.param(90, 10, id="9-logs"), pytest.param(80, 1, id="80-day-span")],
)
def test_insufficient_data(days: int, step_days: int) -> None:
    points = series(days, calendar_cycle, step_days=step_days)
    trend = trend_of(points)
    assert trend.forecast.status == "insufficient_data"
    assert trend.forecast.cycle_count is None
    assert trend.forecast.date is None
    assert (trend.fade.percent_per_1000_cycles, trend.fade.percent_per_year) == (None, None)
    assert trend.jumps == ()
    assert all(point.fitted is None for point in trend.series)
    assert trend.soh_latest == round(calendar_cycle(points[-1].cycle_count), 2)


def test_no_points() -> None:
    trend = health_trend([], now=START)
    assert trend.forecast.status == "insufficient_data"
    assert (trend.logs_used, trend.soh_latest, trend.series) == (0, None, ())


def test_already_below_threshold() -> None:
    points = series(800, lambda d: 90.0 - 12.0 * d / 800)
    trend = trend_of(points)
    assert trend.forecast.status == "reached"
    assert trend.forecast.cycle_count is None
    assert trend.forecast.date is None
    assert trend.soh_latest is not None
    assert trend.soh_latest < 80.0
    assert trend.fade.percent_per_year is not None
    assert trend.fade.percent_per_year > 0


def test_flat_series_never_crosses() -> None:
    points = series(600, lambda d: 95.0 + 0.1 * math.sin(d))
    trend = trend_of(points)
    assert trend.forecast.status == "beyond_horizon"
    assert trend.forecast.cycle_count is None
    assert trend.fade.percent_per_year == pytest.approx(0.0, abs=0.05)


def test_beyond_25_years() -> None:
    # 0.5 % per 1,000 cycles at one cycle a day: 80 % after 40,000 days.
    points = series(400, lambda d: 100.0 - 0.5 * d / 1000)
    trend = trend_of(points)
    assert trend.forecast.status == "beyond_horizon"
    assert trend.fade.percent_per_1000_cycles == 0.5
    assert trend.fade.percent_per_year == round(0.5 / 1000 * 365.25, 2) == 0.18  # one cycle a day


def test_beyond_100000_cycles() -> None:
    # 30 cycles a day, 0.1 % per 1,000 cycles: 80 % after 200,000 cycles (18 years).
    points = series(400, lambda d: 100.0 - 0.1 * d * 30 / 1000, cycles_per_day=30.0)
    assert trend_of(points).forecast.status == "beyond_horizon"


def test_interval_high_beyond_horizon_is_none() -> None:
    # 20 % in 8,620 days (23.6 years): the estimate is within 25 years, the interval's high end is not.
    rng = np.random.default_rng(3)
    noise = rng.normal(0.0, 0.3, 400)
    points = series(400, lambda d: 100.0 - 20.0 * d / 8620 + noise[d], cycles_per_day=0.1)
    forecast = trend_of(points).forecast
    assert forecast.status == "ok"
    assert forecast.cycle_count is not None
    assert forecast.date is not None
    assert forecast.cycle_count.high is None
    assert forecast.date.high is None
    assert forecast.date.low < forecast.date.estimate < date(2020 + 26, 1, 1)


def test_parked_vehicle_ages_by_calendar() -> None:
    # No cycles at all: 100 - 0.3 sqrt(day) reaches 80 % on day (20 / 0.3)^2 = 4,444.4.
    points = [SohPoint(START + timedelta(days=d), 0, 100.0 - 0.3 * math.sqrt(d), f"{d}") for d in range(365)]
    trend = trend_of(points)
    assert trend.fade.percent_per_1000_cycles is None
    assert trend.fade.percent_per_year == round(0.3 / (2 * math.sqrt(364)) * 365.25, 2)
    assert trend.forecast.status == "ok"
    assert trend.forecast.cycle_count is not None
    assert trend.forecast.date is not None
    assert trend.forecast.cycle_count.estimate == 0
    assert trend.forecast.date.estimate == (START + timedelta(days=(20 / 0.3) ** 2)).date() == date(2032, 3, 2)


def test_power_law_method_on_an_exact_power_law() -> None:
    points = series(2000, lambda d: 100.0 - 4.0 * (d / 1000) ** 0.7)
    forecast = trend_of(points, method="power_law").forecast
    expected = 1000 * 5 ** (1 / 0.7)  # 100 - 4 x^0.7 = 80 at x = 5^(1/0.7) thousand cycles: 9,966.18
    assert forecast.method == "power_law/soft_l1"
    assert forecast.cycle_count is not None
    assert forecast.cycle_count.estimate == round(expected) == 9966


def test_order_of_points_does_not_matter() -> None:
    points = series(500, calendar_cycle)
    shuffled = points[::2] + points[1::2]
    assert trend_of(points) == health_trend(shuffled, now=points[-1].timestamp)


def test_series_thinned_evenly_to_2000() -> None:
    points = series(5000, calendar_cycle)
    trend = trend_of(points)
    assert trend.logs_used == 5000
    assert len(trend.series) == SERIES_MAX_POINTS
    assert trend.series[0].log_id == "log-0"
    assert trend.series[-1].log_id == "log-4999"
    gaps = {(b.timestamp - a.timestamp).days for a, b in zip(trend.series, trend.series[1:], strict=False)}
    assert gaps <= {2, 3}


def test_battery_soh_is_capped_like_reports() -> None:
    points = series(200, lambda d: 101.234 - 0.01 * d)
    trend = trend_of(points)
    assert trend.series[0].battery_soh == 100.0
    assert trend.soh_latest is not None
    assert trend.soh_latest <= 100.0


def test_invalid_arguments() -> None:
    points = series(200, calendar_cycle)
    with pytest.raises(ValueError, match="unknown trend method"):
        health_trend(points, now=START, method="spline")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="interval"):
        health_trend(points, now=START, interval=1.0)


def test_as_dict_has_the_contract_shape() -> None:
    points = series(1000, lambda d: calendar_cycle(d) + (3.0 if d >= 500 else 0.0))
    data = trend_of(points).as_dict()
    assert list(data) == ["logs_used", "soh_latest", "fade", "forecast", "jumps", "series"]
    assert list(data["forecast"]) == [
        "status",
        "threshold_soh",
        "interval",
        "cycle_count",
        "date",
        "method",
        "version",
    ]
    assert data["forecast"]["date"]["estimate"] == (START + timedelta(days=crossing_day(103.0))).date().isoformat()
    assert data["jumps"][0]["timestamp"] == "2021-05-15T00:00:00.000000Z"
    assert list(data["series"][0]) == ["log_id", "timestamp", "cycle_count", "battery_soh", "fitted"]
