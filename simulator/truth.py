"""A fleet simulator that knows the truth: every ageing law, fault and event it injects is recorded.

Pure and deterministic: NumPy only (no Django), and every draw comes from a generator seeded by
``(seed, vehicle index, …)``, so the same seed gives the same fleet on every run and machine, and a smaller
fleet is a prefix of a larger one. It exists to measure the analytics (``analytics.domain.scorecard``)
against facts that real telemetry never states.

The ageing model (per vehicle, on a daily grid; SoH in % of nominal capacity)::

    SoH_true(d) = 100 - Q_cal(d) - Q_cyc(d) - Q_knee(d) + replacement steps

* calendar fade grows with the square root of Arrhenius-weighted time (the sqrt(t) calendar law and its
  Arrhenius temperature factor, as in Naumann et al., "Analysis and modeling of calendar aging of a
  commercial LiFePO4/graphite cell", J. Energy Storage 2018; Schmalstieg et al., "A holistic aging
  model for Li(NiMnCo)O2 based 18650 lithium-ion batteries", J. Power Sources 2014, fit t^0.75 with an
  Arrhenius factor for NMC — the simulator keeps 0.5 for both chemistries)::

      Q_cal(d) = k_cal * sqrt(tau(d)),   tau(d) = sum_{days ≤ d} exp(Ea/R * (1/T_ref - 1/T_pack(day)))

  with ``T_ref = 298.15 K`` and the pack's temperature following the vehicle's climate (annual mean and
  seasonal swing, + 5 °C in use);
* cycle fade grows with throughput (full equivalent cycles, FEC) and depth of discharge (DoD)::

      Q_cyc(d) = k_cyc * (DoD / 0.7)^1.3 * FEC(d)^z,   z ∈ [0.85, 1.0]

  (Wang et al., "Cycle-life model for graphite-LiFePO4 cells", J. Power Sources 2011, use a power law of
  throughput; DoD stress as in Naumann et al. 2020 and Schmalstieg et al. 2014);
* rates depend on the chemistry: LFP loses less per cycle and has a lower activation energy than NMC
  (see :data:`CHEMISTRIES`);
* an optional knee (``Q_knee = 5 * ((FEC - FEC_knee) / L)²`` after ``FEC_knee``), starting when the
  knee-free SoH reaches 76-86 %, for a share of the packs (lithium-plating onset);
* a module replacement adds a true step up of 3-8 % (capped at 100 %) on some day.

What the BMS reports: ``SoH_bms = SoH_true + bias + noise`` where ``noise ~ N(0, sigma)``, ``sigma`` in 0.2-0.8 %
per vehicle, with rare wild readings (±5-20 %); ``bias`` is a calibration offset of ±1.5-4 % that a
*recalibration* removes on its day (a step in the reported series that is not wear). Cycle count =
``floor(FEC)``.

Cells: each cell keeps a manufacturing voltage offset (a few mV) and a thermal offset (about 0.6 °C, plus a
gradient of 0-4 °C along the pack from coolant inlet to outlet); a *weak*
cell's voltage drifts down from its onset day at 5-20 mV per 30 days (nmc; lfp 3-12), a *hot* cell runs
5-12 °C above the pack; in 10 % of vehicles one cell's sensor reads at a rail (0 V, -40 °C or 125 °C) in
1-3 logs of the cell window. Faults are injected so that they exist at least 40 days before day
:data:`CELL_WINDOW_END_DAY`, the end of the window in which the scorecard ranks cells.

Logs come out in the API's log shape (section 1 of the contract): ``vehicle_id``, ``timestamp``
(ISO 8601, UTC, ``Z``), ``cells`` (``id``, ``voltage`` V to 3 decimals, ``temperature`` °C to 2 decimals),
``cycle_count``, ``nominal_capacity_kwh``, ``current_capacity_kwh`` (kWh to 2 decimals).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "CELL_WINDOW_END_DAY",
    "CHEMISTRIES",
    "MAX_DAYS",
    "SENSOR_FAULT_KINDS",
    "SENSOR_FAULT_SHARE",
    "SIM_EPOCH",
    "ChemistryAgeing",
    "JumpTruth",
    "VehicleTruth",
    "fleet_truths",
    "vehicle_logs",
    "vehicle_truth",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: Day 0 of vehicle 0's life; each vehicle starts 0-365 days later. Early enough that 25 years of
#: history end before 2026 (so simulated logs are in the past).
SIM_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
#: A history ends when the true SoH falls below 75 % or after this many days (25 years).
MAX_DAYS = 9131
#: The scorecard ranks cells over the 30 days ending here; weak and hot cells exist 40+ days before it.
CELL_WINDOW_END_DAY = 730
_END_SOH = 75.0
_GAS_CONSTANT = 8.314
_T_REF_K = 298.15
_LOG_SKIP_PROBABILITY = 0.15
#: Share of vehicles with a sensor fault in the cell window, and the kinds (0 V, -40 °C, 125 °C readings).
SENSOR_FAULT_SHARE = 0.1
SENSOR_FAULT_KINDS: tuple[str, ...] = ("voltage_open", "thermistor_open", "thermistor_short")
_WILD_READING_PROBABILITY = 0.002


@dataclass(frozen=True, slots=True)
class ChemistryAgeing:
    """Ageing and cell traits of one chemistry (rates drawn uniformly in each ``(low, high)``).

    ``k_cal``: % per sqrt(Arrhenius-weighted day); ``activation_energy_j_mol``: Ea (J/mol);
    ``k_cyc``: % per FEC^z at DoD 0.7; ``knee_share``: share of packs with a knee;
    ``cell_voltage_v``: range of the pack's mean cell voltage at log time (state of charge);
    ``offset_sd_mv``: manufacturing spread of cell voltages; ``weak_drift_mv_per_30d``: weak cells' drift.
    """

    k_cal: tuple[float, float]
    activation_energy_j_mol: float
    k_cyc: tuple[float, float]
    knee_share: float
    cell_voltage_v: tuple[float, float]
    offset_sd_mv: float
    weak_drift_mv_per_30d: tuple[float, float]


CHEMISTRIES: dict[str, ChemistryAgeing] = {
    "nmc": ChemistryAgeing(
        k_cal=(0.08, 0.14),
        activation_energy_j_mol=50_000.0,
        k_cyc=(0.008, 0.016),
        knee_share=0.15,
        cell_voltage_v=(3.60, 4.10),
        offset_sd_mv=2.5,
        weak_drift_mv_per_30d=(5.0, 20.0),
    ),
    "lfp": ChemistryAgeing(
        k_cal=(0.07, 0.12),
        activation_energy_j_mol=40_000.0,
        k_cyc=(0.004, 0.008),
        knee_share=0.08,
        cell_voltage_v=(3.22, 3.34),
        offset_sd_mv=1.5,
        weak_drift_mv_per_30d=(3.0, 12.0),
    ),
}


@dataclass(frozen=True, slots=True)
class JumpTruth:
    """One step in the reported SoH that is not wear.

    ``day``: first day with the new level; ``kind``: ``"recalibration"`` (the BMS drops its calibration
    offset; the true SoH does not move) or ``"replacement"`` (a module replacement; the true SoH steps up);
    ``delta_pct``: the step of the reported SoH (after - before, %).
    """

    day: int
    kind: str
    delta_pct: float


@dataclass(frozen=True, slots=True, eq=False)
class VehicleTruth:
    """Everything the simulator decided about one vehicle.

    Daily arrays (index = day since ``start_at``): ``soh_true`` (%), ``fec`` (full equivalent cycles).
    Per log (days with a log, ascending): ``log_day``, ``log_seconds`` (seconds into that day),
    ``log_cycle_count``, ``log_soh_bms`` (% reported, after bias, noise and wild readings).
    ``crossing_day`` / ``crossing_cycle`` / ``crossing_date``: first day the true SoH is below 80 %
    (None if not within the history); ``day_90``: first day it is at or below 90 % (None if never).
    ``weak_cells``: ``{cell id: (onset day, drift mV/30 d)}``; ``hot_cells``: ``{cell id: excess °C}``;
    ``sensor_faults``: ``{log index: (cell id, kind)}`` with kind ``voltage_open`` (reads 0 V),
    ``thermistor_open`` (-40 °C) or ``thermistor_short`` (125 °C).
    """

    vehicle_id: str
    seed: int
    index: int
    chemistry: str
    start_at: datetime
    cell_count: int
    nominal_capacity_kwh: float
    cycles_per_day: float
    depth_of_discharge: float
    climate_mean_c: float
    noise_sd_pct: float
    knee_fec: float | None
    soh_true: FloatArray
    fec: FloatArray
    log_day: IntArray
    log_seconds: IntArray
    log_cycle_count: IntArray
    log_soh_bms: FloatArray
    wild_log_indices: tuple[int, ...]
    jumps: tuple[JumpTruth, ...]
    crossing_day: int | None
    crossing_cycle: int | None
    crossing_date: date | None
    day_90: int | None
    weak_cells: dict[int, tuple[int, float]]
    hot_cells: dict[int, float]
    sensor_faults: dict[int, tuple[int, str]]

    def log_at(self, i: int) -> datetime:
        """Timestamp of log ``i`` (aware, UTC)."""
        return self.start_at + timedelta(days=int(self.log_day[i]), seconds=int(self.log_seconds[i]))


def _arrhenius(temperature_c: FloatArray, activation_energy: float) -> FloatArray:
    kelvin = temperature_c + 273.15
    result: FloatArray = np.exp(activation_energy / _GAS_CONSTANT * (1.0 / _T_REF_K - 1.0 / kelvin))
    return result


def vehicle_truth(*, seed: int, index: int, lfp_share: float = 0.3, prefix: str = "EV-TRUTH") -> VehicleTruth:
    """Simulate vehicle ``index`` of fleet ``seed`` (chemistry ``lfp`` with probability ``lfp_share``).

    Deterministic in ``(seed, index, lfp_share)``. See the module docstring for the model.
    """
    rng = np.random.default_rng([seed, index, 0])
    chemistry = "lfp" if rng.random() < lfp_share else "nmc"
    chem = CHEMISTRIES[chemistry]
    start_at = SIM_EPOCH + timedelta(days=int(rng.integers(0, 366)))
    cell_count = int(rng.integers(80, 121))
    nominal = float(rng.choice([40.0, 50.0, 60.0, 75.0, 82.0, 100.0]))
    cycles_per_day = float(np.exp(rng.uniform(math.log(0.3), math.log(2.0))))
    dod = float(rng.uniform(0.4, 0.9))
    climate_mean = float(rng.uniform(5.0, 28.0))
    seasonal_swing = float(rng.uniform(4.0, 12.0))
    k_cal = float(rng.uniform(*chem.k_cal))
    k_cyc = float(rng.uniform(*chem.k_cyc))
    exponent = float(rng.uniform(0.85, 1.0))
    noise_sd = float(rng.uniform(0.2, 0.8))
    has_knee = bool(rng.random() < chem.knee_share)
    knee_soh = float(rng.uniform(76.0, 86.0))
    knee_length = float(rng.uniform(300.0, 800.0))
    has_replacement = bool(rng.random() < 0.05)
    recalibrations = int(rng.poisson(0.35))

    days = np.arange(MAX_DAYS, dtype=np.float64)
    phase = rng.uniform(0.0, 365.25)
    pack_c = climate_mean + 5.0 + seasonal_swing * np.sin(2 * np.pi * (days + phase) / 365.25)
    tau = np.cumsum(_arrhenius(pack_c, chem.activation_energy_j_mol))
    daily_cycles = cycles_per_day * rng.gamma(4.0, 0.25, MAX_DAYS)
    fec = np.cumsum(daily_cycles) - daily_cycles[0]
    soh = 100.0 - k_cal * np.sqrt(tau) - k_cyc * (dod / 0.7) ** 1.3 * fec**exponent
    knee_fec: float | None = None
    if has_knee:
        below = np.flatnonzero(soh <= knee_soh)
        if below.size:
            knee_fec = float(fec[below[0]])
            soh = soh - 5.0 * (np.clip(fec - knee_fec, 0.0, None) / knee_length) ** 2
    ending = np.flatnonzero(soh < _END_SOH)
    n_days = int(ending[0]) + 1 if ending.size else MAX_DAYS
    soh, fec, pack_c = soh[:n_days], fec[:n_days], pack_c[:n_days]

    jumps: list[JumpTruth] = []
    bias = np.zeros(n_days)
    if has_replacement and n_days > 400:
        day = int(rng.integers(200, n_days - 100))
        step = float(rng.uniform(3.0, 8.0))
        replaced = np.minimum(soh[day:] + step, 100.0)
        actual = float(replaced[0] - soh[day])
        soh = np.concatenate([soh[:day], replaced])
        jumps.append(JumpTruth(day=day, kind="replacement", delta_pct=actual))
    if recalibrations and n_days > 400:
        recal_days = sorted({int(d) for d in rng.integers(100, n_days - 60, recalibrations)})
        for day in recal_days:
            offset = float(rng.uniform(1.5, 4.0)) * float(rng.choice([-1.0, 1.0]))
            bias[:day] += offset
        # The step on each recalibration day is what the reported series sees: bias before - bias after.
        for day in recal_days:
            jumps.append(JumpTruth(day=day, kind="recalibration", delta_pct=float(bias[day] - bias[day - 1])))
    jumps.sort(key=lambda jump: jump.day)

    logged = rng.random(n_days) >= _LOG_SKIP_PROBABILITY
    logged[0] = True
    log_day = np.flatnonzero(logged).astype(np.int64)
    log_seconds = rng.integers(0, 86_400, log_day.size).astype(np.int64)
    log_fec = fec[log_day] + daily_cycles[log_day] * log_seconds / 86_400
    log_soh = soh[log_day] + bias[log_day] + rng.normal(0.0, noise_sd, log_day.size)
    wild = np.flatnonzero(rng.random(log_day.size) < _WILD_READING_PROBABILITY)
    log_soh[wild] += rng.uniform(5.0, 20.0, wild.size) * rng.choice([-1.0, 1.0], wild.size)
    log_soh = np.clip(log_soh, 1.0, 120.0)

    crossing = np.flatnonzero(soh < 80.0)
    crossing_day = int(crossing[0]) if crossing.size else None
    day_90_hits = np.flatnonzero(soh <= 90.0)

    cell_rng = np.random.default_rng([seed, index, 1])
    weak: dict[int, tuple[int, float]] = {}
    hot: dict[int, float] = {}
    if cell_rng.random() < 0.2:
        cell = int(cell_rng.integers(0, cell_count))
        weak[cell] = (
            int(cell_rng.integers(0, CELL_WINDOW_END_DAY - 40)),
            float(cell_rng.uniform(*chem.weak_drift_mv_per_30d)),
        )
    if cell_rng.random() < 0.15:
        cell = int(cell_rng.integers(0, cell_count))
        hot[cell] = float(cell_rng.uniform(5.0, 12.0))
    # Sensor faults (their own generator, so the draws above do not move): in the cell window, 1-3 logs in
    # which one cell's sense wire or thermistor reads at a rail.
    fault_rng = np.random.default_rng([seed, index, 4])
    faults: dict[int, tuple[int, str]] = {}
    in_window = np.flatnonzero((log_day >= CELL_WINDOW_END_DAY - 30) & (log_day < CELL_WINDOW_END_DAY))
    if fault_rng.random() < SENSOR_FAULT_SHARE and in_window.size:
        cell = int(fault_rng.integers(0, cell_count))
        kind = str(fault_rng.choice(SENSOR_FAULT_KINDS))
        for log_index in fault_rng.choice(
            in_window, size=min(int(fault_rng.integers(1, 4)), in_window.size), replace=False
        ):
            faults[int(log_index)] = (cell, kind)

    return VehicleTruth(
        vehicle_id=f"{prefix}-{seed}-{index:05d}",
        seed=seed,
        index=index,
        chemistry=chemistry,
        start_at=start_at,
        cell_count=cell_count,
        nominal_capacity_kwh=nominal,
        cycles_per_day=cycles_per_day,
        depth_of_discharge=dod,
        climate_mean_c=climate_mean,
        noise_sd_pct=noise_sd,
        knee_fec=knee_fec,
        soh_true=soh,
        fec=fec,
        log_day=log_day,
        log_seconds=log_seconds,
        log_cycle_count=np.floor(log_fec).astype(np.int64),
        log_soh_bms=log_soh,
        wild_log_indices=tuple(int(i) for i in wild),
        jumps=tuple(jumps),
        crossing_day=crossing_day,
        crossing_cycle=int(fec[crossing_day]) if crossing_day is not None else None,
        crossing_date=(start_at + timedelta(days=crossing_day)).date() if crossing_day is not None else None,
        day_90=int(day_90_hits[0]) if day_90_hits.size else None,
        weak_cells=weak,
        hot_cells=hot,
        sensor_faults=faults,
    )


def fleet_truths(*, vehicles: int, seed: int, lfp_share: float = 0.3) -> list[VehicleTruth]:
    """Vehicles ``0 … vehicles - 1`` of fleet ``seed`` (see :func:`vehicle_truth`)."""
    if vehicles < 0:
        raise ValueError("vehicles must be >= 0")
    return [vehicle_truth(seed=seed, index=i, lfp_share=lfp_share) for i in range(vehicles)]


def _format(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def vehicle_logs(truth: VehicleTruth, *, since_day: int = 0, until_day: int | None = None) -> Iterator[dict[str, Any]]:
    """The vehicle's logs on days ``since_day ≤ day < until_day`` (default: to the end), oldest first.

    Each log's cells are drawn from a generator seeded by ``(seed, index, 2, log index)``, so any window
    gives the same cells for the same log. Voltages are clipped to 0-5 V and temperatures to -40-125 °C
    (the contract's validation ranges).
    """
    chem = CHEMISTRIES[truth.chemistry]
    traits = np.random.default_rng([truth.seed, truth.index, 3])
    offsets_mv = traits.normal(0.0, chem.offset_sd_mv, truth.cell_count)
    # Each cell's own thermal offset plus a gradient along the pack (coolant inlet to outlet), 0-4 °C end to end.
    gradient_c = traits.uniform(0.0, 4.0) * (np.arange(truth.cell_count) / max(truth.cell_count - 1, 1) - 0.5)
    thermal_offsets_c = traits.normal(0.0, 0.6, truth.cell_count) + gradient_c
    end = truth.log_day.size if until_day is None else int(np.searchsorted(truth.log_day, until_day))
    begin = int(np.searchsorted(truth.log_day, since_day))
    for i in range(begin, end):
        day = int(truth.log_day[i])
        rng = np.random.default_rng([truth.seed, truth.index, 2, i])
        pack_v = rng.uniform(*chem.cell_voltage_v)
        pack_c = truth.climate_mean_c + rng.uniform(0.0, 12.0)
        voltages_mv = offsets_mv + rng.normal(0.0, 1.5, truth.cell_count)
        temperatures = pack_c + thermal_offsets_c + rng.normal(0.0, 0.5, truth.cell_count)
        for cell, (onset, drift) in truth.weak_cells.items():
            voltages_mv[cell] -= min(max(day - onset, 0) * drift / 30.0, 300.0)
        for cell, excess in truth.hot_cells.items():
            temperatures[cell] += excess
        voltages = np.clip(np.round(pack_v + voltages_mv / 1000.0, 3), 0.0, 5.0)
        temperatures = np.clip(np.round(temperatures, 2), -40.0, 125.0)
        if i in truth.sensor_faults:
            cell, kind = truth.sensor_faults[i]
            if kind == "voltage_open":
                voltages[cell] = 0.0
            else:
                temperatures[cell] = -40.0 if kind == "thermistor_open" else 125.0
        nominal = truth.nominal_capacity_kwh
        yield {
            "vehicle_id": truth.vehicle_id,
            "timestamp": _format(truth.log_at(i)),
            "cells": [
                {"id": c, "voltage": float(voltages[c]), "temperature": float(temperatures[c])}
                for c in range(truth.cell_count)
            ],
            "cycle_count": int(truth.log_cycle_count[i]),
            "nominal_capacity_kwh": nominal,
            "current_capacity_kwh": round(
                min(max(nominal * float(truth.log_soh_bms[i]) / 100.0, 0.0), 1.2 * nominal), 2
            ),
        }
