"""Input and output shapes of the vehicle endpoints (API.md section 5)."""

import re
from datetime import date
from typing import Any

from django.utils import timezone
from rest_framework import serializers

from vehicles.models import BatteryProfile

# 17 characters of A-Z and 0-9, without I, O and Q (ISO 3779).
VIN_RE = re.compile(r"[A-HJ-NPR-Z0-9]{17}")


class StrictCharField(serializers.CharField):
    """A JSON string only: numbers are not silently turned into text."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            raise serializers.ValidationError("Must be a string.")
        return str(super().to_internal_value(data))


class VehicleRegistrySerializer(serializers.Serializer):
    """PUT /api/v1/vehicles/<vehicle_id>: each field optional; null clears vin, model, manufacture_date."""

    vin = StrictCharField(required=False, allow_null=True, min_length=17, max_length=17, trim_whitespace=False)
    model = StrictCharField(required=False, allow_null=True, max_length=100)
    manufacture_date = serializers.DateField(required=False, allow_null=True, input_formats=["iso-8601"])
    profile = serializers.ChoiceField(required=False, choices=BatteryProfile.choices)

    def validate_vin(self, value: str | None) -> str | None:
        if value is not None and not VIN_RE.fullmatch(value):
            raise serializers.ValidationError("Must be 17 characters of A-Z and 0-9, without I, O and Q.")
        return value

    def validate_manufacture_date(self, value: date | None) -> date | None:
        if value is not None and value > timezone.now().date():
            raise serializers.ValidationError("Must not be in the future.")
        return value

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise serializers.ValidationError({"non_field_errors": ["Expected a JSON object."]})
        return dict(super().to_internal_value(data))


class LatestReportSerializer(serializers.Serializer):
    log_id = serializers.UUIDField()
    timestamp = serializers.DateTimeField()
    battery_soh = serializers.FloatField()
    cycle_count = serializers.IntegerField()
    anomalies = serializers.ListField(child=serializers.CharField())


class VehicleSerializer(serializers.Serializer):
    """The vehicle object (for the OpenAPI schema; vehicles.selectors.vehicle_data builds it)."""

    vehicle_id = serializers.CharField()
    vin = StrictCharField(allow_null=True)
    model = serializers.CharField(allow_null=True)
    manufacture_date = serializers.DateField(allow_null=True)
    profile = serializers.ChoiceField(choices=BatteryProfile.choices)
    first_seen = serializers.DateTimeField(allow_null=True, help_text="The oldest log timestamp.")
    last_seen = serializers.DateTimeField(allow_null=True, help_text="The newest log timestamp.")
    log_count = serializers.IntegerField(help_text="Logs processed (completed or failed).")
    latest = LatestReportSerializer(allow_null=True, help_text="The completed report with the newest log timestamp.")
