from django.urls import path

from vehicles.apis import DeviceCredentialListCreateApi, DeviceCredentialRevokeApi, VehicleDetailApi, VehicleListApi

urlpatterns = [
    path("vehicles", VehicleListApi.as_view(), name="vehicles-list"),
    path("vehicles/<str:vehicle_id>", VehicleDetailApi.as_view(), name="vehicles-detail"),
    path("vehicles/<str:vehicle_id>/credentials", DeviceCredentialListCreateApi.as_view(), name="vehicle-credentials"),
    path(
        "vehicles/<str:vehicle_id>/credentials/<str:credential_id>",
        DeviceCredentialRevokeApi.as_view(),
        name="vehicle-credential-detail",
    ),
]
