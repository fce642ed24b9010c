"""Unit tests for the framework-free health rules (API contract section 2, "The report").

Every boundary of the contract is a named case; the shared sample logs in
``shared/testdata/reports.json`` (or ``$BATTERY_TESTDATA``) are checked for exact equality.
"""

from __future__ import annotations

import ast
import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from reports.health import (
    ANOMALY_MESSAGES,
    LOW_SOH_THRESHOLD_PCT,
    OVERHEAT_THRESHOLD_C,
    VOLTAGE_IMBALANCE_THRESHOLD_MV,
    AnomalyDetail,
    BatterySnapshot,
    Cell,
    Diagnostics,
    HealthReport,
    battery_soh,
    compute_diagnostics,
    console_report_dict,
    evaluate,
    format_console_report,
    has_voltage_imbalance,
    is_low_soh,
    overheating_cells,
    state_of_health_pct,
    voltage_extreme_cells,
    voltage_spread_mv,
)
from tests.conftest import TESTDATA

REPO_ROOT = Path(__file__).resolve().parents[2]
HEALTH_PACKAGE = REPO_ROOT / "reports" / "health"

IMBALANCE = "Voltage imbalance detected"
OVERHEATING = "Overheating detected"
LOW_SOH = "Low state of health detected"


# --------------------------------------------------------------------------- helpers


def pack(*voltages: float, temperature: float = 30.0) -> tuple[Cell, ...]:
    """Cells 0..n-1 with the given voltages and one temperature."""
    return tuple(Cell(id=i, voltage=v, temperature=temperature) for i, v in enumerate(voltages))


def hot_pack(*temperatures: float, voltage: float = 4.0) -> tuple[Cell, ...]:
    """Cells 0..n-1 with the given temperatures and one voltage."""
    return tuple(Cell(id=i, voltage=voltage, temperature=t) for i, t in enumerate(temperatures))


def snapshot(
    cells: tuple[Cell, ...], nominal: float = 60.0, current: float = 54.0, cycles: int = 100
) -> BatterySnapshot:
    return BatterySnapshot(cells=cells, cycle_count=cycles, nominal_capacity_kwh=nominal, current_capacity_kwh=current)


# --------------------------------------------------------------------------- constants


def test_constants_are_the_contract_values() -> None:
    assert VOLTAGE_IMBALANCE_THRESHOLD_MV == 50.0
    assert OVERHEAT_THRESHOLD_C == 45.0
    assert LOW_SOH_THRESHOLD_PCT == 80.0
    assert ANOMALY_MESSAGES == (IMBALANCE, OVERHEATING, LOW_SOH)


# --------------------------------------------------------------------------- voltage imbalance


@pytest.mark.parametrize(
    ("low", "high", "spread_mv", "imbalanced"),
    [
        # Exactly 50 mV apart: never an imbalance, whichever way the float subtraction errs.
        pytest.param(4.10, 4.15, 50.0, False, id="4.10-4.15-exactly-50mV-raw-float-above"),
        pytest.param(3.95, 4.00, 50.0, False, id="3.95-4.00-exactly-50mV-raw-float-below"),
        pytest.param(3.61, 3.66, 50.0, False, id="3.61-3.66-exactly-50mV-raw-float-above"),
        pytest.param(3.001, 3.051, 50.0, False, id="3.001-3.051-exactly-50mV-raw-float-above"),
        pytest.param(0.051, 0.101, 50.0, False, id="0.051-0.101-exactly-50mV-raw-float-above"),
        pytest.param(0.001, 0.051, 50.0, False, id="0.001-0.051-exactly-50mV-raw-float-below"),
        pytest.param(4.95, 5.00, 50.0, False, id="4.95-5.00-exactly-50mV-top-of-range"),
        pytest.param(0.0, 0.05, 50.0, False, id="0.00-0.05-exactly-50mV-bottom-of-range"),
        # Below the threshold.
        pytest.param(4.10, 4.149, 49.0, False, id="49mV"),
        pytest.param(3.9, 3.9, 0.0, False, id="equal-voltages-0mV"),
        # Just above.
        pytest.param(4.10, 4.151, 51.0, True, id="4.10-4.151-51mV"),
        pytest.param(4.10, 4.150001, 50.001, True, id="50.001mV-smallest-imbalance-at-3-decimals"),
        pytest.param(4.10, 4.15001, 50.01, True, id="50.01mV"),
        # Below the 3rd decimal of a millivolt: rounds to 50.000, so not an imbalance.
        pytest.param(4.10, 4.1500004, 50.0, False, id="50.0004mV-rounds-to-50.000"),
        pytest.param(0.0, 5.0, 5000.0, True, id="full-range-5000mV"),
    ],
)
def test_voltage_spread_and_imbalance_boundaries(low: float, high: float, spread_mv: float, imbalanced: bool) -> None:
    cells = pack(high, low, (low + high) / 2)
    assert voltage_spread_mv(cells) == spread_mv
    assert has_voltage_imbalance(cells) is imbalanced
    report = evaluate(snapshot(cells))
    assert (IMBALANCE in report.anomalies) is imbalanced
    assert report.diagnostics.voltage_spread_mv == spread_mv


@pytest.mark.parametrize(
    ("voltages", "expected"),
    [
        pytest.param((4.0,), (0, 0), id="single-cell"),
        pytest.param((4.0, 3.9, 3.9, 4.2, 4.2), (1, 3), id="ties-lowest-id-wins-for-min-and-max"),
        pytest.param((4.2, 4.2, 3.9, 3.9), (2, 0), id="max-before-min"),
        pytest.param((4.0, 4.0, 4.0), (0, 0), id="all-equal"),
    ],
)
def test_voltage_extreme_cells_tie_break(voltages: tuple[float, ...], expected: tuple[int, int]) -> None:
    cells = pack(*voltages)
    assert voltage_extreme_cells(cells) == expected
    assert voltage_extreme_cells(tuple(reversed(cells))) == expected
    assert voltage_extreme_cells(iter(cells)) == expected


def test_imbalance_detail_names_min_and_max_cells_lowest_id_on_ties() -> None:
    cells = (
        Cell(id=4, voltage=4.2, temperature=30.0),
        Cell(id=3, voltage=3.9, temperature=30.0),
        Cell(id=2, voltage=4.2, temperature=30.0),
        Cell(id=1, voltage=3.9, temperature=30.0),
        Cell(id=0, voltage=4.0, temperature=30.0),
    )
    report = evaluate(snapshot(cells))
    assert report.anomaly_details == (
        AnomalyDetail(
            code="voltage_imbalance",
            message=IMBALANCE,
            value=300.0,
            threshold=50.0,
            unit="mV",
            cells=(1, 2),
        ),
    )


# --------------------------------------------------------------------------- overheating


@pytest.mark.parametrize(
    ("temperatures", "expected"),
    [
        pytest.param((45.0,), (), id="45.0-is-not-overheating"),
        pytest.param((44.99, 45.0, 30.0), (), id="44.99-and-45.0-are-not"),
        pytest.param((45.01,), (0,), id="45.01-is-overheating"),
        pytest.param((45.000001,), (0,), id="45.000001-is-overheating-compared-unrounded"),
        pytest.param((30.0, 47.5, 45.0, 46.0), (1, 3), id="only-cells-above-45"),
        pytest.param((125.0, -40.0, 125.0), (0, 2), id="range-extremes"),
        pytest.param((-40.0, 0.0, 44.9), (), id="all-cool"),
    ],
)
def test_overheating_boundaries(temperatures: tuple[float, ...], expected: tuple[int, ...]) -> None:
    cells = hot_pack(*temperatures)
    assert overheating_cells(cells) == expected
    assert (OVERHEATING in evaluate(snapshot(cells)).anomalies) is bool(expected)


def test_overheating_cells_sorted_by_id_whatever_the_input_order() -> None:
    cells = (
        Cell(id=7, voltage=4.0, temperature=50.0),
        Cell(id=2, voltage=4.0, temperature=46.0),
        Cell(id=5, voltage=4.0, temperature=20.0),
        Cell(id=0, voltage=4.0, temperature=45.5),
    )
    assert overheating_cells(cells) == (0, 2, 7)
    report = evaluate(snapshot(cells))
    assert report.anomaly_details == (
        AnomalyDetail(
            code="overheating",
            message=OVERHEATING,
            value=50.0,
            threshold=45.0,
            unit="°C",
            cells=(0, 2, 7),
        ),
    )


def test_overheating_detail_value_is_max_temperature_rounded_to_2_decimals() -> None:
    report = evaluate(snapshot(hot_pack(46.126, 30.0, 45.5)))
    (detail,) = report.anomaly_details
    assert detail.value == 46.13
    assert detail.cells == (0, 2)


# --------------------------------------------------------------------------- state of health


@pytest.mark.parametrize(
    ("nominal", "current", "unrounded"),
    [
        pytest.param(40.2, 32.16, 79.99999999999999, id="32.16/40.2-float-noise"),
        pytest.param(60.0, 64.5, 107.5, id="above-nominal-uncapped"),
        pytest.param(60.0, 54.9, 91.49999999999999, id="54.9/60"),
        pytest.param(100.0, 0.0, 0.0, id="empty"),
    ],
)
def test_state_of_health_pct_is_unrounded_and_uncapped(nominal: float, current: float, unrounded: float) -> None:
    assert state_of_health_pct(nominal, current) == unrounded


@pytest.mark.parametrize(
    ("nominal", "current", "soh"),
    [
        pytest.param(60.0, 64.5, 100.0, id="107.5%-capped-to-100"),
        pytest.param(60.0, 72.0, 100.0, id="120%-capped-to-100"),
        pytest.param(60.0, 60.0, 100.0, id="exactly-100"),
        pytest.param(100.0, 99.996, 100.0, id="99.996-rounds-up-to-100"),
        pytest.param(60.0, 54.9, 91.5, id="91.49999999999999-rounds-to-91.5"),
        pytest.param(82.0, 76.19, 92.91, id="92.9146-rounds-to-92.91"),
        pytest.param(3.0, 2.0, 66.67, id="two-thirds-rounds-to-66.67"),
        pytest.param(3.0, 1.0, 33.33, id="one-third-rounds-to-33.33"),
        pytest.param(40.2, 32.16, 80.0, id="32.16/40.2-is-80.0"),
        pytest.param(75.0, 52.0, 69.33, id="69.33"),
        pytest.param(60.0, 0.0, 0.0, id="zero"),
    ],
)
def test_battery_soh_capped_and_rounded(nominal: float, current: float, soh: float) -> None:
    assert battery_soh(nominal, current) == soh
    assert evaluate(snapshot(pack(4.0), nominal=nominal, current=current)).battery_soh == soh


@pytest.mark.parametrize(
    ("nominal", "current", "low"),
    [
        pytest.param(40.2, 32.16, False, id="32.16/40.2-exactly-80-not-low-despite-79.99999999999999"),
        pytest.param(11.3, 9.04, False, id="9.04/11.3-exactly-80-raw-float-below"),
        pytest.param(11.2, 8.96, False, id="8.96/11.2-exactly-80-raw-float-above"),
        pytest.param(100.0, 80.0, False, id="80.0-not-low"),
        pytest.param(100.0, 79.99, True, id="79.99-is-low"),
        pytest.param(100.0, 79.999999, True, id="79.999999-is-low-6th-decimal"),
        pytest.param(100.0, 79.9999996, False, id="79.9999996-rounds-to-80-not-low"),
        pytest.param(75.0, 52.0, True, id="69.33-is-low"),
        pytest.param(60.0, 0.0, True, id="zero-is-low"),
        pytest.param(60.0, 64.5, False, id="above-nominal-not-low"),
    ],
)
def test_low_soh_boundaries(nominal: float, current: float, low: bool) -> None:
    assert is_low_soh(nominal, current) is low
    assert (LOW_SOH in evaluate(snapshot(pack(4.0), nominal=nominal, current=current)).anomalies) is low


def test_low_soh_detail() -> None:
    report = evaluate(snapshot(pack(4.0), nominal=75.0, current=52.0))
    assert report.anomaly_details == (
        AnomalyDetail(code="low_soh", message=LOW_SOH, value=69.33, threshold=80.0, unit="%", cells=()),
    )


def test_soh_just_below_80_is_low_though_it_reports_as_80() -> None:
    # 79.999 % rounds to 80.0 for display but is below 80 at 6 decimals: low, with value 80.0.
    report = evaluate(snapshot(pack(4.0), nominal=100.0, current=79.999))
    assert report.battery_soh == 80.0
    assert report.anomalies == (LOW_SOH,)
    assert report.anomaly_details[0].value == 80.0


# --------------------------------------------------------------------------- diagnostics


def test_diagnostics_single_cell_pack() -> None:
    cells = (Cell(id=0, voltage=3.9876, temperature=31.456),)
    assert compute_diagnostics(cells) == Diagnostics(
        cell_count=1,
        voltage_min=3.988,
        voltage_max=3.988,
        voltage_spread_mv=0.0,
        temperature_min=31.46,
        temperature_max=31.46,
        temperature_avg=31.46,
    )
    report = evaluate(snapshot(cells, nominal=60.0, current=54.9))
    assert report == HealthReport(
        battery_soh=91.5,
        anomalies=(),
        anomaly_details=(),
        diagnostics=compute_diagnostics(cells),
    )


def test_diagnostics_rounding() -> None:
    cells = (
        Cell(id=0, voltage=4.0, temperature=25.0),
        Cell(id=1, voltage=4.1234, temperature=25.0),
        Cell(id=2, voltage=4.0611, temperature=25.1),
    )
    assert compute_diagnostics(cells) == Diagnostics(
        cell_count=3,
        voltage_min=4.0,
        voltage_max=4.123,
        voltage_spread_mv=123.4,
        temperature_min=25.0,
        temperature_max=25.1,
        temperature_avg=25.03,
    )


def test_diagnostics_spread_comes_from_unrounded_voltages() -> None:
    # 4.1004 and 4.1506 round to 4.100 and 4.151 (51 mV) but are 50.2 mV apart.
    diag = compute_diagnostics(pack(4.1004, 4.1506))
    assert (diag.voltage_min, diag.voltage_max, diag.voltage_spread_mv) == (4.1, 4.151, 50.2)


def test_diagnostics_never_report_negative_zero() -> None:
    diag = compute_diagnostics(hot_pack(-0.001, -0.002, 0.0))
    for value in (diag.temperature_min, diag.temperature_max, diag.temperature_avg):
        assert value == 0.0
        assert math.copysign(1.0, value) == 1.0
    assert json.dumps(diag.as_dict()).count("-0.0") == 0


def test_diagnostics_average_uses_fsum_and_ignores_order() -> None:
    temperatures = (125.0, 1e-13, -40.0, 0.1, 0.2, 0.3) * 50
    cells = hot_pack(*temperatures)
    expected = round(math.fsum(temperatures) / len(temperatures), 2)
    assert compute_diagnostics(cells).temperature_avg == expected
    assert compute_diagnostics(tuple(reversed(cells))).temperature_avg == expected


def test_diagnostics_negative_temperatures() -> None:
    diag = compute_diagnostics(hot_pack(-40.0, -20.0, -10.0))
    assert (diag.temperature_min, diag.temperature_max, diag.temperature_avg) == (-40.0, -10.0, -23.33)


# --------------------------------------------------------------------------- order and shape of a report


def _combination_pack(imbalance: bool, overheating: bool) -> tuple[Cell, ...]:
    return (
        Cell(id=0, voltage=4.0, temperature=30.0),
        Cell(id=1, voltage=4.2 if imbalance else 4.03, temperature=47.5 if overheating else 45.0),
    )


@pytest.mark.parametrize(
    ("imbalance", "overheating", "low", "expected"),
    [
        pytest.param(False, False, False, (), id="none"),
        pytest.param(True, False, False, (IMBALANCE,), id="imbalance"),
        pytest.param(False, True, False, (OVERHEATING,), id="overheating"),
        pytest.param(False, False, True, (LOW_SOH,), id="low-soh"),
        pytest.param(True, True, False, (IMBALANCE, OVERHEATING), id="imbalance-overheating"),
        pytest.param(True, False, True, (IMBALANCE, LOW_SOH), id="imbalance-low-soh"),
        pytest.param(False, True, True, (OVERHEATING, LOW_SOH), id="overheating-low-soh"),
        pytest.param(True, True, True, (IMBALANCE, OVERHEATING, LOW_SOH), id="all-three"),
    ],
)
def test_anomaly_order_and_details_align(
    imbalance: bool, overheating: bool, low: bool, expected: tuple[str, ...]
) -> None:
    report = evaluate(snapshot(_combination_pack(imbalance, overheating), nominal=100.0, current=70.0 if low else 90.0))
    assert report.anomalies == expected
    assert tuple(d.message for d in report.anomaly_details) == expected
    codes = {IMBALANCE: "voltage_imbalance", OVERHEATING: "overheating", LOW_SOH: "low_soh"}
    assert tuple(d.code for d in report.anomaly_details) == tuple(codes[m] for m in expected)


def test_full_report_as_dict_all_three_anomalies() -> None:
    cells = (
        Cell(id=2, voltage=3.61, temperature=58.2),
        Cell(id=0, voltage=3.99, temperature=25.04),
        Cell(id=1, voltage=3.8, temperature=45.0),
        Cell(id=3, voltage=3.99, temperature=46.0),
    )
    report = evaluate(snapshot(cells, nominal=75.0, current=52.0, cycles=598))
    expected: dict[str, Any] = {
        "battery_soh": 69.33,
        "anomalies": [IMBALANCE, OVERHEATING, LOW_SOH],
        "anomaly_details": [
            {
                "code": "voltage_imbalance",
                "message": IMBALANCE,
                "value": 380.0,
                "threshold": 50.0,
                "unit": "mV",
                "cells": [2, 0],
            },
            {
                "code": "overheating",
                "message": OVERHEATING,
                "value": 58.2,
                "threshold": 45.0,
                "unit": "°C",
                "cells": [2, 3],
            },
            {"code": "low_soh", "message": LOW_SOH, "value": 69.33, "threshold": 80.0, "unit": "%", "cells": []},
        ],
        "diagnostics": {
            "cell_count": 4,
            "voltage_min": 3.61,
            "voltage_max": 3.99,
            "voltage_spread_mv": 380.0,
            "temperature_min": 25.04,
            "temperature_max": 58.2,
            "temperature_avg": 43.56,
        },
    }
    data = report.as_dict()
    assert data == expected
    assert list(data) == ["battery_soh", "anomalies", "anomaly_details", "diagnostics"]
    assert json.loads(json.dumps(data, ensure_ascii=False)) == expected


def test_report_objects_are_frozen() -> None:
    report = evaluate(snapshot(pack(4.0)))
    with pytest.raises(AttributeError):
        report.battery_soh = 1.0  # type: ignore[misc]
    with pytest.raises(AttributeError):
        Cell(id=0, voltage=4.0, temperature=30.0).voltage = 3.0  # type: ignore[misc]


# --------------------------------------------------------------------------- invalid input


@pytest.mark.parametrize(
    ("snap", "message"),
    [
        pytest.param(snapshot(()), "at least one cell", id="empty-cells"),
        pytest.param(snapshot(pack(4.0), nominal=0.0), "nominal_capacity_kwh", id="zero-nominal"),
        pytest.param(snapshot(pack(4.0), nominal=-60.0), "nominal_capacity_kwh", id="negative-nominal"),
        pytest.param(snapshot(pack(4.0), nominal=math.nan), "nominal_capacity_kwh", id="nan-nominal"),
        pytest.param(snapshot(pack(4.0), nominal=math.inf), "nominal_capacity_kwh", id="inf-nominal"),
        pytest.param(snapshot(pack(4.0), current=-1.0), "current_capacity_kwh", id="negative-current"),
    ],
)
def test_evaluate_rejects_impossible_snapshots(snap: BatterySnapshot, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        evaluate(snap)


@pytest.mark.parametrize(
    "func",
    [
        pytest.param(voltage_spread_mv, id="voltage_spread_mv"),
        pytest.param(has_voltage_imbalance, id="has_voltage_imbalance"),
        pytest.param(compute_diagnostics, id="compute_diagnostics"),
        pytest.param(voltage_extreme_cells, id="voltage_extreme_cells"),
    ],
)
def test_cell_functions_reject_empty_pack(func: Any) -> None:
    with pytest.raises(ValueError, match="at least one cell"):
        func(())


def test_overheating_cells_of_empty_pack_is_empty() -> None:
    assert overheating_cells(()) == ()


# --------------------------------------------------------------------------- from_mapping


def test_from_mapping_reads_the_log_ignores_other_keys_and_sorts_cells() -> None:
    log = {
        "vehicle_id": "EV-1",
        "timestamp": "2025-10-04T10:30:00Z",
        "unknown": {"nested": True},
        "cells": [
            {"id": 1, "voltage": 4.03, "temperature": 36.1},
            {"id": 0, "voltage": 4, "temperature": 35},
        ],
        "cycle_count": 412.0,
        "nominal_capacity_kwh": 60,
        "current_capacity_kwh": 54.9,
    }
    snap = BatterySnapshot.from_mapping(log)
    assert snap == BatterySnapshot(
        cells=(Cell(id=0, voltage=4.0, temperature=35.0), Cell(id=1, voltage=4.03, temperature=36.1)),
        cycle_count=412,
        nominal_capacity_kwh=60.0,
        current_capacity_kwh=54.9,
    )
    assert type(snap.cycle_count) is int
    assert type(snap.nominal_capacity_kwh) is float


@pytest.mark.parametrize(
    ("log", "message"),
    [
        pytest.param(
            {"cells": [], "cycle_count": 1, "nominal_capacity_kwh": 1.0}, "current_capacity_kwh", id="missing"
        ),
        pytest.param(
            {
                "cells": [{"id": 0, "voltage": 4.0}],
                "cycle_count": 1,
                "nominal_capacity_kwh": 1.0,
                "current_capacity_kwh": 1.0,
            },
            "temperature",
            id="cell-missing-temperature",
        ),
        pytest.param(
            {"cells": None, "cycle_count": 1, "nominal_capacity_kwh": 1.0, "current_capacity_kwh": 1.0},
            "malformed",
            id="cells-not-a-list",
        ),
    ],
)
def test_from_mapping_raises_value_error_on_malformed_log(log: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        BatterySnapshot.from_mapping(log)


# --------------------------------------------------------------------------- console report


def test_format_console_report_has_the_three_sections() -> None:
    log = {
        "vehicle_id": "EV-12345",
        "timestamp": "2025-10-04T10:30:00.000000Z",
        "cells": [
            {"id": 0, "voltage": 4.05, "temperature": 35.2},
            {"id": 1, "voltage": 4.11, "temperature": 47.5},
        ],
        "cycle_count": 412,
        "nominal_capacity_kwh": 60.0,
        "current_capacity_kwh": 45.0,
    }
    report = evaluate(BatterySnapshot.from_mapping(log))
    text = format_console_report(log, report)

    assert console_report_dict(log, report) == {
        "vehicle_id": "EV-12345",
        "timestamp": "2025-10-04T10:30:00.000000Z",
        "battery_soh": 75.0,
        "cycle_count": 412,
        **{k: v for k, v in report.as_dict().items() if k != "battery_soh"},
    }
    summary = text.index("Input summary")
    body = text.index("\nReport\n")
    details = text.index("Detailed diagnostics")
    assert summary < body < details
    assert json.dumps(console_report_dict(log, report), indent=2, ensure_ascii=False) in text
    for fragment in (
        "EV-12345",
        "2025-10-04T10:30:00.000000Z",
        "Cells:             2",
        "Cycle count:       412",
        "Nominal capacity:  60.0 kWh",
        "Current capacity:  45.0 kWh",
        "Voltage spread:    60.000 mV (lowest: cell 0, highest: cell 1)",
        "Temperature max:   47.50 °C",
        "Temperature avg:   41.35 °C",
        IMBALANCE,
        OVERHEATING,
        LOW_SOH,
        "value 47.50 °C (threshold 45.00 °C)",
        "value 75.00 % (threshold 80.00 %)",
    ):
        assert fragment in text, fragment
    assert "\\u00b0" not in text
    assert text.endswith("\n")


def test_format_console_report_without_anomalies() -> None:
    log = {
        "vehicle_id": "EV-1",
        "timestamp": "2025-10-04T10:30:00Z",
        "cells": [{"id": 0, "voltage": 4.0, "temperature": 30.0}],
        "cycle_count": 1,
        "nominal_capacity_kwh": 60.0,
        "current_capacity_kwh": 60.0,
    }
    text = format_console_report(log, evaluate(BatterySnapshot.from_mapping(log)))
    assert "Anomalies:         none" in text


# --------------------------------------------------------------------------- shared sample logs


def _sample_cases() -> list[Any]:
    if not TESTDATA.is_file():
        reason = f"sample logs not found at {TESTDATA} (set BATTERY_TESTDATA to reports.json)"
        return [pytest.param(None, marks=pytest.mark.skip(reason=reason), id="reports.json-missing")]
    cases = json.loads(TESTDATA.read_text(encoding="utf-8"))
    return [pytest.param(case, id=case["name"]) for case in cases]


@pytest.mark.parametrize("case", _sample_cases())
def test_shared_sample_logs(case: dict[str, Any]) -> None:
    log, expected = case["log"], case["expected"]
    snap = BatterySnapshot.from_mapping(log)
    report = evaluate(snap)
    data = report.as_dict()

    assert data["battery_soh"] == expected["battery_soh"]
    assert snap.cycle_count == expected["cycle_count"]
    assert data["anomalies"] == expected["anomalies"]
    assert data["diagnostics"] == expected["diagnostics"]
    assert [d["message"] for d in data["anomaly_details"]] == expected["anomalies"]
    # The order in which the cells arrive does not matter.
    assert evaluate(BatterySnapshot.from_mapping({**log, "cells": list(reversed(log["cells"]))})) == report


# --------------------------------------------------------------------------- framework-free


FORBIDDEN = {"django", "rest_framework", "celery"}


def test_health_package_imports_no_framework_at_runtime() -> None:
    code = (
        "import sys; import reports.health; "
        f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {sorted(FORBIDDEN)!r}); "
        "assert not bad, bad"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr


def test_health_package_source_names_no_framework() -> None:
    sources = sorted(HEALTH_PACKAGE.rglob("*.py"))
    assert sources
    offenders = []
    for source in sources:
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"), filename=str(source))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            offenders += [f"{source.name}: {name}" for name in names if name.split(".")[0] in FORBIDDEN]
    assert not offenders
