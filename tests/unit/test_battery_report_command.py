"""manage.py battery_report: the console report of one log, without a database."""

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    # DATABASE_URL points nowhere: the command must not need a database.
    env = {
        "PATH": "/usr/bin:/bin",
        "DATABASE_URL": "postgres://nobody@127.0.0.1:1/none",
        "CELERY_TASK_ALWAYS_EAGER": "true",
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
    }
    return subprocess.run(
        [sys.executable, "manage.py", "battery_report", *args],
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        env=env,
        timeout=60,
    )


def test_file_report_prints_three_sections(tmp_path, sample_log):
    path = tmp_path / "log.json"
    path.write_text(json.dumps(sample_log))
    out = io.StringIO()
    call_command("battery_report", str(path), stdout=out)
    text = out.getvalue()
    for heading in ("Input summary", "Report", "Detailed diagnostics"):
        assert heading in text
    report = json.loads(text.split("Report\n" + "=" * 60 + "\n", 1)[1].split("\n\n", 1)[0])
    assert report["battery_soh"] == 91.5
    assert report["anomalies"] == []
    assert report["vehicle_id"] == "EV-12345"


def test_stdin_without_a_database(sample_log):
    result = _run("-", stdin=json.dumps(sample_log).encode())
    assert result.returncode == 0, result.stderr.decode()
    assert b'"battery_soh": 91.5' in result.stdout


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(b'{"vehicle_id": "EV-1"}', b"timestamp: This field is required.", id="missing-fields"),
        pytest.param(b"{not json", b"Invalid diagnostic log", id="not-json"),
        pytest.param(b'{"a": NaN}', b"NaN", id="nan"),
    ],
)
def test_invalid_log_exits_2_with_errors(body, expected):
    result = _run("-", stdin=body)
    assert result.returncode == 2
    assert expected in result.stderr


def test_mock_is_deterministic_for_a_seed():
    first, second = _run("--mock", "--seed", "5"), _run("--mock", "--seed", "5")
    assert first.returncode == 0, first.stderr.decode()
    assert first.stdout == second.stdout
    assert _run("--mock", "--seed", "6").stdout != first.stdout
