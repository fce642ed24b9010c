"""`.env.example` lists every environment variable that the service's code reads, and nothing it doesn't."""

import re
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
APP_PACKAGES = ("config", "common", "fleets", "vehicles", "alerts", "diagnostics", "reports", "simulator")
# os.environ["X"], os.environ.get("X" ...), os.getenv("X" ...), and the settings' env_bool / env_list helpers.
READ = re.compile(
    r"""(?:os\.environ(?:\.get)?\s*[\[(]|os\.getenv\(|env_bool\(|env_list\()\s*["']([A-Z][A-Z0-9_]*)["']"""
)
# Read by the process manager or Django's entry points, not a setting of the service.
NOT_SETTINGS = {"DJANGO_SETTINGS_MODULE"}
# Read by docker-compose.yml only.
COMPOSE_ONLY = {"POSTGRES_PASSWORD", "GRAFANA_ADMIN_PASSWORD"}


def variables_read() -> set[str]:
    found: set[str] = set()
    for package in APP_PACKAGES:
        for path in (REPO_ROOT / package).rglob("*.py"):
            found.update(READ.findall(path.read_text()))
    return found - NOT_SETTINGS


def variables_documented() -> set[str]:
    text = (REPO_ROOT / ".env.example").read_text()
    return set(re.findall(r"^([A-Z][A-Z0-9_]*)=", text, flags=re.MULTILINE))


def test_the_scan_finds_the_settings_variables():
    assert {"DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL", "DJANGO_SECRET_KEY", "DJANGO_SECURE"} <= variables_read()


def test_every_variable_the_service_reads_is_in_env_example():
    assert variables_read() - variables_documented() == set()


def test_env_example_names_no_variable_that_nothing_reads():
    assert variables_documented() - variables_read() - COMPOSE_ONLY == set()


def test_compose_reads_the_compose_only_variables():
    compose = (REPO_ROOT / "docker-compose.yml").read_text()
    for name in COMPOSE_ONLY:
        assert f"${{{name}" in compose
