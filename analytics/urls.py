from django.urls import path

from analytics.apis import VehicleCellsApi, VehicleHealthApi, VocabularyApi

urlpatterns = [
    path("vehicles/<str:vehicle_id>/health", VehicleHealthApi.as_view(), name="vehicles-health"),
    path("vehicles/<str:vehicle_id>/cells", VehicleCellsApi.as_view(), name="vehicles-cells"),
    path("vocabulary", VocabularyApi.as_view(), name="vocabulary"),
]
