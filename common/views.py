"""Liveness, readiness and metrics, without user authentication."""

import logging
import threading
import time
from collections.abc import Callable

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse

from common.metrics import CONTENT_TYPE, DatabaseGauges, DatabaseGaugesCollector, bearer_token_matches
from common.metrics import metrics_exposition as _exposition
from common.runtime import broker_description, cache_description, database_description

logger = logging.getLogger(__name__)


def healthz(request: HttpRequest) -> JsonResponse:
    """200 while the process serves."""
    return JsonResponse({"status": "ok"})


def _check_database() -> None:
    try:
        with connection.cursor() as cursor:
            # The check's own bound, whatever the connection's statement_timeout.
            cursor.execute(f"SET statement_timeout = {int(settings.READYZ_CHECK_TIMEOUT_S * 1000)}")
            cursor.execute("SELECT 1")
    finally:
        connection.close()  # the check ran in its own thread: its connection is not reused


def _check_broker() -> None:
    from celery import current_app

    if current_app.conf.task_always_eager:
        return
    timeout = settings.READYZ_CHECK_TIMEOUT_S
    with current_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=0, timeout=timeout)
        client = getattr(conn.default_channel, "client", None)
        if client is not None:  # Redis: a connection is not an answer (a frozen server accepts it); a PING is
            client.ping()


def _check_cache() -> None:
    from django.core.cache import caches

    # The raw client: the cache's IGNORE_EXCEPTIONS would turn an outage into a miss. A local memory cache
    # (no REDIS_URL) has no client and is always there.
    get_client = getattr(getattr(caches["default"], "client", None), "get_client", None)
    if get_client is not None and not get_client(write=True).ping():
        raise ConnectionError("no PONG")


_CHECKS: dict[str, tuple[Callable[[], None], Callable[[], str]]] = {
    "database": (_check_database, database_description),
    "broker": (_check_broker, broker_description),
    "cache": (_check_cache, cache_description),
}


def _run_checks(deadline_s: float) -> dict[str, str | None]:
    """Each check in its own thread; name -> None (ok) or the reason it is down, "timed out" past the deadline."""
    results: dict[str, str | None] = {}
    lock = threading.Lock()

    def run(name: str, check: Callable[[], None]) -> None:
        try:
            check()
            outcome = None
        except Exception as exc:  # any failure means "not ready"; the reason is reported, not raised
            outcome = " ".join(f"{type(exc).__name__}: {exc}".split())[:200]
        with lock:
            results[name] = outcome

    threads = [
        threading.Thread(target=run, args=(name, check), name=f"readyz-{name}", daemon=True)
        for name, (check, _) in _CHECKS.items()
    ]
    end = time.monotonic() + deadline_s
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(0.0, end - time.monotonic()))
    with lock:
        return {name: results.get(name, f"no answer within {deadline_s:g} s") for name in _CHECKS}


def readyz(request: HttpRequest) -> JsonResponse:
    """200 when the database, the broker and the cache answer, else 503 naming what is down; within 2 s
    whatever is down (the checks run at once, each with its own timeout, under one deadline)."""
    outcomes = _run_checks(settings.READYZ_DEADLINE_S)
    checks: dict[str, dict[str, str]] = {}
    down = []
    for name, (_, describe) in _CHECKS.items():
        reason = outcomes[name]
        checks[name] = {"status": "ok" if reason is None else "down", "backend": describe()}
        if reason is not None:
            logger.warning("readyz: %s is down: %s", name, reason)
            checks[name]["reason"] = reason
            down.append(name)
    if down:
        message = f"Not ready: {', '.join(down)} down."
        return JsonResponse({"status": "unavailable", "message": message, "down": down, "checks": checks}, status=503)
    return JsonResponse({"status": "ok", "checks": checks})


def metrics_view(read_gauges: Callable[[], DatabaseGauges]) -> Callable[[HttpRequest], HttpResponse]:
    """GET /metrics: the Prometheus exposition; with METRICS_TOKEN set, only for `Bearer <METRICS_TOKEN>`."""

    def metrics(request: HttpRequest) -> HttpResponse:
        token = settings.METRICS_TOKEN
        if token and not bearer_token_matches(request.headers.get("Authorization", ""), token):
            response = JsonResponse(
                {"error": {"code": "not_authenticated", "message": "A valid metrics bearer token is required."}},
                status=401,
            )
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
        return HttpResponse(_exposition([DatabaseGaugesCollector(read_gauges)]), content_type=CONTENT_TYPE)

    return metrics
