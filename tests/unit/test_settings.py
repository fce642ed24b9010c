"""The settings by environment: production refuses to start without what it needs, local refuses a partial
configuration, and nothing falls back silently (config/settings/)."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHOW = (
    "import django; django.setup(); from django.conf import settings as s; "
    "print(s.DATABASES['default']['ENGINE'], s.CELERY_TASK_ALWAYS_EAGER, s.CACHES['default']['BACKEND'], "
    "s.LOCAL_DEFAULTS)"
)
FULL = {
    "DATABASE_URL": "postgres://u:p@127.0.0.1:1/none",
    "CELERY_BROKER_URL": "redis://127.0.0.1:1/0",
    "REDIS_URL": "redis://127.0.0.1:1/1",
    "DJANGO_SECRET_KEY": "k" * 50,
}


def _settings(module: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", SHOW],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": module, "BATTERY_DATA_DIR": str(tmp_path), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    "missing",
    [
        pytest.param(("DATABASE_URL",), id="database"),
        pytest.param(("CELERY_BROKER_URL",), id="broker"),
        pytest.param(("REDIS_URL",), id="cache"),
        pytest.param(("DJANGO_SECRET_KEY",), id="secret-key"),
        pytest.param(tuple(FULL), id="nothing"),
        pytest.param(("CELERY_BROKER_URL", "DJANGO_SECRET_KEY"), id="two"),
    ],
)
def test_production_refuses_to_start_naming_every_missing_variable(tmp_path, missing):
    env = {name: value for name, value in FULL.items() if name not in missing}
    result = _settings("config.settings.production", tmp_path, **env)
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("django.core.exceptions.ImproperlyConfigured: config.settings.production refuses")
    named = {name for name in FULL if name in last}
    assert named == set(missing)


def test_production_with_everything_runs_on_it(tmp_path):
    result = _settings("config.settings.production", tmp_path, **FULL)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.db.backends.postgresql",
        "False",
        "django_redis.cache.RedisCache",
        "False",
    ]


def test_production_refuses_eager_mode(tmp_path):
    result = _settings("config.settings.production", tmp_path, **FULL, CELERY_TASK_ALWAYS_EAGER="true")
    assert result.returncode != 0
    assert "CELERY_TASK_ALWAYS_EAGER=true" in result.stderr


def test_local_with_nothing_configured_is_the_embedded_database_in_process_reports_and_local_memory(tmp_path):
    result = _settings("config.settings.local", tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "config.embedded_postgres",
        "True",
        "django.core.cache.backends.locmem.LocMemCache",
        "True",
    ]


@pytest.mark.parametrize(
    ("env", "says"),
    [
        pytest.param(
            {"DATABASE_URL": FULL["DATABASE_URL"]}, "DATABASE_URL is set but CELERY_BROKER_URL is not", id="db"
        ),
        pytest.param(
            {"DATABASE_URL": FULL["DATABASE_URL"], "REDIS_URL": FULL["REDIS_URL"]},
            "DATABASE_URL is set but CELERY_BROKER_URL is not",
            id="db-and-cache",
        ),
        pytest.param(
            {"CELERY_BROKER_URL": FULL["CELERY_BROKER_URL"]}, "CELERY_BROKER_URL is set but DATABASE_URL", id="broker"
        ),
        pytest.param({"REDIS_URL": FULL["REDIS_URL"]}, "REDIS_URL is set but DATABASE_URL", id="cache"),
        pytest.param(
            {"CELERY_BROKER_URL": FULL["CELERY_BROKER_URL"], "CELERY_TASK_ALWAYS_EAGER": "true"},
            "CELERY_BROKER_URL is set but DATABASE_URL",
            id="broker-eager",
        ),
    ],
)
def test_local_refuses_a_partial_configuration(tmp_path, env, says):
    result = _settings("config.settings.local", tmp_path, **env)
    assert result.returncode != 0
    assert says in result.stderr.strip().splitlines()[-1]


def test_local_takes_a_database_without_a_broker_when_eager_mode_is_asked_for(tmp_path):
    result = _settings(
        "config.settings.local", tmp_path, DATABASE_URL=FULL["DATABASE_URL"], CELERY_TASK_ALWAYS_EAGER="true"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[:2] == ["django.db.backends.postgresql", "True"]
    assert result.stdout.split()[3] == "False"


def test_local_with_a_database_and_a_broker_publishes(tmp_path):
    env = {name: FULL[name] for name in ("DATABASE_URL", "CELERY_BROKER_URL")}
    result = _settings("config.settings.local", tmp_path, **env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[:2] == ["django.db.backends.postgresql", "False"]


def test_the_entry_points_default_to_their_settings():
    assert '"config.settings.local"' in (ROOT / "manage.py").read_text()
    assert '"config.settings.production"' in (ROOT / "config" / "wsgi.py").read_text()
    assert '"config.settings.production"' in (ROOT / "config" / "asgi.py").read_text()
    assert "DJANGO_SETTINGS_MODULE=config.settings.production" in (ROOT / "Dockerfile").read_text()
