"""The dashboard in a real browser: Debian's chromium driven by Playwright, against granian serving the built
app (frontend/dist) and the API on a seeded test database. Without chromium, Node.js or a built app these
tests skip, except under CI=true, where they fail saying what is missing."""

from __future__ import annotations

import http.server
import json
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.infra import (
    REPO_ROOT,
    database_url,
    free_port,
    manage,
    service_env,
    start_web,
    stop_tree,
    wait_for_http,
)

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
DIST_INDEX = REPO_ROOT / "frontend" / "dist" / "index.html"
AXE_JS = REPO_ROOT / "frontend" / "node_modules" / "axe-core" / "axe.min.js"
# The README's screenshots: `make screenshots` sets SCREENSHOTS_DIR=docs/screenshots; a test run writes
# them into a temporary directory so that it leaves the checkout as it found it.
SCREENSHOTS = Path(os.environ.get("SCREENSHOTS_DIR") or Path(tempfile.gettempdir()) / "battery-screenshots")
USER = {"username": "fleetmgr", "password": "dashboard-pass-1"}
FLEET = "dashboard"


def _missing() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"no chromium at {CHROMIUM} (apt-get install -y chromium)"
    if not shutil.which("node"):
        return "no Node.js (the dashboard is built with it: see README, Dashboard)"
    if not DIST_INDEX.exists():
        return "the dashboard is not built (make frontend)"
    if not AXE_JS.exists():
        return "frontend/node_modules has no axe-core (make frontend runs npm ci)"
    return None


def skip_or_fail_browser() -> None:
    reason = _missing()
    if reason is None:
        return
    if os.environ.get("CI") == "true" or os.environ.get("REQUIRE_BROKER") == "1":
        pytest.fail(f"browser tests cannot run: {reason}", pytrace=False)
    pytest.skip(reason)


class _HookReceiver(http.server.BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        _HookReceiver.received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@dataclass
class Dashboard:
    base_url: str
    token: str
    webhook_url: str
    hooks: list[dict[str, Any]] = field(default_factory=list)
    vehicle_id: str | None = None  # the vehicle the per-vehicle pages show (test_dashboard.shown_vehicle)

    def api(self, path: str, **params: Any) -> Any:
        response = httpx.get(
            f"{self.base_url}{path}", params=params, headers={"Authorization": f"Bearer {self.token}"}, timeout=30
        )
        response.raise_for_status()
        return response.json()


@pytest.fixture(scope="module")
def dashboard(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[Dashboard]:  # type: ignore[no-untyped-def]
    skip_or_fail_browser()
    from django.core.management import call_command
    from django.db import connection

    workdir = tmp_path_factory.mktemp("dashboard")
    receiver = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _HookReceiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    web = None
    with django_db_blocker.unblock():
        try:
            # No broker: reports, alerts and webhook deliveries run in-process (eager), as in `make run`.
            env = service_env(db_url=database_url(connection.settings_dict), broker_url="", queue="dashboard")
            env.pop("REDIS_URL", None)
            env["WEBHOOK_ALLOW_PRIVATE"] = "true"
            manage(env, "create_api_user", USER["username"], "--fleet", FLEET, "--password", USER["password"])
            # 60 vehicles (more than a page of 50), 40 weekly logs each ending before now: recent anomalies,
            # trends long enough for forecasts, open alerts.
            manage(
                env,
                *(
                    "seed_diagnostics",
                    "--vehicles",
                    "60",
                    "--logs-per-vehicle",
                    "40",
                    "--seed",
                    "5",
                    "--interval",
                    "7d",
                ),
                *("--fleet", FLEET, "--prefix", "EV-DASH", "--no-progress"),
                timeout=300,
            )
            port = free_port()
            web = start_web(env, port, workdir / "web.log", workers=1)
            base_url = f"http://127.0.0.1:{port}"
            wait_for_http(f"{base_url}/healthz", web)
            token = httpx.post(f"{base_url}/api/v1/auth/token", json=USER, timeout=10).json()["access"]
            hook_url = f"http://127.0.0.1:{receiver.server_address[1]}/hook"
            created = httpx.post(
                f"{base_url}/api/v1/webhooks",
                json={"url": hook_url, "events": ["alert.acknowledged", "alert.resolved"]},
                headers={"Authorization": f"Bearer {token}"},
                timeout=10,
            )
            assert created.status_code == 201, created.text
            yield Dashboard(base_url=base_url, token=token, webhook_url=hook_url, hooks=_HookReceiver.received)
        finally:
            stop_tree(web)
            receiver.shutdown()
            connection.close()
            call_command("flush", "--noinput", verbosity=0)
            connection.close()


@pytest.fixture(scope="module")
def browser(dashboard: Dashboard) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in this thread, and Django refuses database calls under one.
    # The only database call in this process is the empty transaction pytest-django opens around each test
    # (the django_db marker that gets the server its test database); the tests talk HTTP.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            the_browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            try:
                yield the_browser
            finally:
                the_browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="module")
def page(browser: Any, dashboard: Dashboard) -> Iterator[Any]:
    """One logged-in tab for the module's tests, in order, as a user would go from page to page."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    context.set_default_timeout(20_000)
    the_page = context.new_page()
    errors: list[str] = []
    the_page.on("pageerror", lambda error: errors.append(str(error)))
    the_page.errors = errors
    try:
        yield the_page
    finally:
        context.close()
        close_connections()


def close_connections() -> None:
    """The per-test transactions ran while Playwright's loop runs, on connections Django keeps for that
    context: close them there, or the test database cannot be dropped at the end of the session."""
    from django.db import connections

    connections.close_all()


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it is now."""
    page.add_script_tag(path=str(AXE_JS))
    violations = page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations")
    return [
        {"id": v["id"], "impact": v["impact"], "help": v["help"], "nodes": [n["target"] for n in v["nodes"][:5]]}
        for v in violations
        if v["impact"] in ("serious", "critical")
    ]


def screenshot(page: Any, name: str, full_page: bool = True) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)
