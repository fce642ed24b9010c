from django.apps import AppConfig


class TelemetryConfig(AppConfig):
    """What the vehicles sent: the vehicles and their stored diagnostic logs (the bottom of the app graph)."""

    name = "telemetry"
    default_auto_field = "django.db.models.BigAutoField"
