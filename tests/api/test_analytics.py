"""Contract section 6: a vehicle's health trend and forecast, and its cell ranking (fleet-scoped)."""

from datetime import UTC, datetime, timedelta

import pytest

from tests.api.conftest import check_error
from tests.api.test_vehicles import log, post

START = datetime(2024, 1, 1, tzinfo=UTC)


def pack(*, hot: bool = True, low: bool = True) -> list[dict[str, float]]:
    cells = [{"id": n, "voltage": 3.90 + 0.001 * n, "temperature": 30.0 + 0.1 * n} for n in range(8)]
    if hot:
        cells[2]["temperature"] = 42.0  # 12 °C above the pack
    if low:
        cells[5]["voltage"] = 3.85  # about 52 mV below the pack
    return cells


def ageing_vehicle(client, vehicle_id: str, *, logs: int, step_at: int | None = None) -> list[str]:  # type: ignore[no-untyped-def]
    """One log every 5 days, 12 cycles a day, SoH falling 0.06 % a log from 96 %; a +4 % step at `step_at`."""
    ids = []
    for n in range(logs):
        soh = 96.0 - 0.06 * n + (4.0 if step_at is not None and n >= step_at else 0.0)
        at = (START + timedelta(days=5 * n)).isoformat()
        ids.append(post(client, log(vehicle_id, at, current=round(60.0 * soh / 100, 4), cells=pack(), cycles=60 * n)))
    return ids


def test_the_health_trend_has_the_contract_shape_and_a_forecast(client_a):
    ids = ageing_vehicle(client_a, "EV-H", logs=40)

    body = client_a.get("/api/v1/vehicles/EV-H/health").json()

    assert set(body) == {"vehicle_id", "profile", "logs_used", "soh_latest", "fade", "forecast", "jumps", "series"}
    assert (body["vehicle_id"], body["profile"], body["logs_used"]) == ("EV-H", "nmc", 40)
    # The series is exactly SoH = 96 - N / 1000 (N = 60 n cycles, 12 a day): the fit recovers it, so the last
    # fitted value is 96 - 0.06 x 39 and the fade 1 % per 1,000 cycles, 0.012 % a day x 365.25 = 4.383 % a year.
    assert body["soh_latest"] == 93.66
    assert body["fade"] == {"percent_per_1000_cycles": 1.0, "percent_per_year": 4.38}
    forecast = body["forecast"]
    assert (forecast["status"], forecast["threshold_soh"], forecast["interval"]) == ("ok", 80.0, 0.8)
    assert forecast["cycle_count"]["low"] <= forecast["cycle_count"]["estimate"] <= forecast["cycle_count"]["high"]
    assert forecast["date"]["low"] <= forecast["date"]["estimate"] <= forecast["date"]["high"]
    assert forecast["method"]
    assert forecast["version"]
    assert body["jumps"] == []
    assert [point["log_id"] for point in body["series"]] == ids
    assert set(body["series"][0]) == {"log_id", "timestamp", "cycle_count", "battery_soh", "fitted"}


def test_a_step_in_soh_is_a_jump_not_wear(client_a):
    ids = ageing_vehicle(client_a, "EV-J", logs=40, step_at=25)

    body = client_a.get("/api/v1/vehicles/EV-J/health").json()

    assert [jump["log_id"] for jump in body["jumps"]] == [ids[25]]
    # The step is +4 % at log 25, less the 0.06 % wear of one log between the fitted values on either side.
    assert body["jumps"][0]["delta"] == 3.94
    # The step is an offset of the fit, not wear: the fade is that of the same series without the step.
    steady = body["fade"]
    ageing_vehicle(client_a, "EV-K", logs=40)
    assert steady == client_a.get("/api/v1/vehicles/EV-K/health").json()["fade"]
    assert steady == {"percent_per_1000_cycles": 1.0, "percent_per_year": 4.38}


def test_too_few_logs_is_insufficient_data(client_a):
    ageing_vehicle(client_a, "EV-S", logs=3)

    forecast = client_a.get("/api/v1/vehicles/EV-S/health").json()["forecast"]

    assert forecast["status"] == "insufficient_data"
    nothing = {"estimate": None, "low": None, "high": None}
    assert (forecast["cycle_count"], forecast["date"]) == (nothing, nothing)


def test_the_cells_are_ranked_alert_first(client_a):
    ageing_vehicle(client_a, "EV-C", logs=10)

    body = client_a.get("/api/v1/vehicles/EV-C/cells?window_days=30").json()

    assert body["vehicle_id"] == "EV-C"
    assert body["window"] == {
        "since": "2024-01-16T00:00:00.000000Z",
        "until": "2024-02-15T00:00:00.000000Z",
        "logs": 7,
    }
    first, second = body["cells"][:2]
    assert (first["id"], first["level"], first["reasons"]) == (5, "alert", ["low_voltage"])
    assert (second["id"], second["level"], second["reasons"]) == (2, "alert", ["hot"])
    assert {cell["level"] for cell in body["cells"][2:]} == {"ok"}
    assert sorted(cell["id"] for cell in body["cells"]) == list(range(8))


def test_a_vehicle_without_logs_has_an_empty_ranking(client_a):
    client_a.put("/api/v1/vehicles/EV-E", {})

    assert client_a.get("/api/v1/vehicles/EV-E/cells").json() == {
        "vehicle_id": "EV-E",
        "window": {"since": None, "until": None, "logs": 0},
        "cells": [],
    }


@pytest.mark.parametrize("value", ["0", "366", "abc", "-1", "1.5", ""])
def test_window_days_is_validated(client_a, value):
    client_a.put("/api/v1/vehicles/EV-E", {})
    check_error(client_a.get(f"/api/v1/vehicles/EV-E/cells?window_days={value}"), 400, "invalid", {"window_days"})


@pytest.mark.parametrize("path", ["health", "cells"])
def test_another_fleets_or_an_unknown_vehicle_is_404(client_a, client_b, path):
    post(client_b, log("EV-B", "2025-10-04T10:30:00Z"))
    check_error(client_a.get(f"/api/v1/vehicles/EV-B/{path}"), 404, "not_found")
    check_error(client_a.get(f"/api/v1/vehicles/EV-NONE/{path}"), 404, "not_found")
