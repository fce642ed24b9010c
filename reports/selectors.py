"""Reads for reports, always scoped to the caller's fleet."""

import uuid
from typing import Any

from django.db import connection

from common.renderers import RawJSON
from reports.models import BatteryReport
from vehicles.models import DiagnosticLog, Vehicle

# One statement, written out once: the ORM would rebuild and compile it on every request, a large share
# of the request's CPU (docs/performance.md, "GET report by one precomputed SELECT"). The report's JSONB
# columns come back as their JSON text and go into the response as RawJSON (an orjson Fragment when
# rendered), unparsed: the database's JSON is the answer's.
_REPORT_SQL = (
    "SELECT l.id, v.vehicle_id, l.timestamp, l.cycle_count, l.status, l.error, r.battery_soh, "
    "r.anomalies::text, r.anomaly_details::text, r.diagnostics::text, r.generated_at "
    f"FROM {DiagnosticLog._meta.db_table} AS l "
    f"JOIN {Vehicle._meta.db_table} AS v ON v.id = l.vehicle_id "
    f"LEFT JOIN {BatteryReport._meta.db_table} AS r ON r.log_id = l.id "
    "WHERE l.id = %s AND v.fleet_id = %s"
)
_REPORT_KEYS = (
    "id",
    "vehicle__vehicle_id",
    "timestamp",
    "cycle_count",
    "status",
    "error",
    "report__battery_soh",
    "report__anomalies",
    "report__anomaly_details",
    "report__diagnostics",
    "report__generated_at",
)
_JSON_KEYS = ("report__anomalies", "report__anomaly_details", "report__diagnostics")


def report_get(*, log_id: uuid.UUID, fleet_id: int) -> dict[str, Any] | None:
    """The log's report state in one query, or None when the log is unknown or another fleet's.

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
