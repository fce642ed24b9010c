"""Writes for alerts: evaluation in the report worker's transaction, the fleet's acknowledge/resolve, webhook
registration, the outbox, delivery attempts and escalation. Services take `now` so that tests control time."""

import base64
import json
import logging
import secrets
import time
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from standardwebhooks import Webhook as StandardWebhook

from alerts import rules
from alerts.dispatch import deliveries_enqueue_on_commit
from alerts.models import (
    UNRESOLVED_SQL,
    Alert,
    AlertWatermark,
    DeliveryAttempt,
    DeliveryStatus,
    Webhook,
    WebhookDelivery,
)
from alerts.selectors import alert_data, alert_payload
from alerts.urlguard import UrlNotAllowed, webhook_url_check
from analytics.domain.cells import CellsSnapshot
from analytics.domain.trend import JUMP_MIN_PCT
from common.exceptions import ConflictError, InvalidError, NotFoundError
from common.metrics import WEBHOOK_DELIVERIES
from common.timestamps import format_timestamp
from vehicles.models import DiagnosticLog, Vehicle

logger = logging.getLogger(__name__)

_ALERT_TABLE = Alert._meta.db_table
_WATERMARK_TABLE = AlertWatermark._meta.db_table
_DELIVERY_TABLE = WebhookDelivery._meta.db_table
_WEBHOOK_TABLE = Webhook._meta.db_table
_VEHICLE_TABLE = Vehicle._meta.db_table
_LOG_TABLE = DiagnosticLog._meta.db_table

DELIVERY_TIMEOUT_S = 5.0  # the contract: no 2xx within 5 s is a failed attempt
# An attempt in flight holds its delivery this long (longer than the timeout): a worker that dies mid-attempt
# leaves the delivery due again afterwards, for the periodic task.
DELIVERY_LEASE = timedelta(seconds=60)
DUE_BATCH = 200


# --------------------------------------------------------------------------- evaluation (report worker)


@dataclass(frozen=True)
class EvaluatedReport:
    """What the report worker passes for one completed report (plain data: alerts imports no reports code).

    `anomaly_details`: the report's [{"code", "value", "cells", ...}]; `battery_soh` in %; the cells'
    voltages (V) and temperatures (°C) by cell id (for the weak_cell gate).
    """

    log_id: uuid.UUID
    vehicle_pk: int
    timestamp: datetime
    anomaly_details: Sequence[dict[str, Any]]
    battery_soh: float
    cycle_count: int = 0
    cell_voltages: Sequence[float] = ()
    cell_temperatures: Sequence[float] = ()


class AlertOpenConflict(RuntimeError):
    """An alert could not open because another unresolved one of its (vehicle, type) appeared meanwhile.

    Cannot happen while every writer locks the vehicle first; if it does, the batch's transaction rolls
    back and its logs are taken again (reports.dispatch's sweeper)."""


def _late_log_ids(cursor: Any, log_ids: list[str]) -> set[str]:
    # A late log: older than one of the vehicle's logs received before it (vehicles.services' definition).
    # LATERAL ... LIMIT 1, not EXISTS: PostgreSQL would turn EXISTS into a semi-join over every log of the table
    # (a hash join, tens of ms per batch on a grown table); this stays one index probe per log.
    cursor.execute(
        f"SELECT l.id FROM {_LOG_TABLE} AS l CROSS JOIN LATERAL ("
        f"SELECT 1 FROM {_LOG_TABLE} AS newer WHERE newer.vehicle_id = l.vehicle_id "
        "AND newer.timestamp > l.timestamp AND newer.received_at < l.received_at LIMIT 1) AS n "
        "WHERE l.id = ANY(%s::uuid[])",
        [log_ids],
    )
    return {str(row[0]) for row in cursor.fetchall()}


def alerts_evaluate(*, reports: Sequence[EvaluatedReport], now: datetime | None = None) -> int:
    """Fold a report batch into its vehicles' alerts and write the outbox; the number of events.

    Call it inside the batch's transaction, after the vehicles' summaries (reports.services._compute). A
    constant number of statements whatever the batch's size: the vehicles are locked in id order (FOR NO KEY
    UPDATE, as the summaries lock them: concurrent batches for a vehicle queue up, no deadlock), then their
    unresolved alerts (FOR UPDATE, id order: an acknowledge or resolve from the API waits or is waited for);
    the pure rules decide (alerts.rules.evaluate_vehicle); one INSERT ... ON CONFLICT opens alerts, one
    UPDATE changes the others, one upsert moves the vehicles' watermarks and one INSERT writes a delivery per
    (event, subscribed active webhook), published after commit.
    """
    if not reports:
        return 0
    now = now or timezone.now()
    vehicle_pks = sorted({report.vehicle_pk for report in reports})
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT v.id, v.vehicle_id, v.fleet_id, v.profile, w.evaluated_until "
            f"FROM {_VEHICLE_TABLE} AS v "
            f"LEFT JOIN {_WATERMARK_TABLE} AS w ON w.vehicle_id = v.id WHERE v.id = ANY(%s) "
            "ORDER BY v.id FOR NO KEY UPDATE OF v",
            [vehicle_pks],
        )
        found = cursor.fetchall()
        log_ids = [str(report.log_id) for report in reports]
        late = _late_log_ids(cursor, log_ids)
    vehicles = {row[0]: row[1:4] for row in found}
    watermarks: dict[int, datetime] = {row[0]: row[4] for row in found if row[4] is not None}
    user_table = Alert._meta.get_field("acknowledged_by").related_model._meta.db_table  # type: ignore[union-attr]
    with connection.cursor() as cursor:  # raw: the ORM's query building cost more than the query (bench_alert_cost)
        cursor.execute(
            "SELECT a.id, a.vehicle_id, a.type, a.severity, a.state, a.opened_at, a.last_seen_at, a.occurrences, "
            "a.last_log_id, a.cells, a.clean_streak, a.sequence, a.critical_at, a.acknowledged_at, u.username "
            f"FROM {_ALERT_TABLE} AS a LEFT JOIN {user_table} AS u ON u.id = a.acknowledged_by_id "
            f"WHERE a.vehicle_id = ANY(%s) AND a.{UNRESOLVED_SQL} ORDER BY a.id FOR UPDATE OF a",
            [vehicle_pks],
        )
        rows = cursor.fetchall()
    unresolved: dict[int, dict[str, rules.AlertState]] = defaultdict(dict)
    acknowledgement: dict[str, tuple[datetime | None, str | None]] = {}
    for (
        alert_id_value,
        vehicle_pk,
        alert_type,
        severity,
        state,
        opened_at,
        last_seen_at,
        occurrences,
        last_log_id,
        cells,
        clean_streak,
        sequence,
        critical_at,
        acknowledged_at,
        acknowledged_by,
    ) in rows:
        alert_id = str(alert_id_value)
        unresolved[vehicle_pk][alert_type] = rules.AlertState(
            id=alert_id,
            type=alert_type,
            severity=severity,
            state=state,
            opened_at=opened_at,
            last_seen_at=last_seen_at,
            occurrences=occurrences,
            last_log_id=str(last_log_id),
            cells=tuple(cells or ()),
            clean_streak=clean_streak,
            sequence=sequence,
            critical_at=critical_at,
        )
        acknowledgement[alert_id] = (acknowledged_at, acknowledged_by)
    observations: dict[int, list[rules.Observation]] = defaultdict(list)
    by_log = dict(zip(log_ids, reports, strict=True))
    for log_id, report in by_log.items():
        findings = tuple(
            rules.Finding(code=str(d["code"]), value=float(d["value"]), cells=tuple(int(c) for c in d.get("cells", ())))
            for d in report.anomaly_details
        )
        observations[report.vehicle_pk].append(
            rules.Observation(
                log_id=log_id,
                timestamp=report.timestamp,
                findings=findings,
                late=log_id in late,
            )
        )
    _analytics_findings(
        observations=observations,
        by_log=by_log,
        watermarks=watermarks,
        unresolved=unresolved,
        profiles={pk: row[2] for pk, row in vehicles.items()},
    )
    changed: dict[str, tuple[int, rules.AlertState]] = {}
    events: list[tuple[int, rules.AlertEvent]] = []
    for vehicle_pk in vehicle_pks:
        if vehicle_pk not in vehicles:
            continue
        if vehicle_pk not in unresolved and not any(item.findings for item in observations[vehicle_pk]):
            continue  # the common case: no alert and a clean report, nothing to change (the watermark moved)
        outcome = rules.evaluate_vehicle(
            unresolved=unresolved.get(vehicle_pk, {}),
            evaluated_until=watermarks.get(vehicle_pk),
            observations=observations[vehicle_pk],
            clear_after=settings.ALERT_CLEAR_AFTER,
            now=now,
            new_id=lambda: str(uuid.uuid4()),
            profile=vehicles[vehicle_pk][2],
        )
        changed.update({alert_id: (vehicle_pk, alert) for alert_id, alert in outcome.alerts.items()})
        events.extend((vehicle_pk, event) for event in outcome.events)
    existing = {alert_id for by_type in unresolved.values() for alert_id in (a.id for a in by_type.values())}
    # Updates first: an alert this batch resolved must leave the unique index before the batch's next alert
    # of the same vehicle and type goes in (resolved by three clean reports, then reopened, in one batch).
    # One statement for every changed alert: a second, narrower one for the bookkeeping-only changes cost one
    # more round trip than it saved (tried, in-process timing of bench_alert_cost's batches).
    _alerts_update([alert for alert_id, (_, alert) in changed.items() if alert_id in existing])
    _alerts_insert([(pk, alert) for alert_id, (pk, alert) in changed.items() if alert_id not in existing])
    outbox = []
    for vehicle_pk, event in events:
        acknowledged_at, acknowledged_by = acknowledgement.get(event.alert.id, (None, None))
        payload = _state_payload(
            event.alert, vehicle_id=vehicles[vehicle_pk][0], acknowledged_at=acknowledged_at, by=acknowledged_by
        )
        outbox.append((event.alert.id, vehicles[vehicle_pk][1], event.event, event.alert.sequence, payload))
    _outbox_write(outbox, now=now)
    return len(events)


def _state_payload(
    alert: rules.AlertState, *, vehicle_id: str, acknowledged_at: datetime | None, by: str | None
) -> dict[str, Any]:
    return alert_payload(
        id=alert.id,
        vehicle_id=vehicle_id,
        type=alert.type,
        severity=alert.severity,
        state=alert.state,
        opened_at=alert.opened_at,
        last_seen_at=alert.last_seen_at,
        occurrences=alert.occurrences,
        last_log_id=alert.last_log_id,
        cells=list(alert.cells),
        acknowledged_at=acknowledged_at,
        acknowledged_by=by,
        resolved_at=alert.resolved_at,
        resolution=alert.resolution,
    )


def _alerts_insert(new: list[tuple[int, rules.AlertState]]) -> None:
    if not new:
        return
    columns = list(
        zip(
            *[
                (
                    alert.id,
                    pk,
                    alert.type,
                    alert.severity,
                    alert.state,
                    alert.opened_at,
                    alert.last_seen_at,
                    alert.occurrences,
                    alert.last_log_id,
                    json.dumps(list(alert.cells)),
                    alert.clean_streak,
                    alert.sequence,
                    alert.critical_at,
                    alert.resolved_at,
                    alert.resolution,
                )
                for pk, alert in new
            ],
            strict=True,
        )
    )
    with connection.cursor() as cursor:
        # Under the vehicle lock no other unresolved alert of (vehicle, type) can appear; the partial unique
        # index is the database's word on it all the same, and a conflict fails the batch (retried later).
        cursor.execute(
            f"INSERT INTO {_ALERT_TABLE} (id, vehicle_id, type, severity, state, opened_at, last_seen_at, "
            "occurrences, last_log_id, cells, clean_streak, sequence, critical_at, resolved_at, resolution) "
            "SELECT n.id, n.vehicle_id, n.type, n.severity, n.state, n.opened_at, n.last_seen_at, n.occurrences, "
            "n.last_log_id, ARRAY(SELECT jsonb_array_elements_text(n.cells)::int), n.clean_streak, n.sequence, "
            "n.critical_at, n.resolved_at, n.resolution FROM unnest(%s::uuid[], %s::bigint[], %s::text[], "
            "%s::text[], %s::text[], %s::timestamptz[], %s::timestamptz[], %s::int[], %s::uuid[], %s::jsonb[], "
            "%s::int[], %s::int[], %s::timestamptz[], %s::timestamptz[], %s::text[]) AS n(id, vehicle_id, type, "
            "severity, state, opened_at, last_seen_at, occurrences, last_log_id, cells, clean_streak, sequence, "
            "critical_at, resolved_at, resolution) "
            f"ON CONFLICT (vehicle_id, type) WHERE {UNRESOLVED_SQL} DO NOTHING RETURNING id",
            [list(column) for column in columns],
        )
        inserted = len(cursor.fetchall())
    if inserted != len(new):
        raise AlertOpenConflict(f"{len(new) - inserted} alert(s) met an unresolved alert of their vehicle and type")


def _alerts_update(alerts: list[rules.AlertState]) -> None:
    """One UPDATE ... FROM unnest(...) for every changed alert (Django's bulk_update builds a CASE per field and
    row: it cost the worker more than the rest of the evaluation together, bench_alert_cost)."""
    if not alerts:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {_ALERT_TABLE} AS a SET severity = u.severity, state = u.state, last_seen_at = u.last_seen_at, "
            "occurrences = u.occurrences, last_log_id = u.last_log_id, "
            "cells = ARRAY(SELECT jsonb_array_elements_text(u.cells)::int), clean_streak = u.clean_streak, "
            "sequence = u.sequence, critical_at = u.critical_at, resolved_at = u.resolved_at, "
            "resolution = u.resolution FROM unnest(%s::uuid[], %s::text[], %s::text[], %s::timestamptz[], %s::int[], "
            "%s::uuid[], %s::jsonb[], %s::int[], %s::int[], %s::timestamptz[], %s::timestamptz[], %s::text[]) "
            "AS u(id, severity, state, last_seen_at, occurrences, last_log_id, cells, clean_streak, sequence, "
            "critical_at, resolved_at, resolution) WHERE a.id = u.id",
            [
                [alert.id for alert in alerts],
                [alert.severity for alert in alerts],
                [alert.state for alert in alerts],
                [alert.last_seen_at for alert in alerts],
                [alert.occurrences for alert in alerts],
                [alert.last_log_id for alert in alerts],
                [json.dumps(list(alert.cells)) for alert in alerts],
                [alert.clean_streak for alert in alerts],
                [alert.sequence for alert in alerts],
                [alert.critical_at for alert in alerts],
                [alert.resolved_at for alert in alerts],
                [alert.resolution for alert in alerts],
            ],
        )


# A watermark's series with the new points appended, cut to its last SOH_JUMP_WINDOW values.
_APPENDED = "(w.{0} || EXCLUDED.{0})[greatest(1, cardinality(w.{0}) + cardinality(EXCLUDED.{0}) - {1}):]"
_SOH_AT_APPENDED = _APPENDED.format("soh_at", rules.SOH_JUMP_WINDOW - 1)
_SOH_APPENDED = _APPENDED.format("soh", rules.SOH_JUMP_WINDOW - 1)


def _watermarks_move(moves: dict[int, tuple[datetime, list[list[float]]]]) -> dict[int, list[list[float]]]:
    """Move the vehicles' watermarks to their newest evaluated log and append that report's SoH points to
    their series, in SQL (one upsert: the series never travels to Python and back); the new series of the
    vehicles whose series could hold a jump (its SoH range at least JUMP_MIN_PCT), the others' cannot.
    `moves`: vehicle -> (its newest fresh log's timestamp, the fresh reports' [epoch s, SoH] pairs)."""
    if not moves:
        return {}
    window = rules.SOH_JUMP_WINDOW
    rows = [(pk, until, at, soh) for pk, (until, points) in moves.items() for at, soh in points[-window:]]
    newer = "EXCLUDED.evaluated_until >= w.evaluated_until"
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {_WATERMARK_TABLE} AS w (vehicle_id, evaluated_until, soh_at, soh) "
            "SELECT n.pk, max(n.until), array_agg(n.at ORDER BY n.i), array_agg(n.soh ORDER BY n.i) "
            "FROM unnest(%s::bigint[], %s::timestamptz[], %s::bigint[], %s::float8[]) WITH ORDINALITY "
            "AS n(pk, until, at, soh, i) GROUP BY n.pk "
            "ON CONFLICT (vehicle_id) DO UPDATE SET evaluated_until = "
            "GREATEST(w.evaluated_until, EXCLUDED.evaluated_until), "
            f"soh_at = CASE WHEN {newer} THEN {_SOH_AT_APPENDED} ELSE w.soh_at END, "
            f"soh = CASE WHEN {newer} THEN {_SOH_APPENDED} ELSE w.soh END "
            # Only the series whose range could hold a jump come back (as one 2 x n array), the rest stay put.
            "RETURNING w.vehicle_id, CASE WHEN (SELECT max(x) - min(x) FROM unnest(w.soh) AS x) >= %s "
            "THEN ARRAY[w.soh_at::float8[], w.soh] END",
            [
                [row[0] for row in rows],
                [row[1] for row in rows],
                [row[2] for row in rows],
                [row[3] for row in rows],
                JUMP_MIN_PCT,
            ],
        )
        wide = [(pk, series) for pk, series in cursor.fetchall() if series is not None]
    return {pk: [[int(at), soh] for at, soh in zip(series[0], series[1], strict=True)] for pk, series in wide}


def _analytics_findings(
    *,
    observations: dict[int, list[rules.Observation]],
    by_log: dict[str, EvaluatedReport],
    watermarks: dict[int, datetime],
    unresolved: dict[int, dict[str, rules.AlertState]],
    profiles: dict[int, str],
) -> None:
    """Judge `weak_cell` and `soh_jump` on each vehicle's newest new report (alerts.rules' docstring says how),
    in place in `observations`, and move the vehicles' watermarks and SoH series (_watermarks_move).

    Cost: plain Python on data in hand for every vehicle (the weak-cell gate on the report's own cells); the
    SoH series stay in the database, which returns only those whose range could hold a step (the jump
    detector runs on those); one query for the vehicles whose gate passes and whose open weak_cell alert (if
    any) shows other cells (their last WEAK_CELL_WINDOW logs' cell arrays)."""
    newest: dict[int, int] = {}  # vehicle -> index of its newest new observation
    moves: dict[int, tuple[datetime, list[list[float]]]] = {}
    window_wanted: dict[int, datetime] = {}
    for vehicle_pk, items in observations.items():
        items.sort(key=lambda item: item.timestamp)
        mark = watermarks.get(vehicle_pk)
        fresh = [i for i, item in enumerate(items) if not item.late and (mark is None or item.timestamp > mark)]
        if not fresh or vehicle_pk not in profiles:
            continue
        points: list[list[float]] = []
        for i in fresh:
            report = by_log[items[i].log_id]
            points.append([round(report.timestamp.timestamp()), report.battery_soh])
        last = fresh[-1]
        newest[vehicle_pk] = last
        moves[vehicle_pk] = (items[last].timestamp, points)
        report = by_log[items[last].log_id]
        extra: tuple[rules.Finding, ...] = ()
        gate = rules.weak_cell_in_log(report.cell_voltages, report.cell_temperatures, profiles[vehicle_pk])
        if gate is not None:
            open_alert = unresolved.get(vehicle_pk, {}).get(rules.WEAK_CELL)
            if open_alert is not None and tuple(open_alert.cells) == gate.cells:
                extra = (gate,)  # the same cells as the open alert: kept without the window
            else:
                window_wanted[vehicle_pk] = report.timestamp
        items[last] = replace(
            items[last],
            findings=(*items[last].findings, *extra),
            assessed=(*rules.REPORT_TYPES, rules.WEAK_CELL, rules.SOH_JUMP),
        )
    for vehicle_pk, series in _watermarks_move(moves).items():
        jump = rules.soh_jump_finding(series)
        if jump is not None:
            item = observations[vehicle_pk][newest[vehicle_pk]]
            observations[vehicle_pk][newest[vehicle_pk]] = replace(item, findings=(*item.findings, jump))
    if window_wanted:
        windows = _cell_windows(window_wanted)
        for vehicle_pk in window_wanted:
            finding = rules.weak_cell_finding(windows.get(vehicle_pk, []), profiles[vehicle_pk])
            if finding is not None:
                item = observations[vehicle_pk][newest[vehicle_pk]]
                observations[vehicle_pk][newest[vehicle_pk]] = replace(item, findings=(*item.findings, finding))


def _cell_windows(until: dict[int, datetime]) -> dict[int, list[CellsSnapshot]]:
    """Each vehicle's last rules.WEAK_CELL_WINDOW logs up to its time (the cell arrays), in one query."""
    pks = list(until)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT v.pk, l.timestamp, l.cell_voltages, l.cell_temperatures "
            "FROM unnest(%s::bigint[], %s::timestamptz[]) AS v(pk, until) CROSS JOIN LATERAL ("
            f"SELECT timestamp, cell_voltages, cell_temperatures FROM {_LOG_TABLE} WHERE vehicle_id = v.pk "
            "AND timestamp <= v.until AND cell_voltages IS NOT NULL ORDER BY timestamp DESC LIMIT %s) AS l",
            [pks, [until[pk] for pk in pks], rules.WEAK_CELL_WINDOW],
        )
        windows: dict[int, list[CellsSnapshot]] = defaultdict(list)
        for pk, at, voltages, temperatures in cursor.fetchall():
            windows[pk].append(
                CellsSnapshot(timestamp=at, voltages_v=tuple(voltages), temperatures_c=tuple(temperatures or ()))
            )
    return windows


# --------------------------------------------------------------------------- the outbox


def _outbox_write(events: list[tuple[str, int, str, int, dict[str, Any]]], *, now: datetime) -> list[uuid.UUID]:
    """One delivery row per (event, active webhook of the alert's fleet subscribed to it), in one statement,
    published after commit. `events`: (alert id, fleet id, event, sequence, alert payload)."""
    if not events:
        return []
    bodies = [
        json.dumps(
            {"type": event, "timestamp": format_timestamp(now), "data": {"alert": payload, "sequence": sequence}},
            ensure_ascii=False,
            separators=(",", ":"),
        )
        for _, _, event, sequence, payload in events
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {_DELIVERY_TABLE} (id, webhook_id, alert_id, event, sequence, body, status, attempts, "
            "last_error, next_attempt_at, created_at) "
            "SELECT gen_random_uuid(), w.id, e.alert_id, e.event, e.sequence, e.body, %s, 0, '', %s, now() "
            "FROM unnest(%s::uuid[], %s::bigint[], %s::text[], %s::int[], %s::text[]) "
            "WITH ORDINALITY AS e(alert_id, fleet_id, event, sequence, body, n) "
            f"JOIN {_WEBHOOK_TABLE} AS w ON w.fleet_id = e.fleet_id AND w.active AND e.event = ANY(w.events) "
            "ORDER BY e.n, w.id ON CONFLICT DO NOTHING RETURNING id",
            [
                DeliveryStatus.PENDING,
                now,
                [alert_id for alert_id, *_ in events],
                [fleet_id for _, fleet_id, *_ in events],
                [event for _, _, event, *_ in events],
                [sequence for *_, sequence, _ in events],
                bodies,
            ],
        )
        ids = [row[0] for row in cursor.fetchall()]
    deliveries_enqueue_on_commit(ids)
    return ids


def _event_of(alert: Alert, event: str, *, now: datetime) -> None:
    """Save the alert with its change and its next event number, and write the event's deliveries."""
    alert.sequence += 1
    alert.save()
    _outbox_write([(str(alert.id), alert.vehicle.fleet_id, event, alert.sequence, alert_data(alert))], now=now)


# --------------------------------------------------------------------------- the fleet's actions


class AlertResolvedConflict(ConflictError):
    """409: a resolved alert cannot be acknowledged."""

    default_message = "The alert is resolved; a resolved alert cannot be acknowledged."


def _alert_for_update(*, fleet_id: int, alert_id: uuid.UUID) -> Alert:
    alert = (
        Alert.objects.select_for_update(of=("self",))
        .select_related("vehicle", "acknowledged_by")
        .filter(pk=alert_id, vehicle__fleet_id=fleet_id)
        .first()
    )
    if alert is None:
        raise NotFoundError("No such alert.")
    return alert


def alert_acknowledge(*, fleet_id: int, alert_id: uuid.UUID, user: Any, now: datetime | None = None) -> Alert:
    """Acknowledge the fleet's alert (`alert.acknowledged`). Already acknowledged: unchanged, no event;
    resolved: AlertResolvedConflict (409); another fleet's or unknown: NotFoundError (404)."""
    now = now or timezone.now()
    with transaction.atomic():
        alert = _alert_for_update(fleet_id=fleet_id, alert_id=alert_id)
        if alert.state == rules.RESOLVED:
            raise AlertResolvedConflict()
        if alert.state == rules.OPEN:
            alert.state, alert.acknowledged_at, alert.acknowledged_by = rules.ACKNOWLEDGED, now, user
            _event_of(alert, rules.ACKNOWLEDGED_EVENT, now=now)
    return alert


def alert_resolve(*, fleet_id: int, alert_id: uuid.UUID, now: datetime | None = None) -> Alert:
    """Resolve the fleet's alert by hand (`resolution: "manual"`, `alert.resolved`). Already resolved:
    unchanged, no event (a retried POST gets the same answer); another fleet's or unknown: NotFoundError (404)."""
    now = now or timezone.now()
    with transaction.atomic():
        alert = _alert_for_update(fleet_id=fleet_id, alert_id=alert_id)
        if alert.state != rules.RESOLVED:
            alert.state, alert.resolved_at, alert.resolution = rules.RESOLVED, now, rules.MANUAL
            _event_of(alert, rules.RESOLVED_EVENT, now=now)
    return alert


def alerts_escalate(*, now: datetime | None = None, after: timedelta | None = None, limit: int = 500) -> int:
    """Send `alert.escalated` once for each critical alert still `open` (unacknowledged) `after` (default
    settings.ALERT_ESCALATE_AFTER) since it became critical; the number escalated. Safe to run in several
    places at once (SKIP LOCKED; `escalated_at` marks it done)."""
    now = now or timezone.now()
    after = settings.ALERT_ESCALATE_AFTER if after is None else after
    with transaction.atomic():
        due = list(
            Alert.objects.select_for_update(of=("self",), skip_locked=True)
            .select_related("vehicle", "acknowledged_by")
            .filter(state=rules.OPEN, severity=rules.CRITICAL, escalated_at__isnull=True, critical_at__lte=now - after)
            .order_by("critical_at")[:limit]
        )
        for alert in due:
            alert.escalated_at = now
            alert.sequence += 1
        Alert.objects.bulk_update(due, ["escalated_at", "sequence"], batch_size=max(1, len(due)))
        _outbox_write(
            [(str(a.id), a.vehicle.fleet_id, rules.ESCALATED, a.sequence, alert_data(a)) for a in due], now=now
        )
    return len(due)


# --------------------------------------------------------------------------- webhooks


def _allow_http() -> bool:
    return bool(settings.DEBUG or settings.WEBHOOK_ALLOW_PRIVATE)


def webhook_secret_new() -> str:
    """A Standard Webhooks secret: `whsec_` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def webhook_create(*, fleet_id: int, url: str, events: list[str]) -> Webhook:
    """Register a webhook for the fleet; its `secret` is readable on the returned object (show it once).

    The URL must be https (http too under DEBUG or WEBHOOK_ALLOW_PRIVATE) and resolve to public addresses only
    (unless WEBHOOK_ALLOW_PRIVATE): else InvalidError naming `url`."""
    try:
        webhook_url_check(url, allow_http=_allow_http(), allow_private=settings.WEBHOOK_ALLOW_PRIVATE)
    except UrlNotAllowed as exc:
        raise InvalidError({"url": [str(exc)]}) from None
    return Webhook.objects.create(
        fleet_id=fleet_id, url=url, events=list(dict.fromkeys(events)), secret=webhook_secret_new()
    )


def webhook_delete(*, fleet_id: int, webhook_id: uuid.UUID) -> None:
    """Delete the fleet's webhook and its deliveries; another fleet's or unknown: NotFoundError (404)."""
    deleted, _ = Webhook.objects.filter(pk=webhook_id, fleet_id=fleet_id).delete()
    if not deleted:
        raise NotFoundError("No such webhook.")


@dataclass(frozen=True)
class SendResult:
    status_code: int | None
    error: str
    duration_ms: int

    @property
    def ok(self) -> bool:
        return not self.error and self.status_code is not None and 200 <= self.status_code < 300


def webhook_send(
    *, url: str, secret: str, message_id: str, body: str, client: httpx.Client | None = None
) -> SendResult:
    """POST `body` to `url`, signed per Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature),
    with a 5 s timeout and no redirects; the URL is checked again first (DNS may have changed)."""
    started = time.monotonic()
    try:
        webhook_url_check(url, allow_http=_allow_http(), allow_private=settings.WEBHOOK_ALLOW_PRIVATE)
    except UrlNotAllowed as exc:
        return SendResult(None, f"not sent: {exc}", 0)
    sent_at = datetime.now(UTC)  # the receiver checks this against its clock: the real one
    headers = {
        "content-type": "application/json",
        "user-agent": "battery-health-webhooks/1",
        "webhook-id": message_id,
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": StandardWebhook(secret).sign(message_id, sent_at, body),
    }
    own_client = client is None
    http = client or httpx.Client(timeout=DELIVERY_TIMEOUT_S, follow_redirects=False, trust_env=False)
    try:
        # The status line is all we need: the receiver's body is never read (a huge one costs nothing).
        with http.stream("POST", url, content=body.encode(), headers=headers) as response:
            code = response.status_code
        elapsed = time.monotonic() - started
        if elapsed > DELIVERY_TIMEOUT_S:  # httpx's timeout is per read: a drip-fed answer can take longer
            return SendResult(
                code, f"answered after {elapsed:.1f} s, over {DELIVERY_TIMEOUT_S:g} s", int(elapsed * 1000)
            )
        error = "" if 200 <= code < 300 else f"HTTP {code}"
        return SendResult(code, error, int(elapsed * 1000))
    except httpx.HTTPError as exc:
        return SendResult(None, f"{type(exc).__name__}: {exc}"[:2000], int((time.monotonic() - started) * 1000))
    finally:
        if own_client:
            http.close()


_SENDABLE = (
    f"d.status = %s AND w.active AND d.next_attempt_at <= %s AND NOT EXISTS (SELECT 1 FROM {_DELIVERY_TABLE} AS p "
    "WHERE p.webhook_id = d.webhook_id AND p.alert_id = d.alert_id AND p.sequence < d.sequence AND p.status = %s)"
)


def webhook_deliveries_due(*, now: datetime | None = None, limit: int = DUE_BATCH) -> list[uuid.UUID]:
    """Deliveries that may be attempted now: pending, due, of an active webhook, and first of their alert for
    that webhook (an earlier sequence still pending holds the later ones back)."""
    now = now or timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT d.id FROM {_DELIVERY_TABLE} AS d JOIN {_WEBHOOK_TABLE} AS w ON w.id = d.webhook_id "
            f"WHERE {_SENDABLE} ORDER BY d.next_attempt_at, d.sequence LIMIT %s",
            [DeliveryStatus.PENDING, now, DeliveryStatus.PENDING, limit],
        )
        return [row[0] for row in cursor.fetchall()]


def webhook_delivery_attempt(
    *, delivery_id: uuid.UUID, now: datetime | None = None, client: httpx.Client | None = None
) -> str | None:
    """Attempt one delivery if it may go now; its status afterwards, or None when it was not attempted (not
    due, held back by an earlier sequence, taken by another worker, delivered or given up already).

    1. claim (committed): count the attempt and hold the delivery for DELIVERY_LEASE;
    2. send, outside any transaction (up to 5 s);
    3. record (one transaction): the attempt in the delivery log; 2xx: delivered; else the next attempt after
       the backoff of alerts.rules.delivery_retry_delay, or failed when the attempts are spent. A webhook
       that has failed for 24 h without a success (WEBHOOK_DISABLE_AFTER) is set inactive and its pending
       deliveries failed. A delivered or failed delivery lets the alert's next one go (published after commit).
    """
    now = now or timezone.now()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"SELECT d.id FROM {_DELIVERY_TABLE} AS d JOIN {_WEBHOOK_TABLE} AS w ON w.id = d.webhook_id "
            f"WHERE d.id = %s AND {_SENDABLE} FOR UPDATE OF d SKIP LOCKED",
            [str(delivery_id), DeliveryStatus.PENDING, now, DeliveryStatus.PENDING],
        )
        if cursor.fetchone() is None:
            return None
        cursor.execute(
            f"UPDATE {_DELIVERY_TABLE} AS d SET attempts = d.attempts + 1, next_attempt_at = %s FROM {_WEBHOOK_TABLE} "
            "AS w WHERE d.id = %s AND w.id = d.webhook_id RETURNING d.attempts, d.body, w.url, w.secret",
            [now + DELIVERY_LEASE, str(delivery_id)],
        )
        attempts, body, url, secret = cursor.fetchone()
    result = webhook_send(url=url, secret=secret, message_id=f"msg_{delivery_id}", body=body, client=client)
    return _attempt_record(delivery_id=delivery_id, attempts=attempts, result=result, now=now)


def _attempt_record(*, delivery_id: uuid.UUID, attempts: int, result: SendResult, now: datetime) -> str | None:
    with transaction.atomic():
        delivery = WebhookDelivery.objects.select_for_update().filter(pk=delivery_id).first()
        if delivery is None:  # the webhook was deleted meanwhile, its deliveries with it
            return None
        webhook = Webhook.objects.select_for_update(no_key=True).get(pk=delivery.webhook_id)
        DeliveryAttempt.objects.create(
            delivery=delivery,
            attempted_at=now,
            status_code=result.status_code,
            error=result.error,
            duration_ms=result.duration_ms,
        )
        delivery.last_status_code = result.status_code
        delivery.last_error = result.error
        if result.ok:
            delivery.status, delivery.delivered_at, delivery.next_attempt_at = DeliveryStatus.DELIVERED, now, None
            if webhook.failing_since is not None:
                webhook.failing_since = None
                webhook.save(update_fields=["failing_since"])
        else:
            delay = rules.delivery_retry_delay(attempts)
            if delay is None:
                delivery.status, delivery.next_attempt_at = DeliveryStatus.FAILED, None
            else:
                delivery.next_attempt_at = now + delay
            if webhook.failing_since is None:
                webhook.failing_since = now
                webhook.save(update_fields=["failing_since"])
            elif webhook.active and now - webhook.failing_since >= rules.WEBHOOK_DISABLE_AFTER:
                webhook.active, webhook.deactivated_at = False, now
                webhook.save(update_fields=["active", "deactivated_at"])
                delivery.status, delivery.next_attempt_at = DeliveryStatus.FAILED, None
                WebhookDelivery.objects.filter(webhook=webhook, status=DeliveryStatus.PENDING).exclude(
                    pk=delivery.pk
                ).update(status=DeliveryStatus.FAILED, next_attempt_at=None, last_error="webhook deactivated")
                logger.warning("webhook %s deactivated after failing since %s", webhook.pk, webhook.failing_since)
        delivery.save()
        if delivery.status != DeliveryStatus.PENDING:
            following = (
                WebhookDelivery.objects.filter(
                    webhook_id=delivery.webhook_id, alert_id=delivery.alert_id, status=DeliveryStatus.PENDING
                )
                .order_by("sequence")
                .values_list("id", flat=True)[:1]
            )
            deliveries_enqueue_on_commit(list(following))
    logger.info(
        "webhook delivery %s attempt %d: %s", delivery_id, attempts, result.status_code or result.error or "sent"
    )
    # delivered | retrying | failed (given up, or the webhook was deactivated)
    outcome = "retrying" if delivery.status == DeliveryStatus.PENDING else str(delivery.status)
    WEBHOOK_DELIVERIES.labels(result=outcome).inc()
    return str(delivery.status)
