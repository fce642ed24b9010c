from django.urls import path

from diagnostics.apis import DiagnosticLogDetailApi, DiagnosticLogIngestApi

urlpatterns = [
    path("diagnostics", DiagnosticLogIngestApi.as_view(), name="diagnostics-ingest"),
    path("diagnostics/<str:log_id>", DiagnosticLogDetailApi.as_view(), name="diagnostics-detail"),
]
