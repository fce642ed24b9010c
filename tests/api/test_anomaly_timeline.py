"""GET /api/v1/fleet/anomaly-timeline: the fleet's reports and anomalies per UTC day (fleet dashboard, issue 13)."""

from datetime import UTC, date, datetime, timedelta

import pytest
import yaml

from reports.selectors import fleet_anomaly_timeline
from tests.api.conftest import check_error
from tests.api.test_report_lists import IMBALANCED
from tests.api.test_vehicles import COOL, HOT, log, post

CODES = ("voltage_imbalance", "overheating", "low_soh")


def _midnight(days_ago: int) -> datetime:
    today = datetime.now(UTC).date()
    return datetime(today.year, today.month, today.day, tzinfo=UTC) - timedelta(days=days_ago)


@pytest.fixture
def timeline_logs(client_a, client_b) -> list[tuple[datetime, set[str]]]:
    """Fleet A's logs as (instant, codes of its report); fleet B posts one today that A must not count."""
    yesterday_2330 = _midnight(0) - timedelta(minutes=30)
    logs = [
        # (vehicle, timestamp as posted, current capacity, cells, codes of the report)
        ("EV-1", _midnight(0).isoformat(), 42.0, HOT, {"overheating", "low_soh"}),  # today's first instant
        ("EV-1", (_midnight(0) - timedelta(microseconds=1)).isoformat(), 54.0, IMBALANCED, {"voltage_imbalance"}),
        # 23:30 UTC yesterday, posted as 01:30 today at +02:00: yesterday's bucket
        ("EV-2", (yesterday_2330 + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S+02:00"), 54.0, HOT, {"overheating"}),
        ("EV-2", _midnight(1).isoformat(), 54.0, HOT, {"overheating"}),
        ("EV-1", (_midnight(2) + timedelta(hours=12)).isoformat(), 54.0, HOT, {"overheating"}),
        ("EV-3", (_midnight(2) + timedelta(hours=13)).isoformat(), 54.0, IMBALANCED, {"voltage_imbalance"}),
        ("EV-3", (_midnight(29) + timedelta(hours=1)).isoformat(), 45.0, IMBALANCED, {"voltage_imbalance", "low_soh"}),
        ("EV-3", (_midnight(30) + timedelta(hours=1)).isoformat(), 54.0, HOT, {"overheating"}),  # the 31st day back
        ("EV-1", _midnight(365).isoformat(), 54.0, HOT, {"overheating"}),  # the 366th day back
        ("EV-4", (_midnight(1) + timedelta(hours=5)).isoformat(), 54.0, COOL, set()),  # clean
    ]
    posted = []
    for vehicle_id, at, current, cells, codes in logs:
        post(client_a, log(vehicle_id, at, current=current, cells=cells))
        posted.append((datetime.fromisoformat(at), codes))
    post(client_b, log("EV-B", _midnight(0).isoformat(), current=42.0, cells=HOT))
    return posted


def _expected(posted: list[tuple[datetime, set[str]]], first: date, last: date) -> list[dict[str, object]]:
    """The buckets the contract asks for, worked out from the posted logs' UTC days."""
    buckets = []
    day = first
    while day <= last:
        on_day = [codes for instant, codes in posted if instant.astimezone(UTC).date() == day]
        buckets.append(
            {
                "date": day.isoformat(),
                "reports": len(on_day),
                "anomalies": {code: sum(code in codes for codes in on_day) for code in CODES},
            }
        )
        day += timedelta(days=1)
    return buckets


def _today_of(body: dict[str, object]) -> date:
    # The answer's own today (its last bucket), so a run across midnight UTC checks the window it was given.
    return date.fromisoformat(body["buckets"][-1]["date"])  # type: ignore[index]


def test_the_timeline_counts_each_utc_day_of_the_last_30(client_a, timeline_logs):
    response = client_a.get("/api/v1/fleet/anomaly-timeline")

    assert response.status_code == 200, response.content
    body = response.json()
    today = _today_of(body)
    assert today in {datetime.now(UTC).date(), datetime.now(UTC).date() - timedelta(days=1)}
    assert body["days"] == 30
    assert len(body["buckets"]) == 30
    assert body["buckets"] == _expected(timeline_logs, today - timedelta(days=29), today)


def test_the_timelines_figures_are_exact_at_a_given_instant(client_a, client_b, user):
    """The selector at a fixed `now`, written out by hand: UTC days, offsets, the window's edges, other fleets."""
    for vehicle_id, at, current, cells in [
        ("EV-1", "2025-10-03T23:59:59.999999Z", 54.0, IMBALANCED),  # before the window
        ("EV-1", "2025-10-04T00:00:00Z", 54.0, HOT),
        ("EV-2", "2025-10-04T01:30:00+02:00", 45.0, IMBALANCED),  # 23:30 UTC on the 3rd: before the window
        ("EV-2", "2025-10-05T01:30:00+02:00", 45.0, IMBALANCED),  # 23:30 UTC on the 4th
        ("EV-1", "2025-10-05T12:00:00Z", 54.0, COOL),
        ("EV-1", "2025-10-06T23:59:59.999999Z", 42.0, HOT),
        ("EV-1", "2025-10-07T00:00:00Z", 54.0, HOT),  # after today
    ]:
        post(client_a, log(vehicle_id, at, current=current, cells=cells))
    post(client_b, log("EV-B", "2025-10-05T12:00:00Z", current=42.0, cells=HOT))  # another fleet's

    answer = fleet_anomaly_timeline(fleet_id=user.fleet_id, days=3, now=datetime(2025, 10, 6, 21, 0, tzinfo=UTC))

    assert answer == {
        "days": 3,
        "buckets": [
            {"date": "2025-10-04", "reports": 2, "anomalies": {"voltage_imbalance": 1, "overheating": 1, "low_soh": 1}},
            {"date": "2025-10-05", "reports": 1, "anomalies": {"voltage_imbalance": 0, "overheating": 0, "low_soh": 0}},
            {"date": "2025-10-06", "reports": 1, "anomalies": {"voltage_imbalance": 0, "overheating": 1, "low_soh": 1}},
        ],
    }


@pytest.mark.parametrize("days", [1, 31, 365])
def test_days_sets_the_window(client_a, timeline_logs, days):
    body = client_a.get(f"/api/v1/fleet/anomaly-timeline?days={days}").json()

    today = _today_of(body)
    assert body["days"] == days
    assert body["buckets"] == _expected(timeline_logs, today - timedelta(days=days - 1), today)


def test_a_fleet_without_reports_has_every_day_at_zero(client_b):
    body = client_b.get("/api/v1/fleet/anomaly-timeline?days=7").json()

    today = _today_of(body)
    assert body == {
        "days": 7,
        "buckets": [
            {
                "date": (today - timedelta(days=6 - n)).isoformat(),
                "reports": 0,
                "anomalies": {"voltage_imbalance": 0, "overheating": 0, "low_soh": 0},
            }
            for n in range(7)
        ],
    }


@pytest.mark.parametrize("value", ["0", "366", "abc", "-1", "1.5", "", " 7", "٣"])
def test_days_is_validated(api_a, value):
    check_error(api_a.get("/api/v1/fleet/anomaly-timeline", data={"days": value}), 400, "invalid", {"days"})


def test_the_timeline_needs_a_token(anon):
    check_error(anon.get("/api/v1/fleet/anomaly-timeline"), 401, "not_authenticated")


def test_the_schema_describes_the_timeline(anon):
    schema = yaml.safe_load(anon.get("/api/v1/schema/").content)
    operation = schema["paths"]["/api/v1/fleet/anomaly-timeline"]["get"]

    (days,) = operation["parameters"]
    assert (days["name"], days["in"], days["schema"]) == (
        "days",
        "query",
        {"type": "integer", "minimum": 1, "maximum": 365},
    )
    assert {"200", "400", "401"} <= set(operation["responses"])
    bucket = schema["components"]["schemas"]["TimelineBucket"]
    assert set(bucket["properties"]) == {"date", "reports", "anomalies"}
