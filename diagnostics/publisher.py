"""Publishing report tasks off the request thread, in batches.

A request commits its log and returns; a background thread per process hands the report tasks to the
broker. It takes every log id waiting at that moment (up to `BATCH_MAX`) and publishes one batch task
for them, then pauses in proportion to the batch (10 ms per id, at most 50 ms): one log per task when
traffic is light (almost no added latency), up to 100 per task under load, so publishing and the workers
both cost far less per log (benchmarks/bench_workers.py). A dead or hung
broker never holds a request: the log is committed, which is the promise, and the sweeper re-enqueues
whatever was not published (the queue here is bounded, and lost if the process dies: both are the
sweeper's job by design). In eager mode (no broker) the task runs at once, in the caller's thread.
"""

import atexit
import logging
import os
import queue
import threading
import time
import uuid

logger = logging.getLogger(__name__)

MAX_PENDING = 10_000
BATCH_MAX = 100
# The pause after a publish grows with the batch just sent: PUBLISH_PAUSE_PER_ID_S per id, at most
# MAX_PUBLISH_INTERVAL_S. At light load batches hold one id and the next log goes out within 10 ms (the
# end-to-end latency stays a few times the broker's own); under load batches fill, publishes come every
# 50 ms per process, and the worker runs few, large tasks (its per-task cost is what bounds it; it also
# tops every task up with pending logs, reports.services). A fixed 10-25 ms pause overloaded a 2-CPU
# host at half the max ingest rate; a fixed 50 ms one doubled the latency at 40 logs/s
# (docs/performance.md).
PUBLISH_PAUSE_PER_ID_S = 0.01
MAX_PUBLISH_INTERVAL_S = 0.05
FLUSH_AT_EXIT_S = 2.0


class BackgroundPublisher:
    def __init__(self, maxsize: int = MAX_PENDING) -> None:
        self._maxsize = maxsize
        self._lock = threading.Lock()
        self._pid: int | None = None
        self._queue: queue.Queue[uuid.UUID] | None = None

    def submit(self, log_ids: list[uuid.UUID]) -> None:
        """Have the reports of `log_ids` computed: soon, and never in the caller's thread (unless eager)."""
        from config.celery import app
        from diagnostics.services import enqueue_reports

        if app.conf.task_always_eager:
            enqueue_reports(log_ids)
            return
        pending = self._ensure_started()
        for log_id in log_ids:
            try:
                pending.put_nowait(log_id)
            except queue.Full:
                logger.warning("publisher queue full (%d); the sweeper will enqueue %s", self._maxsize, log_id)

    def flush(self, timeout: float) -> bool:
        """Wait until everything submitted so far has been tried; True if it was in time."""
        pending = self._queue
        deadline = time.monotonic() + timeout
        while pending is not None and pending.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.01)
        return pending is None or not pending.unfinished_tasks

    def _ensure_started(self) -> "queue.Queue[uuid.UUID]":
        # After a fork (gunicorn, Celery prefork) the parent's thread does not exist in the child.
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
    def _run(pending: "queue.Queue[uuid.UUID]") -> None:
        from diagnostics.services import enqueue_reports

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
            try:
                enqueue_reports(batch)  # logs and swallows its own failures
            except Exception:  # never let the thread die
                logger.exception("background publish failed")
            finally:
                for _ in batch:
                    pending.task_done()


publisher = BackgroundPublisher()
atexit.register(publisher.flush, FLUSH_AT_EXIT_S)
