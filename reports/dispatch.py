"""Report dispatch: how report work reaches the workers. The one module that publishes report tasks.

Producers (the ingest services) call `reports_enqueue_on_commit`; nothing else publishes.

- After commit, never before: a task can never see an uncommitted log.
- Off the request: a background thread per process (`BackgroundPublisher`) takes every log id waiting at
  that moment (up to `BATCH_MAX`) and publishes one batch task for them, then pauses in proportion to the
  batch (`PUBLISH_PAUSE_PER_ID_S` per id, at most `MAX_PUBLISH_INTERVAL_S`): one log per task when
  traffic is light, up to 100 per task under load, so publishing and the workers cost less per log. A dead
  or hung broker never holds a request: the log is committed, which is the promise. In eager mode (no
  broker) the task runs at once, in the caller's thread.
- A broker outage heals within seconds of the broker's return: a batch the broker refused stays with the
  thread, which publishes it again under kombu's retry policy (`REPUBLISH_RETRY_POLICY`: reconnect 0.5,
  1, 1.5, 2, 2 ... s apart, for ever) while new ids wait in the in-memory queue; once the broker answers,
  the batch goes out and the queue drains in batches of 100. The in-memory queue is bounded (an id beyond
  it is only logged) and lost if the process dies: both are the sweeper's job by design.
- The sweeper (`stale_logs_requeue`) is the last resort for lost messages: logs left `pending` past a
  threshold (120 s in production) once the queue has drained, and `processing` logs whose claim was
  abandoned.
"""

import atexit
import logging
import os
import queue
import threading
import time
import uuid
from datetime import timedelta

from celery import current_app
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError

from common.logs import current_request_id
from reports.services import claims_abandoned_release

logger = logging.getLogger(__name__)

MAX_PENDING = 10_000
BATCH_MAX = 100
# The pause after a publish grows with the batch just sent: at light load batches hold one id and the
# next log goes out within 10 ms; under load batches fill and publishes come every 50 ms per process, so
# the worker runs few, large tasks (its per-task cost is what bounds it). The measurements behind these
# two figures are in docs/performance.md.
PUBLISH_PAUSE_PER_ID_S = 0.01
MAX_PUBLISH_INTERVAL_S = 0.05
FLUSH_AT_EXIT_S = 2.0
SWEEP_BATCH = 100


# After a refused publish, the publisher thread waits for the broker with kombu's own reconnect loop
# (Connection.ensure_connection with these intervals: 0.5 s, then 0.5 s longer each time, at most 2 s apart,
# never giving up) and publishes the batch as soon as a connection is made: the batch goes out within ~2 s
# of the broker's return, and a dead broker costs one connection attempt every 2 s per web process.
REPUBLISH_RETRY_POLICY = {"max_retries": None, "interval_start": 0.5, "interval_step": 0.5, "interval_max": 2.0}

# The batch report task (reports.tasks), named rather than imported: the tasks call this module.
REPORT_TASK = "reports.generate_battery_reports"


def reports_enqueue(log_ids: list[uuid.UUID], request_ids: dict[str, str] | None = None) -> bool:
    """Publish one batch report task for `log_ids` now, best effort: False (logged) if the broker refused.

    `request_ids` (log id -> the id of the request that posted it) travel in the task's kwargs, so that the
    worker's log lines of each log carry its request's id (a batch serves many requests).
    """
    kwargs = {"request_ids": request_ids} if request_ids else {}
    try:
        current_app.tasks[REPORT_TASK].apply_async(
            args=[[str(log_id) for log_id in log_ids]], kwargs=kwargs, retry=False
        )
    except Exception as exc:
        logger.warning("batch report task for %d logs not published (%s: %s)", len(log_ids), type(exc).__name__, exc)
        return False
    return True


def reports_enqueue_when_broker_returns(log_ids: list[uuid.UUID], request_ids: dict[str, str] | None = None) -> None:
    """Publish one batch report task for `log_ids`, waiting for the broker as long as it takes; for the
    publisher thread, after `reports_enqueue` was refused.

    kombu's `ensure_connection` (REPUBLISH_RETRY_POLICY's intervals) waits until the broker accepts a
    connection, and the task goes out on that connection, with the same policy for the publish itself. (The
    publish's own retry policy alone does not wait: a broker that refuses the connection fails its channel
    before kombu's retries begin.) A broker lost again between the connection and the publish starts over.
    """
    kwargs = {"request_ids": request_ids} if request_ids else {}
    app = current_app
    started = time.monotonic()
    while True:
        with app.connection_for_write() as conn:
            try:
                conn.ensure_connection(**REPUBLISH_RETRY_POLICY)
                app.tasks[REPORT_TASK].apply_async(
                    args=[[str(log_id) for log_id in log_ids]],
                    kwargs=kwargs,
                    connection=conn,
                    retry=True,
                    retry_policy=REPUBLISH_RETRY_POLICY,
                )
            except (*conn.connection_errors, OperationalError) as exc:  # anything else: the thread logs it
                logger.warning("batch report task for %d logs: broker lost again (%s); waiting", len(log_ids), exc)
                continue
        break
    logger.warning(
        "batch report task for %d logs published once the broker answered again (%.1f s after the refusal)",
        len(log_ids),
        time.monotonic() - started,
    )


def reports_enqueue_on_commit(log_ids: list[uuid.UUID]) -> None:
    """Have the reports of `log_ids` computed once the current transaction commits (never before)."""
    transaction.on_commit(lambda: publisher.submit(log_ids), robust=True)


class BackgroundPublisher:
    """Hands report work to the broker from a background thread of the process, in batches."""

    def __init__(self, maxsize: int = MAX_PENDING) -> None:
        self._maxsize = maxsize
        self._lock = threading.Lock()
        self._pid: int | None = None
        self._queue: queue.Queue[tuple[uuid.UUID, str | None]] | None = None

    def submit(self, log_ids: list[uuid.UUID]) -> None:
        """Have the reports of `log_ids` computed: soon, and never in the caller's thread (unless eager).

        Each id goes with the id of the request being served (the log context's request_id), if any; an
        eager task runs in this very context and logs it anyway.
        """
        if current_app.conf.task_always_eager:
            reports_enqueue(log_ids)
            return
        pending = self._ensure_started()
        request_id = current_request_id()
        for log_id in log_ids:
            try:
                pending.put_nowait((log_id, request_id))
            except queue.Full:
                logger.warning("publisher queue full (%d); the sweeper will enqueue %s", self._maxsize, log_id)

    def flush(self, timeout: float) -> bool:
        """Wait until everything submitted so far has been tried; True if it was in time."""
        pending = self._queue
        deadline = time.monotonic() + timeout
        while pending is not None and pending.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.01)
        return pending is None or not pending.unfinished_tasks

    def _ensure_started(self) -> "queue.Queue[tuple[uuid.UUID, str | None]]":
        # After a fork (granian, Celery prefork) the parent's thread does not exist in the child.
        if self._pid != os.getpid() or self._queue is None:
            with self._lock:
                if self._pid != os.getpid() or self._queue is None:
                    self._queue = queue.Queue(maxsize=self._maxsize)
                    threading.Thread(
                        target=self._run, args=(self._queue,), name="report-publisher", daemon=True
                    ).start()
                    self._pid = os.getpid()
        return self._queue

    @staticmethod
    def _run(pending: "queue.Queue[tuple[uuid.UUID, str | None]]") -> None:
        next_publish = 0.0
        while True:
            batch = [pending.get()]
            wait = next_publish - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            while len(batch) < BATCH_MAX:
                try:
                    batch.append(pending.get_nowait())
                except queue.Empty:
                    break
            next_publish = time.monotonic() + min(MAX_PUBLISH_INTERVAL_S, PUBLISH_PAUSE_PER_ID_S * len(batch))
            request_ids = {str(log_id): request_id for log_id, request_id in batch if request_id}
            log_ids = [log_id for log_id, _ in batch]
            try:
                # logs and swallows its own failures; a refused batch waits here for the broker's return
                published = reports_enqueue(log_ids, request_ids) if request_ids else reports_enqueue(log_ids)
                if not published:
                    reports_enqueue_when_broker_returns(log_ids, request_ids or None)
            except Exception:  # never let the thread die (the sweeper takes what it could not publish)
                logger.exception("background publish failed")
            finally:
                for _ in batch:
                    pending.task_done()


publisher = BackgroundPublisher()
atexit.register(publisher.flush, FLUSH_AT_EXIT_S)


def report_queue_depth() -> int | None:
    """Report tasks waiting in the broker: 0 in eager mode, None when the broker cannot be asked."""
    from kombu.exceptions import ChannelError

    app = current_app
    if app.conf.task_always_eager:
        return 0
    try:
        with app.connection_for_write() as conn:
            _, count, _ = conn.default_channel.queue_declare(queue=app.conf.task_default_queue, passive=True)
            return int(count)
    except ChannelError:  # Redis drops an empty queue's key, RabbitMQ may not have declared it yet: empty
        return 0
    except Exception as exc:
        logger.warning("sweeper: broker unavailable (%s: %s)", type(exc).__name__, exc)
        return None


def _enqueue_in_batches(log_ids: list[uuid.UUID]) -> None:
    for start in range(0, len(log_ids), SWEEP_BATCH):
        reports_enqueue_on_commit(log_ids[start : start + SWEEP_BATCH])


def abandoned_claims_requeue(*, limit: int = 1000) -> list[uuid.UUID]:
    """Put the logs of abandoned claims (their worker died) back to `pending` and enqueue them now.

    Run by a worker as it starts (`reports.tasks`): the logs that a killed worker had claimed get their
    reports within seconds of a worker being back, whatever the broker did with the dead worker's messages.
    """
    with transaction.atomic():
        released = claims_abandoned_release(limit=limit, keep_claim_time=True)
        _enqueue_in_batches(released)
    if released:
        logger.warning("re-enqueued %d log(s) of abandoned claims", len(released))
    return released


def stale_logs_requeue(*, older_than_s: float, limit: int = 1000) -> list[uuid.UUID]:
    """Re-enqueue the logs whose report work was lost; the last resort behind redelivery and claim locks.

    The broker is a hint, the database the record. Two kinds of log come back here, in batch tasks of 100:
    - a `processing` log whose claim was abandoned (its worker died: its claim lock is free, see
      `reports.services`), however recent: it goes back to `pending`;
    - a `pending` log untouched for `older_than_s` seconds once the queue has drained (a publish lost to a
      broker outage, a flushed queue, a process that died before publishing). While tasks still wait in
      the queue, a pending log may be one of them, so it is left alone: a backlog is never multiplied.
    A requeued log gets a fresh `status_changed_at`, so the next sweep leaves it alone for a threshold.
    With the broker down nothing is sent. Safe with several sweepers at once (SKIP LOCKED).
    """
    from vehicles.models import DiagnosticLog, ProcessingStatus

    depth = report_queue_depth()
    if depth is None:
        return []
    now = timezone.now()
    with transaction.atomic():
        released = claims_abandoned_release(limit=limit)
        lost: list[uuid.UUID] = []
        if not depth and len(released) < limit:
            lost = list(
                DiagnosticLog.objects.select_for_update(skip_locked=True)
                .filter(status=ProcessingStatus.PENDING, status_changed_at__lt=now - timedelta(seconds=older_than_s))
                .exclude(pk__in=released)
                .order_by("status_changed_at")
                .values_list("id", flat=True)[: limit - len(released)]
            )
            if lost:
                DiagnosticLog.objects.filter(pk__in=lost).update(status_changed_at=now)
        ids = released + lost
        _enqueue_in_batches(ids)
    if ids:
        logger.warning(
            "sweeper: re-enqueued %d log(s): %d abandoned claims, %d lost pending (queue depth %d)",
            len(ids),
            len(released),
            len(lost),
            depth,
        )
    return ids
