"""Tokens that must not get in, refresh rotation, rate limits."""

import base64
import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import jwt
import pytest
from django.conf import settings
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from tests.api.conftest import JsonClient

ROOT = Path(__file__).resolve().parents[2]
PROTECTED = "/api/v1/reports/00000000-0000-0000-0000-000000000000"


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _assert_401(token: str) -> None:
    response = JsonClient(token).get(PROTECTED)
    assert response.status_code == 401, response.content
    assert response.json()["error"]["code"] == "not_authenticated"


def _claims(user) -> dict:  # type: ignore[no-untyped-def]
    return dict(AccessToken.for_user(user).payload)


def test_valid_token_passes(user):
    response = JsonClient(str(AccessToken.for_user(user))).get(PROTECTED)
    assert response.status_code == 404


def test_expired_token(user):
    token = AccessToken.for_user(user)
    token.set_exp(lifetime=-timedelta(seconds=1))
    _assert_401(str(token))


def test_tampered_payload(user):
    header, _, signature = str(AccessToken.for_user(user)).split(".")
    claims = _claims(user)
    claims["user_id"] = str(int(claims["user_id"]) + 1)
    _assert_401(f"{header}.{_b64(claims)}.{signature}")


def test_alg_none(user):
    claims = _claims(user)
    _assert_401(f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}.")


def test_wrong_signing_key(user):
    _assert_401(jwt.encode(_claims(user), "not-the-key-" * 4, algorithm="HS256"))


def test_refresh_token_used_as_access(user):
    _assert_401(str(RefreshToken.for_user(user)))


def test_inactive_user(user):
    token = str(AccessToken.for_user(user))
    user.is_active = False
    user.save()
    _assert_401(token)


def test_deleted_user(user):
    token = str(AccessToken.for_user(user))
    user.delete()
    _assert_401(token)


@pytest.mark.parametrize("user_id", ["not-a-number", "1; DROP TABLE fleets_user", 2**70, None, [1]])
def test_a_signed_token_with_an_odd_user_id_is_refused_not_an_error(user, user_id):
    claims = _claims(user)
    claims["user_id"] = user_id
    _assert_401(jwt.encode(claims, settings.SIMPLE_JWT["SIGNING_KEY"], algorithm="HS256"))


def test_the_authenticated_user_is_the_whole_row(user):
    """The user read by the plain SELECT is a full model instance: fleet, flags, nothing deferred."""
    from rest_framework.test import APIRequestFactory

    from fleets.authentication import FleetJWTAuthentication

    request = APIRequestFactory().get(PROTECTED, HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(user)}")
    authenticated, _token = FleetJWTAuthentication().authenticate(request)
    assert authenticated == user
    assert authenticated.get_deferred_fields() == set()
    for field in type(user)._meta.concrete_fields:
        assert getattr(authenticated, field.attname) == getattr(user, field.attname), field.name
    assert authenticated.fleet == user.fleet


def test_refresh_rotates_and_blacklists_the_old_token(user, anon):
    login = anon.post("/api/v1/auth/token", {"username": "alice", "password": "alice-pass"})
    assert login.status_code == 200
    refresh = login.json()["refresh"]
    first = anon.post("/api/v1/auth/token/refresh", {"refresh": refresh})
    assert first.status_code == 200
    assert set(first.json()) == {"access", "refresh"}
    assert first.json()["refresh"] != refresh
    reused = anon.post("/api/v1/auth/token/refresh", {"refresh": refresh})
    assert reused.status_code == 401
    assert reused.json()["error"]["code"] == "not_authenticated"


def test_access_lifetime_is_short_and_signing_key_configurable():
    assert settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"] <= timedelta(minutes=15)
    env = {"PATH": "/usr/bin:/bin", "DJANGO_SECRET_KEY": "s" * 60, "JWT_SIGNING_KEY": "k" * 60}
    code = "import django; django.setup(); from django.conf import settings as s; print(s.SIMPLE_JWT['SIGNING_KEY'])"
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "config.settings.local"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert out.stdout.strip() == "k" * 60


def test_check_deploy_is_clean_under_production_settings():
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DJANGO_SECRET_KEY": "prod-" + "x7Gq2vP9zL4mN8rT1wY6" * 3,
        "DJANGO_ALLOWED_HOSTS": "battery.example.com",
        "DJANGO_SECURE": "true",
        "DATABASE_URL": "postgres://u:p@127.0.0.1:1/none",
        "CELERY_BROKER_URL": "redis://127.0.0.1:1/0",
        "REDIS_URL": "redis://127.0.0.1:1/1",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize("path", ["/api/v1/reports/00000000-0000-0000-0000-000000000000", "/api/v1/diagnostics"])
def test_user_rate_limit_answers_429_with_retry_after(client_a, settings, path, sample_log):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "user": "3/min"}
    for _ in range(3):
        client_a.get(path) if "reports" in path else client_a.post(path, sample_log)
    response = client_a.get(path) if "reports" in path else client_a.post(path, sample_log)
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "throttled"
    assert 1 <= int(response["Retry-After"]) <= 60


def test_fleet_rate_limit_counts_every_user_of_the_fleet(user, settings):
    from fleets.services import api_user_create

    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "fleet": "4/min"}
    colleague = api_user_create(username="carol", fleet_name="fleet-a", password="carol-pass").user
    first, second = JsonClient(str(AccessToken.for_user(user))), JsonClient(str(AccessToken.for_user(colleague)))
    codes = [client.get(PROTECTED).status_code for client in (first, second, first, second, first)]
    assert codes == [404, 404, 404, 404, 429]


def test_login_attempts_are_rate_limited(anon, settings, user):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "auth": "2/min"}
    codes = [anon.post("/api/v1/auth/token", {"username": "alice", "password": "wrong"}).status_code for _ in range(3)]
    assert codes == [401, 401, 429]


def test_a_cache_outage_lets_requests_through_and_is_not_asked_again_at_once(client_a, settings, sample_log):
    from common.throttling import FixedWindowThrottle

    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.25, "SOCKET_TIMEOUT": 0.25, "IGNORE_EXCEPTIONS": True},
        }
    }
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "user": "1/min"}
    assert client_a.post("/api/v1/diagnostics", sample_log).status_code == 202
    assert FixedWindowThrottle._cache_down_until > 0  # the breaker is open: the cache is skipped for a while
    assert client_a.post("/api/v1/diagnostics", sample_log).status_code == 200  # not throttled: degrades open
