"""Rate limits on the shared cache (Redis in production), so every process and host counts together.

Fixed-window counters per (scope, identity). A request's counters are all bumped in one round trip
(a Redis pipeline of SET NX EX + INCR per scope; DRF's SimpleRateThrottle instead rewrites a list of
every request's time, O(rate), once per scope). When the cache is down the count is unknown and the
request passes: throttling degrades, it never fails a request. After a failure the process skips the
cache for CACHE_RETRY_AFTER_S, so a hung Redis costs one short timeout, not one per request.
"""

import logging
import time
from collections.abc import Iterable

from django.conf import settings
from django.core.cache import cache
from redis.exceptions import RedisError
from rest_framework.throttling import BaseThrottle

logger = logging.getLogger(__name__)

_PERIODS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600, "hour": 3600}
CACHE_RETRY_AFTER_S = 5.0


def parse_rate(rate: str) -> tuple[int, int]:
    """'600/min' -> (600, 60)."""
    count, _, period = rate.partition("/")
    return int(count), _PERIODS[period.strip().lower()]


def _redis_client():  # type: ignore[no-untyped-def]
    """The raw Redis client behind the cache, or None for a cache that is not django-redis."""
    if not settings.CACHES["default"]["BACKEND"].startswith("django_redis."):
        return None
    from django_redis import get_redis_connection

    return get_redis_connection("default")


def bump_counters(counters: list[tuple[str, int]]) -> list[int] | None:
    """Increment each (key, window seconds) counter; the new counts, or None when the cache failed."""
    client = _redis_client()
    try:
        if client is not None:
            pipe = client.pipeline(transaction=False)
            for key, ttl in counters:
                pipe.set(key, 0, ex=ttl, nx=True)
                pipe.incr(key)
            return [int(count) for count in pipe.execute()[1::2]]
        counts = []
        for key, ttl in counters:
            cache.add(key, 0, timeout=ttl)
            counts.append(cache.incr(key))
        return counts
    except (RedisError, ValueError) as exc:  # refused, timed out, read-only; a key evicted between add and incr
        logger.warning("rate limits: cache unavailable (%s: %s)", type(exc).__name__, exc)
        return None


class FixedWindowThrottle(BaseThrottle):
    """Checks every scope of `scopes` that applies to the request, in one cache round trip."""

    scopes: tuple[str, ...] = ()
    _cache_down_until = 0.0  # shared by every throttle of the process (set on this class)

    def idents(self, request, view) -> Iterable[tuple[str, str]]:  # type: ignore[no-untyped-def]
        """(scope, identity) pairs this request counts against."""
        raise NotImplementedError

    def allow_request(self, request, view) -> bool:  # type: ignore[no-untyped-def]
        if time.monotonic() < FixedWindowThrottle._cache_down_until:
            return True
        now = time.time()
        limits, counters = [], []
        for scope, ident in self.idents(request, view):
            rate = settings.THROTTLE_RATES.get(scope)
            if not rate:
                continue
            limit, period = parse_rate(rate)
            window = int(now // period)
            limits.append((limit, period, window))
            counters.append((f"throttle:{scope}:{ident}:{window}", period + 1))
        if not counters:
            return True
        counts = bump_counters(counters)
        if counts is None:
            FixedWindowThrottle._cache_down_until = time.monotonic() + CACHE_RETRY_AFTER_S
            return True
        waits = [
            (window + 1) * period - now
            for (limit, period, window), count in zip(limits, counts, strict=True)
            if count > limit
        ]
        if waits:
            self._wait = max(waits)
            return False
        return True

    def wait(self) -> float | None:
        return getattr(self, "_wait", None)


class UserFleetRateThrottle(FixedWindowThrottle):
    """Per API user, and per fleet (all users and device credentials of a fleet together).

    A principal names its own scope by `throttle_scope`: a device credential counts per credential in the
    `device` scope (vehicles.authentication.DevicePrincipal); a user, without one, in `user`.
    """

    def idents(self, request, view) -> Iterable[tuple[str, str]]:  # type: ignore[no-untyped-def]
        user = request.user
        if not (user and user.is_authenticated):
            return []
        pairs = [(getattr(user, "throttle_scope", "user"), str(user.pk))]
        if getattr(user, "fleet_id", None) is not None:
            pairs.append(("fleet", str(user.fleet_id)))
        return pairs


class AuthRateThrottle(FixedWindowThrottle):
    """Per client address, on the token endpoints (password guessing)."""

    def idents(self, request, view) -> Iterable[tuple[str, str]]:  # type: ignore[no-untyped-def]
        return [("auth", self.get_ident(request))]
