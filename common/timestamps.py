"""How the API writes a moment: UTC, microseconds, 'Z' (framework-free)."""

from datetime import UTC, datetime


def format_timestamp(value: datetime) -> str:
    """UTC, microseconds, 'Z': 2025-10-04T10:30:00.000000Z."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
