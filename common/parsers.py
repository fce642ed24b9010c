"""A strict JSON parser for request bodies.

Python's json module accepts NaN, Infinity, numbers that overflow to infinity (1e999) and repeated
keys, and recurses until it runs out of stack (RecursionError); the contract rejects all of these with a
400, and so is any body nested more than MAX_DEPTH levels deep, wherever (an ignored field too).
"""

import json
import math
import re
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser

from common.exceptions import PayloadTooLarge
from common.limits import MAX_DEPTH


class _Reject(ValueError):
    pass


def _reject_constant(name: str) -> Any:
    raise _Reject(f"{name} is not a valid JSON number.")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Reject(f"Number {text[:40]} is too large to be finite.")
    return value


def _finite_int(text: str) -> int:
    value = int(text)
    if len(text) > 308:  # only then can an integer overflow a double; e.g. 1 followed by 400 zeros
        try:
            float(value)
        except OverflowError:
            raise _Reject(f"Number {text[:40]}... is too large to be finite.") from None
    return value


# Only an escape can make a lone surrogate: UTF-8 cannot encode one, and json pairs valid escapes.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _check_no_lone_surrogates(value: Any) -> None:
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            items: Any = (node,)
        elif isinstance(node, dict):
            items = node.keys()
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
            continue
        else:
            continue
        for text in items:
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                raise ParseError("JSON parse error: a string holds a lone UTF-16 surrogate.") from None


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                shown = key[:64].encode("utf-8", "backslashreplace").decode("utf-8")
                raise _Reject(f'Repeated key "{shown}" in an object.')
            seen.add(key)
    return obj


_TOO_DEEP = f"JSON nesting is deeper than {MAX_DEPTH} levels."


def _depth(value: Any) -> int:
    """Depth of nested containers, iteratively (no recursion on hostile input)."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict):
            children = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in children if isinstance(child, (dict, list)))
    return deepest


def loads_strict(raw: bytes | str) -> Any:
    """Parse a JSON document by the contract's rules; raise ParseError (400 parse_error) otherwise.

    Depth counts nested arrays and objects from the document's root: MAX_DEPTH levels pass, one more does not.
    """
    if isinstance(raw, bytes):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ParseError(f"Body is not valid UTF-8 (byte {exc.start}).") from None
    else:
        text = raw
    if not text.strip():
        raise ParseError("Body is empty; expected a JSON object.")
    try:
        data = json.loads(
            text,
            parse_constant=_reject_constant,
            parse_float=_finite_float,
            parse_int=_finite_int,
            object_pairs_hook=_no_duplicate_keys,
        )
    except _Reject as exc:
        raise ParseError(f"JSON parse error: {exc}") from None
    except RecursionError:
        raise ParseError(_TOO_DEEP) from None
    except ValueError as exc:  # JSONDecodeError, and int() refusing over-long digit strings
        raise ParseError(f"JSON parse error: {exc}") from None
    if _depth(data) > MAX_DEPTH:
        raise ParseError(_TOO_DEEP)
    if _SURROGATE_ESCAPE.search(text):
        _check_no_lone_surrogates(data)
    return data


def read_limited(stream: Any, limit: int) -> bytes:
    """Read at most `limit` bytes; 413 if the body is larger."""
    if stream is None:
        return b""
    raw = stream.read(limit + 1)
    if len(raw) > limit:
        raise PayloadTooLarge()
    return raw


class StrictJSONParser(BaseParser):
    media_type = "application/json"

    def max_bytes(self) -> int:
        return int(settings.MAX_BODY_BYTES)

    def read_body(self, stream: Any, parser_context: dict[str, Any] | None) -> bytes:
        request = (parser_context or {}).get("request")
        limit = self.max_bytes()
        if request is not None:
            try:
                declared = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                declared = 0
            if declared > limit:
                raise PayloadTooLarge(f"Request body is larger than {limit} bytes.")
        try:
            return read_limited(stream, limit)
        except PayloadTooLarge:
            raise PayloadTooLarge(f"Request body is larger than {limit} bytes.") from None

    def parse(self, stream: Any, media_type: str | None = None, parser_context: dict[str, Any] | None = None) -> Any:
        return loads_strict(self.read_body(stream, parser_context))


class RawJSONParser(StrictJSONParser):
    """application/json within the size limit, handed over as bytes for a compiled validator to parse."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: dict[str, Any] | None = None) -> Any:
        return self.read_body(stream, parser_context)


class BulkJSONParser(StrictJSONParser):
    """A JSON array of logs, and a larger body. Its depth counts from the array (docs/bulk.md): at most
    MAX_DEPTH levels for the whole body, so an item may be one level less deep than a single log."""

    def max_bytes(self) -> int:
        return int(settings.MAX_BULK_BODY_BYTES)

    @classmethod
    def loads(cls, raw: bytes) -> Any:
        """The whole body parsed strictly, as `parse` returns it (any problem anywhere: ParseError)."""
        return loads_strict(raw)

    def parse(self, stream: Any, media_type: str | None = None, parser_context: dict[str, Any] | None = None) -> Any:
        return self.loads(self.read_body(stream, parser_context))


@dataclass(frozen=True, slots=True)
class RawBulkBody:
    """A bulk body within the size limit, not parsed yet: a JSON array, or NDJSON already checked to be UTF-8."""

    raw: bytes
    ndjson: bool


class RawBulkJSONParser(BulkJSONParser):
    """BulkJSONParser's media type and size limit, the body handed over unparsed (a RawBulkBody): a compiled
    validator may decode it first; `BulkJSONParser.loads` is the strict parse that decides otherwise."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: dict[str, Any] | None = None) -> Any:
        return RawBulkBody(self.read_body(stream, parser_context), ndjson=False)


class LineError:
    """An NDJSON line that is not a valid log document: reported for that item, not the whole request."""

    def __init__(self, message: str) -> None:
        self.message = message


class NDJSONParser(StrictJSONParser):
    """Newline-delimited JSON: one log a line, each parsed strictly on its own; blank lines are skipped."""

    media_type = "application/x-ndjson"

    def max_bytes(self) -> int:
        return int(settings.MAX_BULK_BODY_BYTES)

    @staticmethod
    def text(raw: bytes) -> str:
        """The body as text; a body that is not UTF-8 is a request-level ParseError."""
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ParseError(f"Body is not valid UTF-8 (byte {exc.start}).") from None

    @staticmethod
    def is_blank(line: str) -> bool:
        """A line skipped as blank: nothing but white space (str.strip's, Unicode's included)."""
        return not line.strip()

    @staticmethod
    def parse_line(line: str) -> Any:
        """One non-blank line: the parsed document, or a LineError naming why it does not parse."""
        try:
            return loads_strict(line)
        except ParseError as exc:
            return LineError(str(exc.detail))

    def parse(self, stream: Any, media_type: str | None = None, parser_context: dict[str, Any] | None = None) -> Any:
        text = self.text(self.read_body(stream, parser_context))
        return [self.parse_line(line) for line in text.split("\n") if not self.is_blank(line)]


class RawNDJSONParser(NDJSONParser):
    """NDJSONParser's media type, size limit and UTF-8 check, the lines left unparsed (a RawBulkBody)."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: dict[str, Any] | None = None) -> Any:
        raw = self.read_body(stream, parser_context)
        if not raw.isascii():  # ASCII is UTF-8; else decode, only to check (the lines are split from the bytes)
            self.text(raw)
        return RawBulkBody(raw, ndjson=True)
