from django.urls import path

from benchmarks.reference.textbook_views import TextbookDiagnosticLogCreate, plain_report
from common.views import healthz

urlpatterns = [
    path("textbook/diagnostics", TextbookDiagnosticLogCreate.as_view(), name="textbook-diagnostics"),
    path("plain/reports/<str:log_id>", plain_report, name="plain-report"),
    path("healthz", healthz, name="healthz"),
]
