from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    """Battery analytics over a vehicle's history: the health trend and forecast, the cell ranking.

    The science is `analytics.domain` (plain Python with NumPy/SciPy, no Django); this app is its thin
    adapter: selectors that read the vehicle's logs and endpoints that answer with the domain's results.
    """

    name = "analytics"
    default_auto_field = "django.db.models.BigAutoField"
