# Vehicle and DiagnosticLog now belong to the vehicles app (vehicles 0001, same tables): drop them from
# this app's state only; the tables stay.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("diagnostics", "0002_initial"),
        ("reports", "0002_log_in_vehicles"),
        ("vehicles", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveConstraint(model_name="diagnosticlog", name="diagnosticlog_vehicle_timestamp_uniq"),
                migrations.RemoveIndex(model_name="diagnosticlog", name="diagnosticlog_cells_gin"),
                migrations.RemoveIndex(model_name="diagnosticlog", name="diagnosticlog_status_idx"),
                migrations.DeleteModel(name="DiagnosticLog"),
                migrations.DeleteModel(name="Vehicle"),
            ],
            database_operations=[],
        ),
    ]
