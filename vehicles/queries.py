"""SQL on the vehicles app's tables that other apps need, named once here (the table's owner), and the rule
"claim the vehicle or 403" (`vehicle_claim`, `vehicle_owner_check`) that the ingest and the vehicle writes share.

The late-log rule: a log is *late* when one of its vehicle's logs with a newer ``timestamp`` was received
before it (``received_at``). A late log is stored and reported, but never becomes the vehicle's latest
report and opens no alert out of order. The vehicle summaries (vehicles.services) and the alert evaluation
(alerts.services.evaluation) both apply it, through these two names.
"""

from typing import Any

from common.exceptions import ForbiddenError
from vehicles.models import DiagnosticLog, Vehicle

LOG_TABLE = DiagnosticLog._meta.db_table
VEHICLE_TABLE = Vehicle._meta.db_table


def vehicle_owner_check(*, vehicle_id: str, owner_fleet_id: int, fleet_id: int) -> None:
    """Contract §3: a fleet may write only its own vehicles; another fleet's is ForbiddenError (403)."""
    if owner_fleet_id != fleet_id:
        raise ForbiddenError(f"Vehicle {vehicle_id} belongs to another fleet.")


def vehicle_claim(cursor: Any, *, vehicle_id: str, fleet_id: int) -> int:
    """The vehicle's primary key, creating it in this fleet on first sight (a log's ingest); 403 if another
    fleet owns it. The unique constraint decides which fleet sees the vehicle first; the loser reads the
    winner's row."""
    cursor.execute(f"SELECT id, fleet_id FROM {VEHICLE_TABLE} WHERE vehicle_id = %s", [vehicle_id])
    row = cursor.fetchone()
    if row is None:
        cursor.execute(
            f"INSERT INTO {VEHICLE_TABLE} (vehicle_id, fleet_id, created_at) VALUES (%s, %s, now()) "
            "ON CONFLICT (vehicle_id) DO NOTHING RETURNING id, fleet_id",
            [vehicle_id, fleet_id],
        )
        row = cursor.fetchone()
        if row is None:
            cursor.execute(f"SELECT id, fleet_id FROM {VEHICLE_TABLE} WHERE vehicle_id = %s", [vehicle_id])
            row = cursor.fetchone()
    vehicle_pk, owner_fleet_id = row
    vehicle_owner_check(vehicle_id=vehicle_id, owner_fleet_id=owner_fleet_id, fleet_id=fleet_id)
    return int(vehicle_pk)


def newer_log_received_before(log: str, newer: str) -> str:
    """The SQL condition "row `newer` is a log of row `log`'s vehicle, newer and received before it"
    (aliases of the log table): `log` is late exactly when such a row exists."""
    return (
        f"{newer}.vehicle_id = {log}.vehicle_id AND {newer}.timestamp > {log}.timestamp "
        f"AND {newer}.received_at < {log}.received_at"
    )


def late_log_ids(cursor: Any, log_ids: list[str]) -> set[str]:
    """The late logs among `log_ids` (the ids as strings), in the caller's transaction."""
    # LATERAL ... LIMIT 1, not EXISTS: PostgreSQL would turn EXISTS into a semi-join over every log of the table
    # (a hash join, tens of ms per batch on a grown table); this stays one index probe per log.
    cursor.execute(
        f"SELECT l.id FROM {LOG_TABLE} AS l CROSS JOIN LATERAL ("
        f"SELECT 1 FROM {LOG_TABLE} AS newer WHERE {newer_log_received_before('l', 'newer')} LIMIT 1) AS n "
        "WHERE l.id = ANY(%s::uuid[])",
        [log_ids],
    )
    return {str(row[0]) for row in cursor.fetchall()}
