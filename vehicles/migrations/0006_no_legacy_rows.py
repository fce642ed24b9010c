"""The rows of older revisions, brought up to date so that no code path has to carry them.

- Cell history columns: every log still without them (stored before migration 0005 and not reached by its
  backfill, e.g. an interrupted run) is backfilled from its JSONB with 0005's own statement, in batches,
  then the columns become NOT NULL: the ingest services always write them.
- Claims: a `processing` log with no claim key was claimed by a revision before claim keys (0002); nothing
  holds it, so it goes back to `pending` (its report is computed by the next batch that tops itself up).
"""

import importlib

import django.contrib.postgres.fields
from django.db import migrations, models

_history = importlib.import_module("vehicles.migrations.0005_cell_history_storage")


def backfill_missing(apps, schema_editor):  # type: ignore[no-untyped-def]
    with schema_editor.connection.cursor() as cursor:
        while True:
            cursor.execute(
                "SELECT id FROM diagnostics_diagnosticlog WHERE cell_voltages IS NULL OR cell_temperatures IS NULL "
                "OR voltage_median IS NULL LIMIT %s",
                [_history.BACKFILL_BATCH],
            )
            ids = [str(row[0]) for row in cursor.fetchall()]
            if not ids:
                return
            cursor.execute(
                "UPDATE diagnostics_diagnosticlog SET cell_voltages = NULL WHERE id = ANY(%s::uuid[])", [ids]
            )
            cursor.execute(_history._BACKFILL_SQL, [ids])


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("vehicles", "0005_cell_history_storage"),
    ]

    operations = [
        migrations.RunPython(backfill_missing, migrations.RunPython.noop),
        migrations.RunSQL(
            "UPDATE diagnostics_diagnosticlog SET status = 'pending', status_changed_at = now() "
            "WHERE status = 'processing' AND claim_key IS NULL",
            migrations.RunSQL.noop,
        ),
        migrations.AlterField(
            model_name="diagnosticlog",
            name="cell_voltages",
            field=django.contrib.postgres.fields.ArrayField(base_field=models.FloatField(), size=None),
        ),
        migrations.AlterField(
            model_name="diagnosticlog",
            name="cell_temperatures",
            field=django.contrib.postgres.fields.ArrayField(base_field=models.FloatField(), size=None),
        ),
        migrations.AlterField(model_name="diagnosticlog", name="voltage_median", field=models.FloatField()),
    ]
