"""The DRF serializer of a diagnostic log, built from the contract (`diagnostics.contract`).

Every bound, pattern and message comes from the contract; these fields only adapt its checks to DRF (a
ContractError becomes a ValidationError) and describe them to the OpenAPI schema. Validation goes through
`diagnostics.validation.log_validate`, never through this module directly.
"""

from datetime import datetime
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from common import vocabulary
from common.timestamps import format_timestamp
from diagnostics import contract
from diagnostics.contract import ContractError

_ERROR_MESSAGES = {"required": contract.REQUIRED, "null": contract.NOT_NULL}


class _ContractField(serializers.Field):
    """A field whose value is checked by one function of the contract."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("error_messages", _ERROR_MESSAGES)
        super().__init__(**kwargs)

    def check(self, data: Any) -> Any:
        raise NotImplementedError

    def to_internal_value(self, data: Any) -> Any:
        try:
            return self.check(data)
        except ContractError as exc:
            raise serializers.ValidationError(exc.detail) from None

    def to_representation(self, value: Any) -> Any:
        return value


class StrictNumberField(_ContractField):
    """A JSON number within a contract Range (a JSON integer when the range says so); its OpenAPI schema is
    drawn from the same Range (diagnostics/schema.py)."""

    def __init__(self, *, bounds: contract.Range, **kwargs: Any) -> None:
        self.bounds = bounds
        super().__init__(**kwargs)

    def check(self, data: Any) -> int | float:
        return self.bounds.clean(data)


@extend_schema_field(
    {
        "type": "string",
        "pattern": contract.VEHICLE_ID_PATTERN,
        "minLength": contract.VEHICLE_ID_MIN_LENGTH,
        "maxLength": contract.VEHICLE_ID_MAX_LENGTH,
    }
)
class VehicleIdField(_ContractField):
    def check(self, data: Any) -> str:
        return contract.clean_vehicle_id(data)


_FUTURE_MINUTES = int(contract.TIMESTAMP_MAX_FUTURE.total_seconds() // 60)


@extend_schema_field(
    {
        "type": "string",
        "format": "date-time",
        "description": f"ISO 8601 with an offset (Z or ±hh:mm); at most {_FUTURE_MINUTES} minutes in the future.",
    }
)
class TimestampField(_ContractField):
    def check(self, data: Any) -> datetime:
        return contract.clean_timestamp(data)

    def to_representation(self, value: datetime) -> str:
        return format_timestamp(value)


CELL_SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "integer", "minimum": contract.CELL_ID_MIN, "maximum": contract.CELLS_MAX - 1},
        "voltage": {"type": "number", "minimum": contract.VOLTAGE_V.minimum, "maximum": contract.VOLTAGE_V.maximum},
        "temperature": {
            "type": "number",
            "minimum": contract.TEMPERATURE_C.minimum,
            "maximum": contract.TEMPERATURE_C.maximum,
        },
    },
    "required": list(contract.CELL_KEYS),
    "additionalProperties": False,
}


@extend_schema_field(
    {"type": "array", "minItems": contract.CELLS_MIN, "maxItems": contract.CELLS_MAX, "items": CELL_SCHEMA}
)
class CellsField(_ContractField):
    """1-1024 cells {id, voltage, temperature}; ids exactly 0..n-1; returned sorted by id.

    Errors are keyed by position, e.g. "[3].voltage", which the error handler joins to "cells[3].voltage".
    """

    def check(self, data: Any) -> list[dict[str, Any]]:
        return contract.clean_cells(data)


class DiagnosticLogSerializer(serializers.Serializer):
    """The diagnostic log as POSTed. Unknown top-level fields are ignored."""

    vehicle_id = VehicleIdField()
    timestamp = TimestampField()
    cells = CellsField()
    cycle_count = StrictNumberField(bounds=contract.CYCLE_COUNT)
    nominal_capacity_kwh = StrictNumberField(bounds=contract.NOMINAL_CAPACITY_KWH)
    current_capacity_kwh = StrictNumberField(bounds=contract.CURRENT_CAPACITY_KWH)

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        # The cross-field rule is checked even when other fields fail, so every offending field is named.
        try:
            attrs = super().to_internal_value(data)
            errors: dict[str, Any] = {}
        except serializers.ValidationError as exc:
            attrs, errors = {}, dict(exc.detail)
        if not ({"nominal_capacity_kwh", "current_capacity_kwh"} & set(errors)) and isinstance(data, dict):
            message = contract.capacity_error(data.get("nominal_capacity_kwh"), data.get("current_capacity_kwh"))
            if message:
                errors["current_capacity_kwh"] = [message]
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class CellOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    voltage = serializers.FloatField()
    temperature = serializers.FloatField()


class DiagnosticLogOutputSerializer(serializers.Serializer):
    """GET /api/v1/diagnostics/<log_id> (for the OpenAPI schema; the view builds the same dict)."""

    log_id = serializers.UUIDField()
    vehicle_id = serializers.CharField()
    timestamp = serializers.DateTimeField()
    cells = CellOutputSerializer(many=True)
    cycle_count = serializers.IntegerField()
    nominal_capacity_kwh = serializers.FloatField()
    current_capacity_kwh = serializers.FloatField()
    received_at = serializers.DateTimeField()
    status = serializers.ChoiceField(choices=vocabulary.codes(vocabulary.PROCESSING_STATUSES))
