from django.apps import AppConfig


class SimulatorConfig(AppConfig):
    """Mock telemetry: the log generator and the `simulate_fleet` command. It has no models."""

    name = "simulator"
    default_auto_field = "django.db.models.BigAutoField"
