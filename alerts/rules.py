"""Alert rules: the one place where report findings become alerts. Plain Python, no Django.

The executable form of the contract's section 7 ("Alerts and webhooks"). The adapter
(``alerts.services.alerts_evaluate``) reads the open alerts of a report batch's vehicles, calls
:func:`evaluate_vehicle` once per vehicle with that vehicle's new reports, and writes what it returns.

Lifecycle: ``open`` -> ``acknowledged`` -> ``resolved``. At most one unresolved alert per (vehicle, type):
a report with the condition updates it (``occurrences``, ``last_seen_at``, ``last_log_id``, ``cells``,
severity), ``clear_after`` consecutive newer reports without it resolve it (``resolution: "auto"``), and a
late report (older than the vehicle's newest evaluated report, or older than one of the vehicle's logs
received before it) changes nothing.

Severity (per battery profile, :data:`SEVERITY_THRESHOLDS`; the figures compared are the report's
``anomaly_details[].value``, already rounded as the report shows them):

* ``overheating``: ``critical`` when the hottest cell is strictly above 60 °C, else ``warning``;
* ``low_soh``: ``critical`` when the SoH is strictly below 70 %, else ``warning``;
* ``voltage_imbalance``: always ``warning`` (no critical threshold is defined yet).

Severity rises with the evidence and never falls by itself: an alert that was critical stays critical
until it is resolved, even when later reports show a milder condition.

Times: ``opened_at``/``last_seen_at`` are log timestamps (when the vehicle saw the condition); ``critical_at``
and ``resolved_at`` are the server's clock (``now``), which escalation measures from.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

__all__ = [
    "ALERT_TYPES",
    "DELIVERY_RETRY_DELAYS",
    "EVENTS",
    "RESOLUTIONS",
    "SEVERITIES",
    "SEVERITY_THRESHOLDS",
    "STATES",
    "AlertEvent",
    "AlertState",
    "Finding",
    "Observation",
    "SeverityThresholds",
    "VehicleEvaluation",
    "delivery_retry_delay",
    "evaluate_vehicle",
    "severity_for",
    "severity_max",
]

# --------------------------------------------------------------------------- vocabulary

VOLTAGE_IMBALANCE = "voltage_imbalance"
OVERHEATING = "overheating"
LOW_SOH = "low_soh"
#: The alert types evaluated today: the report's anomaly codes. The analytics types (``weak_cell``,
#: ``soh_jump``) join this tuple when analytics exists; an unknown finding code is ignored.
ALERT_TYPES: tuple[str, ...] = (VOLTAGE_IMBALANCE, OVERHEATING, LOW_SOH)

WARNING = "warning"
CRITICAL = "critical"
#: Severities, mildest first (their order is their rank).
SEVERITIES: tuple[str, ...] = (WARNING, CRITICAL)

OPEN = "open"
ACKNOWLEDGED = "acknowledged"
RESOLVED = "resolved"
STATES: tuple[str, ...] = (OPEN, ACKNOWLEDGED, RESOLVED)

AUTO = "auto"
MANUAL = "manual"
RESOLUTIONS: tuple[str, ...] = (AUTO, MANUAL)

OPENED = "alert.opened"
UPDATED = "alert.updated"
ESCALATED = "alert.escalated"
ACKNOWLEDGED_EVENT = "alert.acknowledged"
RESOLVED_EVENT = "alert.resolved"
EVENTS: tuple[str, ...] = (OPENED, UPDATED, ESCALATED, ACKNOWLEDGED_EVENT, RESOLVED_EVENT)


@dataclass(frozen=True, slots=True)
class SeverityThresholds:
    """When a finding is critical, per battery profile. ``None``: that type is never critical.

    ``overheating_critical_above_c``: °C, compared with the hottest cell (strictly above);
    ``low_soh_critical_below_pct``: %, compared with the report's SoH (strictly below);
    ``imbalance_critical_above_mv``: mV, compared with the pack's voltage spread (strictly above).
    """

    overheating_critical_above_c: float | None = 60.0
    low_soh_critical_below_pct: float | None = 70.0
    imbalance_critical_above_mv: float | None = None


#: Per profile (the vehicle's ``profile``). The contract's floor for every profile: above 60 °C and below 70 %
#: SoH are critical. LFP keeps the same figures until its own are sourced: 60 °C is the usual upper operating
#: limit of both NMC and LFP cells in datasheets, and 70 % SoH the common end-of-warranty figure for EV packs.
SEVERITY_THRESHOLDS: Mapping[str, SeverityThresholds] = {
    "nmc": SeverityThresholds(),
    "lfp": SeverityThresholds(),
}
_DEFAULT_PROFILE = "nmc"


def severity_for(code: str, value: float, profile: str = _DEFAULT_PROFILE) -> str:
    """The severity that one finding of type ``code`` with figure ``value`` (in the finding's unit) calls for."""
    limits = SEVERITY_THRESHOLDS.get(profile, SEVERITY_THRESHOLDS[_DEFAULT_PROFILE])
    if code == OVERHEATING and limits.overheating_critical_above_c is not None:
        return CRITICAL if value > limits.overheating_critical_above_c else WARNING
    if code == LOW_SOH and limits.low_soh_critical_below_pct is not None:
        return CRITICAL if value < limits.low_soh_critical_below_pct else WARNING
    if code == VOLTAGE_IMBALANCE and limits.imbalance_critical_above_mv is not None:
        return CRITICAL if value > limits.imbalance_critical_above_mv else WARNING
    return WARNING


def severity_max(first: str, second: str) -> str:
    """The higher of two severities."""
    return first if SEVERITIES.index(first) >= SEVERITIES.index(second) else second


# --------------------------------------------------------------------------- data


@dataclass(frozen=True, slots=True)
class Finding:
    """One anomaly of one report: its ``code``, its figure ``value`` (mV, °C or %) and the ``cells`` involved."""

    code: str
    value: float
    cells: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Observation:
    """One completed report of a vehicle, as alert evaluation sees it.

    ``late``: the log is older than one of the vehicle's logs received before it (the same definition as the
    vehicle's ``latest``); such a report never changes an alert.
    """

    log_id: str
    timestamp: datetime
    findings: tuple[Finding, ...]
    late: bool = False


@dataclass(frozen=True, slots=True)
class AlertState:
    """An alert as evaluation sees it (the stored row, less what evaluation never changes).

    ``clean_streak``: consecutive newer reports of the vehicle without the condition since it was last seen;
    ``sequence``: the number of the alert's last event (webhook bodies carry it, growing per alert).
    """

    id: str
    type: str
    severity: str
    state: str
    opened_at: datetime
    last_seen_at: datetime
    occurrences: int
    last_log_id: str
    cells: tuple[int, ...]
    clean_streak: int = 0
    sequence: int = 0
    critical_at: datetime | None = None
    resolved_at: datetime | None = None
    resolution: str | None = None


@dataclass(frozen=True, slots=True)
class AlertEvent:
    """An event to publish: its name and the alert as it was then (``alert.sequence`` numbers the event)."""

    event: str
    alert: AlertState


@dataclass(frozen=True, slots=True)
class VehicleEvaluation:
    """What evaluating a vehicle's new reports did.

    ``alerts``: the final state of every alert it touched (opened ones included, resolved ones too), by id;
    ``events``: in order; ``evaluated_until``: the vehicle's newest evaluated log timestamp afterwards.
    """

    alerts: Mapping[str, AlertState]
    events: tuple[AlertEvent, ...]
    evaluated_until: datetime | None


# --------------------------------------------------------------------------- evaluation


def evaluate_vehicle(
    *,
    unresolved: Mapping[str, AlertState],
    evaluated_until: datetime | None,
    observations: Sequence[Observation],
    clear_after: int,
    now: datetime,
    new_id: Callable[[], str],
    profile: str = _DEFAULT_PROFILE,
) -> VehicleEvaluation:
    """Fold one vehicle's new reports into its alerts.

    ``unresolved``: the vehicle's unresolved alerts by type; ``evaluated_until``: the newest log timestamp
    evaluated before (None: none yet). Reports are taken oldest first; one that is ``late`` or not newer
    than ``evaluated_until`` is skipped. For each other report and each alert type:

    * the condition holds and an alert is unresolved: it is updated (``occurrences`` + 1, ``last_seen_at``,
      ``last_log_id``, ``cells``, severity raised if the finding calls for more, ``clean_streak`` back to 0);
    * it holds and none is: an alert opens (``new_id()`` names it);
    * it does not hold: the unresolved alert counts one more clean report, and resolves (``auto``) at
      ``clear_after``.

    Events: ``alert.opened``, ``alert.updated``, ``alert.resolved``. ``alert.updated`` only for a material
    change, the severity rising or the cells involved changing (one more occurrence of the same is stored but
    not announced: a vehicle posting every 30 s would otherwise send an event every 30 s); several updates of
    one alert in one call make one event (folded into its ``alert.opened`` if it opened in the same call)
    showing the alert after the last of them.
    """
    if clear_after < 1:
        raise ValueError("clear_after must be at least 1")
    current: dict[str, AlertState] = dict(unresolved)  # by type, unresolved only
    touched: dict[str, AlertState] = {}
    events: list[AlertEvent] = []
    last_event_at: dict[str, int] = {}  # alert id -> index of its last event in `events`
    watermark = evaluated_until

    def emit(event: str, alert: AlertState, *, material: bool = True) -> AlertState:
        index = last_event_at.get(alert.id)
        if event == UPDATED and index is not None and events[index].event in (OPENED, UPDATED):
            events[index] = AlertEvent(events[index].event, alert)  # same sequence: one event, newer state
        elif event == UPDATED and not material:
            pass  # one more occurrence of the same: stored, not announced
        else:
            alert = replace(alert, sequence=alert.sequence + 1)
            last_event_at[alert.id] = len(events)
            events.append(AlertEvent(event, alert))
        touched[alert.id] = alert
        return alert

    for observation in sorted(observations, key=lambda item: item.timestamp):
        if observation.late or (watermark is not None and observation.timestamp <= watermark):
            continue
        watermark = observation.timestamp
        found = {finding.code: finding for finding in observation.findings if finding.code in ALERT_TYPES}
        for alert_type in ALERT_TYPES:
            finding = found.get(alert_type)
            alert = current.get(alert_type)
            if finding is not None:
                severity = severity_for(alert_type, finding.value, profile)
                if alert is None:
                    alert = AlertState(
                        id=new_id(),
                        type=alert_type,
                        severity=severity,
                        state=OPEN,
                        opened_at=observation.timestamp,
                        last_seen_at=observation.timestamp,
                        occurrences=1,
                        last_log_id=observation.log_id,
                        cells=tuple(finding.cells),
                        critical_at=now if severity == CRITICAL else None,
                    )
                    current[alert_type] = emit(OPENED, alert)
                else:
                    raised = severity_max(alert.severity, severity)
                    material = raised != alert.severity or tuple(finding.cells) != alert.cells
                    alert = replace(
                        alert,
                        severity=raised,
                        last_seen_at=observation.timestamp,
                        occurrences=alert.occurrences + 1,
                        last_log_id=observation.log_id,
                        cells=tuple(finding.cells),
                        clean_streak=0,
                        critical_at=alert.critical_at or (now if raised == CRITICAL else None),
                    )
                    current[alert_type] = emit(UPDATED, alert, material=material)
            elif alert is not None:
                alert = replace(alert, clean_streak=alert.clean_streak + 1)
                if alert.clean_streak >= clear_after:
                    emit(RESOLVED_EVENT, replace(alert, state=RESOLVED, resolved_at=now, resolution=AUTO))
                    del current[alert_type]
                else:
                    current[alert_type] = alert
                    touched[alert.id] = alert  # bookkeeping only: no event
    return VehicleEvaluation(alerts=touched, events=tuple(events), evaluated_until=watermark)


# --------------------------------------------------------------------------- webhook retries

#: Wait before each retry of a webhook delivery that got no 2xx: after the 1st attempt 30 s, ... The 6th
#: attempt comes 1 h 42 min 30 s after the first; the 10th and last about 23 h 42 min after it.
DELIVERY_RETRY_DELAYS: tuple[timedelta, ...] = (
    timedelta(seconds=30),
    timedelta(minutes=2),
    timedelta(minutes=10),
    timedelta(minutes=30),
    timedelta(hours=1),
    timedelta(hours=2),
    timedelta(hours=4),
    timedelta(hours=8),
    timedelta(hours=8),
)
#: A webhook whose deliveries have failed without a success in between for this long is set inactive.
WEBHOOK_DISABLE_AFTER = timedelta(hours=24)


def delivery_retry_delay(attempts: int) -> timedelta | None:
    """The wait before the next attempt after ``attempts`` failed ones; None: give up (the delivery failed)."""
    if attempts < 1:
        raise ValueError("attempts must be at least 1")
    if attempts > len(DELIVERY_RETRY_DELAYS):
        return None
    return DELIVERY_RETRY_DELAYS[attempts - 1]
