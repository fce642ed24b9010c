"""Writes for fleets and users."""

from dataclasses import dataclass

from django.db import transaction

from fleets.models import Fleet, User


@dataclass(frozen=True)
class ApiUserResult:
    user: User
    fleet: Fleet
    user_created: bool
    fleet_created: bool


@transaction.atomic
def api_user_create(*, username: str, fleet_name: str, password: str) -> ApiUserResult:
    """Create the fleet if needed and the user in it, or reset an existing user's password and fleet."""
    fleet, fleet_created = Fleet.objects.get_or_create(name=fleet_name)
    user, user_created = User.objects.get_or_create(username=username, defaults={"fleet": fleet})
    user.fleet = fleet
    user.is_active = True
    user.set_password(password)
    user.save()
    return ApiUserResult(user=user, fleet=fleet, user_created=user_created, fleet_created=fleet_created)
