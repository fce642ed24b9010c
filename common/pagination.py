"""Cursor pagination for every list of the API: `limit` (1-500, default 50) and an opaque `cursor`, answered as
`{"results": [...], "next": "<url with cursor>" | null}`.

DRF's CursorPagination, positioned by the pair (ordering value, primary key) instead of (value, offset):
- DRF's own position is the ordering value alone plus an offset past equal values, with the offset capped
  at 1,000: a fleet whose vehicles all posted at the same instant (or have no report yet) has more equal
  values than that, and its pages would silently repeat rows. A keyset pair has no ties, so a page is one
  index range scan however deep, and rows inserted while a client pages never shift it.
- the cursor is signed (django.core.signing, salted per list): a cursor the server did not issue is a 400
  naming `cursor`, never a query on a forged value.
The links, the page size parameter and the OpenAPI parameters are DRF's.
"""

from datetime import date, datetime
from typing import Any

from django.core import signing
from django.db.models import Q, QuerySet
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

MAX_LIMIT = 500
DEFAULT_LIMIT = 50


def _json_value(value: Any) -> Any:
    """A position value as JSON keeps it, exactly (datetimes with their microseconds)."""
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (str, int, float)) or value is None:
        return value
    return str(value)  # UUID, Decimal


class KeysetCursorPagination(CursorPagination):
    """Pages of `queryset` ordered by `ordering` (one field or annotation, `-` for descending, never NULL: order
    by a Coalesce of a nullable field) then by `tiebreak`, a unique field, in the same direction."""

    page_size = DEFAULT_LIMIT
    page_size_query_param = "limit"
    max_page_size = MAX_LIMIT
    cursor_query_param = "cursor"
    template = None

    def __init__(self, *, ordering: str, salt: str, tiebreak: str = "id", max_page_size: int = MAX_LIMIT) -> None:
        self.ordering = ordering
        self.salt = f"cursor:{salt}:{ordering}"
        self.tiebreak = tiebreak
        self.max_page_size = max_page_size
        self.has_next = False
        self.page: list[Any] = []

    def get_page_size(self, request: Request) -> int:
        return limit_param(request, default=self.page_size, maximum=self.max_page_size)

    def decode_cursor(self, request: Request) -> tuple[Any, Any] | None:  # type: ignore[override]
        encoded = request.query_params.get(self.cursor_query_param)
        if encoded is None:
            return None
        try:
            value, key = signing.loads(encoded, salt=self.salt)
        except (signing.BadSignature, ValueError, TypeError):
            message = "Not a cursor this server issued for this list."
            raise ValidationError({self.cursor_query_param: [message]}) from None
        return value, key

    def encode_cursor(self, position: tuple[Any, Any]) -> str:  # type: ignore[override]
        token = signing.dumps([_json_value(position[0]), _json_value(position[1])], salt=self.salt, compress=True)
        return str(replace_query_param(self.base_url, self.cursor_query_param, token))

    def _position(self, row: Any, field: str) -> Any:
        return row[field] if isinstance(row, dict) else getattr(row, field)

    def paginate_queryset(self, queryset: QuerySet[Any], request: Request, view: Any = None) -> list[Any]:
        self.request = request
        self.page_size = self.get_page_size(request)
        self.base_url = remove_query_param(request.build_absolute_uri(), self.cursor_query_param)
        field = self.ordering.lstrip("-")
        descending = self.ordering.startswith("-")
        sign = "-" if descending else ""
        queryset = queryset.order_by(f"{sign}{field}", f"{sign}{self.tiebreak}")
        position = self.decode_cursor(request)
        if position is not None:
            value, key = position
            beyond = "lt" if descending else "gt"
            # The plain bound first lets an index on (…, field, tiebreak) start at the position; the OR alone
            # would be a filter over every row before it.
            queryset = queryset.filter(**{f"{field}__{beyond}e": value}).filter(
                Q(**{f"{field}__{beyond}": value}) | Q(**{field: value, f"{self.tiebreak}__{beyond}": key})
            )
        rows = list(queryset[: self.page_size + 1])
        self.page = rows[: self.page_size]
        self.has_next = len(rows) > self.page_size
        self._field = field
        return self.page

    def get_next_link(self) -> str | None:
        if not self.has_next:
            return None
        last = self.page[-1]
        return self.encode_cursor((self._position(last, self._field), self._position(last, self.tiebreak)))

    def get_paginated_response(self, data: Any) -> Response:
        return Response({"results": data, "next": self.get_next_link()})

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "required": ["results", "next"],
            "properties": {
                "results": schema,
                "next": {"type": "string", "nullable": True, "format": "uri", "description": "The next page."},
            },
        }


def position_sign(position: tuple[Any, Any], *, salt: str) -> str:
    """An opaque cursor for a keyset position, for a list whose query is not a queryset (raw SQL)."""
    return signing.dumps([_json_value(position[0]), _json_value(position[1])], salt=f"cursor:{salt}", compress=True)


def position_unsign(token: str, *, salt: str, param: str = "cursor") -> tuple[Any, Any]:
    """The position of a cursor issued by `position_sign` with the same salt; a 400 naming `param` otherwise."""
    try:
        value, key = signing.loads(token, salt=f"cursor:{salt}")
    except (signing.BadSignature, ValueError, TypeError):
        raise ValidationError({param: ["Not a cursor this server issued for this list."]}) from None
    return value, key


def limit_param(request: Request, *, default: int = DEFAULT_LIMIT, maximum: int = MAX_LIMIT) -> int:
    """?limit=, validated: an integer from 1 to `maximum` (a 400 naming it otherwise)."""
    raw = request.query_params.get("limit")
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit() and 1 <= int(raw) <= maximum):
        raise ValidationError({"limit": [f"Must be an integer from 1 to {maximum}."]})
    return int(raw)
