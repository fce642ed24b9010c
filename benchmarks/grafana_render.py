#!/usr/bin/env python
"""Screenshots of the Grafana dashboards, drawn without Grafana (it cannot be installed here: no Debian or
PyPI package ships the server, and nothing outside the package registries can be fetched).
It lives in benchmarks/ beside soak.py, not in deploy/: like them it runs on the test harness (tests.support),
which the deployment's own files do not import.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python -m benchmarks.grafana_render \\
        [--minutes 4] [--out docs/screenshots] [--save-data results.json]
    .venv/bin/python -m benchmarks.grafana_render --from-data results.json   # redraw, no stack

What it does, the way the real Prometheus panel test does (tests/integration/test_observability_live.py):
1. starts the service as the tests' harness does (tests.support.stack.Stack: granian with 2 workers, a
   Celery worker with 2 children, the sweeper, a private redis-server as broker and cache) on a database
   of its own (created on DATABASE_URL's server, dropped at the end), with prometheus_client's
   multiprocess mode, LOG_FORMAT=json and a METRICS_TOKEN;
2. starts a real Prometheus (Debian's `prometheus`) scraping its /metrics every 2 s;
3. sends real traffic for --minutes: a simulated fleet (simulator.generator.fleet_logs: SoH falling with
   cycles, weak and hot cells) posting single logs at a rate that rises and falls, some bulk posts,
   retries (200), conflicts (409), invalid logs (400), unknown reports (404), a few overheated packs
   (critical alerts), some alerts acknowledged, and reads of reports and vehicles;
4. evaluates every target of every panel of each dashboard in deploy/grafana/dashboards/ through
   Prometheus' HTTP API (`query_range` over the traffic window; `$__rate_interval` as 20 s), and
5. draws each dashboard with matplotlib, each panel where its gridPos puts it on Grafana's 24-column grid,
   in Grafana's dark theme: timeseries as lines (stacked when the panel says so), stat as the last value,
   bargauge as horizontal bars of the last values; legends from each target's legendFormat, units from
   the panel's fieldConfig. One PNG per dashboard, named after its uid, in --out.

The pictures show the panels' real queries on real scraped data; what they do not show is Grafana's own
rendering (fonts, tooltips, thresholds colours other than the panels' fixed ones).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import shutil
import subprocess
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates
import matplotlib.pyplot as plt
from matplotlib.patches import FancyBboxPatch

from simulator.generator import fleet_logs
from tests.support.infra import NamedDatabase, free_port, stop_tree
from tests.support.stack import Stack, StackSettings
from tests.support.waiting import wait_until

REPO_ROOT = Path(__file__).resolve().parent.parent

DASHBOARDS = REPO_ROOT / "deploy" / "grafana" / "dashboards"
METRICS_TOKEN = "render-metrics-token"
RATE_INTERVAL = "20s"
SCRAPE_INTERVAL_S = 2

# Grafana's dark theme and its classic palette.
BACKGROUND, PANEL, GRID, TEXT, MUTED = "#111217", "#181b1f", "#2c3235", "#ccccdc", "#8e8e9e"
PALETTE = ["#73BF69", "#F2CC0C", "#8AB8FF", "#FF780A", "#F2495C", "#5794F2", "#B877D9", "#705DA0", "#37872D"]
NAMED_COLOURS = {"red": "#F2495C", "orange": "#FF9830", "green": "#73BF69", "yellow": "#FADE2A", "blue": "#5794F2"}
UNIT_W_PX, UNIT_H_PX, HEADER_PX, DPI = 64, 34, 56, 100


# ---------------------------------------------------------------------------------------------- traffic
def _traffic(stack: Stack, duration_s: float, stop: threading.Event) -> dict[str, int]:
    """Real requests for `duration_s`: a fleet posting at a varying rate, plus errors, bulk posts and reads."""
    counts: dict[str, int] = {}
    rng = random.Random(7)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    logs = fleet_logs(vehicles=80, logs_per_vehicle=400, seed=12, prefix="EV-DEMO", start=start)
    headers = {"Authorization": f"Bearer {stack.token()}"}
    accepted: list[str] = []
    began = time.monotonic()
    hot_minute = 0
    with httpx.Client(base_url=stack.url, headers=headers, timeout=10) as client:

        def send(method: str, path: str, **kwargs: Any) -> httpx.Response:
            response = client.request(method, path, **kwargs)
            key = f"{method} {response.status_code}"
            counts[key] = counts.get(key, 0) + 1
            return response

        while not stop.is_set() and (elapsed := time.monotonic() - began) < duration_s:
            # 4 to 22 logs/s, one slow wave over the window and a faster ripple.
            rate = 13 + 7 * math.sin(2 * math.pi * elapsed / duration_s) + 2 * math.sin(elapsed / 9)
            tick = time.monotonic()
            for _ in range(max(1, round(rate / 2))):
                log = next(logs)
                response = send("POST", "/api/v1/diagnostics", json=log)
                if response.status_code == 202:
                    accepted.append(response.json()["log_id"])
                if rng.random() < 0.04:  # a retry of the same log: 200
                    send("POST", "/api/v1/diagnostics", json=log)
                if rng.random() < 0.02:  # the same vehicle and time, other content: 409
                    send("POST", "/api/v1/diagnostics", json={**log, "cycle_count": log["cycle_count"] + 1})
            if rng.random() < 0.15:  # an invalid log: 400
                send("POST", "/api/v1/diagnostics", json={"vehicle_id": "EV-DEMO-BAD", "cells": []})
            if rng.random() < 0.1:  # an unknown report: 404
                send("GET", f"/api/v1/reports/{'0' * 8}-0000-4000-8000-{rng.randrange(16**12):012x}")
            if rng.random() < 0.08:  # a small backlog in one bulk request
                batch = [next(logs) for _ in range(rng.randint(5, 25))]
                send("POST", "/api/v1/diagnostics/bulk", json=batch)
            if rng.random() < 0.05:  # an overheated pack (61 °C): a critical alert
                hot_minute += 1
                vehicle = f"EV-HOT-{hot_minute % 6}"
                send("POST", "/api/v1/diagnostics", json=_hot_log(vehicle, hot_minute))
            if accepted and rng.random() < 0.6:
                send("GET", f"/api/v1/reports/{rng.choice(accepted[-200:])}")
            if rng.random() < 0.1:
                send("GET", "/api/v1/vehicles", params={"ordering": "latest_soh", "limit": 20})
            if rng.random() < 0.03:
                alerts = send("GET", "/api/v1/alerts", params={"state": "open", "limit": 5}).json()["results"]
                if alerts:
                    send("POST", f"/api/v1/alerts/{rng.choice(alerts)['id']}/acknowledge")
            stop.wait(max(0.0, 0.5 - (time.monotonic() - tick)))
    return counts


def _hot_log(vehicle: str, minute: int) -> dict[str, Any]:
    moment = datetime(2026, 6, 1, tzinfo=UTC) + timedelta(minutes=minute)
    return {
        "vehicle_id": vehicle,
        "timestamp": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "cycle_count": 900,
        "nominal_capacity_kwh": 60.0,
        "current_capacity_kwh": 40.5,
        "cells": [{"id": i, "voltage": 3.95 + 0.002 * i, "temperature": 61.0 if i == 3 else 34.0} for i in range(8)],
    }


# ---------------------------------------------------------------------------------------------- Prometheus
def _start_prometheus(workdir: Path, target_url: str) -> tuple[subprocess.Popen[bytes], str]:
    binary = shutil.which("prometheus")
    if binary is None:
        raise SystemExit("the prometheus binary is needed (Debian: apt-get install prometheus)")
    token_file = workdir / "metrics-token"
    token_file.write_text(METRICS_TOKEN)
    config = workdir / "prometheus.yml"
    config.write_text(
        f"global:\n  scrape_interval: {SCRAPE_INTERVAL_S}s\n"
        "scrape_configs:\n  - job_name: battery-health\n    metrics_path: /metrics\n"
        f"    authorization:\n      type: Bearer\n      credentials_file: {token_file}\n"
        f"    static_configs:\n      - targets: ['{target_url.removeprefix('http://')}']\n"
    )
    port = free_port()
    proc = subprocess.Popen(
        [
            binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={workdir / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=(workdir / "prometheus.log").open("wb"),
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"

    def scraped() -> bool:
        try:
            body = httpx.get(f"{base}/api/v1/query", params={"query": 'up{job="battery-health"} == 1'}).json()
        except (httpx.HTTPError, ValueError):  # 503 in plain text until its TSDB is up
            return False
        return bool(body.get("data", {}).get("result"))

    wait_until(scraped, timeout=60, interval=0.5, what="Prometheus scraping the stack")
    return proc, base


def _query(base: str, expr: str, start: float, end: float, step: float) -> list[dict[str, Any]]:
    concrete = re.sub(r"\$__(rate_interval|interval|range)", RATE_INTERVAL, expr)
    response = httpx.get(
        f"{base}/api/v1/query_range", params={"query": concrete, "start": start, "end": end, "step": step}, timeout=30
    )
    body = response.json()
    if body.get("status") != "success":
        raise RuntimeError(f"{concrete}: {body}")
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


# ---------------------------------------------------------------------------------------------- drawing
def _legend(fmt: str | None, labels: dict[str, str]) -> str:
    if not fmt:
        return ", ".join(f"{k}={v}" for k, v in labels.items() if k != "__name__") or "value"
    return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: labels.get(m.group(1), ""), fmt)


def _format_value(value: float, unit: str) -> str:
    if math.isnan(value):
        return "—"
    if unit == "s":
        return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"
    if unit == "percentunit":
        return f"{value * 100:.2f} %"
    if unit == "reqps":
        return f"{value:.1f} req/s"
    return f"{value:.0f}" if abs(value) >= 100 or value == int(value) else f"{value:.2f}"


def _axis_formatter(unit: str) -> Any:
    return matplotlib.ticker.FuncFormatter(lambda value, _pos: _format_value(value, unit))


def _series_colour(panel: dict[str, Any], name: str, index: int) -> str:
    for override in panel.get("fieldConfig", {}).get("overrides", []):
        matcher = override.get("matcher", {})
        if matcher.get("id") == "byName" and matcher.get("options") == name:
            for prop in override.get("properties", []):
                if prop.get("id") == "color":
                    colour = prop["value"].get("fixedColor", "")
                    return NAMED_COLOURS.get(colour, colour) or PALETTE[index % len(PALETTE)]
    return PALETTE[index % len(PALETTE)]


def _panel_series(panel: dict[str, Any], results: list[list[dict[str, Any]]]) -> list[tuple[str, list, list]]:
    series = []
    for target, result in zip(panel.get("targets", []), results, strict=True):
        for row in result:
            times = [datetime.fromtimestamp(float(t), UTC) for t, _ in row["values"]]
            values = [float(v) for _, v in row["values"]]
            series.append((_legend(target.get("legendFormat"), row["metric"]), times, values))
    return sorted(series, key=lambda s: s[0])


def _draw_panel(fig: Any, rect: tuple[float, float, float, float], panel: dict[str, Any], series: list) -> None:
    left, bottom, width, height = rect
    width_px, height_px = fig.get_figwidth() * DPI, fig.get_figheight() * DPI
    fig.patches.append(
        FancyBboxPatch(
            (left + 3 / width_px, bottom + 3 / height_px),
            width - 6 / width_px,
            height - 6 / height_px,
            boxstyle="round,pad=0,rounding_size=0.004",
            transform=fig.transFigure,
            facecolor=PANEL,
            edgecolor=GRID,
            linewidth=0.8,
            zorder=-10,  # behind the panel's axes
        )
    )
    fig.text(
        left + 12 / width_px, bottom + height - 24 / height_px, panel["title"], color=TEXT, fontsize=10, weight="bold"
    )
    unit = panel.get("fieldConfig", {}).get("defaults", {}).get("unit", "short")
    kind = panel["type"]
    if not series:
        fig.text(left + width / 2, bottom + height / 2, "No data", color=MUTED, ha="center", fontsize=12)
        return
    if kind == "stat":
        name, _, values = series[0]
        colour = _series_colour(panel, name, 0)
        text = _format_value(values[-1], unit)
        fig.text(left + width / 2, bottom + height * 0.38, text, color=colour, ha="center", fontsize=30, weight="bold")
        fig.text(left + width / 2, bottom + height * 0.14, name, color=MUTED, ha="center", fontsize=9)
        return
    legend_rows = 0 if kind == "bargauge" else math.ceil(len(series) / 3)
    label_px = 190 if kind == "bargauge" else 62
    bottom_px = 26 + 16 * legend_rows
    inner = (
        left + label_px / width_px,
        bottom + bottom_px / height_px,
        width - (label_px + 22) / width_px,
        height - (bottom_px + 40) / height_px,
    )
    ax = fig.add_axes(inner)
    ax.set_facecolor(PANEL)
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.tick_params(colors=MUTED, labelsize=8, length=0)
    if kind == "bargauge":
        names = [name for name, _, _ in series]
        values = [values[-1] for _, _, values in series]
        colours = [_series_colour(panel, name, i) for i, name in enumerate(names)]
        ax.barh(range(len(names)), values, color=colours, height=0.6)
        ax.set_yticks(range(len(names)), names, color=TEXT, fontsize=9)
        ax.invert_yaxis()
        ax.xaxis.set_major_formatter(_axis_formatter(unit))
        ax.grid(axis="x", color=GRID, linewidth=0.6)
        ax.set_axisbelow(True)
        top = max(values) if values else 1
        for i, value in enumerate(values):
            ax.text(value + top * 0.01, i, _format_value(value, unit), va="center", color=TEXT, fontsize=9)
        ax.set_xlim(0, top * 1.15 or 1)
        return
    stacked = panel.get("fieldConfig", {}).get("defaults", {}).get("custom", {}).get("stacking", {}).get("mode")
    colours = [_series_colour(panel, name, i) for i, (name, _, _) in enumerate(series)]
    if stacked == "normal":
        # Grafana stacks on a common time axis; a series that has no sample at a step counts 0 there.
        times = sorted({moment for _, moments, _ in series for moment in moments})
        stacks = [[dict(zip(moments, values, strict=True)).get(t, 0.0) for t in times] for _, moments, values in series]
        labels = [name for name, _, _ in series]
        ax.stackplot(times, *stacks, labels=labels, colors=colours, alpha=0.6)
    else:
        for (name, times, values), colour in zip(series, colours, strict=True):
            ax.plot(times, values, label=name, color=colour, linewidth=1.4)
            ax.fill_between(times, values, alpha=0.08, color=colour)
    ax.yaxis.set_major_formatter(_axis_formatter(unit))
    ax.xaxis.set_major_locator(mdates.MinuteLocator(tz=UTC))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M", tz=UTC))
    ax.grid(color=GRID, linewidth=0.6)
    ax.set_axisbelow(True)
    ax.set_ylim(bottom=0)
    ax.margins(x=0)
    axes_px = inner[3] * height_px
    ax.legend(
        loc="upper left",
        bbox_to_anchor=(0, -18 / axes_px),
        ncol=3,
        frameon=False,
        fontsize=8,
        labelcolor=TEXT,
        handlelength=1.2,
        borderaxespad=0,
        columnspacing=1.5,
    )


def dashboard_results(path: Path, base: str, start: float, end: float) -> dict[str, Any]:
    """Every panel's query results over the window, as Prometheus answered them."""
    dashboard = json.loads(path.read_text())
    step = _step(start, end)
    panels = {
        str(panel["id"]): [_query(base, target["expr"], start, end, step) for target in panel.get("targets", [])]
        for panel in dashboard["panels"]
    }
    return {"start": start, "end": end, "step": step, "panels": panels}


def render_dashboard(path: Path, data: dict[str, Any], out_dir: Path) -> Path:
    start, end = data["start"], data["end"]
    dashboard = json.loads(path.read_text())
    panels = dashboard["panels"]
    rows = max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in panels)
    width_px, height_px = 24 * UNIT_W_PX, rows * UNIT_H_PX + HEADER_PX
    fig = plt.figure(figsize=(width_px / DPI, height_px / DPI), dpi=DPI, facecolor=BACKGROUND)
    window = f"{datetime.fromtimestamp(start, UTC):%Y-%m-%d %H:%M} to {datetime.fromtimestamp(end, UTC):%H:%M} UTC"
    fig.text(0.008, 1 - 22 / height_px, dashboard["title"], color=TEXT, fontsize=14, weight="bold")
    fig.text(
        0.992,
        1 - 22 / height_px,
        f"{window} · Prometheus query_range, step {data['step']:.0f} s, $__rate_interval = {RATE_INTERVAL}",
        color=MUTED,
        fontsize=9,
        ha="right",
    )
    for panel in panels:
        results = data["panels"][str(panel["id"])]
        grid = panel["gridPos"]
        rect = (
            grid["x"] / 24,
            1 - (HEADER_PX + (grid["y"] + grid["h"]) * UNIT_H_PX) / height_px,
            grid["w"] / 24,
            grid["h"] * UNIT_H_PX / height_px,
        )
        _draw_panel(fig, rect, panel, _panel_series(panel, results))
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{dashboard['uid']}.png"
    fig.savefig(target, dpi=DPI, facecolor=BACKGROUND)
    plt.close(fig)
    return target


def _step(start: float, end: float) -> float:
    return max(float(SCRAPE_INTERVAL_S), (end - start) / 240)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--minutes", type=float, default=4.0, help="how long the traffic runs (default 4)")
    p.add_argument("--out", type=Path, default=REPO_ROOT / "docs" / "screenshots")
    p.add_argument("--save-data", type=Path, default=None, help="also write the query results (JSON) here")
    p.add_argument("--from-data", type=Path, default=None, help="draw from saved query results; no stack")
    p.add_argument("--db-prefix", default="render", help="name prefix of the database created for the run")
    args = p.parse_args()
    if args.from_data:
        saved = json.loads(args.from_data.read_text())
        for path in sorted(DASHBOARDS.glob("*.json")):
            print("wrote", render_dashboard(path, saved[path.name], args.out))
        return 0
    server = os.environ.get("DATABASE_URL")
    if not server:
        p.error("DATABASE_URL must name a PostgreSQL server (a database of its own is created there and dropped)")
    workdir = Path(tempfile.mkdtemp(prefix="render-dashboards-"))
    database = NamedDatabase(server, prefix=args.db_prefix).create()
    settings = StackSettings(
        sweeper_stale_after_s=30,
        sweep_loop_s=5,
        extra_env=(
            ("LOG_FORMAT", "json"),
            ("METRICS_TOKEN", METRICS_TOKEN),
            ("PROMETHEUS_MULTIPROC_DIR", str(workdir / "metrics")),
            ("METRICS_MULTIPROC_ROOT", str(workdir / "metrics")),
            ("WORKER_HEARTBEAT_FILE", str(workdir / "heartbeat")),
        ),
    )
    prometheus = None
    try:
        with Stack(db_url=database.url, workdir=workdir, migrate=True, settings=settings) as stack:
            prometheus, base = _start_prometheus(workdir, stack.url)
            start = time.time()
            counts = _traffic(stack, args.minutes * 60, threading.Event())
            time.sleep(3 * SCRAPE_INTERVAL_S)  # the last reports and a scrape or two after them
            end = time.time()
            print("requests sent:", json.dumps(dict(sorted(counts.items()))))
            results = {
                path.name: dashboard_results(path, base, start, end) for path in sorted(DASHBOARDS.glob("*.json"))
            }
            if args.save_data:
                args.save_data.write_text(json.dumps(results))
            for path in sorted(DASHBOARDS.glob("*.json")):
                print("wrote", render_dashboard(path, results[path.name], args.out))
    finally:
        stop_tree(prometheus)
        database.close()
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
