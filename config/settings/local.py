"""Development settings: the default of ``manage.py``, ``make run`` and ``celery -A config``.

With nothing configured (none of DATABASE_URL, CELERY_BROKER_URL, REDIS_URL), the service runs on an
embedded PostgreSQL that it starts itself (data in ``.data/postgres``), computes reports in-process (Celery
eager mode) and caches in local memory, so that it works on a fresh machine; long-running processes say
so on their start-up line. A partial configuration is refused, never completed by a fallback: a database
without a broker (unless CELERY_TASK_ALWAYS_EAGER=true asks for in-process reports on purpose), a broker
or a cache without a database.
"""

import os

from django.core.exceptions import ImproperlyConfigured

from common.metricsdir import metrics_directories

from .base import *  # noqa: F403
from .base import CELERY_TASK_DEFAULT_QUEUE, DATA_DIR, env_bool, local_secret_key, services

_database_url = os.environ.get("DATABASE_URL", "")
_broker_url = os.environ.get("CELERY_BROKER_URL", "")
_redis_url = os.environ.get("REDIS_URL", "")
_eager = env_bool("CELERY_TASK_ALWAYS_EAGER", False)

# True when nothing is configured: the embedded database, eager mode and the local-memory cache.
LOCAL_DEFAULTS = not (_database_url or _broker_url or _redis_url)


def partial_configuration_problem(*, database_url: str, broker_url: str, redis_url: str, eager: bool) -> str | None:
    """Why this configuration is refused (a partial one), or None."""
    if not (database_url or broker_url or redis_url):
        return None
    if not database_url:
        given = " and ".join(
            name for name, value in (("CELERY_BROKER_URL", broker_url), ("REDIS_URL", redis_url)) if value
        )
        return (
            f"{given} {'is' if ' and ' not in given else 'are'} set but DATABASE_URL is not: set DATABASE_URL "
            "(the embedded PostgreSQL is used only when nothing at all is configured)."
        )
    if not broker_url and not eager:
        return (
            "DATABASE_URL is set but CELERY_BROKER_URL is not: set CELERY_BROKER_URL (Redis or RabbitMQ) for the "
            "report workers, or CELERY_TASK_ALWAYS_EAGER=true to compute reports in this process on purpose."
        )
    return None


if problem := partial_configuration_problem(
    database_url=_database_url, broker_url=_broker_url, redis_url=_redis_url, eager=_eager
):
    raise ImproperlyConfigured(f"config.settings.local: {problem}")

globals().update(
    services(
        database_url=_database_url,
        broker_url="" if _eager else _broker_url,
        eager=LOCAL_DEFAULTS or _eager,
        redis_url=_redis_url,
        secret_key=os.environ.get("DJANGO_SECRET_KEY") or local_secret_key(),
    )
)
# Every web and worker process of this deployment counts into one /metrics (common.metricsdir).
METRICS_ROOT, METRICS_GROUP_DIR = metrics_directories(
    database=_database_url or str(DATA_DIR / "postgres"), queue=CELERY_TASK_DEFAULT_QUEUE
)
