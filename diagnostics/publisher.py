"""Publishing report tasks off the request thread.

A request commits its log and returns; a background thread per process hands the task to the broker.
A dead or hung broker (a frozen Redis holds a socket for seconds) therefore never holds a request:
the log is committed, which is the promise, and the sweeper re-enqueues whatever was not published
(the queue here is bounded, and lost if the process dies: both are the sweeper's job by design).
In eager mode (no broker) the task runs right away, in the caller's thread, as before.
"""

import atexit
import logging
import os
import queue
import threading
import time
from collections.abc import Callable

logger = logging.getLogger(__name__)

MAX_PENDING = 10_000
FLUSH_AT_EXIT_S = 2.0


class BackgroundPublisher:
    def __init__(self, maxsize: int = MAX_PENDING) -> None:
        self._maxsize = maxsize
        self._lock = threading.Lock()
        self._pid: int | None = None
        self._queue: queue.Queue[Callable[[], object]] | None = None

    def submit(self, publish: Callable[[], object]) -> None:
        """Run `publish` soon, never in the caller's thread (unless Celery is in eager mode)."""
        from config.celery import app

        if app.conf.task_always_eager:
            publish()
            return
        try:
            self._ensure_started().put_nowait(publish)
        except queue.Full:
            logger.warning("publisher queue full (%d); the sweeper will enqueue the overflow", self._maxsize)

    def flush(self, timeout: float) -> bool:
        """Wait until everything submitted so far has been tried; True if it was in time."""
        pending = self._queue
        deadline = time.monotonic() + timeout
        while pending is not None and pending.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.01)
        return pending is None or not pending.unfinished_tasks

    def _ensure_started(self) -> "queue.Queue[Callable[[], object]]":
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
    def _run(pending: "queue.Queue[Callable[[], object]]") -> None:
        while True:
            publish = pending.get()
            try:
                publish()
            except Exception:  # a publish must never kill the thread; enqueue_* log their own failures
                logger.exception("background publish failed")
            finally:
                pending.task_done()


publisher = BackgroundPublisher()
atexit.register(publisher.flush, FLUSH_AT_EXIT_S)
