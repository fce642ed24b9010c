# The SoH series of the alert watermark as two arrays (the batch appends to them and reads their range in SQL,
# cheaper than JSON: bench_alert_cost); the JSON series already stored is carried over.

import django.contrib.postgres.fields
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("alerts", "0002_analytics_alert_types"),
    ]

    operations = [
        migrations.AddField(
            model_name="alertwatermark",
            name="soh_at",
            field=django.contrib.postgres.fields.ArrayField(
                base_field=models.BigIntegerField(), blank=True, default=list, size=None
            ),
        ),
        migrations.AddField(
            model_name="alertwatermark",
            name="soh",
            field=django.contrib.postgres.fields.ArrayField(
                base_field=models.FloatField(), blank=True, default=list, size=None
            ),
        ),
        migrations.RunSQL(
            "UPDATE alerts_alertwatermark SET "
            "soh_at = ARRAY(SELECT (p ->> 0)::numeric::bigint FROM jsonb_array_elements(soh_recent) "
            "WITH ORDINALITY AS t(p, i) ORDER BY i), "
            "soh = ARRAY(SELECT (p ->> 1)::float8 FROM jsonb_array_elements(soh_recent) "
            "WITH ORDINALITY AS t(p, i) ORDER BY i) "
            "WHERE jsonb_array_length(soh_recent) > 0",
            migrations.RunSQL.noop,
        ),
        migrations.RemoveField(
            model_name="alertwatermark",
            name="soh_recent",
        ),
    ]
