"""Property tests for the health rules on random packs within the contract's input ranges.

Packs have 1-1024 cells with ids 0..n-1 in any order, voltages in [0, 5] V, temperatures in
[-40, 125] °C, a nominal capacity in (0, 1000] kWh and a current capacity in [0, 1.2 * nominal] kWh.
Values are drawn both as arbitrary floats and on the millivolt / centidegree grid, so that the
50 mV and 45 °C boundaries are hit often.
"""

from __future__ import annotations

import math
import random
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reports.health import (
    ANOMALY_MESSAGES,
    BatterySnapshot,
    Cell,
    HealthReport,
    evaluate,
)

IMBALANCE, OVERHEATING, LOW_SOH = ANOMALY_MESSAGES
CODES = {IMBALANCE: "voltage_imbalance", OVERHEATING: "overheating", LOW_SOH: "low_soh"}

SETTINGS = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

voltages = st.one_of(
    st.floats(min_value=0.0, max_value=5.0, allow_nan=False),
    st.integers(min_value=0, max_value=5000).map(lambda mv: mv / 1000),
    st.sampled_from([3.95, 4.0, 4.1, 4.15, 4.151, 4.150001, 3.61, 3.66]),
)
temperatures = st.one_of(
    st.floats(min_value=-40.0, max_value=125.0, allow_nan=False),
    st.integers(min_value=-4000, max_value=12500).map(lambda cc: cc / 100),
    st.sampled_from([44.99, 45.0, 45.000001, 45.01, 47.5]),
)


def _random_voltage(rng: random.Random) -> float:
    return rng.uniform(0.0, 5.0) if rng.random() < 0.5 else rng.randint(3500, 4200) / 1000


def _random_temperature(rng: random.Random) -> float:
    return rng.uniform(-40.0, 125.0) if rng.random() < 0.1 else rng.randint(2000, 4600) / 100


@st.composite
def snapshots(draw: st.DrawFn, max_cells: int = 1024) -> BatterySnapshot:
    """A pack of 1..max_cells cells with ids 0..n-1 in random order.

    Up to 16 cells come straight from Hypothesis (they shrink well and hit the boundaries); the pack is
    then padded, sometimes up to ``max_cells``, with cells from a Hypothesis-seeded PRNG, which is far
    cheaper than drawing a thousand cells one by one (and stays within Hypothesis's data budget).
    """
    readings = draw(st.lists(st.tuples(voltages, temperatures), min_size=1, max_size=min(16, max_cells)))
    room = max_cells - len(readings)
    extra = draw(st.one_of(st.just(0), st.integers(min_value=0, max_value=room), st.just(room)))
    rng = random.Random(draw(st.integers(min_value=0, max_value=2**32 - 1), label="padding seed"))
    readings += [(_random_voltage(rng), _random_temperature(rng)) for _ in range(extra)]
    rng.shuffle(readings)
    ids = list(range(len(readings)))
    rng.shuffle(ids)
    cells = tuple(Cell(id=i, voltage=v, temperature=t) for i, (v, t) in zip(ids, readings, strict=True))
    nominal = draw(
        st.one_of(
            st.floats(min_value=0.0, max_value=1000.0, exclude_min=True, allow_nan=False),
            st.integers(min_value=1, max_value=10000).map(lambda c: c / 10),
        )
    )
    ratio = draw(
        st.one_of(
            st.floats(min_value=0.0, max_value=1.2, allow_nan=False),
            st.integers(min_value=0, max_value=120).map(lambda p: p / 100),
        )
    )
    return BatterySnapshot(
        cells=cells,
        cycle_count=draw(st.integers(min_value=0, max_value=100_000)),
        nominal_capacity_kwh=nominal,
        current_capacity_kwh=nominal * ratio,
    )


def _is_subsequence(items: tuple[str, ...], of: tuple[str, ...]) -> bool:
    it = iter(of)
    return all(item in it for item in items)


@SETTINGS
@given(snap=snapshots())
def test_report_invariants(snap: BatterySnapshot) -> None:
    report = evaluate(snap)
    cells = snap.cells
    volts = [c.voltage for c in cells]
    temps = [c.temperature for c in cells]
    v_min, v_max = min(volts), max(volts)

    # SoH stays within [0, 100].
    assert 0.0 <= report.battery_soh <= 100.0

    # Anomalies: distinct, an ordered subsequence of the three messages.
    assert len(set(report.anomalies)) == len(report.anomalies)
    assert _is_subsequence(report.anomalies, ANOMALY_MESSAGES)

    # Details align one-to-one with the anomalies.
    assert tuple(d.message for d in report.anomaly_details) == report.anomalies
    assert tuple(d.code for d in report.anomaly_details) == tuple(CODES[m] for m in report.anomalies)
    details = {d.code: d for d in report.anomaly_details}

    # Imbalance iff the spread, in mV rounded to 3 decimals, is above 50.
    spread = round((v_max - v_min) * 1000, 3)
    assert (IMBALANCE in report.anomalies) is (spread > 50)
    if "voltage_imbalance" in details:
        detail = details["voltage_imbalance"]
        assert (detail.value, detail.threshold, detail.unit) == (spread, 50.0, "mV")
        low_id, high_id = detail.cells
        assert low_id == min(c.id for c in cells if c.voltage == v_min)
        assert high_id == min(c.id for c in cells if c.voltage == v_max)

    # Overheating iff any cell is above 45 °C; its cells are exactly those, ascending.
    hot = sorted(c.id for c in cells if c.temperature > 45.0)
    assert (OVERHEATING in report.anomalies) is bool(hot)
    if hot:
        detail = details["overheating"]
        assert list(detail.cells) == hot
        assert (detail.value, detail.threshold, detail.unit) == (round(max(temps), 2), 45.0, "°C")

    # Low SoH iff the unrounded SoH, rounded to 6 decimals, is below 80.
    soh = snap.current_capacity_kwh / snap.nominal_capacity_kwh * 100
    assert (LOW_SOH in report.anomalies) is (round(soh, 6) < 80)
    if "low_soh" in details:
        detail = details["low_soh"]
        assert (detail.threshold, detail.unit, detail.cells) == (80.0, "%", ())
    assert report.battery_soh == round(min(soh, 100.0), 2)

    # Diagnostics.
    diag = report.diagnostics
    assert diag.cell_count == len(cells)
    assert diag.voltage_min <= diag.voltage_max
    assert diag.voltage_min == round(v_min, 3)
    assert diag.voltage_max == round(v_max, 3)
    assert diag.voltage_spread_mv == spread
    assert diag.temperature_min <= diag.temperature_avg <= diag.temperature_max
    assert diag.temperature_min == round(min(temps), 2)
    assert diag.temperature_max == round(max(temps), 2)
    for value in (diag.voltage_spread_mv, diag.temperature_min, diag.temperature_max, diag.temperature_avg):
        assert math.isfinite(value)
        assert not (value == 0.0 and math.copysign(1.0, value) < 0), "negative zero in diagnostics"


@SETTINGS
@given(snap=snapshots(), data=st.data())
def test_evaluate_is_deterministic_and_independent_of_cell_order(snap: BatterySnapshot, data: Any) -> None:
    report = evaluate(snap)
    assert evaluate(snap) == report
    shuffled = list(snap.cells)
    random.Random(data.draw(st.integers(min_value=0, max_value=2**32 - 1), label="shuffle seed")).shuffle(shuffled)
    again = evaluate(
        BatterySnapshot(
            cells=tuple(shuffled),
            cycle_count=snap.cycle_count,
            nominal_capacity_kwh=snap.nominal_capacity_kwh,
            current_capacity_kwh=snap.current_capacity_kwh,
        )
    )
    assert again == report
    assert again.as_dict() == report.as_dict()


@SETTINGS
@given(snap=snapshots(max_cells=64))
def test_from_mapping_round_trip(snap: BatterySnapshot) -> None:
    log = {
        "vehicle_id": "EV-1",
        "timestamp": "2025-10-04T10:30:00Z",
        "cells": [{"id": c.id, "voltage": c.voltage, "temperature": c.temperature} for c in snap.cells],
        "cycle_count": snap.cycle_count,
        "nominal_capacity_kwh": snap.nominal_capacity_kwh,
        "current_capacity_kwh": snap.current_capacity_kwh,
    }
    parsed = BatterySnapshot.from_mapping(log)
    assert [c.id for c in parsed.cells] == list(range(len(snap.cells)))
    report: HealthReport = evaluate(parsed)
    assert report == evaluate(snap)
