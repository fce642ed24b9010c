from django.urls import path

from vehicles.apis import DeviceCredentialListCreateApi, DeviceCredentialRevokeApi

urlpatterns = [
    path(
        "vehicles/<str:vehicle_id>/credentials",
        DeviceCredentialListCreateApi.as_view(),
        name="vehicle-credentials",
    ),
    path(
        "vehicles/<str:vehicle_id>/credentials/<str:credential_id>",
        DeviceCredentialRevokeApi.as_view(),
        name="vehicle-credential-detail",
    ),
]
