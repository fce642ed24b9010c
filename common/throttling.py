"""Rate limits on the shared cache (Redis in production), so every process and host counts together.

A fixed window counter per (scope, identity): one atomic INCR per request, O(1) whatever the rate
(DRF's SimpleRateThrottle rewrites a list of every request's time, O(rate)). When the cache is down
the count is unknown and the request passes: throttling degrades, it never fails a request.
"""

import logging
import time

from django.conf import settings
from django.core.cache import cache
from rest_framework.throttling import BaseThrottle

logger = logging.getLogger(__name__)

_PERIODS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600, "hour": 3600}


def parse_rate(rate: str) -> tuple[int, int]:
    """'600/min' -> (600, 60)."""
    count, _, period = rate.partition("/")
    return int(count), _PERIODS[period.strip().lower()]


# After a cache failure, skip the cache for a while: a hung Redis costs one short timeout, not one per call.
CACHE_RETRY_AFTER_S = 5.0


class FixedWindowThrottle(BaseThrottle):
    scope = ""
    _cache_down_until = 0.0  # shared by every throttle of the process (set on this class)

    def get_ident_key(self, request, view) -> str | None:  # type: ignore[no-untyped-def]
        raise NotImplementedError

    def allow_request(self, request, view) -> bool:  # type: ignore[no-untyped-def]
        rate = settings.THROTTLE_RATES.get(self.scope)
        ident = self.get_ident_key(request, view)
        if not rate or ident is None:
            return True
        if time.monotonic() < FixedWindowThrottle._cache_down_until:
            return True
        limit, period = parse_rate(rate)
        now = time.time()
        window = int(now // period)
        key = f"throttle:{self.scope}:{ident}:{window}"
        try:
            cache.add(key, 0, timeout=period + 1)
            count = cache.incr(key)
        except Exception as exc:  # cache outage (or a key evicted between add and incr): let it pass
            count, reason = None, exc
        else:
            reason = "no answer"  # django-redis with IGNORE_EXCEPTIONS answers None instead of raising
        if count is None:
            FixedWindowThrottle._cache_down_until = time.monotonic() + CACHE_RETRY_AFTER_S
            logger.warning(
                "throttle %s: cache unavailable (%s); requests pass for %s s", self.scope, reason, CACHE_RETRY_AFTER_S
            )
            return True
        if count <= limit:
            return True
        self._wait = (window + 1) * period - now
        return False

    def wait(self) -> float | None:
        return getattr(self, "_wait", None)


class UserRateThrottle(FixedWindowThrottle):
    """Per API user."""

    scope = "user"

    def get_ident_key(self, request, view) -> str | None:  # type: ignore[no-untyped-def]
        user = request.user
        return str(user.pk) if user and user.is_authenticated else None


class FleetRateThrottle(FixedWindowThrottle):
    """Per fleet: all users of a fleet together."""

    scope = "fleet"

    def get_ident_key(self, request, view) -> str | None:  # type: ignore[no-untyped-def]
        user = request.user
        fleet_id = getattr(user, "fleet_id", None) if user and user.is_authenticated else None
        return str(fleet_id) if fleet_id is not None else None


class AuthRateThrottle(FixedWindowThrottle):
    """Per client address, on the token endpoints (password guessing)."""

    scope = "auth"

    def get_ident_key(self, request, view) -> str | None:  # type: ignore[no-untyped-def]
        return self.get_ident(request)
