"""JSON responses with orjson: several times faster than the standard library for the same bytes."""

import json
from typing import Any

import orjson
from rest_framework.renderers import BaseRenderer


class ORJSONRenderer(BaseRenderer):
    media_type = "application/json"
    format = "json"
    charset = None  # JSON is UTF-8 by definition (RFC 8259)

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        if data is None:
            return b""
        try:
            return orjson.dumps(data)
        except TypeError:
            # Anything orjson refuses (a lone surrogate in a message, an exotic type): escaped ASCII JSON.
            return json.dumps(data, ensure_ascii=True, default=str).encode()
