from django.contrib import admin

from vehicles.models import DiagnosticLog, Vehicle


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
