"""Cell ranking: deviation, drift (Theil-Sen), temperature excess, levels at their boundaries, order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from scipy.stats import theilslopes

from analytics.domain.cells import CellRank, CellsSnapshot, cells_rank, theil_sen_slopes, voltage_deviations_mv
from analytics.domain.profiles import LFP, NMC

START = datetime(2026, 1, 1, tzinfo=UTC)


def window(
    offsets_mv: list[float],
    *,
    logs: int = 10,
    drift_mv_per_day: list[float] | None = None,
    temperatures: list[float] | None = None,
    every: timedelta = timedelta(days=1),
) -> list[CellsSnapshot]:
    """Logs of a pack whose cell i sits offsets_mv[i] (+ drift x day) from 3.7 V; the pack's level moves."""
    drift = drift_mv_per_day or [0.0] * len(offsets_mv)
    temps = temperatures or [30.0] * len(offsets_mv)
    result = []
    for k in range(logs):
        day = k * every / timedelta(days=1)
        level = 3.7 + 0.05 * (k % 3)  # the state of charge moves every cell together
        result.append(
            CellsSnapshot(
                timestamp=START + k * every,
                voltages_v=tuple(level + (o + d * day) / 1000 for o, d in zip(offsets_mv, drift, strict=True)),
                temperatures_c=tuple(t + 2.0 * (k % 2) for t in temps),
                log_id=str(k),
            )
        )
    return result


def by_id(ranks: list[CellRank]) -> dict[int, CellRank]:
    return {r.id: r for r in ranks}


def test_deviation_and_excess_are_medians_against_the_pack_median() -> None:
    ranks = by_id(cells_rank(window([0.0, 1.0, -1.0, -20.0, 3.0], temperatures=[30, 30, 31, 30, 36])))
    # Pack median voltage = cell 0's; cell 3 sits 20 mV low, cell 4 sits 6 °C warm.
    assert ranks[3].voltage_deviation_mv == -20.0
    assert ranks[4].voltage_deviation_mv == 3.0
    assert ranks[4].temperature_excess_c == 6.0
    assert ranks[2].temperature_excess_c == 1.0
    assert ranks[3].voltage_drift_mv_per_30d == 0.0


def test_drift_is_theil_sen_times_30_days() -> None:
    ranks = by_id(cells_rank(window([0.0, 0.0, 0.0, -5.0], drift_mv_per_day=[0.0, 0.0, 0.0, -0.3], logs=20)))
    assert ranks[3].voltage_drift_mv_per_30d == -9.0
    assert ranks[3].reasons == ("voltage_drift",)
    assert ranks[3].level == "warn"


def test_theil_sen_matches_scipy() -> None:
    rng = np.random.default_rng(11)
    times = np.sort(rng.uniform(0, 30, 40))
    values = rng.normal(0, 2, (40, 3)) + np.outer(times, [0.1, -0.5, 0.0])
    ours = theil_sen_slopes(times, values)
    for column in range(3):  # the same median of pairwise slopes: only floating-point rounding differs
        assert ours[column] == pytest.approx(theilslopes(values[:, column], times)[0], rel=1e-12)


def test_theil_sen_ignores_an_outlier() -> None:
    times = np.arange(10.0)
    values = (times * 0.5)[:, None].copy()
    values[4, 0] = 100.0
    # Every pair without the outlier has slope exactly 0.5 (small integers, exact in binary): so has the median.
    assert theil_sen_slopes(times, values)[0] == 0.5


def test_many_logs_are_binned_and_keep_the_slope() -> None:
    hourly = window([0.0, 0.0, 0.0, 0.0], drift_mv_per_day=[0.0, 0.0, 0.0, -0.5], logs=720, every=timedelta(hours=1))
    ranks = by_id(cells_rank(hourly))
    # A line's bins have their medians on the line: the slope stays -0.5 mV a day, x 30 days, rounded to 2 places.
    assert ranks[3].voltage_drift_mv_per_30d == -15.0
    assert ranks[3].level == "alert"


@pytest.mark.parametrize(
    ("logs", "every"),
    [pytest.param(3, timedelta(days=5), id="3-logs"), pytest.param(10, timedelta(hours=4), id="1.5-day-span")],
)
def test_drift_needs_4_logs_over_2_days(logs: int, every: timedelta) -> None:
    ranks = cells_rank(window([0.0, 0.0, 0.0], logs=logs, every=every))
    assert all(r.voltage_drift_mv_per_30d is None for r in ranks)


@pytest.mark.parametrize(
    ("deviation", "level", "reasons"),
    [
        pytest.param(-14.99, "ok", (), id="just-inside"),
        pytest.param(-15.0, "warn", ("low_voltage",), id="warn-boundary-low"),
        pytest.param(15.0, "warn", ("high_voltage",), id="warn-boundary-high"),
        pytest.param(-39.99, "warn", ("low_voltage",), id="below-alert"),
        pytest.param(-40.0, "alert", ("low_voltage",), id="alert-boundary"),
    ],
)
def test_voltage_levels_nmc(deviation: float, level: str, reasons: tuple[str, ...]) -> None:
    rank = by_id(cells_rank(window([0.0, 0.0, 0.0, deviation], logs=3)))[3]
    assert rank.voltage_deviation_mv == deviation
    assert (rank.level, rank.reasons) == (level, reasons)


def test_lfp_thresholds_are_tighter() -> None:
    logs = window([0.0, 0.0, 0.0, -12.0], logs=3)
    assert by_id(cells_rank(logs, profile=NMC))[3].level == "ok"
    assert by_id(cells_rank(logs, profile=LFP))[3].level == "warn"
    assert by_id(cells_rank(window([0.0, 0.0, 0.0, -25.0], logs=3), profile=LFP))[3].level == "alert"


@pytest.mark.parametrize(
    ("temperature", "level", "reasons"),
    [
        pytest.param(33.99, "ok", (), id="3.99C"),
        pytest.param(34.0, "warn", ("hot",), id="4C-warn"),
        pytest.param(38.0, "alert", ("hot",), id="8C-alert"),
        pytest.param(20.0, "ok", (), id="cold-is-not-hot"),
    ],
)
def test_temperature_levels(temperature: float, level: str, reasons: tuple[str, ...]) -> None:
    rank = by_id(cells_rank(window([0.0, 0.0, 0.0, 0.0], logs=3, temperatures=[30, 30, 30, temperature])))[3]
    assert (rank.level, rank.reasons) == (level, reasons)


def test_reasons_in_order_and_alert_from_any_metric() -> None:
    rank = by_id(
        cells_rank(
            window([0.0, 0.0, 0.0, -20.0], drift_mv_per_day=[0, 0, 0, -0.2], logs=12, temperatures=[30, 30, 30, 39])
        )
    )[3]
    assert rank.reasons == ("low_voltage", "voltage_drift", "hot")
    assert rank.level == "alert"  # 9 °C excess


def test_order_alert_warn_then_size_of_deviation() -> None:
    ranks = cells_rank(
        window([0.0, 2.0, -16.0, 17.0, -45.0, -3.0, 0.0, 1.0, 0.0], logs=3, temperatures=[30] * 8 + [39.0])
    )
    assert [(r.id, r.level) for r in ranks] == [
        (4, "alert"),
        (8, "alert"),
        (3, "warn"),
        (2, "warn"),
        (5, "ok"),
        (1, "ok"),
        (7, "ok"),
        (0, "ok"),
        (6, "ok"),
    ]


def test_cells_missing_from_some_logs() -> None:
    logs = window([0.0, 0.0, 0.0, -20.0], logs=4)
    short = CellsSnapshot(START + timedelta(days=10), (3.7, 3.7, 3.7), (30.0, 30.0, 30.0))
    ranks = by_id(cells_rank([*logs, short]))
    assert sorted(ranks) == [0, 1, 2, 3]
    assert ranks[3].voltage_deviation_mv == -20.0


def test_no_logs() -> None:
    assert cells_rank([]) == []


def test_from_log_sorts_by_id_and_as_dict() -> None:
    log = {"cells": [{"id": 1, "voltage": 3.6, "temperature": 31.0}, {"id": 0, "voltage": 3.7, "temperature": 30.0}]}
    snapshot = CellsSnapshot.from_log(log, timestamp=START, log_id="a")
    assert snapshot.voltages_v == (3.7, 3.6)
    assert snapshot.temperatures_c == (30.0, 31.0)
    assert voltage_deviations_mv(snapshot) == (50.0, -50.0)
    rank = cells_rank([snapshot])[0]
    assert list(rank.as_dict()) == [
        "id",
        "voltage_deviation_mv",
        "voltage_drift_mv_per_30d",
        "temperature_excess_c",
        "level",
        "reasons",
    ]


def test_thirty_days_of_hourly_logs_for_120_cells() -> None:
    rng = np.random.default_rng(5)
    offsets = list(rng.normal(0.0, 2.5, 120))
    offsets[17] = -30.0
    logs = window(offsets, logs=720, every=timedelta(hours=1))
    ranks = cells_rank(logs)
    assert len(ranks) == 120
    assert (ranks[0].id, ranks[0].level, ranks[0].reasons) == (17, "warn", ("low_voltage",))
