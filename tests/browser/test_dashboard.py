"""The dashboard end to end in Debian's chromium: every page, its figures against the API, an alert
acknowledged, a certificate downloaded, axe-core on every page, screenshots for the README. The tests run in
order on one logged-in tab (module fixtures in conftest.py)."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.browser.conftest import USER, Dashboard, axe_violations, close_connections, screenshot
from tests.support.waiting import wait_until

# django_db: so that pytest-django sets up the test database the server runs on (the tests themselves talk HTTP).
pytestmark = [pytest.mark.browser, pytest.mark.django_db]


def text(page: Any, test_id: str) -> str:
    return page.get_by_test_id(test_id).inner_text().strip()


def shown_vehicle(dashboard: Dashboard) -> str:
    """The vehicle the vehicle, log, cell and certificate pages show: the lowest SoH whose forecast is "ok"
    (a trend, a forecast and its band to draw), else the fleet's worst."""
    if dashboard.vehicle_id is None:
        candidates = dashboard.api("/api/v1/vehicles", ordering="latest_soh", soh_gte=80, limit=10)["results"]
        with_forecast = [
            v["vehicle_id"]
            for v in candidates
            if dashboard.api(f"/api/v1/vehicles/{v['vehicle_id']}/health")["forecast"]["status"] == "ok"
        ]
        worst = dashboard.api("/api/v1/fleet/summary")["worst"][0]["vehicle_id"]
        dashboard.vehicle_id = with_forecast[0] if with_forecast else worst
    return dashboard.vehicle_id


def charts_drawn(page: Any, test_id: str, selector: str) -> None:
    page.wait_for_selector(f"[data-testid={test_id}] {selector}")


def test_spa_routes_and_api_share_one_origin(dashboard: Dashboard) -> None:
    for path in ("/", "/alerts", "/vehicles/EV-DASH-00001", "/logs/0c3f"):
        answer = httpx.get(dashboard.base_url + path)
        assert answer.status_code == 200, path
        assert '<div id="root">' in answer.text, path
        assert "no-cache" in answer.headers["Cache-Control"]
    asset = re.search(r'src="(/assets/[^"]+\.js)"', httpx.get(dashboard.base_url + "/").text)
    assert asset is not None
    served = httpx.get(dashboard.base_url + asset.group(1))
    assert served.status_code == 200
    assert "immutable" in served.headers["Cache-Control"]
    assert httpx.get(dashboard.base_url + "/assets/no-such-file.js").status_code == 404
    missing = httpx.get(dashboard.base_url + "/api/v1/no-such-thing")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    assert httpx.get(dashboard.base_url + "/healthz").json() == {"status": "ok"}
    assert httpx.get(dashboard.base_url + "/api/v1/vehicles").status_code == 401
    assert httpx.get(dashboard.base_url + "/admin/login/").status_code == 200


def test_login_page(page: Any, dashboard: Dashboard) -> None:
    page.goto(dashboard.base_url + "/")
    page.wait_for_url("**/login")
    page.fill("input[name=username]", USER["username"])
    page.fill("input[name=password]", "wrong")
    page.click("button[type=submit]")
    page.get_by_role("alert").wait_for()
    assert "credentials" in page.get_by_role("alert").inner_text().lower()
    assert axe_violations(page) == []
    screenshot(page, "login", full_page=False)
    page.fill("input[name=password]", USER["password"])
    page.click("button[type=submit]")
    page.wait_for_selector("[data-testid=vehicles-table] tbody tr")


def test_fleet_overview(page: Any, dashboard: Dashboard) -> None:
    summary = dashboard.api("/api/v1/fleet/summary", window="24h")  # the page's default, as the API's
    charts_drawn(page, "soh-histogram", ".recharts-bar-rectangle")
    charts_drawn(page, "anomaly-timeline", ".recharts-bar-rectangle")
    assert text(page, "tile-vehicles") == str(summary["vehicles"]) == "60"
    assert text(page, "tile-reporting") == str(summary["reporting"])
    assert text(page, "tile-open-warning") == str(summary["open_alerts"]["warning"])
    assert text(page, "tile-open-critical") == str(summary["open_alerts"]["critical"])
    worst = page.get_by_test_id("worst-vehicles").locator("li a").all_inner_texts()
    assert worst == [vehicle["vehicle_id"] for vehicle in summary["worst"]]
    # The histogram draws one bar per non-empty bin.
    drawn = page.locator("[data-testid=soh-histogram] .recharts-bar-rectangle path").count()
    assert drawn == sum(1 for b in summary["soh_histogram"] if b["count"] > 0)
    timeline = dashboard.api("/api/v1/fleet/anomaly-timeline", days=30)
    totals = {
        code: sum(b["anomalies"][code] for b in timeline["buckets"]) for code in ("voltage_imbalance", "overheating")
    }
    caption = text(page, "timeline-totals")
    assert f"{sum(b['reports'] for b in timeline['buckets'])} reports" in caption
    assert f"Voltage imbalance {totals['voltage_imbalance']}" in caption
    assert f"Overheating {totals['overheating']}" in caption

    # The table: the API's first page in the API's order, then the next page through the cursor.
    first_page = dashboard.api("/api/v1/vehicles", ordering="vehicle_id", limit=50)
    rows = page.locator("[data-testid=vehicles-table] tbody tr td:first-child").all_inner_texts()
    assert rows == [v["vehicle_id"] for v in first_page["results"]]
    assert first_page["next"] is not None
    page.get_by_role("button", name="Load more").click()
    wait_until(lambda: text(page, "vehicles-shown") == "60", 10, 0.1, "the second page")
    assert axe_violations(page) == []
    screenshot(page, "fleet")

    # Sorted by SoH, lowest first, as the API orders it.
    page.get_by_role("button", name=re.compile("Latest SoH")).click()
    by_soh = dashboard.api("/api/v1/vehicles", ordering="latest_soh", limit=5)
    wait_until(
        lambda: (
            page.locator("[data-testid=vehicles-table] tbody tr td:first-child").first.inner_text()
            == by_soh["results"][0]["vehicle_id"]
        ),
        10,
        0.1,
        "the table sorted by SoH",
    )
    # Filtered: SoH below 90.
    page.get_by_label("SoH below").fill("90")
    below = dashboard.api("/api/v1/vehicles", ordering="latest_soh", soh_lt=90, limit=500)["results"]
    wait_until(lambda: text(page, "vehicles-shown") == str(len(below)), 10, 0.1, "the filtered table")
    page.get_by_label("SoH below").fill("")


def test_vehicle_page(page: Any, dashboard: Dashboard) -> None:
    vehicle_id = shown_vehicle(dashboard)
    page.goto(f"{dashboard.base_url}/vehicles/{vehicle_id}")
    health = dashboard.api(f"/api/v1/vehicles/{vehicle_id}/health")
    cells = dashboard.api(f"/api/v1/vehicles/{vehicle_id}/cells", window_days=30)
    charts_drawn(page, "health-chart-time", ".recharts-scatter-symbol")
    charts_drawn(page, "health-chart-cycles", ".recharts-scatter-symbol")
    assert text(page, "soh-latest") == f"{health['soh_latest']:.1f} %"
    if health["forecast"]["status"] == "ok":
        assert health["forecast"]["date"]["estimate"] in text(page, "forecast")
        charts_drawn(page, "health-chart-time", ".recharts-area-area")
    page.wait_for_selector("[data-testid=cell-ranking] tbody tr")
    ranked = page.locator("[data-testid=cell-ranking] tbody tr td:first-child").all_inner_texts()
    assert ranked == [f"#{cell['id']}" for cell in cells["cells"][:12]]
    reports = dashboard.api(f"/api/v1/vehicles/{vehicle_id}/reports", limit=20)["results"]
    page.wait_for_selector("[data-testid=reports-table] tbody tr")
    assert page.locator("[data-testid=reports-table] tbody tr").count() == len(reports) == 20
    assert axe_violations(page) == []
    screenshot(page, "vehicle")

    # Edit the registry: the API keeps it.
    page.get_by_label("Model").fill("Model Y")
    page.get_by_label("VIN").fill("1HGBH41JXMN109186")
    page.get_by_role("button", name="Save").click()
    page.get_by_role("status").filter(has_text="Saved.").wait_for()
    stored = dashboard.api(f"/api/v1/vehicles/{vehicle_id}")
    assert (stored["model"], stored["vin"]) == ("Model Y", "1HGBH41JXMN109186")


def test_log_page(page: Any, dashboard: Dashboard) -> None:
    vehicle_id = shown_vehicle(dashboard)
    report = dashboard.api(f"/api/v1/vehicles/{vehicle_id}/reports", limit=1)["results"][0]
    page.get_by_test_id("reports-table").locator("tbody tr a").first.click()
    page.wait_for_url(f"**/logs/{report['log_id']}")
    charts_drawn(page, "voltage-chart", ".recharts-scatter-symbol")
    charts_drawn(page, "temperature-chart", ".recharts-bar-rectangle")
    diagnostics = report["diagnostics"]
    summary = text(page, "voltage-summary")
    assert f"{diagnostics['cell_count']} cells" in summary
    assert f"min {diagnostics['voltage_min']:.3f} V" in summary
    assert f"max {diagnostics['voltage_max']:.3f} V" in summary
    assert f"spread {diagnostics['voltage_spread_mv']:.1f} mV" in summary
    assert f"Max {diagnostics['temperature_max']:.1f} °C" in text(page, "temperature-summary")
    assert text(page, "report-soh") == f"{report['battery_soh']:.1f} %"
    flags = report["data_quality"]["flags"]
    assert text(page, "data-quality") == "clean" if not flags else all(f in text(page, "data-quality") for f in flags)
    assert page.locator("[data-testid=voltage-chart] .recharts-scatter-symbol").count() == diagnostics["cell_count"]
    assert axe_violations(page) == []
    screenshot(page, "log")


def test_cell_page(page: Any, dashboard: Dashboard) -> None:
    vehicle_id = shown_vehicle(dashboard)
    cell_id = dashboard.api(f"/api/v1/vehicles/{vehicle_id}/cells")["cells"][0]["id"]
    page.goto(f"{dashboard.base_url}/vehicles/{vehicle_id}/cells/{cell_id}")
    charts_drawn(page, "cell-voltage-chart", ".recharts-line-curve")
    charts_drawn(page, "cell-deviation-chart", ".recharts-line-curve")
    last_seen = datetime.fromisoformat(dashboard.api(f"/api/v1/vehicles/{vehicle_id}")["last_seen"])
    since = (last_seen - timedelta(days=90)).isoformat()
    history = dashboard.api(f"/api/v1/vehicles/{vehicle_id}/cells/{cell_id}/history", since=since, limit=10000)[
        "results"
    ]
    latest = history[-1]
    summary = text(page, "cell-summary")
    assert summary.startswith(f"{len(history)} readings; latest {latest['voltage']:.3f} V")
    assert f"{latest['voltage_deviation_mv']:.1f} mV from the pack median" in summary
    # A shorter period asks the API again.
    page.get_by_label("Period").select_option("7")
    week = dashboard.api(
        f"/api/v1/vehicles/{vehicle_id}/cells/{cell_id}/history",
        since=(last_seen - timedelta(days=7)).isoformat(),
        limit=10000,
    )["results"]
    wait_until(lambda: text(page, "cell-summary").startswith(f"{len(week)} readings"), 10, 0.1, "the 7-day period")
    assert axe_violations(page) == []
    screenshot(page, "cell")


def test_alerts_page_acknowledge(page: Any, dashboard: Dashboard) -> None:
    open_alerts = dashboard.api("/api/v1/alerts", state="open", limit=50)["results"]
    assert open_alerts, "the seeded fleet has open alerts"
    page.goto(dashboard.base_url + "/alerts")
    page.wait_for_selector("[data-testid=alerts-table] tbody tr[data-alert-id]")
    shown = page.locator("[data-testid=alerts-table] tbody tr[data-alert-id]")
    assert [shown.nth(i).get_attribute("data-alert-id") for i in range(shown.count())] == [a["id"] for a in open_alerts]
    assert axe_violations(page) == []
    screenshot(page, "alerts")

    target = open_alerts[0]
    page.locator(f"tr[data-alert-id='{target['id']}']").get_by_role("button", name=re.compile("^Acknowledge")).click()
    page.locator(f"tr[data-alert-id='{target['id']}']").wait_for(state="detached")
    acknowledged = dashboard.api(f"/api/v1/alerts/{target['id']}")
    assert acknowledged["state"] == "acknowledged"
    assert acknowledged["acknowledged_by"] == USER["username"]
    page.get_by_role("button", name="Acknowledged", exact=True).click()
    page.locator(f"tr[data-alert-id='{target['id']}']").wait_for()

    # The webhook got the event; its delivery log shows it.
    wait_until(lambda: any(h["type"] == "alert.acknowledged" for h in dashboard.hooks), 15, 0.2, "the webhook delivery")
    page.get_by_role("button", name="Show deliveries").click()
    page.wait_for_selector("[data-testid=deliveries-table] tbody tr")
    row = page.locator("[data-testid=deliveries-table] tbody tr").first.inner_text()
    assert "alert.acknowledged" in row
    assert "delivered" in row
    assert "204" in row
    assert axe_violations(page) == []
    screenshot(page, "alerts-acknowledged")


def test_certificate_print_and_pdf(page: Any, dashboard: Dashboard, tmp_path: Any) -> None:
    vehicle_id = shown_vehicle(dashboard)
    vehicle = dashboard.api(f"/api/v1/vehicles/{vehicle_id}")
    page.goto(f"{dashboard.base_url}/vehicles/{vehicle_id}/certificate")
    charts_drawn(page, "health-chart-time", ".recharts-scatter-symbol")
    assert text(page, "cert-vehicle") == vehicle_id
    assert text(page, "cert-soh") == f"{vehicle['latest']['battery_soh']:.1f} %"
    assert text(page, "cert-cycles") == str(vehicle["latest"]["cycle_count"])
    assert text(page, "cert-date") == datetime.now(UTC).date().isoformat()
    since = (
        datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1) - timedelta(days=90)
    )
    recent = dashboard.api(f"/api/v1/vehicles/{vehicle_id}/reports", since=since.isoformat(), limit=500)["results"]
    with_anomalies = sum(1 for r in recent if r["anomaly_details"])
    wait_until(lambda: "loading" not in text(page, "cert-anomalies"), 10, 0.1, "the 90-day anomalies")
    assert text(page, "cert-anomalies").startswith(f"{with_anomalies} of {len(recent)} reports")
    assert recent[0]["rules_version"] in text(page, "cert-method")
    assert axe_violations(page) == []
    screenshot(page, "certificate")

    # Print: the A4 page has no navigation and no buttons.
    page.emulate_media(media="print")
    assert not page.get_by_role("button", name="Download PDF").is_visible()
    assert not page.get_by_role("link", name="Log out").is_visible()
    screenshot(page, "certificate-print")
    pdf = page.pdf(format="A4", print_background=True)
    assert pdf.startswith(b"%PDF")
    page.emulate_media(media="screen")

    # The server's PDF, fetched with the bearer token and saved by the browser.
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download PDF").click()
    download = download_info.value
    assert download.suggested_filename == f"battery-certificate-{vehicle_id}.pdf"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    assert saved.read_bytes().startswith(b"%PDF")


def test_silent_refresh_and_logout(page: Any, dashboard: Dashboard) -> None:
    # An access token that expired: the app refreshes it before its first request, without a login page.
    page.goto(dashboard.base_url + "/alerts")
    page.wait_for_selector("[data-testid=alerts-table]")
    before = page.evaluate("JSON.parse(localStorage.getItem('battery.tokens'))")
    expired = before["access"].split(".")
    import base64
    import json

    claims = json.loads(base64.urlsafe_b64decode(expired[1] + "=" * (-len(expired[1]) % 4)))
    claims["exp"] = int(time.time()) - 60
    expired[1] = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    page.evaluate(
        "([access, refresh]) => localStorage.setItem('battery.tokens', JSON.stringify({access, refresh}))",
        [".".join(expired), before["refresh"]],
    )
    with page.expect_response("**/api/v1/auth/token/refresh") as refreshed:
        page.goto(dashboard.base_url + "/")
    assert refreshed.value.status == 200
    page.wait_for_selector("[data-testid=vehicles-table] tbody tr")
    after = page.evaluate("JSON.parse(localStorage.getItem('battery.tokens'))")
    assert after["refresh"] != before["refresh"]  # rotated
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/login")
    assert page.evaluate("localStorage.getItem('battery.tokens')") is None
    assert page.errors == []


def test_phone_width(browser: Any, dashboard: Dashboard) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True)
    phone = context.new_page()
    try:
        phone.goto(dashboard.base_url + "/login")
        phone.fill("input[name=username]", USER["username"])
        phone.fill("input[name=password]", USER["password"])
        phone.click("button[type=submit]")
        phone.wait_for_selector("[data-testid=soh-histogram] .recharts-bar-rectangle")
        phone.wait_for_selector("[data-testid=vehicles-table] tbody tr")
        # Nothing wider than the screen but the tables, which scroll inside their own box.
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390
        assert axe_violations(phone) == []
        screenshot(phone, "fleet-phone", full_page=False)
    finally:
        context.close()
        close_connections()
