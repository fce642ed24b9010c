"""A fleet of vehicles POSTing logs, with a ledger of every answer the service gave.

Each log (unique by vehicle and timestamp) is posted until it gets a 2xx, the way a vehicle would:
a connection error, a 5xx or a 429 is retried after Retry-After (or a backoff, tests.support.waiting),
for a bounded time. Every attempt is recorded: when it started, how long it took, the status (or the
exception class for a connection error), Retry-After and the error body's code. The checker compares
this ledger with the database.

Three ways to post: burst(n) (as fast as a few clients can), start()/stop() and wait_done() (a few
clients with a pause, in the background), run_at_rate() (open loop: log k leaves at t0 + k / rate,
whatever the server does, with a bounded number in flight; the soak).
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx

from common import vocabulary
from tests.support.waiting import backoff_delay

INGEST_PATH = "/api/v1/diagnostics"
ERROR_CODES = set(vocabulary.codes(vocabulary.ERROR_CODES))


@dataclass
class Attempt:
    started: float  # time.monotonic()
    latency: float
    status: int | None  # None: no HTTP answer (connection error, timeout)
    error: str | None = None  # exception class of a connection error
    retry_after: str | None = None
    code: str | None = None  # error.code of an error body
    shape_ok: bool = True  # the body has the contract's shape for this status
    note: str = ""

    @property
    def ended(self) -> float:
        return self.started + self.latency


@dataclass
class LogRecord:
    vehicle_id: str
    timestamp: str
    attempts: list[Attempt] = field(default_factory=list)
    log_id: str | None = None
    log_ids: set[str] = field(default_factory=set)  # every log_id a 2xx (or 409) named for this key
    done: bool = False
    gave_up: bool = False
    first_sent_wall: float = 0.0  # time.time() of the first attempt (to compare with the report's time)

    @property
    def key(self) -> tuple[str, str]:
        return (self.vehicle_id, self.timestamp)

    @property
    def accepted(self) -> bool:
        return self.log_id is not None


def _shape_of_error(body: Any) -> tuple[str | None, bool]:
    if not isinstance(body, dict) or set(body) - {"error", "log_id"} or not isinstance(body.get("error"), dict):
        return None, False
    error = body["error"]
    code = error.get("code")
    ok = code in ERROR_CODES and isinstance(error.get("message"), str) and bool(error["message"].strip())
    return code, ok


class Ledger:
    """Posts logs from a few threads and records everything the service answered."""

    def __init__(
        self,
        base_url: str,
        token: str,
        logs: Iterable[dict[str, Any]],
        *,
        retry_for_s: float = 90.0,
        backoff_cap_s: float = 2.0,
        request_timeout_s: float = 15.0,
    ) -> None:
        self.base_url = base_url
        self.headers = {"Authorization": f"Bearer {token}"}
        self._logs: Iterator[dict[str, Any]] = iter(logs)
        self._logs_lock = threading.Lock()
        self._lock = threading.Lock()
        self.records: list[LogRecord] = []
        self.retry_for_s = retry_for_s
        self.backoff_cap_s = backoff_cap_s
        self.request_timeout_s = request_timeout_s
        self._stop = threading.Event()
        self._abort = threading.Event()
        self._threads: list[threading.Thread] = []
        self.started = time.monotonic()

    # ------------------------------------------------------------------ posting
    def _next_log(self) -> dict[str, Any] | None:
        with self._logs_lock:
            return next(self._logs, None)

    def _attempt(self, client: httpx.Client, record: LogRecord, log: dict[str, Any]) -> Attempt:
        started = time.monotonic()
        try:
            response = client.post(INGEST_PATH, json=log)
        except httpx.TransportError as exc:
            return Attempt(started, time.monotonic() - started, None, error=type(exc).__name__)
        attempt = Attempt(started, time.monotonic() - started, response.status_code)
        attempt.retry_after = response.headers.get("Retry-After")
        try:
            body = response.json()
        except ValueError:
            body = None
            attempt.note = response.text[:200]
        if 200 <= response.status_code < 300:
            location = response.headers.get("Location", "")
            ok = (
                response.status_code in (200, 202)  # 202 a new log, 200 a same-content retry
                and isinstance(body, dict)
                and body.get("message") == "Diagnostic log received"
                and isinstance(body.get("log_id"), str)
                and body.get("status") in ("processing", "completed")
                and location == f"/api/v1/reports/{body.get('log_id')}"
            )
            attempt.shape_ok = bool(ok)
            if isinstance(body, dict) and isinstance(body.get("log_id"), str):
                record.log_ids.add(body["log_id"])
                record.log_id = body["log_id"]
        else:
            attempt.code, attempt.shape_ok = _shape_of_error(body)
            if response.status_code == 409 and isinstance(body, dict) and body.get("log_id"):
                record.log_ids.add(str(body["log_id"]))
            if not attempt.shape_ok and not attempt.note:
                attempt.note = response.text[:200]
        return attempt

    def _retry_delay(self, attempt: Attempt, tries: int) -> float:
        if attempt.retry_after and attempt.retry_after.isdigit():
            # A vehicle honours Retry-After; the cap keeps the test's clock short.
            return min(float(attempt.retry_after), 5.0)
        return backoff_delay(tries + 1, cap_s=self.backoff_cap_s)

    def post_log(self, client: httpx.Client, log: dict[str, Any]) -> LogRecord:
        record = LogRecord(vehicle_id=log["vehicle_id"], timestamp=log["timestamp"])
        with self._lock:
            self.records.append(record)
        record.first_sent_wall = time.time()
        first = time.monotonic()
        for tries in itertools.count():
            attempt = self._attempt(client, record, log)
            record.attempts.append(attempt)
            status = attempt.status
            if status is not None and 200 <= status < 300:
                break
            retryable = status is None or status >= 500 or status == 429
            if not retryable or time.monotonic() - first > self.retry_for_s or self._abort.is_set():
                record.gave_up = retryable
                break
            time.sleep(self._retry_delay(attempt, tries))
        record.done = True
        return record

    def _worker(self, pause_s: float, limit: int | None) -> None:
        with httpx.Client(base_url=self.base_url, headers=self.headers, timeout=self.request_timeout_s) as client:
            sent = 0
            while not self._stop.is_set() and (limit is None or sent < limit):
                log = self._next_log()
                if log is None:
                    return
                self.post_log(client, log)
                sent += 1
                if pause_s:
                    self._stop.wait(pause_s)

    def start(self, threads: int = 3, pause_s: float = 0.05) -> None:
        """Post in the background until stop() (or until the logs run out)."""
        self._stop.clear()
        for index in range(threads):
            thread = threading.Thread(target=self._worker, args=(pause_s, None), name=f"vehicle-{index}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 180.0) -> None:
        """Stop taking new logs; wait for the logs in flight to finish their retries."""
        self._stop.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        alive = [thread.name for thread in self._threads if thread.is_alive()]
        self._threads = [thread for thread in self._threads if thread.is_alive()]
        assert not alive, f"ledger threads still posting after {timeout} s: {alive}"

    def wait_done(self, timeout: float = 180.0) -> None:
        """Wait until the background posters have posted every log (the logs ran out), retries included."""
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        alive = [thread.name for thread in self._threads if thread.is_alive()]
        assert not alive, f"ledger threads still posting after {timeout} s: {alive}"
        self._threads = []

    def abort(self) -> None:
        """Stop at once, retries included (a failed test's teardown): nothing keeps posting afterwards."""
        self._abort.set()
        self._stop.set()

    def burst(self, count: int, threads: int = 4) -> None:
        """Post `count` logs as fast as `threads` clients can, and wait for them."""
        per_thread = [count // threads + (1 if i < count % threads else 0) for i in range(threads)]
        workers = [
            threading.Thread(target=self._worker, args=(0.0, n), name=f"burst-{i}", daemon=True)
            for i, n in enumerate(per_thread)
        ]
        for thread in workers:
            thread.start()
        for thread in workers:
            thread.join(180)
        assert not any(thread.is_alive() for thread in workers), "burst did not finish in 180 s"

    def run_at_rate(self, rate: float, duration_s: float, *, max_in_flight: int = 64, on_tick=None) -> dict[str, float]:  # type: ignore[no-untyped-def]
        """Open loop: post log k at t0 + k / rate for `duration_s`, at most `max_in_flight` logs in flight
        (a log holds its slot through its retries), then wait for the last ones. `on_tick(elapsed_s)` is
        called from the pacing thread about once a second (the soak's restart and progress lines).
        Returns the send figures: logs started, send window, achieved rate, the most a send lagged its slot."""
        total = int(rate * duration_s)
        slots = threading.BoundedSemaphore(max_in_flight)
        local = threading.local()
        clients: list[httpx.Client] = []

        def client() -> httpx.Client:
            if not hasattr(local, "client"):
                local.client = httpx.Client(
                    base_url=self.base_url, headers=self.headers, timeout=self.request_timeout_s
                )
                clients.append(local.client)
            return local.client

        def one(log: dict[str, Any]) -> None:
            try:
                self.post_log(client(), log)
            finally:
                slots.release()

        max_lag = 0.0
        sent = 0
        next_tick = 1.0
        t0 = time.monotonic()
        with ThreadPoolExecutor(max_workers=max_in_flight, thread_name_prefix="vehicle") as pool:
            for k in range(total):
                target = t0 + k / rate
                while (delay := target - time.monotonic()) > 0:
                    time.sleep(min(delay, 0.5))
                    if on_tick is not None and time.monotonic() - t0 >= next_tick:
                        on_tick(time.monotonic() - t0)
                        next_tick += 1.0
                if on_tick is not None and time.monotonic() - t0 >= next_tick:  # behind the clock: tick anyway
                    on_tick(time.monotonic() - t0)
                    next_tick += 1.0
                if self._abort.is_set():
                    break
                slots.acquire()
                max_lag = max(max_lag, time.monotonic() - target)
                log = self._next_log()
                if log is None:
                    slots.release()
                    break
                pool.submit(one, log)
                sent += 1
            window = time.monotonic() - t0
        for each in clients:
            each.close()
        return {
            "sent": sent,
            "send_window_s": round(window, 3),
            "achieved_rate_per_s": round(sent / window, 3) if window else 0.0,
            "max_send_lag_s": round(max_lag, 4),
        }

    # ------------------------------------------------------------------ views
    def snapshot(self) -> list[LogRecord]:
        with self._lock:
            return list(self.records)

    def attempts(self, since: float | None = None, until: float | None = None) -> list[Attempt]:
        """Attempts that started in [since, until)."""
        return [
            attempt
            for record in self.snapshot()
            for attempt in record.attempts
            if (since is None or attempt.started >= since) and (until is None or attempt.started < until)
        ]

    def accepted(self) -> list[LogRecord]:
        return [record for record in self.snapshot() if record.accepted]

    def summary(self, since: float | None = None, until: float | None = None) -> dict[str, Any]:
        attempts = self.attempts(since, until)
        statuses = Counter(str(a.status) if a.status is not None else f"conn:{a.error}" for a in attempts)
        ok_latencies = [a.latency for a in attempts if a.status is not None and 200 <= a.status < 300]
        latencies_503 = [a.latency for a in attempts if a.status == 503]
        by_status: dict[str, float] = {}
        for a in attempts:
            label = str(a.status) if a.status is not None else f"conn:{a.error}"
            by_status[label] = max(by_status.get(label, 0.0), round(a.latency, 3))
        return {
            "attempts": len(attempts),
            "statuses": dict(sorted(statuses.items())),
            "max_latency_by_status_s": dict(sorted(by_status.items())),
            "max_2xx_latency_s": round(max(ok_latencies), 3) if ok_latencies else None,
            "max_503_latency_s": round(max(latencies_503), 3) if latencies_503 else None,
        }


class Prober:
    """GETs one path every `every_s` seconds from a thread, recording each answer as an Attempt."""

    def __init__(self, base_url: str, token: str, path: str, every_s: float = 0.25) -> None:
        self.base_url, self.path, self.every_s = base_url, path, every_s
        self.headers = {"Authorization": f"Bearer {token}"}
        self.attempts: list[Attempt] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="prober", daemon=True)

    def _run(self) -> None:
        with httpx.Client(base_url=self.base_url, headers=self.headers, timeout=10) as client:
            while not self._stop.is_set():
                started = time.monotonic()
                try:
                    response = client.get(self.path)
                except httpx.TransportError as exc:
                    self.attempts.append(Attempt(started, time.monotonic() - started, None, error=type(exc).__name__))
                else:
                    attempt = Attempt(started, time.monotonic() - started, response.status_code)
                    attempt.retry_after = response.headers.get("Retry-After")
                    if response.status_code >= 400:
                        try:
                            attempt.code, attempt.shape_ok = _shape_of_error(response.json())
                        except ValueError:
                            attempt.shape_ok, attempt.note = False, response.text[:200]
                    self.attempts.append(attempt)
                self._stop.wait(self.every_s)

    def __enter__(self) -> Prober:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(30)
