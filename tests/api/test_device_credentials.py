"""Contract §5, device credentials: a fleet user gives one vehicle an ingest-only token.

POST/GET /api/v1/vehicles/<vehicle_id>/credentials, DELETE …/credentials/<id>. A request with
`Authorization: Device <token>` may post its own vehicle's logs (single and bulk) and nothing else (403);
an unknown, malformed or revoked token is a 401; limits apply per credential.
"""

import hashlib
import json
import re
import uuid

import pytest

from tests.api.conftest import JsonClient
from vehicles.models import DeviceCredential, DiagnosticLog, Vehicle

VEHICLE = "EV-12345"  # the sample log's vehicle
CREDENTIALS = f"/api/v1/vehicles/{VEHICLE}/credentials"
INGEST = "/api/v1/diagnostics"
BULK = "/api/v1/diagnostics/bulk"
TIMESTAMP_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")


def device_client(token: str) -> JsonClient:
    client = JsonClient()
    client.client.credentials(HTTP_AUTHORIZATION=f"Device {token}")
    return client


def delete(client: JsonClient, path: str):  # type: ignore[no-untyped-def]
    return client.client.delete(path)


@pytest.fixture
def vehicle_a(api_a, sample_log) -> str:  # type: ignore[no-untyped-def]
    """alice's fleet owns EV-12345 (registered by a first log)."""
    assert api_a.post(INGEST, sample_log).status_code == 202
    return VEHICLE


@pytest.fixture
def issue(api_a, vehicle_a):  # type: ignore[no-untyped-def]
    """Create a credential for alice's vehicle through the API: its 201 body."""

    def _issue(vehicle_id: str = vehicle_a, **body: str) -> dict:
        response = api_a.post(f"/api/v1/vehicles/{vehicle_id}/credentials", body)
        assert response.status_code == 201, response.content
        return response.json()

    return _issue


# --- create, list, revoke -------------------------------------------------------------------------------------


def test_create_answers_201_with_id_token_and_created_at(issue):
    body = issue()
    assert set(body) == {"id", "token", "created_at"}
    uuid.UUID(body["id"])
    assert re.fullmatch(r"dev_[A-Za-z0-9_-]{43}", body["token"])
    assert TIMESTAMP_RE.fullmatch(body["created_at"])


def test_the_token_is_stored_only_as_its_sha256(issue):
    body = issue()
    credential = DeviceCredential.objects.get(pk=body["id"])
    assert credential.token_hash == hashlib.sha256(body["token"].encode()).hexdigest()
    stored = DeviceCredential.objects.filter(pk=body["id"]).values().get()
    assert not any(body["token"] in str(value) for value in stored.values())
    assert credential.vehicle.vehicle_id == VEHICLE


def test_every_credential_gets_its_own_token(issue):
    first, second = issue(), issue()
    assert first["id"] != second["id"]
    assert first["token"] != second["token"]


def test_list_shows_the_credentials_without_tokens(api_a, issue):
    first, second = issue(name="unit 7"), issue()
    response = api_a.get(CREDENTIALS)
    assert response.status_code == 200
    body = response.json()
    assert body["next"] is None
    assert [row["id"] for row in body["results"]] == [first["id"], second["id"]]
    assert body["results"][0] == {
        "id": first["id"],
        "name": "unit 7",
        "created_at": first["created_at"],
        "last_used_at": None,
        "revoked_at": None,
    }
    assert body["results"][1]["name"] == ""
    text = response.content.decode()
    assert first["token"] not in text
    assert second["token"] not in text
    assert "hash" not in text


def test_list_of_a_vehicle_without_credentials_is_empty(api_a, vehicle_a):
    response = api_a.get(CREDENTIALS)
    assert response.status_code == 200
    assert response.json() == {"results": [], "next": None}


def test_a_name_that_is_not_a_short_string_is_a_400(api_a, vehicle_a, assert_error):
    assert_error(api_a.post(CREDENTIALS, {"name": "x" * 101}), 400, "invalid", {"name"})
    assert_error(api_a.post(CREDENTIALS, {"name": 7}), 400, "invalid", {"name"})
    assert_error(api_a.post(CREDENTIALS, {"name": "unit\u00007"}), 400, "invalid", {"name"})
    assert_error(api_a.post(CREDENTIALS, raw="[]"), 400, "invalid")
    assert_error(api_a.post(CREDENTIALS, raw="{"), 400, "parse_error")
    assert DeviceCredential.objects.count() == 0


def test_create_without_a_body_is_fine(api_a, vehicle_a):
    response = api_a.client.post(CREDENTIALS)
    assert response.status_code == 201, response.content


def test_revoke_answers_204_and_the_token_is_refused_at_once(api_a, issue, sample_log, make_log, assert_error):
    body = issue()
    device = device_client(body["token"])
    assert device.post(INGEST, make_log(timestamp="2025-10-04T10:31:00Z")).status_code == 202
    response = delete(api_a, f"{CREDENTIALS}/{body['id']}")
    assert response.status_code == 204
    assert response.content == b""
    refused = device.post(INGEST, make_log(timestamp="2025-10-04T10:32:00Z"))
    assert_error(refused, 401, "not_authenticated")
    assert_error(device.post(BULK, [make_log(timestamp="2025-10-04T10:33:00Z")]), 401, "not_authenticated")
    assert DiagnosticLog.objects.count() == 2
    listed = api_a.get(CREDENTIALS).json()["results"]
    assert TIMESTAMP_RE.fullmatch(listed[0]["revoked_at"])


def test_revoking_twice_is_a_204_and_keeps_the_first_time(api_a, issue):
    body = issue()
    assert delete(api_a, f"{CREDENTIALS}/{body['id']}").status_code == 204
    first = DeviceCredential.objects.get(pk=body["id"]).revoked_at
    assert delete(api_a, f"{CREDENTIALS}/{body['id']}").status_code == 204
    assert DeviceCredential.objects.get(pk=body["id"]).revoked_at == first


def test_revoking_one_credential_leaves_the_others(api_a, issue, make_log):
    revoked, kept = issue(), issue()
    assert delete(api_a, f"{CREDENTIALS}/{revoked['id']}").status_code == 204
    assert device_client(kept["token"]).post(INGEST, make_log(timestamp="2025-10-04T10:31:00Z")).status_code == 202


def test_another_user_of_the_fleet_manages_the_fleets_credentials(anon, issue, user_atomic, client_for):
    from fleets.services import api_user_create

    body = issue()
    colleague = client_for(api_user_create(username="dave", fleet_name="fleet-a", password="dave-pass").user)
    assert [row["id"] for row in colleague.get(CREDENTIALS).json()["results"]] == [body["id"]]
    assert delete(colleague, f"{CREDENTIALS}/{body['id']}").status_code == 204


# --- what a device may do ---------------------------------------------------------------------------------------


def test_a_device_posts_its_own_vehicles_log(issue, make_log):
    device = device_client(issue()["token"])
    log = make_log(timestamp="2025-10-04T10:31:00Z")
    response = device.post(INGEST, log)
    assert response.status_code == 202, response.content
    assert response["Location"] == f"/api/v1/reports/{response.json()['log_id']}"
    stored = DiagnosticLog.objects.get(pk=response.json()["log_id"])
    assert stored.vehicle.vehicle_id == VEHICLE
    assert device.post(INGEST, log).status_code == 200  # a same-content retry, as for a user


def test_a_device_posting_for_another_vehicle_is_a_403_and_stores_nothing(api_a, issue, make_log, assert_error):
    device = device_client(issue()["token"])
    assert api_a.post(INGEST, make_log(vehicle_id="EV-OTHER")).status_code == 202  # same fleet, another vehicle
    before = DiagnosticLog.objects.count()
    for vehicle_id in ("EV-OTHER", "EV-NEW"):
        response = device.post(INGEST, make_log(vehicle_id=vehicle_id, timestamp="2025-10-04T10:31:00Z"))
        error = assert_error(response, 403, "permission_denied")
        assert VEHICLE in error["message"]
    assert DiagnosticLog.objects.count() == before
    assert not Vehicle.objects.filter(vehicle_id="EV-NEW").exists()


def test_a_device_posting_for_another_fleets_vehicle_is_a_403(api_b, issue, make_log, assert_error):
    device = device_client(issue()["token"])
    assert api_b.post(INGEST, make_log(vehicle_id="EV-B")).status_code == 202
    response = device.post(INGEST, make_log(vehicle_id="EV-B", timestamp="2025-10-04T10:31:00Z"))
    error = assert_error(response, 403, "permission_denied")
    assert "another fleet" not in error["message"]  # a device learns nothing about other fleets
    assert DiagnosticLog.objects.filter(vehicle__vehicle_id="EV-B").count() == 1


def test_an_invalid_log_from_a_device_is_a_400(issue, make_log, assert_error):
    device = device_client(issue()["token"])
    assert_error(device.post(INGEST, make_log(cycle_count=-1)), 400, "invalid", {"cycle_count"})


def test_bulk_from_a_device_stores_its_own_items_and_forbids_the_others(api_a, issue, make_log):
    device = device_client(issue()["token"])
    items = [
        make_log(timestamp="2025-10-04T10:31:00Z"),
        make_log(vehicle_id="EV-OTHER", timestamp="2025-10-04T10:31:00Z"),
        make_log(timestamp="2025-10-04T10:32:00Z"),
        make_log(timestamp="2025-10-04T10:33:00Z", cycle_count=-1),
    ]
    response = device.post(BULK, items)
    assert response.status_code == 200, response.content
    body = response.json()
    assert [(r["index"], r["status"], r["http_status"]) for r in body["results"]] == [
        (0, "created", 202),
        (1, "forbidden", 403),
        (2, "created", 202),
        (3, "invalid", 400),
    ]
    forbidden = body["results"][1]
    assert "log_id" not in forbidden
    assert forbidden["error"]["code"] == "permission_denied"
    assert VEHICLE in forbidden["error"]["message"]
    assert body["counts"] == {"created": 2, "duplicate": 0, "conflict": 0, "invalid": 1, "forbidden": 1}
    assert not Vehicle.objects.filter(vehicle_id="EV-OTHER").exists()
    assert DiagnosticLog.objects.filter(vehicle__vehicle_id=VEHICLE).count() == 3


def test_bulk_of_only_other_vehicles_stores_nothing(issue, make_log):
    device = device_client(issue()["token"])
    response = device.post(BULK, [make_log(vehicle_id="EV-X1"), make_log(vehicle_id="EV-X2")])
    assert response.status_code == 200
    assert response.json()["counts"]["forbidden"] == 2
    assert not Vehicle.objects.filter(vehicle_id__in=["EV-X1", "EV-X2"]).exists()


@pytest.mark.parametrize(
    ("method", "path"),
    [
        pytest.param("get", "/api/v1/reports/{log_id}", id="report"),
        pytest.param("get", "/api/v1/diagnostics/{log_id}", id="stored log"),
        pytest.param("get", "/api/v1/reports/00000000-0000-0000-0000-000000000000", id="unknown report"),
        pytest.param("get", CREDENTIALS, id="list credentials"),
        pytest.param("post", CREDENTIALS, id="create a credential"),
        pytest.param("delete", CREDENTIALS + "/{credential_id}", id="revoke a credential"),
    ],
)
def test_a_device_may_do_nothing_else_403(api_a, issue, sample_log, assert_error, method, path):
    body = issue()
    log_id = str(DiagnosticLog.objects.get().pk)
    device = device_client(body["token"])
    url = path.format(log_id=log_id, credential_id=body["id"])
    response = device.post(url, {}) if method == "post" else getattr(device.client, method)(url)
    error = assert_error(response, 403, "permission_denied")
    assert "device" in error["message"].lower()
    assert DeviceCredential.objects.count() == 1
    assert DeviceCredential.objects.get().revoked_at is None


def test_a_device_token_is_no_refresh_token(anon, issue, assert_error):
    token = issue()["token"]
    assert_error(anon.post("/api/v1/auth/token/refresh", {"refresh": token}), 401, "not_authenticated")
    # The token endpoints take no Authorization at all (contract §3): a Device header changes nothing there.
    response = device_client(token).post("/api/v1/auth/token/refresh", {"refresh": token})
    assert_error(response, 401, "not_authenticated")
    assert "access" not in response.content.decode()


@pytest.mark.parametrize(
    "header",
    [
        pytest.param("Device", id="no token"),
        pytest.param("Device dev_x", id="too short"),
        pytest.param("Device " + "dev_" + "A" * 42 + "!", id="not url-safe"),
        pytest.param("Device dev_" + "A" * 43 + " extra", id="two words"),
        pytest.param("Device " + "A" * 47, id="no prefix"),
        pytest.param("Device dev_" + "A" * 43, id="well formed but unknown"),
    ],
)
def test_an_unknown_or_malformed_device_token_is_a_401(anon, vehicle_a, make_log, assert_error, header):
    response = anon.post(INGEST, make_log(timestamp="2025-10-04T10:31:00Z"), HTTP_AUTHORIZATION=header)
    assert_error(response, 401, "not_authenticated")
    assert DiagnosticLog.objects.count() == 1


def test_a_bearer_header_with_a_device_token_is_a_401(anon, issue, make_log, assert_error):
    token = issue()["token"]
    response = anon.post(INGEST, make_log(timestamp="2025-10-04T10:31:00Z"), HTTP_AUTHORIZATION=f"Bearer {token}")
    assert_error(response, 401, "not_authenticated")


def test_the_scheme_name_is_case_insensitive(anon, issue, make_log):
    token = issue()["token"]
    response = anon.post(INGEST, make_log(timestamp="2025-10-04T10:31:00Z"), HTTP_AUTHORIZATION=f"device {token}")
    assert response.status_code == 202, response.content


def test_first_use_sets_last_used_at(api_a, issue, make_log):
    body = issue()
    assert device_client(body["token"]).post(INGEST, make_log(timestamp="2025-10-04T10:31:00Z")).status_code == 202
    listed = api_a.get(CREDENTIALS).json()["results"][0]
    assert TIMESTAMP_RE.fullmatch(listed["last_used_at"])


# --- rate limits ------------------------------------------------------------------------------------------------


def test_a_device_is_rate_limited_per_credential(settings, issue, make_log, assert_error):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "device": "2/min"}
    first, second = issue(), issue()
    device = device_client(first["token"])
    for minute in (31, 32):
        assert device.post(INGEST, make_log(timestamp=f"2025-10-04T10:{minute}:00Z")).status_code == 202
    response = device.post(INGEST, make_log(timestamp="2025-10-04T10:33:00Z"))
    assert_error(response, 429, "throttled")
    assert 1 <= int(response["Retry-After"]) <= 60
    assert_error(device.post(BULK, [make_log(timestamp="2025-10-04T10:34:00Z")]), 429, "throttled")
    assert DiagnosticLog.objects.count() == 3  # the first log (alice's) and the device's two
    # Another credential, even of the same vehicle, has its own count.
    assert device_client(second["token"]).post(INGEST, make_log(timestamp="2025-10-04T10:35:00Z")).status_code == 202


def test_devices_count_against_their_fleets_limit(settings, api_a, issue, make_log):
    first, second = issue(), issue()  # with the vehicle's first log: alice's 3 requests of the fleet's 5
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "fleet": "5/min"}
    one, two = device_client(first["token"]), device_client(second["token"])
    assert one.post(INGEST, make_log(timestamp="2025-10-04T10:31:00Z")).status_code == 202
    assert two.post(INGEST, make_log(timestamp="2025-10-04T10:32:00Z")).status_code == 202
    assert one.post(INGEST, make_log(timestamp="2025-10-04T10:33:00Z")).status_code == 429
    assert api_a.get(CREDENTIALS).status_code == 429  # the fleet's users share the fleet's count


def test_a_device_does_not_use_up_its_fleet_users_limit(settings, api_a, issue, make_log):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "user": "3/min"}
    device = device_client(issue()["token"])  # alice's 2nd request (the vehicle's log was the 1st)
    for minute in range(31, 36):
        assert device.post(INGEST, make_log(timestamp=f"2025-10-04T10:{minute}:00Z")).status_code == 202
    assert api_a.get(CREDENTIALS).status_code == 200  # alice's 3rd


# --- tenancy and ids ----------------------------------------------------------------------------------------------


def test_another_fleets_vehicle_list_is_a_404(api_b, issue, assert_error):
    issue()
    assert_error(api_b.get(CREDENTIALS), 404, "not_found")


def test_creating_for_another_fleets_vehicle_is_a_403(api_b, vehicle_a, assert_error):
    assert_error(api_b.post(CREDENTIALS, {}), 403, "permission_denied")
    assert DeviceCredential.objects.count() == 0


def test_revoking_another_fleets_credential_is_a_403_and_changes_nothing(api_b, issue, make_log, assert_error):
    body = issue()
    assert_error(delete(api_b, f"{CREDENTIALS}/{body['id']}"), 403, "permission_denied")
    assert DeviceCredential.objects.get(pk=body["id"]).revoked_at is None
    assert device_client(body["token"]).post(INGEST, make_log(timestamp="2025-10-04T10:31:00Z")).status_code == 202


@pytest.mark.parametrize("method", ["get", "post", "delete"])
def test_an_unknown_vehicle_is_a_404(api_a, vehicle_a, assert_error, method):
    path = "/api/v1/vehicles/EV-NOBODY/credentials"
    if method == "get":
        response = api_a.get(path)
    elif method == "post":
        response = api_a.post(path, {})
    else:
        response = delete(api_a, f"{path}/{uuid.uuid4()}")
    assert_error(response, 404, "not_found")
    assert not Vehicle.objects.filter(vehicle_id="EV-NOBODY").exists()


@pytest.mark.parametrize("vehicle_id", ["-EV", "EV%201", "x" * 65, "EV%00", "%C3%A9", "EV-12345%0A"], ids=repr)
@pytest.mark.parametrize("method", ["get", "post", "delete"])
def test_a_malformed_vehicle_id_is_a_404(api_a, vehicle_a, assert_error, method, vehicle_id):
    path = f"/api/v1/vehicles/{vehicle_id}/credentials"
    if method == "get":
        response = api_a.get(path)
    elif method == "post":
        response = api_a.post(path, {})
    else:
        response = delete(api_a, f"{path}/{uuid.uuid4()}")
    assert_error(response, 404, "not_found")


@pytest.mark.parametrize("credential_id", ["nope", "123", "00000000-0000-0000-0000-00000000000g"])
def test_a_malformed_credential_id_is_a_404(api_a, vehicle_a, assert_error, credential_id):
    assert_error(delete(api_a, f"{CREDENTIALS}/{credential_id}"), 404, "not_found")


def test_an_unknown_credential_id_is_a_404(api_a, vehicle_a, assert_error):
    assert_error(delete(api_a, f"{CREDENTIALS}/{uuid.uuid4()}"), 404, "not_found")


def test_a_credential_is_revoked_only_under_its_own_vehicle(api_a, issue, make_log, assert_error):
    body = issue()
    assert api_a.post(INGEST, make_log(vehicle_id="EV-OTHER")).status_code == 202
    assert_error(delete(api_a, f"/api/v1/vehicles/EV-OTHER/credentials/{body['id']}"), 404, "not_found")
    assert DeviceCredential.objects.get(pk=body["id"]).revoked_at is None


def test_the_credentials_endpoints_need_a_token(anon, issue, assert_error):
    body = issue()
    assert_error(anon.get(CREDENTIALS), 401, "not_authenticated")
    assert_error(anon.post(CREDENTIALS, {}), 401, "not_authenticated")
    assert_error(delete(anon, f"{CREDENTIALS}/{body['id']}"), 401, "not_authenticated")


def test_a_user_without_a_fleet_cannot_manage_credentials(client_fleetless, issue, assert_error):
    body = issue()
    assert_error(client_fleetless.get(CREDENTIALS), 403, "permission_denied")
    assert_error(client_fleetless.post(CREDENTIALS, {}), 403, "permission_denied")
    assert_error(delete(client_fleetless, f"{CREDENTIALS}/{body['id']}"), 403, "permission_denied")


def test_get_on_one_credential_is_a_405(api_a, issue, assert_error):
    body = issue()
    response = api_a.get(f"{CREDENTIALS}/{body['id']}")
    assert response.status_code == 405
    assert "error" in json.loads(response.content)
