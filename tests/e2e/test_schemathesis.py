"""Schemathesis against the live stack: generated requests (NUL bytes included) never get a server
error, and every response conforms to the OpenAPI schema the code generates."""

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from fleets.services import api_user_create
from simulator.client import run_simulation

pytestmark = pytest.mark.e2e

MAX_EXAMPLES = os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "40")


def test_schemathesis_finds_no_server_error_and_no_schema_mismatch(stack, tmp_path):
    api_user_create(username="fuzz", fleet_name="fuzz-fleet", password="fuzz-pass")
    seeded = run_simulation(
        url=stack.url,
        username="fuzz",
        password="fuzz-pass",
        vehicles=2,
        logs_per_vehicle=3,
        concurrency=2,
        seed=11,
        prefix="EV-FUZZ",
    )
    assert seeded.accepted == 6, seeded.format()
    from vehicles.models import DiagnosticLog

    log_id = str(DiagnosticLog.objects.values_list("id", flat=True).first())
    token = httpx.post(f"{stack.url}/api/v1/auth/token", json={"username": "fuzz", "password": "fuzz-pass"}).json()[
        "access"
    ]
    config = tmp_path / "schemathesis.toml"
    # Path parameters drawn from seeded data, so reads reach real logs and reports, not only 404s.
    config.write_text(f'[parameters]\nlog_id = "{log_id}"\n')
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "--config-file",
        str(config),
        "run",
        f"{stack.url}/api/v1/schema/",
        "--header",
        f"Authorization: Bearer {token}",
        "--checks",
        "all",
        # Business rules a JSON schema cannot state (ids 0..n-1, current <= 1.2 x nominal, timestamps
        # not in the future, vehicle ownership) make schema-valid data legitimately invalid.
        "--exclude-checks",
        "positive_data_acceptance",
        "--generation-allow-x00",
        "true",
        "--max-examples",
        MAX_EXAMPLES,
        "--seed",
        "20261127",
        "--workers",
        "2",
        "--request-timeout",
        "10",
        "--no-color",
        "--report-dir",
        str(tmp_path / "report"),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=900)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    assert "passed" in output
