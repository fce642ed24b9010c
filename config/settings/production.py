"""Production settings: the Dockerfile's and compose's DJANGO_SETTINGS_MODULE, and the default of the
WSGI/ASGI entry points.

Nothing falls back: without DATABASE_URL, CELERY_BROKER_URL, REDIS_URL and DJANGO_SECRET_KEY the process
refuses to start, naming every one that is missing (no embedded database, no in-process reports, no
per-process cache, no generated key).
"""

import os

from django.core.exceptions import ImproperlyConfigured

from common.metricsdir import metrics_directories

from .base import *  # noqa: F403
from .base import CELERY_TASK_DEFAULT_QUEUE, env_bool, services

REQUIRED = ("DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL", "DJANGO_SECRET_KEY")

if missing := [name for name in REQUIRED if not os.environ.get(name)]:
    raise ImproperlyConfigured(
        "config.settings.production refuses to start without "
        + ", ".join(missing)
        + " (see .env.example; for development without them use config.settings.local)."
    )
if env_bool("CELERY_TASK_ALWAYS_EAGER", False):
    raise ImproperlyConfigured(
        "config.settings.production: CELERY_TASK_ALWAYS_EAGER=true would compute reports in the web process; "
        "production publishes them to CELERY_BROKER_URL's workers (unset it, or use config.settings.local)."
    )

LOCAL_DEFAULTS = False
globals().update(
    services(
        database_url=os.environ["DATABASE_URL"],
        broker_url=os.environ["CELERY_BROKER_URL"],
        eager=False,
        redis_url=os.environ["REDIS_URL"],
        secret_key=os.environ["DJANGO_SECRET_KEY"],
    )
)
# Every web and worker process of this deployment counts into one /metrics (common.metricsdir).
METRICS_ROOT, METRICS_GROUP_DIR = metrics_directories(
    database=os.environ["DATABASE_URL"], queue=CELERY_TASK_DEFAULT_QUEUE
)
