import logging
import sys

from django.apps import AppConfig

logger = logging.getLogger("battery_health")


class CommonConfig(AppConfig):
    name = "common"

    def ready(self) -> None:
        from common.runtime import describe_runtime

        # Only the long-running processes say what they run on; one-off commands stay quiet.
        argv = " ".join(sys.argv)
        if any(word in argv for word in ("runserver", "granian", "gunicorn", "celery", "uvicorn")):
            logger.info(describe_runtime())
