from django.urls import path

from reports.apis import (
    BatteryReportDetailApi,
    FleetAnomalyTimelineApi,
    FleetSummaryApi,
    ReportCsvApi,
    ReportListApi,
    VehicleCertificateApi,
    VehicleReportListApi,
)

urlpatterns = [
    path("reports", ReportListApi.as_view(), name="reports-list"),
    path("reports.csv", ReportCsvApi.as_view(), name="reports-csv"),
    path("reports/<str:log_id>", BatteryReportDetailApi.as_view(), name="reports-detail"),
    path("vehicles/<str:vehicle_id>/reports", VehicleReportListApi.as_view(), name="vehicles-reports"),
    path("vehicles/<str:vehicle_id>/certificate.pdf", VehicleCertificateApi.as_view(), name="vehicles-certificate"),
    path("fleet/summary", FleetSummaryApi.as_view(), name="fleet-summary"),
    path("fleet/anomaly-timeline", FleetAnomalyTimelineApi.as_view(), name="fleet-anomaly-timeline"),
]
