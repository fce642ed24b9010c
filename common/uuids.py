import uuid

from rest_framework.exceptions import NotFound


def uuid_or_404(value: str) -> uuid.UUID:
    """A malformed id names no log: 404, like an unknown one."""
    try:
        return uuid.UUID(value)
    except ValueError:
        raise NotFound("No such log.") from None
