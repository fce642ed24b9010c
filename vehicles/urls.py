from django.urls import path

from vehicles.apis import VehicleDetailApi, VehicleListApi

urlpatterns = [
    path("vehicles", VehicleListApi.as_view(), name="vehicles-list"),
    path("vehicles/<str:vehicle_id>", VehicleDetailApi.as_view(), name="vehicles-detail"),
]
