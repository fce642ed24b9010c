from dataclasses import replace

from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from alerts.selectors import alerts_open_by_type_and_severity
from common.metrics import DatabaseGauges
from common.views import healthz, metrics_view, readyz
from config.frontend import DASHBOARD_ROUTES, spa_index
from fleets.apis import TokenObtainApi, TokenRefreshApi
from vehicles.selectors import metrics_gauges_read

api_v1 = [
    path("auth/token", TokenObtainApi.as_view(), name="token-obtain"),
    path("auth/token/refresh", TokenRefreshApi.as_view(), name="token-refresh"),
    path("", include("diagnostics.urls")),
    path("", include("reports.urls")),
    path("", include("vehicles.urls")),
    path("", include("analytics.urls")),
    path("", include("alerts.urls")),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
]


def service_gauges_read() -> DatabaseGauges:
    """/metrics' scrape-time gauges: the logs' and vehicles' (one statement) and the open alerts'."""
    return replace(metrics_gauges_read(), alerts_open=alerts_open_by_type_and_severity())


urlpatterns = [
    path("api/v1/", include(api_v1)),
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("metrics", metrics_view(service_gauges_read), name="metrics"),
    path("admin/", admin.site.urls),
    # The dashboard's routes (frontend/src/App.tsx) get its index.html (config/frontend.py); any other path stays
    # a 404 in the error shape.
    re_path(DASHBOARD_ROUTES, spa_index, name="dashboard"),
]

handler400 = "common.errors.handler400"
handler403 = "common.errors.handler403"
handler404 = "common.errors.handler404"
handler500 = "common.errors.handler500"
