"""Run the analytics over a simulated fleet that knows the truth, and print the scorecard.

Usage (no Django needed)::

    python -m analytics.scorecard_cli --vehicles 300 --seed 1 --seed 2 \\
        --held-out-seed 7001 --held-out-seed 7002 --held-out-lfp-share 0.5

The tuning seeds are the ones the thresholds and the interval's model-discrepancy term were adjusted on;
the held-out seeds (and their different chemistry mix) were not looked at while tuning. Each fleet is
simulated by ``simulator.truth`` and turned into :class:`analytics.domain.scorecard.VehicleCase` here:
SoH from the logs' capacities as the API computes it, cells from the logs' dicts in the API's shape.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta

import numpy as np

from analytics.domain.cells import CellsSnapshot, cells_rank
from analytics.domain.scorecard import MethodSummary, Scorecard, VehicleCase, scorecard_summarize, scorecard_vehicle
from analytics.domain.trend import METHODS, SohPoint, health_trend
from simulator.truth import CELL_WINDOW_END_DAY, VehicleTruth, vehicle_logs, vehicle_truth

CELL_WINDOW_DAYS = 30
FORECAST_FROM_SOH = 90.0
EARLY_FORECAST_FROM_SOH = 95.0


def _parse_timestamp(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _until_true_soh(truth: VehicleTruth, history: tuple[SohPoint, ...], soh: float) -> tuple[SohPoint, ...]:
    """The points up to the day the true SoH first falls to ``soh`` (empty if it never does)."""
    hits = np.flatnonzero(truth.soh_true <= soh)
    if not hits.size:
        return ()
    return history[: int(np.searchsorted(truth.log_day, int(hits[0]), side="right"))]


def vehicle_case(truth: VehicleTruth) -> VehicleCase:
    """The analytics' view of one simulated vehicle next to its true facts."""
    nominal = truth.nominal_capacity_kwh
    # The API's SoH: the log's current capacity (kWh, 2 decimals) over nominal.
    capacity = np.clip(np.round(nominal * truth.log_soh_bms / 100.0, 2), 0.0, 1.2 * nominal)
    history = tuple(
        SohPoint(
            timestamp=truth.log_at(i),
            cycle_count=int(truth.log_cycle_count[i]),
            soh=float(capacity[i]) / nominal * 100.0,
            log_id=f"{truth.vehicle_id}/{i}",
        )
        for i in range(truth.log_day.size)
    )
    forecast_points = _until_true_soh(truth, history, FORECAST_FROM_SOH)
    early_forecast_points = _until_true_soh(truth, history, EARLY_FORECAST_FROM_SOH)
    # A jump shows at the first log on or after its day.
    jumps_at = tuple(
        truth.log_at(min(int(np.searchsorted(truth.log_day, jump.day)), truth.log_day.size - 1)) for jump in truth.jumps
    )
    window: tuple[CellsSnapshot, ...] = ()
    if int(truth.log_day[-1]) >= CELL_WINDOW_END_DAY - 1:
        since = CELL_WINDOW_END_DAY - CELL_WINDOW_DAYS
        first = int(np.searchsorted(truth.log_day, since))
        window = tuple(
            CellsSnapshot.from_log(
                log, timestamp=_parse_timestamp(log["timestamp"]), log_id=f"{truth.vehicle_id}/{first + k}"
            )
            for k, log in enumerate(vehicle_logs(truth, since_day=since, until_day=CELL_WINDOW_END_DAY))
        )
    return VehicleCase(
        vehicle_id=truth.vehicle_id,
        profile=truth.chemistry,
        history=history,
        true_jumps_at=jumps_at,
        forecast_points=forecast_points,
        early_forecast_points=early_forecast_points,
        true_crossing_cycle=truth.crossing_cycle,
        true_crossing_date=truth.crossing_date,
        cell_window=window,
        weak_cells=frozenset(truth.weak_cells) if window else frozenset(),
        hot_cells=frozenset(truth.hot_cells) if window else frozenset(),
        sensor_fault_log_ids=frozenset(f"{truth.vehicle_id}/{i}" for i in truth.sensor_faults)
        if window
        else frozenset(),
    )


def _truths(seeds: Sequence[int], vehicles: int, lfp_share: float) -> Iterator[VehicleTruth]:
    for seed in seeds:
        for index in range(vehicles):
            yield vehicle_truth(seed=seed, index=index, lfp_share=lfp_share)


def fleet_scorecard(seeds: Sequence[int], *, vehicles: int, lfp_share: float) -> Scorecard:
    """Score ``vehicles`` vehicles of each seed (one vehicle in memory at a time)."""
    return scorecard_summarize(scorecard_vehicle(vehicle_case(t)) for t in _truths(seeds, vehicles, lfp_share))


def _fmt(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _target(value: float | None, low: float, high: float = float("inf")) -> str:
    if value is None:
        return "n/a"
    return "meets target" if low <= value <= high else "MISSES target"


def _method_line(summary: MethodSummary, *, targets: bool = True) -> str:
    error = summary.median_abs_error_pct
    error_target = f" ({_target(error, 0.0, 10.0)} <= 10)" if targets else ""
    coverage_target = f" ({_target(summary.coverage, 0.7, 0.9)} 0.70-0.90)" if targets else ""
    return (
        f"  {summary.method:<15} cases {summary.cases} (not ok {summary.not_ok}): "
        f"median |error| {_fmt(error, 2)} % of true cycles{error_target}, "
        f"median signed {_fmt(summary.median_error_pct, 2)} %, p90 |error| {_fmt(summary.p90_abs_error_pct, 2)} %, "
        f"median |date error| {_fmt(summary.median_abs_date_error_days, 0)} d, "
        f"80 % interval coverage {_fmt(summary.coverage)}{coverage_target}, "
        f"p80 |log(estimated / true remaining cycles)| {_fmt(summary.p80_abs_log_remaining_error)}"
    )


def format_scorecard(title: str, card: Scorecard) -> str:
    """The printed block of one fleet's figures, with each target."""
    lines = [
        f"== {title}",
        f"vehicles: {card.vehicles} ({', '.join(f'{k} {v}' for k, v in sorted(card.profiles.items()))})",
        f"weak cells: precision {_fmt(card.weak_precision)} recall {_fmt(card.weak_recall)} "
        f"(injected {card.weak_injected}; target >= 0.9: {_target(card.weak_precision, 0.9)}, "
        f"{_target(card.weak_recall, 0.9)})",
        f"hot cells:  precision {_fmt(card.hot_precision)} recall {_fmt(card.hot_recall)} "
        f"(injected {card.hot_injected}; target >= 0.9: {_target(card.hot_precision, 0.9)}, "
        f"{_target(card.hot_recall, 0.9)})",
        f"jumps:      precision {_fmt(card.jump_precision)} recall {_fmt(card.jump_recall)} "
        f"(injected {card.jumps_injected}; target >= 0.9: {_target(card.jump_precision, 0.9)}, "
        f"{_target(card.jump_recall, 0.9)})",
        f"suspect_sensor flag (logs of the cell window): precision {_fmt(card.suspect_precision)} "
        f"recall {_fmt(card.suspect_recall)} (faulty logs {card.suspect_injected}; no target)",
        f"jump-free vehicles with no jump reported: {_fmt(card.jump_free_clean_share)} of "
        f"{card.jump_free_vehicles} (target >= 0.95: {_target(card.jump_free_clean_share, 0.95)})",
        f"forecast of the 80 % crossing from logs until the true SoH first reaches {FORECAST_FROM_SOH:g} %:",
    ]
    lines += [_method_line(summary) for summary in card.forecasts]
    lines.append(
        f"for information, the same from logs until the true SoH first reaches {EARLY_FORECAST_FROM_SOH:g} % "
        "(a longer extrapolation; no target):"
    )
    lines += [_method_line(summary, targets=False) for summary in card.early_forecasts]
    return "\n".join(lines)


def _timed_ms(run: Callable[[], object], repeat: int) -> tuple[float, float, float]:
    """(min wall, median wall, median CPU) time of ``run`` over ``repeat`` calls, in ms. CPU time (this
    process) is the figure that other processes on a shared machine disturb least."""
    walls, cpus = [], []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        run()
        walls.append((time.perf_counter() - wall) * 1000)
        cpus.append((time.process_time() - cpu) * 1000)
    return min(walls), statistics.median(walls), statistics.median(cpus)


def timing_report(*, repeat: int = 20) -> str:
    """Wall time of ``health_trend`` on 5,000 points (a simulated vehicle with jumps) and of ``cells_rank`` on
    30 days of hourly logs of a 120-cell pack."""
    truth = next(
        t for t in (vehicle_truth(seed=1, index=i) for i in range(300)) if t.log_day.size >= 5000 and len(t.jumps) >= 1
    )
    points = vehicle_case(truth).history[:5000]
    lines = [f"timing ({repeat} calls each; shared 2-core machine, load average {os.getloadavg()[0]:.1f}):"]
    for method in METHODS:
        low, mid, cpu = _timed_ms(lambda m=method: health_trend(points, now=points[-1].timestamp, method=m), repeat)
        lines.append(
            f"  health_trend({len(points)} points, method={method}): wall min {low:.1f} ms, median {mid:.1f} ms; "
            f"CPU median {cpu:.1f} ms"
        )
    rng = np.random.default_rng(0)
    start = truth.start_at
    offsets = rng.normal(0.0, 0.0025, 120)
    snapshots = [
        CellsSnapshot(
            timestamp=start + timedelta(hours=h),
            voltages_v=tuple(3.7 + offsets + rng.normal(0.0, 0.0015, 120)),
            temperatures_c=tuple(30.0 + rng.normal(0.0, 0.5, 120)),
        )
        for h in range(720)
    ]
    low, mid, cpu = _timed_ms(lambda: cells_rank(snapshots), repeat)
    lines.append(
        f"  cells_rank(720 logs x 120 cells): wall min {low:.1f} ms, median {mid:.1f} ms; CPU median {cpu:.1f} ms"
    )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, run the tuning and held-out fleets, print both scorecards."""
    parser = argparse.ArgumentParser(prog="python -m analytics.scorecard_cli", description=__doc__.splitlines()[0])
    parser.add_argument("--vehicles", type=int, default=300, help="vehicles per seed (default 300)")
    parser.add_argument("--seed", type=int, action="append", help="tuning seed (repeatable; default 1 and 2)")
    parser.add_argument("--lfp-share", type=float, default=0.3, help="share of LFP packs in tuning fleets (0.3)")
    parser.add_argument(
        "--held-out-seed", type=int, action="append", help="held-out seed (repeatable; default 7001 and 7002)"
    )
    parser.add_argument(
        "--held-out-lfp-share", type=float, default=0.5, help="share of LFP packs in held-out fleets (0.5)"
    )
    parser.add_argument("--no-timing", action="store_true", help="skip the timing of health_trend and cells_rank")
    args = parser.parse_args(argv)
    tuning = args.seed or [1, 2]
    held_out = args.held_out_seed or [7001, 7002]
    command = " ".join(["python -m analytics.scorecard_cli", *(argv if argv is not None else sys.argv[1:])])
    print(f"$ {command}")
    for title, seeds, share in (
        (f"tuning fleets: seeds {tuning}, lfp share {args.lfp_share}", tuning, args.lfp_share),
        (
            f"held-out fleets (not tuned on): seeds {held_out}, lfp share {args.held_out_lfp_share}",
            held_out,
            args.held_out_lfp_share,
        ),
    ):
        started = time.perf_counter()
        card = fleet_scorecard(seeds, vehicles=args.vehicles, lfp_share=share)
        print(format_scorecard(title, card))
        print(f"  ({time.perf_counter() - started:.0f} s)")
        sys.stdout.flush()
    if not args.no_timing:
        print(timing_report())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
