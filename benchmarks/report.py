#!/usr/bin/env python
"""Render the saved results (benchmarks/results/bench_*.json) as Markdown tables, for docs/performance.md.

.venv/bin/python -m benchmarks.report [--quick] > figures.md
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

RESULTS_DIR = Path(__file__).resolve().parent / "results"
ORDER = ["bench_validation", "bench_db", "bench_ingest_http", "bench_workers", "bench_latency", "bench_get"]


def fmt(value: object) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        if abs(value) >= 100:
            return f"{value:,.0f}"
        return f"{value:.2f}" if abs(value) < 10 else f"{value:.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--quick", action="store_true", help="render the --quick results")
    args = p.parse_args()
    suffix = "-quick" if args.quick else ""
    for name in ORDER:
        path = RESULTS_DIR / f"{name}{suffix}.json"
        if not path.exists():
            print(f"### {name}\n\n(no results: run `{name}.py` first)\n")
            continue
        data = json.loads(path.read_text())
        print(f"### {name}\n")
        print(
            f"`{data['command']}` — {data['started_at']}, load {data['machine']['loadavg_start']} at start, "
            f"{data.get('loadavg_end')} at end\n"
        )
        print("| run | figure | p50 ms | p99 ms | details |")
        print("|---|---:|---:|---:|---|")
        for row in data["rows"].values():
            details = ", ".join(
                f"{k} {fmt(v)}"
                for k, v in row.items()
                if k not in {"label", "value", "unit", "p50_ms", "p99_ms", "tool", "connections", "p90_ms", "max_ms"}
                and not isinstance(v, (dict, list))
            )
            print(
                f"| {row['label']} | {fmt(row['value'])} {row['unit']} | {fmt(row.get('p50_ms'))} | "
                f"{fmt(row.get('p99_ms'))} | {details} |"
            )
        if data["ratios"]:
            print("\n| ratio | value | target | verdict |")
            print("|---|---:|---|---|")
            for r in data["ratios"]:
                verdict = {True: "**met**", False: "**not met**", None: "context"}[r["met"]]
                value = "n/a" if r["value"] is None else f"{r['value']:.2f}x"
                print(f"| {r['label']} | {value} | {r['target']} | {verdict} {r['note']} |")
        for note in data.get("notes", []):
            print(f"\n_{note}_")
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
