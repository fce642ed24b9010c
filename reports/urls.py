from django.urls import path

from reports.apis import BatteryReportDetailApi

urlpatterns = [
    path("reports/<str:log_id>", BatteryReportDetailApi.as_view(), name="reports-detail"),
]
