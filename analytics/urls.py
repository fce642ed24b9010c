from django.urls import path

from analytics.apis import VehicleCellsApi, VehicleHealthApi

urlpatterns = [
    path("vehicles/<str:vehicle_id>/health", VehicleHealthApi.as_view(), name="vehicles-health"),
    path("vehicles/<str:vehicle_id>/cells", VehicleCellsApi.as_view(), name="vehicles-cells"),
]
