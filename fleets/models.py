from django.contrib.auth.models import AbstractUser
from django.db import models


class Fleet(models.Model):
    """A tenant: an operator's fleet of vehicles. Users see only their own fleet's data."""

    name = models.CharField(max_length=100, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    """An API user. Every API user belongs to exactly one fleet; staff accounts may have none."""

    fleet = models.ForeignKey(Fleet, on_delete=models.PROTECT, null=True, blank=True, related_name="users")
