"""Contract section 3: /healthz, /readyz, and the error shape of URLs and methods that do not exist."""

import json
import uuid

import pytest
from django.db import InterfaceError, OperationalError, connections

from vehicles.models import DiagnosticLog, Vehicle

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
    error = assert_error(response, 405, "method_not_allowed")
    assert "fields" not in error
    assert allowed in [m.strip() for m in response["Allow"].split(",")]


def test_wrong_method_answers_exactly(api_a):
    response = api_a.client.generic("GET", "/api/v1/diagnostics")
    assert response.status_code == 405
    assert response.json() == {"error": {"code": "method_not_allowed", "message": 'Method "GET" not allowed.'}}


def test_wrong_method_never_stores_anything(api_a, sample_log):
    api_a.client.generic("PUT", "/api/v1/diagnostics", json.dumps(sample_log), content_type="application/json")
    assert DiagnosticLog.objects.count() == 0


# --- no acceptable representation: 406 in the error shape ---------------------------------------------------------


@pytest.mark.parametrize("accept", ["text/html", "application/xml", "image/png"])
def test_unacceptable_accept_header_is_a_406_in_the_error_shape(api_a, assert_error, accept):
    response = api_a.client.get(f"/api/v1/reports/{uuid.uuid4()}", HTTP_ACCEPT=accept)
    error = assert_error(response, 406, "not_acceptable")
    assert "fields" not in error


def test_unacceptable_accept_header_on_a_post_stores_nothing(api_a, sample_log):
    response = api_a.client.post(
        "/api/v1/diagnostics", json.dumps(sample_log), content_type="application/json", HTTP_ACCEPT="text/html"
    )
    assert response.status_code == 406
    assert response.json()["error"]["code"] == "not_acceptable"
    assert DiagnosticLog.objects.count() == 0
    assert Vehicle.objects.count() == 0


# --- the database down: 503 service_unavailable with Retry-After ---------------------------------------------------


@pytest.mark.parametrize("error", [OperationalError, InterfaceError])
def test_database_down_is_a_503_service_unavailable_with_retry_after(api_a, sample_log, monkeypatch, error):
    import diagnostics.apis

    def refuse(**kwargs):  # type: ignore[no-untyped-def]
        raise error("connection refused")

    monkeypatch.setattr(diagnostics.apis, "diagnostic_log_ingest", refuse)
    response = api_a.post("/api/v1/diagnostics", sample_log)
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json() == {
        "error": {"code": "service_unavailable", "message": "The database is unavailable; retry later."}
    }
    assert DiagnosticLog.objects.count() == 0


def test_service_unavailable_exception_renders_its_own_code(api_a, monkeypatch):
    import diagnostics.apis
    from common.exceptions import ServiceUnavailable

    def unavailable(**kwargs):  # type: ignore[no-untyped-def]
        raise ServiceUnavailable()

    monkeypatch.setattr(diagnostics.apis, "diagnostic_log_get", unavailable)
    response = api_a.get(f"/api/v1/diagnostics/{uuid.uuid4()}")
    assert response.status_code == 503
    assert response.json() == {
        "error": {"code": "service_unavailable", "message": "The service is temporarily unavailable; retry later."}
    }


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
