from django.contrib import admin

from reports.models import BatteryReport


@admin.register(BatteryReport)
class BatteryReportAdmin(admin.ModelAdmin):
    list_display = ("log_id", "battery_soh", "anomalies", "generated_at")
    raw_id_fields = ("log",)
