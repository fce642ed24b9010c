"""Contract section 6: one cell's history, oldest first, fleet-scoped, keyset-paginated (limit up to 10,000)."""

from urllib.parse import parse_qs, quote, urlsplit

import pytest

from tests.api.conftest import check_error
from tests.api.test_vehicles import log, post


def pack(n: int) -> list[dict[str, float]]:
    """Three cells; cell 1 sags 10 mV a log; the pack's median voltage is 4.0 V."""
    return [
        {"id": 0, "voltage": 4.0, "temperature": 30.0 + n},
        {"id": 1, "voltage": round(4.0 - 0.01 * n, 3), "temperature": 31.5},
        {"id": 2, "voltage": 4.05, "temperature": 29.25},
    ]


@pytest.fixture
def history(client_a) -> list[str]:
    return [post(client_a, log("EV-1", f"2025-10-0{n + 1}T10:00:00Z", cells=pack(n))) for n in range(4)]


def test_one_cells_history_oldest_first_as_posted(client_a, history):
    body = client_a.get("/api/v1/vehicles/EV-1/cells/1/history").json()

    assert body == {
        "results": [
            {
                "log_id": history[n],
                "timestamp": f"2025-10-0{n + 1}T10:00:00.000000Z",
                "voltage": round(4.0 - 0.01 * n, 3),
                "temperature": 31.5,
                "voltage_deviation_mv": [0.0, -10.0, -20.0, -30.0][n],
            }
            for n in range(4)
        ],
        "next": None,
    }


def test_the_window_and_the_pages(client_a, history):
    window = client_a.get(
        "/api/v1/vehicles/EV-1/cells/0/history?since=2025-10-02T10:00:00Z&until=2025-10-04T10:00:00Z"
    ).json()
    assert [row["log_id"] for row in window["results"]] == history[1:3]

    seen: list[str] = []
    url: str | None = "/api/v1/vehicles/EV-1/cells/2/history?limit=3"
    while url:
        page = client_a.get(url).json()
        seen += [row["log_id"] for row in page["results"]]
        url = page["next"]
    assert seen == history


def test_a_cell_the_pack_does_not_have_has_no_history(client_a, history):
    assert client_a.get("/api/v1/vehicles/EV-1/cells/7/history").json() == {"results": [], "next": None}


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("limit=0", "limit"),
        ("limit=10001", "limit"),
        ("limit=x", "limit"),
        ("since=2025-10-02", "since"),
        ("until=soon", "until"),
        ("since=2025-10-03T00:00:00Z&until=2025-10-02T00:00:00Z", "since"),
        ("cursor=forged", "cursor"),
    ],
)
def test_bad_parameters_are_400_naming_them(client_a, history, query, parameter):
    check_error(client_a.get(f"/api/v1/vehicles/EV-1/cells/1/history?{query}"), 400, "invalid", {parameter})


def test_a_cursor_of_another_cell_is_refused(client_a, history):
    next_url = client_a.get("/api/v1/vehicles/EV-1/cells/1/history?limit=1").json()["next"]
    cursor = quote(parse_qs(urlsplit(next_url).query)["cursor"][0])
    check_error(client_a.get(f"/api/v1/vehicles/EV-1/cells/2/history?cursor={cursor}"), 400, "invalid", {"cursor"})


def test_another_fleets_or_an_unknown_vehicle_or_a_bad_cell_id_is_404(client_a, client_b, history):
    check_error(client_b.get("/api/v1/vehicles/EV-1/cells/1/history"), 404, "not_found")
    check_error(client_a.get("/api/v1/vehicles/EV-NONE/cells/1/history"), 404, "not_found")
    check_error(client_a.get("/api/v1/vehicles/EV-1/cells/-1/history"), 404, "not_found")
    check_error(client_a.get("/api/v1/vehicles/EV-1/cells/x/history"), 404, "not_found")
