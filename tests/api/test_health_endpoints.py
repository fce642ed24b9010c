"""Contract section 3: /healthz, /readyz, and the error shape of URLs and methods that do not exist."""

import json
import uuid

import pytest
from django.db import OperationalError, connections

from vehicles.models import DiagnosticLog

# The contract's error codes (any of them will do for a wrong method; the contract names none for 405).
ERROR_CODES = {
    "invalid",
    "parse_error",
    "not_authenticated",
    "permission_denied",
    "not_found",
    "conflict",
    "payload_too_large",
    "unsupported_media_type",
    "throttled",
    "server_error",
}

# --- /healthz and /readyz ----------------------------------------------------------------------------------------


def test_healthz_answers_200(anon):
    response = anon.get("/healthz")
    assert response.status_code == 200, response.content


def test_readyz_answers_200_when_database_and_broker_answer(anon, db):
    response = anon.get("/readyz")
    assert response.status_code == 200, response.content


def test_readyz_reports_database_and_broker_as_ok(anon, db):
    body = anon.get("/readyz").json()
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["broker"]["status"] == "ok"


def test_readyz_answers_503_naming_the_database_when_it_is_down(anon, monkeypatch):
    def refuse(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise OperationalError("connection refused")

    monkeypatch.setattr(connections["default"], "cursor", refuse)
    response = anon.get("/readyz")
    assert response.status_code == 503, response.content
    assert "database" in response.content.decode()


def test_readyz_answers_503_naming_the_broker_when_it_is_down(anon, db, settings, monkeypatch):
    from config.celery import app

    monkeypatch.setitem(app.conf, "task_always_eager", False)
    monkeypatch.setitem(app.conf, "broker_url", "redis://127.0.0.1:1/0")
    monkeypatch.setitem(app.conf, "broker_write_url", "redis://127.0.0.1:1/0")
    response = anon.get("/readyz")
    assert response.status_code == 503, response.content
    assert "broker" in response.content.decode()
    assert response.json()["checks"]["database"]["status"] == "ok"


# --- unknown URL: 404 in the error shape --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("/nope", id="root level"),
        pytest.param("/api/v1/nope", id="under api v1"),
        pytest.param("/api/v2/diagnostics", id="api v2"),
        pytest.param("/api/v1/reports", id="reports without id"),
        pytest.param("/api/v1/reports/", id="reports slash without id"),
        pytest.param(f"/api/v1/diagnostics/{uuid.uuid4()}/extra", id="below a log"),
        pytest.param("/api/v1/reports/a/b", id="two path segments"),
        pytest.param("/healthz/extra", id="below healthz"),
    ],
)
def test_unknown_url_is_a_404_in_the_error_shape(api_a, assert_error, path):
    assert_error(api_a.get(path), 404, "not_found")


@pytest.mark.parametrize("path", ["/nope", "/api/v1/nope"])
def test_unknown_url_without_authentication_is_a_404_in_the_error_shape(anon, assert_error, path):
    assert_error(anon.get(path), 404, "not_found")


def test_post_to_an_unknown_url_is_a_404_in_the_error_shape(api_a, sample_log, assert_error):
    assert_error(api_a.post("/api/v1/diagnostic", sample_log), 404, "not_found")


# --- wrong method: 405 in the error shape, never 500 ---------------------------------------------------------------

LOG_PATH = f"/api/v1/diagnostics/{uuid.uuid4()}"
REPORT_PATH = f"/api/v1/reports/{uuid.uuid4()}"


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        pytest.param("GET", "/api/v1/diagnostics", "POST", id="GET diagnostics"),
        pytest.param("PUT", "/api/v1/diagnostics", "POST", id="PUT diagnostics"),
        pytest.param("DELETE", "/api/v1/diagnostics", "POST", id="DELETE diagnostics"),
        pytest.param("POST", LOG_PATH, "GET", id="POST a log"),
        pytest.param("PUT", LOG_PATH, "GET", id="PUT a log"),
        pytest.param("PATCH", LOG_PATH, "GET", id="PATCH a log"),
        pytest.param("DELETE", LOG_PATH, "GET", id="DELETE a log"),
        pytest.param("POST", REPORT_PATH, "GET", id="POST a report"),
        pytest.param("DELETE", REPORT_PATH, "GET", id="DELETE a report"),
        pytest.param("GET", "/api/v1/auth/token", "POST", id="GET token"),
        pytest.param("GET", "/api/v1/auth/token/refresh", "POST", id="GET token refresh"),
    ],
)
def test_wrong_method_is_a_405_in_the_error_shape(api_a, assert_error, method, path, allowed):
    response = api_a.client.generic(method, path, "{}", content_type="application/json")
    assert_error(response, 405, ERROR_CODES)
    assert allowed in [m.strip() for m in response["Allow"].split(",")]


def test_wrong_method_never_stores_anything(api_a, sample_log):
    api_a.client.generic("PUT", "/api/v1/diagnostics", json.dumps(sample_log), content_type="application/json")
    assert DiagnosticLog.objects.count() == 0


# --- an unexpected failure: 500 in the error shape, no internals -------------------------------------------------


def test_unexpected_failure_is_a_500_in_the_error_shape_without_internals(api_a, sample_log, assert_error, monkeypatch):
    import diagnostics.apis

    def explode(**kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(diagnostics.apis, "diagnostic_log_ingest", explode)
    api_a.client.raise_request_exception = False
    response = api_a.post("/api/v1/diagnostics", sample_log)
    assert_error(response, 500, "server_error")
    assert "secret internal detail" not in response.content.decode()
    assert "Traceback" not in response.content.decode()
