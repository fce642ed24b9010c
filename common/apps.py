import logging
import sys

from django.apps import AppConfig

logger = logging.getLogger("battery_health")


class CommonConfig(AppConfig):
    name = "common"

    def ready(self) -> None:
        from django.conf import settings

        from common.runtime import describe_runtime

        # Only the long-running processes say what they run on; one-off commands stay quiet.

        argv = " ".join(sys.argv)
        if any(word in argv for word in ("runserver", "granian", "gunicorn", "celery", "uvicorn")):
            if getattr(settings, "LOCAL_DEFAULTS", False):
                # Said once, at start: nothing is configured, so this is a development machine's service.
                logger.warning(
                    "local settings with nothing configured: %s (set DATABASE_URL and CELERY_BROKER_URL, and "
                    "REDIS_URL, to run on real services)",
                    describe_runtime(),
                )
            else:
                logger.info(describe_runtime())
