from django.contrib import admin

from vehicles.models import DeviceCredential, DiagnosticLog, Vehicle


@admin.register(Vehicle)
class VehicleAdmin(admin.ModelAdmin):
    list_display = ("vehicle_id", "fleet", "created_at")
    list_filter = ("fleet",)
    search_fields = ("vehicle_id",)


@admin.register(DiagnosticLog)
class DiagnosticLogAdmin(admin.ModelAdmin):
    list_display = ("id", "vehicle", "timestamp", "cycle_count", "status", "received_at")
    list_filter = ("status",)
    search_fields = ("vehicle__vehicle_id",)
    raw_id_fields = ("vehicle",)


@admin.register(DeviceCredential)
class DeviceCredentialAdmin(admin.ModelAdmin):
    """Read and revoke (set revoked_at); credentials are issued through the API, which shows the token once."""

    list_display = ("id", "vehicle", "name", "created_at", "last_used_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("vehicle__vehicle_id", "name")
    raw_id_fields = ("vehicle",)
    readonly_fields = ("id", "vehicle", "token_hash", "created_at", "last_used_at")

    def has_add_permission(self, request) -> bool:  # type: ignore[no-untyped-def]
        return False
