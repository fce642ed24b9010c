"""reports.certificate: the certificate drawn from plain data, without a database."""

import io
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from pypdf import PdfReader

from reports.certificate import CertificateData, certificate_filename, certificate_pdf

START = datetime(2025, 1, 1, tzinfo=UTC)
NO_ESTIMATE = {"estimate": None, "low": None, "high": None}


def _health(*, status: str = "ok", points: int = 30, jumps: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    series = [
        {
            "log_id": f"log-{n}",
            "timestamp": (START + timedelta(days=10 * n)).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "cycle_count": 30 * n,
            "battery_soh": round(97.0 - 0.05 * n, 2),
            "fitted": round(97.0 - 0.05 * n, 2),
        }
        for n in range(points)
    ]
    ok = status == "ok"
    return {
        "logs_used": points,
        "soh_latest": series[-1]["fitted"],
        "fade": {"percent_per_1000_cycles": 1.67, "percent_per_year": 1.83},
        "forecast": {
            "status": status,
            "threshold_soh": 80.0,
            "interval": 0.8,
            "cycle_count": {"estimate": 11000, "low": 9500, "high": None} if ok else NO_ESTIMATE,
            "date": {"estimate": "2034-05-01", "low": "2033-01-15", "high": None} if ok else NO_ESTIMATE,
            "method": "calendar_cycle/huber",
            "version": "1.0",
        },
        "jumps": jumps or [],
        "series": series,
    }


DATA = CertificateData(
    vehicle_id="EV-7",
    vin=None,
    model="Van & <Co>",
    manufacture_date=date(2024, 6, 1),
    profile="lfp",
    health=_health(),
    latest_log_id="log-29",
    latest_at=START + timedelta(days=290),
    latest_soh=95.55,
    latest_cycle_count=870,
    latest_rules_version="2026.11.1",
    reports_90d=9,
    anomalies_90d={"voltage_imbalance": 0, "overheating": 3, "low_soh": 0},
    rules_versions=("2026.11.1", "2025.10.0"),
    issued_at=datetime(2026, 11, 29, 7, 30, tzinfo=UTC),
)


def _text(data: CertificateData) -> str:
    reader = PdfReader(io.BytesIO(certificate_pdf(data)))
    assert len(reader.pages) == 1
    return " ".join(reader.pages[0].extract_text().split())


def test_the_certificate_states_the_figures_it_is_given():
    text = _text(DATA)

    assert "Vehicle EV-7 · issued 2026-11-29 (UTC)" in text
    assert "VIN not registered Model Van & <Co> Manufacture date 2024-06-01 Battery profile lfp" in text
    assert "State of health (trend) 95.55 % Latest measured SoH 95.55 % (log of 2025-10-18 00:00 UTC)" in text
    assert "Cycle count 870" in text
    assert "Fade 1.83 % per year, 1.67 % per 1,000 cycles" in text
    assert "Reaches 80 % SoH at about 11,000 cycles, around 2034-05-01." in text
    assert "80 % prediction interval: 9,500 to beyond horizon cycles, 2033-01-15 to beyond horizon." in text
    assert "Voltage imbalance 0 Overheating 3 Low state of health 0" in text
    assert "among the 9 reports of the period" in text
    assert "rules versions 2026.11.1, 2025.10.0" in text
    assert "Issued 2026-11-29 at 07:30 UTC" in text


@pytest.mark.parametrize(
    ("status", "line"),
    [
        ("reached", "The fitted SoH is already below 80 %."),
        ("beyond_horizon", "SoH is not expected to reach 80 % within 25 years or 100,000 cycles."),
        ("insufficient_data", "Too few logs or too short a span to forecast when SoH reaches 80 %."),
    ],
)
def test_each_forecast_status_is_said_in_words(status, line):
    assert line in _text(replace(DATA, health=_health(status=status)))


def test_jumps_are_listed():
    jump = {"log_id": "log-12", "timestamp": "2025-05-01T00:00:00.000000Z", "soh_before": 90.1, "soh_after": 94.3}
    text = _text(replace(DATA, health=_health(jumps=[{**jump, "delta": 4.2}])))

    assert "Sudden steps (jumps) 2025-05-01: 90.10 % to 94.30 %" in text


def test_the_filename_names_the_vehicle_and_the_day_of_issue():
    assert certificate_filename(DATA) == "battery-certificate-EV-7-2026-11-29.pdf"
