"""The strict JSON parser and the error flattening, without HTTP or a database."""

import json

import pytest
from rest_framework.exceptions import ParseError

from common.errors import flatten_errors
from common.limits import MAX_DEPTH
from common.parsers import BulkJSONParser, NDJSONParser, loads_strict


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b'{"a": NaN}', id="nan"),
        pytest.param(b'{"a": Infinity}', id="infinity"),
        pytest.param(b'{"a": -Infinity}', id="minus-infinity"),
        pytest.param(b'{"a": 1e999}', id="overflow"),
        pytest.param(b'{"a": -1e999}', id="negative-overflow"),
        pytest.param(b'{"a": 1, "a": 2}', id="repeated-key"),
        pytest.param(b'{"cells": [{"id": 0, "id": 0}]}', id="repeated-key-nested"),
        pytest.param(b"[" * 100_000 + b"]" * 100_000, id="deep-arrays"),
        pytest.param(b"[" * 100_000, id="deep-unclosed-arrays"),
        pytest.param(b'{"a": ' * 5000 + b"1" + b"}" * 5000, id="deep-objects"),
        pytest.param(b"[" * 65 + b"]" * 65, id="65-levels"),
        pytest.param(b'{"a": ' * 65 + b"1" + b"}" * 65, id="65-levels-of-objects"),
        pytest.param(b'{"x": 1, "extra": ' + b"[" * 64 + b"]" * 64 + b"}", id="65-levels-in-an-unknown-field"),
        pytest.param(b"[" * 999 + b"]" * 999, id="999-levels-below-the-recursion-limit"),
        pytest.param(b"", id="empty"),
        pytest.param(b"   ", id="blank"),
        pytest.param(b"{", id="truncated"),
        pytest.param(b"\xff\xfe{}", id="not-utf8"),
        pytest.param(b'{"a": ' + b"9" * 5000 + b"}", id="int-too-long"),
    ],
)
def test_rejected_documents_raise_parse_error(raw):
    with pytest.raises(ParseError):
        loads_strict(raw)


def test_accepts_schema_depth_and_keeps_exact_numbers():
    raw = b'{"cells": [{"id": 0, "voltage": 4.151, "temperature": -40}], "n": 412.0, "x": 1e308}'
    data = loads_strict(raw)
    assert data == {"cells": [{"id": 0, "voltage": 4.151, "temperature": -40}], "n": 412.0, "x": 1e308}
    assert isinstance(data["cells"][0]["temperature"], int)


def test_the_depth_limit_is_64_levels_from_the_root():
    assert MAX_DEPTH == 64
    assert loads_strict(b"[" * 64 + b"]" * 64) == _nested_list(63)
    assert loads_strict(b'{"x": 1, "extra": ' + b"[" * 63 + b"]" * 63 + b"}") == {"x": 1, "extra": _nested_list(62)}
    with pytest.raises(ParseError) as exc:
        loads_strict(b"[" * 65 + b"]" * 65)
    assert str(exc.value.detail) == "JSON nesting is deeper than 64 levels."


def test_recursion_past_python_s_limit_is_the_same_parse_error():
    with pytest.raises(ParseError) as exc:
        loads_strict(b"[" * 100_000 + b"]" * 100_000)
    assert str(exc.value.detail) == "JSON nesting is deeper than 64 levels."


def test_bulk_depth_counts_from_the_array_and_ndjson_from_each_line():
    item_63 = b'{"extra": ' + b"[" * 62 + b"]" * 62 + b"}"
    item_64 = b'{"extra": ' + b"[" * 63 + b"]" * 63 + b"}"
    assert len(BulkJSONParser.loads(b"[" + item_63 + b"]")) == 1
    with pytest.raises(ParseError):
        BulkJSONParser.loads(b"[" + item_64 + b"]")
    assert NDJSONParser.parse_line(item_64.decode()) == {"extra": _nested_list(62)}
    assert NDJSONParser.parse_line("[" + item_64.decode() + "]").message == "JSON nesting is deeper than 64 levels."


def _nested_list(depth: int) -> list:  # type: ignore[type-arg]
    """[[...]] with `depth` levels inside the outer list."""
    value: list = []  # type: ignore[type-arg]
    for _ in range(depth):
        value = [value]
    return value


def test_flatten_errors_builds_contract_paths():
    detail = {
        "cells": {"[3].voltage": ["Must be between 0 and 5."], "": ["Cell ids must be exactly 0..9."]},
        "vehicle_id": ["Must be a string."],
        "non_field_errors": ["Expected a JSON object."],
    }
    assert flatten_errors(detail) == {
        "cells[3].voltage": ["Must be between 0 and 5."],
        "cells": ["Cell ids must be exactly 0..9."],
        "vehicle_id": ["Must be a string."],
        "non_field_errors": ["Expected a JSON object."],
    }


def test_flatten_errors_handles_drf_list_nesting():
    assert flatten_errors({"items": [{}, {"x": ["bad"]}]}) == {"items[1].x": ["bad"]}
    assert json.dumps(flatten_errors("plain")) == '{"non_field_errors": ["plain"]}'
