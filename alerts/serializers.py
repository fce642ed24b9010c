"""Input and output shapes of the alerts API (inputs validated here; outputs built by alerts.selectors)."""

from rest_framework import serializers

from alerts import rules
from common import vocabulary


class AlertSerializer(serializers.Serializer):
    """The contract's alert object (documentation of alerts.selectors.alert_data)."""

    id = serializers.UUIDField()
    vehicle_id = serializers.CharField()
    # A string, not an enum: the list grows (weak_cell, soh_jump) without breaking clients.
    type = serializers.CharField(help_text=f"One of {', '.join(rules.ALERT_TYPES)} (more types may come).")
    severity = serializers.ChoiceField(choices=rules.SEVERITIES)
    state = serializers.ChoiceField(choices=rules.STATES)
    opened_at = serializers.DateTimeField(help_text="Log timestamp of the first report with the condition.")
    last_seen_at = serializers.DateTimeField(help_text="Log timestamp of the newest report with the condition.")
    occurrences = serializers.IntegerField()
    last_log_id = serializers.UUIDField()
    cells = serializers.ListField(child=serializers.IntegerField())
    acknowledged_at = serializers.DateTimeField(allow_null=True)
    acknowledged_by = serializers.CharField(allow_null=True, help_text="The username.")
    resolved_at = serializers.DateTimeField(allow_null=True)
    resolution = serializers.ChoiceField(choices=rules.RESOLUTIONS, allow_null=True)


class _StrictCharField(serializers.CharField):
    """A JSON string only (DRF's CharField would turn 7 into "7")."""

    def to_internal_value(self, data: object) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class WebhookCreateInputSerializer(serializers.Serializer):
    url = _StrictCharField(max_length=2000)
    events = serializers.ListField(child=_StrictCharField(), allow_empty=False, max_length=len(rules.EVENTS))

    def validate_url(self, value: str) -> str:
        field = serializers.URLField()
        field.run_validators(value)
        return value

    def validate_events(self, value: list[str]) -> list[str]:
        # Keyed like the contract's paths: events[1].
        unknown = {
            f"[{index}]": [f"Must be one of {', '.join(rules.EVENTS)}."]
            for index, event in enumerate(value)
            if event not in rules.EVENTS
        }
        if unknown:
            raise serializers.ValidationError(unknown)
        return list(dict.fromkeys(value))


class WebhookSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    url = serializers.URLField()
    events = serializers.ListField(child=serializers.ChoiceField(choices=rules.EVENTS))
    active = serializers.BooleanField(help_text="False once its deliveries have failed for 24 h.")
    created_at = serializers.DateTimeField()


class WebhookCreatedSerializer(WebhookSerializer):
    secret = serializers.CharField(help_text="whsec_…: shown this once; verify signatures with it.")


class DeliverySerializer(serializers.Serializer):
    id = serializers.UUIDField(help_text="Also the webhook-id header (msg_<id>), the same on every attempt.")
    event = serializers.ChoiceField(choices=rules.EVENTS)
    sequence = serializers.IntegerField()
    attempts = serializers.IntegerField()
    status = serializers.ChoiceField(choices=vocabulary.codes(vocabulary.DELIVERY_STATUSES))
    last_status_code = serializers.IntegerField(allow_null=True)
    next_attempt_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
