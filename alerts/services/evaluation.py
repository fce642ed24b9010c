"""Alert evaluation in the report worker's transaction: a report batch folded into its vehicles' alerts (by the pure
rules of alerts.rules), the watermarks and SoH series moved, the events written to the outbox. Services take `now`
so that tests control time."""

import json
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone

from alerts import rules
from alerts.models import UNRESOLVED_SQL, Alert, AlertWatermark
from alerts.selectors import alert_payload
from alerts.services.outbox import outbox_write
from analytics.domain.cells import CellsSnapshot
from analytics.domain.trend import JUMP_MIN_PCT
from vehicles.models import DiagnosticLog, Vehicle
from vehicles.queries import late_log_ids

_ALERT_TABLE = Alert._meta.db_table
_WATERMARK_TABLE = AlertWatermark._meta.db_table
_VEHICLE_TABLE = Vehicle._meta.db_table
_LOG_TABLE = DiagnosticLog._meta.db_table


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
        late = late_log_ids(cursor, log_ids)
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
    outbox_write(outbox, now=now)
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
