"""Reading a request's JSON body by the contract's rules."""

from typing import Any

from rest_framework.exceptions import ParseError, UnsupportedMediaType
from rest_framework.request import Request


def json_body(request: Request, media_types: tuple[str, ...] = ("application/json",)) -> Any:
    """The parsed JSON body: 415 unless Content-Type is one of `media_types`, 400 parse_error if empty.

    DRF treats a body without a Content-Type, or an empty body, as an empty form; the contract does not.
    """
    media_type = (request.content_type or "").split(";", 1)[0].strip().lower()
    if media_type not in media_types:
        raise UnsupportedMediaType(media_type or "(none)")
    data = request.data
    if request.stream is None:
        raise ParseError("Body is empty; expected a JSON object.")
    return data
