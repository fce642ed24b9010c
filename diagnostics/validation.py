"""Validation of diagnostic log bodies: one entry point per body kind.

- `log_validate(raw)`: one log, as the bytes of a request body (or a file, or a simulated log dumped to
  JSON): the validated log, or ParseError / ValidationError naming every offending field.
- `logs_validate_bulk(body)`: the items of POST /api/v1/diagnostics/bulk, each a validated log or its
  ItemError.

Both take the compiled fast path first (msgspec decodes and type-checks a well-formed log in one C pass;
a few Python checks finish the contract's rules) and fall back to the full path (`common.parsers`'
strict parse, then the DRF serializer) whenever the fast path declines. The fast path only ever accepts:
whenever a body is anything but a plain, valid log (an error of any kind, an unknown field, a repeated
key, an integer written as 412.0, an integer too large for a double) it returns None, and the full path
accepts or names every offending field. So both paths give the same answers; the fast one is many times
cheaper (figures: benchmarks/bench_validation.py). Both are built from `diagnostics.contract`, which holds
every bound, pattern and message.

Bulk, JSON array: msgspec splits the array into its raw items (checking the JSON syntax of the array
itself); when the fast path accepts every item, those are the answers. Otherwise (a body that is not an
array, more items than allowed, any item declined) the whole body takes the full path, so every
request-level error (400 parse_error, 400 not an array, 413) and every per-item error is the full path's.
An accepted item holds only the log's six known keys, each once, with in-range numbers and ASCII strings,
so nothing in an accepted body could fail the strict parse (depth, repeated keys, NaN, numbers beyond a
double, lone surrogates, bad UTF-8); JSON white space is the same four characters for both parsers.
Bulk, NDJSON: per line, the fast path, else the parser's own handling of that line (a LineError when it
does not parse, then the full path).
"""

from dataclasses import dataclass
from typing import Annotated, Any

import msgspec
from django.conf import settings
from rest_framework.exceptions import ValidationError

from common.errors import validation_error
from common.exceptions import PayloadTooLarge
from common.parsers import BulkJSONParser, LineError, NDJSONParser, RawBulkBody, loads_strict
from diagnostics import contract
from diagnostics.serializers import DiagnosticLogSerializer

BULK_NOT_AN_ARRAY = "Expected a JSON array of logs (or NDJSON)."


@dataclass(frozen=True, slots=True)
class ItemError:
    """A bulk item that is not a valid log: the contract's error object for it (code parse_error or invalid)."""

    error: dict[str, Any]


BulkItem = dict[str, Any] | ItemError


def log_validate(raw: bytes) -> dict[str, Any]:
    """One log body to its validated data: {vehicle_id, timestamp (aware UTC), cells (sorted by id, float
    readings), cycle_count, nominal_capacity_kwh, current_capacity_kwh}; unknown top-level fields dropped.

    Raises ParseError (not strict JSON: 400 parse_error) or ValidationError (400 invalid, every offending
    field named).
    """
    return _log_fast(raw) or _log_full(loads_strict(raw))


def logs_validate_bulk(body: RawBulkBody) -> list[BulkItem]:
    """Per item, in order: the validated log (as `log_validate` returns it) or its ItemError.

    Raises what the request as a whole fails with: ParseError (the JSON array does not parse),
    ValidationError (not an array), PayloadTooLarge (more than MAX_BULK_ITEMS items).
    """
    if body.ndjson:
        return _ndjson_items(body.raw)
    items = _json_array_fast(body.raw)
    if items is not None:
        return items
    data = BulkJSONParser.loads(body.raw)
    if not isinstance(data, list):
        raise ValidationError({"non_field_errors": [BULK_NOT_AN_ARRAY]})
    _check_count(len(data))
    return [_item_full(item) for item in data]


# --- The full path: the DRF serializer over strictly parsed JSON -----------------------------------------------


def _log_full(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ValidationError({"non_field_errors": [contract.NOT_AN_OBJECT]})
    serializer = DiagnosticLogSerializer(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _item_full(item: Any) -> BulkItem:
    """The full path for one parsed bulk item (a LineError: an NDJSON line that did not parse)."""
    if isinstance(item, LineError):
        return ItemError({"code": "parse_error", "message": item.message})
    try:
        return _log_full(item)
    except ValidationError as exc:
        return ItemError(validation_error(exc.detail))


# --- The fast path: msgspec, its constraints drawn from the contract ----------------------------------------


def _meta(bounds: contract.Range) -> msgspec.Meta:
    if bounds.exclusive_minimum:
        return msgspec.Meta(gt=bounds.minimum, le=bounds.maximum)
    return msgspec.Meta(ge=bounds.minimum, le=bounds.maximum)


class _Cell(msgspec.Struct, forbid_unknown_fields=True):
    id: Annotated[int, msgspec.Meta(ge=contract.CELL_ID_MIN, lt=contract.CELLS_MAX)]
    voltage: Annotated[float, _meta(contract.VOLTAGE_V)]
    temperature: Annotated[float, _meta(contract.TEMPERATURE_C)]


class _Log(msgspec.Struct, forbid_unknown_fields=True):
    # The length here, the pattern with VEHICLE_ID_RE.fullmatch (msgspec's pattern searches: "$" admits "\n").
    vehicle_id: Annotated[
        str, msgspec.Meta(min_length=contract.VEHICLE_ID_MIN_LENGTH, max_length=contract.VEHICLE_ID_MAX_LENGTH)
    ]
    timestamp: str
    cells: Annotated[list[_Cell], msgspec.Meta(min_length=contract.CELLS_MIN, max_length=contract.CELLS_MAX)]
    cycle_count: Annotated[int, _meta(contract.CYCLE_COUNT)]
    nominal_capacity_kwh: Annotated[float, _meta(contract.NOMINAL_CAPACITY_KWH)]
    current_capacity_kwh: Annotated[float, _meta(contract.CURRENT_CAPACITY_KWH)]


_decoder = msgspec.json.Decoder(_Log)
_array_decoder = msgspec.json.Decoder(list[msgspec.Raw])
_TOP_LEVEL_KEYS = len(_Log.__struct_fields__)
_CELL_KEYS = len(_Cell.__struct_fields__)
# The string values of a log: vehicle_id and timestamp (cells hold numbers only).
_STRING_VALUES = 2


def _key_count_is(raw: bytes, expected: int) -> bool:
    """True when the body holds exactly `expected` keys, i.e. none is repeated.

    msgspec, like every fast JSON parser, keeps the last of repeated keys silently; the contract rejects
    them. The caller has decoded the body as a log (every key known, every value typed), so its strings
    are its keys and the two string values, and each string adds two double quotes, plus one per escaped
    quote inside it. A valid log therefore holds exactly 2 x (6 + 3 x cells + 2) double quotes; a
    repeated key adds two, an escaped quote one (either sends the body to the full path). One byte count,
    whatever the white space: about 2 us for a 100-cell log.
    """
    return raw.count(b'"') == 2 * (expected + _STRING_VALUES)


def _log_fast(raw: bytes) -> dict[str, Any] | None:
    """The validated log, or None when the full path must decide (never a wrong acceptance)."""
    try:
        log = _decoder.decode(raw)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):  # malformed, mistyped, bad UTF-8: full path
        return None
    cells = log.cells
    if not contract.VEHICLE_ID_RE.fullmatch(log.vehicle_id):
        return None
    if not _key_count_is(raw, _TOP_LEVEL_KEYS + _CELL_KEYS * len(cells)):
        return None
    in_order = all(cell.id == index for index, cell in enumerate(cells))
    if not in_order and sorted(cell.id for cell in cells) != list(range(len(cells))):
        return None
    if contract.capacity_error(log.nominal_capacity_kwh, log.current_capacity_kwh):
        return None
    try:
        timestamp = contract.clean_timestamp(log.timestamp)
    except contract.ContractError:
        return None
    ordered = cells if in_order else sorted(cells, key=_cell_id)
    return {
        "vehicle_id": log.vehicle_id,
        "timestamp": timestamp,
        "cells": msgspec.to_builtins(ordered),
        "cycle_count": log.cycle_count,
        "nominal_capacity_kwh": log.nominal_capacity_kwh,
        "current_capacity_kwh": log.current_capacity_kwh,
    }


def _cell_id(cell: _Cell) -> int:
    return cell.id


# --- Bulk --------------------------------------------------------------------------------------------------------


def _check_count(count: int) -> None:
    if count > settings.MAX_BULK_ITEMS:
        raise PayloadTooLarge(f"At most {settings.MAX_BULK_ITEMS} logs per request; got {count}.")


def _json_array_fast(raw: bytes) -> list[BulkItem] | None:
    """Every item's validated log when the fast path accepts them all; None when the full path must decide."""
    try:
        parts = _array_decoder.decode(raw)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):  # not an array, malformed, too deep
        return None
    if len(parts) > settings.MAX_BULK_ITEMS:
        return None  # a 413, unless the strict parse fails first (a 400): the full path decides which
    items: list[BulkItem] = []
    for part in parts:
        data = _log_fast(bytes(part))
        if data is None:
            return None
        items.append(data)
    return items


def _ndjson_items(raw: bytes) -> list[BulkItem]:
    # Split on b"\n" as the parser splits the decoded text on "\n" (UTF-8 never has 0x0A inside a
    # character); a line is blank by the parser's rule, str.strip (a line starting with "{" never is).
    lines = [line for line in raw.split(b"\n") if line[:1] == b"{" or not NDJSONParser.is_blank(line.decode())]
    _check_count(len(lines))
    items: list[BulkItem] = []
    for line in lines:
        data = _log_fast(line)
        items.append(data if data is not None else _item_full(NDJSONParser.parse_line(line.decode())))
    return items
