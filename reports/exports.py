"""CSV export of reports: streamed in chunks from a server-side cursor, so memory stays flat however many
rows; every value a spreadsheet would run as a formula is written as text."""

import csv
import io
from collections.abc import Iterator
from typing import Any

from django.db.models import QuerySet, TextField
from django.db.models.expressions import RawSQL
from django.db.models.fields.json import KeyTextTransform

from reports.models import BatteryReport
from vehicles.models import DiagnosticLog

CSV_HEADER = (
    "log_id",
    "vehicle_id",
    "timestamp",
    "battery_soh",
    "cycle_count",
    "anomalies",
    "voltage_spread_mv",
    "temperature_max",
)
CHUNK_ROWS = 2000
# A cell starting with one of these is run as a formula by Excel, LibreOffice and Google Sheets (OWASP's
# CSV injection list), unless it is a plain number such as -5.5.
_FORMULA_START = frozenset("=+-@\t\r")
_REPORT = BatteryReport._meta.db_table
_LOG = DiagnosticLog._meta.db_table


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def spreadsheet_safe(value: Any) -> Any:
    """The value, or for text a spreadsheet would evaluate, the same text behind a quote (')."""
    if isinstance(value, str) and value[:1] in _FORMULA_START and not _is_number(value):
        return "'" + value
    return value


def _rows(queryset: QuerySet[BatteryReport]) -> QuerySet[Any]:
    # Every column comes out of PostgreSQL as the text the CSV holds: Python only writes it.
    return (
        queryset.annotate(
            csv_log_id=RawSQL(f"{_REPORT}.log_id::text", [], output_field=TextField()),
            csv_timestamp=RawSQL(
                f"""to_char({_LOG}.timestamp AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')""",
                [],
                output_field=TextField(),
            ),
            csv_anomalies=RawSQL(
                "array_to_string(ARRAY(SELECT d ->> 'code' "
                f"FROM jsonb_array_elements({_REPORT}.anomaly_details) AS d), ';')",
                [],
                output_field=TextField(),
            ),
            csv_spread=KeyTextTransform("voltage_spread_mv", "diagnostics"),
            csv_temperature_max=KeyTextTransform("temperature_max", "diagnostics"),
        )
        .order_by("-log_timestamp", "-log_id")
        .values_list(
            "csv_log_id",
            "log__vehicle__vehicle_id",
            "csv_timestamp",
            "battery_soh",
            "log__cycle_count",
            "csv_anomalies",
            "csv_spread",
            "csv_temperature_max",
        )
    )


def reports_csv_chunks(queryset: QuerySet[BatteryReport]) -> Iterator[str]:
    """The CSV text of the reports, newest log first: the header, then chunks of CHUNK_ROWS rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for count, row in enumerate(_rows(queryset).iterator(chunk_size=CHUNK_ROWS), start=1):
        writer.writerow([spreadsheet_safe(value) for value in row])
        if count % CHUNK_ROWS == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
