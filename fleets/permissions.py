from rest_framework.permissions import BasePermission

from fleets.models import User


class IsFleetUser(BasePermission):
    """A fleet's user (a JWT-authenticated `User` with a fleet): every read and write is scoped to
    `request.user.fleet_id`.

    The default permission of every API view (settings.REST_FRAMEWORK). Any other authenticated principal
    (a vehicle's device credential) is refused with 403: it is authenticated, just not allowed here.
    """

    message = "This account belongs to no fleet."

    def has_permission(self, request, view) -> bool:  # type: ignore[no-untyped-def]
        user = request.user
        if not (user and user.is_authenticated):
            return False
        if not isinstance(user, User):
            self.message = "A device credential may only post its own vehicle's logs."
            return False
        return user.fleet_id is not None


# The name the views have always used.
IsFleetMember = IsFleetUser
