"""The diagnostic log's validation contract (API.md section 1): every bound, pattern and message, and the
pure checks that apply them.

Framework-free (no Django, DRF, Celery or msgspec import): the DRF serializer (`diagnostics.serializers`),
the compiled fast path (`diagnostics.validation`) and the OpenAPI schema are built from these names, so a
rule's numbers change here and nowhere else. A check raises ContractError with the message the API
answers with; the adapters turn it into their own error type.
"""

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Final

from common.identifiers import (  # re-exported: the vehicle id's rule is part of section 1
    VEHICLE_ID_INVALID as VEHICLE_ID_INVALID,
)
from common.identifiers import VEHICLE_ID_MAX_LENGTH as VEHICLE_ID_MAX_LENGTH
from common.identifiers import VEHICLE_ID_MIN_LENGTH as VEHICLE_ID_MIN_LENGTH
from common.identifiers import VEHICLE_ID_PATTERN as VEHICLE_ID_PATTERN
from common.identifiers import VEHICLE_ID_RE as VEHICLE_ID_RE
from common.limits import MAX_DEPTH as MAX_DEPTH  # re-exported: the body's depth limit is part of section 1
from common.limits import TIMESTAMP_MAX_FUTURE as TIMESTAMP_MAX_FUTURE
from common.timestamps import format_timestamp as format_timestamp  # re-exported: how a timestamp is written


class ContractError(ValueError):
    """A value that breaks the contract. `detail` is one message, or messages keyed by a sub-path such as
    "[3].voltage" (the error handler joins it to its field: "cells[3].voltage")."""

    def __init__(self, detail: str | dict[str, list[str]]) -> None:
        super().__init__(detail)
        self.detail = detail


# --- Messages shared by several fields -----------------------------------------------------------------------

REQUIRED: Final = "This field is required."
NOT_NULL: Final = "This field may not be null."
NOT_AN_OBJECT: Final = "Expected a JSON object."
NOT_A_NUMBER: Final = "Must be a JSON number."
NOT_FINITE: Final = "Must be a finite number."
NOT_AN_INTEGER: Final = "Must be a JSON integer."


# --- Numbers -------------------------------------------------------------------------------------------------


def is_number(value: Any) -> bool:
    """A JSON number as Python's json gives it: int or float, never bool."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def is_finite(value: int | float) -> bool:
    try:
        return math.isfinite(value)
    except OverflowError:  # an integer beyond any double
        return False


def is_integer(value: Any) -> bool:
    """A JSON integer; 412.0 counts (the contract allows it), 412.5 and true do not."""
    return is_number(value) and (isinstance(value, int) or (math.isfinite(value) and value.is_integer()))


def _fmt(bound: float) -> str:
    return f"{bound:g}"


@dataclass(frozen=True, slots=True)
class Range:
    """The bounds of a JSON number field: minimum <= value <= maximum (minimum < value with
    exclusive_minimum); `integer` fields take JSON integers only."""

    minimum: float
    maximum: float
    exclusive_minimum: bool = False
    integer: bool = False

    @property
    def message(self) -> str:
        """What an out-of-range value is told."""
        if self.exclusive_minimum:
            return f"Must be greater than {_fmt(self.minimum)} and at most {_fmt(self.maximum)}."
        return f"Must be between {_fmt(self.minimum)} and {_fmt(self.maximum)}."

    def error(self, value: Any) -> str | None:
        """The message for `value`, or None when it is a valid value of this field."""
        if self.integer:
            if not is_integer(value):
                return NOT_AN_INTEGER
        elif not is_number(value):
            return NOT_A_NUMBER
        elif not is_finite(value):
            return NOT_FINITE
        low_ok = value > self.minimum if self.exclusive_minimum else value >= self.minimum
        return None if low_ok and value <= self.maximum else self.message

    def clean(self, value: Any) -> int | float:
        """The value as stored (int for an integer field, else float); ContractError when invalid."""
        message = self.error(value)
        if message is not None:
            raise ContractError(message)
        return int(value) if self.integer else float(value)


VOLTAGE_V: Final = Range(0.0, 5.0)
"""cells[].voltage, volts."""
TEMPERATURE_C: Final = Range(-40.0, 125.0)
"""cells[].temperature, degrees Celsius."""
CYCLE_COUNT: Final = Range(0, 100_000, integer=True)
NOMINAL_CAPACITY_KWH: Final = Range(0, 1000, exclusive_minimum=True)
CURRENT_CAPACITY_MAX_RATIO: Final = Decimal("1.2")
"""current_capacity_kwh <= 1.2 x nominal_capacity_kwh, in exact decimal arithmetic (see capacity_error)."""
CURRENT_CAPACITY_KWH: Final = Range(0, float(CURRENT_CAPACITY_MAX_RATIO * Decimal(NOMINAL_CAPACITY_KWH.maximum)))
"""The static bounds of current_capacity_kwh (1.2 x the largest nominal); capacity_error holds the real rule."""


def capacity_error(nominal: Any, current: Any) -> str | None:
    """current <= 1.2 x nominal, in exact decimal arithmetic (1.2 x 50.0 admits 60.0, whatever the floats
    say); None when it holds or when either value is not a number (its own field reports that)."""
    if not (is_number(nominal) and is_number(current)):
        return None
    limit = CURRENT_CAPACITY_MAX_RATIO * Decimal(str(nominal))
    if Decimal(str(current)) > limit:
        return f"Must be at most {CURRENT_CAPACITY_MAX_RATIO} x nominal_capacity_kwh ({limit.normalize():f})."
    return None


# --- vehicle_id ----------------------------------------------------------------------------------------------

VEHICLE_ID_NOT_A_STRING: Final = "Must be a string."


def clean_vehicle_id(value: Any) -> str:
    if not isinstance(value, str):
        raise ContractError(VEHICLE_ID_NOT_A_STRING)
    if not VEHICLE_ID_RE.fullmatch(value):
        raise ContractError(VEHICLE_ID_INVALID)
    return value


# --- timestamp -----------------------------------------------------------------------------------------------

TIMESTAMP_RE: Final = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?P<offset>Z|[+-]\d{2}:\d{2})?", re.ASCII
)
"""ISO 8601 extended format: date, T, time (seconds and up to 9 fractional digits optional), then Z or
±hh:mm (a missing offset is matched, to be refused with its own message)."""

"""How far ahead of the server's clock a timestamp may be."""
TIMESTAMP_NOT_A_STRING: Final = "Must be an ISO 8601 string with an offset."
TIMESTAMP_BAD_FORMAT: Final = "Must be an ISO 8601 timestamp, such as 2025-10-04T10:30:00Z."
TIMESTAMP_NAIVE: Final = "Must include a UTC offset (Z or +hh:mm); naive timestamps are rejected."
TIMESTAMP_NOT_A_DATE: Final = "Is not a valid date and time."
TIMESTAMP_OUT_OF_RANGE: Final = "Is out of range."


def timestamp_too_far_ahead(max_future: timedelta = TIMESTAMP_MAX_FUTURE) -> str:
    return f"Must not be more than {int(max_future.total_seconds() // 60)} minutes in the future."


def parse_timestamp(value: Any) -> datetime:
    """An ISO 8601 string with an offset (Z or ±hh:mm), as an aware UTC datetime; ContractError otherwise."""
    if not isinstance(value, str):
        raise ContractError(TIMESTAMP_NOT_A_STRING)
    match = TIMESTAMP_RE.fullmatch(value)
    if match is None:
        raise ContractError(TIMESTAMP_BAD_FORMAT)
    if match["offset"] is None:
        raise ContractError(TIMESTAMP_NAIVE)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ContractError(TIMESTAMP_NOT_A_DATE) from None
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        raise ContractError(TIMESTAMP_OUT_OF_RANGE) from None


def clean_timestamp(
    value: Any, *, now: datetime | None = None, max_future: timedelta = TIMESTAMP_MAX_FUTURE
) -> datetime:
    """parse_timestamp, and at most `max_future` ahead of `now` (default: the clock, in UTC)."""
    parsed = parse_timestamp(value)
    if parsed > (now or datetime.now(UTC)) + max_future:
        raise ContractError(timestamp_too_far_ahead(max_future))
    return parsed


# --- cells ---------------------------------------------------------------------------------------------------

CELLS_MIN: Final = 1
CELLS_MAX: Final = 1024
CELL_KEYS: Final = ("id", "voltage", "temperature")
"""A cell's fields, exactly these: another one is an error."""
CELL_ID_MIN: Final = 0
"""Ids are exactly 0 .. n-1 (so at most CELLS_MAX - 1)."""
CELLS_NOT_AN_ARRAY: Final = "Must be an array of cells."
CELL_NOT_AN_OBJECT: Final = "Must be an object with id, voltage and temperature."
CELL_UNKNOWN_FIELD: Final = "Unknown cell field; a cell has only id, voltage and temperature."
_CELL_KEY_SET = frozenset(CELL_KEYS)


def cells_count_error(count: int) -> str:
    return f"Must hold between {CELLS_MIN} and {CELLS_MAX} cells; got {count}."


def cell_ids_error(count: int) -> str:
    return f"Cell ids must be exactly {CELL_ID_MIN}..{count - 1}, each once (in any order)."


def clean_cells(value: Any) -> list[dict[str, Any]]:
    """1-1024 cells {id, voltage, temperature}, ids exactly 0..n-1, returned sorted by id with float
    readings. ContractError names every bad cell field by position ("[3].voltage"), else the list's fault."""
    if not isinstance(value, list):
        raise ContractError(CELLS_NOT_AN_ARRAY)
    if not CELLS_MIN <= len(value) <= CELLS_MAX:
        raise ContractError(cells_count_error(len(value)))
    errors: dict[str, list[str]] = {}
    cells: list[dict[str, Any]] = []
    for index, cell in enumerate(value):
        where = f"[{index}]"
        if not isinstance(cell, dict):
            errors[where] = [CELL_NOT_AN_OBJECT]
            continue
        for key in sorted(set(cell) - _CELL_KEY_SET):
            errors[f"{where}.{key[:64]}"] = [CELL_UNKNOWN_FIELD]
        for key in CELL_KEYS:
            if key not in cell:
                errors[f"{where}.{key}"] = [REQUIRED]
        cell_id, voltage, temperature = cell.get("id"), cell.get("voltage"), cell.get("temperature")
        if "id" in cell and not (isinstance(cell_id, int) and not isinstance(cell_id, bool)):
            errors[f"{where}.id"] = [NOT_AN_INTEGER]
        if "voltage" in cell and (message := VOLTAGE_V.error(voltage)):
            errors[f"{where}.voltage"] = [message]
        if "temperature" in cell and (message := TEMPERATURE_C.error(temperature)):
            errors[f"{where}.temperature"] = [message]
        cells.append({"id": cell_id, "voltage": voltage, "temperature": temperature})
    if errors:
        raise ContractError(errors)
    if sorted(cell["id"] for cell in cells) != list(range(CELL_ID_MIN, len(cells))):
        raise ContractError(cell_ids_error(len(cells)))
    cells.sort(key=lambda cell: cell["id"])
    # Volts and degrees are floats whatever the JSON wrote (4 and 4.0 are the same reading).
    for cell in cells:
        cell["voltage"], cell["temperature"] = float(cell["voltage"]), float(cell["temperature"])
    return cells
