"""/readyz against a real broker (a private redis-server, or a RabbitMQ virtual host of its own): ok while it
answers, 503 naming it once it is gone. Without a reachable broker this fails under REQUIRE_BROKER=1 (CI)."""

import shutil
import uuid

import pytest
from django.test import Client

from tests.support.infra import app_publishing_to, private_broker, private_redis
from tests.support.stack import BROKERS


@pytest.mark.broker
@pytest.mark.django_db
@pytest.mark.parametrize("kind", BROKERS)
def test_readyz_checks_the_real_broker_and_reports_it_ok(kind: str) -> None:
    with private_broker(kind) as url, app_publishing_to(url, f"readyz-{uuid.uuid4().hex[:8]}"):
        response = Client().get("/readyz")

    assert response.status_code == 200, response.content
    checks = response.json()["checks"]
    assert checks["database"]["status"] == "ok"
    assert checks["broker"]["status"] == "ok"
    assert checks["broker"]["backend"].startswith(url.split("://")[0] + "://")


@pytest.mark.broker
@pytest.mark.django_db
@pytest.mark.skipif(not shutil.which("redis-server"), reason="needs the redis-server binary to stop a broker")
def test_readyz_answers_503_naming_the_broker_once_the_real_broker_is_gone():
    with private_redis() as url, app_publishing_to(url, "readyz-gone"):
        assert Client().get("/readyz").status_code == 200
        stopped_url = url
    with app_publishing_to(stopped_url, "readyz-gone"):  # the server behind the URL has exited
        response = Client().get("/readyz")

    assert response.status_code == 503, response.content
    body = response.json()
    assert body["down"] == ["broker"]
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["broker"]["status"] == "down"
