"""SQL on the vehicles app's tables that other apps need, named once here (the table's owner).

The late-log rule: a log is *late* when one of its vehicle's logs with a newer ``timestamp`` was received
before it (``received_at``). A late log is stored and reported, but never becomes the vehicle's latest
report and opens no alert out of order. The vehicle summaries (vehicles.services) and the alert evaluation
(alerts.services.evaluation) both apply it, through these two names.
"""

from typing import Any

from vehicles.models import DiagnosticLog

LOG_TABLE = DiagnosticLog._meta.db_table


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
