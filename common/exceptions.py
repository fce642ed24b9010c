"""Typed domain errors, raised by services, validation and parsing. Plain Python: no Django, DRF or HTTP here.

``common.errors`` alone turns them into HTTP answers in the contract's error shape (the status and the code
are named on each class, the code from common.vocabulary.ERROR_CODES); views catch none of them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

__all__ = [
    "Conflict",
    "ConflictError",
    "DomainError",
    "ForbiddenError",
    "InvalidError",
    "NotFoundError",
    "PayloadTooLarge",
    "ServiceUnavailable",
]


class DomainError(Exception):
    """A refusal the caller can act on: ``message`` (one line, for people), the contract's ``code`` and the HTTP
    ``status`` it answers; ``extra`` are further members of the error object (e.g. ``log_id``)."""

    status: ClassVar[int] = 400
    code: ClassVar[str] = "invalid"
    default_message: ClassVar[str] = "Invalid request."

    def __init__(self, message: str | None = None, **extra: Any) -> None:
        self.message = message or self.default_message
        self.extra = extra
        super().__init__(self.message)


class InvalidError(DomainError):
    """400 ``invalid``: ``fields`` maps each offending field path (``cells[3].voltage``, ``url``) to its messages."""

    def __init__(self, fields: Mapping[str, Sequence[str]], message: str | None = None) -> None:
        self.fields = {path: list(messages) for path, messages in fields.items()}
        super().__init__(message or _first_problem(self.fields))


def _first_problem(fields: Mapping[str, Sequence[str]]) -> str:
    if not fields:
        return "Invalid input."
    path, messages = next(iter(fields.items()))
    return f"{path}: {messages[0]}" if messages else path


class NotFoundError(DomainError):
    """404 ``not_found``: unknown, malformed or another fleet's (the contract does not tell them apart)."""

    status = 404
    code = "not_found"
    default_message = "Not found."


class ForbiddenError(DomainError):
    """403 ``permission_denied``: e.g. a vehicle of another fleet, a device credential posting another vehicle."""

    status = 403
    code = "permission_denied"
    default_message = "Forbidden."


class ConflictError(DomainError):
    """409 ``conflict``: the request contradicts what is stored (a resolved alert, a VIN already in use...)."""

    status = 409
    code = "conflict"
    default_message = "The request conflicts with the stored state."


class Conflict(ConflictError):
    """409: the (vehicle_id, timestamp) pair exists with different content; ``log_id`` names the stored log (the
    answer carries it in the error object and at the top level, as the contract says)."""

    default_message = "A log with this vehicle_id and timestamp exists with different content."

    def __init__(self, *, log_id: str, detail: str | None = None) -> None:
        self.log_id = log_id
        super().__init__(detail, log_id=log_id)


class PayloadTooLarge(DomainError):
    """413 ``payload_too_large``: a body over the limit, or a bulk request with too many logs."""

    status = 413
    code = "payload_too_large"
    default_message = "Request body is larger than 1 MiB."


class ServiceUnavailable(DomainError):
    """503 ``service_unavailable``: a dependency is down; ``retry_after`` seconds go in the Retry-After header."""

    status = 503
    code = "service_unavailable"
    default_message = "The service is temporarily unavailable; retry later."

    def __init__(self, message: str | None = None, *, retry_after: int | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(message)
