"""Query parameters of the lists, validated by django-filter: a bad value is a 400 naming the parameter.

`filtered(filterset)` is the one way a list view applies its FilterSet: it raises the contract's 400 for
any invalid parameter (an unknown choice, a bad number or date, `since` after `until`) and returns the
filtered queryset and the cleaned values.
"""

import re
from datetime import UTC, datetime
from typing import Any

import django_filters
from django import forms
from django.db.models import QuerySet
from rest_framework.exceptions import ValidationError

# A "+" of an offset arrives as a space when the client did not percent-encode it (…T10:30:00 02:00).
_SPACE_FOR_PLUS = re.compile(r"(T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (\d{2}:\d{2})$")


class AwareDateTimeField(forms.Field):
    """An ISO 8601 date and time with an offset (Z or ±hh:mm); a naive one is refused."""

    default_error_messages = {
        "invalid": "Must be an ISO 8601 date and time with an offset, such as 2025-10-04T10:30:00Z.",
        "naive": "Must include a UTC offset (Z or +hh:mm).",
        "range": "Is out of range.",
    }

    def to_python(self, value: Any) -> datetime | None:
        if value in self.empty_values:
            return None
        text = _SPACE_FOR_PLUS.sub(r"\1+\2", str(value).strip())
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None
        if parsed.tzinfo is None or parsed.utcoffset() is None:
            raise forms.ValidationError(self.error_messages["naive"], code="naive")
        try:
            # In UTC: PostgreSQL takes offsets up to 15:59 only, Python up to 23:59.
            return parsed.astimezone(UTC)
        except OverflowError:
            raise forms.ValidationError(self.error_messages["range"], code="range") from None


class AwareDateTimeFilter(django_filters.Filter):
    field_class = AwareDateTimeField


class FiniteNumberFilter(django_filters.NumberFilter):
    """A decimal number (forms.DecimalField already refuses NaN and infinities)."""


class TimeWindowFilterSet(django_filters.FilterSet):
    """`since` (inclusive) and `until` (exclusive) on `time_field`; `since` after `until` is a 400."""

    time_field = "timestamp"
    since = AwareDateTimeFilter(method="filter_since")
    until = AwareDateTimeFilter(method="filter_until")

    def filter_since(self, queryset: QuerySet[Any], name: str, value: datetime) -> QuerySet[Any]:
        return queryset.filter(**{f"{self.time_field}__gte": value})

    def filter_until(self, queryset: QuerySet[Any], name: str, value: datetime) -> QuerySet[Any]:
        return queryset.filter(**{f"{self.time_field}__lt": value})


def filtered(filterset: django_filters.FilterSet) -> tuple[QuerySet[Any], dict[str, Any]]:
    """The filtered queryset and the cleaned parameters; ValidationError (400) naming every bad parameter."""
    empty = [name for name in filterset.filters if filterset.data.get(name, None) == ""]
    if empty:  # ?ordering= is not "no ordering": a parameter given is a value to validate
        raise ValidationError({name: ["Must not be empty."] for name in empty})
    if not filterset.is_valid():
        raise ValidationError({name: list(messages) for name, messages in filterset.errors.items()})
    cleaned = filterset.form.cleaned_data
    since, until = cleaned.get("since"), cleaned.get("until")
    if since is not None and until is not None and since > until:
        raise ValidationError({"since": ["Must not be after until."]})
    return filterset.qs, cleaned
