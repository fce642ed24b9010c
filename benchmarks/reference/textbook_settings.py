"""Settings of the references served by Django: the project's settings with a textbook REST framework.

The textbook DRF floor is what a tutorial-shaped service looks like: DRF's own JSONParser and
JSONRenderer, simplejwt's JWTAuthentication (a user query per request), IsAuthenticated, no throttling,
a nested ModelSerializer and a generic CreateAPIView (``textbook_views.py``). Same database, same models,
same middleware, same Celery app (the view publishes the report task after commit, as ours does).
bench_latency's worker runs with these settings too, for the one line that imports ``bench.noop``.
"""

from config.settings.production import *  # noqa: F403

ROOT_URLCONF = "benchmarks.reference.textbook_urls"
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework_simplejwt.authentication.JWTAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
}
CELERY_IMPORTS = ["benchmarks.reference.celery_noop"]
