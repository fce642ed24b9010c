"""The vehicles and what they sent: the registry, and the diagnostic logs with each log's report-processing state.

The tables keep the names they had when these models lived in the diagnostics app.
"""

import uuid

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models.functions import Now

from common import vocabulary
from common.choices import text_choices

#: The battery chemistries whose thresholds the health rules know (common.vocabulary.PROFILES).
BatteryProfile = text_choices("BatteryProfile", vocabulary.PROFILES)
#: The report's anomaly codes (common.vocabulary.ANOMALIES).
AnomalyCode = text_choices("AnomalyCode", vocabulary.ANOMALIES)


class Vehicle(models.Model):
    """A vehicle, owned by the fleet whose user first registered it or posted a log for it.

    The registry (`vin`, `model`, `manufacture_date`, `profile`) is set by the fleet. The summary columns
    are kept by the report worker, batch by batch (`vehicles.services.vehicle_summaries_update`), not by
    the ingest request: `first_seen_at`/`last_seen_at` are the oldest and newest timestamps and `log_count`
    the number of the vehicle's logs that have been processed (completed or failed); `latest_*` describe
    the completed report with the newest log timestamp, never a late log's.
    """

    vehicle_id = models.CharField(max_length=64, unique=True)
    fleet = models.ForeignKey("fleets.Fleet", on_delete=models.PROTECT, related_name="vehicles")
    created_at = models.DateTimeField(db_default=Now())
    # NULL, not "", until set: "unset" is not a value, and the fleet-wide unique VIN ignores NULLs.
    vin = models.CharField(max_length=17, null=True, blank=True)  # noqa: DJ001

    model = models.CharField(max_length=100, null=True, blank=True)  # noqa: DJ001
    manufacture_date = models.DateField(null=True, blank=True)
    profile = models.CharField(
        max_length=16, choices=BatteryProfile.choices, default=BatteryProfile.NMC, db_default=BatteryProfile.NMC
    )
    first_seen_at = models.DateTimeField(null=True, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    log_count = models.PositiveIntegerField(default=0, db_default=0)
    latest_log_id = models.UUIDField(null=True, blank=True)
    latest_at = models.DateTimeField(null=True, blank=True)
    latest_soh = models.FloatField(null=True, blank=True)  # percent, as the report's battery_soh
    latest_cycle_count = models.IntegerField(null=True, blank=True)
    latest_anomalies = models.JSONField(null=True, blank=True)  # the report's anomaly strings
    latest_anomaly_codes = ArrayField(models.CharField(max_length=32), null=True, blank=True)

    class Meta:
        db_table = "diagnostics_vehicle"
        constraints = [
            models.UniqueConstraint(
                fields=["fleet", "vin"], condition=models.Q(vin__isnull=False), name="vehicle_fleet_vin_uniq"
            ),
        ]

    def __str__(self) -> str:
        return self.vehicle_id


#: A log's report processing (common.vocabulary.PROCESSING_STATUSES).
ProcessingStatus = text_choices("ProcessingStatus", vocabulary.PROCESSING_STATUSES)


class DiagnosticLog(models.Model):
    """One snapshot of a vehicle's battery management system, as validated.

    `cells` holds [{"id", "voltage" (V), "temperature" (°C)}] sorted by id; capacities are in kWh.
    A log is identified by (vehicle, timestamp); timestamps are stored in UTC.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    vehicle = models.ForeignKey(Vehicle, on_delete=models.CASCADE, related_name="logs")
    timestamp = models.DateTimeField()
    cells = models.JSONField()
    cycle_count = models.IntegerField()
    nominal_capacity_kwh = models.FloatField()
    current_capacity_kwh = models.FloatField()
    received_at = models.DateTimeField(db_default=Now())
    status = models.CharField(max_length=16, choices=ProcessingStatus.choices, default=ProcessingStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True, default="")
    status_changed_at = models.DateTimeField(db_default=Now())
    # While `processing`: the key of the PostgreSQL advisory lock that the claiming report batch holds
    # (reports.services). A free lock means the claim was abandoned; NULL in every other status.
    claim_key = models.BigIntegerField(null=True, blank=True)
    # One cell's history (vehicles.history) reads these instead of the JSONB: the cells' voltages (V) and
    # temperatures (°C) as float8 arrays indexed by cell id (exactly the stored numbers: float8 holds every
    # validated value as parsed), and the pack's median voltage (V). Written with the log by the ingest
    # services (rows of older revisions were backfilled by migrations 0005 and 0006).
    # Why typed arrays rather than the JSONB or a per-cell table: docs/performance.md, "One cell's history".
    cell_voltages = ArrayField(models.FloatField())
    cell_temperatures = ArrayField(models.FloatField())
    voltage_median = models.FloatField()

    class Meta:
        db_table = "diagnostics_diagnosticlog"
        constraints = [
            models.UniqueConstraint(fields=["vehicle", "timestamp"], name="diagnosticlog_vehicle_timestamp_uniq"),
        ]
        indexes = [
            # The unique constraint's index serves (vehicle, timestamp) look-ups and per-vehicle histories.
            GinIndex(fields=["cells"], name="diagnosticlog_cells_gin", opclasses=["jsonb_path_ops"]),
            models.Index(fields=["status", "status_changed_at"], name="diagnosticlog_status_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.vehicle_id} @ {self.timestamp.isoformat()}"


class DeviceCredential(models.Model):
    """An ingest-only credential of one vehicle: `Authorization: Device <token>` may post that vehicle's
    logs and nothing else (vehicles.authentication, vehicles.permissions).

    Only the token's SHA-256 is stored (`token_hash`, 64 hex digits; see vehicles.tokens for why a fast
    hash is enough). A revoked credential keeps its row, for the record, and is refused from the moment
    `revoked_at` is set: authentication reads the row on every request. `last_used_at` is approximate:
    it is written at most once per vehicles.authentication.LAST_USED_RESOLUTION.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    vehicle = models.ForeignKey(Vehicle, on_delete=models.CASCADE, related_name="device_credentials")
    name = models.CharField(max_length=100, blank=True, default="")
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(db_default=Now())
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.vehicle_id}: {self.name or self.id}"
