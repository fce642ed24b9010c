"""Waiting, the one way: poll a predicate until it holds (wait_until), and back off between retries
(backoff_delay). Every loop of the harness that waits for a process, a database state or a broker goes
through these two."""

from __future__ import annotations

import random
import time
from collections.abc import Callable


def wait_until(
    predicate: Callable[[], object], timeout: float, interval: float = 0.05, what: str = "condition"
) -> float:
    """Poll until predicate() is truthy; return the seconds it took. Raise TimeoutError after `timeout` s."""
    start = time.monotonic()
    while True:
        if predicate():
            return time.monotonic() - start
        if time.monotonic() - start > timeout:
            raise TimeoutError(f"{what} not reached within {timeout} s")
        time.sleep(interval)


def backoff_delay(retry: int, *, base_s: float = 0.25, cap_s: float = 2.0, rng: random.Random | None = None) -> float:
    """Exponential backoff for retry number `retry` (1, 2, ...): base_s doubling, at most cap_s.

    With `rng`, equal jitter (half fixed, half random), so that many clients retrying together spread out;
    without, the plain ceiling (reproducible test timing)."""
    ceiling = min(cap_s, base_s * 2 ** min(max(retry, 1) - 1, 30))
    if rng is None:
        return ceiling
    return ceiling / 2 + rng.uniform(0, ceiling / 2)
