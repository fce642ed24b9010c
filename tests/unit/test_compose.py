"""docker-compose.yml is for users (no Docker engine here): it must parse and name the whole stack."""

import json
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


def test_prometheus_and_grafana_are_provisioned_from_deploy():
    services = _compose()["services"]
    prometheus, grafana = services["prometheus"], services["grafana"]
    mounts = [volume.split(":")[0] for volume in prometheus["volumes"] + grafana["volumes"]]
    for source in (m for m in mounts if m.startswith("./")):
        assert (ROOT / source).exists(), source
    config = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    job = config["scrape_configs"][0]
    assert job["metrics_path"] == "/metrics"
    assert job["authorization"]["type"] == "Bearer"
    assert job["static_configs"][0]["targets"] == ["web:8000"]
    assert prometheus["configs"][0]["target"] == job["authorization"]["credentials_file"]


def test_every_dashboard_panel_queries_the_provisioned_datasource():
    datasources = yaml.safe_load((ROOT / "deploy/grafana/provisioning/datasources/prometheus.yml").read_text())
    uid = datasources["datasources"][0]["uid"]
    dashboards = sorted((ROOT / "deploy/grafana/dashboards").glob("*.json"))
    assert len(dashboards) == 2
    for path in dashboards:
        panels = json.loads(path.read_text())["panels"]
        assert panels, path
        for panel in panels:
            assert panel["datasource"]["uid"] == uid
            assert panel["targets"], panel["title"]
            assert all(target["expr"] for target in panel["targets"]), panel["title"]


def test_web_and_worker_share_the_metrics_volume_and_the_worker_is_checked_by_its_heartbeat():
    services = _compose()["services"]
    for name in ("web", "worker"):
        assert "metrics:/run/metrics" in services[name]["volumes"]
        assert "metrics_dir_reset" in services[name]["entrypoint"][2]
    assert services["web"]["environment"]["METRICS_MULTIPROC_ROOT"] == "/run/metrics"
    assert _compose()["x-app"]["environment"]["METRICS_MULTIPROC_ROOT"] == "/run/metrics"  # the worker's too
    assert services["worker"]["healthcheck"]["test"] == [
        "CMD",
        "python",
        "manage.py",
        "worker_alive",
        "--max-age",
        "60",
    ]
