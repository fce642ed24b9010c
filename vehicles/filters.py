"""Query parameters of GET /api/v1/vehicles (django-filter): each bad value is a 400 naming it."""

from typing import Any

import django_filters
from django.db.models import QuerySet

from common.filters import FiniteNumberFilter
from vehicles.models import AnomalyCode, BatteryProfile

# ?ordering= value -> the (never NULL) annotation that vehicles_of_fleet orders by.
VEHICLE_ORDERINGS = {"vehicle_id": "vehicle_id", "latest_soh": "soh_order", "last_seen": "last_seen_order"}
ORDERING_CHOICES = [(name, name) for base in VEHICLE_ORDERINGS for name in (base, f"-{base}")]


class VehicleFilterSet(django_filters.FilterSet):
    profile = django_filters.ChoiceFilter(field_name="profile", choices=BatteryProfile.choices)
    anomaly = django_filters.ChoiceFilter(choices=AnomalyCode.choices, method="filter_anomaly")
    soh_lt = FiniteNumberFilter(field_name="latest_soh", lookup_expr="lt")
    soh_gte = FiniteNumberFilter(field_name="latest_soh", lookup_expr="gte")
    ordering = django_filters.ChoiceFilter(choices=ORDERING_CHOICES, method="keep")

    def filter_anomaly(self, queryset: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        return queryset.filter(latest_anomaly_codes__contains=[value])

    def keep(self, queryset: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        return queryset  # the paginator orders


def vehicle_ordering(value: str | None) -> str:
    """The paginator's ordering for a validated ?ordering= (default: vehicle_id)."""
    value = value or "vehicle_id"
    sign = "-" if value.startswith("-") else ""
    return sign + VEHICLE_ORDERINGS[value.lstrip("-")]
