"""Contract section 1: every field rule of the diagnostic log, over HTTP.

Any violation: 400 with code "invalid", every offending field named by its path, nothing stored.
"""

import copy
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from vehicles.models import DiagnosticLog, Vehicle

URL = "/api/v1/diagnostics"


# --- mutators: small named edits of the sample log, used by the rule tables --------------------------------


def top(**changes: Any):  # type: ignore[no-untyped-def]
    def apply(log: dict[str, Any]) -> None:
        log.update(changes)

    return apply


def drop(key: str):  # type: ignore[no-untyped-def]
    def apply(log: dict[str, Any]) -> None:
        del log[key]

    return apply


def cell(index: int, **changes: Any):  # type: ignore[no-untyped-def]
    def apply(log: dict[str, Any]) -> None:
        log["cells"][index].update(changes)

    return apply


def cell_drop(index: int, key: str):  # type: ignore[no-untyped-def]
    def apply(log: dict[str, Any]) -> None:
        del log["cells"][index][key]

    return apply


def cell_replace(index: int, value: Any):  # type: ignore[no-untyped-def]
    def apply(log: dict[str, Any]) -> None:
        log["cells"][index] = value

    return apply


def cell_ids(*ids: Any):  # type: ignore[no-untyped-def]
    def apply(log: dict[str, Any]) -> None:
        log["cells"] = [{"id": i, "voltage": 4.0, "temperature": 30.0} for i in ids]

    return apply


def n_cells(n: int):  # type: ignore[no-untyped-def]
    return cell_ids(*range(n))


def both(*mutators):  # type: ignore[no-untyped-def]
    def apply(log: dict[str, Any]) -> None:
        for mutate in mutators:
            mutate(log)

    return apply


def future(minutes: float, offset_hours: int = 0) -> str:
    tz = timezone(timedelta(hours=offset_hours))
    return (datetime.now(UTC) + timedelta(minutes=minutes)).astimezone(tz).isoformat()


def post_mutated(client, sample_log, mutate):  # type: ignore[no-untyped-def]
    log = copy.deepcopy(sample_log)
    mutate(log)
    return client.post(URL, log)


# --- accepted values: at every inclusive bound and every allowed spelling ----------------------------------

ACCEPTED = [
    # vehicle_id
    pytest.param(top(vehicle_id="A"), id="vehicle_id 1 char"),
    pytest.param(top(vehicle_id="7"), id="vehicle_id single digit"),
    pytest.param(top(vehicle_id="A" * 64), id="vehicle_id 64 chars"),
    pytest.param(top(vehicle_id="ev.fleet_01:pack-9"), id="vehicle_id all allowed punctuation"),
    pytest.param(top(vehicle_id="0-._:"), id="vehicle_id digit then only punctuation"),
    # timestamp
    pytest.param(top(timestamp="2025-10-04T10:30:00Z"), id="timestamp Z"),
    pytest.param(top(timestamp="2025-10-04T10:30:00.123456Z"), id="timestamp Z with microseconds"),
    pytest.param(top(timestamp="2025-10-04T12:30:00+02:00"), id="timestamp +02:00"),
    pytest.param(top(timestamp="2025-10-04T05:00:00-05:30"), id="timestamp -05:30"),
    pytest.param(top(timestamp="2025-10-04T10:30:00+00:00"), id="timestamp +00:00"),
    pytest.param(lambda log: log.update(timestamp=future(4)), id="timestamp 4 minutes ahead"),
    pytest.param(
        lambda log: log.update(timestamp=future(4, offset_hours=-5)), id="timestamp 4 minutes ahead as -05:00"
    ),
    # cells
    pytest.param(n_cells(1), id="cells 1 item"),
    pytest.param(n_cells(1024), id="cells 1024 items"),
    pytest.param(cell_ids(3, 1, 0, 2), id="cells ids in any order"),
    # voltage bounds (inclusive)
    pytest.param(cell(0, voltage=0), id="voltage 0 (int)"),
    pytest.param(cell(0, voltage=0.0), id="voltage 0.0"),
    pytest.param(cell(0, voltage=5), id="voltage 5 (int)"),
    pytest.param(cell(0, voltage=5.0), id="voltage 5.0"),
    pytest.param(cell(0, voltage=4), id="voltage integer 4"),
    # temperature bounds (inclusive)
    pytest.param(cell(0, temperature=-40), id="temperature -40"),
    pytest.param(cell(0, temperature=-40.0), id="temperature -40.0"),
    pytest.param(cell(0, temperature=125), id="temperature 125"),
    pytest.param(cell(0, temperature=125.0), id="temperature 125.0"),
    # cycle_count bounds (inclusive)
    pytest.param(top(cycle_count=0), id="cycle_count 0"),
    pytest.param(top(cycle_count=100000), id="cycle_count 100000"),
    # nominal_capacity_kwh: 0 < c <= 1000
    pytest.param(top(nominal_capacity_kwh=1000, current_capacity_kwh=500), id="nominal 1000"),
    pytest.param(top(nominal_capacity_kwh=1000.0, current_capacity_kwh=500), id="nominal 1000.0"),
    pytest.param(top(nominal_capacity_kwh=0.001, current_capacity_kwh=0.001), id="nominal 0.001"),
    pytest.param(top(nominal_capacity_kwh=1e-9, current_capacity_kwh=0), id="nominal 1e-9 just above 0"),
    pytest.param(top(nominal_capacity_kwh=60), id="nominal integer 60"),
    # current_capacity_kwh: 0 <= c <= 1.2 x nominal
    pytest.param(top(current_capacity_kwh=0), id="current 0"),
    pytest.param(top(current_capacity_kwh=0.0), id="current 0.0"),
    pytest.param(top(nominal_capacity_kwh=50.0, current_capacity_kwh=60.0), id="current exactly 1.2x 50"),
    pytest.param(top(nominal_capacity_kwh=60.0, current_capacity_kwh=72.0), id="current exactly 1.2x 60"),
    pytest.param(top(nominal_capacity_kwh=60, current_capacity_kwh=72), id="current exactly 1.2x 60 ints"),
    pytest.param(top(nominal_capacity_kwh=0.1, current_capacity_kwh=0.12), id="current exactly 1.2x 0.1"),
    pytest.param(
        top(nominal_capacity_kwh=33.3, current_capacity_kwh=39.96), id="current exactly 1.2x 33.3 float noise"
    ),
    pytest.param(top(nominal_capacity_kwh=40.2, current_capacity_kwh=48.24), id="current exactly 1.2x 40.2"),
    pytest.param(top(nominal_capacity_kwh=1000, current_capacity_kwh=1200), id="current exactly 1.2x 1000"),
    pytest.param(top(nominal_capacity_kwh=1e-9, current_capacity_kwh=1.2e-9), id="current exactly 1.2x tiny 1e-9"),
    pytest.param(top(nominal_capacity_kwh=1e-9, current_capacity_kwh=1.1e-9), id="current 1.1x tiny 1e-9"),
]


@pytest.mark.parametrize("mutate", ACCEPTED)
def test_valid_value_is_accepted_and_stored(api_a, sample_log, mutate):
    response = post_mutated(api_a, sample_log, mutate)
    assert response.status_code == 202, response.content
    assert DiagnosticLog.objects.count() == 1


# --- rejected values: 400 invalid, exactly the offending field named, nothing stored -----------------------

HUGE = 10**30

REJECTED = [
    # vehicle_id
    pytest.param(top(vehicle_id=""), {"vehicle_id"}, id="vehicle_id empty"),
    pytest.param(top(vehicle_id="A" * 65), {"vehicle_id"}, id="vehicle_id 65 chars"),
    pytest.param(top(vehicle_id="-EV1"), {"vehicle_id"}, id="vehicle_id leading hyphen"),
    pytest.param(top(vehicle_id=".EV1"), {"vehicle_id"}, id="vehicle_id leading dot"),
    pytest.param(top(vehicle_id="_EV1"), {"vehicle_id"}, id="vehicle_id leading underscore"),
    pytest.param(top(vehicle_id=":EV1"), {"vehicle_id"}, id="vehicle_id leading colon"),
    pytest.param(top(vehicle_id="EV 1"), {"vehicle_id"}, id="vehicle_id inner space"),
    pytest.param(top(vehicle_id=" EV1"), {"vehicle_id"}, id="vehicle_id leading space"),
    pytest.param(top(vehicle_id="EV1 "), {"vehicle_id"}, id="vehicle_id trailing space"),
    pytest.param(top(vehicle_id="EV1\n"), {"vehicle_id"}, id="vehicle_id trailing newline"),
    pytest.param(top(vehicle_id="EV/1"), {"vehicle_id"}, id="vehicle_id slash"),
    pytest.param(top(vehicle_id="EV\u00e9"), {"vehicle_id"}, id="vehicle_id latin e-acute"),
    pytest.param(top(vehicle_id="\u0415V-1"), {"vehicle_id"}, id="vehicle_id cyrillic E lookalike"),
    pytest.param(top(vehicle_id="\uff25\uff36\uff11"), {"vehicle_id"}, id="vehicle_id fullwidth letters and digit"),
    pytest.param(top(vehicle_id="\u0661\u0662"), {"vehicle_id"}, id="vehicle_id arabic-indic digits"),
    pytest.param(top(vehicle_id="EV-1\U0001f50b"), {"vehicle_id"}, id="vehicle_id emoji"),
    pytest.param(top(vehicle_id="EV\x001"), {"vehicle_id"}, id="vehicle_id NUL"),
    pytest.param(top(vehicle_id=12345), {"vehicle_id"}, id="vehicle_id integer"),
    pytest.param(top(vehicle_id=True), {"vehicle_id"}, id="vehicle_id boolean"),
    pytest.param(top(vehicle_id=["EV-1"]), {"vehicle_id"}, id="vehicle_id array"),
    pytest.param(top(vehicle_id={"id": "EV-1"}), {"vehicle_id"}, id="vehicle_id object"),
    pytest.param(top(vehicle_id=None), {"vehicle_id"}, id="vehicle_id null"),
    pytest.param(drop("vehicle_id"), {"vehicle_id"}, id="vehicle_id missing"),
    # timestamp
    pytest.param(top(timestamp="2025-10-04T10:30:00"), {"timestamp"}, id="timestamp naive"),
    pytest.param(top(timestamp="2025-10-04T10:30:00.000000"), {"timestamp"}, id="timestamp naive with microseconds"),
    pytest.param(top(timestamp="2025-10-04"), {"timestamp"}, id="timestamp date only"),
    pytest.param(top(timestamp="yesterday"), {"timestamp"}, id="timestamp garbage"),
    pytest.param(top(timestamp="10:30:00Z"), {"timestamp"}, id="timestamp time only"),
    pytest.param(top(timestamp=""), {"timestamp"}, id="timestamp empty"),
    pytest.param(top(timestamp="2025-02-30T10:30:00Z"), {"timestamp"}, id="timestamp impossible date"),
    pytest.param(top(timestamp="2025-10-04T25:30:00Z"), {"timestamp"}, id="timestamp hour 25"),
    pytest.param(top(timestamp="0001-01-01T00:30:00+01:00"), {"timestamp"}, id="timestamp before year 1 in UTC"),
    pytest.param(top(timestamp="9999-12-31T23:30:00-01:00"), {"timestamp"}, id="timestamp after year 9999 in UTC"),
    pytest.param(top(timestamp="2025-10-04T12:30:00+02:00:30"), {"timestamp"}, id="timestamp offset with seconds"),
    pytest.param(top(timestamp=" 2025-10-04T10:30:00Z "), {"timestamp"}, id="timestamp padded with spaces"),
    pytest.param(top(timestamp="2025-10-04T10:30:00Z\n"), {"timestamp"}, id="timestamp trailing newline"),
    pytest.param(top(timestamp=1759573800), {"timestamp"}, id="timestamp epoch number"),
    pytest.param(top(timestamp=None), {"timestamp"}, id="timestamp null"),
    pytest.param(drop("timestamp"), {"timestamp"}, id="timestamp missing"),
    pytest.param(lambda log: log.update(timestamp=future(6)), {"timestamp"}, id="timestamp 6 minutes ahead"),
    pytest.param(
        lambda log: log.update(timestamp=future(6, offset_hours=-5)),
        {"timestamp"},
        id="timestamp 6 minutes ahead as -05:00",
    ),
    pytest.param(
        lambda log: log.update(timestamp=future(6, offset_hours=2)),
        {"timestamp"},
        id="timestamp 6 minutes ahead as +02:00",
    ),
    pytest.param(lambda log: log.update(timestamp=future(60 * 24 * 365)), {"timestamp"}, id="timestamp a year ahead"),
    # cells: the array
    pytest.param(n_cells(0), {"cells"}, id="cells 0 items"),
    pytest.param(n_cells(1025), {"cells"}, id="cells 1025 items"),
    pytest.param(top(cells={"0": {"id": 0, "voltage": 4.0, "temperature": 30.0}}), {"cells"}, id="cells object"),
    pytest.param(top(cells="4.0,4.1"), {"cells"}, id="cells string"),
    pytest.param(top(cells=None), {"cells"}, id="cells null"),
    pytest.param(drop("cells"), {"cells"}, id="cells missing"),
    # cells: ids exactly 0..n-1, each once
    pytest.param(cell_ids(0, 1, 1, 3), {"cells"}, id="cell ids duplicate"),
    pytest.param(cell_ids(0, 0), {"cells"}, id="cell ids all zero"),
    pytest.param(cell_ids(1, 2, 3, 4), {"cells"}, id="cell ids start at 1"),
    pytest.param(cell_ids(0, 1, 2, 5), {"cells"}, id="cell ids gap"),
    pytest.param(cell_ids(-1, 0, 1, 2), {"cells"}, id="cell ids negative"),
    pytest.param(cell_ids(HUGE), {"cells"}, id="cell id huge integer"),
    pytest.param(cell(1, id="1"), {"cells[1].id"}, id="cell id string"),
    pytest.param(cell(1, id=1.5), {"cells[1].id"}, id="cell id float 1.5"),
    pytest.param(cell(1, id=True), {"cells[1].id"}, id="cell id true"),
    pytest.param(cell(0, id=False), {"cells[0].id"}, id="cell id false"),
    pytest.param(cell(1, id=None), {"cells[1].id"}, id="cell id null"),
    pytest.param(cell_drop(1, "id"), {"cells[1].id"}, id="cell id missing"),
    # cells: each an object with exactly id, voltage, temperature
    pytest.param(cell_replace(2, 4.0), {"cells[2]"}, id="cell a number"),
    pytest.param(cell_replace(2, "cell"), {"cells[2]"}, id="cell a string"),
    pytest.param(cell_replace(2, None), {"cells[2]"}, id="cell null"),
    pytest.param(cell_replace(2, [2, 4.0, 30.0]), {"cells[2]"}, id="cell an array"),
    # cells[].voltage
    pytest.param(cell(3, voltage=-0.001), {"cells[3].voltage"}, id="voltage -0.001"),
    pytest.param(cell(3, voltage=-1e-9), {"cells[3].voltage"}, id="voltage -1e-9"),
    pytest.param(cell(3, voltage=5.001), {"cells[3].voltage"}, id="voltage 5.001"),
    pytest.param(cell(3, voltage=5.000000001), {"cells[3].voltage"}, id="voltage 5.000000001"),
    pytest.param(cell(3, voltage=6), {"cells[3].voltage"}, id="voltage 6 integer"),
    pytest.param(cell(3, voltage=HUGE), {"cells[3].voltage"}, id="voltage 1e30 integer"),
    pytest.param(cell(3, voltage="4.05"), {"cells[3].voltage"}, id="voltage string"),
    pytest.param(cell(3, voltage=True), {"cells[3].voltage"}, id="voltage true"),
    pytest.param(cell(3, voltage=None), {"cells[3].voltage"}, id="voltage null"),
    pytest.param(cell_drop(3, "voltage"), {"cells[3].voltage"}, id="voltage missing"),
    # cells[].temperature
    pytest.param(cell(0, temperature=-40.01), {"cells[0].temperature"}, id="temperature -40.01"),
    pytest.param(cell(0, temperature=-41), {"cells[0].temperature"}, id="temperature -41"),
    pytest.param(cell(0, temperature=125.01), {"cells[0].temperature"}, id="temperature 125.01"),
    pytest.param(cell(0, temperature=126), {"cells[0].temperature"}, id="temperature 126"),
    pytest.param(cell(0, temperature="35.2"), {"cells[0].temperature"}, id="temperature string"),
    pytest.param(cell(0, temperature=False), {"cells[0].temperature"}, id="temperature false"),
    pytest.param(cell(0, temperature=None), {"cells[0].temperature"}, id="temperature null"),
    pytest.param(cell_drop(0, "temperature"), {"cells[0].temperature"}, id="temperature missing"),
    # cycle_count
    pytest.param(top(cycle_count=-1), {"cycle_count"}, id="cycle_count -1"),
    pytest.param(top(cycle_count=100001), {"cycle_count"}, id="cycle_count 100001"),
    pytest.param(top(cycle_count=HUGE), {"cycle_count"}, id="cycle_count 1e30 integer"),
    pytest.param(top(cycle_count=412.5), {"cycle_count"}, id="cycle_count 412.5"),
    pytest.param(top(cycle_count=0.5), {"cycle_count"}, id="cycle_count 0.5"),
    pytest.param(top(cycle_count="412"), {"cycle_count"}, id="cycle_count string"),
    pytest.param(top(cycle_count=True), {"cycle_count"}, id="cycle_count true"),
    pytest.param(top(cycle_count=False), {"cycle_count"}, id="cycle_count false"),
    pytest.param(top(cycle_count=None), {"cycle_count"}, id="cycle_count null"),
    pytest.param(top(cycle_count=[412]), {"cycle_count"}, id="cycle_count array"),
    pytest.param(drop("cycle_count"), {"cycle_count"}, id="cycle_count missing"),
    # nominal_capacity_kwh
    pytest.param(top(nominal_capacity_kwh=0, current_capacity_kwh=0), {"nominal_capacity_kwh"}, id="nominal 0"),
    pytest.param(top(nominal_capacity_kwh=0.0, current_capacity_kwh=0), {"nominal_capacity_kwh"}, id="nominal 0.0"),
    pytest.param(top(nominal_capacity_kwh=-1.0), {"nominal_capacity_kwh"}, id="nominal negative"),
    pytest.param(top(nominal_capacity_kwh=1000.001), {"nominal_capacity_kwh"}, id="nominal 1000.001"),
    pytest.param(top(nominal_capacity_kwh=1001), {"nominal_capacity_kwh"}, id="nominal 1001"),
    pytest.param(top(nominal_capacity_kwh="60.0"), {"nominal_capacity_kwh"}, id="nominal string"),
    pytest.param(top(nominal_capacity_kwh=True), {"nominal_capacity_kwh"}, id="nominal true"),
    pytest.param(top(nominal_capacity_kwh=None), {"nominal_capacity_kwh"}, id="nominal null"),
    pytest.param(drop("nominal_capacity_kwh"), {"nominal_capacity_kwh"}, id="nominal missing"),
    # current_capacity_kwh
    pytest.param(top(current_capacity_kwh=-0.001), {"current_capacity_kwh"}, id="current -0.001"),
    pytest.param(
        top(nominal_capacity_kwh=60.0, current_capacity_kwh=72.001),
        {"current_capacity_kwh"},
        id="current just above 1.2x 60",
    ),
    pytest.param(
        top(nominal_capacity_kwh=50.0, current_capacity_kwh=60.000001),
        {"current_capacity_kwh"},
        id="current just above 1.2x 50",
    ),
    pytest.param(
        top(nominal_capacity_kwh=0.1, current_capacity_kwh=0.1201),
        {"current_capacity_kwh"},
        id="current just above 1.2x 0.1",
    ),
    pytest.param(
        top(nominal_capacity_kwh=1000, current_capacity_kwh=1200.001),
        {"current_capacity_kwh"},
        id="current just above 1.2x 1000",
    ),
    pytest.param(
        top(nominal_capacity_kwh=10.0, current_capacity_kwh=500.0),
        {"current_capacity_kwh"},
        id="current far above 1.2x nominal but below 1200",
    ),
    pytest.param(
        top(nominal_capacity_kwh=1.5e-9, current_capacity_kwh=1.9e-9),
        {"current_capacity_kwh"},
        id="current above 1.2x tiny 1.5e-9",
    ),
    pytest.param(top(current_capacity_kwh="54.9"), {"current_capacity_kwh"}, id="current string"),
    pytest.param(top(current_capacity_kwh=True), {"current_capacity_kwh"}, id="current true"),
    pytest.param(top(current_capacity_kwh=None), {"current_capacity_kwh"}, id="current null"),
    pytest.param(drop("current_capacity_kwh"), {"current_capacity_kwh"}, id="current missing"),
]


@pytest.mark.parametrize(("mutate", "fields"), REJECTED)
def test_invalid_value_is_rejected_naming_the_field(api_a, sample_log, assert_error, mutate, fields):
    response = post_mutated(api_a, sample_log, mutate)
    assert_error(response, 400, "invalid", fields)
    assert DiagnosticLog.objects.count() == 0
    assert Vehicle.objects.count() == 0


# --- integer fields may accept 412.0 (and then store 412); a cell id may too ----------------------------------


def test_cycle_count_written_as_412_0_is_stored_as_integer_412(api_a, make_log):
    response = api_a.post(URL, make_log(cycle_count=412.0))
    assert response.status_code == 202, response.content
    stored = api_a.get(f"{URL}/{response.json()['log_id']}").json()
    assert stored["cycle_count"] == 412
    assert isinstance(stored["cycle_count"], int)


def test_cell_id_written_as_float_1_0_is_accepted_as_1_or_rejected_by_path(api_a, sample_log, assert_error):
    response = post_mutated(api_a, sample_log, cell(1, id=1.0))
    if response.status_code == 202:
        stored = api_a.get(f"{URL}/{response.json()['log_id']}").json()
        assert [c["id"] for c in stored["cells"]] == [0, 1, 2, 3]
    else:
        assert_error(response, 400, "invalid", {"cells[1].id"})
        assert DiagnosticLog.objects.count() == 0


# --- a cell with a field other than the three ---------------------------------------------------------------


@pytest.mark.parametrize(
    "extra",
    [
        pytest.param({"soc": 0.8}, id="number field soc"),
        pytest.param({"ID": 2}, id="differently cased id"),
        pytest.param({"note": None}, id="null field"),
        pytest.param({"": 1}, id="empty key"),
    ],
)
def test_cell_with_an_extra_field_is_rejected_naming_that_cell(api_a, sample_log, assert_error, extra):
    response = post_mutated(api_a, sample_log, cell(2, **extra))
    error = assert_error(response, 400, "invalid")
    assert error["fields"], error
    assert all(path == "cells[2]" or path.startswith("cells[2].") for path in error["fields"]), error["fields"]
    assert DiagnosticLog.objects.count() == 0


def test_cell_extra_field_is_named_by_its_path(api_a, sample_log, assert_error):
    response = post_mutated(api_a, sample_log, cell(2, soc=0.8))
    assert_error(response, 400, "invalid", {"cells[2].soc"})


# --- several offending fields are all named at once ----------------------------------------------------------


def test_every_offending_top_level_and_cell_field_is_named_at_once(api_a, sample_log, assert_error):
    mutate = both(
        top(vehicle_id="-bad", timestamp="2025-10-04T10:30:00", cycle_count=412.5, nominal_capacity_kwh=0),
        cell(1, voltage=7.0),
        cell(3, temperature=-50),
    )
    response = post_mutated(api_a, sample_log, mutate)
    assert_error(
        response,
        400,
        "invalid",
        {"vehicle_id", "timestamp", "cycle_count", "nominal_capacity_kwh", "cells[1].voltage", "cells[3].temperature"},
    )
    assert DiagnosticLog.objects.count() == 0


def test_several_errors_in_several_cells_are_all_named(api_a, sample_log, assert_error):
    mutate = both(cell(0, voltage="4.0"), cell(1, temperature=None), cell(2, id="2"), cell_drop(3, "voltage"))
    response = post_mutated(api_a, sample_log, mutate)
    assert_error(
        response, 400, "invalid", {"cells[0].voltage", "cells[1].temperature", "cells[2].id", "cells[3].voltage"}
    )


def test_two_errors_in_one_cell_are_both_named(api_a, sample_log, assert_error):
    response = post_mutated(api_a, sample_log, cell(2, voltage=-1, temperature=200))
    assert_error(response, 400, "invalid", {"cells[2].voltage", "cells[2].temperature"})


def test_all_missing_fields_are_named(api_a, assert_error):
    response = api_a.post(URL, {})
    assert_error(
        response,
        400,
        "invalid",
        {"vehicle_id", "timestamp", "cells", "cycle_count", "nominal_capacity_kwh", "current_capacity_kwh"},
    )


def test_capacity_ratio_violation_is_named_together_with_other_errors(api_a, make_log, assert_error):
    """current > 1.2 x nominal (both individually valid) must be reported alongside another field's error."""
    response = api_a.post(URL, make_log(vehicle_id="", nominal_capacity_kwh=60.0, current_capacity_kwh=100.0))
    assert_error(response, 400, "invalid", {"vehicle_id", "current_capacity_kwh"})
    assert DiagnosticLog.objects.count() == 0


def test_error_on_cell_beyond_index_9_uses_its_full_index(api_a, make_log, assert_error):
    cells = [{"id": i, "voltage": 4.0, "temperature": 30.0} for i in range(12)]
    cells[11]["voltage"] = 9.9
    response = api_a.post(URL, make_log(cells=cells))
    assert_error(response, 400, "invalid", {"cells[11].voltage"})


def test_error_path_uses_array_position_when_cells_are_out_of_order(api_a, make_log, assert_error):
    cells = [
        {"id": 2, "voltage": 4.0, "temperature": 30.0},
        {"id": 0, "voltage": 4.0, "temperature": 30.0},
        {"id": 1, "voltage": 9.0, "temperature": 30.0},
    ]
    response = api_a.post(URL, make_log(cells=cells))
    assert_error(response, 400, "invalid", {"cells[2].voltage"})


# --- unknown top-level fields: ignored and not stored ------------------------------------------------------


def test_unknown_top_level_fields_are_ignored(api_a, make_log):
    response = api_a.post(URL, make_log(driver="Ada", odometer_km=12345, meta={"firmware": "1.2.3"}, cells_v2=[]))
    assert response.status_code == 202, response.content
    assert DiagnosticLog.objects.count() == 1


def test_unknown_top_level_fields_are_not_stored(api_a, make_log):
    response = api_a.post(URL, make_log(driver="Ada", odometer_km=12345, meta={"firmware": "1.2.3"}))
    stored = api_a.get(f"{URL}/{response.json()['log_id']}")
    assert stored.status_code == 200
    body = stored.json()
    assert "driver" not in body
    assert "odometer_km" not in body
    assert "meta" not in body
    assert "Ada" not in stored.content.decode()
    assert "firmware" not in stored.content.decode()


def test_unknown_fields_cannot_override_server_fields(api_a, make_log):
    forged = {
        "log_id": "00000000-0000-0000-0000-000000000000",
        "received_at": "2000-01-01T00:00:00Z",
        "status": "completed",
        "id": 99,
    }
    response = api_a.post(URL, make_log(**forged))
    assert response.status_code == 202, response.content
    log_id = response.json()["log_id"]
    assert log_id != forged["log_id"]
    stored = api_a.get(f"{URL}/{log_id}").json()
    assert stored["log_id"] == log_id
    assert not stored["received_at"].startswith("2000-")
