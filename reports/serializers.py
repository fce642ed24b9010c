"""Output shapes of the report endpoint (for the OpenAPI schema; the view builds the same dicts)."""

from drf_spectacular.utils import PolymorphicProxySerializer, inline_serializer
from rest_framework import serializers

from common import vocabulary
from vehicles.models import AnomalyCode, BatteryProfile
from vehicles.serializers import VehicleSerializer


class AnomalyDetailSerializer(serializers.Serializer):
    code = serializers.ChoiceField(choices=vocabulary.codes(vocabulary.ANOMALIES))
    message = serializers.CharField()
    value = serializers.FloatField()
    threshold = serializers.FloatField()
    unit = serializers.ChoiceField(choices=[term.unit for term in vocabulary.ANOMALIES])
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
    status = serializers.ChoiceField(choices=[vocabulary.COMPLETED.code])
    generated_at = serializers.DateTimeField()
    profile = serializers.ChoiceField(
        choices=BatteryProfile.choices, help_text="The battery profile whose thresholds applied."
    )
    rules_version = serializers.CharField(help_text="The version of the rules that computed it.")
    data_quality = inline_serializer(
        "DataQuality",
        {
            "flags": serializers.ListField(
                child=serializers.ChoiceField(choices=vocabulary.codes(vocabulary.DATA_QUALITY_FLAGS))
            )
        },
    )


class BatteryReportFailedSerializer(serializers.Serializer):
    log_id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=[vocabulary.FAILED.code])
    error = serializers.CharField()


REPORT_OK_RESPONSE = PolymorphicProxySerializer(
    component_name="BatteryReportResult",
    serializers=[BatteryReportOutputSerializer, BatteryReportFailedSerializer],
    resource_type_field_name=None,
)


# "from" is a Python keyword: the bin's fields are given as a mapping.
SOH_BIN = inline_serializer(
    "SohBin",
    {
        "from": serializers.IntegerField(help_text="SoH %, inclusive"),
        "to": serializers.IntegerField(help_text="SoH %, exclusive (100 inclusive in the last bin)"),
        "count": serializers.IntegerField(),
    },
    many=True,
)


class FleetSummarySerializer(serializers.Serializer):
    """GET /api/v1/fleet/summary (for the OpenAPI schema; reports.selectors.fleet_summary builds it)."""

    vehicles = serializers.IntegerField()
    reporting = serializers.IntegerField(help_text="Vehicles with a log in the window.")
    soh_histogram = SOH_BIN
    anomalies = serializers.DictField(child=serializers.IntegerField(), help_text="Reports in the window, per code.")
    worst = VehicleSerializer(many=True, help_text="Up to 10 vehicles by lowest latest SoH.")
    open_alerts = serializers.DictField(child=serializers.IntegerField())


class TimelineBucketSerializer(serializers.Serializer):
    date = serializers.DateField(help_text="The UTC day of the reports' log timestamps.")
    reports = serializers.IntegerField(help_text="Completed reports of the fleet's logs stamped that day.")
    anomalies = inline_serializer(
        "TimelineAnomalies",
        {code: serializers.IntegerField(help_text=f"Reports with {code}.") for code in AnomalyCode.values},
    )


class AnomalyTimelineSerializer(serializers.Serializer):
    """GET /api/v1/fleet/anomaly-timeline (for the OpenAPI schema; reports.selectors.fleet_anomaly_timeline
    builds it)."""

    days = serializers.IntegerField()
    buckets = TimelineBucketSerializer(many=True, help_text="One per UTC day, oldest first, today last.")
