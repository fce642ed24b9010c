"""The test suite's settings (pyproject.toml's DJANGO_SETTINGS_MODULE).

The database is DATABASE_URL's server (pytest-django makes its test database there) or, with none set,
the embedded PostgreSQL. Reports are computed in-process: a test about the worker publishes to a real
broker of its own explicitly (tests.support.infra.app_publishing_to), so no test leaves messages on a
shared broker by accident. The cache is REDIS_URL's when set (rate limits and hot reads need it), else
local memory. Processes the tests start (granian, Celery workers) run the production settings
(tests.support.infra.service_env), as deployed.
"""

import os

from .base import *  # noqa: F403
from .base import local_secret_key, services

globals().update(
    services(
        database_url=os.environ.get("DATABASE_URL", ""),
        broker_url="",
        eager=True,
        redis_url=os.environ.get("REDIS_URL", ""),
        secret_key=os.environ.get("DJANGO_SECRET_KEY") or local_secret_key(),
    )
)
LOCAL_DEFAULTS = False
# The suite's own process counts in its default registry (one process); the servers it starts run the
# production settings, which count every process (common.metricsdir). PROMETHEUS_MULTIPROC_DIR set: that one.
METRICS_ROOT = os.environ.get("METRICS_MULTIPROC_ROOT") or os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None
