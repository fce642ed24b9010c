# The models Vehicle and DiagnosticLog move here from the diagnostics app, tables unchanged: the state
# gains them here (no database operation), reports' foreign key follows (reports 0002), and diagnostics
# drops them from its state (diagnostics 0003).

import uuid

import django.contrib.postgres.indexes
import django.db.models.deletion
import django.db.models.functions.datetime
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("diagnostics", "0002_initial"),
        ("fleets", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Vehicle",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("vehicle_id", models.CharField(max_length=64, unique=True)),
                        ("created_at", models.DateTimeField(db_default=django.db.models.functions.datetime.Now())),
                        (
                            "fleet",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="vehicles",
                                to="fleets.fleet",
                            ),
                        ),
                    ],
                    options={"db_table": "diagnostics_vehicle"},
                ),
                migrations.CreateModel(
                    name="DiagnosticLog",
                    fields=[
                        ("id", models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                        ("timestamp", models.DateTimeField()),
                        ("cells", models.JSONField()),
                        ("cycle_count", models.IntegerField()),
                        ("nominal_capacity_kwh", models.FloatField()),
                        ("current_capacity_kwh", models.FloatField()),
                        ("received_at", models.DateTimeField(db_default=django.db.models.functions.datetime.Now())),
                        (
                            "status",
                            models.CharField(
                                choices=[
                                    ("pending", "Pending"),
                                    ("processing", "Processing"),
                                    ("completed", "Completed"),
                                    ("failed", "Failed"),
                                ],
                                default="pending",
                                max_length=16,
                            ),
                        ),
                        ("attempts", models.PositiveSmallIntegerField(default=0)),
                        ("error", models.TextField(blank=True, default="")),
                        (
                            "status_changed_at",
                            models.DateTimeField(db_default=django.db.models.functions.datetime.Now()),
                        ),
                        (
                            "vehicle",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="logs",
                                to="vehicles.vehicle",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "diagnostics_diagnosticlog",
                        "indexes": [
                            django.contrib.postgres.indexes.GinIndex(
                                fields=["cells"], name="diagnosticlog_cells_gin", opclasses=["jsonb_path_ops"]
                            ),
                            models.Index(fields=["status", "status_changed_at"], name="diagnosticlog_status_idx"),
                        ],
                        "constraints": [
                            models.UniqueConstraint(
                                fields=("vehicle", "timestamp"), name="diagnosticlog_vehicle_timestamp_uniq"
                            )
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
