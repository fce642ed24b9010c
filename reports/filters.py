"""Query parameters of the report lists and the CSV export (django-filter): each bad value is a 400 naming it."""

from typing import Any

import django_filters
from django.db.models import QuerySet

from common.filters import FiniteNumberFilter, TimeWindowFilterSet
from reports.health import rules
from vehicles.models import AnomalyCode

# ?anomaly= code -> the string a report lists.
ANOMALY_MESSAGE = {
    rules.VOLTAGE_IMBALANCE_CODE: rules.VOLTAGE_IMBALANCE_MESSAGE,
    rules.OVERHEATING_CODE: rules.OVERHEATING_MESSAGE,
    rules.LOW_SOH_CODE: rules.LOW_SOH_MESSAGE,
}


class VehicleReportFilterSet(TimeWindowFilterSet):
    """A vehicle's reports: ?since= &until= (log timestamps) &anomaly=."""

    time_field = "log__timestamp"
    anomaly = django_filters.ChoiceFilter(choices=AnomalyCode.choices, method="filter_anomaly")

    def filter_anomaly(self, queryset: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        return queryset.filter(anomalies__contains=[ANOMALY_MESSAGE[value]])


class ReportFilterSet(VehicleReportFilterSet):
    """The fleet's reports: the same, and ?vehicle_id= &soh_lt=; times on the report's copy of its log's
    timestamp (the fleet's index)."""

    time_field = "log_timestamp"

    vehicle_id = django_filters.CharFilter(field_name="log__vehicle__vehicle_id")
    soh_lt = FiniteNumberFilter(field_name="battery_soh", lookup_expr="lt")
