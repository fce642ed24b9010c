"""Device credentials on PostgreSQL: the services, the selector, and the authentication's queries."""

import hashlib
import json
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.test import APIRequestFactory

from common.exceptions import ForbiddenError, NotFoundError
from diagnostics.services import BulkStatus, diagnostic_log_ingest, diagnostic_logs_ingest_bulk
from diagnostics.validation import log_validate
from simulator.generator import mock_log
from vehicles.authentication import LAST_USED_RESOLUTION, DevicePrincipal, DeviceTokenAuthentication
from vehicles.models import DeviceCredential, DiagnosticLog, Vehicle
from vehicles.selectors import device_credential_list
from vehicles.services import device_credential_create, device_credential_revoke


def _validated(log: dict) -> dict:  # type: ignore[type-arg]
    return log_validate(json.dumps(log).encode())


@pytest.fixture
def vehicle(fleet, ingest) -> Vehicle:  # type: ignore[no-untyped-def]
    ingest(fleet, mock_log(seed=1, vehicle_id="EV-D1"))
    return Vehicle.objects.get(vehicle_id="EV-D1")


def authenticate(token: str):  # type: ignore[no-untyped-def]
    request = APIRequestFactory().post("/api/v1/diagnostics", HTTP_AUTHORIZATION=f"Device {token}")
    return DeviceTokenAuthentication().authenticate(request)


# --- services and selector --------------------------------------------------------------------------------------


def test_create_stores_the_hash_of_the_token_it_returns(fleet, vehicle):
    issued = device_credential_create(fleet_id=fleet.id, vehicle_id="EV-D1", name="unit 7")
    stored = DeviceCredential.objects.get(pk=issued.credential.pk)
    assert stored.token_hash == hashlib.sha256(issued.token.encode()).hexdigest()
    assert (stored.vehicle_id, stored.name, stored.revoked_at, stored.last_used_at) == (
        vehicle.pk,
        "unit 7",
        None,
        None,
    )
    assert issued.credential.created_at == stored.created_at  # the database's time, read back on insert


def test_create_for_an_unknown_vehicle_is_not_found_and_creates_nothing(fleet):
    with pytest.raises(NotFoundError):
        device_credential_create(fleet_id=fleet.id, vehicle_id="EV-NONE")
    assert not Vehicle.objects.filter(vehicle_id="EV-NONE").exists()
    assert DeviceCredential.objects.count() == 0


def test_create_for_another_fleets_vehicle_is_forbidden(other_fleet, vehicle):
    with pytest.raises(ForbiddenError):
        device_credential_create(fleet_id=other_fleet.id, vehicle_id="EV-D1")
    assert DeviceCredential.objects.count() == 0


def test_revoke_sets_revoked_at_once(fleet, vehicle):
    credential = device_credential_create(fleet_id=fleet.id, vehicle_id="EV-D1").credential
    device_credential_revoke(fleet_id=fleet.id, vehicle_id="EV-D1", credential_id=credential.pk)
    first = DeviceCredential.objects.get(pk=credential.pk).revoked_at
    assert first is not None
    device_credential_revoke(fleet_id=fleet.id, vehicle_id="EV-D1", credential_id=credential.pk)
    assert DeviceCredential.objects.get(pk=credential.pk).revoked_at == first


def test_revoke_under_another_vehicle_or_fleet_changes_nothing(fleet, other_fleet, vehicle, ingest):
    ingest(fleet, mock_log(seed=2, vehicle_id="EV-D2"))
    credential = device_credential_create(fleet_id=fleet.id, vehicle_id="EV-D1").credential
    with pytest.raises(NotFoundError):
        device_credential_revoke(fleet_id=fleet.id, vehicle_id="EV-D2", credential_id=credential.pk)
    with pytest.raises(ForbiddenError):
        device_credential_revoke(fleet_id=other_fleet.id, vehicle_id="EV-D1", credential_id=credential.pk)
    assert DeviceCredential.objects.get(pk=credential.pk).revoked_at is None


def test_the_list_is_the_vehicles_credentials_oldest_first_without_hashes(fleet, other_fleet, vehicle):
    first = device_credential_create(fleet_id=fleet.id, vehicle_id="EV-D1", name="a").credential
    second = device_credential_create(fleet_id=fleet.id, vehicle_id="EV-D1", name="b").credential
    rows = device_credential_list(fleet_id=fleet.id, vehicle_id="EV-D1")
    assert [row["id"] for row in rows] == [first.pk, second.pk]
    assert set(rows[0]) == {"id", "name", "created_at", "last_used_at", "revoked_at"}
    assert device_credential_list(fleet_id=other_fleet.id, vehicle_id="EV-D1") is None
    assert device_credential_list(fleet_id=fleet.id, vehicle_id="EV-NONE") is None


def test_a_vehicles_credentials_go_with_it(fleet, vehicle):
    device_credential_create(fleet_id=fleet.id, vehicle_id="EV-D1")
    vehicle.delete()
    assert DeviceCredential.objects.count() == 0


# --- authentication -----------------------------------------------------------------------------------------------


def test_a_token_authenticates_as_its_vehicle_in_its_fleet(fleet, vehicle):
    issued = device_credential_create(fleet_id=fleet.id, vehicle_id="EV-D1")
    principal, auth = authenticate(issued.token)
    assert principal == DevicePrincipal(issued.credential.pk, vehicle.pk, "EV-D1", fleet.id)
    assert auth is None
    assert principal.is_authenticated
    assert principal.pk == issued.credential.pk


def test_authentication_is_one_select_once_last_used_at_is_fresh(fleet, vehicle, django_assert_num_queries):
    issued = device_credential_create(fleet_id=fleet.id, vehicle_id="EV-D1")
    with django_assert_num_queries(2):  # first use: the SELECT, then last_used_at
        authenticate(issued.token)
    used_at = DeviceCredential.objects.get(pk=issued.credential.pk).last_used_at
    assert used_at is not None
    with django_assert_num_queries(1):
        authenticate(issued.token)
    assert DeviceCredential.objects.get(pk=issued.credential.pk).last_used_at == used_at


def test_last_used_at_moves_once_the_resolution_has_passed(fleet, vehicle):
    issued = device_credential_create(fleet_id=fleet.id, vehicle_id="EV-D1")
    stale = timezone.now() - LAST_USED_RESOLUTION - timedelta(seconds=1)
    DeviceCredential.objects.filter(pk=issued.credential.pk).update(last_used_at=stale)
    authenticate(issued.token)
    assert DeviceCredential.objects.get(pk=issued.credential.pk).last_used_at > stale


def test_a_revoked_token_is_refused_on_its_next_request(fleet, vehicle):
    issued = device_credential_create(fleet_id=fleet.id, vehicle_id="EV-D1")
    authenticate(issued.token)
    device_credential_revoke(fleet_id=fleet.id, vehicle_id="EV-D1", credential_id=issued.credential.pk)
    with pytest.raises(AuthenticationFailed):
        authenticate(issued.token)


def test_a_malformed_token_costs_no_query(db, django_assert_num_queries):
    with django_assert_num_queries(0), pytest.raises(AuthenticationFailed):
        authenticate("dev_short")


def test_another_scheme_is_left_to_the_other_classes(db):
    request = APIRequestFactory().post("/api/v1/diagnostics", HTTP_AUTHORIZATION="Bearer abc")
    assert DeviceTokenAuthentication().authenticate(request) is None


# --- the ingest services, for a device -------------------------------------------------------------------------


def test_a_devices_log_of_another_vehicle_is_refused_before_any_query(fleet, vehicle, django_assert_num_queries):
    data = _validated(mock_log(seed=3, vehicle_id="EV-D2"))
    with django_assert_num_queries(0), pytest.raises(ForbiddenError):
        diagnostic_log_ingest(fleet_id=fleet.id, data=data, device_vehicle_id="EV-D1")
    assert not Vehicle.objects.filter(vehicle_id="EV-D2").exists()


def test_a_devices_bulk_forbids_the_other_vehicles_items(fleet, vehicle):
    own = _validated(mock_log(seed=4, vehicle_id="EV-D1"))
    other = _validated(mock_log(seed=4, vehicle_id="EV-D2"))
    results = diagnostic_logs_ingest_bulk(fleet_id=fleet.id, items={0: own, 1: other}, device_vehicle_id="EV-D1")
    assert results[0].status == BulkStatus.CREATED
    assert results[1].status == BulkStatus.FORBIDDEN
    assert results[1].log_id is None
    assert "EV-D1" in results[1].message
    assert DiagnosticLog.objects.filter(vehicle__vehicle_id="EV-D2").count() == 0
    assert not Vehicle.objects.filter(vehicle_id="EV-D2").exists()
