from django.db import models

# The version label of the reports computed before profiles and data-quality flags existed: the §2 rules,
# which are the nmc profile exactly, with no data-quality check (docs/analytics.md).
PRE_PROFILE_RULES_VERSION = "2025.10.0"


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
    # What produced it, so that an old report stays explainable after thresholds change: the vehicle's
    # battery profile and the rules' version at the time, and the data-quality flags of its log.
    profile = models.CharField(max_length=16, default="nmc", db_default="nmc")
    rules_version = models.CharField(
        max_length=32, default=PRE_PROFILE_RULES_VERSION, db_default=PRE_PROFILE_RULES_VERSION
    )
    data_quality = models.JSONField(
        default=dict, db_default=models.Value({"flags": []}, output_field=models.JSONField())
    )
    # The log's fleet and timestamp, copied here so that the fleet's report list and CSV (newest log first)
    # read one index, (fleet, log timestamp, log), instead of sorting the fleet's logs. The worker writes
    # them with the report; a trigger fills them for any other insert (migration 0004).
    fleet = models.ForeignKey(
        "fleets.Fleet", on_delete=models.CASCADE, null=True, related_name="+", db_index=False, editable=False
    )
    log_timestamp = models.DateTimeField(null=True, editable=False)

    class Meta:
        indexes = [models.Index(fields=["fleet", "-log_timestamp", "-log"], name="report_fleet_time_idx")]

    def __str__(self) -> str:
        return f"report {self.log_id}: SoH {self.battery_soh}%"
