from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "reports"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Register the report tasks in every process (web included), so that reports.dispatch can publish
        # them by name and run them in-process in eager mode.
        from reports import tasks  # noqa: F401
