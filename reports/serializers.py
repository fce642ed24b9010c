"""Output shapes of the report endpoint (for the OpenAPI schema; the view builds the same dicts)."""

from drf_spectacular.utils import PolymorphicProxySerializer
from rest_framework import serializers


class AnomalyDetailSerializer(serializers.Serializer):
    code = serializers.ChoiceField(choices=["voltage_imbalance", "overheating", "low_soh"])
    message = serializers.CharField()
    value = serializers.FloatField()
    threshold = serializers.FloatField()
    unit = serializers.ChoiceField(choices=["mV", "°C", "%"])
    cells = serializers.ListField(child=serializers.IntegerField())


class DiagnosticsSerializer(serializers.Serializer):
    cell_count = serializers.IntegerField()
    voltage_min = serializers.FloatField(help_text="V, 3 decimals")
    voltage_max = serializers.FloatField(help_text="V, 3 decimals")
    voltage_spread_mv = serializers.FloatField(help_text="mV, 3 decimals")
    temperature_min = serializers.FloatField(help_text="°C, 2 decimals")
    temperature_max = serializers.FloatField(help_text="°C, 2 decimals")
    temperature_avg = serializers.FloatField(help_text="°C, 2 decimals")


class BatteryReportOutputSerializer(serializers.Serializer):
    log_id = serializers.UUIDField()
    vehicle_id = serializers.CharField()
    timestamp = serializers.DateTimeField()
    battery_soh = serializers.FloatField(help_text="State of Health, %, capped at 100, 2 decimals")
    cycle_count = serializers.IntegerField()
    anomalies = serializers.ListField(child=serializers.CharField())
    anomaly_details = AnomalyDetailSerializer(many=True)
    diagnostics = DiagnosticsSerializer()
    status = serializers.ChoiceField(choices=["completed"])
    generated_at = serializers.DateTimeField()


class BatteryReportFailedSerializer(serializers.Serializer):
    log_id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=["failed"])
    error = serializers.CharField()


REPORT_OK_RESPONSE = PolymorphicProxySerializer(
    component_name="BatteryReportResult",
    serializers=[BatteryReportOutputSerializer, BatteryReportFailedSerializer],
    resource_type_field_name=None,
)
