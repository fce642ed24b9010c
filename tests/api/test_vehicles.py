"""Contract section 5: the vehicles, their registry and their summaries (first/last seen, log count, latest)."""

import threading
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from django.db import connection

from tests.api.conftest import check_error
from vehicles.models import Vehicle

COOL = [{"id": 0, "voltage": 4.05, "temperature": 30.0}, {"id": 1, "voltage": 4.06, "temperature": 31.0}]
HOT = [{"id": 0, "voltage": 4.05, "temperature": 50.0}, {"id": 1, "voltage": 4.06, "temperature": 31.0}]


def log(vehicle_id: str, at: str, *, current: float = 54.0, cells: list[dict[str, Any]] = COOL, cycles: int = 100):
    return {
        "vehicle_id": vehicle_id,
        "timestamp": at,
        "cells": cells,
        "cycle_count": cycles,
        "nominal_capacity_kwh": 60.0,
        "current_capacity_kwh": current,
    }


def post(client, body: dict[str, Any]) -> str:  # type: ignore[no-untyped-def]
    response = client.post("/api/v1/diagnostics", body)
    assert response.status_code == 202, response.content
    return response.json()["log_id"]


# --- one vehicle ---------------------------------------------------------------------------------------------


def test_a_vehicle_exists_after_its_first_log_with_its_summary(client_a):
    log_id = post(client_a, log("EV-1", "2025-10-04T10:30:00Z", current=48.0, cells=HOT, cycles=412))

    body = client_a.get("/api/v1/vehicles/EV-1").json()

    assert body == {
        "vehicle_id": "EV-1",
        "vin": None,
        "model": None,
        "manufacture_date": None,
        "profile": "nmc",
        "first_seen": "2025-10-04T10:30:00.000000Z",
        "last_seen": "2025-10-04T10:30:00.000000Z",
        "log_count": 1,
        "latest": {
            "log_id": log_id,
            "timestamp": "2025-10-04T10:30:00.000000Z",
            "battery_soh": 80.0,
            "cycle_count": 412,
            "anomalies": ["Overheating detected"],
        },
    }


def test_first_and_last_seen_count_and_latest_follow_the_logs(client_a):
    post(client_a, log("EV-1", "2025-10-04T10:00:00Z"))
    newest = post(client_a, log("EV-1", "2025-10-04T12:00:00Z", current=50.0))
    post(client_a, log("EV-1", "2025-10-04T11:00:00Z", current=30.0))  # a late log

    body = client_a.get("/api/v1/vehicles/EV-1").json()

    assert (body["first_seen"], body["last_seen"], body["log_count"]) == (
        "2025-10-04T10:00:00.000000Z",
        "2025-10-04T12:00:00.000000Z",
        3,
    )
    assert body["latest"]["log_id"] == newest
    assert body["latest"]["battery_soh"] == 83.33


def test_a_late_log_never_becomes_latest_even_when_its_report_completes_first(client_a, settings):
    """The newer log is stored first but its report is not computed yet; the late log's report completes:
    the vehicle has no latest until the newer report lands, then it is the newer one."""
    from config.celery import app

    app.conf.task_always_eager = False  # store both, compute nothing yet
    settings.CELERY_TASK_ALWAYS_EAGER = False
    from unittest.mock import patch

    with (
        patch("reports.dispatch.reports_enqueue", lambda log_ids: True),
        patch("reports.dispatch.publisher.submit", lambda log_ids: None),
    ):
        newer = client_a.post("/api/v1/diagnostics", log("EV-L", "2025-10-04T12:00:00Z")).json()["log_id"]
        late = client_a.post("/api/v1/diagnostics", log("EV-L", "2025-10-04T11:00:00Z")).json()["log_id"]
    from reports.services import battery_reports_generate

    battery_reports_generate(log_ids=[late], max_attempts=8)
    assert client_a.get("/api/v1/vehicles/EV-L").json()["latest"] is None
    battery_reports_generate(log_ids=[newer], max_attempts=8)
    assert client_a.get("/api/v1/vehicles/EV-L").json()["latest"]["log_id"] == newer


def test_reports_completing_out_of_order_leave_the_newest_as_latest(client_a, settings):
    from unittest.mock import patch

    from config.celery import app
    from reports.services import battery_reports_generate

    app.conf.task_always_eager = False
    settings.CELERY_TASK_ALWAYS_EAGER = False
    with patch("reports.dispatch.publisher.submit", lambda log_ids: None):
        older = client_a.post("/api/v1/diagnostics", log("EV-O", "2025-10-04T10:00:00Z")).json()["log_id"]
        newer = client_a.post("/api/v1/diagnostics", log("EV-O", "2025-10-04T11:00:00Z")).json()["log_id"]
    battery_reports_generate(log_ids=[newer], max_attempts=8)
    battery_reports_generate(log_ids=[older], max_attempts=8)

    body = client_a.get("/api/v1/vehicles/EV-O").json()

    assert body["latest"]["log_id"] == newer
    assert (body["first_seen"], body["log_count"]) == ("2025-10-04T10:00:00.000000Z", 2)


def test_concurrent_batches_for_one_vehicle_count_every_log_and_keep_the_newest(client_a, settings):
    from unittest.mock import patch

    from config.celery import app
    from reports.services import battery_reports_generate

    app.conf.task_always_eager = False
    settings.CELERY_TASK_ALWAYS_EAGER = False
    start = datetime(2025, 10, 4, tzinfo=UTC)
    with patch("reports.dispatch.publisher.submit", lambda log_ids: None):
        ids = [
            client_a.post(
                "/api/v1/diagnostics", log("EV-C", (start + timedelta(minutes=n)).isoformat(), current=40.0 + n / 10)
            ).json()["log_id"]
            for n in range(40)
        ]
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def run(part: list[str]) -> None:
        try:
            barrier.wait(10)
            battery_reports_generate(log_ids=part, max_attempts=8)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(ids[n::4],)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert errors == []
    body = client_a.get("/api/v1/vehicles/EV-C").json()
    assert body["log_count"] == 40
    assert body["latest"]["log_id"] == ids[-1]
    assert body["last_seen"] == "2025-10-04T00:39:00.000000Z"


def test_another_fleets_or_an_unknown_vehicle_is_404(client_a, client_b):
    post(client_b, log("EV-B", "2025-10-04T10:30:00Z"))

    check_error(client_a.get("/api/v1/vehicles/EV-B"), 404, "not_found")
    check_error(client_a.get("/api/v1/vehicles/EV-NONE"), 404, "not_found")
    check_error(client_a.get("/api/v1/vehicles/%20bad%0A"), 404, "not_found")


def test_vehicles_need_a_token(anon):
    check_error(anon.get("/api/v1/vehicles"), 401, "not_authenticated")
    check_error(anon.get("/api/v1/vehicles/EV-1"), 401, "not_authenticated")


# --- the registry ----------------------------------------------------------------------------------------------


def test_put_registers_a_vehicle_before_its_first_log(client_a):
    response = client_a.put(
        "/api/v1/vehicles/EV-NEW",
        {"vin": "1HGBH41JXMN109186", "model": "Model Y", "manufacture_date": "2022-03-01", "profile": "lfp"},
    )

    assert response.status_code == 201, response.content
    assert response.json() == {
        "vehicle_id": "EV-NEW",
        "vin": "1HGBH41JXMN109186",
        "model": "Model Y",
        "manufacture_date": "2022-03-01",
        "profile": "lfp",
        "first_seen": None,
        "last_seen": None,
        "log_count": 0,
        "latest": None,
    }
    post(client_a, log("EV-NEW", "2025-10-04T10:30:00Z"))  # its logs are the fleet's
    assert client_a.get("/api/v1/vehicles/EV-NEW").json()["log_count"] == 1


def test_put_updates_only_the_fields_given(client_a):
    post(client_a, log("EV-1", "2025-10-04T10:30:00Z"))
    client_a.put("/api/v1/vehicles/EV-1", {"vin": "1HGBH41JXMN109186", "model": "Leaf"})

    response = client_a.put("/api/v1/vehicles/EV-1", {"model": "Leaf e+"})

    assert response.status_code == 200
    body = response.json()
    assert (body["vin"], body["model"], body["profile"], body["log_count"]) == (
        "1HGBH41JXMN109186",
        "Leaf e+",
        "nmc",
        1,
    )
    assert client_a.put("/api/v1/vehicles/EV-1", {"vin": None}).json()["vin"] is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"vin": "1HGBH41JXMN10918"}, "vin"),  # 16 characters
        ({"vin": "1HGBH41JXMN1091866"}, "vin"),  # 18
        ({"vin": "1HGBH41JXMN10918I"}, "vin"),  # I is not a VIN character
        ({"vin": "1hgbh41jxmn109186"}, "vin"),
        ({"vin": 12345678901234567}, "vin"),
        ({"manufacture_date": (date.today() + timedelta(days=2)).isoformat()}, "manufacture_date"),
        ({"manufacture_date": "2022-02-30"}, "manufacture_date"),
        ({"manufacture_date": "2022-03-01T00:00:00Z"}, "manufacture_date"),
        ({"profile": "nimh"}, "profile"),
        ({"profile": None}, "profile"),
        ({"model": "x" * 101}, "model"),
    ],
)
def test_put_rejects_bad_registry_fields_naming_them_and_stores_nothing(client_a, body, field):
    check_error(client_a.put("/api/v1/vehicles/EV-1", body), 400, "invalid", {field})
    assert not Vehicle.objects.filter(vehicle_id="EV-1").exists()


def test_put_with_a_bad_vehicle_id_or_body_is_400(client_a):
    check_error(client_a.put("/api/v1/vehicles/-bad", {"model": "x"}), 400, "invalid", {"vehicle_id"})
    check_error(client_a.put("/api/v1/vehicles/EV-1", ["not", "an", "object"]), 400, "invalid")
    check_error(client_a.put("/api/v1/vehicles/EV-1", raw="{nope"), 400, "parse_error")


def test_a_vin_is_unique_within_the_fleet_not_across_fleets(client_a, client_b):
    client_a.put("/api/v1/vehicles/EV-1", {"vin": "1HGBH41JXMN109186"})

    check_error(client_a.put("/api/v1/vehicles/EV-2", {"vin": "1HGBH41JXMN109186"}), 409, "conflict")
    assert not Vehicle.objects.filter(vehicle_id="EV-2").exists()
    client_a.put("/api/v1/vehicles/EV-3", {})
    check_error(client_a.put("/api/v1/vehicles/EV-3", {"vin": "1HGBH41JXMN109186"}), 409, "conflict")
    assert client_b.put("/api/v1/vehicles/EV-B", {"vin": "1HGBH41JXMN109186"}).status_code == 201


def test_put_on_another_fleets_vehicle_is_403_and_changes_nothing(client_a, client_b):
    post(client_b, log("EV-B", "2025-10-04T10:30:00Z"))

    check_error(client_a.put("/api/v1/vehicles/EV-B", {"model": "mine now"}), 403, "permission_denied")
    assert Vehicle.objects.get(vehicle_id="EV-B").model is None


# --- the list ----------------------------------------------------------------------------------------------------


@pytest.fixture
def fleet_of_five(client_a) -> dict[str, str]:
    """EV-A..EV-E: SoH 90, 70 (hot), 85, none (registered only), 60; profiles nmc but EV-C lfp."""
    post(client_a, log("EV-A", "2025-10-04T10:00:00Z", current=54.0))
    post(client_a, log("EV-B", "2025-10-04T11:00:00Z", current=42.0, cells=HOT))
    post(client_a, log("EV-C", "2025-10-04T09:00:00Z", current=51.0))
    client_a.put("/api/v1/vehicles/EV-C", {"profile": "lfp"})
    client_a.put("/api/v1/vehicles/EV-D", {})
    post(client_a, log("EV-E", "2025-10-04T12:00:00Z", current=36.0))
    return {}


def _ids(response) -> list[str]:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.content
    return [vehicle["vehicle_id"] for vehicle in response.json()["results"]]


@pytest.mark.parametrize(
    ("ordering", "expected"),
    [
        (None, ["EV-A", "EV-B", "EV-C", "EV-D", "EV-E"]),
        ("vehicle_id", ["EV-A", "EV-B", "EV-C", "EV-D", "EV-E"]),
        ("-vehicle_id", ["EV-E", "EV-D", "EV-C", "EV-B", "EV-A"]),
        ("latest_soh", ["EV-D", "EV-E", "EV-B", "EV-C", "EV-A"]),
        ("-latest_soh", ["EV-A", "EV-C", "EV-B", "EV-E", "EV-D"]),
        ("last_seen", ["EV-D", "EV-C", "EV-A", "EV-B", "EV-E"]),
        ("-last_seen", ["EV-E", "EV-B", "EV-A", "EV-C", "EV-D"]),
    ],
)
def test_the_list_orders_and_pages_through_every_vehicle_once(client_a, fleet_of_five, ordering, expected):
    query = f"?limit=2&ordering={ordering}" if ordering else "?limit=2"
    seen: list[str] = []
    url: str | None = f"/api/v1/vehicles{query}"
    pages = 0
    while url:
        response = client_a.get(url)
        seen += _ids(response)
        url = response.json()["next"]
        pages += 1
    assert seen == expected
    assert pages == 3


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("profile=lfp", ["EV-C"]),
        ("profile=nmc", ["EV-A", "EV-B", "EV-D", "EV-E"]),
        ("anomaly=overheating", ["EV-B"]),
        ("anomaly=low_soh", ["EV-B", "EV-E"]),
        ("anomaly=voltage_imbalance", []),
        ("soh_lt=80", ["EV-B", "EV-E"]),
        ("soh_gte=85", ["EV-A", "EV-C"]),
        ("soh_gte=60&soh_lt=85.5", ["EV-B", "EV-C", "EV-E"]),
        ("unknown_parameter=1", ["EV-A", "EV-B", "EV-C", "EV-D", "EV-E"]),
    ],
)
def test_the_list_filters(client_a, fleet_of_five, query, expected):
    assert _ids(client_a.get(f"/api/v1/vehicles?{query}")) == expected


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("limit=abc", "limit"),
        ("limit=-1", "limit"),
        ("limit=2.5", "limit"),
        ("ordering=soh", "ordering"),
        ("ordering=--vehicle_id", "ordering"),
        ("anomaly=fire", "anomaly"),
        ("profile=nimh", "profile"),
        ("soh_lt=abc", "soh_lt"),
        ("soh_gte=NaN", "soh_gte"),
        ("soh_lt=Infinity", "soh_lt"),
        ("cursor=garbage", "cursor"),
        ("cursor=", "cursor"),
    ],
)
def test_a_bad_list_parameter_is_a_400_naming_it(client_a, fleet_of_five, query, parameter):
    check_error(client_a.get(f"/api/v1/vehicles?{query}"), 400, "invalid", {parameter})


def test_a_cursor_is_only_good_for_the_list_and_ordering_that_issued_it(client_a, fleet_of_five):
    next_url = client_a.get("/api/v1/vehicles?limit=1").json()["next"]
    cursor = quote(parse_qs(urlsplit(next_url).query)["cursor"][0])
    assert client_a.get(f"/api/v1/vehicles?cursor={cursor}").status_code == 200

    check_error(client_a.get(f"/api/v1/vehicles?cursor={cursor}&ordering=-latest_soh"), 400, "invalid", {"cursor"})
    check_error(client_a.get(f"/api/v1/reports?cursor={cursor}"), 400, "invalid", {"cursor"})
    tampered = cursor[:-2] + ("AA" if cursor[-2:] != "AA" else "BB")
    check_error(client_a.get(f"/api/v1/vehicles?cursor={tampered}"), 400, "invalid", {"cursor"})


def test_paging_is_stable_while_vehicles_arrive(client_a, fleet_of_five):
    first = client_a.get("/api/v1/vehicles?limit=2&ordering=vehicle_id").json()
    client_a.put("/api/v1/vehicles/EV-0", {})  # sorts before the cursor: not seen, nothing shifts
    client_a.put("/api/v1/vehicles/EV-BB", {})  # sorts after it: seen once
    rest: list[str] = []
    url = first["next"]
    while url:
        page = client_a.get(url).json()
        rest += [vehicle["vehicle_id"] for vehicle in page["results"]]
        url = page["next"]
    assert [v["vehicle_id"] for v in first["results"]] + rest == ["EV-A", "EV-B", "EV-BB", "EV-C", "EV-D", "EV-E"]


def test_many_vehicles_with_equal_values_page_without_repeats(client_a):
    for n in range(30):
        client_a.put(f"/api/v1/vehicles/EV-{n:02d}", {})  # no report: equal latest_soh and last_seen
    for ordering in ("latest_soh", "-last_seen"):
        seen: list[str] = []
        url: str | None = f"/api/v1/vehicles?limit=7&ordering={ordering}"
        while url:
            page = client_a.get(url).json()
            seen += [vehicle["vehicle_id"] for vehicle in page["results"]]
            url = page["next"]
        assert sorted(seen) == [f"EV-{n:02d}" for n in range(30)]
        assert len(seen) == 30


def test_the_list_shows_only_the_callers_fleet(client_a, client_b, fleet_of_five):
    post(client_b, log("EV-B-ONLY", "2025-10-04T10:30:00Z"))
    assert "EV-B-ONLY" not in _ids(client_a.get("/api/v1/vehicles?limit=500"))
    assert _ids(client_b.get("/api/v1/vehicles")) == ["EV-B-ONLY"]
