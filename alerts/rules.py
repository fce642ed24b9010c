"""Alert rules: the one place where report findings become alerts. Plain Python, no Django.

The executable form of the contract's section 7 ("Alerts and webhooks"). The adapter
(``alerts.services.alerts_evaluate``) reads the open alerts of a report batch's vehicles, calls
:func:`evaluate_vehicle` once per vehicle with that vehicle's new reports, and writes what it returns.

Lifecycle: ``open`` -> ``acknowledged`` -> ``resolved``. At most one unresolved alert per (vehicle, type):
a report with the condition updates it (``occurrences``, ``last_seen_at``, ``last_log_id``, ``cells``,
severity), ``clear_after`` consecutive newer reports without it resolve it (``resolution: "auto"``), and a
late report (older than the vehicle's newest evaluated report, or older than one of the vehicle's logs
received before it) changes nothing.

Types: the report's anomaly codes (``voltage_imbalance``, ``overheating``, ``low_soh``: assessed on every
report, from its ``anomaly_details``) and two from the analytics (contract section 6), assessed on the newest
report of each vehicle in a batch only (an earlier report of the same batch neither holds nor clears them):

* ``weak_cell``: a cell at ``alert`` level in the section 6 ranking (analytics.domain.cells.cells_rank) of
  the vehicle's last :data:`WEAK_CELL_WINDOW` logs up to the report (at least :data:`WEAK_CELL_MIN_LOGS` of
  them), *and* already beyond an alert threshold (voltage deviation or temperature excess) in the report's own
  log (:func:`weak_cell_in_log`, the cheap gate that spares the window's query on most reports). ``cells``: the
  cells at alert level; the figure is the largest ``|voltage_deviation_mv|`` among them. An open ``weak_cell``
  alert whose log shows the same cells is kept without the window. A report is clean when its log has no cell
  beyond the alert thresholds or the window does not confirm one. Drift alone (``voltage_drift``) needs days
  of logs and is not alerted on.
* ``soh_jump``: a jump (section 6, analytics.domain.trend.soh_jumps, the health trend's detector) in the
  vehicle's last :data:`SOH_JUMP_WINDOW` evaluated reports (their SoH, kept with the alert watermark, late
  reports never entering it), ending at the report; the figure is the jump's ``delta`` (%, signed; the largest
  in size when there are several). A jump is detectable while at least 8 reports lie on each side of it in
  the window, so the alert holds for about ``SOH_JUMP_WINDOW - 16`` reports and resolves by itself once the
  step has left the window (``clear_after`` clean reports later). A window whose SoH range is under
  ``JUMP_MIN_PCT`` (1 point) cannot hold a jump: the detector is skipped (:func:`soh_jump_finding`).

Severity (per battery profile, :data:`SEVERITY_THRESHOLDS`; the figures compared are the report's
``anomaly_details[].value``, already rounded as the report shows them, and the figures above):

* ``overheating``: ``critical`` when the hottest cell is strictly above 60 °C, else ``warning``;
* ``low_soh``: ``critical`` when the SoH is strictly below 70 %, else ``warning``;
* ``voltage_imbalance``: ``critical`` above 150 mV (nmc) / 90 mV (lfp), three times the anomaly threshold;
* ``weak_cell``: ``critical`` when a cell deviates by 100 mV (nmc) / 60 mV (lfp) or more, 2.5 times the
  alert deviation of section 6;
* ``soh_jump``: ``critical`` for a drop of 5 points (nmc) / 8 points (lfp) or more; a rise (recalibration,
  pack replacement) is a ``warning``.

Severity rises with the evidence and never falls by itself: an alert that was critical stays critical
until it is resolved, even when later reports show a milder condition.

Times: ``opened_at``/``last_seen_at`` are log timestamps (when the vehicle saw the condition); ``critical_at``
and ``resolved_at`` are the server's clock (``now``), which escalation measures from.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from analytics.domain.cells import CellsSnapshot, cells_rank
from analytics.domain.profiles import DEFAULT_PROFILE, PROFILES, BatteryProfile
from analytics.domain.trend import JUMP_MIN_PCT, SohPoint, soh_jumps
from common import vocabulary

__all__ = [
    "ALERT_TYPES",
    "DELIVERY_RETRY_DELAYS",
    "EVENTS",
    "REPORT_TYPES",
    "RESOLUTIONS",
    "SEVERITIES",
    "SEVERITY_THRESHOLDS",
    "SOH_JUMP_WINDOW",
    "STATES",
    "WEAK_CELL_MIN_LOGS",
    "WEAK_CELL_WINDOW",
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
    "soh_jump_finding",
    "weak_cell_finding",
    "weak_cell_in_log",
]

# --------------------------------------------------------------------------- vocabulary

# The codes are the vocabulary's (common.vocabulary), named here for the rules.
VOLTAGE_IMBALANCE = vocabulary.VOLTAGE_IMBALANCE.code
OVERHEATING = vocabulary.OVERHEATING.code
LOW_SOH = vocabulary.LOW_SOH.code
WEAK_CELL = vocabulary.WEAK_CELL.code
SOH_JUMP = vocabulary.SOH_JUMP.code
#: Assessed on every report (its anomaly codes).
REPORT_TYPES: tuple[str, ...] = vocabulary.codes(vocabulary.ANOMALIES)
#: Every alert type; an unknown finding code is ignored.
ALERT_TYPES: tuple[str, ...] = vocabulary.codes(vocabulary.ALERT_TYPES)
#: Logs in the weak_cell confirmation window (the newest up to the report), and the fewest that can confirm.
WEAK_CELL_WINDOW = 10
WEAK_CELL_MIN_LOGS = 5
#: Reports in the soh_jump series (the newest evaluated up to the report).
SOH_JUMP_WINDOW = 40

WARNING = vocabulary.WARNING.code
CRITICAL = vocabulary.CRITICAL.code
#: Severities, mildest first (their order is their rank).
SEVERITIES: tuple[str, ...] = vocabulary.codes(vocabulary.SEVERITIES)

OPEN = vocabulary.OPEN.code
ACKNOWLEDGED = vocabulary.ACKNOWLEDGED.code
RESOLVED = vocabulary.RESOLVED.code
STATES: tuple[str, ...] = vocabulary.codes(vocabulary.ALERT_STATES)

AUTO, MANUAL = vocabulary.codes(vocabulary.RESOLUTIONS)
RESOLUTIONS: tuple[str, ...] = (AUTO, MANUAL)

OPENED = vocabulary.ALERT_OPENED.code
UPDATED = vocabulary.ALERT_UPDATED.code
ESCALATED = vocabulary.ALERT_ESCALATED.code
ACKNOWLEDGED_EVENT = vocabulary.ALERT_ACKNOWLEDGED.code
RESOLVED_EVENT = vocabulary.ALERT_RESOLVED.code
EVENTS: tuple[str, ...] = vocabulary.codes(vocabulary.WEBHOOK_EVENTS)


@dataclass(frozen=True, slots=True)
class SeverityThresholds:
    """When a finding is critical, per battery profile. ``None``: that type is never critical.

    ``overheating_critical_above_c``: °C, compared with the hottest cell (strictly above);
    ``low_soh_critical_below_pct``: %, compared with the report's SoH (strictly below);
    ``imbalance_critical_above_mv``: mV, compared with the pack's voltage spread (strictly above);
    ``weak_cell_critical_deviation_mv``: mV, compared with the largest ``|voltage_deviation_mv|`` of the cells
    at alert level (``>=``, as section 6 compares);
    ``soh_jump_critical_drop_pct``: SoH points, compared with a jump's drop (``-delta >=``).
    """

    overheating_critical_above_c: float | None = 60.0
    low_soh_critical_below_pct: float | None = 70.0
    imbalance_critical_above_mv: float | None = None
    weak_cell_critical_deviation_mv: float | None = None
    soh_jump_critical_drop_pct: float | None = None


#: Per profile (the vehicle's ``profile``). The contract's floor for every profile: above 60 °C and below 70 %
#: SoH are critical (60 °C is the usual upper operating limit of both NMC and LFP cells in datasheets, 70 % SoH
#: the common end-of-warranty figure for EV packs). The rest are engineering choices scaled from each profile's
#: own section 6 thresholds (analytics.domain.profiles), so that LFP's flatter voltage curve counts the same:
#: imbalance 3 x the anomaly threshold (nmc 50 -> 150 mV, lfp 30 -> 90 mV: a spread a passive balancer cannot
#: close within a charge); weak cell 2.5 x the section 6 alert deviation (nmc 40 -> 100 mV, lfp 25 -> 60 mV);
#: an SoH drop of 5 points for nmc (about one module of a 20-module pack lost at once), 8 for lfp (its flat
#: open-circuit voltage makes BMS capacity estimates coarser: recalibrations of several points are common).
SEVERITY_THRESHOLDS: Mapping[str, SeverityThresholds] = {
    vocabulary.NMC.code: SeverityThresholds(
        imbalance_critical_above_mv=150.0, weak_cell_critical_deviation_mv=100.0, soh_jump_critical_drop_pct=5.0
    ),
    vocabulary.LFP.code: SeverityThresholds(
        imbalance_critical_above_mv=90.0, weak_cell_critical_deviation_mv=60.0, soh_jump_critical_drop_pct=8.0
    ),
}
_DEFAULT_PROFILE = vocabulary.DEFAULT_PROFILE.code


def severity_for(code: str, value: float, profile: str = _DEFAULT_PROFILE) -> str:
    """The severity that one finding of type ``code`` with figure ``value`` (in the finding's unit) calls for."""
    limits = SEVERITY_THRESHOLDS.get(profile, SEVERITY_THRESHOLDS[_DEFAULT_PROFILE])
    if code == OVERHEATING and limits.overheating_critical_above_c is not None:
        return CRITICAL if value > limits.overheating_critical_above_c else WARNING
    if code == LOW_SOH and limits.low_soh_critical_below_pct is not None:
        return CRITICAL if value < limits.low_soh_critical_below_pct else WARNING
    if code == VOLTAGE_IMBALANCE and limits.imbalance_critical_above_mv is not None:
        return CRITICAL if value > limits.imbalance_critical_above_mv else WARNING
    if code == WEAK_CELL and limits.weak_cell_critical_deviation_mv is not None:
        return CRITICAL if abs(value) >= limits.weak_cell_critical_deviation_mv else WARNING
    if code == SOH_JUMP and limits.soh_jump_critical_drop_pct is not None:
        return CRITICAL if -value >= limits.soh_jump_critical_drop_pct else WARNING
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
    vehicle's ``latest``); such a report never changes an alert. ``assessed``: the types this report was
    judged on; for any other type it neither holds nor counts as clean (default: the report's own types).
    """

    log_id: str
    timestamp: datetime
    findings: tuple[Finding, ...]
    late: bool = False
    assessed: tuple[str, ...] = REPORT_TYPES


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
            if alert_type not in observation.assessed:
                continue
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


# --------------------------------------------------------------------------- the analytics findings


def _median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def _profile_of(name: str) -> BatteryProfile:
    return PROFILES.get(name, DEFAULT_PROFILE)


def weak_cell_in_log(
    voltages_v: Sequence[float], temperatures_c: Sequence[float], profile: str = _DEFAULT_PROFILE
) -> Finding | None:
    """The gate of ``weak_cell``: the cells of one log already beyond a section 6 alert threshold in that log
    alone (``|deviation| >= cell_alert_deviation_mv`` or ``excess >= cell_alert_temperature_excess_c``, both
    from the log's median, rounded to 2 decimals as cells_rank rounds); None when there is none. Plain Python:
    it runs on every vehicle of every batch."""
    if not voltages_v:
        return None
    limits = _profile_of(profile)
    # Most packs have no such cell: min/max (in C) settle it before the per-cell loop (0.01: rounding's slack).
    near_v = (limits.cell_alert_deviation_mv - 0.01) / 1000.0
    near_t = limits.cell_alert_temperature_excess_c - 0.01
    # No cell is further from the median than the spread: a narrow pack needs no median (no sort) at all.
    if max(voltages_v) - min(voltages_v) < near_v and (
        not temperatures_c or max(temperatures_c) - min(temperatures_c) < near_t
    ):
        return None
    v_median = _median(voltages_v)
    t_median = _median(temperatures_c) if temperatures_c else 0.0
    if (
        v_median - min(voltages_v) < near_v
        and max(voltages_v) - v_median < near_v
        and (not temperatures_c or max(temperatures_c) - t_median < near_t)
    ):
        return None
    # The cells near a threshold by plain comparisons, then the exact (rounded) test on those few only.
    low, high = v_median - near_v, v_median + near_v
    near = {index for index, voltage in enumerate(voltages_v) if voltage <= low or voltage >= high}
    if temperatures_c:
        hot = t_median + near_t
        near.update(index for index, temp in enumerate(temperatures_c[: len(voltages_v)]) if temp >= hot)
    cells: list[int] = []
    worst = 0.0
    for index in sorted(near):
        voltage = voltages_v[index]
        deviation = round((voltage - v_median) * 1000.0, 2)
        excess = round(temperatures_c[index] - t_median, 2) if index < len(temperatures_c) else 0.0
        if abs(deviation) >= limits.cell_alert_deviation_mv or excess >= limits.cell_alert_temperature_excess_c:
            cells.append(index)
            worst = max(worst, abs(deviation))
    return Finding(WEAK_CELL, worst, tuple(cells)) if cells else None


def weak_cell_finding(window: Sequence[CellsSnapshot], profile: str = _DEFAULT_PROFILE) -> Finding | None:
    """``weak_cell`` over a window of logs: the cells that section 6's ranking puts at ``alert`` level (ids
    ascending) and the largest ``|voltage_deviation_mv|`` among them; None when no cell is at alert level or
    the window has fewer than :data:`WEAK_CELL_MIN_LOGS` logs (a new vehicle's first odd readings confirm nothing)."""
    if len(window) < WEAK_CELL_MIN_LOGS:
        return None
    flagged = [rank for rank in cells_rank(window, profile=_profile_of(profile)) if rank.level == "alert"]
    if not flagged:
        return None
    worst = max(abs(rank.voltage_deviation_mv) for rank in flagged)
    return Finding(WEAK_CELL, worst, tuple(sorted(rank.id for rank in flagged)))


def _steps_possible(soh: Sequence[float], width: int = 8) -> bool:
    """Whether the raw series could hold a jump: some split with the medians of the ``width`` values on each
    side at least ``JUMP_MIN_PCT / 2`` apart (the detector wants ``JUMP_MIN_PCT`` on the same medians)."""
    medians = [_median(soh[start : start + width]) for start in range(len(soh) - width + 1)]
    return any(abs(medians[split] - medians[split - width]) >= JUMP_MIN_PCT / 2 for split in range(width, len(medians)))


def soh_jump_finding(series: Sequence[Sequence[float]]) -> Finding | None:
    """``soh_jump`` over a vehicle's recent series of (log timestamp in epoch seconds, SoH %), oldest first: the
    jump of section 6's detector for short windows (analytics.domain.trend.soh_jumps) with the largest
    ``|delta|``, as a finding whose figure is that signed ``delta``; None without a jump. Cheap gates first: a
    series whose range is under ``JUMP_MIN_PCT``, or whose raw medians never step by half of it, is not given
    to the detector."""
    if len(series) < 16:
        return None
    soh = [point[1] for point in series]
    if max(soh) - min(soh) < JUMP_MIN_PCT or not _steps_possible(soh):
        return None
    jumps = soh_jumps([SohPoint(datetime.fromtimestamp(at, tz=UTC), 0, float(value)) for at, value in series])
    if not jumps:
        return None
    biggest = max(jumps, key=lambda jump: (abs(jump.delta), jump.timestamp))
    return Finding(SOH_JUMP, biggest.delta) if math.isfinite(biggest.delta) else None


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
