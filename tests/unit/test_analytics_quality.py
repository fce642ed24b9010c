"""Data-quality flags: each flag at its boundary, per profile, and in the documented order."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from analytics.domain.profiles import LFP, NMC, BatteryProfile
from analytics.domain.quality import FLAG_ORDER, data_quality_flags, suspect_readings

AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
PACK = [3.70, 3.71, 3.70, 3.69, 3.70, 3.71, 3.70, 3.69, 3.70, 3.70]
TEMPS = [30.0, 30.5, 31.0, 29.5, 30.0, 30.2, 30.1, 29.9, 30.0, 30.3]


def flags(
    *,
    received_at: datetime | None = AT,
    voltages: Sequence[float] = PACK,
    temperatures: Sequence[float] = TEMPS,
    nominal: float = 60.0,
    current: float = 54.0,
    profile: BatteryProfile = NMC,
) -> list[str]:
    return data_quality_flags(
        timestamp=AT,
        received_at=received_at,
        voltages=voltages,
        temperatures=temperatures,
        nominal_capacity_kwh=nominal,
        current_capacity_kwh=current,
        profile=profile,
    )


def test_clean_log_has_no_flags() -> None:
    assert flags() == []


@pytest.mark.parametrize(
    ("delay", "expected"),
    [
        pytest.param(timedelta(hours=24), [], id="exactly-24h-on-time"),
        pytest.param(timedelta(hours=24, microseconds=1), ["late_upload"], id="24h-plus-1us-late"),
        pytest.param(timedelta(days=3), ["late_upload"], id="3-days-late"),
        pytest.param(timedelta(minutes=-4), [], id="clock-ahead"),
    ],
)
def test_late_upload_boundary(delay: timedelta, expected: list[str]) -> None:
    assert flags(received_at=AT + delay) == expected


def test_received_at_unknown_is_never_late() -> None:
    assert flags(received_at=None) == []


@pytest.mark.parametrize(
    ("nominal", "current", "expected"),
    [
        pytest.param(60.0, 60.0, [], id="equal-is-not-above"),
        pytest.param(40.2, 40.2, [], id="equal-odd-float"),
        pytest.param(60.0, 60.01, ["capacity_above_nominal"], id="10-wh-above"),
        pytest.param(60.0, 72.0, ["capacity_above_nominal"], id="120-percent"),
    ],
)
def test_capacity_above_nominal_boundary(nominal: float, current: float, expected: list[str]) -> None:
    assert flags(nominal=nominal, current=current) == expected


@pytest.mark.parametrize(
    ("profile", "cell", "expected"),
    [
        pytest.param(NMC, 4.2, [], id="nmc-4.2-in"),
        pytest.param(NMC, 4.201, ["cell_out_of_profile_range"], id="nmc-4.201-out"),
        pytest.param(NMC, 2.5, [], id="nmc-2.5-in"),
        pytest.param(NMC, 2.499, ["cell_out_of_profile_range"], id="nmc-2.499-out"),
        pytest.param(LFP, 3.65, [], id="lfp-3.65-in"),
        pytest.param(LFP, 3.651, ["cell_out_of_profile_range"], id="lfp-3.651-out"),
    ],
)
def test_cell_out_of_profile_range_boundary(profile: BatteryProfile, cell: float, expected: list[str]) -> None:
    pack = [cell] * 10  # a uniform pack: nothing is a suspect reading
    assert flags(voltages=pack, profile=profile) == expected


def test_a_healthy_nmc_pack_is_out_of_the_lfp_range() -> None:
    assert flags(voltages=[3.9] * 10, profile=NMC) == []
    assert flags(voltages=[3.9] * 10, profile=LFP) == ["cell_out_of_profile_range"]


@pytest.mark.parametrize(
    ("odd", "expected"),
    [
        pytest.param(3.20, [], id="500mV-below-median-is-the-floor"),
        pytest.param(3.199, ["suspect_sensor"], id="501mV-below"),
        pytest.param(4.20, [], id="500mV-above"),
        pytest.param(3.60, [], id="weak-cell-100mV-is-real"),
    ],
)
def test_suspect_voltage_floor_nmc(odd: float, expected: list[str]) -> None:
    assert flags(voltages=[3.70] * 10 + [odd]) == expected


def test_suspect_voltage_floor_lfp_is_300mv() -> None:
    assert flags(voltages=[3.30] * 10 + [3.00], profile=LFP) == []
    assert flags(voltages=[3.30] * 10 + [2.999], profile=LFP) == ["suspect_sensor"]


def test_suspect_uses_k_mad_when_the_pack_is_spread() -> None:
    # Eight values, median 3.725 V, MAD 0.075 V: the limit is 10 x 1.4826 x 0.075 = 1.11195 V, above the floor.
    spread = [3.60, 3.65, 3.65, 3.70, 3.75, 3.75, 3.80]
    assert suspect_readings([*spread, 3.725 + 1.11], floor=0.5) == ()
    assert suspect_readings([*spread, 3.725 + 1.12], floor=0.5) == (7,)
    # The same 0.6 V outlier in a uniform pack is beyond the floor.
    assert suspect_readings([3.7] * 7 + [4.3], floor=0.5) == (7,)


@pytest.mark.parametrize(
    ("odd", "expected"),
    [
        pytest.param(55.0, [], id="25C-above-is-the-floor"),
        pytest.param(55.01, ["suspect_sensor"], id="25.01C-above"),
        pytest.param(-40.0, ["suspect_sensor"], id="thermistor-at-the-rail"),
        pytest.param(42.0, [], id="hot-cell-is-real"),
    ],
)
def test_suspect_temperature(odd: float, expected: list[str]) -> None:
    assert flags(temperatures=[30.0] * 10 + [odd], voltages=[3.7] * 11) == expected


def test_suspect_needs_three_cells() -> None:
    assert suspect_readings([3.7, 0.0], floor=0.5) == ()
    assert suspect_readings([3.7, 3.7, 0.0], floor=0.5) == (2,)


def test_all_flags_in_order() -> None:
    result = flags(
        received_at=AT + timedelta(days=2), voltages=[3.7] * 10 + [0.0], nominal=60.0, current=61.0, profile=NMC
    )
    assert (
        result
        == list(FLAG_ORDER)
        == [
            "late_upload",
            "capacity_above_nominal",
            "cell_out_of_profile_range",
            "suspect_sensor",
        ]
    )
