"""HTTP fleet simulator: posts a simulated fleet's logs to a running service, as real vehicles would.

No Django import: it talks to the service only through its public API (``/api/v1/``), at the URL given.
``concurrency`` worker threads share one ``httpx.Client`` (documented as thread-safe) and one access
token. A worker pulls the next log from the lazy :func:`~simulator.generator.fleet_logs` stream, so
memory stays flat however many logs are sent.

Per log: 401 → renew the token once (refresh, else log in again) and resend; 429/502/503/504,
connection errors and timeouts → resend after an exponential backoff with jitter (a numeric
``Retry-After`` wins, capped), up to ``max_retries`` times. Resending is safe: the server answers a
same-content retry with 200 and stores nothing new.
"""

from __future__ import annotations

import json
import math
import random
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Self

import httpx
from tqdm import tqdm

from simulator.generator import fleet_logs

TOKEN_PATH = "/api/v1/auth/token"
REFRESH_PATH = "/api/v1/auth/token/refresh"
DIAGNOSTICS_PATH = "/api/v1/diagnostics"

RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})
BACKOFF_BASE_S = 0.25
BACKOFF_CAP_S = 10.0
RETRY_AFTER_CAP_S = 30.0
ERROR_SAMPLES_KEPT = 5
ERROR_SAMPLE_CHARS = 300


class LoginError(Exception):
    """The simulator could not obtain an access token (bad credentials or service unreachable)."""


class Outcome(Enum):
    """What became of one log."""

    ACCEPTED = "accepted"  # 202: stored, report queued
    DUPLICATE = "duplicate"  # 200: same-content retry of a stored log
    CONFLICT = "conflict"  # 409: same vehicle and timestamp, different content
    REJECTED = "rejected"  # any other 4xx: the server refused the log; resending would not help
    FAILED = "failed"  # retries exhausted, or an answer outside the contract (5xx, unexpected 2xx/3xx)


def backoff_delay(
    attempt: int, *, rng: random.Random, base_s: float = BACKOFF_BASE_S, cap_s: float = BACKOFF_CAP_S
) -> float:
    """Seconds to wait before retry number ``attempt`` (1, 2, …): "equal jitter" exponential backoff.

    The ceiling doubles each attempt (``base_s x 2^(attempt-1)``, at most ``cap_s``); the delay is drawn
    from its upper half, so retries never come back instantly yet vehicles do not retry in lockstep.
    """
    if attempt < 1:
        raise ValueError("attempt starts at 1")
    ceiling = min(cap_s, base_s * 2 ** min(attempt - 1, 62))
    return ceiling / 2 + rng.uniform(0.0, ceiling / 2)


def parse_retry_after(value: str | None, *, cap_s: float = RETRY_AFTER_CAP_S) -> float | None:
    """Seconds from a numeric ``Retry-After`` header, capped at ``cap_s``; None if absent or not a number.

    The HTTP-date form is not honoured (the caller falls back to its own backoff).
    """
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    if not math.isfinite(seconds) or seconds < 0:
        return None
    return min(seconds, cap_s)


@dataclass(frozen=True)
class SimulationSummary:
    """Counts of one simulation run. ``sent`` counts logs (each once); ``retries`` counts extra attempts."""

    sent: int
    accepted: int
    duplicates: int
    conflicts: int
    rejected: int
    failed: int
    retries: int
    elapsed_s: float
    errors: tuple[str, ...] = ()
    """The first few rejected or failed answers, for display."""

    @property
    def rate_per_s(self) -> float:
        """Logs settled per second of wall-clock time (0 when no time elapsed)."""
        return self.sent / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def format(self) -> str:
        """A short, human-readable multi-line summary."""
        lines = [
            f"Sent {self.sent} logs in {self.elapsed_s:.2f} s ({self.rate_per_s:.1f} logs/s)",
            f"  accepted   {self.accepted}",
            f"  duplicates {self.duplicates}",
            f"  conflicts  {self.conflicts}",
            f"  rejected   {self.rejected}",
            f"  failed     {self.failed}",
            f"  retries    {self.retries}",
        ]
        if self.errors:
            lines.append("First errors:")
            lines.extend(f"  {error}" for error in self.errors)
        return "\n".join(lines)


@dataclass
class _Tally:
    """Thread-safe counters, frozen into a SimulationSummary at the end."""

    counts: dict[Outcome, int] = field(default_factory=lambda: dict.fromkeys(Outcome, 0))
    retries: int = 0
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, outcome: Outcome, *, retries: int, error: str | None) -> None:
        with self.lock:
            self.counts[outcome] += 1
            self.retries += retries
            if error is not None and len(self.errors) < ERROR_SAMPLES_KEPT:
                self.errors.append(error[:ERROR_SAMPLE_CHARS])

    def summary(self, *, elapsed_s: float) -> SimulationSummary:
        with self.lock:
            return SimulationSummary(
                sent=sum(self.counts.values()),
                accepted=self.counts[Outcome.ACCEPTED],
                duplicates=self.counts[Outcome.DUPLICATE],
                conflicts=self.counts[Outcome.CONFLICT],
                rejected=self.counts[Outcome.REJECTED],
                failed=self.counts[Outcome.FAILED],
                retries=self.retries,
                elapsed_s=elapsed_s,
                errors=tuple(self.errors),
            )


class _GaveUp(Exception):
    """A request still failed transiently after every retry."""

    def __init__(self, reason: str, retries: int) -> None:
        super().__init__(reason)
        self.retries = retries


class FleetSimulator:
    """Posts logs to one service with shared credentials; safe to use from many threads."""

    def __init__(
        self,
        *,
        url: str,
        username: str,
        password: str,
        timeout_s: float = 10.0,
        max_retries: int = 8,
        concurrency: int = 1,
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"url must start with http:// or https://, got {url!r}")
        if max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        if timeout_s <= 0:
            raise ValueError("timeout_s must be positive")
        self._base_url = url.rstrip("/")
        self._username = username
        self._password = password
        self._max_retries = max_retries
        self._http = httpx.Client(
            timeout=timeout_s,
            follow_redirects=False,
            limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
        )
        self._rng = random.Random()  # jitter: deliberately unseeded, so separate simulators do not sync up
        self._stop = threading.Event()
        self._auth_lock = threading.Lock()
        self._access: str | None = None
        self._refresh: str | None = None
        self._token_generation = 0

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def stop(self) -> None:
        """Ask workers to stop taking new logs and to cut short any backoff wait."""
        self._stop.set()

    # --- transport -------------------------------------------------------------------------------

    def _request(self, path: str, *, body: bytes, headers: dict[str, str] | None = None) -> tuple[httpx.Response, int]:
        """POST with retries on transient failures; returns the final response and the number of retries."""
        all_headers = {"Content-Type": "application/json", "Accept": "application/json", **(headers or {})}
        retries = 0
        while True:
            retry_after: float | None = None
            try:
                response = self._http.post(self._base_url + path, content=body, headers=all_headers)
            except httpx.TransportError as exc:  # connection errors and timeouts
                reason = f"{type(exc).__name__}: {exc}"
            else:
                if response.status_code not in RETRYABLE_STATUSES:
                    return response, retries
                reason = f"HTTP {response.status_code}"
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
            if retries >= self._max_retries or self._stop.is_set():
                raise _GaveUp(f"{reason} (gave up after {retries} retries)", retries)
            retries += 1
            delay = retry_after if retry_after is not None else backoff_delay(retries, rng=self._rng)
            if self._stop.wait(delay):
                raise _GaveUp(f"{reason} (stopped)", retries)

    # --- authentication --------------------------------------------------------------------------

    def login(self) -> None:
        """Obtain a fresh token pair with the username and password; raise LoginError on failure."""
        payload = json.dumps({"username": self._username, "password": self._password}).encode()
        try:
            response, _ = self._request(TOKEN_PATH, body=payload)
        except _GaveUp as exc:
            raise LoginError(f"cannot reach {self._base_url}{TOKEN_PATH}: {exc}") from None
        if response.status_code != 200:
            raise LoginError(
                f"login as {self._username!r} at {self._base_url}{TOKEN_PATH} failed: "
                f"HTTP {response.status_code} {_snippet(response)}"
            )
        try:
            tokens = response.json()
            access, refresh = tokens["access"], tokens["refresh"]
        except (ValueError, KeyError, TypeError):
            raise LoginError(f"login answered 200 without access and refresh tokens: {_snippet(response)}") from None
        self._access, self._refresh = access, refresh
        self._token_generation += 1

    def _current_token(self) -> tuple[str, int]:
        with self._auth_lock:
            if self._access is None:
                self.login()
            assert self._access is not None
            return self._access, self._token_generation

    def _renew_token(self, stale_generation: int) -> None:
        """After a 401: refresh the access token, or log in again if the refresh fails.

        Only the first thread to see a given token rejected renews it; the others reuse its result.
        """
        with self._auth_lock:
            if self._token_generation != stale_generation:
                return
            if self._refresh is not None:
                try:
                    response, _ = self._request(REFRESH_PATH, body=json.dumps({"refresh": self._refresh}).encode())
                    if response.status_code == 200:
                        self._access = response.json()["access"]
                        self._token_generation += 1
                        return
                except (_GaveUp, ValueError, KeyError, TypeError):
                    pass
            self.login()

    # --- posting ---------------------------------------------------------------------------------

    def post_log(self, log: dict) -> tuple[Outcome, int, str | None]:
        """Post one log until it settles: (outcome, retries used, error text for rejected/failed)."""
        body = json.dumps(log, separators=(",", ":"), allow_nan=False).encode()
        label = f"{log.get('vehicle_id')} {log.get('timestamp')}"
        retries = 0
        renewed = False
        while True:
            try:
                token, generation = self._current_token()
                response, used = self._request(
                    DIAGNOSTICS_PATH, body=body, headers={"Authorization": f"Bearer {token}"}
                )
            except _GaveUp as exc:
                return Outcome.FAILED, retries + exc.retries, f"{label}: {exc}"
            except LoginError as exc:
                return Outcome.FAILED, retries, f"{label}: {exc}"
            retries += used
            status = response.status_code
            if status == 401 and not renewed:
                renewed = True
                retries += 1
                try:
                    self._renew_token(generation)
                except LoginError as exc:
                    return Outcome.FAILED, retries, f"{label}: {exc}"
                continue
            if status == 202:
                return Outcome.ACCEPTED, retries, None
            if status == 200:
                return Outcome.DUPLICATE, retries, None
            if status == 409:
                return Outcome.CONFLICT, retries, None
            outcome = Outcome.REJECTED if 400 <= status < 500 else Outcome.FAILED
            return outcome, retries, f"{label}: HTTP {status} {_snippet(response)}"

    def run(self, logs: Iterator[dict], *, total: int, concurrency: int, progress: bool = False) -> SimulationSummary:
        """Post every log of ``logs`` with ``concurrency`` workers; return the counts."""
        tally = _Tally()
        source_lock = threading.Lock()
        started = time.monotonic()
        with tqdm(total=total, unit="log", file=sys.stderr, disable=not progress) as bar:

            def worker() -> None:
                while not self._stop.is_set():
                    with source_lock:
                        log = next(logs, None)
                    if log is None:
                        return
                    outcome, retries, error = self.post_log(log)
                    tally.record(outcome, retries=retries, error=error)
                    bar.update(1)

            with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="vehicle") as pool:
                futures = [pool.submit(worker) for _ in range(concurrency)]
                try:
                    for future in futures:
                        future.result()
                except BaseException:
                    self.stop()
                    raise
        return tally.summary(elapsed_s=time.monotonic() - started)


def _snippet(response: httpx.Response) -> str:
    return " ".join(response.text.split())[:ERROR_SAMPLE_CHARS]


def run_simulation(
    *,
    url: str,
    username: str,
    password: str,
    vehicles: int,
    logs_per_vehicle: int,
    concurrency: int,
    seed: int = 0,
    timeout_s: float = 10.0,
    max_retries: int = 8,
    progress: bool = False,
    prefix: str = "EV-SIM",
    start: datetime | None = None,
) -> SimulationSummary:
    """Simulate ``vehicles`` vehicles each posting ``logs_per_vehicle`` logs to the service at ``url``.

    Logs in first (LoginError if that fails), then sends exactly vehicles x logs_per_vehicle logs (plus
    retries), interleaved by time, and stops. Log timestamps end before now (see
    :func:`simulator.generator.fleet_logs`), so a rerun at a later second posts new logs.
    ``progress`` draws a tqdm bar on stderr.
    """
    if vehicles < 1 or logs_per_vehicle < 1 or concurrency < 1:
        raise ValueError("vehicles, logs_per_vehicle and concurrency must be >= 1")
    # A fixed start makes a rerun send the very same logs (all same-content retries).
    logs = fleet_logs(vehicles=vehicles, logs_per_vehicle=logs_per_vehicle, seed=seed, prefix=prefix, start=start)
    with FleetSimulator(
        url=url,
        username=username,
        password=password,
        timeout_s=timeout_s,
        max_retries=max_retries,
        concurrency=concurrency,
    ) as simulator:
        simulator.login()
        return simulator.run(logs, total=vehicles * logs_per_vehicle, concurrency=concurrency, progress=progress)


__all__ = [
    "FleetSimulator",
    "LoginError",
    "Outcome",
    "SimulationSummary",
    "backoff_delay",
    "parse_retry_after",
    "run_simulation",
]
