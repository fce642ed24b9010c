"""The fleet's report list in one index: each report carries its log's fleet and timestamp.

Non-atomic: the backfill of older reports commits in batches (an interrupted run resumes where it
stopped), and the index is built CONCURRENTLY, so neither holds a long lock on a large table. A trigger
fills both columns for a report inserted without them (anything but the worker's batch INSERT).
"""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models

BATCH = 20_000

FILL_FUNCTION = """
CREATE OR REPLACE FUNCTION reports_batteryreport_fill_fleet_time() RETURNS trigger AS $$
BEGIN
    SELECT v.fleet_id, l.timestamp INTO NEW.fleet_id, NEW.log_timestamp
    FROM diagnostics_diagnosticlog AS l JOIN diagnostics_vehicle AS v ON v.id = l.vehicle_id
    WHERE l.id = NEW.log_id;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER reports_batteryreport_fill_fleet_time BEFORE INSERT ON reports_batteryreport
FOR EACH ROW WHEN (NEW.fleet_id IS NULL OR NEW.log_timestamp IS NULL)
EXECUTE FUNCTION reports_batteryreport_fill_fleet_time();
"""

DROP_FUNCTION = """
DROP TRIGGER IF EXISTS reports_batteryreport_fill_fleet_time ON reports_batteryreport;
DROP FUNCTION IF EXISTS reports_batteryreport_fill_fleet_time();
"""

NEXT_BATCH = "SELECT log_id FROM reports_batteryreport WHERE log_id > %s ORDER BY log_id LIMIT %s"

BACKFILL = """
UPDATE reports_batteryreport AS r SET fleet_id = v.fleet_id, log_timestamp = l.timestamp
FROM diagnostics_diagnosticlog AS l JOIN diagnostics_vehicle AS v ON v.id = l.vehicle_id
WHERE l.id = r.log_id AND r.log_id = ANY(%s::uuid[]) AND (r.fleet_id IS NULL OR r.log_timestamp IS NULL)
"""


def backfill(apps, schema_editor):  # type: ignore[no-untyped-def]
    # In log_id order through the primary key; the migration is non-atomic, so each batch commits by itself.
    last = "00000000-0000-0000-0000-000000000000"
    with schema_editor.connection.cursor() as cursor:
        while True:
            cursor.execute(NEXT_BATCH, [last, BATCH])
            ids = [str(row[0]) for row in cursor.fetchall()]
            if not ids:
                return
            cursor.execute(BACKFILL, [ids])
            last = ids[-1]


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("fleets", "0001_initial"),
        ("reports", "0003_report_provenance"),
    ]

    operations = [
        migrations.AddField(
            model_name="batteryreport",
            name="fleet",
            field=models.ForeignKey(
                db_index=False,
                editable=False,
                null=True,
                on_delete=models.deletion.CASCADE,
                related_name="+",
                to="fleets.fleet",
            ),
        ),
        migrations.AddField(
            model_name="batteryreport",
            name="log_timestamp",
            field=models.DateTimeField(editable=False, null=True),
        ),
        migrations.RunSQL(FILL_FUNCTION, DROP_FUNCTION),
        migrations.RunPython(backfill, migrations.RunPython.noop, elidable=True),
        AddIndexConcurrently(
            model_name="batteryreport",
            index=models.Index(fields=["fleet", "-log_timestamp", "-log"], name="report_fleet_time_idx"),
        ),
    ]
