"""POST /api/v1/diagnostics/bulk: up to 1,000 logs per request, each item judged on its own."""

import json

import pytest

from reports.models import BatteryReport
from simulator.generator import mock_log
from vehicles.models import DiagnosticLog, Vehicle

URL = "/api/v1/diagnostics/bulk"


def _logs(count: int, prefix: str = "EV-BULK") -> list[dict]:
    return [mock_log(seed=seed, vehicle_id=f"{prefix}-{seed}") for seed in range(count)]


def test_mixed_batch_reports_each_item_and_stores_only_the_valid_ones(client_a, sample_log):
    client_a.post("/api/v1/diagnostics", sample_log)  # already stored: its resend is a duplicate
    conflicting = {**sample_log, "cycle_count": sample_log["cycle_count"] + 1}
    fresh = _logs(3)
    invalid = {**fresh[0], "vehicle_id": "EV-X", "cells": [{"id": 0, "voltage": 9, "temperature": 30}]}
    items = [fresh[0], invalid, sample_log, conflicting, fresh[1], fresh[1], {**fresh[1], "cycle_count": 1}, fresh[2]]
    response = client_a.post(URL, items)
    assert response.status_code == 200, response.content
    body = response.json()
    statuses = [(r["index"], r["status"], r["http_status"]) for r in body["results"]]
    assert statuses == [
        (0, "created", 202),
        (1, "invalid", 400),
        (2, "duplicate", 200),
        (3, "conflict", 409),
        (4, "created", 202),
        (5, "duplicate", 200),
        (6, "conflict", 409),
        (7, "created", 202),
    ]
    results = body["results"]
    assert results[1]["error"]["code"] == "invalid"
    assert set(results[1]["error"]["fields"]) == {"cells[0].voltage"}
    assert "log_id" not in results[1]
    original = DiagnosticLog.objects.get(vehicle__vehicle_id=sample_log["vehicle_id"])
    assert results[2]["log_id"] == results[3]["log_id"] == str(original.pk)
    assert results[3]["error"]["code"] == "conflict"
    assert results[5]["log_id"] == results[6]["log_id"] == results[4]["log_id"]
    assert body["counts"] == {"created": 3, "duplicate": 2, "conflict": 2, "invalid": 1, "forbidden": 0}
    assert DiagnosticLog.objects.count() == 4
    assert not Vehicle.objects.filter(vehicle_id="EV-X").exists()
    # One batch task computed every new log's report (in-process here).
    for result in results:
        if result["status"] == "created":
            report = client_a.get(f"/api/v1/reports/{result['log_id']}")
            assert report.status_code == 200
            assert report.json()["status"] == "completed"
    assert BatteryReport.objects.count() == 4


def test_other_fleets_vehicles_are_per_item_403(client_a, client_b):
    theirs, mine = _logs(2, prefix="EV-B")
    assert client_b.post("/api/v1/diagnostics", theirs).status_code == 202
    response = client_a.post(URL, [theirs, mine, {**theirs, "cycle_count": 5}])
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["forbidden", "created", "forbidden"]
    assert [r["http_status"] for r in results] == [403, 202, 403]
    assert results[0]["error"]["code"] == "permission_denied"
    assert "log_id" not in results[0]
    assert "log_id" not in results[2]
    assert DiagnosticLog.objects.filter(vehicle__fleet__name="fleet-a").count() == 1
    assert DiagnosticLog.objects.filter(vehicle__fleet__name="fleet-b").count() == 1


def test_ndjson_with_a_broken_line_rejects_only_that_line(api_a):
    first, second = _logs(2)
    body = json.dumps(first) + "\n{not json\n\n" + json.dumps(second) + "\n" + '{"a": NaN}\n'
    response = api_a.post(URL, raw=body, content_type="application/x-ndjson")
    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["created", "invalid", "created", "invalid"]
    assert results[1]["error"]["code"] == "parse_error"
    assert results[3]["error"]["code"] == "parse_error"
    assert DiagnosticLog.objects.count() == 2


def test_one_thousand_items_are_accepted(api_a):
    response = api_a.post(URL, _logs(1000))
    assert response.status_code == 200
    assert response.json()["counts"]["created"] == 1000
    assert DiagnosticLog.objects.count() == 1000


def test_one_thousand_and_one_items_are_413(api_a, assert_error):
    error = assert_error(api_a.post(URL, _logs(1001)), 413, "payload_too_large")
    assert "1000" in error["message"]
    assert DiagnosticLog.objects.count() == 0


@pytest.mark.parametrize(
    ("raw", "content_type", "status", "code"),
    [
        pytest.param('{"vehicle_id": "EV-1"}', "application/json", 400, "invalid", id="object-not-array"),
        pytest.param("[1, 2", "application/json", 400, "parse_error", id="broken-json"),
        pytest.param("[" * 65 + "]" * 65, "application/json", 400, "parse_error", id="65-levels-deep"),
        pytest.param("[" * 100_000 + "]" * 100_000, "application/json", 400, "parse_error", id="100000-levels-deep"),
        pytest.param("[]", "text/plain", 415, "unsupported_media_type", id="text-plain"),
        pytest.param("", "application/json", 400, "parse_error", id="empty"),
    ],
)
def test_request_level_errors(api_a, assert_error, raw, content_type, status, code):
    assert_error(api_a.post(URL, raw=raw, content_type=content_type), status, code)
    assert DiagnosticLog.objects.count() == 0


def test_an_empty_array_is_an_empty_answer(api_a):
    response = api_a.post(URL, [])
    assert response.status_code == 200
    assert response.json()["results"] == []


def test_body_over_the_bulk_limit_is_413(api_a, assert_error, settings):
    settings.MAX_BULK_BODY_BYTES = 1000
    assert_error(api_a.post(URL, _logs(2)), 413, "payload_too_large")


def test_bulk_needs_a_token(anon, assert_error):
    assert_error(anon.post(URL, _logs(1)), 401, "not_authenticated")


# --- depth: 64 levels counted from the body's root (docs/bulk.md) ---------------------------------------------


def _with_nested_extra(log: dict, item_depth: int) -> str:
    """The log as JSON with an unknown field of nested arrays, so that the item is `item_depth` levels deep."""
    text = json.dumps({**log, "extra": 0})
    assert text.endswith('"extra": 0}')
    return text[: -len("0}")] + "[" * (item_depth - 1) + "]" * (item_depth - 1) + "}"


def test_array_item_63_levels_deep_is_stored_without_its_unknown_field(api_a):
    log = mock_log(seed=1, vehicle_id="EV-DEEP-1")
    response = api_a.post(URL, raw="[" + _with_nested_extra(log, 63) + "]")
    assert response.status_code == 200, response.content
    assert [(r["status"], r["http_status"]) for r in response.json()["results"]] == [("created", 202)]
    stored = api_a.get(f"/api/v1/diagnostics/{response.json()['results'][0]['log_id']}").json()
    assert "extra" not in stored
    assert stored["cells"] == log["cells"]


def test_array_item_64_levels_deep_makes_the_body_65_deep_a_400(api_a, assert_error):
    raw = "[" + json.dumps(mock_log(seed=2, vehicle_id="EV-DEEP-2")) + "," + _with_nested_extra(mock_log(seed=3), 64)
    error = assert_error(api_a.post(URL, raw=raw + "]"), 400, "parse_error")
    assert error["message"] == "JSON nesting is deeper than 64 levels."
    assert DiagnosticLog.objects.count() == 0
    assert Vehicle.objects.count() == 0


def test_ndjson_line_64_deep_is_stored_and_a_line_65_deep_is_its_own_parse_error(api_a):
    lines = [
        _with_nested_extra(mock_log(seed=4, vehicle_id="EV-DEEP-4"), 64),
        _with_nested_extra(mock_log(seed=5, vehicle_id="EV-DEEP-5"), 65),
    ]
    response = api_a.post(URL, raw="\n".join(lines), content_type="application/x-ndjson")
    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert [(r["status"], r["http_status"]) for r in results] == [("created", 202), ("invalid", 400)]
    assert results[1]["error"] == {"code": "parse_error", "message": "JSON nesting is deeper than 64 levels."}
    assert list(Vehicle.objects.values_list("vehicle_id", flat=True)) == ["EV-DEEP-4"]
    assert DiagnosticLog.objects.count() == 1
