"""The Celery application. Settings come from Django's settings under the CELERY_ namespace."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("battery_health")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_configure.connect
def _observability(sender: Celery, **kwargs: object) -> None:
    """task_id in the log lines of each task; the worker's heartbeat and task counters (common.worker)."""
    from django.conf import settings

    from common.logs import celery_task_context_connect, celery_worker_json_startup_connect
    from common.worker import worker_observability_connect

    celery_task_context_connect()
    if settings.LOG_FORMAT == "json":
        celery_worker_json_startup_connect()
    worker_observability_connect(sender)
