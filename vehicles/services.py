"""Writes for vehicles: the registry set by the fleet, the summaries the report worker keeps, device
credentials."""

import json
import uuid
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models.functions import Coalesce, Now

from common import readcache
from common.exceptions import ConflictError, NotFoundError
from common.sql import unnest_rows
from vehicles.models import DeviceCredential, DiagnosticLog, Vehicle
from vehicles.queries import newer_log_received_before, vehicle_owner_check
from vehicles.tokens import device_token_hash, device_token_new

_VEHICLE_TABLE = Vehicle._meta.db_table
_LOG_TABLE = DiagnosticLog._meta.db_table


@dataclass(frozen=True)
class CompletedReport:
    """What a vehicle's `latest` shows of one completed report."""

    log_id: uuid.UUID
    battery_soh: float
    cycle_count: int
    anomalies: list[str]  # the contract's strings
    anomaly_codes: list[str]


# One statement for a whole report batch: per vehicle, the processed logs widen first/last seen and add to
# the count; the newest completed report of the batch becomes `latest` only if it is newer than the
# current one and is not a late log (a log older than one of the vehicle's logs received before it: it is
# stored and reported, but it never becomes latest, whatever order the reports complete in).
# The batch's completed reports as the summaries' parallel arrays (common.sql.unnest_rows), in parameter order.
_COMPLETED_ARRAYS = (
    ("log_id", "uuid"),
    ("soh", "float8"),
    ("cycle_count", "int"),
    ("anomalies", "jsonb"),
    ("codes", "jsonb"),
)
_NEWEST = "(c.log_id IS NOT NULL AND (v.latest_at IS NULL OR c.timestamp > v.latest_at))"
_SUMMARIES_SQL = f"""
WITH processed AS (
    SELECT vehicle_id, min(timestamp) AS first_at, max(timestamp) AS last_at, count(*) AS n
    FROM {_LOG_TABLE} WHERE id = ANY(%s::uuid[]) GROUP BY vehicle_id
), completed AS (
    SELECT DISTINCT ON (l.vehicle_id) l.vehicle_id, c.log_id, l.timestamp, c.soh, c.cycle_count, c.anomalies,
        ARRAY(SELECT jsonb_array_elements_text(c.codes)) AS codes
    FROM {unnest_rows("c", _COMPLETED_ARRAYS)}
    JOIN {_LOG_TABLE} AS l ON l.id = c.log_id
    WHERE NOT EXISTS (
        SELECT 1 FROM {_LOG_TABLE} AS newer WHERE {newer_log_received_before("l", "newer")}
    )
    ORDER BY l.vehicle_id, l.timestamp DESC
)
UPDATE {_VEHICLE_TABLE} AS v SET
    first_seen_at = LEAST(v.first_seen_at, p.first_at),
    last_seen_at = GREATEST(v.last_seen_at, p.last_at),
    log_count = v.log_count + p.n,
    latest_log_id = CASE WHEN {_NEWEST} THEN c.log_id ELSE v.latest_log_id END,
    latest_at = CASE WHEN {_NEWEST} THEN c.timestamp ELSE v.latest_at END,
    latest_soh = CASE WHEN {_NEWEST} THEN c.soh ELSE v.latest_soh END,
    latest_cycle_count = CASE WHEN {_NEWEST} THEN c.cycle_count ELSE v.latest_cycle_count END,
    latest_anomalies = CASE WHEN {_NEWEST} THEN c.anomalies ELSE v.latest_anomalies END,
    latest_anomaly_codes = CASE WHEN {_NEWEST} THEN c.codes ELSE v.latest_anomaly_codes END
FROM processed AS p
LEFT JOIN completed AS c ON c.vehicle_id = p.vehicle_id
WHERE v.id = p.vehicle_id
RETURNING v.fleet_id, v.vehicle_id
"""


def vehicle_summaries_update(*, processed: list[uuid.UUID], completed: list[CompletedReport]) -> None:
    """Fold one report batch into its vehicles' summaries (call it in the batch's transaction).

    `processed`: every log the batch ended (completed or failed); `completed`: the reports it stored. The
    vehicles' rows are locked in id order first, so concurrent batches for the same vehicles queue up
    instead of deadlocking, and each sees the other's result: counts add up, `latest` only moves forward.
    The lock is NO KEY UPDATE: ingest's inserts of new logs (a KEY SHARE on the vehicle) never wait on it.
    """
    if not processed:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id FROM {_VEHICLE_TABLE} WHERE id IN "
            f"(SELECT DISTINCT vehicle_id FROM {_LOG_TABLE} WHERE id = ANY(%s::uuid[])) ORDER BY id FOR NO KEY UPDATE",
            [[str(log_id) for log_id in processed]],
        )
        cursor.execute(
            _SUMMARIES_SQL,
            [
                [str(log_id) for log_id in processed],
                [str(report.log_id) for report in completed],
                [report.battery_soh for report in completed],
                [report.cycle_count for report in completed],
                [json.dumps(report.anomalies) for report in completed],
                [json.dumps(report.anomaly_codes) for report in completed],
            ],
        )
        changed = cursor.fetchall()
    # The cached vehicles (common.readcache) get a new generation once the batch has committed.
    readcache.invalidate_on_commit(
        readcache.vehicle_key(fleet_id=fleet_id, vehicle_id=vehicle_id) for fleet_id, vehicle_id in changed
    )


class VinTaken(ConflictError):
    """409: another vehicle of the fleet has this VIN."""

    default_message = "Another vehicle of this fleet has this VIN."


def vehicle_register(*, fleet_id: int, vehicle_id: str, changes: dict[str, Any]) -> tuple[Vehicle, bool]:
    """Create the vehicle in the fleet (before its first log) or update its registry fields; (vehicle, created).

    Fields absent from `changes` keep their values. Another fleet's vehicle: ForbiddenError (403). A VIN
    that another vehicle of the fleet has: VinTaken (409); the partial unique constraint decides, so two
    concurrent requests cannot both take it.
    """
    with transaction.atomic():
        vehicle = Vehicle.objects.select_for_update(no_key=True).filter(vehicle_id=vehicle_id).first()
        created = False
        if vehicle is None:
            try:
                with transaction.atomic():
                    vehicle = Vehicle.objects.create(vehicle_id=vehicle_id, fleet_id=fleet_id, **changes)
                    created = True
            except IntegrityError:
                # Either the id was created meanwhile (a first log, another PUT), or the VIN is taken.
                vehicle = Vehicle.objects.select_for_update(no_key=True).filter(vehicle_id=vehicle_id).first()
                if vehicle is None:
                    raise VinTaken() from None
        vehicle_owner_check(vehicle_id=vehicle_id, owner_fleet_id=vehicle.fleet_id, fleet_id=fleet_id)
        if not created and changes:
            for field, value in changes.items():
                setattr(vehicle, field, value)
            try:
                with transaction.atomic():
                    vehicle.save(update_fields=list(changes))
            except IntegrityError:
                raise VinTaken() from None
            readcache.invalidate_on_commit([readcache.vehicle_key(fleet_id=fleet_id, vehicle_id=vehicle_id)])
    return vehicle, created


@dataclass(frozen=True)
class IssuedDeviceCredential:
    """A new credential and its token: the only time the token exists outside the vehicle."""

    credential: DeviceCredential
    token: str


def _fleet_vehicle_pk(*, fleet_id: int, vehicle_id: str) -> int:
    """The vehicle's primary key for a write: unknown 404; another fleet's 403 (contract §3)."""
    row = Vehicle.objects.filter(vehicle_id=vehicle_id).values_list("pk", "fleet_id").first()
    if row is None:
        raise NotFoundError("No such vehicle.")
    vehicle_pk, owner_fleet_id = row
    vehicle_owner_check(vehicle_id=vehicle_id, owner_fleet_id=owner_fleet_id, fleet_id=fleet_id)
    return vehicle_pk


def device_credential_create(*, fleet_id: int, vehicle_id: str, name: str = "") -> IssuedDeviceCredential:
    """Give one of the fleet's vehicles a new ingest-only credential; only the token's hash is stored."""
    vehicle_pk = _fleet_vehicle_pk(fleet_id=fleet_id, vehicle_id=vehicle_id)
    token = device_token_new()
    credential = DeviceCredential.objects.create(vehicle_id=vehicle_pk, name=name, token_hash=device_token_hash(token))
    return IssuedDeviceCredential(credential=credential, token=token)


def device_credential_revoke(*, fleet_id: int, vehicle_id: str, credential_id: uuid.UUID) -> None:
    """Revoke the vehicle's credential: from the next request on, its token is refused (401).

    Revoking a revoked credential changes nothing (a retried DELETE is answered the same); one that is not
    this vehicle's is 404.
    """
    vehicle_pk = _fleet_vehicle_pk(fleet_id=fleet_id, vehicle_id=vehicle_id)
    matched = DeviceCredential.objects.filter(pk=credential_id, vehicle_id=vehicle_pk).update(
        revoked_at=Coalesce("revoked_at", Now())
    )
    if not matched:
        raise NotFoundError("No such credential.")
