"""Battery profiles: every threshold of the analytics, per chemistry, with its source.

A report, a health trend and a cell ranking are computed under one profile, and every report carries the
profile's name and :data:`RULES_VERSION` so that an old report stays explainable after a threshold changes
(API contract section 6, "Profiles").

The name and the three report thresholds of each profile are the vocabulary's (``common.vocabulary.PROFILES``,
which the API serves); the rest are here. ``nmc`` is the default and carries exactly the thresholds of the
report rules of section 2
(``reports/health/rules.py``): imbalance above 50 mV (compared in mV rounded to 3 decimals), overheating
above 45 °C, low SoH below 80 % (SoH rounded to 6 decimals). ``tests/unit/test_analytics_profiles.py``
pins that equality, so the two cannot drift apart silently.

Units: volts (V), millivolts (mV), degrees Celsius (°C), percent of nominal capacity (%), days (d).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from common import vocabulary

__all__ = [
    "DEFAULT_PROFILE",
    "LFP",
    "NMC",
    "PROFILES",
    "RULES_VERSION",
    "BatteryProfile",
    "UnknownProfileError",
    "profile_get",
]

#: Version of the analytics rules and thresholds; bump it whenever a threshold or a definition changes.
RULES_VERSION = "2026.11.1"


@dataclass(frozen=True, slots=True)
class BatteryProfile:
    """The thresholds of one battery chemistry.

    Report rules (contract section 2, per profile):

    * ``voltage_imbalance_threshold_mv`` — a pack is imbalanced when ``max - min`` cell voltage, in mV
      rounded to 3 decimals, is strictly above this;
    * ``overheat_threshold_c`` — a cell overheats when its temperature is strictly above this (°C);
    * ``low_soh_threshold_pct`` — end of life: SoH (rounded to 6 decimals) strictly below this is low (%);
      it is also the default ``threshold_soh`` of the health forecast.

    Data quality (see :mod:`analytics.domain.quality`):

    * ``cell_voltage_min_v`` / ``cell_voltage_max_v`` — the cell's rated operating window (V); a reading
      strictly outside it is ``cell_out_of_profile_range``;
    * ``suspect_voltage_floor_mv`` / ``suspect_temperature_floor_c`` — the smallest distance from the pack's
      median that can make a reading ``suspect_sensor``.

    Cell ranking (see :mod:`analytics.domain.cells`), each compared with ``>=`` on the absolute value:

    * ``cell_warn_deviation_mv`` / ``cell_alert_deviation_mv`` — median deviation from the pack's median
      voltage (mV);
    * ``cell_warn_drift_mv_per_30d`` / ``cell_alert_drift_mv_per_30d`` — trend of that deviation (mV/30 d);
    * ``cell_warn_temperature_excess_c`` / ``cell_alert_temperature_excess_c`` — median excess over the
      pack's median temperature (°C; only a positive excess counts).

    ``sources`` maps each field name to where its figure comes from.
    """

    name: str
    description: str
    voltage_imbalance_threshold_mv: float
    overheat_threshold_c: float
    low_soh_threshold_pct: float
    cell_voltage_min_v: float
    cell_voltage_max_v: float
    suspect_voltage_floor_mv: float
    suspect_temperature_floor_c: float
    cell_warn_deviation_mv: float
    cell_alert_deviation_mv: float
    cell_warn_drift_mv_per_30d: float
    cell_alert_drift_mv_per_30d: float
    cell_warn_temperature_excess_c: float
    cell_alert_temperature_excess_c: float
    sources: Mapping[str, str]


class UnknownProfileError(LookupError):
    """Raised by :func:`profile_get` for a name that is not in :data:`PROFILES`; ``name`` is the name asked."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"unknown battery profile {name!r}; known profiles: {', '.join(sorted(_BY_NAME))}")


_EOL_SOURCE = (
    "end of life at 80 % of rated capacity: the convention of IEC 62660-1 cycle-life tests, of the USABC "
    "EV battery test manual, and of cell datasheets that state cycle life 'to 80 % capacity'"
)
_OVERHEAT_SOURCE = (
    "45 °C: the upper charging temperature of typical Li-ion cell datasheets (0-45 °C charge); contract section 2"
)

NMC = BatteryProfile(
    name=vocabulary.NMC.code,
    description="Lithium nickel-manganese-cobalt oxide / graphite (most passenger EVs); the contract's default.",
    voltage_imbalance_threshold_mv=vocabulary.NMC.voltage_imbalance_threshold_mv,
    overheat_threshold_c=vocabulary.NMC.overheat_threshold_c,
    low_soh_threshold_pct=vocabulary.NMC.low_soh_threshold_pct,
    cell_voltage_min_v=2.5,
    cell_voltage_max_v=4.2,
    suspect_voltage_floor_mv=500.0,
    suspect_temperature_floor_c=25.0,
    cell_warn_deviation_mv=15.0,
    cell_alert_deviation_mv=40.0,
    cell_warn_drift_mv_per_30d=5.0,
    cell_alert_drift_mv_per_30d=15.0,
    cell_warn_temperature_excess_c=4.0,
    cell_alert_temperature_excess_c=8.0,
    sources=MappingProxyType(
        {
            "voltage_imbalance_threshold_mv": "contract section 2 (reports/health/rules.py): spread > 50 mV",
            "overheat_threshold_c": _OVERHEAT_SOURCE,
            "low_soh_threshold_pct": "contract section 2: SoH < 80 %; " + _EOL_SOURCE,
            "cell_voltage_min_v": "NMC cell datasheets (e.g. Samsung SDI INR21700-50E, LG INR18650-MJ1): "
            "discharge cut-off 2.5 V",
            "cell_voltage_max_v": "same datasheets: charge voltage 4.2 V",
            "suspect_voltage_floor_mv": "engineering choice: 0.5 V from the pack median is a quarter of the "
            "2.5-4.2 V window; series cells share the pack's current, so a live cell that far off is rarer "
            "than a broken sense wire",
            "suspect_temperature_floor_c": "engineering choice: 25 °C from the pack median, beyond the hot cells "
            "that cooling faults produce (typically < 15 °C excess); thermistor faults read at the rails",
            "cell_warn_deviation_mv": "engineering choice: 15 mV is about 6 standard deviations of the "
            "cell-to-cell spread of a new pack (a few mV)",
            "cell_alert_deviation_mv": "engineering choice: 40 mV, close to the 50 mV pack imbalance of section 2",
            "cell_warn_drift_mv_per_30d": "engineering choice: 5 mV per 30 days reaches the warn deviation "
            "within a quarter",
            "cell_alert_drift_mv_per_30d": "engineering choice: 15 mV per 30 days reaches the imbalance "
            "threshold within a quarter",
            "cell_warn_temperature_excess_c": "engineering choice: 4 °C above the pack median (liquid-cooled "
            "packs keep cells within a few °C)",
            "cell_alert_temperature_excess_c": "engineering choice: 8 °C above the pack median; ageing rate "
            "roughly doubles per 10 °C (Arrhenius)",
        }
    ),
)

LFP = BatteryProfile(
    name=vocabulary.LFP.code,
    description="Lithium iron phosphate / graphite: flat voltage plateau (about 3.2-3.35 V over most of the "
    "state of charge), so the same state-of-charge mismatch shows as fewer millivolts.",
    voltage_imbalance_threshold_mv=vocabulary.LFP.voltage_imbalance_threshold_mv,
    overheat_threshold_c=vocabulary.LFP.overheat_threshold_c,
    low_soh_threshold_pct=vocabulary.LFP.low_soh_threshold_pct,
    cell_voltage_min_v=2.5,
    cell_voltage_max_v=3.65,
    suspect_voltage_floor_mv=300.0,
    suspect_temperature_floor_c=25.0,
    cell_warn_deviation_mv=10.0,
    cell_alert_deviation_mv=25.0,
    cell_warn_drift_mv_per_30d=5.0,
    cell_alert_drift_mv_per_30d=10.0,
    cell_warn_temperature_excess_c=4.0,
    cell_alert_temperature_excess_c=8.0,
    sources=MappingProxyType(
        {
            "voltage_imbalance_threshold_mv": "engineering choice: the LFP plateau is several times flatter "
            "than NMC's between 20 and 80 % state of charge, so 30 mV on LFP means a larger mismatch than "
            "50 mV on NMC",
            "overheat_threshold_c": _OVERHEAT_SOURCE + "; kept equal to nmc although LFP datasheets often allow "
            "55 °C, to stay conservative",
            "low_soh_threshold_pct": _EOL_SOURCE + " (LFP datasheets, e.g. EVE LF280K, state cycle life to 80 %)",
            "cell_voltage_min_v": "LFP cell datasheets (e.g. EVE LF280K, CATL 280 Ah prismatic): discharge "
            "cut-off 2.5 V",
            "cell_voltage_max_v": "same datasheets: charge cut-off 3.65 V",
            "suspect_voltage_floor_mv": "engineering choice: 0.3 V, about a quarter of the 2.5-3.65 V window",
            "suspect_temperature_floor_c": "same as nmc",
            "cell_warn_deviation_mv": "engineering choice: two thirds of nmc's 15 mV for the flatter curve",
            "cell_alert_deviation_mv": "engineering choice: 25 mV, close to the 30 mV lfp pack imbalance",
            "cell_warn_drift_mv_per_30d": "same as nmc: the noise of a 30-day slope comes from the 1 mV "
            "resolution of the readings and the number of logs, not from the chemistry (3 mV per 30 days flagged "
            "healthy cells on the simulator's tuning fleets)",
            "cell_alert_drift_mv_per_30d": "engineering choice: scaled from nmc like the deviation",
            "cell_warn_temperature_excess_c": "same as nmc (thermal behaviour does not depend on the cathode)",
            "cell_alert_temperature_excess_c": "same as nmc",
        }
    ),
)

_BY_NAME: dict[str, BatteryProfile] = {profile.name: profile for profile in (NMC, LFP)}

#: Every known profile by name (read-only).
PROFILES: Mapping[str, BatteryProfile] = MappingProxyType(_BY_NAME)
#: The profile of a vehicle that has none set.
DEFAULT_PROFILE: BatteryProfile = _BY_NAME[vocabulary.DEFAULT_PROFILE.code]


def profile_get(name: str) -> BatteryProfile:
    """The profile called ``name`` (case-sensitive: ``"nmc"``, ``"lfp"``).

    Raises :class:`UnknownProfileError` (a :class:`LookupError`) for any other name.
    """
    try:
        return _BY_NAME[name]
    except KeyError:
        raise UnknownProfileError(name) from None
