from django.db import models


class BatteryReport(models.Model):
    """The health report of one diagnostic log; exactly one per log (the log is the primary key).

    battery_soh is State of Health in percent (capped at 100, 2 decimals); `anomalies` lists the
    contract's strings, `anomaly_details` the same with figures, `diagnostics` the pack's figures.
    """

    log = models.OneToOneField(
        "vehicles.DiagnosticLog", on_delete=models.CASCADE, primary_key=True, related_name="report"
    )
    battery_soh = models.FloatField()
    anomalies = models.JSONField(default=list)
    anomaly_details = models.JSONField(default=list)
    diagnostics = models.JSONField(default=dict)
    generated_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"report {self.log_id}: SoH {self.battery_soh}%"
