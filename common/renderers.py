"""JSON responses with orjson: several times faster than the standard library for the same bytes."""

import json
from typing import Any

import orjson
from rest_framework.renderers import BaseRenderer


class RawJSON:
    """JSON text already serialized (a JSONB column read as text): rendered as is, never parsed."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RawJSON) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)

    def __repr__(self) -> str:
        return f"RawJSON({self.text!r})"


def _orjson_default(value: Any) -> Any:
    if isinstance(value, RawJSON):
        return orjson.Fragment(value.text)
    raise TypeError


def _plain(value: Any) -> Any:
    """For the standard library's encoder: raw JSON as its value, anything else as text."""
    if isinstance(value, RawJSON):
        return json.loads(value.text)
    return str(value)


class ORJSONRenderer(BaseRenderer):
    media_type = "application/json"
    format = "json"
    charset = None  # JSON is UTF-8 by definition (RFC 8259)

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        if data is None:
            return b""
        try:
            return orjson.dumps(data, default=_orjson_default)
        except TypeError:
            # Anything orjson refuses (a lone surrogate in a message, an exotic type): escaped ASCII JSON.
            return json.dumps(data, ensure_ascii=True, default=_plain).encode()
