"""Reads for reports, always scoped to the caller's fleet."""

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson
from django.db import connection
from django.db.models import QuerySet

from alerts.selectors import alerts_open_counts
from analytics.selectors import vehicle_health
from common.limits import TIMESTAMP_MAX_FUTURE
from common.renderers import RawJSON
from common.timestamps import format_timestamp
from reports.certificate import ANOMALY_WINDOW_DAYS, CertificateData
from reports.models import BatteryReport
from vehicles.models import AnomalyCode, DiagnosticLog, Vehicle
from vehicles.selectors import vehicle_data

# One statement, written out once: the ORM would rebuild and compile it on every request, a large share
# of the request's CPU (docs/performance.md, "GET report by one precomputed SELECT"). The report's JSONB
# columns come back as their JSON text and go into the response as RawJSON (an orjson Fragment when
# rendered), unparsed: the database's JSON is the answer's.
_REPORT_SQL = (
    "SELECT l.id, v.vehicle_id, l.timestamp, l.cycle_count, l.status, l.error, r.battery_soh, "
    "r.anomalies::text, r.anomaly_details::text, r.diagnostics::text, r.generated_at, r.profile, r.rules_version, "
    "r.data_quality::text "
    f"FROM {DiagnosticLog._meta.db_table} AS l "
    f"JOIN {Vehicle._meta.db_table} AS v ON v.id = l.vehicle_id "
    f"LEFT JOIN {BatteryReport._meta.db_table} AS r ON r.log_id = l.id "
    "WHERE l.id = %s AND v.fleet_id = %s"
)
# The row as report_data reads it (the keys of the list rows) plus the log's status and error.
_REPORT_KEYS = (
    "log_id",
    "log__vehicle__vehicle_id",
    "log__timestamp",
    "log__cycle_count",
    "status",
    "error",
    "battery_soh",
    "anomalies",
    "anomaly_details",
    "diagnostics",
    "generated_at",
    "profile",
    "rules_version",
    "data_quality",
)
_JSON_KEYS = ("anomalies", "anomaly_details", "diagnostics", "data_quality")


def report_get(*, log_id: uuid.UUID, fleet_id: int) -> dict[str, Any] | None:
    """The log's report state in one query, or None when the log is unknown or another fleet's: a row for
    `report_data` (its `generated_at` None while there is no report), with the log's `status` and `error`.

    The report's JSON fields are `RawJSON` (JSON text rendered as is), None without a report.
    """
    with connection.cursor() as cursor:
        cursor.execute(_REPORT_SQL, [log_id, fleet_id])
        row = cursor.fetchone()
    if row is None:
        return None
    found = dict(zip(_REPORT_KEYS, row, strict=True))
    for key in _JSON_KEYS:
        if found[key] is not None:
            found[key] = RawJSON(found[key])
    return found


def reports_of_fleet(*, fleet_id: int) -> QuerySet[BatteryReport]:
    """The fleet's completed reports (a report exists only once its log completed), by the report's own copy of
    its log's fleet: the list and the CSV then read the (fleet, log timestamp, log) index."""
    return BatteryReport.objects.filter(fleet_id=fleet_id)


def reports_of_vehicle(*, vehicle_pk: int) -> QuerySet[BatteryReport]:
    return BatteryReport.objects.filter(log__vehicle_id=vehicle_pk)


# What a list reads of each report: the same fields as GET /api/v1/reports/<log_id>.
_LIST_FIELDS = (
    "log_id",
    "log__vehicle__vehicle_id",
    "log__timestamp",
    "log_timestamp",
    "battery_soh",
    "log__cycle_count",
    "anomalies",
    "anomaly_details",
    "diagnostics",
    "generated_at",
    "profile",
    "rules_version",
    "data_quality",
)


def report_rows(queryset: QuerySet[BatteryReport]) -> QuerySet[Any]:
    """Rows for report_data, as dicts (the paginator reads its position from them)."""
    return queryset.values(*_LIST_FIELDS)


def report_data(row: dict[str, Any]) -> dict[str, Any]:
    """A list row in the shape GET /api/v1/reports/<log_id> answers for a completed report."""
    return {
        "log_id": str(row["log_id"]),
        "vehicle_id": row["log__vehicle__vehicle_id"],
        "timestamp": format_timestamp(row["log__timestamp"]),
        "battery_soh": row["battery_soh"],
        "cycle_count": row["log__cycle_count"],
        "anomalies": row["anomalies"],
        "anomaly_details": row["anomaly_details"],
        "diagnostics": row["diagnostics"],
        "status": "completed",
        "generated_at": format_timestamp(row["generated_at"]),
        "profile": row["profile"],
        "rules_version": row["rules_version"],
        "data_quality": row["data_quality"],
    }


SUMMARY_WINDOWS = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}
SOH_BIN_PCT = 5
SOH_CAP = 100
WORST_VEHICLES = 10


def fleet_summary(*, fleet_id: int, window: timedelta, now: datetime) -> dict[str, Any]:
    """The fleet at a glance (API.md section 5): vehicles, those reporting in the window, the latest-SoH
    histogram in 5-point bins, the window's reports per anomaly, the 10 vehicles with the lowest latest SoH."""
    since = now - window
    vehicles = Vehicle.objects.filter(fleet_id=fleet_id)
    bins = SOH_CAP // SOH_BIN_PCT
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*), count(*) FILTER (WHERE last_seen_at >= %s) FROM {Vehicle._meta.db_table} "
            "WHERE fleet_id = %s",
            [since, fleet_id],
        )
        total, reporting = cursor.fetchone()
        cursor.execute(
            f"SELECT LEAST(floor(latest_soh / %s)::int, %s) AS bin, count(*) FROM {Vehicle._meta.db_table} "
            "WHERE fleet_id = %s AND latest_soh IS NOT NULL GROUP BY bin",
            [SOH_BIN_PCT, bins - 1, fleet_id],
        )
        per_bin = dict(cursor.fetchall())
        cursor.execute(
            f"SELECT d ->> 'code', count(*) FROM {BatteryReport._meta.db_table} AS r "
            "CROSS JOIN LATERAL jsonb_array_elements(r.anomaly_details) AS d "
            "WHERE r.fleet_id = %s AND r.log_timestamp >= %s AND r.log_timestamp < %s GROUP BY 1",
            [fleet_id, since, now + TIMESTAMP_MAX_FUTURE],  # logs may be stamped a little ahead
        )
        per_code = dict(cursor.fetchall())
    worst = vehicles.filter(latest_soh__isnull=False).order_by("latest_soh", "vehicle_id")[:WORST_VEHICLES]
    return {
        "vehicles": total,
        "reporting": reporting,
        "soh_histogram": [
            {"from": index * SOH_BIN_PCT, "to": (index + 1) * SOH_BIN_PCT, "count": per_bin.get(index, 0)}
            for index in range(bins)
        ],
        "anomalies": {code: per_code.get(code, 0) for code in AnomalyCode.values},
        "worst": [vehicle_data(vehicle) for vehicle in worst],
        "open_alerts": alerts_open_counts(fleet_id=fleet_id),
    }


TIMELINE_DAYS_DEFAULT = 30
TIMELINE_DAYS_MAX = 365
# The reports' own copy of their log's fleet and timestamp: one range of the (fleet, log timestamp) index, no
# join (reports migration 0004). Each code's FILTER: a report lists a code at most once, so counting the
# reports whose anomaly_details contain it counts the anomaly (the objects the fleet summary counts per code).
_TIMELINE_SQL = (
    "SELECT date_trunc('day', r.log_timestamp AT TIME ZONE 'UTC')::date AS day, count(*), "
    + ", ".join("count(*) FILTER (WHERE r.anomaly_details @> %s::jsonb)" for _ in AnomalyCode.values)
    + f" FROM {BatteryReport._meta.db_table} AS r "
    "WHERE r.fleet_id = %s AND r.log_timestamp >= %s AND r.log_timestamp < %s GROUP BY day"
)
_TIMELINE_CODES = [orjson.dumps([{"code": code}]).decode() for code in AnomalyCode.values]


def fleet_anomaly_timeline(*, fleet_id: int, days: int, now: datetime) -> dict[str, Any]:
    """The fleet's completed reports and their anomalies per UTC day of the log timestamp, in one query:
    `days` buckets from (today - days + 1) to today (UTC) inclusive, oldest first, every day present (zeros
    where none), every anomaly code in each bucket."""
    today = now.astimezone(UTC).date()
    first = today - timedelta(days=days - 1)
    since = datetime(first.year, first.month, first.day, tzinfo=UTC)
    until = datetime(today.year, today.month, today.day, tzinfo=UTC) + timedelta(days=1)
    with connection.cursor() as cursor:
        cursor.execute(_TIMELINE_SQL, [*_TIMELINE_CODES, fleet_id, since, until])
        per_day: dict[date, tuple[int, ...]] = {row[0]: tuple(row[1:]) for row in cursor.fetchall()}
    buckets = []
    for offset in range(days):
        day = first + timedelta(days=offset)
        reports, *per_code = per_day.get(day, (0,) * (1 + len(AnomalyCode.values)))
        buckets.append(
            {
                "date": day.isoformat(),
                "reports": reports,
                "anomalies": dict(zip(AnomalyCode.values, per_code, strict=True)),
            }
        )
    return {"days": days, "buckets": buckets}


# The vehicle's reports in one pass: per code, the reports of the last 90 days with it (as the timeline counts
# them), those reports, the distinct rules versions of all its reports (newest log first), and the rules
# version of the report that is the vehicle's `latest`.
_CERTIFICATE_SQL = (
    "SELECT "
    + ", ".join(
        "count(*) FILTER (WHERE l.timestamp >= %s AND l.timestamp < %s AND r.anomaly_details @> %s::jsonb)"
        for _ in AnomalyCode.values
    )
    + ", count(*) FILTER (WHERE l.timestamp >= %s AND l.timestamp < %s), "
    "array_agg(DISTINCT r.rules_version), max(r.rules_version) FILTER (WHERE r.log_id = %s) "
    f"FROM {BatteryReport._meta.db_table} AS r JOIN {DiagnosticLog._meta.db_table} AS l ON l.id = r.log_id "
    "WHERE l.vehicle_id = %s"
)


def vehicle_certificate_data(*, vehicle: Vehicle, now: datetime) -> CertificateData | None:
    """What the battery health certificate states about the vehicle at `now`, or None while it has no
    completed report: its registry, its health trend and forecast (the /health answer, same function), its
    latest report, and its reports' anomalies over the last 90 days (log timestamps in [now - 90 d, now + 5 min))."""
    if vehicle.latest_log_id is None or vehicle.latest_at is None:
        return None
    since, until = now - timedelta(days=ANOMALY_WINDOW_DAYS), now + TIMESTAMP_MAX_FUTURE
    window = [since, until]
    with connection.cursor() as cursor:
        cursor.execute(
            _CERTIFICATE_SQL,
            [*(v for code in _TIMELINE_CODES for v in (*window, code)), *window, vehicle.latest_log_id, vehicle.pk],
        )
        *per_code, reports_90d, versions, latest_version = cursor.fetchone()
    return CertificateData(
        vehicle_id=vehicle.vehicle_id,
        vin=vehicle.vin,
        model=vehicle.model,
        manufacture_date=vehicle.manufacture_date,
        profile=vehicle.profile,
        health=vehicle_health(vehicle=vehicle, now=now),
        latest_log_id=str(vehicle.latest_log_id),
        latest_at=vehicle.latest_at.astimezone(UTC),
        latest_soh=vehicle.latest_soh,
        latest_cycle_count=vehicle.latest_cycle_count,
        latest_rules_version=latest_version,
        reports_90d=reports_90d,
        anomalies_90d=dict(zip(AnomalyCode.values, per_code, strict=True)),
        rules_versions=tuple(sorted(versions or [], reverse=True)),
        issued_at=now.astimezone(UTC),
    )
