"""Contract section 1, the body: strict JSON, media type, size limit. Never a 500.

- NaN, Infinity, -Infinity rejected wherever they appear, and so is a number too large to be finite (1e999);
- repeated keys rejected; a body nested more than 64 levels deep: 400 parse_error, never 500; unknown
  top-level fields of any shape within that depth are ignored and not stored;
- Content-Type application/json, else 415; at most 1 MiB, else 413; not valid JSON: 400 parse_error;
- a JSON value other than an object: 400.
"""

import json

import httpx
import pytest

from vehicles.models import DiagnosticLog, Vehicle

URL = "/api/v1/diagnostics"
MIB = 1024 * 1024
PLACEHOLDER = '"__PLACEHOLDER__"'


def raw_with(sample_log, where: str, token: str) -> str:
    """The sample log as JSON text with `token` (verbatim, e.g. NaN) put at `where`."""
    log = json.loads(json.dumps(sample_log))
    if where == "cycle_count":
        log["cycle_count"] = "__PLACEHOLDER__"
    elif where == "nominal_capacity_kwh":
        log["nominal_capacity_kwh"] = "__PLACEHOLDER__"
    elif where == "current_capacity_kwh":
        log["current_capacity_kwh"] = "__PLACEHOLDER__"
    elif where == "cells[2].voltage":
        log["cells"][2]["voltage"] = "__PLACEHOLDER__"
    elif where == "cells[1].temperature":
        log["cells"][1]["temperature"] = "__PLACEHOLDER__"
    elif where == "cells[0].id":
        log["cells"][0]["id"] = "__PLACEHOLDER__"
    elif where == "unknown top-level field":
        log["extra"] = "__PLACEHOLDER__"
    elif where == "array in unknown field":
        log["extra"] = [1, "__PLACEHOLDER__"]
    else:
        raise AssertionError(where)
    text = json.dumps(log)
    assert text.count(PLACEHOLDER) == 1
    return text.replace(PLACEHOLDER, token)


def assert_nothing_stored() -> None:
    assert DiagnosticLog.objects.count() == 0
    assert Vehicle.objects.count() == 0


PLACES = [
    "cycle_count",
    "nominal_capacity_kwh",
    "current_capacity_kwh",
    "cells[2].voltage",
    "cells[1].temperature",
    "cells[0].id",
    "unknown top-level field",
    "array in unknown field",
]


# --- NaN / Infinity / -Infinity / 1e999: rejected wherever they appear -------------------------------------


@pytest.mark.parametrize("where", [pytest.param(p, id=p) for p in PLACES])
@pytest.mark.parametrize(
    "token",
    [
        pytest.param("NaN", id="NaN"),
        pytest.param("Infinity", id="Infinity"),
        pytest.param("-Infinity", id="-Infinity"),
        pytest.param("1e999", id="1e999"),
        pytest.param("-1e999", id="-1e999"),
        pytest.param("1E400", id="1E400"),
        pytest.param("123456789.0e999", id="123456789.0e999"),
    ],
)
def test_non_finite_number_is_rejected_wherever_it_appears(api_a, sample_log, assert_error, token, where):
    response = api_a.post(URL, raw=raw_with(sample_log, where, token))
    assert_error(response, 400, {"parse_error", "invalid"})
    assert_nothing_stored()


@pytest.mark.parametrize(
    "where",
    [
        pytest.param(p, id=p)
        for p in (
            "nominal_capacity_kwh",
            "current_capacity_kwh",
            "cells[2].voltage",
            "cells[1].temperature",
            "cycle_count",
            "cells[0].id",
        )
    ],
)
def test_integer_literal_too_large_to_be_finite_is_a_400_not_a_500(api_a, sample_log, assert_error, where):
    """1 followed by 400 zeros is the number 1e400 written without an exponent: no finite float holds it."""
    response = api_a.post(URL, raw=raw_with(sample_log, where, "1" + "0" * 400))
    assert_error(response, 400, {"parse_error", "invalid"})
    assert_nothing_stored()


def test_integer_literal_too_large_to_be_finite_is_rejected_in_an_unknown_field(api_a, sample_log, assert_error):
    """ "Rejected wherever they appear": 10**999 spelled as an integer is the same number as 1e999."""
    response = api_a.post(URL, raw=raw_with(sample_log, "unknown top-level field", "1" + "0" * 999))
    assert_error(response, 400, {"parse_error", "invalid"})
    assert_nothing_stored()


def test_integer_literal_with_thousands_of_digits_is_a_400(api_a, sample_log, assert_error):
    response = api_a.post(URL, raw=raw_with(sample_log, "cycle_count", "9" * 5000))
    assert_error(response, 400, {"parse_error", "invalid"})
    assert_nothing_stored()


def test_tiny_number_that_underflows_to_zero_is_not_a_server_error(api_a, sample_log):
    response = api_a.post(URL, raw=raw_with(sample_log, "current_capacity_kwh", "1e-999"))
    assert response.status_code == 202, response.content  # 1e-999 is finite (it rounds to 0.0), and 0 is allowed


# --- repeated keys -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param('{"cycle_count": 1, "cycle_count": 2}', id="top level different values"),
        pytest.param(
            '{"vehicle_id": "EV-1", "timestamp": "2025-10-04T10:30:00Z", "cells": [{"id": 0, "voltage": 4.0, '
            '"temperature": 30.0}], "cycle_count": 412, "cycle_count": 412, "nominal_capacity_kwh": 60.0, '
            '"current_capacity_kwh": 54.9}',
            id="top level same value in an otherwise valid log",
        ),
        pytest.param(
            '{"vehicle_id": "EV-1", "timestamp": "2025-10-04T10:30:00Z", "cells": [{"id": 0, "voltage": 4.0, '
            '"voltage": 4.1, "temperature": 30.0}], "cycle_count": 412, "nominal_capacity_kwh": 60.0, '
            '"current_capacity_kwh": 54.9}',
            id="inside a cell",
        ),
        pytest.param(
            '{"vehicle_id": "EV-1", "timestamp": "2025-10-04T10:30:00Z", "cells": [{"id": 0, "voltage": 4.0, '
            '"temperature": 30.0}], "cycle_count": 412, "nominal_capacity_kwh": 60.0, '
            '"current_capacity_kwh": 54.9, "meta": {"fw": "1", "fw": "2"}}',
            id="inside an unknown field",
        ),
        pytest.param(
            '{"vehicle_id": "EV-1", "vehicle_id": "EV-2", "timestamp": "2025-10-04T10:30:00Z", "cells": [{"id": 0, '
            '"voltage": 4.0, "temperature": 30.0}], "cycle_count": 412, "nominal_capacity_kwh": 60.0, '
            '"current_capacity_kwh": 54.9}',
            id="vehicle_id twice",
        ),
    ],
)
def test_repeated_key_is_rejected(api_a, assert_error, raw):
    response = api_a.post(URL, raw=raw)
    assert_error(response, 400, {"parse_error", "invalid"})
    assert_nothing_stored()


def test_repeated_key_is_a_parse_error(api_a, assert_error):
    response = api_a.post(URL, raw='{"cycle_count": 1, "cycle_count": 2}')
    assert_error(response, 400, "parse_error")
    assert_nothing_stored()


# --- strings that Python accepts but cannot encode: never a 500 ---------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param('{"vehicle_id": "EV\\ud800"}', id="lone surrogate in vehicle_id"),
        pytest.param(
            '{"vehicle_id": "EV-1", "timestamp": "2025-10-04T10:30:00Z", "cells": [{"id": 0, "voltage": 4.0, '
            '"temperature": 30.0, "\\ud800": 1}], "cycle_count": 412, "nominal_capacity_kwh": 60.0, '
            '"current_capacity_kwh": 54.9}',
            id="lone surrogate as an extra cell key",
        ),
        pytest.param('{"\\udc00": 1, "\\udc00": 2}', id="lone surrogate as a repeated key"),
        pytest.param(
            '{"vehicle_id": "EV-1", "timestamp": "2025-10-04T10:30:00\\ud800Z"}', id="lone surrogate in timestamp"
        ),
    ],
)
def test_lone_surrogate_escape_is_a_400_not_a_500(api_a, assert_error, raw):
    api_a.client.raise_request_exception = False  # see the response a real client would get
    response = api_a.post(URL, raw=raw)
    assert_error(response, 400, {"parse_error", "invalid"})
    assert_nothing_stored()


# --- nesting deeper than 64 levels: 400, never 500 -------------------------------------------------------------


def _log_text_with_extra(sample_log, extra_json: str) -> str:
    text = json.dumps(sample_log)
    assert text.endswith("}")
    return text[:-1] + ', "extra": ' + extra_json + "}"


@pytest.mark.parametrize(
    "build",
    [
        pytest.param(lambda log: "[" * 10_000 + "]" * 10_000, id="10000 nested arrays"),
        pytest.param(lambda log: '{"a":' * 10_000 + "1" + "}" * 10_000, id="10000 nested objects"),
        pytest.param(lambda log: "[" * 100_000, id="100000 unclosed arrays"),
        pytest.param(lambda log: "[" * 500 + "]" * 500, id="500 nested arrays"),
        pytest.param(
            lambda log: _log_text_with_extra(log, "[" * 10_000 + "]" * 10_000),
            id="valid log with 10000 nested arrays in an unknown field",
        ),
        pytest.param(
            lambda log: _log_text_with_extra(log, '{"a":' * 10_000 + "1" + "}" * 10_000),
            id="valid log with 10000 nested objects in an unknown field",
        ),
        pytest.param(lambda log: json.dumps({**log, "cells": [[[[[[[[1]]]]]]]]}), id="cells deeply nested"),
    ],
)
def test_deep_nesting_is_a_400_never_a_500(api_a, sample_log, assert_error, build):
    response = api_a.post(URL, raw=build(sample_log))
    assert_error(response, 400, {"parse_error", "invalid"})
    assert_nothing_stored()


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda log: log["cells"][1].update(meta={"a": 1}), id="object inside a cell"),
        pytest.param(lambda log: log["cells"][1].update(voltage={"value": 4.0}), id="object as a cell voltage"),
        pytest.param(lambda log: log["cells"][1].update(voltage=[4.0]), id="array as a cell voltage"),
        pytest.param(lambda log: log["cells"][1].update(id=[1]), id="array as a cell id"),
        pytest.param(
            lambda log: log["cells"][1].update(temperature={"c": {"v": 30}}), id="two levels of objects in a cell"
        ),
    ],
)
def test_containers_inside_a_cell_are_rejected(api_a, sample_log, assert_error, mutate):
    log = json.loads(json.dumps(sample_log))
    mutate(log)
    response = api_a.post(URL, log)
    error = assert_error(response, 400, {"parse_error", "invalid"})
    if error["code"] == "invalid":
        assert all(path.startswith("cells[1]") for path in error["fields"]), error
    assert_nothing_stored()


def _nested_arrays(levels: int) -> str:
    return "[" * levels + "]" * levels


def _nested_objects(levels: int) -> str:
    return '{"a": ' * levels + "1" + "}" * levels


@pytest.mark.parametrize(
    "extra",
    [
        pytest.param({"firmware": "1.2.3", "modules": [{"id": 1, "serial": "A"}]}, id="object holding an array"),
        pytest.param([[1, 2], {"a": [None, True, "x"]}, []], id="array of arrays and objects"),
        pytest.param(None, id="null"),
        pytest.param({"a": {"a": {"a": {"a": {"a": {"b": [1, [2, [3]]]}}}}}}, id="nested objects and arrays"),
    ],
)
def test_unknown_top_level_field_of_any_shape_is_ignored_and_not_stored(api_a, sample_log, extra):
    response = api_a.post(URL, {**sample_log, "extra": extra, "more": [extra]})
    assert response.status_code == 202, response.content
    stored = api_a.get(f"{URL}/{response.json()['log_id']}").json()
    assert {key: stored[key] for key in sample_log} == sample_log
    assert set(stored) == set(sample_log) | {"log_id", "received_at", "status"}


@pytest.mark.parametrize(
    "nested",
    [pytest.param(_nested_arrays(63), id="63 levels of arrays"), pytest.param(_nested_objects(63), id="63 of objects")],
)
def test_body_exactly_64_levels_deep_is_accepted(api_a, sample_log, nested):
    """The log object is level 1, so its unknown field may hold 63 more."""
    response = api_a.post(URL, raw=_log_text_with_extra(sample_log, nested))
    assert response.status_code == 202, response.content
    stored = api_a.get(f"{URL}/{response.json()['log_id']}").json()
    assert "extra" not in stored


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(lambda log: _log_text_with_extra(log, _nested_arrays(64)), id="unknown field, 65 levels"),
        pytest.param(lambda log: _log_text_with_extra(log, _nested_objects(64)), id="unknown field, 65 of objects"),
        pytest.param(lambda log: _nested_arrays(65), id="65 nested arrays"),
        pytest.param(lambda log: _nested_arrays(100_000), id="100000 nested arrays"),
        pytest.param(lambda log: "[" * 100_000, id="100000 unclosed arrays"),
    ],
)
def test_body_65_levels_deep_or_more_is_a_parse_error(api_a, sample_log, assert_error, raw):
    api_a.client.raise_request_exception = False  # a 500 would show as a 500, not as an exception
    error = assert_error(api_a.post(URL, raw=raw(sample_log)), 400, "parse_error")
    assert error["message"] == "JSON nesting is deeper than 64 levels."
    assert_nothing_stored()


def test_a_cell_with_an_extra_field_is_still_rejected(api_a, sample_log, assert_error):
    log = json.loads(json.dumps(sample_log))
    log["cells"][1]["serial"] = "A1"
    error = assert_error(api_a.post(URL, log), 400, "invalid", {"cells[1].serial"})
    assert error["fields"] == {"cells[1].serial": ["Unknown cell field; a cell has only id, voltage and temperature."]}
    assert_nothing_stored()


# --- not valid JSON: 400 parse_error --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param('{"vehicle_id": "EV-1"', id="truncated object"),
        pytest.param('{"vehicle_id": "EV-1",}', id="trailing comma"),
        pytest.param("{'vehicle_id': 'EV-1'}", id="single quotes"),
        pytest.param('{vehicle_id: "EV-1"}', id="unquoted key"),
        pytest.param('{"a": 1} // comment', id="comment"),
        pytest.param('{"a": 1}{"b": 2}', id="two objects"),
        pytest.param('{"a": 1} x', id="trailing garbage"),
        pytest.param('{"a": 01}', id="leading zero"),
        pytest.param('{"a": .5}', id="number without integer part"),
        pytest.param('{"a": +1}', id="plus sign"),
        pytest.param('{"a": 0x10}', id="hex number"),
        pytest.param('{"a": "tab\tinside"}', id="raw control character in string"),
        pytest.param('{"a": "\\x41"}', id="invalid escape"),
        pytest.param('{"a": nan}', id="lowercase nan"),
        pytest.param('{"a": undefined}', id="undefined"),
        pytest.param("not json at all", id="plain text"),
    ],
)
def test_invalid_json_is_a_parse_error(api_a, assert_error, raw):
    response = api_a.post(URL, raw=raw)
    assert_error(response, 400, "parse_error")
    assert_nothing_stored()


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b'{"vehicle_id": "EV-\xff"}', id="0xff byte"),
        pytest.param(b'{"vehicle_id": "EV-\xe9"}', id="latin-1 e-acute"),
        pytest.param(b'{"vehicle_id": "EV-\xc3"}', id="truncated multi-byte sequence"),
        pytest.param(b'{"vehicle_id": "EV-\xed\xa0\x80"}', id="encoded surrogate"),
        pytest.param(b'{"vehicle_id": "EV-\xc0\xaf"}', id="overlong encoding"),
    ],
)
def test_invalid_utf8_is_a_parse_error(api_a, assert_error, raw):
    response = api_a.post(URL, raw=raw)
    assert_error(response, 400, "parse_error")
    assert_nothing_stored()


@pytest.mark.parametrize(
    "raw",
    [pytest.param("", id="empty"), pytest.param("   \n\t ", id="whitespace only")],
)
def test_empty_body_is_a_parse_error(api_a, assert_error, raw):
    response = api_a.post(URL, raw=raw)
    assert_error(response, 400, "parse_error")
    assert_nothing_stored()


# --- a JSON value other than an object: 400 -----------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param("[]", id="empty array"),
        pytest.param("[{}]", id="array of an object"),
        pytest.param('"EV-12345"', id="string"),
        pytest.param("412", id="integer"),
        pytest.param("4.05", id="float"),
        pytest.param("null", id="null"),
        pytest.param("true", id="true"),
        pytest.param("false", id="false"),
    ],
)
def test_top_level_value_other_than_an_object_is_a_400(api_a, assert_error, raw):
    response = api_a.post(URL, raw=raw)
    assert_error(response, 400, {"invalid", "parse_error"})
    assert_nothing_stored()


def test_top_level_array_holding_a_valid_log_is_a_400(api_a, sample_log, assert_error):
    response = api_a.post(URL, [sample_log])
    assert_error(response, 400, {"invalid", "parse_error"})
    assert_nothing_stored()


# --- media type: application/json, else 415 ------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    [
        pytest.param("text/plain", id="text/plain"),
        pytest.param("application/x-www-form-urlencoded", id="form"),
        pytest.param("multipart/form-data; boundary=xyz", id="multipart"),
        pytest.param("application/xml", id="xml"),
        pytest.param("text/json", id="text/json"),
        pytest.param("application/octet-stream", id="octet-stream"),
        pytest.param("application/json-patch+json", id="json-patch"),
        pytest.param("", id="missing (empty)"),
    ],
)
def test_other_content_type_is_a_415(api_a, sample_log, assert_error, content_type):
    response = api_a.post(URL, raw=json.dumps(sample_log), content_type=content_type)
    assert_error(response, 415, "unsupported_media_type")
    assert_nothing_stored()


@pytest.mark.parametrize(
    "content_type",
    [
        pytest.param("application/json", id="plain"),
        pytest.param("application/json; charset=utf-8", id="charset utf-8"),
        pytest.param("application/json;charset=UTF-8", id="charset UTF-8 no space"),
        pytest.param("Application/JSON", id="media type is case-insensitive"),
    ],
)
def test_application_json_with_parameters_is_accepted(api_a, sample_log, content_type):
    response = api_a.post(URL, raw=json.dumps(sample_log), content_type=content_type)
    assert response.status_code == 202, response.content
    assert DiagnosticLog.objects.count() == 1


def test_form_encoded_log_is_a_415_even_when_fields_look_valid(api_a, assert_error):
    response = api_a.post(URL, raw="vehicle_id=EV-1&cycle_count=1", content_type="application/x-www-form-urlencoded")
    assert_error(response, 415, "unsupported_media_type")
    assert_nothing_stored()


def test_415_on_an_empty_form_body(api_a, assert_error):
    response = api_a.post(URL, raw="", content_type="text/plain")
    assert_error(response, 415, "unsupported_media_type")
    assert_nothing_stored()


def test_missing_content_type_header_on_the_wire_is_a_415(live_server, user, sample_log):
    from rest_framework_simplejwt.tokens import RefreshToken

    token = str(RefreshToken.for_user(user).access_token)
    response = httpx.post(
        f"{live_server.url}{URL}",
        content=json.dumps(sample_log).encode(),
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert "content-type" not in {k.lower() for k in response.request.headers}
    assert response.status_code == 415, response.text
    assert response.json()["error"]["code"] == "unsupported_media_type"
    assert DiagnosticLog.objects.count() == 0


# --- size: at most 1 MiB, else 413 ----------------------------------------------------------------------------


def padded_log(sample_log, size: int) -> bytes:
    """A valid log padded with trailing whitespace to exactly `size` bytes."""
    raw = json.dumps(sample_log).encode()
    assert len(raw) <= size
    return raw + b" " * (size - len(raw))


def test_body_of_1_mib_plus_1_byte_is_a_413(api_a, sample_log, assert_error):
    raw = padded_log(sample_log, MIB + 1)
    assert len(raw) == MIB + 1
    response = api_a.post(URL, raw=raw)
    assert_error(response, 413, "payload_too_large")
    assert_nothing_stored()


def test_body_of_several_mib_is_a_413(api_a, sample_log, assert_error):
    response = api_a.post(URL, raw=padded_log(sample_log, 5 * MIB))
    assert_error(response, 413, "payload_too_large")
    assert_nothing_stored()


def test_declared_content_length_above_1_mib_is_a_413(api_a, sample_log, assert_error):
    response = api_a.post(URL, raw=json.dumps(sample_log), CONTENT_LENGTH=str(10 * MIB))
    assert_error(response, 413, "payload_too_large")
    assert_nothing_stored()


def test_body_of_exactly_1_mib_is_accepted(api_a, sample_log):
    raw = padded_log(sample_log, MIB)
    assert len(raw) == MIB
    response = api_a.post(URL, raw=raw)
    assert response.status_code == 202, response.content[:500]
    assert DiagnosticLog.objects.count() == 1


def test_body_of_exactly_1_mib_of_invalid_json_is_a_parse_error_not_a_413(api_a, assert_error):
    response = api_a.post(URL, raw=b"{" + b" " * (MIB - 1))
    assert_error(response, 400, "parse_error")
    assert_nothing_stored()


def test_oversized_body_of_invalid_json_is_a_413_not_a_parse_error(api_a, assert_error):
    response = api_a.post(URL, raw=b"x" * (MIB + 1))
    assert_error(response, 413, "payload_too_large")
    assert_nothing_stored()
