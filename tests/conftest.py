"""Fixtures shared by every layer of tests."""

import copy
import json
import os
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
# The sample logs with their expected reports: a copy of ../shared/testdata/reports.json, kept in the
# repository so a fresh clone tests the same cases (tests/unit/test_testdata.py keeps the copy in sync).
SHARED_TESTDATA = REPO_ROOT.parent / "shared" / "testdata" / "reports.json"
TESTDATA = Path(os.environ.get("BATTERY_TESTDATA") or REPO_ROOT / "tests" / "data" / "reports.json")
if TESTDATA.is_dir():
    TESTDATA = TESTDATA / "reports.json"


def load_cases() -> list[dict[str, Any]]:
    if not TESTDATA.exists():
        return []
    return json.loads(TESTDATA.read_text())


@pytest.fixture
def sample_log() -> dict[str, Any]:
    """A valid log (the contract's example pack, 4 cells)."""
    return {
        "vehicle_id": "EV-12345",
        "timestamp": "2025-10-04T10:30:00.000000Z",
        "cells": [
            {"id": 0, "voltage": 4.05, "temperature": 35.2},
            {"id": 1, "voltage": 4.03, "temperature": 36.1},
            {"id": 2, "voltage": 4.04, "temperature": 35.0},
            {"id": 3, "voltage": 4.06, "temperature": 34.8},
        ],
        "cycle_count": 412,
        "nominal_capacity_kwh": 60.0,
        "current_capacity_kwh": 54.9,
    }


@pytest.fixture
def make_log(sample_log):  # type: ignore[no-untyped-def]
    def _make(**overrides: Any) -> dict[str, Any]:
        log = copy.deepcopy(sample_log)
        log.update(overrides)
        return log

    return _make


@pytest.fixture(autouse=True)
def _fresh_rate_limits():  # type: ignore[no-untyped-def]
    """Rate-limit counters live in the cache; every test starts with none."""
    from django.core.cache import cache

    from common.throttling import FixedWindowThrottle

    cache.clear()
    FixedWindowThrottle._cache_down_until = 0.0


# `make test` runs everything but these (pytest -m "not slow", on pytest-xdist); `make test-slow` runs them and
# CI runs both. Slow: the suites that start the whole service as processes per test, or a browser, or a
# real Prometheus: the fault scenarios, the dashboard in chromium, the e2e runs (schemathesis included),
# the live observability checks, and each real-worker module's second run on RabbitMQ (its Redis run stays fast).
SLOW_DIRECTORIES = {"faults", "browser", "e2e"}
SLOW_MODULES = {"test_observability_live.py"}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: left out of `make test`; run by `make test-slow` and CI")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    tests_root = Path(__file__).resolve().parent
    for item in items:
        relative = item.path.resolve().relative_to(tests_root)
        if relative.parts[0] in SLOW_DIRECTORIES or relative.name in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)
