"""POST /api/v1/diagnostics/bulk on its fast paths: the same answers as the full path, and COPY for new logs.

- Validation: `diagnostics.validation.logs_validate_bulk` (msgspec + the fast path `_log_fast`, the full
  path only when the fast one declines) against a reference copy of the full path alone (strict parse of
  the whole body or of each NDJSON line, then `_log_full` per item); and whole HTTP answers with the fast
  path on and forced off.
- Writes: `diagnostic_logs_ingest_bulk` stores new logs with one COPY, and falls back to
  INSERT … ON CONFLICT (in a savepoint) when some are stored already.
"""

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from django.db import connection, transaction
from rest_framework.exceptions import APIException, ParseError, ValidationError

import diagnostics.services as services
import diagnostics.validation as validation
import reports.dispatch as dispatch
from common.errors import validation_error
from common.exceptions import DomainError, PayloadTooLarge
from common.limits import MAX_DEPTH
from common.parsers import LineError, RawBulkBody, loads_strict
from diagnostics.validation import ItemError, _log_full, logs_validate_bulk
from simulator.generator import mock_log
from vehicles.models import DiagnosticLog

URL = "/api/v1/diagnostics/bulk"
JSON, NDJSON = "application/json", "application/x-ndjson"


def _log(seed: int, **overrides: Any) -> dict[str, Any]:
    log = mock_log(seed=seed, vehicle_id=f"EV-FAST-{seed}")
    log["cells"] = log["cells"][:6]
    log.update(overrides)
    return log


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _array(*items: str, sep: str = ",") -> bytes:
    return ("[" + sep.join(items) + "]").encode()


def _with_repeated_key(item: str) -> str:
    return '{"cycle_count":1,' + item[1:]


# --- The reference: the full path alone, as the view ran it before the fast path -------------------------------


def _legacy_items(raw: bytes, ndjson: bool) -> list[Any]:
    """What the full path computes per item (or the request-level exception it raises)."""
    if ndjson:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise AssertionError("the parser rejects such a body before validation") from exc
        body: Any = []
        for line in text.split("\n"):
            if not line.strip():
                continue
            try:
                body.append(loads_strict(line))
            except ParseError as exc:
                body.append(LineError(str(exc.detail)))
    else:
        body = loads_strict(raw)
    if not isinstance(body, list):
        raise ValidationError({"non_field_errors": ["Expected a JSON array of logs (or NDJSON)."]})
    if len(body) > 3:  # settings.MAX_BULK_ITEMS in these tests
        raise PayloadTooLarge(f"At most 3 logs per request; got {len(body)}.")
    results: list[Any] = []
    for item in body:
        if isinstance(item, LineError):
            results.append(ItemError({"code": "parse_error", "message": item.message}))
            continue
        try:
            results.append(_log_full(item))
        except ValidationError as exc:
            results.append(ItemError(validation_error(exc.detail)))
    return results


def _outcome(fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except APIException as exc:
        return (type(exc).__name__, exc.status_code, str(exc.detail) if isinstance(exc.detail, str) else exc.detail)
    except DomainError as exc:  # PayloadTooLarge: too many logs
        return (type(exc).__name__, exc.status, exc.message)


VALID = [_compact(_log(seed)) for seed in range(3)]
NESTED_CELLS = _compact({**_log(7), "cells": [[[{"id": 0}]]]})


def _nested_extra(item_depth: int) -> str:
    """A valid log whose unknown field nests arrays so that the item is `item_depth` levels deep."""
    return _compact({**_log(10), "extra": 0})[:-2] + "[" * (item_depth - 1) + "]" * (item_depth - 1) + "}"


# Depth counts from the body's root: in a JSON array an item may be MAX_DEPTH - 1 deep, an NDJSON line MAX_DEPTH.
DEEPEST_ARRAY_ITEM = _nested_extra(MAX_DEPTH - 1)
TOO_DEEP_ARRAY_ITEM = _nested_extra(MAX_DEPTH)
DEEPEST_LINE = _nested_extra(MAX_DEPTH)
TOO_DEEP_LINE = _nested_extra(MAX_DEPTH + 1)

JSON_BODIES = {
    "all-valid": _array(*VALID),
    "all-valid-indented": json.dumps([json.loads(item) for item in VALID], indent=2).encode(),
    "white-space-between-items": b" \r\n\t[ \n" + b" ,\r\n\t ".join(item.encode() for item in VALID) + b"\n ]\r\n ",
    "space-after-colons": _array(*[json.dumps(json.loads(item)) for item in VALID]),
    "cells-out-of-order": _array(_compact({**_log(1), "cells": list(reversed(_log(1)["cells"]))})),
    "empty-array": b"[]",
    "empty-array-white-space": b" [ \n ] ",
    "one-invalid-in-the-middle": _array(VALID[0], _compact({**_log(5), "cycle_count": -1}), VALID[2]),
    "not-an-object-item": _array(VALID[0], "17", VALID[1]),
    "repeated-key-in-an-item": _array(VALID[0], _with_repeated_key(VALID[1])),
    "repeated-cell-key": _array(VALID[0].replace('{"id":0,', '{"id":0,"id":0,', 1)),
    "nan-in-an-item": _array(VALID[0], _compact(_log(4)).replace('"cycle_count":', '"cycle_count":NaN,"x":', 1)),
    "infinity-number": _array(VALID[0].replace('"cycle_count":', '"cycle_count":1e999,"y":', 1)),
    "huge-integer": _array(VALID[0].replace('"cycle_count":', '"cycle_count":1' + "0" * 400 + ',"z":', 1)),
    "huge-integer-field": _array(VALID[1], _compact({**_log(2), "cycle_count": 10**400})),
    "unknown-field": _array(VALID[0], _compact({**_log(6), "firmware": "1.2.3"})),
    "integer-as-float": _array(_compact({**_log(8), "cycle_count": 412.0})),
    "lone-surrogate": _array(VALID[0], _compact(_log(9)).replace('"EV-FAST-9"', '"EV-\\ud800"')),
    "bad-utf8-in-a-string": _array(VALID[0], '{"vehicle_id":"X"}').replace(b'"X"', b'"\xff"'),
    "nested-cells": _array(VALID[0], NESTED_CELLS),
    "deepest-item-in-an-unknown-field": _array(VALID[0], DEEPEST_ARRAY_ITEM),
    "item-one-level-too-deep": _array(VALID[0], TOO_DEEP_ARRAY_ITEM),
    "item-10000-levels-deep": _array(VALID[0], _nested_extra(10_000)),
    "trailing-comma": _array(*VALID, ""),
    "trailing-garbage": _array(*VALID) + b" x",
    "form-feed-between-items": _array(*VALID, sep="\f,"),
    "byte-order-mark": b"\xef\xbb\xbf" + _array(*VALID),
    "object-not-array": VALID[0].encode(),
    "white-space-only": b" \n ",
    "four-items-over-the-limit": _array(*VALID, VALID[0]),
    "four-items-one-with-a-repeated-key": _array(*VALID, _with_repeated_key(VALID[0])),
    "four-items-one-not-parsing-as-a-log": _array(*VALID, "[1]"),
}

NDJSON_BODIES = {
    "all-valid": ("\n".join(VALID) + "\n").encode(),
    "crlf-and-blank-lines": ("\r\n".join(VALID) + "\r\n\r\n").encode(),
    "bad-lines": ("\n".join([VALID[0], "{not json", '{"a": NaN}']) + "\n").encode(),
    "repeated-key-line": "\n".join([_with_repeated_key(VALID[0]), VALID[1]]).encode(),
    "invalid-and-unknown-field": "\n".join(
        [_compact({**_log(3), "cycle_count": -5}), _compact({**_log(4), "k": 1})]
    ).encode(),
    "unicode-blank-lines": "\n".join(["\u00a0", VALID[0], "\x1c\u2028", " \t\x0b\x0c", VALID[1], "\u3000"]).encode(),
    "indented-lines": "\n".join(["  " + VALID[0] + "  ", "\t" + VALID[1]]).encode(),
    "three-items-among-blanks": ("\n\n".join(VALID) + "\n\n \n").encode(),
    "four-items-over-the-limit": "\n".join([*VALID, "{not json"]).encode(),
    "nested-cells-in-a-line": "\n".join([VALID[0], NESTED_CELLS]).encode(),
    "deepest-line-and-one-too-deep": "\n".join([DEEPEST_LINE, TOO_DEEP_LINE]).encode(),
    "line-10000-levels-deep": "\n".join([VALID[0], _nested_extra(10_000)]).encode(),
    "huge-integer-line": "\n".join([VALID[0], _compact({**_log(2), "cycle_count": 10**400})]).encode(),
    "non-ascii-line": "\n".join([VALID[0], '{"vehicle_id": "EV-é"}']).encode(),
}


@pytest.fixture
def small_limit(settings):  # type: ignore[no-untyped-def]
    settings.MAX_BULK_ITEMS = 3


@pytest.fixture
def full_path_calls(monkeypatch):  # type: ignore[no-untyped-def]
    """Counts the calls of the full validator made by logs_validate_bulk."""
    calls: list[Any] = []

    def spy(data: Any) -> Any:
        calls.append(data)
        return _log_full(data)

    monkeypatch.setattr(validation, "_log_full", spy)
    return calls


@pytest.mark.usefixtures("small_limit")
@pytest.mark.parametrize(("name", "ndjson"), [(n, False) for n in JSON_BODIES] + [(n, True) for n in NDJSON_BODIES])
def test_items_are_exactly_what_the_full_path_gave(name, ndjson):
    raw = (NDJSON_BODIES if ndjson else JSON_BODIES)[name]
    expected = _outcome(_legacy_items, raw, ndjson)
    assert _outcome(logs_validate_bulk, RawBulkBody(raw, ndjson=ndjson)) == expected


@pytest.mark.usefixtures("small_limit")
@pytest.mark.parametrize("ndjson", [False, True], ids=["json", "ndjson"])
def test_valid_bodies_never_reach_the_full_path(full_path_calls, ndjson):
    bodies = (
        [NDJSON_BODIES["all-valid"], NDJSON_BODIES["crlf-and-blank-lines"]]
        if ndjson
        else [JSON_BODIES[name] for name in ("all-valid", "all-valid-indented", "white-space-between-items")]
    )
    for raw in bodies:
        assert len(logs_validate_bulk(RawBulkBody(raw, ndjson=ndjson))) == 3
    assert full_path_calls == []


def test_one_declined_item_sends_the_whole_array_to_the_full_path(full_path_calls, small_limit):
    items = logs_validate_bulk(RawBulkBody(JSON_BODIES["unknown-field"], ndjson=False))
    assert not any(isinstance(item, ItemError) for item in items)
    assert len(full_path_calls) == 2  # both items, so the answers are the full path's


def test_ndjson_declined_lines_alone_take_the_full_path(full_path_calls, small_limit):
    items = logs_validate_bulk(RawBulkBody(NDJSON_BODIES["invalid-and-unknown-field"], ndjson=True))
    assert isinstance(items[0], ItemError)
    assert items[0].error["code"] == "invalid"
    assert not isinstance(items[1], ItemError)
    assert len(full_path_calls) == 2
    full_path_calls.clear()
    logs_validate_bulk(RawBulkBody("\n".join([VALID[0], _compact({**_log(4), "k": 1})]).encode(), ndjson=True))
    assert len(full_path_calls) == 1


# --- HTTP: whole answers with the fast path on and forced off ------------------------------------------------


def _answer(response: Any) -> tuple[int, Any]:
    """Status and body, log ids replaced by their order of first appearance (new ids are random)."""
    ids: dict[str, str] = {}

    def normalise(node: Any) -> Any:
        if isinstance(node, dict):
            return {
                key: ids.setdefault(value, f"log-{len(ids)}") if key == "log_id" else normalise(value)
                for key, value in node.items()
            }
        if isinstance(node, list):
            return [normalise(value) for value in node]
        return node

    return response.status_code, normalise(json.loads(response.content))


def _post_rolled_back(client: Any, raw: bytes, content_type: str) -> Any:
    """The request inside a savepoint rolled back afterwards, so the same body can be sent again."""
    with transaction.atomic():
        response = client.post(URL, raw=raw, content_type=content_type)
        transaction.set_rollback(True)
    return response


HTTP_CASES = [
    pytest.param(JSON_BODIES[name], JSON, id=f"json-{name}")
    for name in (
        "all-valid",
        "white-space-between-items",
        "one-invalid-in-the-middle",
        "repeated-key-in-an-item",
        "nan-in-an-item",
        "unknown-field",
        "object-not-array",
        "four-items-over-the-limit",
        "four-items-one-with-a-repeated-key",
        "empty-array",
        "deepest-item-in-an-unknown-field",
        "item-one-level-too-deep",
    )
] + [
    pytest.param(NDJSON_BODIES[name], NDJSON, id=f"ndjson-{name}")
    for name in (
        "all-valid",
        "bad-lines",
        "repeated-key-line",
        "unicode-blank-lines",
        "four-items-over-the-limit",
        "deepest-line-and-one-too-deep",
    )
]


@pytest.mark.usefixtures("small_limit")
@pytest.mark.parametrize(("raw", "content_type"), HTTP_CASES)
def test_answers_are_identical_with_and_without_the_fast_path(api_a, monkeypatch, raw, content_type):
    fast = _post_rolled_back(api_a, raw, content_type)
    with monkeypatch.context() as patch:
        patch.setattr(validation, "_log_fast", lambda raw: None)
        full = _post_rolled_back(api_a, raw, content_type)
    assert _answer(fast) == _answer(full)
    assert fast.status_code in (200, 400, 413), fast.content


def test_a_stored_log_sent_again_answers_the_same_both_ways(api_a, monkeypatch):
    api_a.post(URL, raw=_array(VALID[0]))
    body = _array(VALID[0], _compact({**json.loads(VALID[0]), "cycle_count": 3}), VALID[1])
    fast = _post_rolled_back(api_a, body, JSON)
    with monkeypatch.context() as patch:
        patch.setattr(validation, "_log_fast", lambda raw: None)
        full = _post_rolled_back(api_a, body, JSON)
    assert _answer(fast) == _answer(full)
    assert [r["status"] for r in fast.json()["results"]] == ["duplicate", "conflict", "created"]


# --- Writes: COPY for new logs, INSERT … ON CONFLICT when some exist --------------------------------------------


@pytest.fixture
def write_paths(monkeypatch):  # type: ignore[no-untyped-def]
    """Records which write path each bulk call took: "copy" (all stored) or "copy-failed" then "insert"."""
    taken: list[str] = []
    copy, insert = services._copy_new_logs, services._insert_new_logs

    def copy_spy(cursor: Any, rows: Any) -> bool:
        stored = copy(cursor, rows)
        taken.append("copy" if stored else "copy-failed")
        return stored

    def insert_spy(cursor: Any, rows: Any) -> Any:
        taken.append("insert")
        return insert(cursor, rows)

    monkeypatch.setattr(services, "_copy_new_logs", copy_spy)
    monkeypatch.setattr(services, "_insert_new_logs", insert_spy)
    return taken


@pytest.fixture
def published(monkeypatch):  # type: ignore[no-untyped-def]
    """The report batches handed to the publisher after commit."""
    batches: list[list[uuid.UUID]] = []
    monkeypatch.setattr(dispatch.publisher, "submit", lambda log_ids: batches.append(list(log_ids)))
    return batches


def test_new_logs_are_stored_by_copy_with_exact_values(client_a, write_paths, published):
    cells = [
        {"id": 1, "voltage": 4.0500000000000001, "temperature": -12.5},
        {"id": 0, "voltage": 3.9999999999999996, "temperature": 0.1},
        {"id": 2, "voltage": 4, "temperature": 124.99999999999999},
    ]
    first = {
        "vehicle_id": "EV-COPY.1:a_b",
        "timestamp": "2025-10-04T12:30:00.123456+02:00",
        "cells": cells,
        "cycle_count": 100000,
        "nominal_capacity_kwh": 60.123456789012345,
        "current_capacity_kwh": 0.30000000000000004,
    }
    second = {**first, "timestamp": "2025-10-04T10:30:00.1-05:30", "nominal_capacity_kwh": 1e-05}
    second["current_capacity_kwh"] = 1.2e-05
    third = {**first, "vehicle_id": "EV-COPY-2", "timestamp": "2024-02-29T23:59:59Z", "current_capacity_kwh": 0}
    response = client_a.post(URL, [first, second, third])
    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["created"] * 3
    assert write_paths == ["copy"]
    assert published == [[uuid.UUID(r["log_id"]) for r in results]]  # one batch task, after commit

    rows = {str(log.pk): log for log in DiagnosticLog.objects.select_related("vehicle")}
    assert set(rows) == {r["log_id"] for r in results}
    expected = [
        (first, datetime(2025, 10, 4, 10, 30, 0, 123456, tzinfo=UTC)),
        (second, datetime(2025, 10, 4, 16, 0, 0, 100000, tzinfo=UTC)),
        (third, datetime(2024, 2, 29, 23, 59, 59, tzinfo=UTC)),
    ]
    for result, (sent, timestamp) in zip(results, expected, strict=True):
        log = rows[result["log_id"]]
        assert log.vehicle.vehicle_id == sent["vehicle_id"]
        assert log.timestamp == timestamp
        assert log.cells == [
            {"id": 0, "voltage": 3.9999999999999996, "temperature": 0.1},
            {"id": 1, "voltage": 4.05, "temperature": -12.5},
            {"id": 2, "voltage": 4.0, "temperature": 124.99999999999999},
        ]
        assert log.cycle_count == 100000
        assert log.nominal_capacity_kwh == float(sent["nominal_capacity_kwh"])
        assert log.current_capacity_kwh == float(sent["current_capacity_kwh"])
        assert (log.attempts, log.error) == (0, "")
        assert log.status in ("pending", "completed")  # the eager report may have run after commit
        assert log.received_at.tzinfo is not None
    # received_at and status_changed_at: the transaction's now(), one value for the batch, as the INSERT wrote.
    assert len({(log.received_at, log.status_changed_at) for log in rows.values()}) == 1
    assert all(log.received_at == log.status_changed_at for log in rows.values())
    # The vehicles were created in the same transaction with now(): the same instant, to the microsecond.
    assert all(log.received_at == log.vehicle.created_at for log in rows.values())
    detail = client_a.get(f"/api/v1/diagnostics/{results[0]['log_id']}").json()
    assert detail["timestamp"] == "2025-10-04T10:30:00.123456Z"
    assert detail["nominal_capacity_kwh"] == 60.123456789012345


def test_copy_rows_have_the_insert_paths_values(api_a, write_paths):
    """One log stored by each path: every column equal (but the id, and the times, each their transaction's)."""
    log = _log(11)
    assert api_a.post(URL, [log]).json()["results"][0]["status"] == "created"
    DiagnosticLog.objects.update(timestamp="2020-01-01T00:00:00Z")  # free the identity for the second write
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(services, "_copy_new_logs", lambda cursor, rows: False)
        assert api_a.post(URL, [log]).json()["results"][0]["status"] == "created"
    columns = ["vehicle_id", "cells", "cycle_count", "nominal_capacity_kwh", "current_capacity_kwh"]
    columns += ["status", "attempts", "error"]
    copied, inserted = DiagnosticLog.objects.order_by("timestamp").values(*columns, "timestamp")
    assert {k: copied[k] for k in columns} == {k: inserted[k] for k in columns}
    assert write_paths == ["copy", "insert"]


def test_partly_stored_bulk_falls_back_and_reports_duplicates_and_conflicts(client_a, write_paths, published):
    stored = [_log(20), _log(21)]
    assert client_a.post(URL, stored).status_code == 200
    original_ids = {str(pk) for pk in DiagnosticLog.objects.values_list("pk", flat=True)}
    assert write_paths == ["copy"]
    write_paths.clear()
    published.clear()

    fresh = [_log(22), _log(23)]
    items = [fresh[0], stored[0], {**stored[1], "cycle_count": stored[1]["cycle_count"] + 1}, fresh[1]]
    response = client_a.post(URL, items)
    assert response.status_code == 200, response.content
    body = response.json()
    assert [r["status"] for r in body["results"]] == ["created", "duplicate", "conflict", "created"]
    assert [r["http_status"] for r in body["results"]] == [202, 200, 409, 202]
    assert write_paths == ["copy-failed", "insert"]
    by_vehicle = dict(DiagnosticLog.objects.values_list("vehicle__vehicle_id", "pk"))
    assert body["results"][1]["log_id"] == str(by_vehicle[stored[0]["vehicle_id"]])
    conflict = body["results"][2]
    assert conflict["log_id"] == conflict["error"]["log_id"] == str(by_vehicle[stored[1]["vehicle_id"]])
    assert conflict["error"]["code"] == "conflict"
    assert body["counts"] == {"created": 2, "duplicate": 1, "conflict": 1, "invalid": 0, "forbidden": 0}
    # Nothing extra: the rolled-back COPY left no row, the stored ones are untouched.
    assert DiagnosticLog.objects.count() == 4
    now_ids = {str(pk) for pk in DiagnosticLog.objects.values_list("pk", flat=True)}
    assert now_ids == original_ids | {body["results"][0]["log_id"], body["results"][3]["log_id"]}
    assert DiagnosticLog.objects.get(pk=conflict["log_id"]).cycle_count == stored[1]["cycle_count"]
    assert published == [[uuid.UUID(body["results"][0]["log_id"]), uuid.UUID(body["results"][3]["log_id"])]]
    # The connection is usable after the rolled-back savepoint (and the request committed).
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)


def test_a_log_committed_concurrently_before_the_copy_is_a_duplicate(client_a, monkeypatch, published):
    """Another request commits one of the keys after our checks and before our COPY: the COPY fails on the
    unique constraint, rolls back to its savepoint, and the INSERT … ON CONFLICT path reports that item as
    a duplicate of the other request's log (and stores the rest)."""
    assert client_a.post(URL, [_log(60)]).status_code == 200  # the vehicle exists, committed
    published.clear()
    mine, theirs = {**_log(60), "timestamp": "2025-01-01T00:00:00Z"}, {**_log(60), "timestamp": "2025-01-02T00:00:00Z"}
    other_id = uuid.uuid4()
    copy = services._copy_new_logs

    def commit_theirs_first(cursor: Any, rows: Any) -> bool:
        _, (vehicle_pk, timestamp), data = rows[1]
        other = connection.Database.connect(**connection.get_connection_params())
        try:
            with other.cursor() as other_cursor:
                other_cursor.execute(
                    f"INSERT INTO {services._LOG_TABLE} ({services._LOG_COLUMNS}) "
                    "VALUES (%s, %s, %s, %s::jsonb, %s, %s, %s, now(), 'pending', 0, '', now(), %s, %s, %s)",
                    [
                        str(other_id),
                        vehicle_pk,
                        timestamp,
                        services.cells_json(data["cells"]),
                        data["cycle_count"],
                        data["nominal_capacity_kwh"],
                        data["current_capacity_kwh"],
                        *services._history_texts(data),
                    ],
                )
            other.commit()
        finally:
            other.close()
        stored = copy(cursor, rows)
        assert not stored
        return stored

    monkeypatch.setattr(services, "_copy_new_logs", commit_theirs_first)
    results = client_a.post(URL, [mine, theirs]).json()["results"]
    assert [r["status"] for r in results] == ["created", "duplicate"]
    assert results[1]["log_id"] == str(other_id)
    assert DiagnosticLog.objects.count() == 3
    assert published == [[uuid.UUID(results[0]["log_id"])]]


def test_all_stored_bulk_is_all_duplicates(client_a, write_paths, published):
    logs = [_log(30), _log(31)]
    first = client_a.post(URL, logs).json()["results"]
    again = client_a.post(URL, logs).json()["results"]
    assert [r["status"] for r in again] == ["duplicate", "duplicate"]
    assert [r["log_id"] for r in again] == [r["log_id"] for r in first]
    assert write_paths == ["copy", "copy-failed", "insert"]
    assert len(published) == 1  # nothing created the second time: no task
    assert DiagnosticLog.objects.count() == 2


def test_items_repeated_within_one_request(client_a, write_paths, published):
    log = _log(40)
    items = [log, log, {**log, "cycle_count": log["cycle_count"] + 1}, _log(41)]
    results = client_a.post(URL, items).json()["results"]
    assert [r["status"] for r in results] == ["created", "duplicate", "conflict", "created"]
    assert results[0]["log_id"] == results[1]["log_id"] == results[2]["log_id"]
    assert write_paths == ["copy"]
    assert DiagnosticLog.objects.count() == 2
    assert published == [[uuid.UUID(results[0]["log_id"]), uuid.UUID(results[3]["log_id"])]]


def test_other_fleets_vehicles_are_forbidden_per_item(client_a, client_b, write_paths):
    theirs, mine = _log(50), _log(51)
    assert client_b.post(URL, [theirs]).json()["results"][0]["status"] == "created"
    results = client_a.post(URL, [theirs, mine, {**theirs, "cycle_count": 5}]).json()["results"]
    assert [r["status"] for r in results] == ["forbidden", "created", "forbidden"]
    assert [r["http_status"] for r in results] == [403, 202, 403]
    assert results[0]["error"] == {
        "code": "permission_denied",
        "message": f"Vehicle {theirs['vehicle_id']} belongs to another fleet.",
    }
    assert "log_id" not in results[0]
    assert write_paths == ["copy", "copy"]
    assert DiagnosticLog.objects.filter(vehicle__fleet__name="fleet-a").count() == 1
    # Only forbidden items: nothing to write, no statement at all.
    write_paths.clear()
    results = client_a.post(URL, [theirs]).json()["results"]
    assert [r["status"] for r in results] == ["forbidden"]
    assert write_paths == []


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("plain", "plain"),
        ('{"a":"b\\"c"}', '{"a":"b\\\\"c"}'),
        ("tab\there", "tab\\there"),
        ("line\nbreak\r", "line\\nbreak\\r"),
        ("\\N", "\\\\N"),
    ],
)
def test_copy_text_escapes(text, escaped):
    assert services._copy_text(text) == escaped
