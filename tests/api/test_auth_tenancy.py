"""Contract section 3: JWT authentication and fleet tenancy.

Every endpoint but auth/*, /healthz and /readyz needs a valid Bearer access JWT (401 otherwise). A user sees and
writes only its own fleet's vehicles, logs and reports: another fleet's log or report is 404 (never 403);
posting for another fleet's vehicle is 403.
"""

import base64
import json
import uuid
from datetime import timedelta

import jwt
import pytest
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from vehicles.models import DiagnosticLog, Vehicle

URL = "/api/v1/diagnostics"
TOKEN_URL = "/api/v1/auth/token"
REFRESH_URL = "/api/v1/auth/token/refresh"


def bearer(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


# --- POST /api/v1/auth/token ---------------------------------------------------------------------------------


def test_token_obtain_answers_200_with_access_and_refresh(anon, user_atomic):
    response = anon.post(TOKEN_URL, {"username": "alice", "password": "alice-pass"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"access", "refresh"}
    assert all(isinstance(body[k], str) and body[k].count(".") == 2 for k in body)


def test_obtained_access_token_authenticates(anon, user_atomic, sample_log):
    access = anon.post(TOKEN_URL, {"username": "alice", "password": "alice-pass"}).json()["access"]
    response = anon.post(URL, sample_log, **bearer(access))
    assert response.status_code == 202, response.content


@pytest.mark.parametrize(
    "credentials",
    [
        pytest.param({"username": "alice", "password": "wrong"}, id="wrong password"),
        pytest.param({"username": "nobody", "password": "alice-pass"}, id="unknown user"),
        pytest.param({"username": "ALICE", "password": "alice-pass"}, id="username in another case"),
        pytest.param({"username": "alice", "password": "alice-pass "}, id="password with trailing space"),
        pytest.param({"username": "bob", "password": "alice-pass"}, id="another user's password"),
    ],
)
def test_bad_credentials_are_a_401(anon, user_atomic, other_user_atomic, assert_error, credentials):
    response = anon.post(TOKEN_URL, credentials)
    assert_error(response, 401, "not_authenticated")
    assert "access" not in response.content.decode()


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        pytest.param({"username": "alice"}, {"password"}, id="password missing"),
        pytest.param({"password": "alice-pass"}, {"username"}, id="username missing"),
        pytest.param({}, {"username", "password"}, id="both missing"),
    ],
)
def test_token_obtain_with_missing_fields_is_a_400_naming_them(anon, user_atomic, assert_error, body, fields):
    response = anon.post(TOKEN_URL, body)
    assert_error(response, 400, "invalid", fields)


def test_token_obtain_with_invalid_json_is_a_parse_error(anon, user_atomic, assert_error):
    response = anon.post(TOKEN_URL, raw='{"username": "alice", "password": ')
    assert_error(response, 400, "parse_error")


def test_token_obtain_needs_no_bearer_even_if_a_garbage_one_is_sent(anon, user_atomic):
    response = anon.post(TOKEN_URL, {"username": "alice", "password": "alice-pass"}, **bearer("garbage"))
    assert response.status_code == 200, response.content


def test_user_without_a_fleet_gets_a_token_but_no_access(anon, fleetless_user, sample_log, assert_error):
    token = anon.post(TOKEN_URL, {"username": "carol", "password": "carol-pass"})
    assert token.status_code == 200, token.content
    response = anon.post(URL, sample_log, **bearer(token.json()["access"]))
    assert_error(response, 403, "permission_denied")
    assert DiagnosticLog.objects.count() == 0


def test_too_many_token_requests_are_throttled_in_the_error_shape(anon, user_atomic, settings, assert_error):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "auth": "2/min"}
    for _ in range(2):
        assert anon.post(TOKEN_URL, {"username": "alice", "password": "wrong"}).status_code == 401
    response = anon.post(TOKEN_URL, {"username": "alice", "password": "alice-pass"})
    assert_error(response, 429, "throttled")
    assert int(response["Retry-After"]) >= 1


# --- POST /api/v1/auth/token/refresh ---------------------------------------------------------------------------


def test_refresh_answers_200_with_access_and_a_rotated_refresh(anon, user_atomic):
    refresh = str(RefreshToken.for_user(user_atomic))
    response = anon.post(REFRESH_URL, {"refresh": refresh})
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"access", "refresh"}  # API.md section 3: 200 {access, refresh}
    assert body["access"].count(".") == 2
    assert body["refresh"].count(".") == 2
    assert body["refresh"] != refresh


def test_refreshed_access_token_authenticates(anon, user_atomic, sample_log):
    refresh = anon.post(TOKEN_URL, {"username": "alice", "password": "alice-pass"}).json()["refresh"]
    access = anon.post(REFRESH_URL, {"refresh": refresh}).json()["access"]
    response = anon.post(URL, sample_log, **bearer(access))
    assert response.status_code == 202, response.content


@pytest.mark.parametrize(
    "make_refresh",
    [
        pytest.param(lambda user: "garbage", id="garbage"),
        pytest.param(lambda user: str(AccessToken.for_user(user)), id="an access token"),
        pytest.param(lambda user: str(RefreshToken.for_user(user))[:-4] + "AAAA", id="tampered signature"),
        pytest.param(lambda user: _expired_refresh(user), id="expired"),
        pytest.param(lambda user: _foreign_signed(str(RefreshToken.for_user(user))), id="signed with another key"),
    ],
)
def test_invalid_refresh_token_is_a_401(anon, user_atomic, assert_error, make_refresh):
    response = anon.post(REFRESH_URL, {"refresh": make_refresh(user_atomic)})
    assert_error(response, 401, "not_authenticated")


def test_empty_refresh_token_is_refused(anon, user_atomic, assert_error):
    response = anon.post(REFRESH_URL, {"refresh": ""})
    if response.status_code == 400:  # an empty string read as a missing value, named
        assert_error(response, 400, "invalid", {"refresh"})
    else:
        assert_error(response, 401, "not_authenticated")


def test_refresh_without_the_field_is_a_400(anon, user_atomic, assert_error):
    response = anon.post(REFRESH_URL, {})
    assert_error(response, 400, "invalid", {"refresh"})


# --- Bearer required on every protected endpoint -----------------------------------------------------------


def _expired_access(user) -> str:  # type: ignore[no-untyped-def]
    token = AccessToken.for_user(user)
    token.set_exp(lifetime=-timedelta(seconds=5))
    return str(token)


def _expired_refresh(user) -> str:  # type: ignore[no-untyped-def]
    token = RefreshToken.for_user(user)
    token.set_exp(lifetime=-timedelta(seconds=5))
    return str(token)


def _foreign_signed(token: str) -> str:
    claims = jwt.decode(token, options={"verify_signature": False})
    return jwt.encode(claims, "another-signing-key-that-is-long-enough-for-hs256", algorithm="HS256")


def _alg_none(token: str) -> str:
    claims = jwt.decode(token, options={"verify_signature": False})

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    return f"{b64(json.dumps({'alg': 'none', 'typ': 'JWT'}).encode())}.{b64(json.dumps(claims).encode())}."


AUTH_HEADERS = [
    pytest.param(lambda user: {}, id="no Authorization"),
    pytest.param(lambda user: bearer("garbage"), id="garbage Bearer"),
    pytest.param(lambda user: {"HTTP_AUTHORIZATION": "Bearer"}, id="Bearer without token"),
    pytest.param(lambda user: {"HTTP_AUTHORIZATION": ""}, id="empty Authorization"),
    pytest.param(lambda user: bearer(_expired_access(user)), id="expired access token"),
    pytest.param(lambda user: bearer(str(RefreshToken.for_user(user))), id="refresh token as access"),
    pytest.param(lambda user: bearer(_foreign_signed(str(AccessToken.for_user(user)))), id="signed with another key"),
    pytest.param(lambda user: bearer(_alg_none(str(AccessToken.for_user(user)))), id="alg none"),
    pytest.param(lambda user: bearer(str(AccessToken.for_user(user))[:-3] + "abc"), id="tampered signature"),
    pytest.param(lambda user: {"HTTP_AUTHORIZATION": f"Token {AccessToken.for_user(user)}"}, id="Token scheme"),
    pytest.param(
        lambda user: {"HTTP_AUTHORIZATION": f"Basic {base64.b64encode(b'alice:alice-pass').decode()}"},
        id="Basic credentials",
    ),
    pytest.param(
        lambda user: {"HTTP_AUTHORIZATION": f"Bearer {AccessToken.for_user(user)} extra"}, id="Bearer with two words"
    ),
]


@pytest.mark.parametrize("headers", AUTH_HEADERS)
def test_post_diagnostics_without_a_valid_access_token_is_a_401_and_stores_nothing(
    anon, user_atomic, sample_log, assert_error, headers
):
    response = anon.post(URL, sample_log, **headers(user_atomic))
    assert_error(response, 401, "not_authenticated")
    assert DiagnosticLog.objects.count() == 0
    assert Vehicle.objects.count() == 0


@pytest.mark.parametrize(
    "path", [pytest.param("/api/v1/diagnostics/{}", id="log"), pytest.param("/api/v1/reports/{}", id="report")]
)
@pytest.mark.parametrize("headers", AUTH_HEADERS)
def test_get_without_a_valid_access_token_is_a_401(api_a, anon, user_atomic, sample_log, assert_error, headers, path):
    log_id = api_a.post(URL, sample_log).json()["log_id"]
    response = anon.get(path.format(log_id), **headers(user_atomic))
    assert_error(response, 401, "not_authenticated")
    assert log_id not in response.content.decode()


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("/api/v1/diagnostics/{}", id="log"),
        pytest.param("/api/v1/reports/{}", id="report"),
        pytest.param("/api/v1/diagnostics/not-a-uuid", id="malformed log id"),
        pytest.param("/api/v1/reports/00000000-0000-0000-0000-000000000000", id="unknown report id"),
    ],
)
def test_401_comes_before_404_so_ids_are_not_probed_anonymously(anon, user_atomic, assert_error, path):
    response = anon.get(path.format(uuid.uuid4()))
    assert_error(response, 401, "not_authenticated")


def test_token_of_a_deleted_user_is_a_401(anon, db, sample_log, assert_error):
    from fleets.services import api_user_create

    ghost = api_user_create(username="ghost", fleet_name="fleet-g", password="x").user
    token = str(AccessToken.for_user(ghost))
    ghost.delete()
    response = anon.post(URL, sample_log, **bearer(token))
    assert_error(response, 401, "not_authenticated")
    assert DiagnosticLog.objects.count() == 0


def test_token_of_a_deactivated_user_is_a_401(anon, user_atomic, sample_log, assert_error):
    token = str(AccessToken.for_user(user_atomic))
    user_atomic.is_active = False
    user_atomic.save()
    response = anon.post(URL, sample_log, **bearer(token))
    assert_error(response, 401, "not_authenticated")
    assert DiagnosticLog.objects.count() == 0


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
@pytest.mark.parametrize(
    "headers",
    [pytest.param({}, id="no Authorization"), pytest.param(bearer("garbage"), id="garbage Bearer")],
)
def test_health_endpoints_need_no_authentication(anon, db, path, headers):
    response = anon.get(path, **headers)
    assert response.status_code == 200, response.content


# --- tenancy: reads --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", [pytest.param("/api/v1/diagnostics/{}", id="log"), pytest.param("/api/v1/reports/{}", id="report")]
)
def test_another_fleets_log_is_a_404_never_a_403(api_a, api_b, sample_log, assert_error, path):
    log_id = api_a.post(URL, sample_log).json()["log_id"]
    response = api_b.get(path.format(log_id))
    assert_error(response, 404, "not_found")
    assert log_id not in response.content.decode()
    assert "EV-12345" not in response.content.decode()


@pytest.mark.parametrize(
    "path", [pytest.param("/api/v1/diagnostics/{}", id="log"), pytest.param("/api/v1/reports/{}", id="report")]
)
def test_another_fleets_log_answers_exactly_like_an_unknown_id(api_a, api_b, sample_log, path):
    log_id = api_a.post(URL, sample_log).json()["log_id"]
    foreign = api_b.get(path.format(log_id))
    unknown = api_b.get(path.format(uuid.uuid4()))
    assert foreign.status_code == unknown.status_code == 404
    assert foreign.json() == unknown.json()


@pytest.mark.parametrize(
    "path", [pytest.param("/api/v1/diagnostics/{}", id="log"), pytest.param("/api/v1/reports/{}", id="report")]
)
def test_own_fleets_log_is_visible_to_its_owner(api_a, sample_log, path):
    log_id = api_a.post(URL, sample_log).json()["log_id"]
    response = api_a.get(path.format(log_id))
    assert response.status_code in (200, 202), response.content
    assert response.json()["log_id"] == log_id


def test_another_user_of_the_same_fleet_sees_the_log(api_a, anon, sample_log):
    from fleets.services import api_user_create

    colleague = api_user_create(username="alice2", fleet_name="fleet-a", password="pw").user
    log_id = api_a.post(URL, sample_log).json()["log_id"]
    response = anon.get(f"{URL}/{log_id}", **bearer(str(AccessToken.for_user(colleague))))
    assert response.status_code == 200, response.content
    assert response.json()["log_id"] == log_id


@pytest.mark.parametrize(
    "prefix", [pytest.param("/api/v1/diagnostics/", id="log"), pytest.param("/api/v1/reports/", id="report")]
)
@pytest.mark.parametrize(
    "log_id",
    [
        pytest.param("not-a-uuid", id="words"),
        pytest.param("12345", id="digits"),
        pytest.param("00000000-0000-0000-0000-00000000000", id="one hex digit short"),
        pytest.param("00000000-0000-0000-0000-0000000000000", id="one hex digit long"),
        pytest.param("zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz", id="not hex"),
        pytest.param("%00", id="NUL"),
        pytest.param("%C3%A9", id="unicode"),
        pytest.param("'%20OR%201=1--", id="sql-ish"),
        pytest.param("x" * 300, id="very long"),
    ],
)
def test_malformed_id_is_a_404(api_a, assert_error, prefix, log_id):
    response = api_a.get(prefix + log_id)
    assert_error(response, 404, "not_found")


@pytest.mark.parametrize(
    "prefix", [pytest.param("/api/v1/diagnostics/", id="log"), pytest.param("/api/v1/reports/", id="report")]
)
def test_unknown_uuid_is_a_404(api_a, assert_error, prefix):
    response = api_a.get(prefix + str(uuid.uuid4()))
    assert_error(response, 404, "not_found")


# --- tenancy: writes ---------------------------------------------------------------------------------------------


def test_posting_for_another_fleets_vehicle_is_a_403_and_stores_nothing(
    api_a, api_b, sample_log, make_log, assert_error
):
    api_a.post(URL, sample_log)
    response = api_b.post(URL, make_log(timestamp="2025-10-05T10:30:00Z"))
    assert_error(response, 403, "permission_denied")
    assert DiagnosticLog.objects.count() == 1
    assert Vehicle.objects.count() == 1
    assert Vehicle.objects.get().fleet.name == "fleet-a"


def test_vehicle_stays_with_the_first_fleet_after_a_refused_post(api_a, api_b, sample_log, make_log):
    api_a.post(URL, sample_log)
    api_b.post(URL, make_log(timestamp="2025-10-05T10:30:00Z"))
    response = api_a.post(URL, make_log(timestamp="2025-10-06T10:30:00Z"))
    assert response.status_code == 202, response.content


def test_each_fleet_writes_its_own_vehicles(api_a, api_b, sample_log, make_log):
    assert api_a.post(URL, sample_log).status_code == 202
    assert api_b.post(URL, make_log(vehicle_id="EV-B-1")).status_code == 202
    assert DiagnosticLog.objects.count() == 2
    assert {v.vehicle_id: v.fleet.name for v in Vehicle.objects.all()} == {"EV-12345": "fleet-a", "EV-B-1": "fleet-b"}


def test_invalid_post_does_not_claim_the_vehicle(api_a, api_b, make_log, assert_error):
    rejected = api_a.post(URL, make_log(vehicle_id="EV-NEW", cycle_count=-1))
    assert rejected.status_code == 400
    assert Vehicle.objects.count() == 0
    assert api_b.post(URL, make_log(vehicle_id="EV-NEW")).status_code == 202
    assert_error(
        api_a.post(URL, make_log(vehicle_id="EV-NEW", timestamp="2025-10-05T10:30:00Z")), 403, "permission_denied"
    )


# --- a user with no fleet --------------------------------------------------------------------------------------


def test_user_without_a_fleet_cannot_post(client_fleetless, sample_log, assert_error):
    response = client_fleetless.post(URL, sample_log)
    assert_error(response, 403, "permission_denied")
    assert DiagnosticLog.objects.count() == 0
    assert Vehicle.objects.count() == 0


@pytest.mark.parametrize(
    "path", [pytest.param("/api/v1/diagnostics/{}", id="log"), pytest.param("/api/v1/reports/{}", id="report")]
)
def test_user_without_a_fleet_cannot_read(api_a, client_fleetless, sample_log, assert_error, path):
    log_id = api_a.post(URL, sample_log).json()["log_id"]
    response = client_fleetless.get(path.format(log_id))
    assert_error(response, 403, "permission_denied")
    assert log_id not in response.content.decode()
