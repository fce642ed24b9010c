"""Contract section 8 in one process: /metrics and its token, ingest outcomes, X-Request-ID, /readyz's deadline.

The multi-process side (granian workers, Celery children, a real Prometheus) is in
tests/integration/test_observability_live.py.
"""

import time
import uuid

import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from vehicles.models import DiagnosticLog


def _outcome(outcome: str) -> float:
    return REGISTRY.get_sample_value("battery_ingest_logs_total", {"outcome": outcome}) or 0.0


def _families(text: str) -> dict[str, object]:
    return {family.name: family for family in text_string_to_metric_families(text)}


def test_metrics_without_a_token_configured_is_open(anon, db, settings):
    settings.METRICS_TOKEN = ""
    response = anon.get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")


@pytest.mark.parametrize(
    "authorization",
    [pytest.param(None, id="none"), pytest.param("Bearer nope", id="wrong"), pytest.param("Basic s3cret", id="scheme")],
)
def test_metrics_with_a_token_configured_refuses_anyone_without_it(anon, db, settings, authorization):
    settings.METRICS_TOKEN = "s3cret"
    extra = {"HTTP_AUTHORIZATION": authorization} if authorization else {}
    response = anon.get("/metrics", **extra)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert b"battery_" not in response.content


def test_metrics_with_the_token_lists_the_contract_series(anon, client_a, settings, sample_log):
    settings.METRICS_TOKEN = "s3cret"
    assert client_a.post("/api/v1/diagnostics", sample_log).status_code == 202
    response = anon.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret")
    assert response.status_code == 200
    families = _families(response.content.decode())
    for name in (
        "battery_ingest_logs",
        "battery_reports",
        "battery_report_lag_seconds",
        "battery_pending_logs",
        "battery_oldest_pending_log_age_seconds",
        "battery_http_requests",
        "battery_http_request_duration_seconds",
        "battery_vehicles_by_soh",
    ):
        assert name in families, name


def test_pending_gauges_are_read_from_the_database_at_scrape_time(anon, client_a, sample_log, monkeypatch):
    monkeypatch.setattr("reports.dispatch.publisher.submit", lambda log_ids: None)  # no worker: it stays pending
    assert client_a.post("/api/v1/diagnostics", sample_log).status_code == 202
    DiagnosticLog.objects.update(received_at=DiagnosticLog.objects.get().received_at.replace(year=2020))
    families = _families(anon.get("/metrics").content.decode())
    assert families["battery_pending_logs"].samples[0].value == 1  # type: ignore[attr-defined]
    assert families["battery_oldest_pending_log_age_seconds"].samples[0].value > 86400 * 365  # type: ignore[attr-defined]


def test_ingest_outcomes_are_counted(client_a, client_b, sample_log, make_log, settings):
    before = {outcome: _outcome(outcome) for outcome in ("accepted", "duplicate", "conflict", "invalid", "forbidden")}
    assert client_a.post("/api/v1/diagnostics", sample_log).status_code == 202
    assert client_a.post("/api/v1/diagnostics", sample_log).status_code == 200
    assert client_a.post("/api/v1/diagnostics", make_log(cycle_count=1)).status_code == 409
    assert client_a.post("/api/v1/diagnostics", make_log(cycle_count=-1)).status_code == 400
    assert client_b.post("/api/v1/diagnostics", make_log(timestamp="2025-10-04T11:00:00Z")).status_code == 403
    bulk = client_a.post("/api/v1/diagnostics/bulk", [make_log(timestamp="2025-10-04T12:00:00Z"), sample_log, {}])
    assert bulk.status_code == 200
    after = {outcome: _outcome(outcome) - before[outcome] for outcome in before}
    assert after == {"accepted": 2, "duplicate": 2, "conflict": 1, "invalid": 2, "forbidden": 1}


def test_a_throttled_ingest_is_counted(client_a, sample_log, make_log, settings):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "user": "1/min"}
    before = _outcome("throttled")
    client_a.post("/api/v1/diagnostics", sample_log)
    assert client_a.post("/api/v1/diagnostics", make_log(timestamp="2025-10-04T13:00:00Z")).status_code == 429
    assert _outcome("throttled") - before == 1


def test_http_requests_are_counted_by_url_pattern_not_raw_path(client_a):
    log_id = uuid.uuid4()
    before = REGISTRY.get_sample_value(
        "battery_http_requests_total", {"route": "/api/v1/reports/<str:log_id>", "method": "GET", "status": "404"}
    )
    assert client_a.get(f"/api/v1/reports/{log_id}").status_code == 404
    after = REGISTRY.get_sample_value(
        "battery_http_requests_total", {"route": "/api/v1/reports/<str:log_id>", "method": "GET", "status": "404"}
    )
    assert (after or 0) - (before or 0) == 1
    assert (
        REGISTRY.get_sample_value(
            "battery_http_requests_total", {"route": f"/api/v1/reports/{log_id}", "method": "GET", "status": "404"}
        )
        is None
    )


# --- X-Request-ID ----------------------------------------------------------------------------------------------


def test_a_valid_request_id_is_echoed(anon):
    response = anon.get("/healthz", HTTP_X_REQUEST_ID="trace-abc.123")
    assert response["X-Request-ID"] == "trace-abc.123"


@pytest.mark.parametrize(
    "given",
    [pytest.param("a" * 129, id="too long"), pytest.param("has space", id="space"), pytest.param("é", id="non-ascii")],
)
def test_an_invalid_request_id_is_replaced_by_a_new_uuid4(anon, given):
    echoed = anon.get("/healthz", HTTP_X_REQUEST_ID=given)["X-Request-ID"]
    assert echoed != given
    assert uuid.UUID(echoed).version == 4


def test_without_a_request_id_one_is_made(anon):
    first, second = anon.get("/healthz")["X-Request-ID"], anon.get("/healthz")["X-Request-ID"]
    assert first != second
    assert uuid.UUID(first).version == 4


def test_error_responses_carry_the_request_id_too(anon):
    assert anon.get("/api/v1/nope", HTTP_X_REQUEST_ID="r-404")["X-Request-ID"] == "r-404"


# --- /readyz: within 2 s whatever hangs -------------------------------------------------------------------------


def test_readyz_answers_within_2_s_naming_a_check_that_hangs(anon, db, monkeypatch):
    import common.views

    def hang() -> None:
        time.sleep(5)  # on purpose: a check that hangs past /readyz's 2 s deadline (the test checks it answers first)

    checks = dict(common.views._CHECKS)
    checks["database"] = (hang, checks["database"][1])
    monkeypatch.setattr(common.views, "_CHECKS", checks)
    started = time.monotonic()
    response = anon.get("/readyz")
    elapsed = time.monotonic() - started
    assert elapsed < 2.0
    assert response.status_code == 503
    body = response.json()
    assert body["down"] == ["database"]
    assert body["checks"]["database"]["reason"].startswith("no answer within")
    assert set(body["checks"]) == {"database", "broker", "cache"}


def test_readyz_names_the_cache_when_it_is_down(anon, db, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.25, "SOCKET_TIMEOUT": 0.25, "IGNORE_EXCEPTIONS": True},
        }
    }
    response = anon.get("/readyz")
    assert response.status_code == 503
    assert response.json()["down"] == ["cache"]
    assert response.json()["checks"]["cache"]["backend"] == "redis://127.0.0.1:1/0"


# --- the per-request log line ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("log_requests", "logged_statuses"),
    [
        pytest.param("all", [202, 409], id="all"),
        pytest.param("errors", [409], id="errors"),
        pytest.param("none", [], id="none"),
    ],
)
def test_request_lines_follow_log_requests(
    client_a, sample_log, make_log, settings, caplog, log_requests, logged_statuses
):
    settings.LOG_REQUESTS = log_requests
    with caplog.at_level("INFO", logger="battery_health.request"):
        client_a.post("/api/v1/diagnostics", sample_log, HTTP_X_REQUEST_ID="line-1")
        client_a.post("/api/v1/diagnostics", make_log(cycle_count=1), HTTP_X_REQUEST_ID="line-2")
        client_a.get("/healthz")
    lines = [record for record in caplog.records if record.name == "battery_health.request"]
    assert [record.status for record in lines] == logged_statuses  # type: ignore[attr-defined]
    assert all(record.route == "/api/v1/diagnostics" for record in lines)  # type: ignore[attr-defined]


def test_a_sampled_request_line_keeps_errors_and_marks_its_rate(client_a, sample_log, settings, caplog, monkeypatch):
    """LOG_REQUESTS_SAMPLE < 1: successful requests' lines are a random share, marked; errors always logged."""
    import common.middleware

    settings.LOG_REQUESTS = "all"
    settings.LOG_REQUESTS_SAMPLE = 0.25
    draws = iter([0.1, 0.9])  # the first 2xx is kept (0.1 < 0.25), the second not
    monkeypatch.setattr(common.middleware.random, "random", lambda: next(draws))
    with caplog.at_level("INFO", logger="battery_health.request"):
        assert client_a.post("/api/v1/diagnostics", sample_log).status_code == 202
        assert client_a.post("/api/v1/diagnostics", sample_log).status_code == 200
        for _ in range(3):  # errors: no draw, always logged
            assert client_a.get("/api/v1/reports/not-a-uuid").status_code == 404
    lines = [record for record in caplog.records if record.name == "battery_health.request"]
    assert [record.status for record in lines] == [202, 404, 404, 404]  # type: ignore[attr-defined]
    assert lines[0].sample_rate == 0.25  # type: ignore[attr-defined]
    assert not hasattr(lines[1], "sample_rate")


def test_open_alerts_are_read_from_the_database_at_scrape_time(anon, client_a, make_log):
    hot = [{"id": 0, "voltage": 4.0, "temperature": 65.0}, {"id": 1, "voltage": 4.0, "temperature": 30.0}]
    assert client_a.post("/api/v1/diagnostics", make_log(vehicle_id="EV-HOT", cells=hot)).status_code == 202

    families = _families(anon.get("/metrics").content.decode())

    samples = {
        (sample.labels["type"], sample.labels["severity"]): sample.value
        for sample in families["battery_alerts_open"].samples
    }
    assert samples == {("overheating", "critical"): 1.0}
