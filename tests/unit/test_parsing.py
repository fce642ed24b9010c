"""The strict JSON parser and the error flattening, without HTTP or a database."""

import json

import pytest
from rest_framework.exceptions import ParseError

from common.errors import flatten_errors
from common.parsers import MAX_DEPTH, loads_strict


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
        pytest.param(b'{"a": ' * 5000 + b"1" + b"}" * 5000, id="deep-objects"),
        pytest.param(b'{"cells": [{"id": [0]}]}', id="four-levels"),
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
    assert MAX_DEPTH == 3


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
