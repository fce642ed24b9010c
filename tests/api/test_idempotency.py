"""Contract section 1, identity: a log is identified by (vehicle_id, timestamp).

- same pair, same content (cells, cycle count, capacities): 200, the original log_id, nothing new stored;
- same pair, different content: 409 conflict with the existing log_id in the body;
- two timestamps naming the same instant are the same timestamp.
"""

import copy
import json
import threading

import httpx
import pytest
from rest_framework_simplejwt.tokens import RefreshToken

from reports.models import BatteryReport
from vehicles.models import DiagnosticLog, Vehicle

URL = "/api/v1/diagnostics"
POST_BODY_KEYS = {"message", "log_id", "status"}


def conflict_log_id(response) -> str:  # type: ignore[no-untyped-def]
    """The existing log_id carried by a 409 (top level or inside "error")."""
    body = response.json()
    return body.get("log_id") or body["error"].get("log_id")


# --- same-content retry ------------------------------------------------------------------------------------


def test_same_content_retry_answers_200_with_the_original_log_id(api_a, sample_log):
    first = api_a.post(URL, sample_log)
    assert first.status_code == 202, first.content
    again = api_a.post(URL, sample_log)
    assert again.status_code == 200, again.content
    assert again.json()["log_id"] == first.json()["log_id"]


def test_same_content_retry_has_the_same_body_shape(api_a, sample_log):
    first = api_a.post(URL, sample_log)
    again = api_a.post(URL, sample_log)
    body = again.json()
    assert set(body) == POST_BODY_KEYS
    assert body["message"] == "Diagnostic log received"
    assert body["status"] in ("processing", "completed")
    assert set(first.json()) == POST_BODY_KEYS


def test_same_content_retry_after_the_report_is_done_says_completed(client_a, sample_log):
    first = client_a.post(URL, sample_log)
    assert first.json()["status"] == "completed"
    again = client_a.post(URL, sample_log)
    assert again.status_code == 200
    assert again.json() == {
        "message": "Diagnostic log received",
        "log_id": first.json()["log_id"],
        "status": "completed",
    }


def test_same_content_retry_stores_nothing_new(api_a, sample_log):
    api_a.post(URL, sample_log)
    api_a.post(URL, sample_log)
    api_a.post(URL, sample_log)
    assert DiagnosticLog.objects.count() == 1
    assert Vehicle.objects.count() == 1


def test_same_content_retry_does_not_generate_a_second_report(client_a, sample_log):
    first = client_a.post(URL, sample_log)
    report_before = client_a.get(f"/api/v1/reports/{first.json()['log_id']}").json()
    client_a.post(URL, sample_log)
    assert BatteryReport.objects.count() == 1
    report_after = client_a.get(f"/api/v1/reports/{first.json()['log_id']}").json()
    assert report_after == report_before


def test_same_content_retry_leaves_the_stored_log_unchanged(api_a, sample_log):
    log_id = api_a.post(URL, sample_log).json()["log_id"]
    before = api_a.get(f"{URL}/{log_id}").json()
    api_a.post(URL, sample_log)
    assert api_a.get(f"{URL}/{log_id}").json() == before


@pytest.mark.parametrize(
    "respell",
    [
        pytest.param(lambda log: log.update(cells=list(reversed(log["cells"]))), id="cells reversed"),
        pytest.param(lambda log: log.update(cells=[log["cells"][i] for i in (2, 0, 3, 1)]), id="cells shuffled"),
        pytest.param(
            lambda log: log.update(cells=[dict(reversed(list(c.items()))) for c in log["cells"]]),
            id="cell keys in another order",
        ),
        pytest.param(lambda log: log.update(cycle_count=412.0), id="cycle_count 412.0 for 412"),
        pytest.param(lambda log: log.update(nominal_capacity_kwh=60), id="nominal 60 for 60.0"),
        pytest.param(lambda log: log["cells"][0].update(voltage=4.050), id="voltage 4.050 for 4.05"),
        pytest.param(lambda log: log.update(driver="Ada", firmware="9.9"), id="unknown fields added"),
        pytest.param(lambda log: log.update(timestamp="2025-10-04T12:30:00+02:00"), id="timestamp +02:00"),
        pytest.param(lambda log: log.update(timestamp="2025-10-04T05:30:00-05:00"), id="timestamp -05:00"),
        pytest.param(lambda log: log.update(timestamp="2025-10-04T10:30:00Z"), id="timestamp Z without fraction"),
        pytest.param(lambda log: log.update(timestamp="2025-10-04T10:30:00+00:00"), id="timestamp +00:00"),
        pytest.param(lambda log: log.update(timestamp="2025-10-04T10:30:00.000Z"), id="timestamp millisecond fraction"),
    ],
)
def test_same_content_spelled_differently_is_a_retry(api_a, sample_log, respell):
    first = api_a.post(URL, sample_log)
    assert first.status_code == 202, first.content
    other = copy.deepcopy(sample_log)
    respell(other)
    again = api_a.post(URL, other)
    assert again.status_code == 200, again.content
    assert again.json()["log_id"] == first.json()["log_id"]
    assert DiagnosticLog.objects.count() == 1


def test_same_instant_with_offset_first_then_z_is_a_retry(api_a, make_log):
    first = api_a.post(URL, make_log(timestamp="2025-10-04T12:30:00+02:00"))
    again = api_a.post(URL, make_log(timestamp="2025-10-04T10:30:00Z"))
    assert first.status_code == 202, first.content
    assert again.status_code == 200, again.content
    assert again.json()["log_id"] == first.json()["log_id"]


def test_cells_first_posted_out_of_order_then_in_order_is_a_retry(api_a, sample_log):
    shuffled = copy.deepcopy(sample_log)
    shuffled["cells"] = [shuffled["cells"][i] for i in (3, 1, 2, 0)]
    first = api_a.post(URL, shuffled)
    again = api_a.post(URL, sample_log)
    assert again.status_code == 200, again.content
    assert again.json()["log_id"] == first.json()["log_id"]


# --- different content: 409 conflict -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda log: log.update(cycle_count=413), id="cycle_count"),
        pytest.param(lambda log: log.update(nominal_capacity_kwh=61.0), id="nominal_capacity_kwh"),
        pytest.param(lambda log: log.update(current_capacity_kwh=54.8), id="current_capacity_kwh"),
        pytest.param(lambda log: log["cells"][2].update(voltage=4.041), id="one cell voltage"),
        pytest.param(lambda log: log["cells"][3].update(temperature=34.9), id="one cell temperature"),
        pytest.param(lambda log: log["cells"].append({"id": 4, "voltage": 4.0, "temperature": 30.0}), id="extra cell"),
        pytest.param(lambda log: log["cells"].pop(), id="one cell fewer"),
        pytest.param(
            lambda log: (log["cells"][0].update(voltage=4.03), log["cells"][1].update(voltage=4.05)),
            id="two cells voltages swapped",
        ),
        pytest.param(
            lambda log: log.update(timestamp="2025-10-04T12:30:00+02:00", cycle_count=500),
            id="same instant with offset and another cycle_count",
        ),
    ],
)
def test_different_content_for_the_same_pair_is_a_409_with_the_existing_log_id(api_a, sample_log, assert_error, change):
    first = api_a.post(URL, sample_log)
    other = copy.deepcopy(sample_log)
    change(other)
    response = api_a.post(URL, other)
    assert_error(response, 409, "conflict")
    assert conflict_log_id(response) == first.json()["log_id"]
    assert DiagnosticLog.objects.count() == 1


def test_conflict_leaves_the_stored_log_unchanged(api_a, sample_log, make_log):
    log_id = api_a.post(URL, sample_log).json()["log_id"]
    before = api_a.get(f"{URL}/{log_id}").json()
    api_a.post(URL, make_log(cycle_count=999))
    assert api_a.get(f"{URL}/{log_id}").json() == before


def test_conflict_body_names_the_existing_log_id(api_a, sample_log, make_log):
    log_id = api_a.post(URL, sample_log).json()["log_id"]
    response = api_a.post(URL, make_log(cycle_count=999))
    assert response.status_code == 409
    assert log_id in response.content.decode()


# --- different identity: a new log ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda log: log.update(timestamp="2025-10-04T10:30:00.000001Z"), id="one microsecond later"),
        pytest.param(lambda log: log.update(timestamp="2025-10-04T10:30:00+02:00"), id="same wall clock other offset"),
        pytest.param(lambda log: log.update(vehicle_id="EV-12346"), id="another vehicle"),
        pytest.param(lambda log: log.update(vehicle_id="ev-12345"), id="vehicle_id differing in case"),
    ],
)
def test_another_vehicle_or_instant_is_a_new_log(api_a, sample_log, change):
    first = api_a.post(URL, sample_log)
    other = copy.deepcopy(sample_log)
    change(other)
    second = api_a.post(URL, other)
    assert second.status_code == 202, second.content
    assert second.json()["log_id"] != first.json()["log_id"]
    assert DiagnosticLog.objects.count() == 2


# --- tenancy meets identity: another fleet never learns the log_id -------------------------------------------


def test_other_fleet_posting_the_same_log_gets_403_not_the_log_id(api_a, api_b, sample_log, assert_error):
    log_id = api_a.post(URL, sample_log).json()["log_id"]
    response = api_b.post(URL, sample_log)
    assert_error(response, 403, "permission_denied")
    assert log_id not in response.content.decode()
    assert DiagnosticLog.objects.count() == 1


def test_other_fleet_posting_different_content_for_the_same_pair_gets_403_not_409(
    api_a, api_b, sample_log, make_log, assert_error
):
    log_id = api_a.post(URL, sample_log).json()["log_id"]
    response = api_b.post(URL, make_log(cycle_count=999))
    assert_error(response, 403, "permission_denied")
    assert log_id not in response.content.decode()


# --- concurrency: identical POSTs at once create exactly one log ---------------------------------------------


def _post_concurrently(url: str, tokens: list[str], body: dict) -> list[httpx.Response]:  # type: ignore[type-arg]
    barrier = threading.Barrier(len(tokens))
    results: list[httpx.Response | BaseException | None] = [None] * len(tokens)
    payload = json.dumps(body).encode()

    def worker(index: int, token: str) -> None:
        with httpx.Client(timeout=30) as http:
            headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
            barrier.wait()
            try:
                results[index] = http.post(url, content=payload, headers=headers)
            except BaseException as exc:  # reported below
                results[index] = exc

    threads = [threading.Thread(target=worker, args=(i, t)) for i, t in enumerate(tokens)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    for result in results:
        assert isinstance(result, httpx.Response), result
    return results  # type: ignore[return-value]


def _token(user) -> str:  # type: ignore[no-untyped-def]
    return str(RefreshToken.for_user(user).access_token)


def test_ten_concurrent_identical_posts_create_exactly_one_log(live_server, user, sample_log):
    responses = _post_concurrently(f"{live_server.url}{URL}", [_token(user)] * 10, sample_log)
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * 9 + [202], [(r.status_code, r.text) for r in responses]
    assert len({r.json()["log_id"] for r in responses}) == 1
    assert DiagnosticLog.objects.count() == 1
    assert Vehicle.objects.count() == 1


def test_ten_concurrent_posts_with_different_content_create_one_log_and_nine_conflicts(live_server, user, sample_log):
    url = f"{live_server.url}{URL}"
    token = _token(user)
    bodies = [{**sample_log, "cycle_count": 100 + i} for i in range(10)]
    barrier = threading.Barrier(10)
    results: list[httpx.Response | None] = [None] * 10

    def worker(index: int) -> None:
        with httpx.Client(timeout=30) as http:
            barrier.wait()
            results[index] = http.post(url, json=bodies[index], headers={"Authorization": f"Bearer {token}"})

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    statuses = sorted(r.status_code for r in results)  # type: ignore[union-attr]
    assert statuses == [202] + [409] * 9, [(r.status_code, r.text) for r in results]  # type: ignore[union-attr]
    created = next(r for r in results if r.status_code == 202)  # type: ignore[union-attr]
    for response in results:
        if response.status_code == 409:  # type: ignore[union-attr]
            assert conflict_log_id(response) == created.json()["log_id"]  # type: ignore[union-attr]
    assert DiagnosticLog.objects.count() == 1


def test_concurrent_first_posts_from_two_fleets_give_the_vehicle_to_exactly_one(
    live_server, user, other_user, sample_log
):
    tokens = [_token(user), _token(other_user)] * 5
    responses = _post_concurrently(f"{live_server.url}{URL}", tokens, sample_log)
    by_fleet = {"a": [r.status_code for r in responses[0::2]], "b": [r.status_code for r in responses[1::2]]}
    winner = "a" if 403 not in by_fleet["a"] else "b"
    loser = "b" if winner == "a" else "a"
    assert sorted(by_fleet[winner]) == [200, 200, 200, 200, 202], by_fleet
    assert by_fleet[loser] == [403] * 5, by_fleet
    assert DiagnosticLog.objects.count() == 1
    assert Vehicle.objects.count() == 1
    expected_fleet = (user if winner == "a" else other_user).fleet_id
    assert Vehicle.objects.get().fleet_id == expected_fleet
