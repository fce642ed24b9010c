"""`manage.py worker_alive`: exit 0 with a fresh heartbeat, 1 with a stale or missing one."""

import os
import time

import pytest
from django.core.management import call_command


def _exit_code(**options: float) -> int:
    try:
        call_command("worker_alive", **options)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


@pytest.fixture
def heartbeat(tmp_path, settings):  # type: ignore[no-untyped-def]
    settings.WORKER_HEARTBEAT_FILE = str(tmp_path / "heartbeat")
    return tmp_path / "heartbeat"


def test_fresh_heartbeat_is_alive(heartbeat):
    heartbeat.touch()
    assert _exit_code(max_age=60) == 0


def test_stale_heartbeat_is_not_alive(heartbeat):
    heartbeat.touch()
    old = time.time() - 61
    os.utime(heartbeat, (old, old))
    assert _exit_code(max_age=60) == 1


def test_missing_heartbeat_is_not_alive(heartbeat):
    assert _exit_code(max_age=60) == 1


def test_the_heartbeat_is_renewed_after_a_task(heartbeat, monkeypatch):
    from celery.signals import task_postrun

    from config.celery import app

    monkeypatch.setitem(app.conf, "task_always_eager", False)
    task_postrun.send(sender=None, task_id="t", task=None, state="SUCCESS")
    assert _exit_code(max_age=5) == 0
