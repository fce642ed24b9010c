"""Query parameters of GET /api/v1/alerts (django-filter): each bad value is a 400 naming it."""

from typing import Any

import django_filters
from django import forms
from django.db.models import QuerySet

from alerts import rules
from common.identifiers import VEHICLE_ID_INVALID, is_vehicle_id


def _choices(values: tuple[str, ...]) -> list[tuple[str, str]]:
    return [(value, value) for value in values]


class _VehicleIdField(forms.CharField):
    def validate(self, value: Any) -> None:
        super().validate(value)
        if value and not is_vehicle_id(value):
            raise forms.ValidationError(VEHICLE_ID_INVALID, code="invalid")


class _VehicleIdFilter(django_filters.CharFilter):
    field_class = _VehicleIdField


class AlertFilterSet(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(field_name="state", choices=_choices(rules.STATES))
    type = django_filters.ChoiceFilter(field_name="type", choices=_choices(rules.ALERT_TYPES))
    severity = django_filters.ChoiceFilter(field_name="severity", choices=_choices(rules.SEVERITIES))
    vehicle_id = _VehicleIdFilter(method="filter_vehicle_id")

    def filter_vehicle_id(self, queryset: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        return queryset.filter(vehicle__vehicle_id=value)
