"""Worker liveness and worker metrics: a heartbeat file that says "this worker consumes", and task counts.

A worker process can be alive and useless: its broker connection hung (the broker frozen, a half-open
TCP connection), its consumer loop stuck. A process check or `celery inspect ping` (which itself needs
the broker) does not tell. So the heartbeat file's modification time is renewed
- by every child after each task it ran (`task_postrun`), and
- by the consumer itself, on a timer in its event loop (`HeartbeatStep`), only after a round trip to the
  broker succeeded (a Redis PING, or a connection check, with short timeouts).
A stuck loop renews nothing; a hung broker fails the round trip. `manage.py worker_alive --max-age 60`
exits 1 once the file is older than that: the container's health check (docker-compose.yml), a
Kubernetes livenessProbe `exec` or autoheal restarts the worker.
"""

import functools
import logging
import time
from pathlib import Path
from typing import Any

from celery import bootsteps
from celery.signals import task_postrun
from celery.worker.consumer import Consumer
from django.conf import settings

from common.metrics import TASKS

logger = logging.getLogger(__name__)


def heartbeat_path() -> Path:
    return Path(settings.WORKER_HEARTBEAT_FILE)


def heartbeat_touch(path: Path | None = None) -> None:
    target = path or heartbeat_path()
    try:
        target.touch()
    except OSError as exc:
        logger.warning("worker heartbeat %s not written: %s", target, exc)


def heartbeat_age_seconds(path: Path | None = None) -> float | None:
    """Seconds since the last heartbeat; None if there was none."""
    try:
        return max(0.0, time.time() - (path or heartbeat_path()).stat().st_mtime)
    except FileNotFoundError:
        return None


def broker_round_trip(app: Any, timeout: float) -> None:
    """Raise unless the broker answers within about `timeout` seconds (Redis: a PING on a fresh connection)."""
    with app.connection_for_read() as conn:
        conn.ensure_connection(max_retries=0, timeout=timeout)
        client = getattr(conn.default_channel, "client", None)
        if client is not None:
            client.ping()


class HeartbeatStep(bootsteps.StartStopStep):
    """A consumer bootstep: every WORKER_HEARTBEAT_INTERVAL_S, check the broker and renew the heartbeat."""

    requires = {"celery.worker.consumer.tasks:Tasks"}

    def __init__(self, parent: Any, **kwargs: Any) -> None:
        super().__init__(parent, **kwargs)
        self._timer_entry: Any = None

    def start(self, parent: Any) -> None:
        interval = float(settings.WORKER_HEARTBEAT_INTERVAL_S)
        self._beat(parent)
        self._timer_entry = parent.timer.call_repeatedly(interval, self._beat, (parent,), priority=10)

    def stop(self, parent: Any) -> None:
        if self._timer_entry is not None:
            self._timer_entry.cancel()
            self._timer_entry = None

    def _beat(self, parent: Any) -> None:
        try:
            broker_round_trip(parent.app, timeout=float(settings.WORKER_HEARTBEAT_BROKER_TIMEOUT_S))
        except Exception as exc:  # no heartbeat: that is the signal
            logger.warning("worker heartbeat: broker round trip failed (%s: %s)", type(exc).__name__, exc)
            return
        heartbeat_touch()


def worker_observability_connect(app: Any) -> None:
    """Install the heartbeat step and the per-task heartbeat and counter on the Celery app."""
    app.steps["consumer"].add(HeartbeatStep)

    @task_postrun.connect(weak=False)
    def _after_task(task: Any = None, state: str | None = None, **kwargs: Any) -> None:
        TASKS.labels(getattr(task, "name", "unknown"), state or "unknown").inc()
        if not app.conf.task_always_eager:
            heartbeat_touch()


# The worker's consumer reconnects to a broker it lost this often: 1 s, then 2 s apart, for ever.
RECONNECT_INTERVAL_START_S = 1.0
RECONNECT_INTERVAL_STEP_S = 1.0
RECONNECT_INTERVAL_MAX_S = 2.0


class FastReconnectConsumer(Consumer):
    """Celery's consumer, reconnecting to a lost broker 1, 2, 2 ... s apart instead of 2, 4, 6 ... 30 s.

    Celery's `Consumer.ensure_connected` calls kombu's `Connection.ensure_connection` without intervals, so
    kombu's defaults apply (interval_start=2, interval_step=2, interval_max=30) and Celery has no setting for
    them: a worker could come back up to 30 s after its broker. Everything else (the error lines, the retry
    count, `broker_connection_max_retries`, the shutdown check) stays Celery's. Installed by
    CELERY_WORKER_CONSUMER (config/settings/base.py).
    """

    def ensure_connected(self, conn: Any) -> Any:
        ensure = conn.ensure_connection
        conn.ensure_connection = functools.partial(
            ensure,
            interval_start=RECONNECT_INTERVAL_START_S,
            interval_step=RECONNECT_INTERVAL_STEP_S,
            interval_max=RECONNECT_INTERVAL_MAX_S,
        )
        try:
            return super().ensure_connected(conn)
        finally:
            conn.ensure_connection = ensure
