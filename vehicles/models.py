"""The vehicles and what they sent: the registry, and the diagnostic logs with each log's report-processing state.

The tables keep the names they had when these models lived in the diagnostics app.
"""

import uuid

from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models.functions import Now


class Vehicle(models.Model):
    """A vehicle, owned by the fleet whose user first posted a log for it."""

    vehicle_id = models.CharField(max_length=64, unique=True)
    fleet = models.ForeignKey("fleets.Fleet", on_delete=models.PROTECT, related_name="vehicles")
    created_at = models.DateTimeField(db_default=Now())

    class Meta:
        db_table = "diagnostics_vehicle"

    def __str__(self) -> str:
        return self.vehicle_id


class ProcessingStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    PROCESSING = "processing", "Processing"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"


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
