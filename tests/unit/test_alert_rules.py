"""The alert rules (alerts.rules), pure: severities at their boundaries, the lifecycle, late reports, retries."""

import dataclasses
import itertools
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alerts import rules
from alerts.rules import AlertState, Finding, Observation, evaluate_vehicle

T0 = datetime(2025, 10, 4, 10, 0, tzinfo=UTC)
NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def ids():  # type: ignore[no-untyped-def]
    counter = itertools.count(1)
    return lambda: f"a{next(counter)}"


def obs(minute: int, *findings: Finding, late: bool = False) -> Observation:
    return Observation(log_id=f"log-{minute}", timestamp=T0 + timedelta(minutes=minute), findings=findings, late=late)


HOT = Finding("overheating", 50.0, (3,))
VERY_HOT = Finding("overheating", 61.0, (3, 4))
LOW = Finding("low_soh", 75.0)


def run(observations, unresolved=None, evaluated_until=None, clear_after=3, profile="nmc"):  # type: ignore[no-untyped-def]
    return evaluate_vehicle(
        unresolved=unresolved or {},
        evaluated_until=evaluated_until,
        observations=observations,
        clear_after=clear_after,
        now=NOW,
        new_id=ids(),
        profile=profile,
    )


@pytest.mark.parametrize(
    ("code", "value", "severity"),
    [
        pytest.param("overheating", 60.0, "warning", id="60.0C-is-not-critical"),
        pytest.param("overheating", 60.01, "critical", id="60.01C-is-critical"),
        pytest.param("overheating", 45.01, "warning", id="just-overheating"),
        pytest.param("low_soh", 70.0, "warning", id="70.00pct-is-not-critical"),
        pytest.param("low_soh", 69.99, "critical", id="69.99pct-is-critical"),
        pytest.param("low_soh", 79.99, "warning", id="just-low"),
        pytest.param("no_such_type", 1e9, "warning", id="an-unknown-type-is-warning"),
    ],
)
def test_severity_boundaries(code, value, severity):
    assert rules.severity_for(code, value, "nmc") == severity
    assert rules.severity_for(code, value, "lfp") == severity


@pytest.mark.parametrize(
    ("code", "value", "nmc", "lfp"),
    [
        pytest.param("voltage_imbalance", 90.0, "warning", "warning", id="imbalance-90mV"),
        pytest.param("voltage_imbalance", 90.001, "warning", "critical", id="imbalance-just-over-90mV"),
        pytest.param("voltage_imbalance", 150.0, "warning", "critical", id="imbalance-150mV"),
        pytest.param("voltage_imbalance", 150.001, "critical", "critical", id="imbalance-just-over-150mV"),
        pytest.param("weak_cell", 59.99, "warning", "warning", id="weak-cell-59.99mV"),
        pytest.param("weak_cell", 60.0, "warning", "critical", id="weak-cell-60mV"),
        pytest.param("weak_cell", 100.0, "critical", "critical", id="weak-cell-100mV"),
        pytest.param("soh_jump", -4.99, "warning", "warning", id="drop-4.99"),
        pytest.param("soh_jump", -5.0, "critical", "warning", id="drop-5"),
        pytest.param("soh_jump", -8.0, "critical", "critical", id="drop-8"),
        pytest.param("soh_jump", 12.0, "warning", "warning", id="a-rise-is-a-warning"),
    ],
)
def test_severity_follows_the_vehicles_profile(code, value, nmc, lfp):
    assert (rules.severity_for(code, value, "nmc"), rules.severity_for(code, value, "lfp")) == (nmc, lfp)


def test_an_unknown_profile_takes_the_default_thresholds():
    assert rules.severity_for("overheating", 61.0, "solid-state") == "critical"


def test_every_profile_keeps_the_contracts_floor():
    for limits in rules.SEVERITY_THRESHOLDS.values():
        assert limits.overheating_critical_above_c is not None
        assert limits.overheating_critical_above_c <= 60.0
        assert limits.low_soh_critical_below_pct is not None
        assert limits.low_soh_critical_below_pct >= 70.0


def test_a_finding_opens_an_alert():
    result = run([obs(1, HOT)])
    (alert,) = result.alerts.values()
    assert (alert.id, alert.type, alert.severity, alert.state) == ("a1", "overheating", "warning", "open")
    assert (alert.opened_at, alert.last_seen_at, alert.occurrences) == (T0 + timedelta(minutes=1),) * 2 + (1,)
    assert (alert.last_log_id, alert.cells, alert.sequence, alert.critical_at) == ("log-1", (3,), 1, None)
    assert [(e.event, e.alert.id, e.alert.sequence) for e in result.events] == [("alert.opened", "a1", 1)]
    assert result.evaluated_until == T0 + timedelta(minutes=1)


def test_a_clean_report_opens_nothing_but_moves_the_watermark():
    result = run([obs(1)])
    assert (dict(result.alerts), result.events, result.evaluated_until) == ({}, (), T0 + timedelta(minutes=1))


def test_repeated_findings_update_the_one_alert_and_fold_into_one_event():
    result = run([obs(1, HOT), obs(2, HOT), obs(3, Finding("overheating", 52.0, (5,)))])
    (alert,) = result.alerts.values()
    assert (alert.occurrences, alert.last_log_id, alert.cells, alert.opened_at) == (
        3,
        "log-3",
        (5,),
        T0 + timedelta(minutes=1),
    )
    # one event: opened, showing the alert after its third occurrence
    assert [(e.event, e.alert.occurrences, e.alert.sequence) for e in result.events] == [("alert.opened", 3, 1)]


def existing(**changes):  # type: ignore[no-untyped-def]
    base = AlertState(
        id="old",
        type="overheating",
        severity="warning",
        state="acknowledged",
        opened_at=T0,
        last_seen_at=T0,
        occurrences=4,
        last_log_id="log-0",
        cells=(3,),
        sequence=2,
    )
    return dataclasses.replace(base, **changes)


def test_a_finding_updates_an_unresolved_alert_in_any_state():
    result = run([obs(1, VERY_HOT)], unresolved={"overheating": existing()}, evaluated_until=T0)
    alert = result.alerts["old"]
    assert (alert.state, alert.occurrences, alert.last_log_id, alert.sequence) == ("acknowledged", 5, "log-1", 3)
    assert (alert.severity, alert.cells) == ("critical", (3, 4))
    assert [e.event for e in result.events] == ["alert.updated"]


def test_severity_rises_with_the_evidence_and_never_falls_by_itself():
    result = run([obs(1, HOT), obs(2, VERY_HOT), obs(3, HOT)])
    (alert,) = result.alerts.values()
    assert alert.severity == "critical"
    assert alert.critical_at == NOW
    later = run([obs(4, HOT)], unresolved={"overheating": alert}, evaluated_until=T0 + timedelta(minutes=3))
    assert later.alerts[alert.id].severity == "critical"
    assert later.alerts[alert.id].critical_at == NOW  # the first time it became critical


def test_it_resolves_after_clear_after_consecutive_newer_clean_reports_not_before():
    two = run([obs(1, HOT), obs(2), obs(3)])
    (alert,) = two.alerts.values()
    assert (alert.state, alert.clean_streak) == ("open", 2)
    assert [e.event for e in two.events] == ["alert.opened"]
    three = run([obs(1, HOT), obs(2), obs(3), obs(4)])
    (alert,) = three.alerts.values()
    assert (alert.state, alert.resolution, alert.resolved_at) == ("resolved", "auto", NOW)
    assert [(e.event, e.alert.sequence) for e in three.events] == [("alert.opened", 1), ("alert.resolved", 2)]


def test_a_finding_between_clean_reports_starts_the_count_again():
    result = run([obs(1, HOT), obs(2), obs(3), obs(4, HOT), obs(5), obs(6)])
    (alert,) = result.alerts.values()
    assert (alert.state, alert.clean_streak, alert.occurrences) == ("open", 2, 2)


def test_the_clean_count_carries_over_between_batches():
    first = run([obs(1, HOT), obs(2), obs(3)])
    (alert,) = first.alerts.values()
    second = run([obs(4)], unresolved={"overheating": alert}, evaluated_until=first.evaluated_until)
    assert second.alerts[alert.id].state == "resolved"


@pytest.mark.parametrize("clear_after", [1, 5])
def test_clear_after_is_a_parameter(clear_after):
    result = run([obs(1, HOT), *[obs(m) for m in range(2, 2 + clear_after)]], clear_after=clear_after)
    assert next(iter(result.alerts.values())).state == "resolved"
    result = run([obs(1, HOT), *[obs(m) for m in range(2, 1 + clear_after)]], clear_after=clear_after)
    assert next(iter(result.alerts.values())).state == "open"


def test_after_resolution_a_new_finding_opens_a_new_alert():
    result = run([obs(1, HOT), obs(2), obs(3), obs(4), obs(5, HOT)])
    states = sorted((a.id, a.state) for a in result.alerts.values())
    assert states == [("a1", "resolved"), ("a2", "open")]


def test_each_type_is_followed_on_its_own():
    result = run([obs(1, HOT, LOW), obs(2, LOW), obs(3, LOW), obs(4, LOW)])
    by_type = {a.type: a for a in result.alerts.values()}
    assert by_type["overheating"].state == "resolved"
    assert (by_type["low_soh"].state, by_type["low_soh"].occurrences) == ("open", 4)


def test_reports_are_taken_in_timestamp_order_whatever_order_they_come_in():
    result = run([obs(4), obs(1, HOT), obs(3), obs(2)])
    (alert,) = result.alerts.values()
    assert (alert.state, alert.occurrences) == ("resolved", 1)


@pytest.mark.parametrize(
    "late",
    [
        pytest.param(obs(0, HOT, late=False), id="older-than-the-watermark"),
        pytest.param(obs(10, HOT, late=True), id="marked-late-by-receipt-order"),
        pytest.param(obs(5, HOT), id="at-the-watermark"),
    ],
)
def test_a_late_report_neither_opens_updates_nor_clears(late):
    watermark = T0 + timedelta(minutes=5)
    assert run([late], evaluated_until=watermark).events == ()
    alert = existing(state="open", clean_streak=2)
    result = run([late], unresolved={"overheating": alert}, evaluated_until=watermark)
    assert (dict(result.alerts), result.events) == ({}, ())
    clean = Observation(log_id="x", timestamp=late.timestamp, findings=(), late=late.late)
    result = run([clean], unresolved={"overheating": alert}, evaluated_until=watermark)
    assert (dict(result.alerts), result.events) == ({}, ())
    assert result.evaluated_until == watermark


def test_unknown_finding_codes_are_ignored():
    assert run([obs(1, Finding("mystery", 1.0))]).events == ()


def test_clear_after_must_be_positive():
    with pytest.raises(ValueError):
        run([obs(1)], clear_after=0)


def test_retry_schedule_has_at_least_six_attempts_over_at_least_an_hour():
    waits = [rules.delivery_retry_delay(n) for n in range(1, 20)]
    schedule = list(itertools.takewhile(lambda wait: wait is not None, waits))
    attempts = len(schedule) + 1
    assert attempts >= 6
    assert sum(schedule[:5], timedelta()) >= timedelta(hours=1)  # the 6th attempt comes after an hour
    assert all(later >= earlier for earlier, later in itertools.pairwise(schedule))  # exponential-ish: never shorter
    assert rules.delivery_retry_delay(1) == timedelta(seconds=30)
    assert rules.delivery_retry_delay(attempts) is None
    assert sum(schedule, timedelta()) < rules.WEBHOOK_DISABLE_AFTER


def test_only_a_material_change_is_announced_as_an_update():
    alert = existing(state="open", cells=(3,))
    same = run([obs(1, HOT)], unresolved={"overheating": alert}, evaluated_until=T0)
    assert same.events == ()
    assert (same.alerts["old"].occurrences, same.alerts["old"].sequence) == (5, 2)  # stored, not announced
    other_cells = run(
        [obs(1, Finding("overheating", 50.0, (4,)))], unresolved={"overheating": alert}, evaluated_until=T0
    )
    assert [(e.event, e.alert.cells, e.alert.sequence) for e in other_cells.events] == [("alert.updated", (4,), 3)]
    hotter = run([obs(1, HOT), obs(2, VERY_HOT)], unresolved={"overheating": alert}, evaluated_until=T0)
    assert [(e.event, e.alert.severity, e.alert.occurrences) for e in hotter.events] == [
        ("alert.updated", "critical", 6)
    ]


# --------------------------------------------------------------------------- the analytics findings


def cells_log(minute: int, voltages: list[float], temperatures: list[float] | None = None):  # type: ignore[no-untyped-def]
    from analytics.domain.cells import CellsSnapshot

    return CellsSnapshot(T0 + timedelta(minutes=minute), tuple(voltages), tuple(temperatures or [30.0] * len(voltages)))


@pytest.mark.parametrize(
    ("low_mv", "profile", "found"),
    [
        pytest.param(39.99, "nmc", False, id="nmc-39.99mV"),
        pytest.param(40.0, "nmc", True, id="nmc-40mV"),
        pytest.param(24.99, "lfp", False, id="lfp-24.99mV"),
        pytest.param(25.0, "lfp", True, id="lfp-25mV"),
    ],
)
def test_the_weak_cell_gate_takes_the_section_6_alert_deviation_of_the_profile(low_mv, profile, found):
    voltages = [3.3, 3.3 - low_mv / 1000, 3.3, 3.3, 3.3]
    finding = rules.weak_cell_in_log(voltages, [30.0] * 5, profile)
    assert (finding is not None) == found
    if finding is not None:
        assert (finding.code, finding.cells, finding.value) == ("weak_cell", (1,), pytest.approx(low_mv, abs=0.01))


def test_the_weak_cell_gate_takes_a_hot_cell_too():
    assert rules.weak_cell_in_log([4.0] * 4, [30.0, 30.0, 38.0, 30.0]).cells == (2,)  # 8 °C above the pack
    assert rules.weak_cell_in_log([4.0] * 4, [30.0, 30.0, 37.99, 30.0]) is None


def _weak_cells_by_every_cell(voltages: list[float], temperatures: list[float], profile: str) -> Finding | None:
    """The gate's definition, cell by cell (what weak_cell_in_log's shortcuts must agree with)."""
    limits = rules._profile_of(profile)
    v_median, t_median = rules._median(voltages), rules._median(temperatures)
    cells, worst = [], 0.0
    for index, voltage in enumerate(voltages):
        deviation = round((voltage - v_median) * 1000.0, 2)
        excess = round(temperatures[index] - t_median, 2)
        if abs(deviation) >= limits.cell_alert_deviation_mv or excess >= limits.cell_alert_temperature_excess_c:
            cells.append(index)
            worst = max(worst, abs(deviation))
    return Finding("weak_cell", worst, tuple(cells)) if cells else None


@settings(max_examples=300, deadline=None)
@given(
    pack=st.integers(min_value=1, max_value=40).flatmap(
        lambda n: st.tuples(
            st.lists(st.floats(min_value=3.2, max_value=3.4), min_size=n, max_size=n),
            st.lists(st.floats(min_value=20.0, max_value=45.0), min_size=n, max_size=n),
        )
    ),
    profile=st.sampled_from(["nmc", "lfp"]),
)
def test_the_weak_cell_gate_shortcuts_agree_with_the_cell_by_cell_definition(pack, profile):
    voltages, temperatures = pack
    assert rules.weak_cell_in_log(voltages, temperatures, profile) == _weak_cells_by_every_cell(
        voltages, temperatures, profile
    )


def test_a_weak_cell_needs_the_window_to_confirm_it():
    weak = [4.0, 3.95, 4.0, 4.0]
    healthy = [4.0, 4.0, 4.0, 4.0]
    assert rules.weak_cell_finding([cells_log(m, weak) for m in range(4)]) is None  # 4 logs: too few
    finding = rules.weak_cell_finding([cells_log(m, weak if m % 2 == 0 else healthy) for m in range(5)])
    assert (finding.code, finding.cells, finding.value) == ("weak_cell", (1,), 50.0)  # 3 of 5: the median
    assert rules.weak_cell_finding([cells_log(m, weak if m % 2 else healthy) for m in range(5)]) is None  # 2 of 5


def jump_series(step_at: int, delta: float, n: int = 40, noise: float = 0.0):  # type: ignore[no-untyped-def]
    import random

    rng = random.Random(7)
    start = T0.timestamp()
    return [
        (start + 1800 * i, 90.0 - 0.001 * i + (delta if i >= step_at else 0.0) + rng.gauss(0, noise)) for i in range(n)
    ]


def test_a_soh_drop_is_a_jump_finding_critical_by_profile():
    finding = rules.soh_jump_finding(jump_series(25, -6.0, noise=0.2))
    assert finding is not None
    assert finding.code == "soh_jump"
    assert finding.value == pytest.approx(-6.0, abs=0.5)
    assert rules.severity_for("soh_jump", finding.value, "nmc") == "critical"
    assert rules.severity_for("soh_jump", finding.value, "lfp") == "warning"


def test_no_jump_without_a_step_or_with_too_few_points():
    assert rules.soh_jump_finding(jump_series(25, 0.0, noise=0.2)) is None
    assert rules.soh_jump_finding(jump_series(25, 0.6, noise=0.05)) is None  # under JUMP_MIN_PCT
    assert rules.soh_jump_finding(jump_series(10, -6.0, n=15)) is None  # 15 points: too few
    assert rules.soh_jump_finding(jump_series(36, -6.0)) is None  # 4 points after it: not yet detectable
    assert rules.soh_jump_finding(jump_series(32, -6.0)) is not None  # 8 points after it


def test_a_report_not_assessed_for_a_type_neither_updates_nor_clears_it():
    weak = Finding("weak_cell", 50.0, (1,))
    every = (*rules.REPORT_TYPES, "weak_cell", "soh_jump")
    first = run([Observation("log-1", T0, (weak,), assessed=every)])
    (alert,) = first.alerts.values()
    unassessed = [Observation(f"log-{m}", T0 + timedelta(minutes=m), ()) for m in range(2, 8)]
    later = run(unassessed, unresolved={"weak_cell": alert}, evaluated_until=T0)
    assert later.alerts == {}
    assert later.events == ()
    cleared = run(
        [Observation(f"log-{m}", T0 + timedelta(minutes=m), (), assessed=every) for m in range(2, 5)],
        unresolved={"weak_cell": alert},
        evaluated_until=T0,
    )
    assert [e.event for e in cleared.events] == ["alert.resolved"]
