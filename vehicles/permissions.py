"""Who may call the ingest endpoints: a fleet's user, or a vehicle's device credential."""

from rest_framework.permissions import BasePermission

from fleets.permissions import IsFleetUser
from vehicles.authentication import DevicePrincipal


class IsFleetUserOrDevice(BasePermission):
    """A fleet's user, or a device credential (which the ingest services restrict to its own vehicle).

    Only POST /api/v1/diagnostics and POST /api/v1/diagnostics/bulk use it; everywhere else the default
    `IsFleetUser` refuses a device with 403.
    """

    def has_permission(self, request, view) -> bool:  # type: ignore[no-untyped-def]
        if isinstance(request.user, DevicePrincipal):
            return True
        fleet_user = IsFleetUser()
        allowed = fleet_user.has_permission(request, view)
        self.message = fleet_user.message
        return allowed


def device_vehicle_id(request) -> str | None:  # type: ignore[no-untyped-def]
    """The one vehicle_id a device credential may post for; None for a fleet user (any of its fleet's)."""
    user = request.user
    return user.vehicle_id if isinstance(user, DevicePrincipal) else None
