"""A cache of hot reads (a completed report by id, one vehicle) in the shared Redis cache (REDIS_URL).

What is cached is the answer's JSON bytes, under a key that carries the caller's fleet: the scope is part
of the key, so a fleet can only ever read what was stored for its own requests (another fleet's log id or
vehicle id is a different key, and a miss goes to the database's fleet-scoped query, which answers 404).

- A completed report never changes (one report per log, stored once), so it is kept for
  READ_CACHE_REPORT_TTL_S. Nothing else is cached: processing (202) and failed answers are read each time.
- A vehicle changes when a report batch folds newer reports into its summary (the worker) and when its
  registry is PUT. Its entry's key carries a generation (`versioned_key`): the reader reads the vehicle's
  generation first, then the entry under it; a writer, once its transaction has committed
  (transaction.on_commit), sets a new generation. A reader that read the row just before the commit and
  stores its copy just after stores it under the old generation, which no later reader asks for: no
  stale answer survives the write (a plain delete would let that copy live until it expires). The
  price is one more GET per read. Entries expire after READ_CACHE_VEHICLE_TTL_S, generations after twice
  that (an entry stored while no generation was set can never outlive a later generation's expiry).

Off unless READ_CACHE is true (config/settings/base.py: the default with REDIS_URL set; without it the cache is
each process's own memory, which another process's write could not invalidate). A cache outage is a miss
(the cache's IGNORE_EXCEPTIONS): the database answers.
"""

import time
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.db import transaction

_PREFIX = "readcache:v1"


def enabled() -> bool:
    return bool(settings.READ_CACHE)


def report_key(*, fleet_id: int, log_id: object) -> str:
    return f"{_PREFIX}:report:{fleet_id}:{log_id}"


def vehicle_key(*, fleet_id: int, vehicle_id: str) -> str:
    return f"{_PREFIX}:vehicle:{fleet_id}:{vehicle_id}"


def cached_get(key: str) -> bytes | None:
    """The stored answer, or None (a miss, the cache off or down)."""
    if not enabled():
        return None
    value: Any = caches["default"].get(key)
    return value if isinstance(value, bytes) else None


def cached_set(key: str, body: bytes, *, ttl_s: float) -> None:
    if enabled():
        caches["default"].set(key, body, timeout=ttl_s)


def versioned_key(key: str) -> str:
    """`key` under its current generation (one GET; "0" before any write or when the cache is down)."""
    if not enabled():
        return key
    generation: Any = caches["default"].get(f"{key}:generation")
    return f"{key}@{generation or 0}"


def invalidate_on_commit(keys: Iterable[str]) -> None:
    """Give `keys` a new generation once the current transaction commits (at once outside one): the entries
    stored under the old one are never read again."""
    if not enabled():
        return
    found = list(keys)
    if not found:
        return
    ttl_s = 2 * settings.READ_CACHE_VEHICLE_TTL_S

    def bump() -> None:
        generation = time.time_ns()
        caches["default"].set_many({f"{key}:generation": generation for key in found}, timeout=ttl_s)

    transaction.on_commit(bump, robust=True)
