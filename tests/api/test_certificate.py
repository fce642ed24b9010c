"""GET /api/v1/vehicles/<vehicle_id>/certificate.pdf: the battery health certificate (fleet dashboard, issue 13)."""

import io
import re
from datetime import UTC, datetime, timedelta

import pytest
import yaml
from pypdf import PdfReader
from pypdf.generic import RectangleObject

from reports.certificate import soh_text
from tests.api.conftest import check_error
from tests.api.test_analytics import ageing_vehicle
from tests.api.test_report_lists import IMBALANCED
from tests.api.test_vehicles import HOT, log, post

PATH = "/api/v1/vehicles/{}/certificate.pdf"
A4_POINTS = (595.28, 841.89)


def _pdf_text(response) -> str:  # type: ignore[no-untyped-def]
    reader = PdfReader(io.BytesIO(response.content))
    assert len(reader.pages) == 1
    box: RectangleObject = reader.pages[0].mediabox
    assert (float(box.width), float(box.height)) == pytest.approx(A4_POINTS, abs=0.01)
    return " ".join(reader.pages[0].extract_text().split())  # one space between words, whatever the layout


def _days_ago(days: float) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).isoformat()


@pytest.fixture
def certified(client_a) -> str:
    """EV-H: 40 ageing logs in 2024, then, within the last 90 days, one hot, one hot and imbalanced and one clean
    (the latest, 2870 cycles), and one hot log 120 days ago; its registry filled in."""
    ageing_vehicle(client_a, "EV-H", logs=40)
    post(client_a, log("EV-H", _days_ago(120), current=55.0, cells=HOT, cycles=2600))
    post(client_a, log("EV-H", _days_ago(60), current=55.0, cells=HOT, cycles=2700))
    hot_and_imbalanced = [{**IMBALANCED[0], "temperature": 47.5}, IMBALANCED[1]]
    post(client_a, log("EV-H", _days_ago(30), current=55.0, cells=hot_and_imbalanced, cycles=2800))
    post(client_a, log("EV-H", _days_ago(1), current=54.9, cycles=2870))
    registry = {"vin": "1HGBH41JXMN109186", "model": "Model <Y> & Co", "manufacture_date": "2022-03-01"}
    assert client_a.put("/api/v1/vehicles/EV-H", registry).status_code == 200
    return "EV-H"


def test_the_certificate_is_an_a4_pdf_attachment_with_the_vehicles_figures(client_a, certified):
    before = datetime.now(UTC).date()
    response = client_a.get(PATH.format(certified))
    after = datetime.now(UTC).date()

    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    disposition = re.fullmatch(
        r'attachment; filename="battery-certificate-EV-H-(\d{4}-\d{2}-\d{2})\.pdf"', response["Content-Disposition"]
    )
    assert disposition, response["Content-Disposition"]
    issued = disposition.group(1)
    assert issued in {before.isoformat(), after.isoformat()}
    text = _pdf_text(response)
    health = client_a.get(f"/api/v1/vehicles/{certified}/health").json()
    vehicle = client_a.get(f"/api/v1/vehicles/{certified}").json()

    assert "Battery health certificate" in text
    assert f"Vehicle {certified}" in text
    assert f"issued {issued} (UTC)" in text
    assert "VIN 1HGBH41JXMN109186" in text
    assert "Model Model <Y> & Co" in text  # escaped for the PDF's markup, printed as entered
    assert "Manufacture date 2022-03-01" in text
    assert "Battery profile nmc" in text
    assert f"State of health (trend) {soh_text(health['soh_latest'])}" in text
    assert f"Latest measured SoH {soh_text(vehicle['latest']['battery_soh'])}" in text
    assert vehicle["latest"]["battery_soh"] == 91.5
    assert "Cycle count 2870" in text
    assert health["forecast"]["status"] == "ok"
    estimate = health["forecast"]["cycle_count"]["estimate"]
    assert f"Reaches 80 % SoH at about {estimate:,} cycles, around {health['forecast']['date']['estimate']}" in text
    assert f"80 % prediction interval: {health['forecast']['cycle_count']['low']:,} to" in text
    assert f"{health['forecast']['method']}, version {health['forecast']['version']}, over 44 logs" in text
    # The last 90 days: 3 reports, 2 hot, 1 imbalanced (the one 120 days ago is out).
    assert "among the 3 reports of the period" in text
    assert "Voltage imbalance 1 Overheating 2 Low state of health 0" in text
    assert "Report rules version 2026.11.1 (profile nmc)" in text


def test_the_chart_draws_the_measured_points_and_the_fitted_line(client_a, certified):
    response = client_a.get(PATH.format(certified))

    text = _pdf_text(response)
    assert "SoH over time" in text
    assert "measured SoH (each log) fitted trend end-of-life threshold" in text
    assert "2024-01-01" in text  # the x axis starts at the first log


def test_a_vehicle_with_one_log_gets_a_certificate_of_its_measurement(client_a):
    post(client_a, log("EV-1", _days_ago(2), current=48.0, cycles=412))

    text = _pdf_text(client_a.get(PATH.format("EV-1")))

    health = client_a.get("/api/v1/vehicles/EV-1/health").json()
    assert (health["soh_latest"], health["forecast"]["status"]) == (80.0, "insufficient_data")
    assert "State of health (trend) 80.00 %" in text
    assert "Cycle count 412" in text
    assert "low: 1 log(s), too few for a trend" in text
    assert "Too few logs or too short a span to forecast" in text
    assert "VIN not registered" in text


def test_a_vehicle_without_a_completed_report_is_409(client_a):
    assert client_a.put("/api/v1/vehicles/EV-NEW", {}).status_code == 201

    error = check_error(client_a.get(PATH.format("EV-NEW")), 409, "conflict")

    assert "no completed report yet" in error["message"]


def test_another_fleets_or_an_unknown_vehicle_is_404(client_a, client_b):
    post(client_b, log("EV-B", _days_ago(1)))

    check_error(client_a.get(PATH.format("EV-B")), 404, "not_found")
    check_error(client_a.get(PATH.format("EV-NONE")), 404, "not_found")
    assert client_b.get(PATH.format("EV-B")).status_code == 200


def test_the_certificate_needs_a_token(anon, client_a):
    post(client_a, log("EV-1", _days_ago(1)))

    check_error(anon.get(PATH.format("EV-1")), 401, "not_authenticated")


def test_a_client_that_accepts_only_pdf_gets_the_pdf_and_errors_in_json(client_a):
    post(client_a, log("EV-1", _days_ago(1)))

    assert client_a.get(PATH.format("EV-1"), HTTP_ACCEPT="application/pdf")["Content-Type"] == "application/pdf"
    check_error(client_a.get(PATH.format("EV-NONE"), HTTP_ACCEPT="application/pdf"), 404, "not_found")


def test_the_schema_describes_the_certificate(anon):
    schema = yaml.safe_load(anon.get("/api/v1/schema/").content)
    responses = schema["paths"]["/api/v1/vehicles/{vehicle_id}/certificate.pdf"]["get"]["responses"]

    assert list(responses["200"]["content"]) == ["application/pdf"]
    assert {"200", "401", "404", "409"} <= set(responses)
    assert "no completed report" in responses["409"]["description"]
