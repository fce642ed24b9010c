"""The compiled fast path of `diagnostics.validation` accepts only what the full path accepts, and gives the
same validated log."""

import copy
import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.exceptions import APIException

from common.parsers import loads_strict
from diagnostics.validation import _log_fast, _log_full
from simulator.generator import mock_log


def full_path(raw: bytes):  # type: ignore[no-untyped-def]
    """What the full path says: the validated log, or the exception class it raises."""
    try:
        return _log_full(loads_strict(raw))
    except APIException as exc:
        return type(exc)


def assert_agrees(raw: bytes) -> None:
    fast = _log_fast(raw)
    if fast is not None:
        assert fast == full_path(raw), raw[:300]


@pytest.mark.parametrize("seed", range(20))
def test_plain_logs_take_the_fast_path_and_agree(seed):
    raw = json.dumps(mock_log(seed=seed)).encode()
    fast = _log_fast(raw)
    assert fast is not None
    assert fast == full_path(raw)


def test_pretty_printed_and_shuffled_logs_agree():
    log = mock_log(seed=3)
    log["cells"] = list(reversed(log["cells"]))
    raw = json.dumps(log, indent=2).encode()
    fast = _log_fast(raw)
    assert fast is not None
    assert fast == full_path(raw)
    assert [cell["id"] for cell in fast["cells"]] == list(range(len(log["cells"])))


BASE = json.dumps(mock_log(seed=1, timestamp=datetime(2025, 10, 4, 10, 30, tzinfo=UTC)))


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(BASE.replace('"cycle_count": ', '"cycle_count": 1, "cycle_count": '), id="repeated-top-key"),
        pytest.param(BASE.replace('{"id": 0, ', '{"id": 0, "id": 0, ', 1), id="repeated-cell-key"),
        pytest.param(BASE.replace('{"id": 0, ', '{"id" : 0, "id": 0, ', 1), id="repeated-key-with-space"),
        pytest.param(BASE.replace('{"id": 0, ', '{"id"\t:\n0, "id"\r\n: 0, ', 1), id="repeated-key-with-tab-newline"),
        pytest.param(
            BASE.replace('"cycle_count": ', '"cycle_count": 1, "cycle\\u005fcount": ', 1), id="repeated-escaped-key"
        ),
        pytest.param(
            BASE.replace('"cycle_count": ', '"cycle\\u005fcount": 1, "cycle_count": ', 1), id="escaped-key-first"
        ),
        pytest.param(BASE.replace('"vehicle_id": "', '"vehicle_id": "\\"', 1), id="escaped-quote-in-value"),
        pytest.param(BASE[:-1] + ', "extra": 1}', id="unknown-field"),
        pytest.param(BASE.replace('"vehicle_id": "', '"vehicle_id": "\\n'), id="vehicle-newline-first"),
        pytest.param(BASE.replace('", "timestamp"', '\\n", "timestamp"', 1), id="vehicle-trailing-newline"),
        pytest.param(
            BASE.replace('"cells": [', '"cells": [{"id": 0, "voltage": 4.0, "temperature": 30.0}, ', 1),
            id="duplicate-cell-id",
        ),
        pytest.param(BASE.replace('"current_capacity_kwh": ', '"current_capacity_kwh": 9', 1), id="over-1.2x"),
        pytest.param(BASE.replace("Z", ""), id="naive-timestamp"),
        pytest.param(BASE.replace('"cycle_count": ', '"cycle_count": true, "x": '), id="bool"),
        pytest.param(BASE.replace('"cells": [', '"cells": [[', 1), id="nested"),
        pytest.param(BASE.replace("4.", "NaN, 4.", 1), id="nan"),
        pytest.param(BASE.replace('"nominal_capacity_kwh": ', '"nominal_capacity_kwh": 1e999, "y": '), id="inf"),
        pytest.param("[" + BASE + "]", id="array"),
        pytest.param(BASE.replace('"vehicle_id": "', '"vehicle_id": "\\udc00'), id="lone-surrogate"),
    ],
)
def test_tricky_bodies_never_take_a_wrong_fast_path(raw):
    assert _log_fast(raw.encode()) is None
    assert_agrees(raw.encode())


@pytest.mark.parametrize("raw", [b'{"vehicle_id": "EV-\xff"}', b"\xef\xbb\xbf" + BASE.encode(), b"", b"   "])
def test_undecodable_bodies_are_left_to_the_full_path(raw):
    assert _log_fast(raw) is None


def test_an_escaped_key_alone_is_a_plain_log():
    """One string per key whatever its spelling: the quote count does not mistake an escape for a repeat."""
    raw = BASE.replace('"cycle_count": ', '"cycle\\u005fcount": ', 1).encode()
    assert _log_fast(raw) == full_path(raw)


def test_integral_float_counts_is_left_to_the_full_path():
    raw = BASE.replace('"cycle_count": ', '"cycle_count": 1.0, "x": ').encode()
    assert _log_fast(raw) is None
    log = json.loads(BASE)
    log["cycle_count"] = 412.0
    assert _log_fast(json.dumps(log).encode()) is None
    assert full_path(json.dumps(log).encode())["cycle_count"] == 412


def test_future_timestamp_is_left_to_the_full_path():
    log = mock_log(seed=2, timestamp=datetime.now(UTC) + timedelta(minutes=10))
    assert _log_fast(json.dumps(log).encode()) is None


@st.composite
def mutated_logs(draw):  # type: ignore[no-untyped-def]
    log = copy.deepcopy(mock_log(seed=draw(st.integers(0, 50)), timestamp=datetime(2025, 1, 1, tzinfo=UTC)))
    field = draw(
        st.sampled_from(
            ["vehicle_id", "timestamp", "cycle_count", "nominal_capacity_kwh", "current_capacity_kwh", "cell", "none"]
        )
    )
    value = draw(
        st.one_of(
            st.none(),
            st.booleans(),
            st.integers(-(2**70), 2**70),
            st.floats(allow_nan=False, allow_infinity=False),
            st.text(max_size=70),
        )
    )
    if field == "cell":
        index = draw(st.integers(0, len(log["cells"]) - 1))
        key = draw(st.sampled_from(["id", "voltage", "temperature", "other"]))
        log["cells"][index][key] = value
    elif field != "none":
        log[field] = value
    raw = json.dumps(log, indent=draw(st.sampled_from([None, 1]))).encode()
    cut = draw(st.integers(0, 3))
    return raw if cut else raw[: draw(st.integers(0, len(raw)))]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_logs())
def test_fast_path_agrees_with_the_full_path_on_random_mutations(raw):
    assert_agrees(raw)
