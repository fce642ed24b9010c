"""OpenAPI descriptions (drf-spectacular): response bodies and the error shape, for every endpoint."""

from typing import Any

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, inline_serializer
from rest_framework import serializers

ERROR_CODES = [
    "invalid",
    "parse_error",
    "not_authenticated",
    "permission_denied",
    "not_found",
    "conflict",
    "payload_too_large",
    "unsupported_media_type",
    "method_not_allowed",
    "not_acceptable",
    "throttled",
    "server_error",
    "service_unavailable",
]


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
        "status": serializers.ChoiceField(choices=["processing", "completed", "failed"]),
    },
)

PROCESSING_RESPONSE = inline_serializer(
    "ReportProcessing",
    {"log_id": serializers.UUIDField(), "status": serializers.ChoiceField(choices=["processing"])},
)


# Every list (common.pagination): `limit` and the opaque `cursor` of the previous answer's `next`.
LIST_PARAMETERS = [
    OpenApiParameter("limit", int, description="Items per page, 1-500 (default 50)."),
    OpenApiParameter("cursor", str, description="The opaque cursor from a previous answer's `next`."),
]
TIME_WINDOW_PARAMETERS = [
    OpenApiParameter("since", str, description="ISO 8601 with an offset; inclusive."),
    OpenApiParameter("until", str, description="ISO 8601 with an offset; exclusive."),
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
