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

    def post(self, path: str, body: Any = None, *, raw: bytes | str | None = None,
             content_type: str = "application/json", **extra: Any):  # type: ignore[no-untyped-def]
        data = raw if raw is not None else json.dumps(body)
        return self.client.generic("POST", path, data, content_type=content_type, **extra)

    def get(self, path: str, **extra: Any):  # type: ignore[no-untyped-def]
        return self.client.get(path, **extra)


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
