"""The shapes of the analytics answers (API.md section 6) for the OpenAPI schema: the views answer plain
dicts from the domain's `as_dict`; these serializers only describe them, so that clients (the dashboard's
generated types) get every field and its nullability from the schema."""

from typing import Any

from rest_framework import serializers

from common import vocabulary
from vehicles.models import BatteryProfile

FORECAST_STATUSES = vocabulary.codes(vocabulary.FORECAST_STATUSES)
CELL_LEVELS = vocabulary.codes(vocabulary.CELL_LEVELS)
CELL_REASONS = vocabulary.codes(vocabulary.CELL_REASONS)


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


# --------------------------------------------------------------------------- GET /api/v1/vocabulary


def _term_serializer(name: str, choices: Any, **extra: serializers.Field) -> type[serializers.Serializer]:
    """The shape of one group's terms: its ``code`` an enum of the group's codes (named by ENUM_NAME_OVERRIDES)."""
    fields: dict[str, Any] = {
        "code": serializers.ChoiceField(choices=choices),
        "label": serializers.CharField(),
        "short": serializers.CharField(help_text="A compact label (the label when there is none shorter)."),
        "description": serializers.CharField(allow_blank=True, help_text="What it means; may be empty."),
        **extra,
    }
    return type(f"{name}Serializer", (serializers.Serializer,), fields)


_TERM_CHOICES: dict[str, Any] = {name: vocabulary.codes(terms) for name, terms in vocabulary.GROUPS.items()}
# The profile enum carries its labels wherever it appears (BatteryProfileEnum).
_TERM_CHOICES["profiles"] = BatteryProfile.choices
_TERM_EXTRA: dict[str, dict[str, serializers.Field]] = {
    "anomalies": {
        "message": serializers.CharField(help_text="As the report's anomalies list says it."),
        "unit": serializers.ChoiceField(
            choices=[term.unit for term in vocabulary.ANOMALIES], help_text="Of anomaly_details[].value."
        ),
    },
    "profiles": {
        "voltage_imbalance_threshold_mv": serializers.FloatField(help_text="Imbalance above this spread (mV)."),
        "overheat_threshold_c": serializers.FloatField(help_text="Overheating above this (°C)."),
        "low_soh_threshold_pct": serializers.FloatField(help_text="Low SoH below this (%)."),
    },
}


def _group_name(group: str) -> str:
    return "Vocabulary" + "".join(part.capitalize() for part in group.split("_"))


VocabularySerializer = type(
    "VocabularySerializer",
    (serializers.Serializer,),
    {
        **{
            group: _term_serializer(_group_name(group), _TERM_CHOICES[group], **_TERM_EXTRA.get(group, {}))(many=True)
            for group in vocabulary.GROUPS
        },
        "default_profile": serializers.ChoiceField(choices=BatteryProfile.choices),
        "__doc__": "GET /api/v1/vocabulary: every code of the API with its label, in the API's order "
        "(common.vocabulary).",
    },
)
