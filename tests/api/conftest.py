"""HTTP-contract fixtures: fleets, users and JWT-authenticated clients."""

import json
from typing import Any

import pytest
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from fleets.services import api_user_create


class JsonClient:
    """A thin client that sends raw JSON bodies, so tests control exactly what goes on the wire."""

    def __init__(self, token: str | None = None) -> None:
        self.client = APIClient()
        if token:
            self.client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")

    def post(
        self,
        path: str,
        body: Any = None,
        *,
        raw: bytes | str | None = None,
        content_type: str = "application/json",
        **extra: Any,
    ):  # type: ignore[no-untyped-def]
        data = raw if raw is not None else json.dumps(body)
        return self.client.generic("POST", path, data, content_type=content_type, **extra)

    def get(self, path: str, **extra: Any):  # type: ignore[no-untyped-def]
        return self.client.get(path, **extra)

    def put(self, path: str, body: Any = None, *, raw: bytes | str | None = None, **extra: Any):  # type: ignore[no-untyped-def]
        data = raw if raw is not None else json.dumps(body)
        return self.client.generic("PUT", path, data, content_type="application/json", **extra)


@pytest.fixture
def user(transactional_db):  # type: ignore[no-untyped-def]
    return api_user_create(username="alice", fleet_name="fleet-a", password="alice-pass").user


@pytest.fixture
def other_user(transactional_db):  # type: ignore[no-untyped-def]
    return api_user_create(username="bob", fleet_name="fleet-b", password="bob-pass").user


def _client_for(user) -> JsonClient:  # type: ignore[no-untyped-def]
    return JsonClient(str(RefreshToken.for_user(user).access_token))


@pytest.fixture
def client_a(user) -> JsonClient:  # type: ignore[no-untyped-def]
    return _client_for(user)


@pytest.fixture
def client_b(other_user) -> JsonClient:  # type: ignore[no-untyped-def]
    return _client_for(other_user)


@pytest.fixture
def anon() -> JsonClient:
    return JsonClient()


@pytest.fixture(autouse=True)
def in_process_reports(settings):  # type: ignore[no-untyped-def]
    """HTTP-contract tests compute reports in-process (eager); tests/e2e covers the real worker."""
    from config.celery import app

    previous = app.conf.task_always_eager
    settings.CELERY_TASK_ALWAYS_EAGER = True
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


# --- Contract helpers (added for the HTTP-contract suite) ----------------------------------------------------

# The contract's error codes, written out as API.md lists them: the oracle that common.vocabulary.ERROR_CODES is
# checked against (tests/api/test_vocabulary.py), so a code dropped from the vocabulary fails a test.
ERROR_CODES = frozenset(
    {
        "invalid",
        "parse_error",
        "not_authenticated",
        "permission_denied",
        "not_found",
        "conflict",
        "payload_too_large",
        "unsupported_media_type",
        "method_not_allowed",
        "not_acceptable",
        "throttled",
        "server_error",
        "service_unavailable",
    }
)


def check_error(response, status: int, code: str | set[str], fields: set[str] | None = None) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Assert the contract's error shape {"error": {"code", "message", ["fields"]}} and return the error object.

    `code` may be a set when the contract allows either code; `fields`, when given, is the exact set of paths.
    """
    assert response.status_code == status, (response.status_code, response.content[:2000])
    assert response["Content-Type"].split(";")[0].strip() == "application/json", response["Content-Type"]
    body = json.loads(response.content)
    assert isinstance(body, dict), body
    assert isinstance(body.get("error"), dict), body
    error = body["error"]
    allowed = {code} if isinstance(code, str) else set(code)
    assert allowed <= ERROR_CODES
    assert error["code"] in allowed, error
    message = error["message"]
    assert isinstance(message, str), error
    assert message.strip(), error
    assert "\n" not in message, error
    extra_keys = {"log_id"} if error["code"] == "conflict" else set()
    assert set(body) - {"error"} <= extra_keys, body
    assert set(error) - {"code", "message", "fields"} <= extra_keys, error
    if error["code"] == "invalid":
        assert isinstance(error["fields"], dict), error
        assert error["fields"], error
        for path, messages in error["fields"].items():
            assert isinstance(path, str), error
            assert path, error
            assert isinstance(messages, list), error
            assert messages, error
            assert all(isinstance(m, str) and m.strip() for m in messages), error
        if fields is not None:
            assert set(error["fields"]) == set(fields), error["fields"]
    else:
        assert fields is None, "fields only exist for code invalid"
    return error


@pytest.fixture
def assert_error():  # type: ignore[no-untyped-def]
    """The error-shape checker: assert_error(response, 400, "invalid", {"cells[3].voltage"})."""
    return check_error


@pytest.fixture
def client_for():  # type: ignore[no-untyped-def]
    """A JsonClient authenticated as the given user."""
    return _client_for


@pytest.fixture
def user_atomic(db):  # type: ignore[no-untyped-def]
    """alice of fleet-a, inside the test's rolled-back transaction (pytest-django `db`)."""
    return api_user_create(username="alice", fleet_name="fleet-a", password="alice-pass").user


@pytest.fixture
def other_user_atomic(db):  # type: ignore[no-untyped-def]
    return api_user_create(username="bob", fleet_name="fleet-b", password="bob-pass").user


@pytest.fixture
def api_a(user_atomic) -> JsonClient:  # type: ignore[no-untyped-def]
    """Like client_a but inside one rolled-back transaction: much faster (no table flush), but on-commit work
    never runs, so a POST answers status "processing" and no report is computed. For tests of requests only."""
    return _client_for(user_atomic)


@pytest.fixture
def api_b(other_user_atomic) -> JsonClient:  # type: ignore[no-untyped-def]
    return _client_for(other_user_atomic)


@pytest.fixture
def fleetless_user(db):  # type: ignore[no-untyped-def]
    from fleets.models import User

    return User.objects.create_user(username="carol", password="carol-pass")


@pytest.fixture
def client_fleetless(fleetless_user) -> JsonClient:  # type: ignore[no-untyped-def]
    return _client_for(fleetless_user)


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):  # type: ignore[no-untyped-def]
    """Users are created per test; the production hasher's cost would dominate the suite's run time."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def isolated_rate_limits(settings):  # type: ignore[no-untyped-def]
    """A fresh local cache per test, so rate-limit counters never leak from one test into another."""
    import uuid

    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": f"api-{uuid.uuid4()}"}
    }
