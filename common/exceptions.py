"""Typed errors raised by services and parsing; common.errors renders them in the contract's shape."""

from rest_framework import status
from rest_framework.exceptions import APIException


class Conflict(APIException):
    """The (vehicle_id, timestamp) pair exists with different content."""

    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"
    default_detail = "A log with this vehicle_id and timestamp exists with different content."

    def __init__(self, *, log_id: str, detail: str | None = None) -> None:
        super().__init__(detail)
        self.log_id = log_id


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "payload_too_large"
    default_detail = "Request body is larger than 1 MiB."


class ServiceUnavailable(APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "service_unavailable"
    default_detail = "The service is temporarily unavailable; retry later."
