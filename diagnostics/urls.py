from django.urls import re_path

from diagnostics.apis import DiagnosticLogDetailApi, DiagnosticLogIngestApi

urlpatterns = [
    re_path(r"^diagnostics/?$", DiagnosticLogIngestApi.as_view(), name="diagnostics-ingest"),
    re_path(r"^diagnostics/(?P<log_id>[^/]+)/?$", DiagnosticLogDetailApi.as_view(), name="diagnostics-detail"),
]
