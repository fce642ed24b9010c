"""Vehicles retry: 50 identical POSTs at once through granian make exactly one log and one report."""

import threading

import httpx
import pytest

from fleets.services import api_user_create
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e
CONCURRENT = 50


def test_fifty_concurrent_identical_posts_make_one_log_and_one_report(stack, sample_log):
    api_user_create(username="retrier", fleet_name="retry-fleet", password="retry-pass")
    token = httpx.post(f"{stack.url}/api/v1/auth/token", json={"username": "retrier", "password": "retry-pass"}).json()[
        "access"
    ]
    headers = {"Authorization": f"Bearer {token}"}
    barrier = threading.Barrier(CONCURRENT)
    results: list[httpx.Response | BaseException | None] = [None] * CONCURRENT

    def post(index: int) -> None:
        with httpx.Client(timeout=30) as client:
            barrier.wait()
            try:
                results[index] = client.post(f"{stack.url}/api/v1/diagnostics", json=sample_log, headers=headers)
            except httpx.HTTPError as exc:
                results[index] = exc

    threads = [threading.Thread(target=post, args=(i,)) for i in range(CONCURRENT)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert all(isinstance(r, httpx.Response) for r in results), results
    statuses = sorted(r.status_code for r in results)  # type: ignore[union-attr]
    assert statuses == [200] * (CONCURRENT - 1) + [202]
    assert len({r.json()["log_id"] for r in results}) == 1  # type: ignore[union-attr]

    from reports.models import BatteryReport
    from vehicles.models import DiagnosticLog

    assert DiagnosticLog.objects.count() == 1
    wait_until(BatteryReport.objects.exists, 30, 0.1, "the log's report")
    assert BatteryReport.objects.count() == 1
