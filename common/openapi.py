"""OpenAPI descriptions (drf-spectacular): response bodies and the error shape, for every endpoint."""

from typing import Any

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, inline_serializer
from rest_framework import serializers

from common import vocabulary

ERROR_CODES = vocabulary.codes(vocabulary.ERROR_CODES)
_STATUSES = vocabulary.codes(vocabulary.PROCESSING_STATUSES)

# The vocabulary's enums as drf-spectacular's ENUM_NAME_OVERRIDES names them (config/settings/base.py).
ENUM_ANOMALY_CODES = vocabulary.codes(vocabulary.ANOMALIES)
ENUM_ANOMALY_UNITS = tuple(term.unit for term in vocabulary.ANOMALIES)
ENUM_DATA_QUALITY_FLAGS = vocabulary.codes(vocabulary.DATA_QUALITY_FLAGS)
ENUM_PROCESSING_STATUSES = _STATUSES
ENUM_FORECAST_STATUSES = vocabulary.codes(vocabulary.FORECAST_STATUSES)
ENUM_CELL_LEVELS = vocabulary.codes(vocabulary.CELL_LEVELS)
ENUM_CELL_REASONS = vocabulary.codes(vocabulary.CELL_REASONS)
ENUM_ALERT_TYPES = vocabulary.codes(vocabulary.ALERT_TYPES)
ENUM_SEVERITIES = vocabulary.codes(vocabulary.SEVERITIES)
ENUM_ALERT_STATES = vocabulary.codes(vocabulary.ALERT_STATES)
ENUM_RESOLUTIONS = vocabulary.codes(vocabulary.RESOLUTIONS)
ENUM_WEBHOOK_EVENTS = vocabulary.codes(vocabulary.WEBHOOK_EVENTS)
ENUM_DELIVERY_STATUSES = vocabulary.codes(vocabulary.DELIVERY_STATUSES)
ENUM_BULK_ITEM_STATUSES = vocabulary.codes(vocabulary.BULK_ITEM_STATUSES)
ENUM_ERROR_CODES = ERROR_CODES


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.ChoiceField(choices=ERROR_CODES)
    message = serializers.CharField()
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text='Present for "invalid": offending field paths such as cells[3].voltage.',
    )
    log_id = serializers.UUIDField(required=False, help_text='The existing log, for "conflict".')


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()
    log_id = serializers.UUIDField(required=False, help_text='The existing log, for "conflict".')


_ERROR_TEXT = {
    400: "Invalid input or unparseable JSON (code invalid or parse_error).",
    401: "Missing, expired or invalid access token (not_authenticated).",
    403: "Forbidden (permission_denied).",
    404: "Unknown, malformed or another fleet's id (not_found).",
    405: "Method not allowed (method_not_allowed); Allow lists the methods.",
    406: "No acceptable representation for the Accept header (not_acceptable).",
    409: "Same vehicle and timestamp with different content (conflict).",
    413: "Body larger than 1 MiB (payload_too_large).",
    415: "Content-Type is not application/json (unsupported_media_type).",
    429: "Rate limit exceeded (throttled); see Retry-After.",
    500: "Unexpected server error (server_error).",
    503: "The database is unavailable (service_unavailable); see Retry-After.",
}


def error_responses(*codes: int) -> dict[int, OpenApiResponse]:
    return {code: OpenApiResponse(ErrorSerializer, description=_ERROR_TEXT[code]) for code in codes}


AUTHENTICATED_ERRORS = (401, 403, 405, 406, 429, 500, 503)

INGEST_RESPONSE = inline_serializer(
    "IngestResponse",
    {
        "message": serializers.CharField(),
        "log_id": serializers.UUIDField(),
        "status": serializers.ChoiceField(choices=[code for code in _STATUSES if code != vocabulary.PENDING.code]),
    },
)

PROCESSING_RESPONSE = inline_serializer(
    "ReportProcessing",
    {"log_id": serializers.UUIDField(), "status": serializers.ChoiceField(choices=[vocabulary.PROCESSING.code])},
)


# Every list (common.pagination): `limit` and the opaque `cursor` of the previous answer's `next`.
LIST_PARAMETERS = [
    OpenApiParameter(
        "limit", {"type": "integer", "minimum": 1, "maximum": 500}, description="Items per page, 1-500 (default 50)."
    ),
    OpenApiParameter("cursor", str, description="The opaque cursor from a previous answer's `next`."),
]
TIME_WINDOW_PARAMETERS = [
    OpenApiParameter("since", {"type": "string", "format": "date-time"}, description="With an offset; inclusive."),
    OpenApiParameter("until", {"type": "string", "format": "date-time"}, description="With an offset; exclusive."),
]


def list_response(item: Any, name: str) -> Any:
    """The list answer: {"results": [item, ...], "next": url | null}."""
    return inline_serializer(
        name,
        {
            "results": item(many=True) if isinstance(item, type) else item,
            "next": serializers.URLField(allow_null=True, help_text="The next page, or null on the last."),
        },
    )
