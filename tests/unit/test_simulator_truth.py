"""The truth-keeping fleet simulator (simulator/truth.py) and the scorecard built on it."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from analytics.domain.cells import CellsSnapshot, cells_rank
from analytics.domain.profiles import profile_get
from analytics.domain.scorecard import (
    ForecastScore,
    VehicleScore,
    scorecard_summarize,
    scorecard_vehicle,
)
from analytics.scorecard_cli import format_scorecard, vehicle_case
from simulator.truth import CELL_WINDOW_END_DAY, fleet_truths, vehicle_logs, vehicle_truth

TIMESTAMP_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")


def first_with(predicate, *, seed: int = 5, limit: int = 200):  # type: ignore[no-untyped-def]
    for index in range(limit):
        truth = vehicle_truth(seed=seed, index=index)
        if predicate(truth):
            return truth
    raise AssertionError("no such vehicle in the first vehicles of the fleet")


def test_same_seed_same_vehicle() -> None:
    a, b = vehicle_truth(seed=3, index=4), vehicle_truth(seed=3, index=4)
    assert np.array_equal(a.log_soh_bms, b.log_soh_bms)
    assert np.array_equal(a.soh_true, b.soh_true)
    assert (a.jumps, a.weak_cells, a.hot_cells, a.crossing_cycle) == (
        b.jumps,
        b.weak_cells,
        b.hot_cells,
        b.crossing_cycle,
    )
    assert list(vehicle_logs(a, until_day=5)) == list(vehicle_logs(b, until_day=5))
    c = vehicle_truth(seed=4, index=4)
    assert not np.array_equal(a.soh_true[:100], c.soh_true[:100])


def test_a_smaller_fleet_is_a_prefix() -> None:
    small, large = fleet_truths(vehicles=3, seed=9), fleet_truths(vehicles=5, seed=9)
    assert [t.vehicle_id for t in small] == [t.vehicle_id for t in large[:3]]
    assert all(np.array_equal(s.log_soh_bms, t.log_soh_bms) for s, t in zip(small, large, strict=False))


@pytest.mark.parametrize(("share", "chemistry"), [(0.0, "nmc"), (1.0, "lfp")])
def test_chemistry_mix(share: float, chemistry: str) -> None:
    assert {t.chemistry for t in fleet_truths(vehicles=10, seed=1, lfp_share=share)} == {chemistry}


def test_logs_have_the_api_shape() -> None:
    truth = vehicle_truth(seed=2, index=0)
    logs = list(vehicle_logs(truth, since_day=100, until_day=140))
    assert 20 <= len(logs) <= 40
    stamps = [log["timestamp"] for log in logs]
    assert stamps == sorted(stamps)
    assert len(set(stamps)) == len(stamps)
    for log in logs:
        assert set(log) == {
            "vehicle_id",
            "timestamp",
            "cells",
            "cycle_count",
            "nominal_capacity_kwh",
            "current_capacity_kwh",
        }
        assert TIMESTAMP_RE.match(log["timestamp"])
        assert [cell["id"] for cell in log["cells"]] == list(range(truth.cell_count))
        assert all(0 <= cell["voltage"] <= 5 and round(cell["voltage"], 3) == cell["voltage"] for cell in log["cells"])
        assert all(-40 <= cell["temperature"] <= 125 for cell in log["cells"])
        assert isinstance(log["cycle_count"], int)
        assert 0 <= log["cycle_count"] <= 100_000
        assert 0 <= log["current_capacity_kwh"] <= 1.2 * log["nominal_capacity_kwh"]


def test_truth_facts_are_consistent() -> None:
    truth = first_with(lambda t: t.crossing_day is not None)
    day = truth.crossing_day
    assert day is not None
    assert truth.day_90 is not None
    assert truth.soh_true[day] < 80.0 <= truth.soh_true[:day].min()
    assert truth.crossing_cycle == int(truth.fec[day])
    assert truth.crossing_date == (truth.start_at + timedelta(days=day)).date()
    assert truth.soh_true[truth.day_90] <= 90.0 < truth.soh_true[: truth.day_90].min()
    # Day 0 already carries one day of calendar fade.
    assert 99.0 < truth.soh_true[0] < 100.0


def test_recalibration_jump_shows_in_the_reported_series() -> None:
    truth = first_with(lambda t: any(j.kind == "recalibration" for j in t.jumps))
    jump = next(j for j in truth.jumps if j.kind == "recalibration")
    k = int(np.searchsorted(truth.log_day, jump.day))
    before = np.median(truth.log_soh_bms[k - 20 : k] - truth.soh_true[truth.log_day[k - 20 : k]])
    after = np.median(truth.log_soh_bms[k : k + 20] - truth.soh_true[truth.log_day[k : k + 20]])
    assert after - before == pytest.approx(jump.delta_pct, abs=4 * truth.noise_sd_pct / np.sqrt(20) * 1.3)
    assert 1.5 <= abs(jump.delta_pct) <= 4.0


def test_weak_and_hot_cells_are_found_by_the_ranking() -> None:
    truth = first_with(lambda t: bool(t.weak_cells) and bool(t.hot_cells), seed=1, limit=300)
    logs = vehicle_logs(truth, since_day=CELL_WINDOW_END_DAY - 30, until_day=CELL_WINDOW_END_DAY)
    snapshots = [
        CellsSnapshot.from_log(log, timestamp=datetime.fromisoformat(log["timestamp"].replace("Z", "+00:00")))
        for log in logs
    ]
    ranks = cells_rank(snapshots, profile=profile_get(truth.chemistry))
    flagged = {r.id for r in ranks if r.level != "ok"}
    assert flagged == set(truth.weak_cells) | set(truth.hot_cells)
    ((weak_id, (onset, drift)),) = truth.weak_cells.items()
    weak = next(r for r in ranks if r.id == weak_id)
    assert weak.voltage_drift_mv_per_30d == pytest.approx(-drift, abs=2.0)
    ((hot_id, excess),) = truth.hot_cells.items()
    hot = next(r for r in ranks if r.id == hot_id)
    assert hot.temperature_excess_c == pytest.approx(excess, abs=2.5)
    assert onset < CELL_WINDOW_END_DAY - 40


def test_scorecard_of_one_vehicle_with_a_jump() -> None:
    truth = first_with(lambda t: len(t.jumps) == 1 and t.crossing_cycle is not None, seed=1)
    score = scorecard_vehicle(vehicle_case(truth))
    assert (score.jumps_injected, score.jumps_reported, score.jumps_found) == (1, 1, 1)
    assert set(score.forecasts) == {"calendar_cycle", "power_law"}
    assert score.forecasts["calendar_cycle"].status == "ok"


def test_scorecard_summary_figures() -> None:
    def score(vehicle: str, **counts: int) -> VehicleScore:
        base = dict.fromkeys(
            [
                "weak_reported",
                "weak_true_reported",
                "weak_injected",
                "hot_reported",
                "hot_true_reported",
                "hot_injected",
                "jumps_reported",
                "jumps_matched_reports",
                "jumps_injected",
                "jumps_found",
            ],
            0,
        )
        base.update(counts)
        return VehicleScore(vehicle_id=vehicle, profile="nmc", **base)

    scores = [
        score(
            "a",
            weak_reported=2,
            weak_true_reported=1,
            weak_injected=1,
            jumps_injected=1,
            jumps_found=1,
            jumps_reported=1,
            jumps_matched_reports=1,
        ),
        score("b", jumps_reported=1),
        score("c"),
    ]
    scores[0].forecasts["calendar_cycle"] = ForecastScore("ok", 0.05, True, 30)
    scores[1].forecasts["calendar_cycle"] = ForecastScore("ok", -0.15, False, -60)
    scores[2].forecasts["calendar_cycle"] = ForecastScore("beyond_horizon", None, False, None)
    card = scorecard_summarize(scores)
    assert (card.weak_precision, card.weak_recall) == (0.5, 1.0)
    assert (card.jump_precision, card.jump_recall) == (0.5, 1.0)
    assert (card.jump_free_vehicles, card.jump_free_clean_share) == (2, 0.5)
    summary = card.forecasts[0]
    assert (summary.method, summary.cases, summary.not_ok) == ("calendar_cycle", 3, 1)
    assert summary.median_abs_error_pct == pytest.approx(10.0)
    assert summary.coverage == pytest.approx(1 / 3)
    assert summary.median_abs_date_error_days == 45
    assert card.hot_precision is None
    assert "weak cells: precision 0.500 recall 1.000" in format_scorecard("t", card)


def test_sim_epoch_keeps_logs_in_the_past() -> None:
    truth = vehicle_truth(seed=1, index=0)
    assert truth.log_at(truth.log_day.size - 1) < datetime(2026, 1, 1, tzinfo=UTC)


def test_sensor_faults_read_at_a_rail_and_are_flagged() -> None:
    truth = first_with(lambda t: bool(t.sensor_faults), seed=1)
    case = vehicle_case(truth)
    faulty = {
        snapshot.log_id: snapshot for snapshot in case.cell_window if snapshot.log_id in case.sensor_fault_log_ids
    }
    assert len(faulty) == len(truth.sensor_faults) >= 1
    for log_index, (cell, kind) in truth.sensor_faults.items():
        snapshot = faulty[f"{truth.vehicle_id}/{log_index}"]
        rail = {"voltage_open": 0.0, "thermistor_open": -40.0, "thermistor_short": 125.0}[kind]
        reading = snapshot.voltages_v[cell] if kind == "voltage_open" else snapshot.temperatures_c[cell]
        assert reading == rail
    score = scorecard_vehicle(case)
    assert (score.suspect_reported, score.suspect_true_reported) == (len(faulty), len(faulty))
