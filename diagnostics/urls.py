from django.urls import path

from diagnostics.apis import DiagnosticLogBulkIngestApi, DiagnosticLogDetailApi, DiagnosticLogIngestApi

urlpatterns = [
    path("diagnostics", DiagnosticLogIngestApi.as_view(), name="diagnostics-ingest"),
    path("diagnostics/bulk", DiagnosticLogBulkIngestApi.as_view(), name="diagnostics-bulk"),
    path("diagnostics/<str:log_id>", DiagnosticLogDetailApi.as_view(), name="diagnostics-detail"),
]
