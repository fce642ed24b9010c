"""Contract section 3: POST /api/v1/diagnostics, GET /api/v1/diagnostics/<id>, GET /api/v1/reports/<id>.

Section 2's rules are unit-tested elsewhere; here: a completed report has exactly the listed keys and the
sample cases of shared/testdata/reports.json come out right over HTTP.
"""

import copy
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from reports.models import BatteryReport
from tests.conftest import load_cases
from vehicles.models import DiagnosticLog, ProcessingStatus, Vehicle

URL = "/api/v1/diagnostics"
REPORT_KEYS = {
    "log_id",
    "vehicle_id",
    "timestamp",
    "battery_soh",
    "cycle_count",
    "anomalies",
    "anomaly_details",
    "diagnostics",
    "status",
    "generated_at",
    # section 6: what produced the report
    "profile",
    "rules_version",
    "data_quality",
}
LOG_KEYS = {"vehicle_id", "timestamp", "cells", "cycle_count", "nominal_capacity_kwh", "current_capacity_kwh"}
DIAGNOSTICS_KEYS = {
    "cell_count",
    "voltage_min",
    "voltage_max",
    "voltage_spread_mv",
    "temperature_min",
    "temperature_max",
    "temperature_avg",
}
DETAIL_KEYS = {"code", "message", "value", "threshold", "unit", "cells"}


def parse_utc(text: str) -> datetime:
    """An ISO 8601 timestamp that must be in UTC (Z or +00:00)."""
    assert isinstance(text, str), text
    assert text.endswith(("Z", "+00:00")), text
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    assert value.utcoffset() == timedelta(0), text
    return value


def all_three_anomalies_log(make_log):  # type: ignore[no-untyped-def]
    return make_log(
        vehicle_id="EV-ANOMALIES",
        cells=[
            {"id": 0, "voltage": 4.0, "temperature": 30.0},
            {"id": 1, "voltage": 4.1, "temperature": 46.5},
            {"id": 2, "voltage": 3.9, "temperature": 50.5},
            {"id": 3, "voltage": 4.0, "temperature": 45.0},
        ],
        cycle_count=1500,
        nominal_capacity_kwh=60.0,
        current_capacity_kwh=45.0,
    )


# --- POST /api/v1/diagnostics --------------------------------------------------------------------------------


def test_post_answers_202_with_exactly_message_log_id_and_status(client_a, sample_log):
    response = client_a.post(URL, sample_log)
    assert response.status_code == 202, response.content
    body = response.json()
    assert set(body) == {"message", "log_id", "status"}
    assert body["message"] == "Diagnostic log received"
    assert body["status"] in ("processing", "completed")


def test_post_log_id_is_a_canonical_uuid(client_a, sample_log):
    log_id = client_a.post(URL, sample_log).json()["log_id"]
    assert str(uuid.UUID(log_id)) == log_id


def test_post_location_header_points_at_the_report(client_a, sample_log):
    response = client_a.post(URL, sample_log)
    assert response["Location"] == f"/api/v1/reports/{response.json()['log_id']}"


def test_post_in_process_mode_says_completed(client_a, sample_log):
    assert client_a.post(URL, sample_log).json()["status"] == "completed"


def test_post_whose_report_is_not_computed_yet_says_processing(api_a, sample_log):
    """api_a's transaction never commits, so the on-commit report computation never runs."""
    response = api_a.post(URL, sample_log)
    assert response.status_code == 202
    assert response.json()["status"] == "processing"


# --- GET /api/v1/reports/<id>: completed ------------------------------------------------------------------------


def test_completed_report_has_exactly_the_contract_keys(client_a, sample_log):
    log_id = client_a.post(URL, sample_log).json()["log_id"]
    response = client_a.get(f"/api/v1/reports/{log_id}")
    assert response.status_code == 200, response.content
    assert set(response.json()) == REPORT_KEYS


def test_completed_report_identifies_its_log(client_a, sample_log):
    log_id = client_a.post(URL, sample_log).json()["log_id"]
    report = client_a.get(f"/api/v1/reports/{log_id}").json()
    assert report["log_id"] == log_id
    assert report["vehicle_id"] == "EV-12345"
    assert report["status"] == "completed"
    assert report["cycle_count"] == 412
    assert parse_utc(report["timestamp"]) == datetime(2025, 10, 4, 10, 30, tzinfo=UTC)


def test_completed_report_of_the_contract_example(client_a, sample_log):
    log_id = client_a.post(URL, sample_log).json()["log_id"]
    report = client_a.get(f"/api/v1/reports/{log_id}").json()
    assert report["battery_soh"] == 91.5
    assert report["anomalies"] == []
    assert report["anomaly_details"] == []
    diagnostics = dict(report["diagnostics"])
    # The mean is 35.275, a tie at 2 decimals: half-even on the binary value (35.27) or half-up (35.28) are fine.
    assert diagnostics.pop("temperature_avg") in (35.27, 35.28)
    assert diagnostics == {
        "cell_count": 4,
        "voltage_min": 4.03,
        "voltage_max": 4.06,
        "voltage_spread_mv": 30.0,
        "temperature_min": 34.8,
        "temperature_max": 36.1,
    }


def test_report_timestamp_is_returned_in_utc_for_an_offset_input(client_a, make_log):
    log_id = client_a.post(URL, make_log(timestamp="2025-10-04T12:30:00+02:00")).json()["log_id"]
    report = client_a.get(f"/api/v1/reports/{log_id}").json()
    assert parse_utc(report["timestamp"]) == datetime(2025, 10, 4, 10, 30, tzinfo=UTC)


def test_report_timestamp_keeps_microseconds(client_a, make_log):
    log_id = client_a.post(URL, make_log(timestamp="2025-10-04T05:30:00.123456-05:00")).json()["log_id"]
    report = client_a.get(f"/api/v1/reports/{log_id}").json()
    assert parse_utc(report["timestamp"]) == datetime(2025, 10, 4, 10, 30, 0, 123456, tzinfo=UTC)


def test_report_generated_at_is_a_recent_utc_timestamp(client_a, sample_log):
    before = datetime.now(UTC)
    log_id = client_a.post(URL, sample_log).json()["log_id"]
    generated_at = parse_utc(client_a.get(f"/api/v1/reports/{log_id}").json()["generated_at"])
    assert before - timedelta(seconds=5) <= generated_at <= datetime.now(UTC) + timedelta(seconds=5)


def test_report_diagnostics_has_exactly_the_contract_keys(client_a, sample_log):
    log_id = client_a.post(URL, sample_log).json()["log_id"]
    assert set(client_a.get(f"/api/v1/reports/{log_id}").json()["diagnostics"]) == DIAGNOSTICS_KEYS


def test_anomaly_details_of_all_three_anomalies(client_a, make_log):
    log_id = client_a.post(URL, all_three_anomalies_log(make_log)).json()["log_id"]
    report = client_a.get(f"/api/v1/reports/{log_id}").json()
    assert report["anomalies"] == [
        "Voltage imbalance detected",
        "Overheating detected",
        "Low state of health detected",
    ]
    assert report["anomaly_details"] == [
        {
            "code": "voltage_imbalance",
            "message": "Voltage imbalance detected",
            "value": 200.0,
            "threshold": 50.0,
            "unit": "mV",
            "cells": [2, 1],
        },
        {
            "code": "overheating",
            "message": "Overheating detected",
            "value": 50.5,
            "threshold": 45.0,
            "unit": "°C",
            "cells": [1, 2],
        },
        {
            "code": "low_soh",
            "message": "Low state of health detected",
            "value": 75.0,
            "threshold": 80.0,
            "unit": "%",
            "cells": [],
        },
    ]


def test_anomaly_details_entries_have_exactly_the_contract_keys(client_a, make_log):
    log_id = client_a.post(URL, all_three_anomalies_log(make_log)).json()["log_id"]
    details = client_a.get(f"/api/v1/reports/{log_id}").json()["anomaly_details"]
    assert [set(d) for d in details] == [DETAIL_KEYS] * 3


def test_report_of_all_three_anomalies_scores_and_diagnostics(client_a, make_log):
    log_id = client_a.post(URL, all_three_anomalies_log(make_log)).json()["log_id"]
    report = client_a.get(f"/api/v1/reports/{log_id}").json()
    assert report["battery_soh"] == 75.0
    assert report["cycle_count"] == 1500
    assert report["diagnostics"] == {
        "cell_count": 4,
        "voltage_min": 3.9,
        "voltage_max": 4.1,
        "voltage_spread_mv": 200.0,
        "temperature_min": 30.0,
        "temperature_max": 50.5,
        "temperature_avg": 43.0,
    }


def _cells(*pairs):  # type: ignore[no-untyped-def]
    return [{"id": i, "voltage": v, "temperature": t} for i, (v, t) in enumerate(pairs)]


@pytest.mark.parametrize(
    ("overrides", "anomaly_details"),
    [
        pytest.param({"cells": _cells((4.15, 30.0), (4.10, 30.0))}, [], id="spread exactly 50 mV is no imbalance"),
        pytest.param(
            {"cells": _cells((4.10, 30.0), (4.151, 30.0))},
            [
                {
                    "code": "voltage_imbalance",
                    "message": "Voltage imbalance detected",
                    "value": 51.0,
                    "threshold": 50.0,
                    "unit": "mV",
                    "cells": [0, 1],
                }
            ],
            id="spread 51 mV is an imbalance, min cell first",
        ),
        pytest.param({"cells": _cells((4.0, 45.0), (4.0, 45))}, [], id="45.0 C is not overheating"),
        pytest.param(
            {"cells": _cells((4.0, 45.01), (4.0, 20.0), (4.0, 47.5))},
            [
                {
                    "code": "overheating",
                    "message": "Overheating detected",
                    "value": 47.5,
                    "threshold": 45.0,
                    "unit": "°C",
                    "cells": [0, 2],
                }
            ],
            id="every cell above 45 C listed ascending",
        ),
        pytest.param({"nominal_capacity_kwh": 40.2, "current_capacity_kwh": 32.16}, [], id="SoH exactly 80 is not low"),
        pytest.param(
            {"nominal_capacity_kwh": 100.0, "current_capacity_kwh": 79.99},
            [
                {
                    "code": "low_soh",
                    "message": "Low state of health detected",
                    "value": 79.99,
                    "threshold": 80.0,
                    "unit": "%",
                    "cells": [],
                }
            ],
            id="SoH 79.99 is low",
        ),
    ],
)
def test_anomaly_details_at_the_rule_boundaries(client_a, make_log, overrides, anomaly_details):
    log_id = client_a.post(URL, make_log(**overrides)).json()["log_id"]
    report = client_a.get(f"/api/v1/reports/{log_id}").json()
    assert report["anomaly_details"] == anomaly_details
    assert report["anomalies"] == [d["message"] for d in anomaly_details]


def test_battery_soh_is_capped_at_100(client_a, make_log):
    log_id = client_a.post(URL, make_log(nominal_capacity_kwh=60.0, current_capacity_kwh=72.0)).json()["log_id"]
    assert client_a.get(f"/api/v1/reports/{log_id}").json()["battery_soh"] == 100.0


def test_report_does_not_depend_on_the_order_cells_were_posted(client_a, sample_log, make_log):
    in_order = client_a.post(URL, all_three_anomalies_log(make_log)).json()["log_id"]
    shuffled = all_three_anomalies_log(make_log)
    shuffled["vehicle_id"] = "EV-SHUFFLED"
    shuffled["cells"] = [shuffled["cells"][i] for i in (3, 1, 0, 2)]
    other = client_a.post(URL, shuffled).json()["log_id"]
    first = client_a.get(f"/api/v1/reports/{in_order}").json()
    second = client_a.get(f"/api/v1/reports/{other}").json()
    for key in ("battery_soh", "anomalies", "anomaly_details", "diagnostics"):
        assert first[key] == second[key], key


# --- the shared sample cases ----------------------------------------------------------------------------------------

CASES = load_cases()


@pytest.mark.parametrize("case", [pytest.param(c, id=c["name"]) for c in CASES])
def test_sample_case_report_over_http(client_a, case):
    response = client_a.post(URL, case["log"])
    assert response.status_code == 202, response.content
    report = client_a.get(f"/api/v1/reports/{response.json()['log_id']}")
    assert report.status_code == 200, report.content
    body = report.json()
    expected = case["expected"]
    assert body["battery_soh"] == expected["battery_soh"]
    assert body["cycle_count"] == expected["cycle_count"]
    assert body["anomalies"] == expected["anomalies"]
    assert body["diagnostics"] == expected["diagnostics"]
    assert [d["message"] for d in body["anomaly_details"]] == expected["anomalies"]


def test_sample_cases_are_present():
    assert len(CASES) >= 1, "shared/testdata/reports.json is missing or empty"


# --- GET /api/v1/reports/<id>: not yet computed -----------------------------------------------------------------


def _stored_without_report(user, status: str = ProcessingStatus.PENDING) -> DiagnosticLog:  # type: ignore[no-untyped-def]
    vehicle = Vehicle.objects.create(vehicle_id="EV-PENDING", fleet=user.fleet)
    return DiagnosticLog.objects.create(
        vehicle=vehicle,
        timestamp=datetime(2025, 10, 4, 10, 30, tzinfo=UTC),
        cells=[{"id": 0, "voltage": 4.0, "temperature": 30.0}],
        cell_voltages=[4.0],
        cell_temperatures=[30.0],
        voltage_median=4.0,
        cycle_count=1,
        nominal_capacity_kwh=60.0,
        current_capacity_kwh=54.0,
        status=status,
    )


@pytest.mark.parametrize(
    "status",
    [pytest.param(ProcessingStatus.PENDING, id="pending"), pytest.param(ProcessingStatus.PROCESSING, id="processing")],
)
def test_report_not_yet_computed_answers_202_processing(api_a, user_atomic, status):
    log = _stored_without_report(user_atomic, status)
    response = api_a.get(f"/api/v1/reports/{log.pk}")
    assert response.status_code == 202, response.content
    assert response.json() == {"log_id": str(log.pk), "status": "processing"}


def test_report_not_yet_computed_has_a_retry_after_header(api_a, user_atomic):
    log = _stored_without_report(user_atomic)
    response = api_a.get(f"/api/v1/reports/{log.pk}")
    assert int(response["Retry-After"]) >= 1


def test_report_of_a_log_posted_but_not_yet_processed_is_202(api_a, sample_log):
    log_id = api_a.post(URL, sample_log).json()["log_id"]
    response = api_a.get(f"/api/v1/reports/{log_id}")
    assert response.status_code == 202, response.content
    assert response.json() == {"log_id": log_id, "status": "processing"}
    assert int(response["Retry-After"]) >= 1


def test_report_not_yet_computed_of_another_fleet_is_a_404(api_b, user_atomic, assert_error):
    log = _stored_without_report(user_atomic)
    assert_error(api_b.get(f"/api/v1/reports/{log.pk}"), 404, "not_found")


# --- GET /api/v1/diagnostics/<id> ---------------------------------------------------------------------------------


def test_stored_log_has_the_log_fields_log_id_and_received_at(api_a, sample_log):
    log_id = api_a.post(URL, sample_log).json()["log_id"]
    response = api_a.get(f"{URL}/{log_id}")
    assert response.status_code == 200, response.content
    body = response.json()
    assert LOG_KEYS | {"log_id", "received_at"} <= set(body)
    assert set(body) - LOG_KEYS - {"log_id", "received_at"} <= {"status"}, set(body)


def test_stored_log_is_the_log_as_validated(api_a, sample_log):
    log_id = api_a.post(URL, sample_log).json()["log_id"]
    body = api_a.get(f"{URL}/{log_id}").json()
    assert body["log_id"] == log_id
    assert body["vehicle_id"] == sample_log["vehicle_id"]
    assert parse_utc(body["timestamp"]) == datetime(2025, 10, 4, 10, 30, tzinfo=UTC)
    assert body["cells"] == sample_log["cells"]
    assert body["cycle_count"] == 412
    assert body["nominal_capacity_kwh"] == 60.0
    assert body["current_capacity_kwh"] == 54.9


def test_stored_log_has_cells_sorted_by_id(api_a, sample_log):
    shuffled = copy.deepcopy(sample_log)
    shuffled["cells"] = [shuffled["cells"][i] for i in (2, 0, 3, 1)]
    log_id = api_a.post(URL, shuffled).json()["log_id"]
    body = api_a.get(f"{URL}/{log_id}").json()
    assert body["cells"] == sample_log["cells"]


def test_stored_log_cells_sorted_numerically_not_as_text(api_a, make_log):
    cells = [{"id": i, "voltage": 4.0, "temperature": 20.0 + i} for i in (10, 2, 1, 0, 9, 11, 3, 4, 5, 6, 7, 8)]
    log_id = api_a.post(URL, make_log(cells=cells)).json()["log_id"]
    body = api_a.get(f"{URL}/{log_id}").json()
    assert [c["id"] for c in body["cells"]] == list(range(12))
    assert [c["temperature"] for c in body["cells"]] == [20.0 + i for i in range(12)]


def test_stored_log_timestamp_is_the_utc_instant_of_an_offset_input(api_a, make_log):
    log_id = api_a.post(URL, make_log(timestamp="2025-10-04T12:30:00+02:00")).json()["log_id"]
    body = api_a.get(f"{URL}/{log_id}").json()
    assert parse_utc(body["timestamp"]) == datetime(2025, 10, 4, 10, 30, tzinfo=UTC)


def test_stored_log_received_at_is_a_recent_utc_timestamp(api_a, sample_log):
    log_id = api_a.post(URL, sample_log).json()["log_id"]
    received_at = parse_utc(api_a.get(f"{URL}/{log_id}").json()["received_at"])
    assert abs(received_at - datetime.now(UTC)) < timedelta(minutes=1)


def test_stored_log_keeps_the_first_posting_after_a_retry(api_a, sample_log):
    log_id = api_a.post(URL, sample_log).json()["log_id"]
    first = api_a.get(f"{URL}/{log_id}").json()
    reordered = copy.deepcopy(sample_log)
    reordered["cells"].reverse()
    api_a.post(URL, reordered)
    assert api_a.get(f"{URL}/{log_id}").json() == first


def test_report_and_stored_log_agree_on_identity(client_a, make_log):
    log_id = client_a.post(URL, make_log(timestamp="2025-10-04T12:30:00+02:00")).json()["log_id"]
    log = client_a.get(f"{URL}/{log_id}").json()
    report = client_a.get(f"/api/v1/reports/{log_id}").json()
    assert (report["log_id"], report["vehicle_id"], report["cycle_count"]) == (
        log["log_id"],
        log["vehicle_id"],
        log["cycle_count"],
    )
    assert parse_utc(report["timestamp"]) == parse_utc(log["timestamp"])


def test_a_retry_of_a_failed_log_says_failed_and_its_report_gives_the_reason(client_a, sample_log):
    log_id = client_a.post("/api/v1/diagnostics", sample_log).json()["log_id"]
    BatteryReport.objects.filter(pk=log_id).delete()
    DiagnosticLog.objects.filter(pk=log_id).update(status="failed", error="Gave up after 8 attempts.")
    retry = client_a.post("/api/v1/diagnostics", sample_log)
    assert retry.status_code == 200
    assert retry.json() == {"message": "Diagnostic log received", "log_id": log_id, "status": "failed"}
    report = client_a.get(f"/api/v1/reports/{log_id}")
    assert report.status_code == 200
    assert report.json() == {"log_id": log_id, "status": "failed", "error": "Gave up after 8 attempts."}
