"""The read cache (common.readcache) on a real Redis: a private redis-server per test, django-redis as in
production. Fleet scope before any cached answer; a vehicle's entry goes when a newer report lands (the
report batch, in-process here) or when it is PUT; a completed report is served from the cache."""

from collections.abc import Iterator

import pytest
import redis
from django.core.cache import cache
from django.db import connection

from common import readcache
from tests.support.infra import private_redis


@pytest.fixture
def redis_cache(settings) -> Iterator[redis.Redis]:  # type: ignore[no-untyped-def]
    """The default cache on a redis-server of its own, the read cache on; the raw client to look inside."""
    with private_redis() as url:
        settings.CACHES = {
            "default": {
                "BACKEND": "django_redis.cache.RedisCache",
                "LOCATION": url,
                "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 1, "SOCKET_TIMEOUT": 1},
            }
        }
        settings.READ_CACHE = True
        client = redis.Redis.from_url(url)
        yield client
        client.close()


def _stored(client: redis.Redis, key: str) -> bool:
    return bool(client.exists(cache.make_key(key)))


def _report_soh_set(log_id: str, soh: float) -> None:
    with connection.cursor() as cursor:
        cursor.execute("UPDATE reports_batteryreport SET battery_soh = %s WHERE log_id = %s", [soh, log_id])


def test_a_completed_report_is_cached_under_its_fleet_and_served_from_redis(
    redis_cache, client_a, client_b, user, other_user, sample_log
):
    log_id = client_a.post("/api/v1/diagnostics", sample_log).json()["log_id"]
    first = client_a.get(f"/api/v1/reports/{log_id}")
    assert first.status_code == 200
    assert first["Content-Type"] == "application/json"
    key = readcache.report_key(fleet_id=user.fleet_id, log_id=log_id)
    assert _stored(redis_cache, key)
    # Served from Redis: a change behind the cache's back (reports never change) does not show.
    _report_soh_set(log_id, 12.5)
    again = client_a.get(f"/api/v1/reports/{log_id}")
    assert again.status_code == 200
    assert again.json() == first.json()
    assert again.json()["battery_soh"] != 12.5
    # Another fleet: the scope is in the key, so no cached answer: the database's fleet-scoped 404.
    foreign = client_b.get(f"/api/v1/reports/{log_id}")
    assert foreign.status_code == 404
    assert foreign.json()["error"]["code"] == "not_found"
    assert not _stored(redis_cache, readcache.report_key(fleet_id=other_user.fleet_id, log_id=log_id))


def test_a_report_still_processing_is_not_cached(redis_cache, api_a, user_atomic, sample_log):
    """api_a's transaction never commits: the log stays processing."""
    log_id = api_a.post("/api/v1/diagnostics", sample_log).json()["log_id"]
    assert api_a.get(f"/api/v1/reports/{log_id}").status_code == 202
    assert not _stored(redis_cache, readcache.report_key(fleet_id=user_atomic.fleet_id, log_id=log_id))


def test_a_vehicle_is_cached_and_a_newer_report_invalidates_it(redis_cache, client_a, user, make_log):
    client_a.post("/api/v1/diagnostics", make_log(timestamp="2025-10-04T10:30:00Z"))
    first = client_a.get("/api/v1/vehicles/EV-12345").json()
    assert first["log_count"] == 1
    base = readcache.vehicle_key(fleet_id=user.fleet_id, vehicle_id="EV-12345")
    before = readcache.versioned_key(base)
    assert _stored(redis_cache, before)
    assert client_a.get("/api/v1/vehicles/EV-12345").json() == first  # a hit

    newer = client_a.post("/api/v1/diagnostics", make_log(timestamp="2025-10-05T10:30:00Z", cycle_count=430))
    assert newer.status_code == 202
    # The report batch (in-process here, the worker in production) committed and moved the generation on.
    assert readcache.versioned_key(base) != before
    after = client_a.get("/api/v1/vehicles/EV-12345").json()
    assert after["log_count"] == 2
    assert after["latest"]["log_id"] == newer.json()["log_id"]
    assert after["latest"]["cycle_count"] == 430
    assert _stored(redis_cache, readcache.versioned_key(base))


def test_a_reader_racing_the_batch_cannot_leave_a_stale_vehicle(redis_cache, client_a, user, make_log):
    """A reader that read the row before the batch committed and stores its copy after the commit."""
    client_a.post("/api/v1/diagnostics", make_log(timestamp="2025-10-04T10:30:00Z"))
    base = readcache.vehicle_key(fleet_id=user.fleet_id, vehicle_id="EV-12345")
    racing_key = readcache.versioned_key(base)  # the reader's lookup, before the batch
    stale = client_a.get("/api/v1/vehicles/EV-12345").content  # what it read from the database
    client_a.post("/api/v1/diagnostics", make_log(timestamp="2025-10-05T10:30:00Z"))
    readcache.cached_set(racing_key, stale, ttl_s=60)  # its late write, after the commit
    assert client_a.get("/api/v1/vehicles/EV-12345").json()["log_count"] == 2


def test_a_put_invalidates_the_vehicle(redis_cache, client_a, user, sample_log):
    client_a.post("/api/v1/diagnostics", sample_log)
    assert client_a.get("/api/v1/vehicles/EV-12345").json()["model"] is None
    base = readcache.vehicle_key(fleet_id=user.fleet_id, vehicle_id="EV-12345")
    before = readcache.versioned_key(base)
    assert _stored(redis_cache, before)
    assert client_a.put("/api/v1/vehicles/EV-12345", {"model": "Model Y"}).status_code == 200
    assert readcache.versioned_key(base) != before
    assert client_a.get("/api/v1/vehicles/EV-12345").json()["model"] == "Model Y"


def test_another_fleet_never_gets_a_cached_vehicle(redis_cache, client_a, client_b, other_user, sample_log):
    client_a.post("/api/v1/diagnostics", sample_log)
    assert client_a.get("/api/v1/vehicles/EV-12345").status_code == 200
    foreign = client_b.get("/api/v1/vehicles/EV-12345")
    assert foreign.status_code == 404
    foreign_key = readcache.versioned_key(readcache.vehicle_key(fleet_id=other_user.fleet_id, vehicle_id="EV-12345"))
    assert not _stored(redis_cache, foreign_key)


def test_with_the_read_cache_off_nothing_is_stored(redis_cache, client_a, sample_log, settings):
    settings.READ_CACHE = False
    log_id = client_a.post("/api/v1/diagnostics", sample_log).json()["log_id"]
    assert client_a.get(f"/api/v1/reports/{log_id}").status_code == 200
    assert client_a.get("/api/v1/vehicles/EV-12345").status_code == 200
    assert not redis_cache.keys("*readcache*")
