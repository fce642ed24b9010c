"""The service's vocabulary in one place: every code the API speaks, its human label, and the report thresholds.

Plain Python (no Django, DRF or Celery: an import-linter contract keeps it so). Everything that names these
codes is built from here: the health rules (``reports.health.rules``) and the alert rules (``alerts.rules``),
the models' ``TextChoices`` (``common.choices.text_choices``), the serializers and so the OpenAPI enums (their
names pinned by ``ENUM_NAME_OVERRIDES`` in the settings), the certificate, the metrics' label values, and the
dashboard, which reads :func:`vocabulary_as_dict` from ``GET /api/v1/vocabulary`` instead of retyping it.

Each group is a tuple of :class:`Term` in the order the API lists them (a report lists its anomalies in
:data:`ANOMALIES` order; severities are mildest first, their order is their rank).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from types import MappingProxyType
from typing import Any

__all__ = [
    "ALERT_STATES",
    "ALERT_TYPES",
    "ANOMALIES",
    "BULK_ITEM_STATUSES",
    "CELL_LEVELS",
    "CELL_REASONS",
    "DATA_QUALITY_FLAGS",
    "DEFAULT_PROFILE",
    "DELIVERY_STATUSES",
    "ERROR_CODES",
    "FORECAST_STATUSES",
    "GROUPS",
    "INGEST_OUTCOMES",
    "PROCESSING_STATUSES",
    "PROFILES",
    "RESOLUTIONS",
    "SEVERITIES",
    "WEBHOOK_EVENTS",
    "AnomalyTerm",
    "ProfileTerm",
    "Term",
    "codes",
    "term_get",
    "vocabulary_as_dict",
]


@dataclass(frozen=True, slots=True)
class Term:
    """One code of the vocabulary: ``code`` (what the API sends), ``label`` (for people), ``short`` (a compact
    label for tight places; the label when not given) and ``description`` (what it means, when the label is
    not enough)."""

    code: str
    label: str
    short: str = ""
    description: str = ""

    def __post_init__(self) -> None:
        if not self.short:
            object.__setattr__(self, "short", self.label)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready plain data, every field by name."""
        return {item.name: getattr(self, item.name) for item in fields(self)}


@dataclass(frozen=True, slots=True)
class AnomalyTerm(Term):
    """An anomaly of a report: ``message`` is what the report's ``anomalies`` list says, ``unit`` the unit of
    its ``anomaly_details[].value`` and ``threshold``."""

    message: str = ""
    unit: str = ""


@dataclass(frozen=True, slots=True)
class ProfileTerm(Term):
    """A battery profile with the thresholds of the report rules (contract section 2, per profile):
    imbalance when the voltage spread is strictly above ``voltage_imbalance_threshold_mv`` (mV), overheating
    when a cell is strictly above ``overheat_threshold_c`` (°C), low SoH strictly below
    ``low_soh_threshold_pct`` (%). The analytics' other thresholds are in ``analytics.domain.profiles``."""

    voltage_imbalance_threshold_mv: float = 0.0
    overheat_threshold_c: float = 0.0
    low_soh_threshold_pct: float = 0.0


def codes(terms: Iterable[Term]) -> tuple[str, ...]:
    """The codes of ``terms``, in order."""
    return tuple(term.code for term in terms)


def term_get(terms: Iterable[Term], code: str) -> Term:
    """The term of ``terms`` whose code is ``code``; :class:`KeyError` when there is none."""
    for term in terms:
        if term.code == code:
            return term
    raise KeyError(code)


# --------------------------------------------------------------------------- reports

VOLTAGE_IMBALANCE = AnomalyTerm(
    "voltage_imbalance", "Voltage imbalance", message="Voltage imbalance detected", unit="mV"
)
OVERHEATING = AnomalyTerm("overheating", "Overheating", message="Overheating detected", unit="°C")
LOW_SOH = AnomalyTerm(
    "low_soh", "Low state of health", short="Low SoH", message="Low state of health detected", unit="%"
)
#: A report's anomalies, in the order in which it lists them.
ANOMALIES: tuple[AnomalyTerm, ...] = (VOLTAGE_IMBALANCE, OVERHEATING, LOW_SOH)

NMC = ProfileTerm(
    "nmc",
    "NMC (nickel manganese cobalt oxide)",
    short="NMC",
    voltage_imbalance_threshold_mv=50.0,
    overheat_threshold_c=45.0,
    low_soh_threshold_pct=80.0,
)
LFP = ProfileTerm(
    "lfp",
    "LFP (lithium iron phosphate)",
    short="LFP",
    voltage_imbalance_threshold_mv=30.0,
    overheat_threshold_c=45.0,
    low_soh_threshold_pct=80.0,
)
#: The battery profiles; :data:`DEFAULT_PROFILE` is a vehicle's until its fleet sets another.
PROFILES: tuple[ProfileTerm, ...] = (NMC, LFP)
DEFAULT_PROFILE: ProfileTerm = NMC

LATE_UPLOAD = Term("late_upload", "Late upload", description="received more than 24 h after its timestamp")
CAPACITY_ABOVE_NOMINAL = Term(
    "capacity_above_nominal", "Capacity above nominal", description="current capacity above the nominal capacity"
)
CELL_OUT_OF_PROFILE_RANGE = Term(
    "cell_out_of_profile_range",
    "Cell out of profile range",
    description="a cell outside the profile's voltage range",
)
SUSPECT_SENSOR = Term(
    "suspect_sensor",
    "Suspect sensor",
    description="one reading so far from the pack that a sensor fault is likelier",
)
#: A report's data-quality flags, in the order in which it lists them.
DATA_QUALITY_FLAGS: tuple[Term, ...] = (LATE_UPLOAD, CAPACITY_ABOVE_NOMINAL, CELL_OUT_OF_PROFILE_RANGE, SUSPECT_SENSOR)

PENDING = Term("pending", "Pending")
PROCESSING = Term("processing", "Processing")
COMPLETED = Term("completed", "Completed")
FAILED = Term("failed", "Failed")
#: A log's report processing.
PROCESSING_STATUSES: tuple[Term, ...] = (PENDING, PROCESSING, COMPLETED, FAILED)

# --------------------------------------------------------------------------- analytics (contract section 6)

FORECAST_STATUSES: tuple[Term, ...] = (
    Term("ok", "Forecast"),
    Term("insufficient_data", "Insufficient data"),
    Term("reached", "Threshold reached"),
    Term("beyond_horizon", "Beyond the horizon"),
)
#: A cell's level in the ranking, worst first (the ranking sorts by this order).
CELL_LEVELS: tuple[Term, ...] = (Term("alert", "Alert"), Term("warn", "Warning"), Term("ok", "OK"))
CELL_REASONS: tuple[Term, ...] = (
    Term("low_voltage", "Low voltage"),
    Term("high_voltage", "High voltage"),
    Term("voltage_drift", "Voltage drift"),
    Term("hot", "Hot"),
)

# --------------------------------------------------------------------------- alerts (contract section 7)

WEAK_CELL = Term("weak_cell", "Weak cell")
SOH_JUMP = Term("soh_jump", "SoH jump")
#: Every alert type: the report's anomalies, assessed on every report, then the analytics' two.
ALERT_TYPES: tuple[Term, ...] = (*ANOMALIES, WEAK_CELL, SOH_JUMP)

WARNING = Term("warning", "Warning")
CRITICAL = Term("critical", "Critical")
#: Severities, mildest first (their order is their rank).
SEVERITIES: tuple[Term, ...] = (WARNING, CRITICAL)

OPEN = Term("open", "Open")
ACKNOWLEDGED = Term("acknowledged", "Acknowledged")
RESOLVED = Term("resolved", "Resolved")
ALERT_STATES: tuple[Term, ...] = (OPEN, ACKNOWLEDGED, RESOLVED)

RESOLUTIONS: tuple[Term, ...] = (Term("auto", "Automatic"), Term("manual", "Manual"))

ALERT_OPENED = Term("alert.opened", "Alert opened")
ALERT_UPDATED = Term("alert.updated", "Alert updated")
ALERT_ESCALATED = Term("alert.escalated", "Alert escalated")
ALERT_ACKNOWLEDGED = Term("alert.acknowledged", "Alert acknowledged")
ALERT_RESOLVED = Term("alert.resolved", "Alert resolved")
WEBHOOK_EVENTS: tuple[Term, ...] = (ALERT_OPENED, ALERT_UPDATED, ALERT_ESCALATED, ALERT_ACKNOWLEDGED, ALERT_RESOLVED)

#: A webhook delivery (the outbox row).
DELIVERY_STATUSES: tuple[Term, ...] = (Term("pending", "Pending"), Term("delivered", "Delivered"), FAILED)

# --------------------------------------------------------------------------- ingest and errors

#: One item's outcome in a bulk post (contract: docs/bulk.md).
BULK_ITEM_STATUSES: tuple[Term, ...] = (
    Term("created", "Created"),
    Term("duplicate", "Duplicate"),
    Term("conflict", "Conflict"),
    Term("invalid", "Invalid"),
    Term("forbidden", "Forbidden"),
)
#: The ingest counter's outcomes (the ``battery_ingest_logs`` metric's ``outcome`` label).
INGEST_OUTCOMES: tuple[Term, ...] = (
    Term("accepted", "Accepted"),
    Term("duplicate", "Duplicate"),
    Term("conflict", "Conflict"),
    Term("invalid", "Invalid"),
    Term("forbidden", "Forbidden"),
    Term("throttled", "Throttled"),
)
#: The error shape's ``code`` (contract section 1, "Errors").
ERROR_CODES: tuple[Term, ...] = (
    Term("invalid", "Invalid input"),
    Term("parse_error", "Unparseable JSON"),
    Term("not_authenticated", "Not authenticated"),
    Term("permission_denied", "Permission denied"),
    Term("not_found", "Not found"),
    Term("conflict", "Conflict"),
    Term("payload_too_large", "Payload too large"),
    Term("unsupported_media_type", "Unsupported media type"),
    Term("method_not_allowed", "Method not allowed"),
    Term("not_acceptable", "Not acceptable"),
    Term("throttled", "Throttled"),
    Term("server_error", "Server error"),
    Term("service_unavailable", "Service unavailable"),
)

#: What ``GET /api/v1/vocabulary`` serves, by key, in this order.
GROUPS: Mapping[str, tuple[Term, ...]] = MappingProxyType(
    {
        "anomalies": ANOMALIES,
        "profiles": PROFILES,
        "data_quality_flags": DATA_QUALITY_FLAGS,
        "processing_statuses": PROCESSING_STATUSES,
        "forecast_statuses": FORECAST_STATUSES,
        "cell_levels": CELL_LEVELS,
        "cell_reasons": CELL_REASONS,
        "alert_types": ALERT_TYPES,
        "severities": SEVERITIES,
        "alert_states": ALERT_STATES,
        "resolutions": RESOLUTIONS,
        "webhook_events": WEBHOOK_EVENTS,
        "delivery_statuses": DELIVERY_STATUSES,
        "bulk_item_statuses": BULK_ITEM_STATUSES,
        "error_codes": ERROR_CODES,
    }
)


def vocabulary_as_dict() -> dict[str, Any]:
    """The whole vocabulary as plain data: every group of :data:`GROUPS` as a list of term dicts, and
    ``default_profile`` (a code)."""
    body: dict[str, Any] = {name: [term.as_dict() for term in terms] for name, terms in GROUPS.items()}
    body["default_profile"] = DEFAULT_PROFILE.code
    return body
