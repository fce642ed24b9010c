"""Battery profiles: nmc is exactly the report rules of section 2; every figure has a source."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

from analytics.domain.profiles import (
    DEFAULT_PROFILE,
    LFP,
    NMC,
    PROFILES,
    RULES_VERSION,
    BatteryProfile,
    UnknownProfileError,
    profile_get,
)
from reports.health import rules

REPO_ROOT = Path(__file__).resolve().parents[2]
THRESHOLD_FIELDS = [
    f.name for f in dataclasses.fields(BatteryProfile) if f.name not in {"name", "description", "sources"}
]


def test_nmc_is_exactly_the_section_2_rules() -> None:
    assert NMC.voltage_imbalance_threshold_mv == rules.VOLTAGE_IMBALANCE_THRESHOLD_MV == 50.0
    assert NMC.overheat_threshold_c == rules.OVERHEAT_THRESHOLD_C == 45.0
    assert NMC.low_soh_threshold_pct == rules.LOW_SOH_THRESHOLD_PCT == 80.0


def test_nmc_is_the_default() -> None:
    assert DEFAULT_PROFILE is NMC


@pytest.mark.parametrize(("name", "profile"), [("nmc", NMC), ("lfp", LFP)])
def test_profile_get_known(name: str, profile: BatteryProfile) -> None:
    assert profile_get(name) is profile
    assert PROFILES[name] is profile


@pytest.mark.parametrize("name", ["NMC", "", "lto", "nmc "])
def test_profile_get_unknown_raises_typed_error(name: str) -> None:
    with pytest.raises(UnknownProfileError) as info:
        profile_get(name)
    assert info.value.name == name
    assert isinstance(info.value, LookupError)
    assert "lfp, nmc" in str(info.value)


def test_profiles_mapping_is_read_only() -> None:
    with pytest.raises(TypeError):
        PROFILES["x"] = NMC  # type: ignore[index]
    assert sorted(PROFILES) == ["lfp", "nmc"]


@pytest.mark.parametrize("profile", [NMC, LFP], ids=["nmc", "lfp"])
def test_every_threshold_has_a_source(profile: BatteryProfile) -> None:
    assert sorted(profile.sources) == sorted(THRESHOLD_FIELDS)
    assert all(len(text) > 10 for text in profile.sources.values())


@pytest.mark.parametrize("profile", [NMC, LFP], ids=["nmc", "lfp"])
def test_warn_below_alert(profile: BatteryProfile) -> None:
    assert profile.cell_warn_deviation_mv < profile.cell_alert_deviation_mv
    assert profile.cell_warn_drift_mv_per_30d < profile.cell_alert_drift_mv_per_30d
    assert profile.cell_warn_temperature_excess_c < profile.cell_alert_temperature_excess_c
    assert profile.cell_voltage_min_v < profile.cell_voltage_max_v


def test_lfp_figures() -> None:
    assert (LFP.cell_voltage_min_v, LFP.cell_voltage_max_v) == (2.5, 3.65)
    assert (NMC.cell_voltage_min_v, NMC.cell_voltage_max_v) == (2.5, 4.2)
    assert LFP.voltage_imbalance_threshold_mv == 30.0
    assert LFP.cell_warn_deviation_mv < NMC.cell_warn_deviation_mv


def test_profiles_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        NMC.overheat_threshold_c = 50.0  # type: ignore[misc]


def test_rules_version_is_a_version_string() -> None:
    assert RULES_VERSION == "2026.11.1"


def test_domain_imports_no_framework() -> None:
    code = (
        "import sys, analytics.domain.profiles, analytics.domain.quality, analytics.domain.trend, "
        "analytics.domain.cells, analytics.domain.scorecard, simulator.truth; "
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in {'django', 'rest_framework', 'celery'}); "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
