"""docker-compose.yml is for users (no Docker engine here): it must parse and name the whole stack."""

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_declares_the_production_stack_with_health_checks():
    services = _compose()["services"]
    assert {"db", "redis", "web", "worker"} <= set(services)
    for name in ("db", "redis", "web", "worker"):
        assert "healthcheck" in services[name], name
    assert services["web"]["command"][:3] == ["granian", "--interface", "wsgi"]
    assert services["web"]["command"][-1] == "config.wsgi:application"
    assert services["worker"]["command"][:3] == ["celery", "-A", "config"]


def test_app_services_get_database_broker_and_cache_from_the_environment():
    services = _compose()["services"]
    for name in ("web", "worker", "migrate"):
        env = services[name]["environment"]
        assert env["DATABASE_URL"].startswith("postgres://")
        assert env["CELERY_BROKER_URL"].startswith("redis://redis:")
        assert env["REDIS_URL"].startswith("redis://redis:")


def test_every_compose_service_the_readme_mentions_exists():
    services = set(_compose()["services"])
    readme = (ROOT / "README.md").read_text()
    mentioned = set(re.findall(r"docker compose (?:up|logs|restart|exec|run)(?: -d)? ([a-z]+)", readme))
    assert mentioned, "README shows no docker compose command naming a service"
    assert mentioned <= services
