from django.urls import re_path

from reports.apis import BatteryReportDetailApi

urlpatterns = [
    re_path(r"^reports/(?P<log_id>[^/]+)/?$", BatteryReportDetailApi.as_view(), name="reports-detail"),
]
