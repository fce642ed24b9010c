"""The validation contract (`diagnostics.contract`): its numbers are API.md section 1's, it imports no
framework, and the DRF serializer, the msgspec fast path and the OpenAPI schema carry its numbers."""

import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import msgspec
import pytest
from drf_spectacular.generators import SchemaGenerator

from common.timestamps import format_timestamp
from diagnostics import contract, validation
from diagnostics.contract import ContractError
from diagnostics.serializers import DiagnosticLogSerializer

ROOT = Path(__file__).resolve().parents[2]


def test_the_contract_holds_section_1s_numbers():
    assert contract.VEHICLE_ID_PATTERN == "^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"
    assert (contract.VEHICLE_ID_MIN_LENGTH, contract.VEHICLE_ID_MAX_LENGTH) == (1, 64)
    assert timedelta(minutes=5) == contract.TIMESTAMP_MAX_FUTURE
    assert (contract.CELLS_MIN, contract.CELLS_MAX) == (1, 1024)
    assert contract.CELL_KEYS == ("id", "voltage", "temperature")
    assert contract.Range(0, 5) == contract.VOLTAGE_V
    assert contract.Range(-40, 125) == contract.TEMPERATURE_C
    assert contract.Range(0, 100_000, integer=True) == contract.CYCLE_COUNT
    assert contract.Range(0, 1000, exclusive_minimum=True) == contract.NOMINAL_CAPACITY_KWH
    assert Decimal("1.2") == contract.CURRENT_CAPACITY_MAX_RATIO
    assert contract.Range(0, 1200) == contract.CURRENT_CAPACITY_KWH
    assert contract.MAX_DEPTH == 64


@pytest.mark.parametrize("module", ["diagnostics.contract", "common.timestamps", "common.limits"])
def test_the_contract_imports_no_framework(module):
    code = (
        f"import sys, {module}\n"
        "frameworks = {'django', 'rest_framework', 'drf_spectacular', 'celery', 'msgspec'}\n"
        "print(sorted({name.split('.')[0] for name in sys.modules} & frameworks))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


# --- the adapters read their numbers from the contract ---------------------------------------------------------


def test_the_drf_fields_carry_the_contract_s_bounds():
    fields = DiagnosticLogSerializer().fields  # deep copies of the declared fields: compare by value
    assert fields["cycle_count"].bounds == contract.CYCLE_COUNT == contract.Range(0, 100_000, integer=True)
    assert fields["nominal_capacity_kwh"].bounds == contract.NOMINAL_CAPACITY_KWH
    assert fields["current_capacity_kwh"].bounds == contract.CURRENT_CAPACITY_KWH
    assert fields["current_capacity_kwh"].bounds.maximum == 1200
    assert list(fields) == [
        "vehicle_id",
        "timestamp",
        "cells",
        "cycle_count",
        "nominal_capacity_kwh",
        "current_capacity_kwh",
    ]


def _msgspec_fields(struct: type) -> dict[str, msgspec.inspect.Type]:
    info = msgspec.inspect.type_info(struct)
    assert isinstance(info, msgspec.inspect.StructType)
    assert info.forbid_unknown_fields  # any unknown field is left to the full path
    return {field.name: field.type for field in info.fields}


def test_the_msgspec_struct_carries_the_contract_s_bounds():
    log = _msgspec_fields(validation._Log)
    assert log["vehicle_id"] == msgspec.inspect.StrType(min_length=1, max_length=64)
    assert (log["cycle_count"].ge, log["cycle_count"].le) == (0, 100_000)
    assert (log["nominal_capacity_kwh"].gt, log["nominal_capacity_kwh"].ge) == (0, None)
    assert log["nominal_capacity_kwh"].le == 1000
    assert (log["current_capacity_kwh"].ge, log["current_capacity_kwh"].le) == (0, 1200)
    cells = log["cells"]
    assert (cells.min_length, cells.max_length) == (contract.CELLS_MIN, contract.CELLS_MAX)
    cell = _msgspec_fields(cells.item_type.cls)
    assert tuple(cell) == contract.CELL_KEYS
    assert (cell["id"].ge, cell["id"].lt) == (0, 1024)
    assert (cell["voltage"].ge, cell["voltage"].le) == (0, 5)
    assert (cell["temperature"].ge, cell["temperature"].le) == (-40, 125)


def test_the_openapi_schema_carries_the_contract_s_bounds():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    log = schema["components"]["schemas"]["DiagnosticLogRequest"]["properties"]
    assert log["vehicle_id"] == {
        "type": "string",
        "pattern": "^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$",
        "minLength": 1,
        "maxLength": 64,
    }
    assert log["cycle_count"] == {"type": "integer", "minimum": 0, "maximum": 100_000}
    assert log["nominal_capacity_kwh"] == {"type": "number", "minimum": 0, "exclusiveMinimum": True, "maximum": 1000}
    assert log["current_capacity_kwh"] == {"type": "number", "minimum": 0, "maximum": 1200}
    assert "5 minutes" in log["timestamp"]["description"]
    cells = log["cells"]
    assert (cells["minItems"], cells["maxItems"]) == (1, 1024)
    assert cells["items"]["additionalProperties"] is False
    assert cells["items"]["required"] == ["id", "voltage", "temperature"]
    assert cells["items"]["properties"] == {
        "id": {"type": "integer", "minimum": 0, "maximum": 1023},
        "voltage": {"type": "number", "minimum": 0, "maximum": 5},
        "temperature": {"type": "number", "minimum": -40, "maximum": 125},
    }


def test_error_codes_in_the_openapi_schema_are_the_contract_s():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    codes = schema["components"]["schemas"]["ErrorDetail"]["properties"]["code"]
    enum = codes.get("enum") or schema["components"]["schemas"][codes["$ref"].rsplit("/", 1)[1]]["enum"]
    assert enum == [
        "invalid",
        "parse_error",
        "not_authenticated",
        "permission_denied",
        "not_found",
        "conflict",
        "payload_too_large",
        "unsupported_media_type",
        "method_not_allowed",
        "not_acceptable",
        "throttled",
        "server_error",
        "service_unavailable",
    ]


# --- the pure checks and their messages --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bounds", "value", "message"),
    [
        pytest.param(contract.VOLTAGE_V, 5.0000001, "Must be between 0 and 5.", id="voltage-above"),
        pytest.param(contract.TEMPERATURE_C, -40.01, "Must be between -40 and 125.", id="temperature-below"),
        pytest.param(contract.CYCLE_COUNT, 100_001, "Must be between 0 and 100000.", id="cycles-above"),
        pytest.param(contract.CYCLE_COUNT, 412.5, "Must be a JSON integer.", id="cycles-fraction"),
        pytest.param(contract.CYCLE_COUNT, True, "Must be a JSON integer.", id="cycles-bool"),
        pytest.param(contract.NOMINAL_CAPACITY_KWH, 0, "Must be greater than 0 and at most 1000.", id="nominal-0"),
        pytest.param(contract.VOLTAGE_V, "4.05", "Must be a JSON number.", id="string"),
        pytest.param(contract.VOLTAGE_V, float("inf"), "Must be a finite number.", id="infinite"),
    ],
)
def test_range_errors_name_the_contract_s_bounds(bounds, value, message):
    assert bounds.error(value) == message
    with pytest.raises(ContractError) as exc:
        bounds.clean(value)
    assert exc.value.detail == message


@pytest.mark.parametrize(
    ("bounds", "value", "clean"),
    [
        pytest.param(contract.VOLTAGE_V, 5, 5.0, id="voltage-at-max-as-int"),
        pytest.param(contract.TEMPERATURE_C, -40, -40.0, id="temperature-at-min"),
        pytest.param(contract.CYCLE_COUNT, 412.0, 412, id="integral-float-cycles"),
        pytest.param(contract.NOMINAL_CAPACITY_KWH, 1e-9, 1e-9, id="nominal-just-above-0"),
        pytest.param(contract.CURRENT_CAPACITY_KWH, 0, 0.0, id="current-0"),
    ],
)
def test_range_clean_keeps_boundaries(bounds, value, clean):
    assert bounds.error(value) is None
    assert bounds.clean(value) == clean
    assert type(bounds.clean(value)) is type(clean)


def test_capacity_rule_is_exact_decimal():
    assert contract.capacity_error(50.0, 60.0) is None  # 1.2 * 50.0 is 60.00000000000001 in floats
    assert contract.capacity_error(50.0, 60.000001) == "Must be at most 1.2 x nominal_capacity_kwh (60)."
    assert contract.capacity_error("50", 70) is None  # the field itself reports a string


NOW = datetime(2025, 10, 4, 10, 30, tzinfo=UTC)


def test_timestamp_may_be_exactly_5_minutes_ahead_of_now():
    assert contract.clean_timestamp("2025-10-04T10:35:00Z", now=NOW) == datetime(2025, 10, 4, 10, 35, tzinfo=UTC)
    with pytest.raises(ContractError) as exc:
        contract.clean_timestamp("2025-10-04T10:35:00.000001Z", now=NOW)
    assert exc.value.detail == "Must not be more than 5 minutes in the future."
    with pytest.raises(ContractError) as exc:
        contract.clean_timestamp("2025-10-04T10:32:00Z", now=NOW, max_future=timedelta(minutes=1))
    assert exc.value.detail == "Must not be more than 1 minutes in the future."


@pytest.mark.parametrize(
    ("value", "message"),
    [
        pytest.param(1759573800, "Must be an ISO 8601 string with an offset.", id="number"),
        pytest.param("04/10/2025 10:30", "Must be an ISO 8601 timestamp, such as 2025-10-04T10:30:00Z.", id="format"),
        pytest.param(
            "2025-10-04T10:30:00",
            "Must include a UTC offset (Z or +hh:mm); naive timestamps are rejected.",
            id="naive",
        ),
        pytest.param("2025-02-30T10:30:00Z", "Is not a valid date and time.", id="february-30"),
        pytest.param("0001-01-01T00:00:00+01:00", "Is out of range.", id="before-year-1-in-utc"),
    ],
)
def test_parse_timestamp_messages(value, message):
    with pytest.raises(ContractError) as exc:
        contract.parse_timestamp(value)
    assert exc.value.detail == message


def test_parse_timestamp_returns_utc():
    assert contract.parse_timestamp("2025-10-04T12:30:00.5+02:00") == datetime(2025, 10, 4, 10, 30, 0, 500000, UTC)


def test_format_timestamp_is_utc_with_microseconds_and_refuses_naive():
    assert format_timestamp(datetime(2025, 10, 4, 12, 30, tzinfo=timezone(timedelta(hours=2)))) == (
        "2025-10-04T10:30:00.000000Z"
    )
    assert contract.format_timestamp is format_timestamp
    with pytest.raises(ValueError):
        format_timestamp(datetime(2025, 10, 4, 10, 30))


def test_vehicle_id_messages():
    assert contract.clean_vehicle_id("EV-1.a_b:c") == "EV-1.a_b:c"
    for value, message in [
        (12345, "Must be a string."),
        ("", "Must be 1-64 characters: letters, digits and . _ : - (starting with a letter or digit)."),
        ("A" * 65, "Must be 1-64 characters: letters, digits and . _ : - (starting with a letter or digit)."),
        ("EV-1\n", "Must be 1-64 characters: letters, digits and . _ : - (starting with a letter or digit)."),
    ]:
        with pytest.raises(ContractError) as exc:
            contract.clean_vehicle_id(value)
        assert exc.value.detail == message


def test_cells_are_sorted_and_every_bad_field_is_named():
    cells = [{"id": 1, "voltage": 4, "temperature": 30}, {"id": 0, "voltage": 4.1, "temperature": -1}]
    assert contract.clean_cells(cells) == [
        {"id": 0, "voltage": 4.1, "temperature": -1.0},
        {"id": 1, "voltage": 4.0, "temperature": 30.0},
    ]
    with pytest.raises(ContractError) as exc:
        contract.clean_cells([{"id": 0, "voltage": 9, "x": 1}, 7])
    assert exc.value.detail == {
        "[0].x": ["Unknown cell field; a cell has only id, voltage and temperature."],
        "[0].temperature": ["This field is required."],
        "[0].voltage": ["Must be between 0 and 5."],
        "[1]": ["Must be an object with id, voltage and temperature."],
    }
    with pytest.raises(ContractError) as exc:
        contract.clean_cells([{"id": 1, "voltage": 4, "temperature": 30}])
    assert exc.value.detail == "Cell ids must be exactly 0..0, each once (in any order)."
    with pytest.raises(ContractError) as exc:
        contract.clean_cells([])
    assert exc.value.detail == "Must hold between 1 and 1024 cells; got 0."
