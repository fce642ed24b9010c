from rest_framework.permissions import BasePermission


class IsFleetMember(BasePermission):
    """Authenticated and in a fleet: every read and write is scoped to `request.user.fleet_id`."""

    message = "This account belongs to no fleet."

    def has_permission(self, request, view) -> bool:  # type: ignore[no-untyped-def]
        user = request.user
        return bool(user and user.is_authenticated and user.fleet_id is not None)
