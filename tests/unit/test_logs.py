"""Structured logs (common.logs): the request id rule and the JSON line's fields."""

import io
import json
import logging
import logging.config
import uuid

import pytest
import structlog

from common.logs import (
    bind,
    current_request_id,
    logging_config,
    request_id_from_header,
    request_line,
    request_line_configure,
)


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        pytest.param("abc-123", True, id="plain"),
        pytest.param("x" * 128, True, id="128 chars"),
        pytest.param("x" * 129, False, id="129 chars"),
        pytest.param("", False, id="empty"),
        pytest.param(None, False, id="absent"),
        pytest.param("a b", False, id="space"),
        pytest.param("a\nb", False, id="newline"),
        pytest.param("a\x00b", False, id="control"),
        pytest.param("ü", False, id="non-ascii"),
    ],
)
def test_request_id_from_header(given, kept):
    result = request_id_from_header(given)
    if kept:
        assert result == given
    else:
        assert uuid.UUID(result).version == 4


@pytest.fixture
def json_log() -> io.StringIO:
    """Root logging as LOG_FORMAT=json configures it, written to a buffer; restored afterwards."""
    stream = io.StringIO()
    config = logging_config(level="INFO", json_format=True, quiet={})
    config["handlers"]["console"]["stream"] = stream
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    logging.config.dictConfig(config)
    structlog.contextvars.clear_contextvars()
    yield stream
    structlog.contextvars.clear_contextvars()
    root.handlers[:], _ = saved
    root.setLevel(saved[1])


def test_a_stdlib_log_line_is_one_json_object_with_the_bound_context(json_log):
    bind(request_id="req-1", fleet=7, vehicle_id="EV-1", log_id=None)
    logging.getLogger("some.module").info("stored %s", "it", extra={"log_id": "L1"})
    line = json.loads(json_log.getvalue().strip())
    assert line["event"] == "stored it"
    assert line["level"] == "info"
    assert line["logger"] == "some.module"
    assert line["timestamp"].endswith("Z")
    assert (line["request_id"], line["fleet"], line["vehicle_id"], line["log_id"]) == ("req-1", 7, "EV-1", "L1")
    assert current_request_id() == "req-1"


def test_an_exception_is_rendered_inside_the_json_line(json_log):
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("x").exception("failed")
    lines = json_log.getvalue().strip().splitlines()
    assert len(lines) == 1
    assert "ValueError: boom" in json.loads(lines[0])["exception"]


@pytest.fixture
def json_request_lines() -> io.StringIO:
    """The per-request line's writer as LOG_FORMAT=json sets it up, into a buffer; the stdlib path afterwards."""
    stream = io.StringIO()
    request_line_configure(level="INFO", json_format=True, stream=stream)
    structlog.contextvars.clear_contextvars()
    yield stream
    structlog.contextvars.clear_contextvars()
    request_line_configure(level="INFO", json_format=False)


def test_the_request_line_is_one_json_object_with_the_bound_context(json_request_lines):
    bind(request_id="req-9", fleet=3, vehicle_id="EV-9", log_id="L9")
    request_line(method="POST", route="/api/v1/diagnostics", status=202, duration_ms=1.25)
    request_line(method="GET", route="/api/v1/vehicles", status=404, duration_ms=0.5)
    first, second = (json.loads(line) for line in json_request_lines.getvalue().splitlines())
    assert first["event"] == "request finished"
    assert (first["level"], first["logger"]) == ("info", "battery_health.request")
    assert first["timestamp"].endswith("Z")
    assert (first["request_id"], first["fleet"], first["vehicle_id"], first["log_id"]) == ("req-9", 3, "EV-9", "L9")
    assert (first["method"], first["route"], first["status"], first["duration_ms"]) == (
        "POST",
        "/api/v1/diagnostics",
        202,
        1.25,
    )
    assert second["status"] == 404


def test_the_request_line_follows_log_level():
    stream = io.StringIO()
    request_line_configure(level="WARNING", json_format=True, stream=stream)
    try:
        request_line(method="GET", route="/x", status=200, duration_ms=1.0)
    finally:
        request_line_configure(level="INFO", json_format=False)
    assert stream.getvalue() == ""
