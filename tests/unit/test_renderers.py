"""The JSON renderer: orjson, stored JSON passed through unparsed, and a safe fallback."""

import json

from common.renderers import ORJSONRenderer, RawJSON

render = ORJSONRenderer().render


def test_raw_json_is_rendered_as_is():
    stored = '{"max_cell_voltage_v": 4.21, "hot_cells": [3, 17], "nested": {"a": null}}'
    body = render({"log_id": "x", "diagnostics": RawJSON(stored), "anomalies": RawJSON("[]")})
    assert body == b'{"log_id":"x","diagnostics":' + stored.encode() + b',"anomalies":[]}'
    assert json.loads(body)["diagnostics"]["hot_cells"] == [3, 17]


def test_the_fallback_encoder_keeps_raw_json_as_its_value():
    # A lone surrogate makes orjson refuse the whole document; the fallback must still render the rest.
    body = render({"message": "bad \udc00 text", "diagnostics": RawJSON('{"a": 1.5}')})
    assert json.loads(body) == {"message": "bad \udc00 text", "diagnostics": {"a": 1.5}}


def test_unknown_objects_still_fall_back_to_text():
    class Odd:
        def __str__(self) -> str:
            return "odd"

    assert json.loads(render({"value": Odd()})) == {"value": "odd"}


def test_raw_json_compares_by_text():
    assert RawJSON("[1]") == RawJSON("[1]")
    assert RawJSON("[1]") != RawJSON("[1, 2]")
    assert len({RawJSON("[1]"), RawJSON("[1]")}) == 1
