"""What the process runs on, for the start-up log line and /readyz."""

from urllib.parse import urlsplit, urlunsplit

from django.conf import settings


def redact_url(url: str) -> str:
    """The URL without its password."""
    parts = urlsplit(url)
    if parts.password:
        netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
        parts = parts._replace(netloc=netloc)
    return urlunsplit(parts)


def database_description() -> str:
    db = settings.DATABASES["default"]
    if db["ENGINE"] == "config.embedded_postgres":
        return f"embedded PostgreSQL (data in {settings.EMBEDDED_POSTGRES_DATA})"
    return redact_url(settings.DATABASE_URL)


def broker_description() -> str:
    """The broker the Celery app publishes to (its configuration, which the settings set)."""
    from celery import current_app

    if current_app.conf.task_always_eager:
        return "none: reports computed in-process (Celery eager mode)"
    return redact_url(str(current_app.conf.broker_url))


def cache_description() -> str:
    cache = settings.CACHES["default"]
    if "redis" in cache["BACKEND"].lower():
        return redact_url(str(cache["LOCATION"]))
    return "local memory (per process)"


def describe_runtime() -> str:
    return f"database: {database_description()}; broker: {broker_description()}; cache: {cache_description()}"
