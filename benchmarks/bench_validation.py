#!/usr/bin/env python
"""CPU per 100-cell log: bare msgspec decode vs our validation (fast path) vs the full DRF path.

    .venv-bench/bin/python -m benchmarks.bench_validation [--quick]

A micro-benchmark, in-process, no database: each candidate turns the same compact JSON body of a
100-cell log into validated data, many times; the figure is CPU time per call (``time.process_time``),
the best of several repeats. Target (issue): ``log_validate`` <= 5x a bare msgspec decode.

- bare msgspec decode: ``msgspec.json.decode`` into a Struct of the log's shape, no constraints (the
  baseline of the target); the untyped decode and msgspec with the full constraints are shown too;
- ours: ``diagnostics.validation.log_validate`` (what ``POST /api/v1/diagnostics`` runs: the msgspec
  fast path);
- the full path: ``_log_full(loads_strict(raw))`` (the fallback for any body the fast path does not
  accept, and what the bulk endpoint runs per item when its fast path declines an item);
- the bulk endpoint per item: ``logs_validate_bulk`` (msgspec splits the array, the fast path per item);
- the textbook nested serializer: DRF's stock fields and a nested ``CellSerializer(many=True)`` (the
  textbook reference's serializer without its two database look-ups).
"""

from __future__ import annotations

import gc
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import msgspec

from benchmarks.benchlib import Results, base_parser, compact, hundred_cell_log

REPO_ROOT = Path(__file__).resolve().parent.parent


class BareCell(msgspec.Struct):
    id: int
    voltage: float
    temperature: float


class BareLog(msgspec.Struct):
    """The log's shape, no constraints: what a bare msgspec decode does."""

    vehicle_id: str
    timestamp: str
    cells: list[BareCell]
    cycle_count: int
    nominal_capacity_kwh: float
    current_capacity_kwh: float


def per_call(fn: Callable[[], Any], *, budget_s: float, repeats: int) -> float:
    """CPU seconds per call: best of `repeats` runs of about `budget_s` each."""
    fn()
    n = 1
    while True:  # calibrate
        started = time.process_time()
        for _ in range(n):
            fn()
        took = time.process_time() - started
        if took >= budget_s / 4:
            break
        n *= 4
    n = max(1, int(n * budget_s / max(took, 1e-6)))
    best = float("inf")
    gc.disable()
    try:
        for _ in range(repeats):
            started = time.process_time()
            for _ in range(n):
                fn()
            best = min(best, (time.process_time() - started) / n)
    finally:
        gc.enable()
    return best


def main() -> int:
    p = base_parser(__doc__ or "")
    args = p.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-validation-only")
    data_dir = tempfile.mkdtemp(prefix="bench-validation-")  # settings never touch the checkout's .data/
    os.environ.setdefault("BATTERY_DATA_DIR", data_dir)
    try:
        return run(args)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def run(args: Any) -> int:
    import django

    django.setup()
    import orjson
    from rest_framework import serializers

    from common.parsers import loads_strict
    from diagnostics.validation import _log_fast, _log_full, log_validate

    results = Results("bench_validation", args)
    budget, repeats = (0.05, 3) if args.quick else (0.4, 7)

    data = hundred_cell_log(7, vehicle_id="EV-10001", timestamp="2025-10-04T10:30:00.000000Z")
    raw = compact(data)
    assert len(data["cells"]) == 100

    bare = msgspec.json.Decoder(BareLog)
    from benchmarks.reference.starlette_app import DECODER as constrained

    class TextbookCell(serializers.Serializer):
        id = serializers.IntegerField(min_value=0, max_value=1023)
        voltage = serializers.FloatField(min_value=0.0, max_value=5.0)
        temperature = serializers.FloatField(min_value=-40.0, max_value=125.0)

    class TextbookLog(serializers.Serializer):
        vehicle_id = serializers.CharField(max_length=64)
        timestamp = serializers.DateTimeField()
        cells = TextbookCell(many=True)
        cycle_count = serializers.IntegerField(min_value=0)
        nominal_capacity_kwh = serializers.FloatField()
        current_capacity_kwh = serializers.FloatField()

    def textbook() -> Any:
        s = TextbookLog(data=orjson.loads(raw))
        s.is_valid(raise_exception=True)
        return s.validated_data

    # Sanity: every candidate accepts the body, ours through its fast path.
    assert _log_fast(raw) is not None, "the fast path rejected a valid 100-cell log"
    assert isinstance(log_validate(raw)["timestamp"], datetime)

    bulk_items = [hundred_cell_log(i, vehicle_id=f"EV-{i:05d}") for i in range(100)]
    bulk_raw = compact(bulk_items)

    def bulk_full() -> None:
        for item in loads_strict(bulk_raw):
            _log_full(item)

    from common.parsers import RawBulkBody
    from diagnostics.validation import ItemError, logs_validate_bulk

    bulk_body = RawBulkBody(bulk_raw, ndjson=False)
    assert not any(isinstance(item, ItemError) for item in logs_validate_bulk(bulk_body))

    def bulk_fast() -> None:
        logs_validate_bulk(bulk_body)

    candidates: list[tuple[str, str, Callable[[], Any], int]] = [
        ("json_stdlib", "json.loads (stdlib, untyped)", lambda: __import__("json").loads(raw), 1),
        ("orjson", "orjson.loads (untyped)", lambda: orjson.loads(raw), 1),
        ("msgspec_untyped", "msgspec.json.decode (untyped)", lambda: msgspec.json.decode(raw), 1),
        ("msgspec_bare", "msgspec decode into a Struct (bare, baseline)", lambda: bare.decode(raw), 1),
        ("msgspec_constrained", "msgspec decode, full constraints (Starlette ref)", lambda: constrained.decode(raw), 1),
        ("ours_fast", "ours: log_validate (msgspec fast path)", lambda: log_validate(raw), 1),
        ("drf_full", "full DRF path: _log_full(loads_strict(raw))", lambda: _log_full(loads_strict(raw)), 1),
        ("textbook", "textbook nested DRF serializer (no DB)", textbook, 1),
        ("bulk_item", "bulk endpoint per item: logs_validate_bulk (array split + fast path)", bulk_fast, 100),
        ("bulk_item_full", "bulk full path per item: loads_strict(array) + _log_full", bulk_full, 100),
    ]
    for key, label, fn, items in candidates:
        seconds = per_call(fn, budget_s=budget, repeats=repeats) / items
        results.add(key, label, round(seconds * 1e6, 2), "us/log")

    results.ratio("ours (log_validate) / bare msgspec decode", "ours_fast", "msgspec_bare", target=5.0, at_most=True)
    results.ratio("ours / msgspec with the full constraints", "ours_fast", "msgspec_constrained")
    results.ratio("full DRF path / bare msgspec decode", "drf_full", "msgspec_bare")
    results.ratio("full DRF path / ours", "drf_full", "ours_fast")
    results.ratio("textbook nested serializer / ours", "textbook", "ours_fast")
    results.ratio("bulk endpoint per item / ours (single endpoint)", "bulk_item", "ours_fast")
    results.ratio("bulk full path per item / bulk endpoint per item", "bulk_item_full", "bulk_item")
    results.note(f"body: {len(raw)} bytes of compact JSON, 100 cells; CPU time per call, best of {repeats} repeats")
    results.print()
    results.save()
    return 0


if __name__ == "__main__":
    sys.exit(main())
