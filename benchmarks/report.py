#!/usr/bin/env python
"""Render the saved results (benchmarks/results/*.json of one `make bench` run) as Markdown.

    .venv-bench/bin/python -m benchmarks.report [--quick]                              # to stdout
    .venv-bench/bin/python -m benchmarks.report [--quick] --write docs/performance.md  # its generated section

With --write the text between the markers ``<!-- benchmarks/report.py: begin -->`` and ``<!-- ... end -->`` of
the file is replaced; nothing else in it changes. Every table names its result file, the command, the git
commit, the UTC time and the machine's load at start and end, so each figure can be traced to its raw JSON.
Only files written by benchlib.save_result (they carry ``git_commit``) are rendered; --quick renders the
``-quick`` files of a `make bench QUICK=1` run, else the full run's.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"
BEGIN, END = "<!-- benchmarks/report.py: begin -->", "<!-- benchmarks/report.py: end -->"
# benchmarks/run.py's order; the observability and cell-history scripts write one file per mode.
ORDER = [
    "bench_validation",
    "bench_db",
    "bench_ingest_http",
    "bench_workers",
    "bench_latency",
    "bench_get",
    "bench_cache",
    "alert_cost",
    "bench_certificate",
    "fleet_api",
    "cell_history",
    "ingest_revisions",
    "observability-in-process",
    "observability-http",
    "dashboard_load",
]
ROW_KEYS_SHOWN_APART = {"label", "value", "unit", "p50_ms", "p99_ms", "tool", "connections", "p90_ms", "max_ms"}


def fmt(value: object) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        if abs(value) >= 100:
            return f"{value:,.0f}"
        return f"{value:.3f}" if abs(value) < 1 else f"{value:.2f}" if abs(value) < 10 else f"{value:.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, list) and all(isinstance(v, (int, float)) for v in value):
        return ", ".join(fmt(v) for v in value)
    return str(value)


def header(name: str, data: dict[str, Any]) -> list[str]:
    machine = data.get("machine", {})
    return [
        f"### {name}",
        "",
        f"`benchmarks/results/{data['_file']}`: `{data['command']}`, commit `{data['git_commit'][:12]}`, "
        f"{data['started_at']} to {data.get('finished_at', '?')}, load average {fmt(machine.get('loadavg_start'))} "
        f"at start, {fmt(data.get('loadavg_end'))} at end ({machine.get('nproc', '?')} CPUs)"
        + (f"; other runs at start: {len(data['busy_at_start'])}" if data.get("busy_at_start") else ""),
        "",
    ]


def rows_and_ratios(data: dict[str, Any]) -> list[str]:
    """The benchlib.Results shape: rows (a figure each) and ratios against the targets."""
    out = ["| run | figure | p50 ms | p99 ms | details |", "|---|---:|---:|---:|---|"]
    for row in data["rows"].values():
        details = ", ".join(
            f"{k} {fmt(v)}"
            for k, v in row.items()
            if k not in ROW_KEYS_SHOWN_APART and v is not None and not isinstance(v, dict)
        )
        out.append(
            f"| {row['label']} | {fmt(row['value'])} {row['unit']} | {fmt(row.get('p50_ms'))} | "
            f"{fmt(row.get('p99_ms'))} | {details} |"
        )
    if data["ratios"]:
        out += ["", "| ratio | value | target | verdict |", "|---|---:|---|---|"]
        for r in data["ratios"]:
            verdict = {True: "**met**", False: "**not met**", None: "context"}[r["met"]]
            value = "n/a" if r["value"] is None else f"{r['value']:.2f}x"
            out.append(f"| {r['label']} | {value} | {r['target']} | {verdict} {r['note']} |")
    out += [f"\n_{note}_" for note in data.get("notes", [])]
    return out


def fleet_api(data: dict[str, Any]) -> list[str]:
    fleet = data["fleet"]
    out = [f"Fleet: {fleet['vehicles']} vehicles x {fleet['logs_per_vehicle']} logs.", ""]
    out += ["| request | p50 ms | p99 ms | details |", "|---|---:|---:|---|"]
    for name, figure in data.get("figures", {}).items():
        details = ", ".join(f"{k} {fmt(v)}" for k, v in figure.items() if k not in {"p50_ms", "p99_ms"})
        out.append(f"| {name} | {fmt(figure.get('p50_ms'))} | {fmt(figure.get('p99_ms'))} | {details} |")
    return out


def ingest_revisions(data: dict[str, Any]) -> list[str]:
    out = [
        f"before = `{data['before']}`, after = `{data['after']}`; best of {len(data['runs']['after'])} rounds, "
        "each round one of each (order alternating).",
        "",
        "| figure | before | after | after / before (best) | after / before per round |",
        "|---|---:|---:|---:|---|",
    ]
    for key, ratio in data["ratios"].items():
        pairs = fmt(data.get("pair_ratios", {}).get(key))
        before, after = fmt(data["best"]["before"][key]), fmt(data["best"]["after"][key])
        out.append(f"| {key} | {before} | {after} | {ratio:.3f}x | {pairs} |")
    return out


def observability(data: dict[str, Any]) -> list[str]:
    if data.get("mode") == "in-process":
        out = [
            f"CPU per request of the configuration's block over the neighbouring `off` block "
            f"(`off`: {fmt(data['off_median_cpu_ms_per_req'])} ms median).",
            "",
            "| configuration | median cost | quartiles | block CPU ms/request | request's own CPU cost |",
            "|---|---:|---|---:|---:|",
        ]
        for name, c in data["cost"].items():
            out.append(
                f"| {name} | {c['median_pct']:+.2f} % | {c['q1_pct']:+.2f} .. {c['q3_pct']:+.2f} % | "
                f"{fmt(c['median_cpu_ms_per_req'])} | {c['request_median_pct']:+.2f} % |"
            )
        return out
    out = ["| configuration | median cost vs off | per round | lowest CPU ms/request |", "|---|---:|---|---:|"]
    for name, c in data["cost"].items():
        out.append(
            f"| {name} | {c['median_pct']:+.1f} % | {fmt(c['per_round_pct'])} | "
            f"{fmt(data['lowest_cpu_ms_per_req'][name])} |"
        )
    return out


def dashboard_load(data: dict[str, Any]) -> list[str]:
    return [
        f"{data['what']}: {data['vehicles']:,} vehicles x {data['logs_per_vehicle']} logs, {data['runs']} runs.",
        "",
        "| median | fastest / slowest | under the target | all API answers in (median) |",
        "|---:|---:|---:|---:|",
        f"| **{data['median_s']} s** | {data['min_s']} / {data['max_s']} s | {data['runs_under_target']} of "
        f"{data['runs']} under {data['target_s']} s | {fmt(data['median_api_done_ms'])} ms |",
    ]


def run_record(data: dict[str, Any]) -> list[str]:
    out = [
        f"`{data['command']}`, commit `{data['git_commit'][:12]}`, {data['started_at']} to {data['finished_at']}: "
        f"**{data['total_seconds'] / 60:.1f} min** for {len(data['steps'])} steps; failed: "
        f"{', '.join(data['failed']) or 'none'}.",
        "",
        "| step | command | exit | seconds |",
        "|---|---|---:|---:|",
    ]
    out += [f"| {s['step']} | `{s['command']}` | {s['exit_status']} | {s['seconds']} |" for s in data["steps"]]
    return out


def load(name: str, quick: bool) -> dict[str, Any] | None:
    path = RESULTS_DIR / f"{name}{'-quick' if quick else ''}.json"
    if not path.exists():
        return None
    data: dict[str, Any] = json.loads(path.read_text())
    if "git_commit" not in data:  # an older file, without the run's metadata: not rendered
        return None
    data["_file"] = path.name
    return data


def render(quick: bool) -> str:
    kind = "`make bench QUICK=1` (smoke-sized runs)" if quick else "`make bench`"
    out = [
        f"Generated by `benchmarks/report.py{' --quick' if quick else ''}` from the JSON of one {kind}; do not edit.",
        "",
    ]
    run = load("run", quick)
    out += (run_record(run) if run else ["(no run record: benchmarks/results/run*.json)"]) + [""]
    for name in ORDER:
        parts = [name] if name != "cell_history" else ["cell_history", "cell_history-reads", "cell_history-writes"]
        for part in parts:
            data = load(part, quick)
            if data is None:
                continue
            out += header(part, data)
            if "rows" in data:
                out += rows_and_ratios(data)
            elif part == "fleet_api":
                out += fleet_api(data)
            elif part == "ingest_revisions":
                out += ingest_revisions(data)
            elif part.startswith("observability"):
                out += observability(data)
            elif part == "dashboard_load":
                out += dashboard_load(data)
            out.append("")
    return "\n".join(out).rstrip() + "\n"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="render the --quick results")
    p.add_argument("--write", type=Path, default=None, help="replace this file's generated section")
    args = p.parse_args()
    text = render(args.quick)
    if args.write is None:
        sys.stdout.write(text)
        return 0
    page = args.write.read_text()
    pattern = re.compile(re.escape(BEGIN) + r".*?" + re.escape(END), re.S)
    if not pattern.search(page):
        print(f"{args.write}: no {BEGIN} ... {END} section", file=sys.stderr)
        return 1
    args.write.write_text(pattern.sub(lambda _: f"{BEGIN}\n{text}{END}", page, count=1))
    print(f"{args.write}: generated section rewritten", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
