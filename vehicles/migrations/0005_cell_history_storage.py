"""One cell's history: per-log typed arrays of the cells' voltages and temperatures, and the pack's median
voltage, beside the JSONB (docs/performance.md, "One cell's history: storage by measurement").

The arrays are stored uncompressed (STORAGE EXTERNAL): pglz would shrink them, but then every read of one
element decompresses both arrays of every log, and the history's read time is mostly that. The table's
toast_tuple_target goes from 2 KB to 4080 bytes so that a log row of a typical pack (up to about 150
cells) keeps its arrays and its compressed JSONB inline: no TOAST row to write, none to fetch. Bigger
packs move the JSONB, then the arrays, out of line, as PostgreSQL does for any long row.

The arrays cost every write some time (more bytes per row); the JSONB's compression switches from pglz to
lz4, which compresses faster and pays that back (the same section measures both). It applies to values
written from then on; a server built without lz4 keeps pglz (a notice, not an error).

The columns are added nullable (instant, no table rewrite), then the rows stored before are backfilled from
their JSONB in batches of BACKFILL_BATCH, each committed on its own (the migration is not atomic), so that
a large table is never locked as a whole and an interrupted run resumes where it stopped. The selector
reads a row that is still NULL from its JSONB, so the application is right during the backfill too.
"""

import django.contrib.postgres.fields
from django.db import migrations, models

BACKFILL_BATCH = 5000

# The same values the ingest services write (vehicles.history.cell_history_columns): the numbers exactly as
# stored in the JSONB, in cell id order (the JSONB is sorted by id), and the median as statistics.median
# computes it (the middle value, or the mean of the two middle values of an even count).
_BACKFILL_SQL = """
UPDATE diagnostics_diagnosticlog SET
    cell_voltages = ARRAY(SELECT (c->>'voltage')::float8 FROM jsonb_array_elements(cells) WITH ORDINALITY AS e(c, o)
                          ORDER BY o),
    cell_temperatures = ARRAY(SELECT (c->>'temperature')::float8
                              FROM jsonb_array_elements(cells) WITH ORDINALITY AS e(c, o) ORDER BY o),
    voltage_median = (
        SELECT CASE WHEN m.n %% 2 = 1 THEN m.s[m.n / 2 + 1] ELSE (m.s[m.n / 2] + m.s[m.n / 2 + 1]) / 2 END
        FROM (SELECT array_agg(v ORDER BY v) AS s, count(*)::int AS n
              FROM (SELECT (c->>'voltage')::float8 AS v FROM jsonb_array_elements(cells) AS c) AS vs) AS m
    )
WHERE id = ANY(%s::uuid[]) AND cell_voltages IS NULL
"""


_ARRAYS_INLINE_SQL = """
ALTER TABLE diagnostics_diagnosticlog
    ALTER COLUMN cell_voltages SET STORAGE EXTERNAL,
    ALTER COLUMN cell_temperatures SET STORAGE EXTERNAL,
    SET (toast_tuple_target = 4080)
"""
_ARRAYS_INLINE_REVERSE_SQL = """
ALTER TABLE diagnostics_diagnosticlog
    ALTER COLUMN cell_voltages SET STORAGE EXTENDED,
    ALTER COLUMN cell_temperatures SET STORAGE EXTENDED,
    RESET (toast_tuple_target)
"""
_CELLS_LZ4_SQL = """
DO $$ BEGIN
    ALTER TABLE diagnostics_diagnosticlog ALTER COLUMN cells SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    RAISE NOTICE 'lz4 is not supported by this server: the cells JSONB keeps pglz';
END $$
"""


def backfill(apps, schema_editor):  # type: ignore[no-untyped-def]
    last = None
    with schema_editor.connection.cursor() as cursor:
        while True:
            if last is None:
                cursor.execute("SELECT id FROM diagnostics_diagnosticlog ORDER BY id LIMIT %s", [BACKFILL_BATCH])
            else:
                cursor.execute(
                    "SELECT id FROM diagnostics_diagnosticlog WHERE id > %s ORDER BY id LIMIT %s",
                    [last, BACKFILL_BATCH],
                )
            ids = [row[0] for row in cursor.fetchall()]
            if not ids:
                return
            cursor.execute(_BACKFILL_SQL, [[str(log_id) for log_id in ids]])
            last = ids[-1]


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("vehicles", "0004_device_credentials"),
    ]

    operations = [
        migrations.AddField(
            model_name="diagnosticlog",
            name="cell_temperatures",
            field=django.contrib.postgres.fields.ArrayField(
                base_field=models.FloatField(), blank=True, null=True, size=None
            ),
        ),
        migrations.AddField(
            model_name="diagnosticlog",
            name="cell_voltages",
            field=django.contrib.postgres.fields.ArrayField(
                base_field=models.FloatField(), blank=True, null=True, size=None
            ),
        ),
        migrations.AddField(
            model_name="diagnosticlog",
            name="voltage_median",
            field=models.FloatField(blank=True, null=True),
        ),
        migrations.RunSQL(_ARRAYS_INLINE_SQL, _ARRAYS_INLINE_REVERSE_SQL),
        migrations.RunSQL(
            _CELLS_LZ4_SQL, "ALTER TABLE diagnostics_diagnosticlog ALTER COLUMN cells SET COMPRESSION pglz"
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop, elidable=True),
    ]
