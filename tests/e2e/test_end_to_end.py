"""End to end: a simulated fleet POSTs over HTTP to granian; a real Celery worker on a real broker
computes the reports; we poll them over HTTP and check them against the rules."""

from datetime import UTC, datetime

import httpx
import pytest

from fleets.services import api_user_create
from reports.health import BatterySnapshot, evaluate
from simulator.client import run_simulation
from tests.conftest import load_cases
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e

POLL_TIMEOUT_S = 60
START = datetime(2026, 1, 1, tzinfo=UTC)


def _token(base: str, username: str, password: str) -> str:
    response = httpx.post(f"{base}/api/v1/auth/token", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return response.json()["access"]


def _poll_report(client: httpx.Client, log_id: str) -> dict:
    """The report once GET answers 200; until then every answer is the contract's 202 with Retry-After."""
    last: list[httpx.Response] = []

    def ready() -> bool:
        response = client.get(f"/api/v1/reports/{log_id}")
        last[:] = [response]
        if response.status_code == 200:
            return True
        assert response.status_code == 202, response.text
        assert response.json() == {"log_id": log_id, "status": "processing"}
        assert int(response.headers["Retry-After"]) >= 1
        return False

    wait_until(ready, POLL_TIMEOUT_S, 0.1, f"report {log_id}")
    return last[0].json()


def test_simulated_fleet_reports_match_the_rules(stack):
    api_user_create(username="fleet-op", fleet_name="e2e-fleet", password="s3cret-pass")
    fleet = {
        "url": stack.url,
        "username": "fleet-op",
        "password": "s3cret-pass",
        "vehicles": 5,
        "logs_per_vehicle": 8,
        "concurrency": 4,
        "seed": 7,
        "prefix": "EV-E2E",
        "start": START,
    }
    summary = run_simulation(**fleet)
    assert (summary.sent, summary.accepted, summary.rejected, summary.failed) == (40, 40, 0, 0), summary.format()

    from vehicles.models import DiagnosticLog

    log_ids = [str(pk) for pk in DiagnosticLog.objects.values_list("id", flat=True)]
    assert len(log_ids) == 40
    with httpx.Client(
        base_url=stack.url, headers={"Authorization": f"Bearer {_token(stack.url, 'fleet-op', 's3cret-pass')}"}
    ) as client:
        for log_id in log_ids:
            report = _poll_report(client, log_id)
            stored = client.get(f"/api/v1/diagnostics/{log_id}").json()
            expected = evaluate(BatterySnapshot.from_mapping(stored)).as_dict()
            assert report["status"] == "completed"
            assert report["log_id"] == log_id
            assert report["vehicle_id"] == stored["vehicle_id"]
            assert report["timestamp"] == stored["timestamp"]
            assert report["cycle_count"] == stored["cycle_count"]
            for key in ("battery_soh", "anomalies", "anomaly_details", "diagnostics"):
                assert report[key] == expected[key], (log_id, key)

    # A second run of the same fleet is all retries: nothing new stored.
    again = run_simulation(**fleet)
    assert (again.sent, again.duplicates, again.accepted, again.conflicts) == (40, 40, 0, 0), again.format()
    assert DiagnosticLog.objects.count() == 40


def test_sample_cases_through_the_worker(stack):
    cases = load_cases()
    if not cases:
        pytest.skip("shared/testdata/reports.json not found")
    api_user_create(username="cases", fleet_name="cases-fleet", password="cases-pass")
    headers = {"Authorization": f"Bearer {_token(stack.url, 'cases', 'cases-pass')}"}
    with httpx.Client(base_url=stack.url, headers=headers) as client:
        posted = []
        for case in cases:
            response = client.post("/api/v1/diagnostics", json=case["log"])
            assert response.status_code == 202, response.text
            assert response.json()["status"] == "processing"
            posted.append((case, response.json()["log_id"]))
        for case, log_id in posted:
            report = _poll_report(client, log_id)
            for key, value in case["expected"].items():
                assert report[key] == value, (case["name"], key)
