"""Contract section 5: a vehicle's reports, the fleet's reports, their CSV export and the fleet summary."""

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest

from reports.exports import CSV_HEADER, spreadsheet_safe
from tests.api.conftest import check_error
from tests.api.test_vehicles import HOT, log, post

IMBALANCED = [{"id": 0, "voltage": 4.15, "temperature": 30.0}, {"id": 1, "voltage": 4.0, "temperature": 29.5}]


@pytest.fixture
def history(client_a) -> dict[str, str]:
    """EV-1: four logs an hour apart (the third hot, the fourth worn); EV-2: one imbalanced log."""
    ids = {
        "t0": post(client_a, log("EV-1", "2025-10-04T10:00:00Z", current=54.0)),
        "t1": post(client_a, log("EV-1", "2025-10-04T11:00:00Z", current=53.5)),
        "t2": post(client_a, log("EV-1", "2025-10-04T12:00:00Z", current=53.0, cells=HOT)),
        "t3": post(client_a, log("EV-1", "2025-10-04T13:00:00Z", current=45.0)),
        "ev2": post(client_a, log("EV-2", "2025-10-04T11:30:00Z", cells=IMBALANCED)),
    }
    return ids


def _log_ids(response) -> list[str]:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.content
    return [report["log_id"] for report in response.json()["results"]]


def test_a_vehicles_reports_come_newest_first_shaped_as_the_report_endpoint(client_a, history):
    body = client_a.get("/api/v1/vehicles/EV-1/reports").json()

    assert [report["log_id"] for report in body["results"]] == [history[key] for key in ("t3", "t2", "t1", "t0")]
    assert body["next"] is None
    assert body["results"][1] == client_a.get(f"/api/v1/reports/{history['t2']}").json()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("since=2025-10-04T11:00:00Z", ["t3", "t2", "t1"]),  # since is inclusive
        ("until=2025-10-04T12:00:00Z", ["t1", "t0"]),  # until is exclusive
        ("since=2025-10-04T12:00:00%2B01:00&until=2025-10-04T12:00:00Z", ["t1"]),
        ("since=2025-10-04T12:00:00+01:00&until=2025-10-04T12:00:00Z", ["t1"]),  # an unencoded + (a space)
        ("since=2025-10-04T12:00:00Z&until=2025-10-04T12:00:00Z", []),
        ("anomaly=overheating", ["t2"]),
        ("anomaly=low_soh", ["t3"]),
        ("anomaly=voltage_imbalance", []),
    ],
)
def test_a_vehicles_reports_filter_by_time_and_anomaly(client_a, history, query, expected):
    assert _log_ids(client_a.get(f"/api/v1/vehicles/EV-1/reports?{query}")) == [history[key] for key in expected]


def test_a_vehicles_reports_page_through_once(client_a, history):
    seen: list[str] = []
    url: str | None = "/api/v1/vehicles/EV-1/reports?limit=3"
    while url:
        page = client_a.get(url).json()
        seen += [report["log_id"] for report in page["results"]]
        url = page["next"]
    assert seen == [history[key] for key in ("t3", "t2", "t1", "t0")]


def test_another_fleets_or_an_unknown_vehicles_reports_are_404(client_a, client_b, history):
    check_error(client_b.get("/api/v1/vehicles/EV-1/reports"), 404, "not_found")
    check_error(client_a.get("/api/v1/vehicles/EV-NONE/reports"), 404, "not_found")
    assert client_b.get("/api/v1/reports").json()["results"] == []


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["t3", "t2", "ev2", "t1", "t0"]),
        ("vehicle_id=EV-2", ["ev2"]),
        ("vehicle_id=EV-NONE", []),
        ("anomaly=voltage_imbalance", ["ev2"]),
        ("soh_lt=89", ["t3", "t2"]),  # 75 and 88.33; t1 is 89.17
        ("since=2025-10-04T11:00:00Z&until=2025-10-04T12:00:00Z", ["ev2", "t1"]),
    ],
)
def test_the_fleets_reports_filter(client_a, history, query, expected):
    assert _log_ids(client_a.get(f"/api/v1/reports?{query}")) == [history[key] for key in expected]


@pytest.mark.parametrize(
    ("path", "query", "parameter"),
    [
        ("/api/v1/reports", "since=2025-10-04", "since"),  # a date alone has no offset
        ("/api/v1/reports", "since=2025-10-04T10:00:00", "since"),  # naive
        ("/api/v1/reports", "until=yesterday", "until"),
        ("/api/v1/reports", "since=0001-01-01T00:00:00%2B01:00", "since"),  # before year 1 in UTC
        ("/api/v1/reports", "since=2025-10-05T00:00:00Z&until=2025-10-04T00:00:00Z", "since"),
        ("/api/v1/reports", "anomaly=fire", "anomaly"),
        ("/api/v1/reports", "soh_lt=high", "soh_lt"),
        ("/api/v1/reports", "limit=0", "limit"),
        ("/api/v1/reports", "cursor=abc", "cursor"),
        ("/api/v1/vehicles/EV-1/reports", "until=2025-13-01T00:00:00Z", "until"),
        ("/api/v1/vehicles/EV-1/reports", "limit=1000", "limit"),
        ("/api/v1/reports.csv", "since=bad", "since"),
        ("/api/v1/reports.csv", "anomaly=fire", "anomaly"),
    ],
)
def test_a_bad_report_list_parameter_is_a_400_naming_it(client_a, history, path, query, parameter):
    check_error(client_a.get(f"{path}?{query}"), 400, "invalid", {parameter})


@pytest.mark.parametrize(
    ("since", "status"),
    [("2000-01-01T00:00:00%2B16:00", 200), ("0103-06-23T02:24:09-23:53", 200), ("9999-12-31T23:00:00-23:00", 400)],
)
def test_offsets_postgresql_would_refuse_are_read_in_utc(client_a, history, since, status):
    """Seen by Schemathesis: ±16:00 and beyond are ISO 8601 but not PostgreSQL offsets (a 500, and a CSV
    cut mid-stream, before); past year 9999 in UTC is a 400 naming since."""
    listed = client_a.get(f"/api/v1/reports?since={since}")
    exported = client_a.get(f"/api/v1/reports.csv?since={since}&soh_lt=0.0")
    if status == 400:
        check_error(listed, 400, "invalid", {"since"})
        check_error(exported, 400, "invalid", {"since"})
    else:
        assert len(listed.json()["results"]) == 5
        assert b"".join(exported.streaming_content).decode().splitlines() == [",".join(CSV_HEADER)]


def test_a_csv_error_is_json_even_when_the_client_asks_for_csv(client_a, history):
    check_error(client_a.get("/api/v1/reports.csv?anomaly=fire", HTTP_ACCEPT="text/csv"), 400, "invalid", {"anomaly"})


def _csv(response) -> list[list[str]]:  # type: ignore[no-untyped-def]
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    text = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(text)))


def test_the_csv_export_has_the_header_and_one_row_per_report(client_a, history):
    rows = _csv(client_a.get("/api/v1/reports.csv", HTTP_ACCEPT="text/csv"))

    assert rows[0] == [
        "log_id",
        "vehicle_id",
        "timestamp",
        "battery_soh",
        "cycle_count",
        "anomalies",
        "voltage_spread_mv",
        "temperature_max",
    ]
    assert [row[0] for row in rows[1:]] == [history[key] for key in ("t3", "t2", "ev2", "t1", "t0")]
    assert rows[2] == [
        history["t2"],
        "EV-1",
        "2025-10-04T12:00:00.000000Z",
        "88.33",
        "100",
        "overheating",
        "10.0",
        "50.0",
    ]
    assert rows[1][5] == "low_soh"
    assert rows[3][5] == "voltage_imbalance"
    assert rows[4][5] == ""


def test_the_csv_export_takes_the_list_filters(client_a, history):
    rows = _csv(client_a.get("/api/v1/reports.csv?vehicle_id=EV-1&since=2025-10-04T12:00:00Z"))
    assert [row[0] for row in rows[1:]] == [history["t3"], history["t2"]]


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1+1", "'+1+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("-5.5", "-5.5"),  # a plain negative number stays a number
        ("EV-1", "EV-1"),
        (-5.5, -5.5),
        (12, 12),
    ],
)
def test_no_value_is_written_as_a_formula(value, written):
    assert spreadsheet_safe(value) == written


# --- the fleet summary -------------------------------------------------------------------------------------------


def _recent(hours_ago: float) -> str:
    return (datetime.now(UTC) - timedelta(hours=hours_ago)).isoformat()


def test_the_fleet_summary(client_a, client_b):
    post(client_a, log("EV-1", _recent(1), current=54.0))  # 90 %
    post(client_a, log("EV-2", _recent(2), current=42.0, cells=HOT))  # 70 %, overheating and low SoH
    post(client_a, log("EV-3", _recent(50), current=60.0, cells=IMBALANCED))  # 100 %, 2 days ago
    client_a.put("/api/v1/vehicles/EV-4", {})  # no log
    post(client_b, log("EV-B", _recent(1), current=30.0))  # another fleet's

    day = client_a.get("/api/v1/fleet/summary").json()
    week = client_a.get("/api/v1/fleet/summary?window=7d").json()

    assert (day["vehicles"], day["reporting"], week["reporting"]) == (4, 2, 3)
    assert day["anomalies"] == {"voltage_imbalance": 0, "overheating": 1, "low_soh": 1}
    assert week["anomalies"] == {"voltage_imbalance": 1, "overheating": 1, "low_soh": 1}
    bins = {(b["from"], b["to"]): b["count"] for b in day["soh_histogram"]}
    assert len(bins) == 20
    assert (bins[(70, 75)], bins[(90, 95)], bins[(95, 100)], sum(bins.values())) == (1, 1, 1, 3)
    assert [vehicle["vehicle_id"] for vehicle in day["worst"]] == ["EV-2", "EV-1", "EV-3"]
    assert day["worst"][0] == client_a.get("/api/v1/vehicles/EV-2").json()
    # EV-2 overheating at 50 °C and low SoH at exactly 70 %, EV-3 imbalanced: warnings (EV-B is critical, not ours)
    assert day["open_alerts"] == {"warning": 3, "critical": 0}


def test_the_fleet_summary_window_is_validated(client_a):
    check_error(client_a.get("/api/v1/fleet/summary?window=1y"), 400, "invalid", {"window"})
