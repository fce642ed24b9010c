"""Data-quality flags of one diagnostic log (API contract section 6, ``data_quality``).

A flag says that a log's figures are doubtful, not that the battery is unhealthy. The flags, in the
order in which :func:`data_quality_flags` lists them:

* ``late_upload`` — the log was received strictly more than 24 h after its ``timestamp``
  (``received_at - timestamp > 24 h``; exactly 24 h is on time). Late logs are valid but arrive after
  reports and alerts for later logs were computed.
* ``capacity_above_nominal`` — ``current_capacity_kwh > nominal_capacity_kwh``, compared as
  ``round(current / nominal * 100, 6) > 100`` so that float noise never flips it (equal is not above).
  A BMS estimate above nominal is a calibration artefact; the report caps SoH at 100 %.
* ``cell_out_of_profile_range`` — some cell voltage is strictly outside the profile's rated window
  ``[cell_voltage_min_v, cell_voltage_max_v]`` (nmc 2.5-4.2 V, lfp 2.5-3.65 V), voltages rounded to
  6 decimals; the limits themselves are in range.
* ``suspect_sensor`` — one reading is so far from the rest of the pack that a sensor fault is likelier
  than a real cell. For the voltages and, separately, the temperatures of one log (at least
  :data:`SUSPECT_MIN_CELLS` cells), with ``m`` the median, ``MAD`` the median absolute deviation and
  ``sigma = 1.4826 * MAD`` (a robust standard deviation), a reading ``x`` is suspect when

      ``|x - m| > max(SUSPECT_K * sigma, floor)``

  with ``SUSPECT_K = 10`` and ``floor`` the profile's ``suspect_voltage_floor_mv`` (nmc 500 mV,
  lfp 300 mV) or ``suspect_temperature_floor_c`` (25 °C). ``k = 10`` puts the limit far beyond any
  Gaussian spread (a ``10 sigma`` reading has probability below 1e-22); the floor keeps a perfectly uniform
  pack (``MAD = 0``) from flagging an honest weak or hot cell: those sit tens of mV or a few °C off,
  while broken sense wires and thermistors read at the rails (0 V, -40 °C, 125 °C).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from statistics import median

from common import vocabulary

from .profiles import DEFAULT_PROFILE, BatteryProfile

__all__ = [
    "CAPACITY_ABOVE_NOMINAL",
    "CELL_OUT_OF_PROFILE_RANGE",
    "FLAG_ORDER",
    "LATE_UPLOAD",
    "LATE_UPLOAD_AFTER",
    "MAD_TO_SIGMA",
    "SUSPECT_K",
    "SUSPECT_MIN_CELLS",
    "SUSPECT_SENSOR",
    "data_quality_flags",
    "suspect_readings",
]

# The flags are the vocabulary's (common.vocabulary.DATA_QUALITY_FLAGS).
LATE_UPLOAD = vocabulary.LATE_UPLOAD.code
CAPACITY_ABOVE_NOMINAL = vocabulary.CAPACITY_ABOVE_NOMINAL.code
CELL_OUT_OF_PROFILE_RANGE = vocabulary.CELL_OUT_OF_PROFILE_RANGE.code
SUSPECT_SENSOR = vocabulary.SUSPECT_SENSOR.code
#: The order in which flags are listed.
FLAG_ORDER: tuple[str, ...] = vocabulary.codes(vocabulary.DATA_QUALITY_FLAGS)

#: A log received strictly later than this after its timestamp is a late upload.
LATE_UPLOAD_AFTER = timedelta(hours=24)
#: Robust z limit of ``suspect_sensor``.
SUSPECT_K = 10.0
#: ``sigma ≈ 1.4826 * MAD`` for normally distributed data.
MAD_TO_SIGMA = 1.4826
#: Fewer cells than this say nothing about which one is off.
SUSPECT_MIN_CELLS = 3

_DECIMALS = 6


def suspect_readings(values: Sequence[float], *, floor: float, k: float = SUSPECT_K) -> tuple[int, ...]:
    """Positions in ``values`` of the readings with ``|x - median| > max(k * 1.4826 * MAD, floor)``.

    ``floor`` is in the unit of ``values``. Differences are rounded to 6 decimals before comparing.
    Fewer than :data:`SUSPECT_MIN_CELLS` values give ``()``.
    """
    if len(values) < SUSPECT_MIN_CELLS:
        return ()
    center = median(values)
    distances = [abs(x - center) for x in values]
    limit = max(k * MAD_TO_SIGMA * median(distances), floor)
    return tuple(i for i, d in enumerate(distances) if round(d, _DECIMALS) > round(limit, _DECIMALS))


def data_quality_flags(
    *,
    timestamp: datetime,
    received_at: datetime | None,
    voltages: Sequence[float],
    temperatures: Sequence[float],
    nominal_capacity_kwh: float,
    current_capacity_kwh: float,
    profile: BatteryProfile = DEFAULT_PROFILE,
) -> list[str]:
    """The data-quality flags of one log, in :data:`FLAG_ORDER`; ``[]`` when clean.

    ``timestamp`` and ``received_at`` are aware datetimes (``received_at`` None: not known, never late);
    ``voltages`` in V and ``temperatures`` in °C, one per cell; capacities in kWh
    (``nominal_capacity_kwh > 0``). Each flag is defined in the module docstring.
    """
    flags: list[str] = []
    if received_at is not None and received_at - timestamp > LATE_UPLOAD_AFTER:
        flags.append(LATE_UPLOAD)
    if round(current_capacity_kwh / nominal_capacity_kwh * 100, _DECIMALS) > 100:
        flags.append(CAPACITY_ABOVE_NOMINAL)
    low, high = profile.cell_voltage_min_v, profile.cell_voltage_max_v
    if any(not (low <= round(v, _DECIMALS) <= high) for v in voltages):
        flags.append(CELL_OUT_OF_PROFILE_RANGE)
    if suspect_readings(voltages, floor=profile.suspect_voltage_floor_mv / 1000) or suspect_readings(
        temperatures, floor=profile.suspect_temperature_floor_c
    ):
        flags.append(SUSPECT_SENSOR)
    return flags
