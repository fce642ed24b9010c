"""Deterministic mock battery telemetry in the exact shape of the API's diagnostic log.

Pure Python (no Django, DRF or Celery), so that the seeding command, the ``battery_report --mock``
command, the HTTP fleet simulator and the tests all share one source of realistic logs.

Every function takes a seed and draws from its own ``random.Random``: the same seed (and the same
``start``) gives the same logs, byte for byte, on every run and every machine.

Units: volts (V), degrees Celsius (°C), kilowatt-hours (kWh); timestamps are ISO 8601 strings in UTC
with a ``Z`` and microseconds (``2025-10-04T10:30:00.000000Z``).
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

PACK_CAPACITIES_KWH: tuple[float, ...] = (40.0, 50.0, 60.0, 75.0, 82.0, 100.0)
"""Nominal capacities of typical EV packs, kWh."""

CELL_COUNT_MIN = 80
CELL_COUNT_MAX = 120
CELL_VOLTAGE_MIN_V = 3.8
CELL_VOLTAGE_MAX_V = 4.2
CELL_TEMPERATURE_MIN_C = 25.0
CELL_TEMPERATURE_MAX_C = 45.0

WEAK_CELL_SHARE = 0.15
"""Share of a simulated fleet whose pack has one weak cell."""
HOT_CELL_SHARE = 0.10
"""Share of a simulated fleet whose pack has one cell that runs hot."""

WEAK_CELL_SAG_BASE_V = 0.010
WEAK_CELL_SAG_PER_100_CYCLES_V = 0.020
"""A weak cell sits 10 mV low when new and loses 20 mV more every 100 cycles (capped below)."""
WEAK_CELL_SAG_MAX_V = 0.300
HOT_CELL_EXCESS_C = (6.0, 15.0)
"""A hot cell runs this many °C above the rest of its pack."""
SOH_FLOOR = 0.50
"""Simulated packs never fall below 50 % state of health."""

MOCK_EPOCH = datetime(2025, 1, 1, tzinfo=UTC)
"""Origin of the timestamps of seeded ``mock_log`` calls, so that they are reproducible and in the past."""
MOCK_SPAN_S = 270 * 24 * 3600


def format_timestamp(moment: datetime) -> str:
    """Render an aware datetime as the API's UTC timestamp: ``YYYY-MM-DDTHH:MM:SS.ffffffZ``."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("timestamp must be timezone-aware (a naive datetime is ambiguous)")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _clip(value: float, low: float, high: float) -> float:
    return min(max(value, low), high)


def _cells(
    rng: random.Random,
    *,
    pack_voltage_v: float,
    pack_temperature_c: float,
    offsets_v: list[float],
    voltage_noise_v: float,
    temperature_spread_c: float,
) -> list[dict[str, Any]]:
    """Cells around a pack's voltage and temperature; per-cell offsets make a pack look like itself."""
    return [
        {
            "id": cell_id,
            "voltage": round(
                _clip(
                    pack_voltage_v + offset + rng.gauss(0.0, voltage_noise_v), CELL_VOLTAGE_MIN_V, CELL_VOLTAGE_MAX_V
                ),
                3,
            ),
            "temperature": round(
                _clip(
                    rng.gauss(pack_temperature_c, temperature_spread_c), CELL_TEMPERATURE_MIN_C, CELL_TEMPERATURE_MAX_C
                ),
                2,
            ),
        }
        for cell_id, offset in enumerate(offsets_v)
    ]


def mock_log(*, seed: int | None = None, vehicle_id: str | None = None, timestamp: datetime | None = None) -> dict:
    """One realistic diagnostic log, as a vehicle would POST it.

    80-120 cells at 3.8-4.2 V and 25-45 °C; sometimes one weak cell about 0.1 V low (8 %) or one hot
    cell at 46-60 °C (6 %); 100-800 cycles; a typical pack capacity; current capacity 80-100 % of
    nominal, lower with more cycles.

    With a ``seed`` and no ``timestamp``, the timestamp is drawn from 2025 (reproducible and in the past);
    without a seed, it is the current time.
    """
    rng = random.Random(seed)
    if timestamp is None:
        if seed is None:
            timestamp = datetime.now(UTC)
        else:
            timestamp = MOCK_EPOCH + timedelta(seconds=rng.randrange(MOCK_SPAN_S), microseconds=rng.randrange(10**6))
    vehicle = vehicle_id if vehicle_id is not None else f"EV-{rng.randint(10000, 99999)}"

    cell_count = rng.randint(CELL_COUNT_MIN, CELL_COUNT_MAX)
    cells = _cells(
        rng,
        pack_voltage_v=rng.uniform(3.85, 4.15),
        pack_temperature_c=rng.uniform(28.0, 38.0),
        offsets_v=[0.0] * cell_count,
        voltage_noise_v=0.006,
        temperature_spread_c=3.0,
    )
    if rng.random() < 0.08:
        weak = cells[rng.randrange(cell_count)]
        weak["voltage"] = round(weak["voltage"] - rng.uniform(0.08, 0.12), 3)
    if rng.random() < 0.06:
        rng.choice(cells)["temperature"] = round(rng.uniform(46.0, 60.0), 2)

    cycle_count = rng.randint(100, 800)
    nominal = rng.choice(PACK_CAPACITIES_KWH)
    fade_pct_per_100_cycles = rng.uniform(1.0, 2.5)
    soh = 1.0 - fade_pct_per_100_cycles * cycle_count / 100 / 100 + rng.gauss(0.0, 0.01)
    return {
        "vehicle_id": vehicle,
        "timestamp": format_timestamp(timestamp),
        "cells": cells,
        "cycle_count": cycle_count,
        "nominal_capacity_kwh": nominal,
        "current_capacity_kwh": round(nominal * _clip(soh, 0.80, 1.0), 2),
    }


@dataclass(frozen=True)
class VehicleProfile:
    """The lasting traits of one simulated vehicle's pack.

    ``fade_pct_per_100_cycles``: capacity lost, in % of nominal, per 100 charge cycles.
    ``weak_cell``: id of a cell whose voltage sags more as the pack ages (an imbalance appears), or None.
    ``hot_cell``: id of a cell that runs 6-15 °C above the others (sometimes above 45 °C), or None.
    ``start_cycle``: cycle count at the first log; ``cycles_per_day``: how hard the vehicle is driven.
    """

    vehicle_id: str
    cell_count: int
    nominal_capacity_kwh: float
    fade_pct_per_100_cycles: float
    weak_cell: int | None
    hot_cell: int | None
    start_cycle: int
    cycles_per_day: float


def _profile(
    rng: random.Random, vehicle_id: str, cell_counts: tuple[int, int] = (CELL_COUNT_MIN, CELL_COUNT_MAX)
) -> VehicleProfile:
    cell_count = rng.randint(*cell_counts)
    weak_cell = rng.randrange(cell_count) if rng.random() < WEAK_CELL_SHARE else None
    hot_cell = rng.randrange(cell_count) if rng.random() < HOT_CELL_SHARE else None
    return VehicleProfile(
        vehicle_id=vehicle_id,
        cell_count=cell_count,
        nominal_capacity_kwh=rng.choice(PACK_CAPACITIES_KWH),
        fade_pct_per_100_cycles=round(rng.uniform(1.0, 3.0), 3),
        weak_cell=weak_cell,
        hot_cell=hot_cell,
        start_cycle=rng.randint(0, 600),
        cycles_per_day=round(rng.uniform(0.5, 1.5), 3),
    )


def fleet_profiles(
    *,
    vehicles: int,
    seed: int,
    prefix: str = "EV-SIM",
    cell_counts: tuple[int, int] = (CELL_COUNT_MIN, CELL_COUNT_MAX),
) -> list[VehicleProfile]:
    """Profiles of a fleet, ids ``{prefix}-00000`` onwards, each pack with ``cell_counts`` (min, max) cells.

    Each vehicle draws from its own seeded generator, so a smaller fleet is a prefix of a larger one.
    """
    if vehicles < 0:
        raise ValueError("vehicles must be >= 0")
    if not 1 <= cell_counts[0] <= cell_counts[1]:
        raise ValueError("cell_counts must be (min, max) with 1 <= min <= max")
    return [_profile(random.Random(f"{seed}:profile:{i}"), f"{prefix}-{i:05d}", cell_counts) for i in range(vehicles)]


def default_start(*, logs: int, interval: timedelta) -> datetime:
    """A start such that ``logs`` logs ``interval`` apart all lie in the past: now - logs x interval, to the second."""
    return (datetime.now(UTC) - logs * interval).replace(microsecond=0)


def iter_vehicle_history(
    profile: VehicleProfile,
    *,
    logs: int,
    seed: int,
    start: datetime | None = None,
    interval: timedelta = timedelta(days=1),
) -> Iterator[dict]:
    """Lazy form of :func:`vehicle_history`."""
    if logs < 0:
        raise ValueError("logs must be >= 0")
    if interval <= timedelta(0):
        raise ValueError("interval must be positive")
    if start is None:
        start = default_start(logs=logs, interval=interval)
    elif start.tzinfo is None or start.utcoffset() is None:
        raise ValueError("start must be timezone-aware")

    rng = random.Random(f"{seed}:history:{profile.vehicle_id}")
    # Manufacturing spread: each cell keeps its own small voltage offset for the pack's whole life.
    offsets_v = [rng.gauss(0.0, 0.004) for _ in range(profile.cell_count)]
    interval_us = interval // timedelta(microseconds=1)
    nominal = profile.nominal_capacity_kwh
    for index in range(logs):
        # Jitter within the first half of each slot keeps timestamps strictly increasing.
        moment = start + index * interval + timedelta(microseconds=rng.randrange(max(1, interval_us // 2)))
        elapsed_days = (moment - start) / timedelta(days=1)
        cycle_count = profile.start_cycle + int(profile.cycles_per_day * elapsed_days)
        pack_temperature_c = rng.uniform(27.0, 38.0)
        cells = _cells(
            rng,
            pack_voltage_v=rng.uniform(3.85, 4.15),
            pack_temperature_c=pack_temperature_c,
            offsets_v=offsets_v,
            voltage_noise_v=0.002,
            temperature_spread_c=1.5,
        )
        if profile.weak_cell is not None:
            sag_v = min(WEAK_CELL_SAG_BASE_V + WEAK_CELL_SAG_PER_100_CYCLES_V * cycle_count / 100, WEAK_CELL_SAG_MAX_V)
            weak = cells[profile.weak_cell]
            weak["voltage"] = round(weak["voltage"] - sag_v, 3)
        if profile.hot_cell is not None:
            cells[profile.hot_cell]["temperature"] = round(pack_temperature_c + rng.uniform(*HOT_CELL_EXCESS_C), 2)
        soh = 1.0 - profile.fade_pct_per_100_cycles * cycle_count / 100 / 100 + rng.gauss(0.0, 0.002)
        yield {
            "vehicle_id": profile.vehicle_id,
            "timestamp": format_timestamp(moment),
            "cells": cells,
            "cycle_count": cycle_count,
            "nominal_capacity_kwh": nominal,
            "current_capacity_kwh": round(nominal * _clip(soh, SOH_FLOOR, 1.0), 2),
        }


def vehicle_history(
    profile: VehicleProfile,
    *,
    logs: int,
    seed: int,
    start: datetime | None = None,
    interval: timedelta = timedelta(days=1),
) -> list[dict]:
    """Successive logs of one vehicle, about ``interval`` apart from ``start`` on.

    Timestamps strictly increase (each is jittered within the first half of its slot); the cycle count
    grows by ``cycles_per_day``; current capacity = nominal x (1 - fade x cycles / 100 / 100) with small
    noise, kept within 50-100 % of nominal; the weak and hot cells behave as the profile says.
    Without ``start``, the history ends before now (see :func:`default_start`); pass ``start`` for
    reproducible timestamps.
    """
    return list(iter_vehicle_history(profile, logs=logs, seed=seed, start=start, interval=interval))


def fleet_logs(
    *,
    vehicles: int,
    logs_per_vehicle: int,
    seed: int,
    prefix: str = "EV-SIM",
    start: datetime | None = None,
    interval: timedelta = timedelta(days=1),
    cell_counts: tuple[int, int] = (CELL_COUNT_MIN, CELL_COUNT_MAX),
) -> Iterator[dict]:
    """Every log of a simulated fleet, in time order as a real fleet's traffic would arrive.

    Lazy: it holds one pending log per vehicle, not the whole fleet's history.
    """
    if logs_per_vehicle < 0:
        raise ValueError("logs_per_vehicle must be >= 0")
    if start is None:
        start = default_start(logs=logs_per_vehicle, interval=interval)
    histories = (
        iter_vehicle_history(profile, logs=logs_per_vehicle, seed=seed, start=start, interval=interval)
        for profile in fleet_profiles(vehicles=vehicles, seed=seed, prefix=prefix, cell_counts=cell_counts)
    )
    # Fixed-width UTC timestamps sort chronologically as strings; ties keep vehicle order.
    yield from heapq.merge(*histories, key=lambda log: log["timestamp"])
