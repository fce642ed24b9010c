"""Contract section 7 over HTTP: alerts and their lifecycle, webhooks and their deliveries; fleet scoping (another
fleet's alert or webhook is a 404) and bad input (400 naming the parameter or field)."""

from typing import Any
from urllib.parse import urlsplit

import pytest
from standardwebhooks import Webhook as StandardWebhook

from tests.api.conftest import check_error
from tests.api.test_vehicles import COOL, HOT, log, post

VERY_HOT = [{"id": 0, "voltage": 4.05, "temperature": 61.0}, {"id": 1, "voltage": 4.06, "temperature": 31.0}]
ALERT_KEYS = {
    "id", "vehicle_id", "type", "severity", "state", "opened_at", "last_seen_at", "occurrences", "last_log_id",
    "cells", "acknowledged_at", "acknowledged_by", "resolved_at", "resolution",
}  # fmt: skip
PUBLIC = "93.184.216.34"


@pytest.fixture(autouse=True)
def no_network(monkeypatch) -> list[Any]:  # type: ignore[no-untyped-def]
    """DNS answers from a table, and deliveries are recorded instead of sent (tests/integration sends for real)."""
    table = {"hooks.example.com": [PUBLIC], "internal.example.com": ["10.0.0.7"], "mixed.example.com": [PUBLIC, "::1"]}

    def resolve(host: str, port: int) -> list[str]:
        if host in table:
            return table[host]
        raise OSError("unknown host")

    published: list[Any] = []
    monkeypatch.setattr("alerts.urlguard.resolve_host", resolve)
    monkeypatch.setattr("alerts.dispatch.deliveries_enqueue", lambda ids: published.extend(ids))
    return published


def alerts(client, query: str = "") -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    response = client.get(f"/api/v1/alerts{query}")
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"results", "next"}
    return body["results"]


@pytest.fixture
def hot_ev1(client_a) -> dict[str, Any]:
    log_id = post(client_a, log("EV-1", "2025-10-04T10:00:00Z", cells=HOT))
    (alert,) = alerts(client_a)
    assert alert["last_log_id"] == log_id
    return alert


# --- alerts ---------------------------------------------------------------------------------------------------


def test_a_report_with_an_anomaly_raises_an_alert(client_a, hot_ev1):
    assert set(hot_ev1) == ALERT_KEYS
    assert hot_ev1["vehicle_id"] == "EV-1"
    assert (hot_ev1["type"], hot_ev1["severity"], hot_ev1["state"]) == ("overheating", "warning", "open")
    assert (hot_ev1["occurrences"], hot_ev1["cells"]) == (1, [0])
    assert hot_ev1["opened_at"] == hot_ev1["last_seen_at"] == "2025-10-04T10:00:00.000000Z"
    assert (hot_ev1["acknowledged_at"], hot_ev1["acknowledged_by"], hot_ev1["resolved_at"], hot_ev1["resolution"]) == (
        None,
        None,
        None,
        None,
    )
    assert client_a.get(f"/api/v1/alerts/{hot_ev1['id']}").json() == hot_ev1


def test_a_second_report_updates_the_alert_and_raises_severity(client_a, hot_ev1):
    log_id = post(client_a, log("EV-1", "2025-10-04T11:00:00Z", cells=VERY_HOT))
    (alert,) = alerts(client_a)
    assert alert["id"] == hot_ev1["id"]
    assert (alert["occurrences"], alert["severity"], alert["last_log_id"]) == (2, "critical", log_id)
    assert alert["last_seen_at"] == "2025-10-04T11:00:00.000000Z"


def test_three_newer_clean_reports_resolve_it(client_a, hot_ev1):
    for hour in (11, 12, 13):
        post(client_a, log("EV-1", f"2025-10-04T{hour}:00:00Z", cells=COOL))
    alert = client_a.get(f"/api/v1/alerts/{hot_ev1['id']}").json()
    assert (alert["state"], alert["resolution"]) == ("resolved", "auto")


def test_the_list_is_newest_last_seen_first_paginated_and_filtered(client_a):
    post(client_a, log("EV-1", "2025-10-04T10:00:00Z", cells=HOT))
    post(client_a, log("EV-2", "2025-10-04T12:00:00Z", cells=VERY_HOT, current=40.0))  # 66.67 %: critical
    post(client_a, log("EV-3", "2025-10-04T11:00:00Z", current=45.0))  # 75 %: warning
    listed = alerts(client_a)
    assert [(a["vehicle_id"], a["type"]) for a in listed][:1] in ([("EV-2", "overheating")], [("EV-2", "low_soh")])
    assert [a["last_seen_at"] for a in listed] == sorted((a["last_seen_at"] for a in listed), reverse=True)
    assert len(listed) == 4
    first = client_a.get("/api/v1/alerts?limit=3").json()
    assert len(first["results"]) == 3
    path = urlsplit(first["next"])
    second = client_a.get(f"{path.path}?{path.query}").json()
    assert [a["id"] for a in first["results"] + second["results"]] == [a["id"] for a in listed]
    assert second["next"] is None
    assert {a["vehicle_id"] for a in alerts(client_a, "?severity=critical")} == {"EV-2"}
    assert {(a["vehicle_id"], a["type"]) for a in alerts(client_a, "?type=low_soh")} == {
        ("EV-2", "low_soh"),
        ("EV-3", "low_soh"),
    }
    assert [a["vehicle_id"] for a in alerts(client_a, "?vehicle_id=EV-1")] == ["EV-1"]
    assert alerts(client_a, "?vehicle_id=EV-404") == []
    assert len(alerts(client_a, "?state=open")) == 4
    assert alerts(client_a, "?state=resolved") == []


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("state=closed", "state"),
        ("type=weak", "type"),
        ("severity=fatal", "severity"),
        ("vehicle_id=not%20an%20id", "vehicle_id"),
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("cursor=forged", "cursor"),
    ],
)
def test_a_bad_list_parameter_is_a_400_naming_it(client_a, query, parameter):
    check_error(client_a.get(f"/api/v1/alerts?{query}"), 400, "invalid", {parameter})


def test_another_fleets_alert_is_a_404_everywhere(client_a, client_b, hot_ev1):
    assert alerts(client_b) == []
    for response in (
        client_b.get(f"/api/v1/alerts/{hot_ev1['id']}"),
        client_b.post(f"/api/v1/alerts/{hot_ev1['id']}/acknowledge"),
        client_b.post(f"/api/v1/alerts/{hot_ev1['id']}/resolve"),
    ):
        check_error(response, 404, "not_found")
    assert client_a.get(f"/api/v1/alerts/{hot_ev1['id']}").json()["state"] == "open"


@pytest.mark.parametrize("alert_id", ["not-a-uuid", "6c0e4f8a-9a63-4f43-bd1c-3f1a2b1c0d9e"])
def test_an_unknown_or_malformed_alert_id_is_a_404(client_a, alert_id):
    check_error(client_a.get(f"/api/v1/alerts/{alert_id}"), 404, "not_found")
    check_error(client_a.post(f"/api/v1/alerts/{alert_id}/acknowledge"), 404, "not_found")


def test_alerts_need_a_token(anon):
    check_error(anon.get("/api/v1/alerts"), 401, "not_authenticated")
    check_error(anon.get("/api/v1/webhooks"), 401, "not_authenticated")


def test_acknowledge_then_resolve(client_a, hot_ev1):
    url = f"/api/v1/alerts/{hot_ev1['id']}"
    acknowledged = client_a.post(f"{url}/acknowledge")
    assert acknowledged.status_code == 200
    body = acknowledged.json()
    assert (body["state"], body["acknowledged_by"]) == ("acknowledged", "alice")
    assert body["acknowledged_at"] is not None
    again = client_a.post(f"{url}/acknowledge")
    assert (again.status_code, again.json()) == (200, body)  # a retried POST: the same answer
    resolved = client_a.post(f"{url}/resolve")
    assert resolved.status_code == 200
    body = resolved.json()
    assert (body["state"], body["resolution"], body["acknowledged_by"]) == ("resolved", "manual", "alice")
    assert body["resolved_at"] is not None
    check_error(client_a.post(f"{url}/acknowledge"), 409, "conflict")
    assert client_a.post(f"{url}/resolve").json() == body


def test_a_new_anomaly_after_a_manual_resolve_opens_a_new_alert(client_a, hot_ev1):
    client_a.post(f"/api/v1/alerts/{hot_ev1['id']}/resolve")
    post(client_a, log("EV-1", "2025-10-04T11:00:00Z", cells=HOT))
    (new,) = alerts(client_a, "?state=open")
    assert new["id"] != hot_ev1["id"]


def test_the_fleet_summary_counts_open_alerts(client_a, hot_ev1):
    post(client_a, log("EV-2", "2025-10-04T10:00:00Z", cells=VERY_HOT))
    assert client_a.get("/api/v1/fleet/summary").json()["open_alerts"] == {"warning": 1, "critical": 1}
    client_a.post(f"/api/v1/alerts/{hot_ev1['id']}/resolve")
    assert client_a.get("/api/v1/fleet/summary").json()["open_alerts"] == {"warning": 0, "critical": 1}


# --- webhooks -------------------------------------------------------------------------------------------------


def register(client, url: str = "https://hooks.example.com/battery", events: list[str] | None = None):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/webhooks", {"url": url, "events": events or ["alert.opened", "alert.resolved"]})


def test_registering_a_webhook_shows_its_secret_once(client_a):
    response = register(client_a)
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {"id", "url", "events", "secret", "active", "created_at"}
    assert (body["url"], body["events"], body["active"]) == (
        "https://hooks.example.com/battery",
        ["alert.opened", "alert.resolved"],
        True,
    )
    assert body["secret"].startswith("whsec_")
    signature = StandardWebhook(body["secret"]).sign("msg_1", __import__("datetime").datetime.now(), "{}")
    assert signature.startswith("v1,")
    listed = client_a.get("/api/v1/webhooks").json()
    assert listed == {"results": [{k: v for k, v in body.items() if k != "secret"}], "next": None}


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"events": ["alert.opened"]}, {"url"}),
        ({"url": "https://hooks.example.com/x"}, {"events"}),
        ({"url": "https://hooks.example.com/x", "events": []}, {"events"}),
        ({"url": "https://hooks.example.com/x", "events": ["alert.opened", "alert.exploded"]}, {"events[1]"}),
        ({"url": "https://hooks.example.com/x", "events": "alert.opened"}, {"events"}),
        ({"url": 7, "events": ["alert.opened"]}, {"url"}),
        ({"url": "not a url", "events": ["alert.opened"]}, {"url"}),
        ({"url": "http://hooks.example.com/x", "events": ["alert.opened"]}, {"url"}),
        ({"url": "ftp://hooks.example.com/x", "events": ["alert.opened"]}, {"url"}),
        ({"url": "https://internal.example.com/x", "events": ["alert.opened"]}, {"url"}),
        ({"url": "https://mixed.example.com/x", "events": ["alert.opened"]}, {"url"}),
        ({"url": "https://127.0.0.1/x", "events": ["alert.opened"]}, {"url"}),
        ({"url": "https://169.254.169.254/latest", "events": ["alert.opened"]}, {"url"}),
        ({"url": "https://[::1]/x", "events": ["alert.opened"]}, {"url"}),
        ({"url": "https://nowhere.example.com/x", "events": ["alert.opened"]}, {"url"}),
        ({"url": "https://user:pw@hooks.example.com/x", "events": ["alert.opened"]}, {"url"}),
    ],
)
def test_a_bad_webhook_is_a_400_naming_the_field(client_a, body, fields):
    check_error(client_a.post("/api/v1/webhooks", body), 400, "invalid", fields)
    assert client_a.get("/api/v1/webhooks").json()["results"] == []


def test_private_and_http_urls_are_allowed_when_configured(client_a, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    assert register(client_a, "http://127.0.0.1:8080/hooks").status_code == 201
    settings.WEBHOOK_ALLOW_PRIVATE = False
    settings.DEBUG = True  # http in development, but still no private address
    assert register(client_a, "http://hooks.example.com/x").status_code == 201
    check_error(register(client_a, "http://127.0.0.1:8080/hooks"), 400, "invalid", {"url"})


def test_delete_a_webhook(client_a, client_b):
    webhook = register(client_a).json()
    check_error(client_b.client.delete(f"/api/v1/webhooks/{webhook['id']}"), 404, "not_found")
    assert client_a.client.delete(f"/api/v1/webhooks/{webhook['id']}").status_code == 204
    check_error(client_a.client.delete(f"/api/v1/webhooks/{webhook['id']}"), 404, "not_found")
    check_error(client_a.client.delete("/api/v1/webhooks/nope"), 404, "not_found")
    assert client_a.get("/api/v1/webhooks").json()["results"] == []


def test_another_fleets_webhooks_are_invisible(client_a, client_b):
    webhook = register(client_a).json()
    assert client_b.get("/api/v1/webhooks").json()["results"] == []
    check_error(client_b.get(f"/api/v1/webhooks/{webhook['id']}/deliveries"), 404, "not_found")


def test_deliveries_are_listed_per_webhook(client_a, no_network):
    webhook = register(client_a).json()
    other = register(client_a, events=["alert.escalated"]).json()
    post(client_a, log("EV-1", "2025-10-04T10:00:00Z", cells=HOT))
    (alert,) = alerts(client_a)
    client_a.post(f"/api/v1/alerts/{alert['id']}/acknowledge")  # not subscribed: no delivery
    client_a.post(f"/api/v1/alerts/{alert['id']}/resolve")
    body = client_a.get(f"/api/v1/webhooks/{webhook['id']}/deliveries").json()
    assert body["next"] is None
    assert [(d["event"], d["sequence"], d["status"], d["attempts"]) for d in body["results"]] == [
        ("alert.resolved", 3, "pending", 0),
        ("alert.opened", 1, "pending", 0),
    ]
    assert set(body["results"][0]) == {
        "id", "event", "sequence", "attempts", "status", "last_status_code", "next_attempt_at", "created_at",
    }  # fmt: skip
    assert sorted(map(str, no_network)) == sorted(d["id"] for d in body["results"])  # published after commit
    assert client_a.get(f"/api/v1/webhooks/{other['id']}/deliveries").json() == {"results": [], "next": None}
    check_error(client_a.get(f"/api/v1/webhooks/{webhook['id']}/deliveries?limit=0"), 400, "invalid", {"limit"})
