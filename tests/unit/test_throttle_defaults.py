"""The default rate limits let the fleet the contract plans for through unthrottled (API.md §5):
10,000 vehicles each posting a log every 30 s (333 logs/s), whether every vehicle posts with its own
device credential or one fleet account posts for them all, one POST per log (a bulk POST of up to 1,000
logs is one request, so it needs less)."""

import inspect
import math

import pytest
from django.conf import settings

from common.throttling import parse_rate
from simulator.client import run_simulation

VEHICLES = 10_000
POST_INTERVAL_S = 30
# A window can see more than the average: vehicles bunch up within a minute and a failed POST is resent.
HEADROOM = 2
# A vehicle resends a log after a timeout, a 429 or a 5xx: as often as the simulator's client does at most.
RETRIES_PER_LOG = inspect.signature(run_simulation).parameters["max_retries"].default


def window_limit(scope: str) -> tuple[int, int]:
    """(requests allowed, window seconds) of a scope's default rate."""
    return parse_rate(settings.THROTTLE_DEFAULT_RATES[scope])


def test_the_fleet_posts_333_logs_a_second():
    assert math.isclose(VEHICLES / POST_INTERVAL_S, 333.33, rel_tol=1e-4)
    assert RETRIES_PER_LOG == 8


@pytest.mark.parametrize("scope", ["user", "fleet"])
def test_one_fleet_account_posting_for_every_vehicle_fits_the_user_and_fleet_defaults(scope):
    limit, window_s = window_limit(scope)
    needed = VEHICLES * window_s / POST_INTERVAL_S  # POSTs in one window: 20,000 a minute
    assert limit >= HEADROOM * needed, (scope, limit, needed)


def test_every_vehicle_posting_with_its_own_credential_fits_the_fleet_default():
    limit, window_s = window_limit("fleet")
    assert limit >= HEADROOM * VEHICLES * window_s / POST_INTERVAL_S


def test_a_vehicle_posting_every_30_s_with_retries_fits_the_device_default():
    limit, window_s = window_limit("device")
    posts = math.ceil(window_s / POST_INTERVAL_S)  # 2 a minute
    assert limit >= posts * (1 + RETRIES_PER_LOG) * HEADROOM, (limit, posts)


def test_the_fleet_default_is_not_spent_by_one_user_alone():
    assert window_limit("fleet")[0] / window_limit("fleet")[1] > window_limit("user")[0] / window_limit("user")[1]


def test_the_rates_in_use_default_to_these(monkeypatch):
    """Without the environment variables, THROTTLE_RATES are the defaults checked above."""
    import importlib

    import config.settings.base as module

    for name in ("THROTTLE_USER_RATE", "THROTTLE_FLEET_RATE", "THROTTLE_DEVICE_RATE", "THROTTLE_AUTH_RATE"):
        monkeypatch.delenv(name, raising=False)
    fresh = importlib.reload(module)
    try:
        assert fresh.THROTTLE_RATES == fresh.THROTTLE_DEFAULT_RATES
    finally:
        monkeypatch.undo()
        importlib.reload(module)
