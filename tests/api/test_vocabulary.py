"""GET /api/v1/vocabulary (an addition beyond API.md): every code the API speaks with its label, served from
common.vocabulary, the one place the codes are written; and the dashboard's fixture of it kept equal."""

import json
from pathlib import Path

import pytest

from alerts import rules as alert_rules
from alerts.models import AlertState, AlertType, DeliveryStatus, Resolution, Severity, WebhookEvent
from analytics.domain import cells, profiles, quality
from common import vocabulary
from common.openapi import ERROR_CODES as SCHEMA_ERROR_CODES
from reports.health import rules as health_rules
from tests.api.conftest import ERROR_CODES as CONTRACT_ERROR_CODES
from tests.api.conftest import check_error
from tests.api.test_device_credentials import device_client
from vehicles.models import AnomalyCode, BatteryProfile, ProcessingStatus

PATH = "/api/v1/vocabulary"
FIXTURE = Path(__file__).resolve().parents[2] / "frontend" / "src" / "testing" / "vocabulary.json"


def test_the_answer_is_the_vocabulary_module(client_a):
    response = client_a.get(PATH)

    assert response.status_code == 200
    body = response.json()
    assert body == vocabulary.vocabulary_as_dict()
    assert list(body) == [*vocabulary.GROUPS, "default_profile"]


def test_the_answer_names_the_contracts_codes_labels_and_thresholds(client_a):
    body = client_a.get(PATH).json()

    assert body["anomalies"] == [
        {
            "code": "voltage_imbalance",
            "label": "Voltage imbalance",
            "short": "Voltage imbalance",
            "description": "",
            "message": "Voltage imbalance detected",
            "unit": "mV",
        },
        {
            "code": "overheating",
            "label": "Overheating",
            "short": "Overheating",
            "description": "",
            "message": "Overheating detected",
            "unit": "°C",
        },
        {
            "code": "low_soh",
            "label": "Low state of health",
            "short": "Low SoH",
            "description": "",
            "message": "Low state of health detected",
            "unit": "%",
        },
    ]
    thresholds = {
        term["code"]: tuple(
            term[name] for name in ("voltage_imbalance_threshold_mv", "overheat_threshold_c", "low_soh_threshold_pct")
        )
        for term in body["profiles"]
    }
    assert thresholds == {"nmc": (50.0, 45.0, 80.0), "lfp": (30.0, 45.0, 80.0)}
    assert body["default_profile"] == "nmc"
    codes = {group: [term["code"] for term in body[group]] for group in vocabulary.GROUPS}
    assert codes["alert_types"] == ["voltage_imbalance", "overheating", "low_soh", "weak_cell", "soh_jump"]
    assert codes["severities"] == ["warning", "critical"]
    assert codes["alert_states"] == ["open", "acknowledged", "resolved"]
    assert codes["resolutions"] == ["auto", "manual"]
    assert codes["webhook_events"] == [
        "alert.opened",
        "alert.updated",
        "alert.escalated",
        "alert.acknowledged",
        "alert.resolved",
    ]
    assert codes["delivery_statuses"] == ["pending", "delivered", "failed"]
    assert codes["forecast_statuses"] == ["ok", "insufficient_data", "reached", "beyond_horizon"]
    assert codes["cell_levels"] == ["alert", "warn", "ok"]
    assert codes["cell_reasons"] == ["low_voltage", "high_voltage", "voltage_drift", "hot"]
    assert codes["data_quality_flags"] == [
        "late_upload",
        "capacity_above_nominal",
        "cell_out_of_profile_range",
        "suspect_sensor",
    ]
    assert codes["processing_statuses"] == ["pending", "processing", "completed", "failed"]
    assert codes["bulk_item_statuses"] == ["created", "duplicate", "conflict", "invalid", "forbidden"]
    assert set(codes["error_codes"]) == CONTRACT_ERROR_CODES


def test_the_rules_models_and_schema_use_the_vocabularys_codes():
    anomalies = vocabulary.codes(vocabulary.ANOMALIES)
    assert anomalies == (health_rules.VOLTAGE_IMBALANCE_CODE, health_rules.OVERHEATING_CODE, health_rules.LOW_SOH_CODE)
    assert tuple(term.message for term in vocabulary.ANOMALIES) == health_rules.ANOMALY_MESSAGES
    assert anomalies == alert_rules.REPORT_TYPES
    assert tuple(AnomalyCode.values) == anomalies
    assert alert_rules.ALERT_TYPES == tuple(AlertType.values) == vocabulary.codes(vocabulary.ALERT_TYPES)
    assert alert_rules.SEVERITIES == tuple(Severity.values) == vocabulary.codes(vocabulary.SEVERITIES)
    assert alert_rules.STATES == tuple(AlertState.values) == vocabulary.codes(vocabulary.ALERT_STATES)
    assert alert_rules.RESOLUTIONS == tuple(Resolution.values) == vocabulary.codes(vocabulary.RESOLUTIONS)
    assert alert_rules.EVENTS == tuple(WebhookEvent.values) == vocabulary.codes(vocabulary.WEBHOOK_EVENTS)
    assert tuple(DeliveryStatus.values) == vocabulary.codes(vocabulary.DELIVERY_STATUSES)
    assert tuple(ProcessingStatus.values) == vocabulary.codes(vocabulary.PROCESSING_STATUSES)
    assert vocabulary.codes(vocabulary.DATA_QUALITY_FLAGS) == quality.FLAG_ORDER
    assert (
        vocabulary.codes(vocabulary.CELL_LEVELS),
        vocabulary.codes(vocabulary.CELL_REASONS),
    ) == (cells.LEVELS, cells.REASONS)
    assert BatteryProfile.choices == [(term.code, term.label) for term in vocabulary.PROFILES]
    assert tuple(profiles.PROFILES) == vocabulary.codes(vocabulary.PROFILES)
    for term in vocabulary.PROFILES:
        profile = profiles.PROFILES[term.code]
        assert (
            profile.voltage_imbalance_threshold_mv,
            profile.overheat_threshold_c,
            profile.low_soh_threshold_pct,
        ) == (term.voltage_imbalance_threshold_mv, term.overheat_threshold_c, term.low_soh_threshold_pct)
    assert vocabulary.codes(vocabulary.ERROR_CODES) == SCHEMA_ERROR_CODES


def test_the_dashboards_fixture_is_the_answer(client_a):
    # `make frontend-schema` rewrites it (manage.py vocabulary_json); a stale file fails here.
    assert json.loads(FIXTURE.read_text(encoding="utf-8")) == client_a.get(PATH).json()


def test_the_schema_describes_it(anon):
    import yaml

    schema = yaml.safe_load(anon.get("/api/v1/schema/").content)
    answer = schema["paths"][PATH]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    component = schema["components"]["schemas"][answer["$ref"].rsplit("/", 1)[1]]
    assert set(component["properties"]) == {*vocabulary.GROUPS, "default_profile"}
    enums = schema["components"]["schemas"]
    assert enums["AlertTypeEnum"]["enum"] == list(vocabulary.codes(vocabulary.ALERT_TYPES))
    assert enums["AnomalyDetailCodeEnum"]["enum"] == list(vocabulary.codes(vocabulary.ANOMALIES))


@pytest.mark.django_db
def test_it_needs_a_fleet_user(anon):
    check_error(anon.get(PATH), 401, "not_authenticated")


def test_a_device_credential_may_not_read_it(api_a, sample_log):
    assert api_a.post("/api/v1/diagnostics", sample_log).status_code == 202
    token = api_a.post("/api/v1/vehicles/EV-12345/credentials", {}).json()["token"]

    check_error(device_client(token).get(PATH), 403, "permission_denied")
