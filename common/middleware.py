"""Per request: its id (X-Request-ID in, and echoed out), its log context, its metrics and one access line."""

import random
from collections.abc import Callable
from typing import Any

import structlog
from django.conf import settings
from django.http import HttpRequest, HttpResponse

from common.logs import REQUEST_ID_HEADER, request_id_from_header, request_line
from common.metrics import HTTP_LATENCY, HTTP_REQUESTS, INGEST_LOGS, Stopwatch

# URL names of the ingest endpoints; a request's HTTP status is its outcome (the bulk endpoint counts its
# items itself when it answers 200, diagnostics.apis). 401 and 5xx are no ingest outcome: the HTTP
# series count them.
INGEST_ROUTES = {"diagnostics-ingest": "single", "diagnostics-bulk": "bulk"}
_OUTCOME_BY_STATUS = {
    202: "accepted",
    200: "duplicate",
    409: "conflict",
    400: "invalid",
    413: "invalid",
    415: "invalid",
    403: "forbidden",
    429: "throttled",
}
_INGEST_OUTCOMES = {outcome: INGEST_LOGS.labels(outcome) for outcome in set(_OUTCOME_BY_STATUS.values())}
_REQUEST_ID_META = "HTTP_" + REQUEST_ID_HEADER.upper().replace("-", "_")
# Probes and scrapes are not worth a log line each. With LOG_REQUESTS=errors, only 4xx, 5xx and slow requests
# (LOG_REQUESTS=all with LOG_REQUESTS_SAMPLE < 1: those, and that share of the others, marked sample_rate)
# get their line (the line costs more than all the metrics together: docs/performance.md).
_SLOW_S = 1.0
_QUIET_ROUTES = {"healthz", "readyz", "metrics"}


class ObservabilityMiddleware:
    """First in MIDDLEWARE: sees every request, including those the other middleware answer."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        # prometheus_client's children by label values, kept here: `.labels()` takes a lock and builds the
        # key on every call. Routes, methods and statuses are few (URL patterns, not raw paths).
        self._requests: dict[tuple[str, str, int], Any] = {}
        self._latency: dict[tuple[str, str], Any] = {}

    def __call__(self, request: HttpRequest) -> HttpResponse:
        watch = Stopwatch()
        # META, not request.headers: the latter builds a dict of every header on first use.
        request_id = request_id_from_header(request.META.get(_REQUEST_ID_META))
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        request.request_id = request_id
        response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request_id
        match = request.resolver_match
        route = f"/{match.route}" if match is not None else "unmatched"
        url_name = match.url_name if match is not None else None
        seconds = watch.seconds()
        status = response.status_code
        method = request.method or ""
        counter = self._requests.get((route, method, status))
        if counter is None:
            counter = self._requests[(route, method, status)] = HTTP_REQUESTS.labels(route, method, str(status))
        counter.inc()
        histogram = self._latency.get((route, method))
        if histogram is None:
            histogram = self._latency[(route, method)] = HTTP_LATENCY.labels(route, method)
        histogram.observe(seconds)
        kind = INGEST_ROUTES.get(url_name or "")
        if kind is not None and request.method == "POST":
            outcome = _OUTCOME_BY_STATUS.get(status)
            if outcome is not None and not (kind == "bulk" and status == 200):
                _INGEST_OUTCOMES[outcome].inc()
        log_requests = settings.LOG_REQUESTS
        if url_name not in _QUIET_ROUTES and log_requests != "none":
            if status >= 400 or seconds >= _SLOW_S:  # errors and slow requests: always
                request_line(method=method, route=route, status=status, duration_ms=round(seconds * 1000, 2))
            elif log_requests == "all":
                rate = settings.LOG_REQUESTS_SAMPLE
                if rate >= 1.0:
                    request_line(method=method, route=route, status=status, duration_ms=round(seconds * 1000, 2))
                elif random.random() < rate:
                    request_line(
                        method=method,
                        route=route,
                        status=status,
                        duration_ms=round(seconds * 1000, 2),
                        sample_rate=rate,
                    )
        structlog.contextvars.clear_contextvars()
        return response
