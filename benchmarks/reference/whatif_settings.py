"""Our service with settings-only changes the profile points at (a what-if; config/settings.py is unchanged).

- ``CONN_HEALTH_CHECKS = False``: Django otherwise runs a ``SELECT 1`` (``is_usable``) on a persistent
  connection at the first query of every request: a full database round trip per request;
- API-only middleware: the JSON API authenticates by JWT, so the session, CSRF, auth and messages
  middleware do nothing for it (the admin site, which needs them, would move to its own settings/URL conf).

Everything else (JWT user query, throttles, validation, the ingest statement, the task publish) as is.
"""

from config.settings import *  # noqa: F403
from config.settings import DATABASES

DATABASES["default"]["CONN_HEALTH_CHECKS"] = False
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
]
