from django.apps import AppConfig


class VehiclesConfig(AppConfig):
    """The vehicles and what they sent: the registry and the stored diagnostic logs (below reports and
    diagnostics in the app graph)."""

    name = "vehicles"
    default_auto_field = "django.db.models.BigAutoField"
