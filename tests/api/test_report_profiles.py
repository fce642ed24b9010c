"""Contract section 6: every report records its profile, the rules' version and its data-quality flags; the
vehicle's profile chooses the thresholds (nmc is exactly section 2)."""

from datetime import UTC, datetime, timedelta

import pytest

from analytics.domain.profiles import LFP, NMC, RULES_VERSION
from tests.api.test_vehicles import log, post

SPREAD_40_MV = [{"id": 0, "voltage": 3.30, "temperature": 30.0}, {"id": 1, "voltage": 3.34, "temperature": 30.5}]


def _now(minus_hours: float = 0) -> str:
    return (datetime.now(UTC) - timedelta(hours=minus_hours)).isoformat()


def test_a_report_records_its_profile_rules_version_and_data_quality(client_a):
    report = client_a.get(f"/api/v1/reports/{post(client_a, log('EV-1', _now(1)))}").json()

    assert (report["profile"], report["rules_version"], report["data_quality"]) == ("nmc", RULES_VERSION, {"flags": []})


@pytest.mark.parametrize(("profile", "anomalies"), [("nmc", []), ("lfp", ["Voltage imbalance detected"])])
def test_the_vehicles_profile_chooses_the_thresholds(client_a, profile, anomalies):
    client_a.put("/api/v1/vehicles/EV-P", {"profile": profile})

    report = client_a.get(f"/api/v1/reports/{post(client_a, log('EV-P', _now(1), cells=SPREAD_40_MV))}").json()

    assert report["anomalies"] == anomalies
    assert report["profile"] == profile
    threshold = {"nmc": NMC, "lfp": LFP}[profile].voltage_imbalance_threshold_mv
    if anomalies:
        assert report["anomaly_details"][0]["threshold"] == threshold == 30.0


def test_an_old_report_keeps_the_profile_that_produced_it(client_a):
    first = post(client_a, log("EV-P", _now(2), cells=SPREAD_40_MV))
    client_a.put("/api/v1/vehicles/EV-P", {"profile": "lfp"})
    second = post(client_a, log("EV-P", _now(1), cells=SPREAD_40_MV))

    old, new = (client_a.get(f"/api/v1/reports/{log_id}").json() for log_id in (first, second))

    assert (old["profile"], old["anomalies"]) == ("nmc", [])
    assert (new["profile"], new["anomalies"]) == ("lfp", ["Voltage imbalance detected"])


def test_data_quality_flags_reach_the_report_and_the_lists(client_a):
    suspect = [{"id": n, "voltage": 4.05, "temperature": 30.0} for n in range(9)] + [
        {"id": 9, "voltage": 0.0, "temperature": 30.0}  # a broken sense wire
    ]
    log_id = post(client_a, log("EV-Q", _now(30), current=61.0, cells=suspect))

    flags = client_a.get(f"/api/v1/reports/{log_id}").json()["data_quality"]["flags"]
    listed = client_a.get("/api/v1/vehicles/EV-Q/reports").json()["results"][0]["data_quality"]["flags"]

    assert flags == listed == ["late_upload", "capacity_above_nominal", "cell_out_of_profile_range", "suspect_sensor"]
