"""The mock-telemetry generator and the pure helpers of the HTTP fleet simulator (no database, no network)."""

import itertools
import json
import math
import random
import re
from datetime import UTC, datetime, timedelta, timezone

import pytest

from simulator.client import SimulationSummary, backoff_delay, parse_retry_after
from simulator.generator import (
    PACK_CAPACITIES_KWH,
    VehicleProfile,
    fleet_logs,
    fleet_profiles,
    format_timestamp,
    mock_log,
    vehicle_history,
)
from tests.conftest import TESTDATA

START = datetime(2024, 1, 1, tzinfo=UTC)
VEHICLE_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")
TIMESTAMP_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def contract_violations(log: dict) -> list[str]:
    """The contract's validation table (API.md section 1), checked locally: the names of offending fields."""
    bad = []
    if set(log) != {"vehicle_id", "timestamp", "cells", "cycle_count", "nominal_capacity_kwh", "current_capacity_kwh"}:
        bad.append("keys")
    if not isinstance(log.get("vehicle_id"), str) or not VEHICLE_ID_RE.match(log["vehicle_id"]):
        bad.append("vehicle_id")
    try:
        moment = datetime.fromisoformat(log["timestamp"])
        if moment.tzinfo is None or moment.utcoffset() is None:
            bad.append("timestamp")
    except (TypeError, ValueError):
        bad.append("timestamp")
    cells = log.get("cells")
    if not isinstance(cells, list) or not 1 <= len(cells) <= 1024:
        bad.append("cells")
    else:
        if sorted(cell.get("id") for cell in cells) != list(range(len(cells))):
            bad.append("cells")
        for index, cell in enumerate(cells):
            if set(cell) != {"id", "voltage", "temperature"} or type(cell["id"]) is not int:
                bad.append(f"cells[{index}]")
            if not (_is_number(cell.get("voltage")) and 0 <= cell["voltage"] <= 5):
                bad.append(f"cells[{index}].voltage")
            if not (_is_number(cell.get("temperature")) and -40 <= cell["temperature"] <= 125):
                bad.append(f"cells[{index}].temperature")
    if type(log.get("cycle_count")) is not int or not 0 <= log["cycle_count"] <= 100_000:
        bad.append("cycle_count")
    nominal = log.get("nominal_capacity_kwh")
    if not (_is_number(nominal) and 0 < nominal <= 1000):
        bad.append("nominal_capacity_kwh")
    current = log.get("current_capacity_kwh")
    if not (_is_number(current) and current >= 0 and _is_number(nominal) and current <= 1.2 * nominal):
        bad.append("current_capacity_kwh")
    return bad


def spread_mv(log: dict) -> float:
    voltages = [cell["voltage"] for cell in log["cells"]]
    return round((max(voltages) - min(voltages)) * 1000, 3)


def _median_voltage(log: dict) -> float:
    voltages = sorted(cell["voltage"] for cell in log["cells"])
    return voltages[len(voltages) // 2]


def soh_pct(log: dict) -> float:
    return log["current_capacity_kwh"] / log["nominal_capacity_kwh"] * 100


def _profile(**changes: object) -> VehicleProfile:
    fields = {
        "vehicle_id": "EV-TEST-1",
        "cell_count": 96,
        "nominal_capacity_kwh": 60.0,
        "fade_pct_per_100_cycles": 2.0,
        "weak_cell": None,
        "hot_cell": None,
        "start_cycle": 0,
        "cycles_per_day": 1.0,
    }
    return VehicleProfile(**{**fields, **changes})


# --- the local checker itself --------------------------------------------------------------------


def test_contract_checker_accepts_the_spec_example():
    log = {
        "vehicle_id": "EV-12345",
        "timestamp": "2025-10-04T10:30:00.000000Z",
        "cells": [{"id": 1, "voltage": 4.03, "temperature": 36.1}, {"id": 0, "voltage": 4.05, "temperature": 35.2}],
        "cycle_count": 412,
        "nominal_capacity_kwh": 60.0,
        "current_capacity_kwh": 54.9,
    }
    assert contract_violations(log) == []


@pytest.mark.skipif(not TESTDATA.is_file(), reason=f"shared sample logs not found at {TESTDATA}")
def test_contract_checker_accepts_every_sample_log():
    cases = json.loads(TESTDATA.read_text(encoding="utf-8"))
    for case in cases:
        assert contract_violations(case["log"]) == [], case["name"]


def test_contract_checker_names_offending_fields():
    log = mock_log(seed=1)
    log["vehicle_id"] = "-bad"
    log["timestamp"] = "2025-10-04T10:30:00"
    log["cells"][3]["voltage"] = 5.001
    log["cycle_count"] = True
    log["current_capacity_kwh"] = log["nominal_capacity_kwh"] * 1.21
    assert contract_violations(log) == [
        "vehicle_id",
        "timestamp",
        "cells[3].voltage",
        "cycle_count",
        "current_capacity_kwh",
    ]


# --- mock_log ------------------------------------------------------------------------------------


def test_mock_log_same_seed_gives_identical_log():
    assert mock_log(seed=42) == mock_log(seed=42)
    assert json.dumps(mock_log(seed=42)) == json.dumps(mock_log(seed=42))


def test_mock_log_different_seeds_give_different_logs():
    assert mock_log(seed=1) != mock_log(seed=2)
    assert len({json.dumps(mock_log(seed=seed)) for seed in range(50)}) == 50


def test_mock_log_does_not_touch_the_global_random_state():
    random.seed(7)
    expected = random.random()
    random.seed(7)
    mock_log(seed=3)
    assert random.random() == expected


def test_mock_log_uses_given_vehicle_id_and_timestamp():
    moment = datetime(2025, 10, 4, 12, 30, tzinfo=UTC)
    log = mock_log(seed=5, vehicle_id="EV-12345", timestamp=moment)
    assert log["vehicle_id"] == "EV-12345"
    assert log["timestamp"] == "2025-10-04T12:30:00.000000Z"


def test_mock_log_converts_timestamp_to_utc_and_rejects_naive():
    plus_two = timezone(timedelta(hours=2))
    assert mock_log(seed=5, timestamp=datetime(2025, 10, 4, 12, 30, tzinfo=plus_two))["timestamp"] == (
        "2025-10-04T10:30:00.000000Z"
    )
    with pytest.raises(ValueError):
        mock_log(seed=5, timestamp=datetime(2025, 10, 4, 12, 30))


def test_mock_log_without_seed_is_stamped_now():
    before = datetime.now(UTC)
    log = mock_log()
    after = datetime.now(UTC)
    assert before - timedelta(microseconds=1) <= datetime.fromisoformat(log["timestamp"]) <= after
    assert contract_violations(log) == []


@pytest.mark.parametrize("seed", range(300))
def test_mock_log_satisfies_the_contract_and_realistic_ranges(seed):
    log = mock_log(seed=seed)
    assert contract_violations(log) == []
    assert re.fullmatch(r"EV-\d{5}", log["vehicle_id"])
    assert TIMESTAMP_RE.match(log["timestamp"])
    assert datetime.fromisoformat(log["timestamp"]) < datetime.now(UTC)
    cells = log["cells"]
    assert 80 <= len(cells) <= 120
    assert [cell["id"] for cell in cells] == list(range(len(cells)))
    voltages = sorted(cell["voltage"] for cell in cells)
    temperatures = sorted(cell["temperature"] for cell in cells)
    # At most one weak cell (about 0.1 V low) and one hot cell (up to 60 °C) are outliers.
    assert all(3.8 <= v <= 4.2 for v in voltages[1:])
    assert 3.68 <= voltages[0] <= 4.2
    assert all(25 <= t <= 45 for t in temperatures[:-1])
    assert 25 <= temperatures[-1] <= 60
    assert all(round(v, 3) == v for v in voltages)
    assert all(round(t, 2) == t for t in temperatures)
    assert 100 <= log["cycle_count"] <= 800
    assert log["nominal_capacity_kwh"] in PACK_CAPACITIES_KWH
    assert 80 <= soh_pct(log) <= 100
    assert round(log["current_capacity_kwh"], 2) == log["current_capacity_kwh"]


def test_mock_log_outliers_occur_but_rarely():
    logs = [mock_log(seed=seed) for seed in range(1000)]
    weak = sum(1 for log in logs if _median_voltage(log) - min(cell["voltage"] for cell in log["cells"]) > 0.07)
    hot = sum(1 for log in logs if max(cell["temperature"] for cell in log["cells"]) > 45)
    assert 20 <= weak <= 150
    assert 20 <= hot <= 120


# --- fleet profiles ------------------------------------------------------------------------------


def test_fleet_profiles_ids_and_determinism():
    profiles = fleet_profiles(vehicles=3, seed=9, prefix="EV-T")
    assert [p.vehicle_id for p in profiles] == ["EV-T-00000", "EV-T-00001", "EV-T-00002"]
    assert profiles == fleet_profiles(vehicles=3, seed=9, prefix="EV-T")
    assert profiles != fleet_profiles(vehicles=3, seed=10, prefix="EV-T")
    # A smaller fleet is the start of a larger one.
    assert fleet_profiles(vehicles=10, seed=9, prefix="EV-T")[:3] == profiles


def test_fleet_profiles_carry_weak_and_hot_cells_in_the_intended_shares():
    profiles = fleet_profiles(vehicles=2000, seed=1)
    weak = [p for p in profiles if p.weak_cell is not None]
    hot = [p for p in profiles if p.hot_cell is not None]
    assert 0.12 <= len(weak) / len(profiles) <= 0.18
    assert 0.07 <= len(hot) / len(profiles) <= 0.13
    for p in profiles:
        assert 80 <= p.cell_count <= 120
        assert p.nominal_capacity_kwh in PACK_CAPACITIES_KWH
        assert p.weak_cell is None or 0 <= p.weak_cell < p.cell_count
        assert p.hot_cell is None or 0 <= p.hot_cell < p.cell_count
        assert p.fade_pct_per_100_cycles > 0
        assert p.cycles_per_day > 0
        assert p.start_cycle >= 0


# --- vehicle history -----------------------------------------------------------------------------


def test_vehicle_history_is_deterministic_and_seed_dependent():
    profile = fleet_profiles(vehicles=1, seed=3)[0]
    first = vehicle_history(profile, logs=20, seed=3, start=START)
    assert first == vehicle_history(profile, logs=20, seed=3, start=START)
    assert first != vehicle_history(profile, logs=20, seed=4, start=START)


def test_vehicle_history_is_a_valid_aging_sequence():
    profile = _profile(start_cycle=100)
    history = vehicle_history(profile, logs=365, seed=0, start=START)
    assert len(history) == 365
    moments = [datetime.fromisoformat(log["timestamp"]) for log in history]
    assert all(a < b for a, b in itertools.pairwise(moments))
    assert START <= moments[0] < START + timedelta(days=1)
    assert moments[-1] < START + timedelta(days=365)
    cycles = [log["cycle_count"] for log in history]
    assert all(a <= b for a, b in itertools.pairwise(cycles))
    assert cycles[0] == 100
    assert 460 <= cycles[-1] <= 465
    assert soh_pct(history[-1]) < soh_pct(history[0])
    for log in history:
        assert contract_violations(log) == []
        assert log["vehicle_id"] == "EV-TEST-1"
        assert len(log["cells"]) == 96
        assert log["nominal_capacity_kwh"] == 60.0
        assert 50 <= soh_pct(log) <= 100
        assert all(3.8 <= cell["voltage"] <= 4.2 for cell in log["cells"])
        assert all(25 <= cell["temperature"] <= 45 for cell in log["cells"])
        assert spread_mv(log) <= 50


def test_vehicle_history_soh_follows_the_fade_formula():
    history = vehicle_history(_profile(fade_pct_per_100_cycles=2.0, start_cycle=500), logs=30, seed=2, start=START)
    for log in history:
        expected_pct = 100 * (1 - 2.0 * log["cycle_count"] / 100 / 100)
        assert abs(soh_pct(log) - expected_pct) < 1.0


def test_vehicle_history_soh_never_falls_below_half():
    history = vehicle_history(_profile(fade_pct_per_100_cycles=3.0, start_cycle=2000), logs=10, seed=1, start=START)
    assert [log["current_capacity_kwh"] for log in history] == [30.0] * 10


def test_weak_cell_develops_a_voltage_imbalance_over_time():
    history = vehicle_history(_profile(weak_cell=7), logs=365, seed=0, start=START)
    assert spread_mv(history[0]) <= 50
    assert spread_mv(history[-1]) > 50
    for log in history[-30:]:
        assert spread_mv(log) > 50
        assert min(log["cells"], key=lambda cell: cell["voltage"])["id"] == 7
        assert contract_violations(log) == []


def test_hot_cell_runs_hotter_than_the_rest_and_sometimes_overheats():
    history = vehicle_history(_profile(hot_cell=11), logs=200, seed=0, start=START)
    overheating = 0
    for log in history:
        hot = log["cells"][11]["temperature"]
        others = [cell["temperature"] for cell in log["cells"] if cell["id"] != 11]
        assert hot >= sum(others) / len(others) + 3
        assert hot <= 60
        overheating += hot > 45
        assert contract_violations(log) == []
    assert 10 <= overheating <= 190


def test_vehicle_history_default_start_ends_in_the_past():
    history = vehicle_history(_profile(), logs=5, seed=0, interval=timedelta(hours=1))
    assert datetime.fromisoformat(history[-1]["timestamp"]) < datetime.now(UTC)
    assert datetime.fromisoformat(history[0]["timestamp"]) > datetime.now(UTC) - timedelta(hours=6)


def test_vehicle_history_with_short_interval_keeps_timestamps_strictly_increasing():
    history = vehicle_history(_profile(), logs=100, seed=0, start=START, interval=timedelta(microseconds=1))
    stamps = [log["timestamp"] for log in history]
    assert stamps == sorted(stamps)
    assert len(set(stamps)) == 100


def test_vehicle_history_rejects_bad_arguments():
    with pytest.raises(ValueError):
        vehicle_history(_profile(), logs=3, seed=0, start=datetime(2024, 1, 1))
    with pytest.raises(ValueError):
        vehicle_history(_profile(), logs=3, seed=0, start=START, interval=timedelta(0))


# --- fleet logs ----------------------------------------------------------------------------------


def test_fleet_logs_yields_every_log_once_in_time_order():
    logs = list(fleet_logs(vehicles=12, logs_per_vehicle=15, seed=4, start=START))
    assert len(logs) == 12 * 15
    keys = {(log["vehicle_id"], log["timestamp"]) for log in logs}
    assert len(keys) == 12 * 15
    moments = [datetime.fromisoformat(log["timestamp"]) for log in logs]
    assert moments == sorted(moments)
    per_vehicle = {}
    for log in logs:
        per_vehicle[log["vehicle_id"]] = per_vehicle.get(log["vehicle_id"], 0) + 1
    assert per_vehicle == {f"EV-SIM-{i:05d}": 15 for i in range(12)}
    # Interleaved like real traffic: vehicles alternate instead of arriving one after another.
    assert len({log["vehicle_id"] for log in logs[:12]}) == 12
    for log in logs:
        assert contract_violations(log) == []


def test_fleet_logs_matches_the_vehicle_histories():
    logs = list(fleet_logs(vehicles=3, logs_per_vehicle=4, seed=8, prefix="EV-X", start=START))
    profiles = fleet_profiles(vehicles=3, seed=8, prefix="EV-X")
    for profile in profiles:
        mine = [log for log in logs if log["vehicle_id"] == profile.vehicle_id]
        assert mine == vehicle_history(profile, logs=4, seed=8, start=START)


def test_fleet_logs_is_deterministic_and_seed_dependent():
    def run(seed):
        return [json.dumps(log) for log in fleet_logs(vehicles=4, logs_per_vehicle=5, seed=seed, start=START)]

    assert run(1) == run(1)
    assert run(1) != run(2)


def test_fleet_logs_is_lazy():
    logs = fleet_logs(vehicles=1000, logs_per_vehicle=10_000, seed=0, start=START)
    first = next(logs)
    assert contract_violations(first) == []
    assert datetime.fromisoformat(first["timestamp"]) < START + timedelta(days=1)


def test_format_timestamp():
    assert format_timestamp(datetime(2025, 10, 4, 10, 30, 0, 5, tzinfo=UTC)) == "2025-10-04T10:30:00.000005Z"
    with pytest.raises(ValueError):
        format_timestamp(datetime(2025, 10, 4, 10, 30))


# --- client helpers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("attempt", "low", "high"),
    [(1, 0.125, 0.25), (2, 0.25, 0.5), (3, 0.5, 1.0), (6, 4.0, 8.0), (7, 5.0, 10.0), (50, 5.0, 10.0)],
    ids=["first", "second", "third", "sixth", "capped", "far-capped"],
)
def test_backoff_delay_doubles_then_caps_with_jitter(attempt, low, high):
    rng = random.Random(0)
    delays = [backoff_delay(attempt, rng=rng) for _ in range(200)]
    assert all(low <= d <= high for d in delays)
    assert len(set(delays)) > 1


def test_backoff_delay_extremes_of_jitter():
    class Fixed(random.Random):
        def __init__(self, value):
            super().__init__(0)
            self.value = value

        def uniform(self, a, b):
            return a + (b - a) * self.value

    assert backoff_delay(3, rng=Fixed(0.0)) == 0.5
    assert backoff_delay(3, rng=Fixed(1.0)) == 1.0
    assert backoff_delay(2, rng=Fixed(0.0), base_s=1.0, cap_s=60.0) == 1.0
    with pytest.raises(ValueError):
        backoff_delay(0, rng=Fixed(0.0))


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("3", 3.0),
        (" 1.5 ", 1.5),
        ("0", 0.0),
        ("120", 30.0),
        ("-1", None),
        ("nan", None),
        ("inf", None),
        ("soon", None),
        ("Wed, 21 Oct 2015 07:28:00 GMT", None),
    ],
    ids=["absent", "integer", "decimal", "zero", "capped", "negative", "nan", "inf", "word", "http-date"],
)
def test_parse_retry_after(header, expected):
    assert parse_retry_after(header) == expected


def test_parse_retry_after_custom_cap():
    assert parse_retry_after("10", cap_s=2.0) == 2.0


def test_summary_rate_and_format():
    summary = SimulationSummary(
        sent=100,
        accepted=90,
        duplicates=5,
        conflicts=1,
        rejected=3,
        failed=1,
        retries=7,
        elapsed_s=4.0,
        errors=("EV-SIM-00001 2024-01-01T00:00:00.000000Z: HTTP 400 {}",),
    )
    assert summary.rate_per_s == 25.0
    assert summary.format() == (
        "Sent 100 logs in 4.00 s (25.0 logs/s)\n"
        "  accepted   90\n"
        "  duplicates 5\n"
        "  conflicts  1\n"
        "  rejected   3\n"
        "  failed     1\n"
        "  retries    7\n"
        "First errors:\n"
        "  EV-SIM-00001 2024-01-01T00:00:00.000000Z: HTTP 400 {}"
    )


def test_summary_rate_with_no_elapsed_time_is_zero():
    summary = SimulationSummary(
        sent=0, accepted=0, duplicates=0, conflicts=0, rejected=0, failed=0, retries=0, elapsed_s=0.0
    )
    assert summary.rate_per_s == 0.0
    assert "First errors" not in summary.format()
