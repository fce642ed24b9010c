"""One exception handler renders every error in the contract's shape:

{"error": {"code": "...", "message": "one line", "fields": {"cells[3].voltage": ["..."]}}}

The only place where errors become HTTP: the domain errors that services raise (common.exceptions, each naming
its status and code), DRF's own (parsing, authentication, throttling, serializer validation), Django's 404/403,
the database being down (503) and anything unexpected (500, logged with its traceback).
"""

import logging
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response

from common.exceptions import Conflict, DomainError, InvalidError, ServiceUnavailable

logger = logging.getLogger(__name__)

DB_RETRY_AFTER_SECONDS = 5

_CODES: list[tuple[type[Exception], str]] = [
    (exceptions.ValidationError, "invalid"),
    (exceptions.ParseError, "parse_error"),
    (exceptions.NotAuthenticated, "not_authenticated"),
    (exceptions.AuthenticationFailed, "not_authenticated"),
    (exceptions.PermissionDenied, "permission_denied"),
    (exceptions.NotFound, "not_found"),
    (exceptions.UnsupportedMediaType, "unsupported_media_type"),
    (exceptions.MethodNotAllowed, "method_not_allowed"),
    (exceptions.NotAcceptable, "not_acceptable"),
    (exceptions.Throttled, "throttled"),
]


def flatten_errors(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """Turn DRF's nested error detail into {"cells[3].voltage": ["..."]}.

    Keys that start with "[" (list positions) attach to their parent without a dot.
    """
    flat: dict[str, list[str]] = {}
    if isinstance(detail, Mapping):
        for key, value in detail.items():
            key = str(key)
            if not prefix:
                path = key
            elif not key:
                path = prefix
            elif key.startswith("["):
                path = f"{prefix}{key}"
            else:
                path = f"{prefix}.{key}"
            for sub_path, messages in flatten_errors(value, path).items():
                flat.setdefault(sub_path, []).extend(messages)
    elif isinstance(detail, list) and detail and all(isinstance(item, (dict, list)) for item in detail):
        for index, item in enumerate(detail):
            if item:
                for sub_path, messages in flatten_errors(item, f"{prefix}[{index}]").items():
                    flat.setdefault(sub_path, []).extend(messages)
    elif isinstance(detail, list):
        flat[prefix or "non_field_errors"] = [str(item) for item in detail]
    else:
        flat[prefix or "non_field_errors"] = [str(detail)]
    return flat


def error_body(code: str, message: str, fields: dict[str, list[str]] | None = None, **extra: Any) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if fields is not None:
        error["fields"] = fields
    error.update(extra)
    return {"error": error}


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _validation_message(fields: dict[str, list[str]]) -> str:
    path, messages = next(iter(fields.items()))
    first = f"{path}: {messages[0]}" if messages else path
    if len(fields) == 1:
        return _one_line(f"Invalid input: {first}")
    return _one_line(f"Invalid input in {len(fields)} fields, first {first}")


def validation_error(detail: Any) -> dict[str, Any]:
    """The contract's error object for a validation failure: {"code": "invalid", "message", "fields"}."""
    fields = flatten_errors(detail)
    return error_body("invalid", _validation_message(fields), fields)["error"]


def domain_error_response(exc: DomainError) -> Response:
    """A domain error's answer: its status, its code, its one-line message (and ``fields`` for ``invalid``; a
    conflicting log's ``log_id`` both in the error object and at the top level, as the contract says)."""
    headers: dict[str, str] = {}
    if isinstance(exc, InvalidError):
        body = error_body(exc.code, _one_line(_validation_message(exc.fields)), exc.fields)
    elif exc.code == "invalid":
        body = error_body(exc.code, _one_line(exc.message), {"request": [_one_line(exc.message)]})
    else:
        body = error_body(exc.code, _one_line(exc.message), **exc.extra)
    if isinstance(exc, Conflict):
        body["log_id"] = exc.log_id
    if isinstance(exc, ServiceUnavailable) and exc.retry_after is not None:
        headers["Retry-After"] = str(exc.retry_after)
    return Response(body, status=exc.status, headers=headers)


def exception_handler(exc: Exception, context: Mapping[str, Any]) -> Response | None:
    """DRF's EXCEPTION_HANDLER: every error, expected or not, in the contract's shape."""
    if isinstance(exc, DomainError):
        return domain_error_response(exc)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    if isinstance(exc, (OperationalError, InterfaceError)):
        logger.warning("database unavailable: %s", exc)
        body = error_body("service_unavailable", "The database is unavailable; retry later.")
        return Response(body, status=503, headers={"Retry-After": str(DB_RETRY_AFTER_SECONDS)})
    if isinstance(exc, DatabaseError) or not isinstance(exc, exceptions.APIException):
        logger.exception("unhandled error", exc_info=exc)
        return Response(error_body("server_error", "Internal server error."), status=500)

    headers: dict[str, str] = {}
    auth_header = getattr(exc, "auth_header", None)
    if auth_header:
        headers["WWW-Authenticate"] = auth_header
    wait = getattr(exc, "wait", None)
    if wait is not None:
        headers["Retry-After"] = str(max(1, int(wait + 0.999)))

    if isinstance(exc, exceptions.ValidationError):
        return Response({"error": validation_error(exc.detail)}, status=400, headers=headers)

    code = exc.default_code if isinstance(exc.default_code, str) else "server_error"
    for exc_type, mapped in _CODES:
        if isinstance(exc, exc_type):
            code = mapped
            break
    else:
        if exc.status_code == 404:
            code = "not_found"
        elif exc.status_code == 503:
            code = "service_unavailable"
        elif exc.status_code >= 500:
            code = "server_error"
        elif code not in {"payload_too_large", "conflict"}:
            code = "invalid"
    detail = exc.detail
    if isinstance(detail, Mapping):
        # simplejwt puts its message under "detail" and the failing token under "messages".
        message = str(detail.get("detail", next(iter(detail.values()), "")))
    elif isinstance(detail, list):
        message = "; ".join(str(item) for item in detail)
    else:
        message = str(detail)
    body = error_body(code, _one_line(message), {"request": [_one_line(message)]} if code == "invalid" else None)
    return Response(body, status=exc.status_code, headers=headers)


# Django-level handlers, for URLs outside DRF views (unknown paths, crashes before a view).
def handler404(request, exception=None):  # type: ignore[no-untyped-def]
    return JsonResponse(error_body("not_found", "Not found."), status=status.HTTP_404_NOT_FOUND)


def handler500(request):  # type: ignore[no-untyped-def]
    return JsonResponse(error_body("server_error", "Internal server error."), status=500)


def handler400(request, exception=None):  # type: ignore[no-untyped-def]
    return JsonResponse(error_body("invalid", "Bad request.", {"request": ["Bad request."]}), status=400)


def handler403(request, exception=None):  # type: ignore[no-untyped-def]
    return JsonResponse(error_body("permission_denied", "Forbidden."), status=403)
