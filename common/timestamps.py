"""Timestamps as the API writes them: UTC, microseconds, "Z" (2025-10-04T10:30:00.000000Z).

Framework-free, so that every app (and the console report) formats a time the same way.
"""

from datetime import UTC, datetime


def format_timestamp(value: datetime) -> str:
    """An aware datetime in UTC with microseconds and a "Z": 2025-10-04T10:30:00.000000Z.

    A naive datetime is refused (ValueError): which zone it meant is unknown.
    """
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("format_timestamp needs an aware datetime (a naive one is ambiguous).")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
