"""Liveness and readiness, without authentication."""

import logging

from django.db import connection
from django.http import HttpRequest, JsonResponse

from common.runtime import broker_description, database_description

logger = logging.getLogger(__name__)


def healthz(request: HttpRequest) -> JsonResponse:
    """200 while the process serves."""
    return JsonResponse({"status": "ok"})


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _check_broker() -> None:
    from celery import current_app

    if current_app.conf.task_always_eager:
        return
    with current_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=0, timeout=2)


def readyz(request: HttpRequest) -> JsonResponse:
    """200 when the database and the broker answer, else 503 naming what is down."""
    checks = {"database": (_check_database, database_description()), "broker": (_check_broker, broker_description())}
    results: dict[str, dict[str, str]] = {}
    down = []
    for name, (check, description) in checks.items():
        try:
            check()
            results[name] = {"status": "ok", "backend": description}
        except Exception as exc:  # any failure means "not ready"; the reason is reported, not raised
            logger.warning("readyz: %s is down: %s", name, exc)
            results[name] = {"status": "down", "backend": description, "reason": " ".join(str(exc).split())[:200]}
            down.append(name)
    if down:
        message = f"Not ready: {', '.join(down)} down."
        return JsonResponse({"status": "unavailable", "message": message, "down": down, "checks": results}, status=503)
    return JsonResponse({"status": "ok", "checks": results})
