"""The shapes of the analytics answers (API.md section 6) for the OpenAPI schema: the views answer plain
dicts from the domain's `as_dict`; these serializers only describe them, so that clients (the dashboard's
generated types) get every field and its nullability from the schema."""

from rest_framework import serializers

from analytics.domain.cells import LEVELS as CELL_LEVELS
from analytics.domain.cells import REASONS as CELL_REASONS
from vehicles.models import BatteryProfile

# analytics.domain.trend's forecast statuses (API.md section 6).
FORECAST_STATUSES = ["ok", "insufficient_data", "reached", "beyond_horizon"]


class FadeSerializer(serializers.Serializer):
    percent_per_1000_cycles = serializers.FloatField(allow_null=True)
    percent_per_year = serializers.FloatField(allow_null=True)


class CycleEstimateSerializer(serializers.Serializer):
    estimate = serializers.IntegerField(allow_null=True)
    low = serializers.IntegerField(allow_null=True)
    high = serializers.IntegerField(allow_null=True)


class DateEstimateSerializer(serializers.Serializer):
    estimate = serializers.DateField(allow_null=True)
    low = serializers.DateField(allow_null=True)
    high = serializers.DateField(allow_null=True)


class ForecastSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=FORECAST_STATUSES)
    threshold_soh = serializers.FloatField()
    interval = serializers.FloatField(help_text="The probability of the central interval low..high.")
    cycle_count = CycleEstimateSerializer()
    date = DateEstimateSerializer()
    method = serializers.CharField()
    version = serializers.CharField()


class JumpSerializer(serializers.Serializer):
    log_id = serializers.CharField()
    timestamp = serializers.DateTimeField()
    soh_before = serializers.FloatField()
    soh_after = serializers.FloatField()
    delta = serializers.FloatField()


class SeriesPointSerializer(serializers.Serializer):
    log_id = serializers.CharField()
    timestamp = serializers.DateTimeField()
    cycle_count = serializers.IntegerField()
    battery_soh = serializers.FloatField()
    fitted = serializers.FloatField(allow_null=True, help_text="The trend's value here.")


class VehicleHealthSerializer(serializers.Serializer):
    vehicle_id = serializers.CharField()
    profile = serializers.ChoiceField(choices=BatteryProfile.choices)
    logs_used = serializers.IntegerField()
    soh_latest = serializers.FloatField(allow_null=True)
    fade = FadeSerializer()
    forecast = ForecastSerializer()
    jumps = JumpSerializer(many=True)
    series = SeriesPointSerializer(many=True, help_text="Thinned to at most 2,000 points, evenly over time.")


class CellWindowSerializer(serializers.Serializer):
    since = serializers.DateTimeField(allow_null=True)
    until = serializers.DateTimeField(allow_null=True)
    logs = serializers.IntegerField()


class CellRankSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    voltage_deviation_mv = serializers.FloatField()
    voltage_drift_mv_per_30d = serializers.FloatField(allow_null=True)
    temperature_excess_c = serializers.FloatField()
    level = serializers.ChoiceField(choices=CELL_LEVELS)
    reasons = serializers.ListField(child=serializers.ChoiceField(choices=CELL_REASONS))


class CellRankingSerializer(serializers.Serializer):
    vehicle_id = serializers.CharField()
    window = CellWindowSerializer()
    cells = CellRankSerializer(many=True)
