"""Validation of a diagnostic log, by the rules of the contract (API.md section 1).

One validator for every path in: the API, the seeding command and the console report all call
`validate_log`. Numbers must be JSON numbers (never strings or booleans) and finite.
"""

import math
import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from common.timestamps import format_timestamp

VEHICLE_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")
MAX_CELLS = 1024
MAX_CYCLE_COUNT = 100_000
CELL_KEYS = frozenset({"id", "voltage", "temperature"})
VOLTAGE_RANGE_V = (0.0, 5.0)
TEMPERATURE_RANGE_C = (-40.0, 125.0)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_finite(value: int | float) -> bool:
    try:
        return math.isfinite(value)
    except OverflowError:  # an integer beyond any double
        return False


def _is_integer(value: Any) -> bool:
    return _is_number(value) and (isinstance(value, int) or (math.isfinite(value) and value.is_integer()))


def _fmt(bound: float) -> str:
    return f"{bound:g}"


class StrictNumberField(serializers.Field):
    """A finite JSON number within [minimum, maximum] (or above an exclusive minimum)."""

    def __init__(self, *, minimum: float, maximum: float, exclusive_minimum: bool = False, **kwargs: Any) -> None:
        self.minimum, self.maximum, self.exclusive_minimum = minimum, maximum, exclusive_minimum
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> float:
        if not _is_number(data):
            raise serializers.ValidationError("Must be a JSON number.")
        if not _is_finite(data):
            raise serializers.ValidationError("Must be a finite number.")
        low_ok = data > self.minimum if self.exclusive_minimum else data >= self.minimum
        if not low_ok or data > self.maximum:
            if self.exclusive_minimum:
                raise serializers.ValidationError(
                    f"Must be greater than {_fmt(self.minimum)} and at most {_fmt(self.maximum)}."
                )
            raise serializers.ValidationError(f"Must be between {_fmt(self.minimum)} and {_fmt(self.maximum)}.")
        return float(data)

    def to_representation(self, value: Any) -> Any:
        return value


class StrictIntegerField(serializers.Field):
    """A JSON integer within [minimum, maximum]; 412.0 is accepted as 412, 412.5 and true are not."""

    def __init__(self, *, minimum: int, maximum: int, **kwargs: Any) -> None:
        self.minimum, self.maximum = minimum, maximum
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> int:
        if not _is_integer(data):
            raise serializers.ValidationError("Must be a JSON integer.")
        if not self.minimum <= data <= self.maximum:
            raise serializers.ValidationError(f"Must be between {self.minimum} and {self.maximum}.")
        return int(data)

    def to_representation(self, value: Any) -> Any:
        return value


@extend_schema_field({"type": "string", "pattern": VEHICLE_ID_RE.pattern, "minLength": 1, "maxLength": 64})
class VehicleIdField(serializers.Field):
    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            raise serializers.ValidationError("Must be a string.")
        if not VEHICLE_ID_RE.fullmatch(data):
            raise serializers.ValidationError(
                "Must be 1-64 characters: letters, digits and . _ : - (starting with a letter or digit)."
            )
        return data

    def to_representation(self, value: Any) -> Any:
        return value


# ISO 8601 extended format: date, T, time (seconds and fraction optional), then Z or ±hh:mm.
TIMESTAMP_RE = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?P<offset>Z|[+-]\d{2}:\d{2})?", re.ASCII
)


def parse_timestamp(data: Any) -> datetime:
    """An ISO 8601 string with an offset (Z or ±hh:mm), as an aware UTC datetime; ValidationError otherwise."""
    if not isinstance(data, str):
        raise serializers.ValidationError("Must be an ISO 8601 string with an offset.")
    match = TIMESTAMP_RE.fullmatch(data)
    if match is None:
        raise serializers.ValidationError("Must be an ISO 8601 timestamp, such as 2025-10-04T10:30:00Z.")
    if match["offset"] is None:
        raise serializers.ValidationError("Must include a UTC offset (Z or +hh:mm); naive timestamps are rejected.")
    try:
        value = datetime.fromisoformat(data)
    except ValueError:
        raise serializers.ValidationError("Is not a valid date and time.") from None
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise serializers.ValidationError("Is out of range.") from None


@extend_schema_field({"type": "string", "format": "date-time", "description": "ISO 8601 with an offset."})
class TimestampField(serializers.Field):
    def to_internal_value(self, data: Any) -> datetime:
        value = parse_timestamp(data)
        limit = timezone.now() + settings.TIMESTAMP_MAX_FUTURE
        if value > limit:
            minutes = int(settings.TIMESTAMP_MAX_FUTURE.total_seconds() // 60)
            raise serializers.ValidationError(f"Must not be more than {minutes} minutes in the future.")
        return value

    def to_representation(self, value: datetime) -> str:
        return format_timestamp(value)


def _check_number(value: Any, low: float, high: float) -> str | None:
    if not _is_number(value):
        return "Must be a JSON number."
    if not _is_finite(value):
        return "Must be a finite number."
    if not low <= value <= high:
        return f"Must be between {_fmt(low)} and {_fmt(high)}."
    return None


CELL_SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "integer", "minimum": 0},
        "voltage": {"type": "number", "minimum": VOLTAGE_RANGE_V[0], "maximum": VOLTAGE_RANGE_V[1]},
        "temperature": {"type": "number", "minimum": TEMPERATURE_RANGE_C[0], "maximum": TEMPERATURE_RANGE_C[1]},
    },
    "required": ["id", "voltage", "temperature"],
    "additionalProperties": False,
}


@extend_schema_field({"type": "array", "minItems": 1, "maxItems": MAX_CELLS, "items": CELL_SCHEMA})
class CellsField(serializers.Field):
    """1-1024 cells {id, voltage, temperature}; ids exactly 0..n-1; returned sorted by id.

    Errors are keyed by position, e.g. "[3].voltage", which the error handler joins to "cells[3].voltage".
    """

    def to_internal_value(self, data: Any) -> list[dict[str, Any]]:
        if not isinstance(data, list):
            raise serializers.ValidationError("Must be an array of cells.")
        if not 1 <= len(data) <= MAX_CELLS:
            raise serializers.ValidationError(f"Must hold between 1 and {MAX_CELLS} cells; got {len(data)}.")
        errors: dict[str, list[str]] = {}
        cells: list[dict[str, Any]] = []
        for index, cell in enumerate(data):
            where = f"[{index}]"
            if not isinstance(cell, dict):
                errors[where] = ["Must be an object with id, voltage and temperature."]
                continue
            for key in sorted(set(cell) - CELL_KEYS):
                errors[f"{where}.{key[:64]}"] = ["Unknown cell field; a cell has only id, voltage and temperature."]
            for key in ("id", "voltage", "temperature"):
                if key not in cell:
                    errors[f"{where}.{key}"] = ["This field is required."]
            cell_id, voltage, temperature = cell.get("id"), cell.get("voltage"), cell.get("temperature")
            if "id" in cell and not (isinstance(cell_id, int) and not isinstance(cell_id, bool)):
                errors[f"{where}.id"] = ["Must be a JSON integer."]
            if "voltage" in cell and (message := _check_number(voltage, *VOLTAGE_RANGE_V)):
                errors[f"{where}.voltage"] = [message]
            if "temperature" in cell and (message := _check_number(temperature, *TEMPERATURE_RANGE_C)):
                errors[f"{where}.temperature"] = [message]
            cells.append({"id": cell_id, "voltage": voltage, "temperature": temperature})
        if errors:
            raise serializers.ValidationError(errors)
        ids = sorted(cell["id"] for cell in cells)
        if ids != list(range(len(cells))):
            raise serializers.ValidationError(
                f"Cell ids must be exactly 0..{len(cells) - 1}, each once (in any order)."
            )
        cells.sort(key=lambda cell: cell["id"])
        # Volts and degrees are floats whatever the JSON wrote (4 and 4.0 are the same reading).
        for cell in cells:
            cell["voltage"], cell["temperature"] = float(cell["voltage"]), float(cell["temperature"])
        return cells

    def to_representation(self, value: Any) -> Any:
        return value


class DiagnosticLogSerializer(serializers.Serializer):
    """The diagnostic log as POSTed. Unknown top-level fields are ignored."""

    vehicle_id = VehicleIdField()
    timestamp = TimestampField()
    cells = CellsField()
    cycle_count = StrictIntegerField(minimum=0, maximum=MAX_CYCLE_COUNT)
    nominal_capacity_kwh = StrictNumberField(minimum=0, maximum=1000, exclusive_minimum=True)
    current_capacity_kwh = StrictNumberField(minimum=0, maximum=1.2 * 1000)

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        # The cross-field rule is checked even when other fields fail, so every offending field is named.
        try:
            attrs = super().to_internal_value(data)
            errors: dict[str, Any] = {}
        except serializers.ValidationError as exc:
            attrs, errors = {}, dict(exc.detail)
        if not ({"nominal_capacity_kwh", "current_capacity_kwh"} & set(errors)) and isinstance(data, dict):
            message = capacity_error(data.get("nominal_capacity_kwh"), data.get("current_capacity_kwh"))
            if message:
                errors["current_capacity_kwh"] = [message]
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


def capacity_error(nominal: Any, current: Any) -> str | None:
    """current <= 1.2 x nominal, in exact decimal arithmetic (1.2 x 50.0 admits 60.0, whatever the floats say)."""
    if not (_is_number(nominal) and _is_number(current)):
        return None
    limit = Decimal("1.2") * Decimal(str(nominal))
    if Decimal(str(current)) > limit:
        return f"Must be at most 1.2 x nominal_capacity_kwh ({limit.normalize():f})."
    return None


def validate_log(data: Any) -> dict[str, Any]:
    """Validate one log (already parsed JSON); return the clean data or raise ValidationError."""
    if not isinstance(data, dict):
        raise serializers.ValidationError({"non_field_errors": ["Expected a JSON object."]})
    serializer = DiagnosticLogSerializer(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


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
    status = serializers.ChoiceField(choices=["pending", "processing", "completed", "failed"])
