#!/usr/bin/env python
"""What alert evaluation costs the report worker: its throughput with ALERTS_ENABLED on vs off, same run.

    .venv-bench/bin/python -m benchmarks.bench_alert_cost [--quick] [--pairs 6] [--vehicles 500]

On the harness's stack (benchmarks/benchlib.py ``bench_stack``) with a fleet of simulated vehicles
(simulator.generator: 80-120 cells, SoH fading with 0.2 % noise, 15 % of packs with a weak cell that sags as
it ages, 10 % with a hot cell) and one active webhook subscribed to every event (so the outbox rows are
written, as in production). Each run writes the next logs of every vehicle (in time order, so no log is
late) as pending rows by COPY (with the cell arrays that ingest writes), publishes report tasks of 100 ids,
starts the Celery worker with ALERTS_ENABLED on or off and takes the rate between the first and the last
report's ``generated_at`` (neither the worker's start nor the publishing counts); the worker's CPU per
report too. Runs alternate on/off in ABBA order (on off off on, ...) so that a machine whose load drifts
weighs on both alike; the figure is the ratio of the median rates, and each pair's ratio is kept (their median
is shown too: the figure least moved by load that swings between runs).

Target: evaluation costs < 15 % of the worker's throughput (median rate off / on < 1.15, i.e. on >= 0.87x off).
The delivery tasks the batches publish queue behind the report tasks and are purged after each run: what is
measured is the batch (evaluation and the outbox rows in its transaction), not the sending.
"""

from __future__ import annotations

import os
import statistics
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.benchlib import Fleet, Results, base_parser, bench_stack, log
from tests.support.waiting import wait_until

REPO_ROOT = Path(__file__).resolve().parent.parent

COPY_SQL = (
    "COPY diagnostics_diagnosticlog (id, vehicle_id, timestamp, cells, cycle_count, nominal_capacity_kwh, "
    "current_capacity_kwh, cell_voltages, cell_temperatures, voltage_median, received_at, status, attempts, "
    "error, status_changed_at) FROM STDIN"
)


class Histories:
    """Each vehicle's simulated logs, handed out in time order, `per_vehicle` per vehicle per run."""

    def __init__(self, fleet: Fleet, *, logs_per_vehicle: int, seed: int = 29) -> None:
        from simulator.generator import fleet_profiles, iter_vehicle_history

        start = datetime(2024, 1, 1, tzinfo=UTC)
        self.pks = fleet.vehicle_pks()
        self.streams = [
            iter_vehicle_history(profile, logs=logs_per_vehicle, seed=seed, start=start, interval=timedelta(hours=4))
            for profile in fleet_profiles(vehicles=fleet.vehicles, seed=seed, prefix=fleet.vehicle_prefix)
        ]

    def next_logs(self, per_vehicle: int) -> list[dict[str, Any]]:
        return [next(stream) for _ in range(per_vehicle) for stream in self.streams]


def insert_pending(fleet: Fleet, logs: list[dict[str, Any]], pks: dict[str, int]) -> list[Any]:
    """The logs as pending rows (COPY, 1000 per transaction, cell arrays and median as ingest writes them)."""
    import statistics as stats
    import uuid

    import orjson

    ids = []
    with fleet.pg(autocommit=False) as conn:
        for start in range(0, len(logs), 1000):
            with conn.transaction(), conn.cursor() as cur, cur.copy(COPY_SQL) as copy:
                for data in logs[start : start + 1000]:
                    cells = sorted(data["cells"], key=lambda cell: cell["id"])
                    voltages = [float(cell["voltage"]) for cell in cells]
                    log_id = uuid.uuid4()
                    ids.append(log_id)
                    now = datetime.now(UTC)
                    copy.write_row(
                        (
                            log_id,
                            pks[data["vehicle_id"]],
                            datetime.fromisoformat(data["timestamp"].replace("Z", "+00:00")),
                            orjson.dumps(cells).decode(),
                            data["cycle_count"],
                            float(data["nominal_capacity_kwh"]),
                            float(data["current_capacity_kwh"]),
                            voltages,
                            [float(cell["temperature"]) for cell in cells],
                            stats.median(voltages),
                            now,
                            "pending",
                            0,
                            "",
                            now,
                        )
                    )
    return ids


def reports_span(fleet: Fleet, ids: list[Any]) -> tuple[int, float]:
    with fleet.pg() as conn:
        count, first, last = conn.execute(
            "SELECT count(*), min(generated_at), max(generated_at) FROM reports_batteryreport WHERE log_id = ANY(%s)",
            [ids],
        ).fetchone()
    return int(count), ((last - first).total_seconds() if count else 0.0)


def alert_counts(fleet: Fleet) -> dict[str, int]:
    with fleet.pg() as conn:
        rows = conn.execute("SELECT type, count(*) FROM alerts_alert GROUP BY type ORDER BY type").fetchall()
        outbox = conn.execute("SELECT count(*) FROM alerts_webhookdelivery").fetchone()[0]
    return {**{str(t): int(n) for t, n in rows}, "deliveries": int(outbox)}


def one_run(fleet: Fleet, ids: list[Any], *, enabled: bool, timeout: float = 300) -> dict[str, Any]:
    from config.celery import app

    stack = fleet.stack
    for start in range(0, len(ids), 100):
        app.send_task(
            "reports.generate_battery_reports", args=[[str(i) for i in ids[start : start + 100]]], queue=stack.queue
        )
    stack.env["ALERTS_ENABLED"] = "true" if enabled else "false"
    stack.start_worker()
    cpu_before = stack.cpu_seconds()["worker"]
    wait_until(lambda: reports_span(fleet, ids)[0] >= len(ids), timeout, 0.25, "every report")
    cpu = stack.cpu_seconds()["worker"] - cpu_before
    stack.stop_worker()
    fleet.purge_queue()  # topped-up tasks' leftovers and the delivery tasks: not the next run's work
    count, span = reports_span(fleet, ids)
    return {"rate": (count - 100) / span, "cpu_ms_per_report": 1000 * cpu / count, "span_s": span}


def main() -> int:
    p = base_parser(__doc__ or "")
    p.add_argument("--pairs", type=int, default=None, help="on/off pairs, ABBA-interleaved (default 6, quick 2)")
    p.add_argument("--vehicles", type=int, default=500, help="vehicles in the fleet (default 500)")
    p.add_argument("--logs-per-vehicle", type=int, default=None, help="logs per vehicle per run (default 6, quick 2)")
    args = p.parse_args()
    pairs = args.pairs or (2 if args.quick else 6)
    per_vehicle = args.logs_per_vehicle or (2 if args.quick else 6)
    warmup_per_vehicle = 20  # a history before the first measured run: SoH series and cell windows filled
    results = Results("bench_alert_cost", args)

    with bench_stack("bench_alert_cost", args, vehicles=args.vehicles) as fleet:
        from alerts.models import Webhook

        results.meta["database"] = fleet.database
        Webhook.objects.create(
            fleet_id=fleet.fleet_id,
            url="https://hooks.example.invalid/battery",  # never reached: the delivery tasks are purged
            events=["alert.opened", "alert.updated", "alert.escalated", "alert.acknowledged", "alert.resolved"],
            secret="whsec_" + "QUJD" * 11,
        )
        histories = Histories(fleet, logs_per_vehicle=warmup_per_vehicle + 2 * pairs * per_vehicle + 1)
        log(f"warm-up: {warmup_per_vehicle} logs per vehicle, alerts on")
        one_run(fleet, insert_pending(fleet, histories.next_logs(warmup_per_vehicle), histories.pks), enabled=True)
        order = [flag for k in range(pairs) for flag in ((True, False) if k % 2 == 0 else (False, True))]
        runs: list[dict[str, Any]] = []
        for index, enabled in enumerate(order):
            ids = insert_pending(fleet, histories.next_logs(per_vehicle), histories.pks)
            fig = one_run(fleet, ids, enabled=enabled)
            fig.update(enabled=enabled, logs=len(ids), loadavg_1m=round(os.getloadavg()[0], 2))
            runs.append(fig)
            log(
                f"run {index + 1}/{len(order)} alerts {'on ' if enabled else 'off'}: {fig['rate']:.0f} reports/s, "
                f"{fig['cpu_ms_per_report']:.3f} ms CPU/report, load {fig['loadavg_1m']}"
            )
        on = [run["rate"] for run in runs if run["enabled"]]
        off = [run["rate"] for run in runs if not run["enabled"]]
        cpu_on = statistics.median(run["cpu_ms_per_report"] for run in runs if run["enabled"])
        cpu_off = statistics.median(run["cpu_ms_per_report"] for run in runs if not run["enabled"])
        pair_ratios = []
        for first, second in zip(runs[::2], runs[1::2], strict=True):
            on_run, off_run = (first, second) if first["enabled"] else (second, first)
            pair_ratios.append(round(on_run["rate"] / off_run["rate"], 3))
        results.add(
            "on",
            "worker, alert evaluation on (median)",
            round(statistics.median(on), 1),
            "reports/s",
            runs=len(on),
            min=round(min(on), 1),
            max=round(max(on), 1),
            cpu_ms_per_report=round(cpu_on, 3),
        )
        results.add(
            "off",
            "worker, alert evaluation off (median)",
            round(statistics.median(off), 1),
            "reports/s",
            runs=len(off),
            min=round(min(off), 1),
            max=round(max(off), 1),
            cpu_ms_per_report=round(cpu_off, 3),
        )
        cost = 1 - statistics.median(on) / statistics.median(off)
        results.add(
            "cost",
            "throughput lost to alert evaluation",
            round(100 * cost, 1),
            "%",
            pair_ratios_on_over_off=pair_ratios,
        )
        results.ratio(
            "alerts on / off (median rates)", "on", "off", target=0.87, note="< 15 % of the throughput: on >= 0.87x off"
        )
        # Each pair's runs are back to back: their ratio is what a machine whose load swings between runs
        # (other work on shared CPUs) disturbs least; the median of the pairs' ratios is shown beside.
        results.add(
            "pairs",
            "on / off within each ABBA pair (median of the pairs)",
            round(statistics.median(pair_ratios), 3),
            "x",
            pairs=pair_ratios,
        )
        results.meta["runs"] = runs
        results.meta["pair_ratios_on_over_off"] = pair_ratios
        results.meta["alerts_at_end"] = alert_counts(fleet)
        results.note(
            f"{pairs} ABBA pairs of {per_vehicle} logs x {args.vehicles} vehicles per run after a "
            f"{warmup_per_vehicle}-log warm-up; alerts at the end: {results.meta['alerts_at_end']}"
        )
    results.print()
    results.save("alert_cost")
    return 0


if __name__ == "__main__":
    sys.exit(main())
