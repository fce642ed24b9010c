from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "alerts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Register the alert tasks in every process (web included), so that alerts.dispatch can publish them
        # by name and run them in-process in eager mode.
        from alerts import tasks  # noqa: F401
