"""The report batch's pure step (reports.health.report.log_report): a stored log in, what the batch stores out;
bad data raises UnprocessableLog, whatever else is not caught here."""

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from reports.health import UnprocessableLog
from reports.health.report import LogReport, StoredLog, log_report

AT = datetime(2025, 10, 4, 10, 30, tzinfo=UTC)
LOG_ID = uuid.UUID("00000000-0000-0000-0000-000000000001")
CELLS = [
    {"id": 1, "voltage": 4.151, "temperature": 46.5},
    {"id": 0, "voltage": 4.10, "temperature": 30.0},
]


def stored(**overrides):  # type: ignore[no-untyped-def]
    fields = {
        "log_id": LOG_ID,
        "cells": CELLS,
        "cycle_count": 412,
        "nominal_capacity_kwh": 60.0,
        "current_capacity_kwh": 45.0,
        "timestamp": AT,
        "received_at": AT + timedelta(days=2),
        "profile": "nmc",
        "vehicle_pk": 7,
        "fleet_pk": 3,
    }
    return StoredLog(**{**fields, **overrides})


def test_a_stored_log_makes_its_report_flags_and_readings():
    result = log_report(stored())

    assert isinstance(result, LogReport)
    assert result.report.as_dict() == {
        "battery_soh": 75.0,
        "anomalies": ["Voltage imbalance detected", "Overheating detected", "Low state of health detected"],
        "anomaly_details": [
            {
                "code": "voltage_imbalance",
                "message": "Voltage imbalance detected",
                "value": 51.0,
                "threshold": 50.0,
                "unit": "mV",
                "cells": [0, 1],
            },
            {
                "code": "overheating",
                "message": "Overheating detected",
                "value": 46.5,
                "threshold": 45.0,
                "unit": "°C",
                "cells": [1],
            },
            {
                "code": "low_soh",
                "message": "Low state of health detected",
                "value": 75.0,
                "threshold": 80.0,
                "unit": "%",
                "cells": [],
            },
        ],
        "diagnostics": {
            "cell_count": 2,
            "voltage_min": 4.1,
            "voltage_max": 4.151,
            "voltage_spread_mv": 51.0,
            "temperature_min": 30.0,
            "temperature_max": 46.5,
            "temperature_avg": 38.25,
        },
    }
    assert (result.profile, result.flags) == ("nmc", ("late_upload",))
    assert (result.voltages, result.temperatures) == ((4.10, 4.151), (30.0, 46.5))  # in cell id order
    assert result.anomaly_codes == ["voltage_imbalance", "overheating", "low_soh"]
    assert result.log == stored()


def test_the_profile_sets_the_thresholds():
    # 51 mV is an imbalance for both; 35 mV only under lfp (30 mV).
    cells = [{"id": 0, "voltage": 3.30, "temperature": 30.0}, {"id": 1, "voltage": 3.335, "temperature": 30.0}]
    nmc, lfp = log_report(stored(cells=cells)), log_report(stored(cells=cells, profile="lfp"))

    assert (nmc.profile, nmc.anomaly_codes) == ("nmc", ["low_soh"])
    assert (lfp.profile, lfp.anomaly_codes) == ("lfp", ["voltage_imbalance", "low_soh"])


def test_cells_stored_as_json_text_read_the_same():
    assert log_report(stored(cells=json.dumps(CELLS))).report == log_report(stored()).report


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        pytest.param(
            {"cells": []}, "a battery snapshot needs at least one cell; got an empty cell list", id="no cells"
        ),
        pytest.param(
            {"nominal_capacity_kwh": 0.0}, "nominal_capacity_kwh must be a finite number > 0; got 0.0", id="nominal 0"
        ),
        pytest.param(
            {"current_capacity_kwh": float("nan")},
            "current_capacity_kwh must be a finite number >= 0; got nan",
            id="current NaN",
        ),
        pytest.param(
            {"profile": "lto"}, "unknown battery profile 'lto'; known profiles: lfp, nmc", id="unknown profile"
        ),
        pytest.param(
            {"cells": [{"id": 0, "voltage": 4.0}]}, "diagnostic log is missing the field 'temperature'", id="no temp"
        ),
        pytest.param(
            {"cells": "[{"},
            "the stored cells are not JSON: "
            "Expecting property name enclosed in double quotes: line 1 column 3 (char 2)",
            id="cells not JSON",
        ),
    ],
)
def test_bad_data_is_unprocessable_with_its_reason(overrides, reason):
    with pytest.raises(UnprocessableLog) as caught:
        log_report(stored(**overrides))
    assert str(caught.value) == reason
    assert isinstance(caught.value, ValueError)  # the rules' documented ValueError, typed
