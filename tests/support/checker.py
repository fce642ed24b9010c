"""The checker: what the clients were told (the ledger) against what the database holds.

It reads PostgreSQL with psycopg2 directly (no Django ORM, no pytest-django), waits up to a recovery
bound for every log to reach a terminal state, then checks the pass rule of every run (fault, soak):

- every log that got a 2xx exists, under the log_id the client was given, and ends `completed` with
  exactly one report; so does every other stored log. A `failed` log fails the run, unless the scenario
  injects a poison log (allow_failed=True: then it must carry a reason and no report);
- each log was claimed at most `max_attempts` times (1, unless the scenario kills a worker mid-task);
- at most one log per (vehicle, timestamp), and a key's retries all named the same log_id;
- no 5xx but 503, and every 503 carries Retry-After in the contract's error shape;
- no client gave up, and no unexpected 4xx;
- each report is the one the rules compute from its log.

Counts come from the database (statuses, attempts, reports), never from process logs.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any

import psycopg2

from tests.support.ledger import Ledger
from tests.support.waiting import wait_until

LOG_TABLE = "diagnostics_diagnosticlog"
VEHICLE_TABLE = "diagnostics_vehicle"
REPORT_TABLE = "reports_batteryreport"
TERMINAL = ("completed", "failed")


@dataclass
class LogRow:
    log_id: str
    vehicle_id: str
    timestamp: str
    status: str
    error: str
    attempts: int
    reports: int


@dataclass
class Card:
    """The short report card of one fault test."""

    name: str
    figures: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def add(self, **figures: Any) -> None:
        self.figures.update(figures)

    def problem(self, text: str) -> None:
        self.problems.append(text)

    def format(self, verdict: str | None = None) -> str:
        """The card; its verdict line is `verdict` when given (the fault tests pass their pytest outcome), else
        PASS or FAIL by the problems recorded (the soak, which is no test)."""
        lines = [f"--- report card: {self.name}"]
        lines += [f"    {key}: {value}" for key, value in self.figures.items()]
        distinct = Counter(self.problems)
        for problem, count in list(distinct.items())[:30]:
            lines.append(f"    PROBLEM: {problem}" + (f" (x{count})" if count > 1 else ""))
        if len(distinct) > 30:
            lines.append(f"    ... {len(distinct) - 30} more distinct problems")
        lines.append(f"    verdict: {verdict or ('PASS' if not self.problems else 'FAIL')}")
        return "\n".join(lines)


def outcome_verdict(setup: Any, call: Any) -> str:
    """A fault test's verdict from its pytest reports (pytest.TestReport of its setup and call phases, None
    when a phase did not run): PASS only if the body passed, so an error before its checks is never PASS."""
    if setup is not None and setup.failed:
        return f"ERROR in setup ({_crash_line(setup)})"
    if call is None:
        return "ERROR (the test body did not run)"
    if call.passed:
        return "PASS"
    if call.skipped:
        return f"SKIPPED ({_crash_line(call)})"
    return f"FAIL ({_crash_line(call)})"


def _crash_line(report: Any) -> str:
    crash = getattr(report.longrepr, "reprcrash", None)
    message = crash.message if crash is not None else str(report.longrepr)
    return (message.strip().splitlines() or ["?"])[0][:200]


def _ts(value: Any) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Checker:
    def __init__(self, db_url: str) -> None:
        self.db_url = db_url

    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        conn = psycopg2.connect(self.db_url, connect_timeout=3)
        try:
            with conn.cursor() as cursor:
                cursor.execute(sql, params)
                return cursor.fetchall()
        finally:
            conn.close()

    def rows(self) -> dict[str, LogRow]:
        result = self._query(
            f"SELECT l.id::text, v.vehicle_id, l.timestamp, l.status, l.error, l.attempts, "
            f"(SELECT count(*) FROM {REPORT_TABLE} r WHERE r.log_id = l.id) "
            f"FROM {LOG_TABLE} l JOIN {VEHICLE_TABLE} v ON v.id = l.vehicle_id"
        )
        return {row[0]: LogRow(row[0], row[1], _ts(row[2]), row[3], row[4], row[5], row[6]) for row in result}

    def status_counts(self) -> Counter[str]:
        try:
            return Counter(dict(self._query(f"SELECT status, count(*) FROM {LOG_TABLE} GROUP BY status")))
        except psycopg2.Error:
            return Counter()

    def unsettled(self) -> list[LogRow] | None:
        """Stored logs not yet completed/failed, or None while the database does not answer."""
        try:
            return [row for row in self.rows().values() if row.status not in TERMINAL]
        except psycopg2.Error:
            return None

    def wait_settled(self, bound_s: float, since: float) -> float | None:
        """Wait until no stored log is pending/processing; the seconds from `since`, or None after the bound."""
        try:
            wait_until(lambda: self.unsettled() == [], max(0.0, since + bound_s - time.monotonic()), 0.1, "settled")
        except TimeoutError:
            return None
        return time.monotonic() - since

    def attempts_histogram(self) -> dict[int, int]:
        return dict(sorted(self._query(f"SELECT attempts, count(*) FROM {LOG_TABLE} GROUP BY attempts")))

    def report_count(self) -> int:
        return int(self._query(f"SELECT count(*) FROM {REPORT_TABLE}")[0][0])

    def report_times(self) -> dict[str, float]:
        """generated_at of every report, in epoch seconds, by log id."""
        rows = self._query(f"SELECT log_id::text, extract(epoch FROM generated_at)::float8 FROM {REPORT_TABLE}")
        return {log_id: float(at) for log_id, at in rows}

    def last_report_at(self) -> float | None:
        """epoch seconds of the newest report, or None without reports."""
        row = self._query(f"SELECT extract(epoch FROM max(generated_at))::float8 FROM {REPORT_TABLE}")[0][0]
        return None if row is None else float(row)

    def duplicates(self) -> list[tuple[Any, ...]]:
        return self._query(
            f"SELECT vehicle_id, timestamp, count(*) FROM {LOG_TABLE} "
            "GROUP BY vehicle_id, timestamp HAVING count(*) > 1"
        )

    def report_mismatches(self) -> list[str]:
        """Completed logs whose stored report differs from the rules' report of the stored log."""
        from reports.health import BatterySnapshot, evaluate

        result = self._query(
            f"SELECT l.id::text, l.cells, l.cycle_count, l.nominal_capacity_kwh, l.current_capacity_kwh, "
            f"r.battery_soh, r.anomalies, r.anomaly_details, r.diagnostics "
            f"FROM {LOG_TABLE} l JOIN {REPORT_TABLE} r ON r.log_id = l.id"
        )
        bad = []
        for log_id, cells, cycles, nominal, current, soh, anomalies, details, diagnostics in result:
            snapshot = {
                "cells": cells if not isinstance(cells, str) else json.loads(cells),
                "cycle_count": cycles,
                "nominal_capacity_kwh": nominal,
                "current_capacity_kwh": current,
            }
            expected = evaluate(BatterySnapshot.from_mapping(snapshot)).as_dict()
            stored = {
                "battery_soh": soh,
                "anomalies": anomalies,
                "anomaly_details": details,
                "diagnostics": diagnostics,
            }
            if any(stored[key] != expected[key] for key in stored):
                bad.append(log_id)
        return bad


def verify(
    card: Card,
    ledger: Ledger,
    checker: Checker,
    *,
    recovery_since: float,
    recovery_bound_s: float,
    max_attempts: int = 1,
    allow_failed: bool = False,
) -> dict[str, LogRow]:
    """Wait for recovery, then check the pass rule; every finding goes on the card. Returns the DB rows."""
    records = ledger.snapshot()
    attempts = [attempt for record in records for attempt in record.attempts]
    statuses = Counter(attempt.status for attempt in attempts if attempt.status is not None)
    conn_errors = Counter(attempt.error for attempt in attempts if attempt.status is None)
    accepted = [record for record in records if record.accepted]
    card.add(
        logs_posted=len(records),
        post_attempts=len(attempts),
        logs_2xx=len(accepted),
        status_counts=dict(sorted(statuses.items())),
        connection_errors=dict(conn_errors),
    )

    # recovery_s runs from the end of the fault (`recovery_since`) until no stored log is pending or
    # processing; the tests stop their load first, so it is an upper bound on the real recovery time.
    recovery = checker.wait_settled(recovery_bound_s, recovery_since)
    card.add(
        recovery_s=round(recovery, 2) if recovery is not None else f"> {recovery_bound_s:.1f}",
        recovery_bound_s=round(recovery_bound_s, 1),
    )
    if recovery is None:
        left = checker.unsettled() or []
        card.problem(
            f"{len(left)} log(s) still pending/processing {recovery_bound_s:.1f} s after the fault ended, e.g. "
            + ", ".join(f"{row.log_id} ({row.status}, attempts {row.attempts})" for row in left[:5])
        )

    rows = checker.rows()
    db_status = Counter(row.status for row in rows.values())
    attempts_seen = Counter(row.attempts for row in rows.values())
    card.add(
        db_logs=len(rows),
        db_status=dict(sorted(db_status.items())),
        db_reports=sum(row.reports for row in rows.values()),
        attempts_per_log=dict(sorted(attempts_seen.items())),
    )
    over = [row for row in rows.values() if row.attempts > max_attempts]
    if over:
        card.problem(
            f"{len(over)} log(s) claimed more than {max_attempts} time(s), e.g. "
            + ", ".join(f"{row.log_id} (attempts {row.attempts})" for row in over[:5])
        )

    # Every 2xx log exists, under the id the client got, with exactly one report or a failure reason.
    by_key = {(row.vehicle_id, row.timestamp): row for row in rows.values()}
    for record in accepted:
        row = rows.get(record.log_id or "")
        if row is None:
            card.problem(f"{record.key} got 2xx with log_id {record.log_id}, which is not in the database")
            continue
        if (row.vehicle_id, row.timestamp) != record.key:
            card.problem(f"log_id {record.log_id} names {row.vehicle_id}@{row.timestamp}, client posted {record.key}")
        if len(record.log_ids) > 1:
            card.problem(f"{record.key} was given several log_ids: {sorted(record.log_ids)}")
    # Every stored log, 2xx or not (a commit whose answer was lost), is terminal and consistent.
    for row in rows.values():
        if row.status == "completed" and row.reports != 1:
            card.problem(f"log {row.log_id} completed with {row.reports} reports")
        elif row.status == "failed":
            if not allow_failed:
                card.problem(f"log {row.log_id} failed ({row.error[:80]}); no poison log was injected")
            if not row.error.strip():
                card.problem(f"log {row.log_id} failed without a reason")
            if row.reports:
                card.problem(f"log {row.log_id} failed but has {row.reports} report(s)")
    failed = [row for row in rows.values() if row.status == "failed"]
    if failed:
        card.add(failed_reasons=dict(Counter(row.error[:80] for row in failed)))
    # Logs the ledger never saw would be someone else's: the database is private to the test.
    ledger_keys = {record.key for record in records}
    strangers = [row for key, row in by_key.items() if key not in ledger_keys]
    if strangers:
        card.add(logs_not_posted_by_ledger=len(strangers))

    for vehicle_pk, timestamp, count in checker.duplicates():
        card.problem(f"{count} logs for vehicle pk {vehicle_pk} at {timestamp}")
    mismatches = checker.report_mismatches()
    if mismatches:
        card.problem(f"{len(mismatches)} report(s) differ from the rules, e.g. {mismatches[:3]}")

    # What the clients were told.
    for attempt in attempts:
        status = attempt.status
        if status is None:
            continue
        if status >= 500 and status != 503:
            card.problem(f"HTTP {status} (only the documented 503 is allowed): {attempt.note or attempt.code}")
        if status == 503 and not (attempt.retry_after and attempt.retry_after.isdigit()):
            card.problem(f"503 without a usable Retry-After ({attempt.retry_after!r})")
        if status >= 400 and not attempt.shape_ok:
            card.problem(f"HTTP {status} body is not in the contract's error shape: {attempt.note}")
        if 200 <= status < 300 and not attempt.shape_ok:
            card.problem(f"HTTP {status} body/Location not in the contract's shape")
        if 400 <= status < 500 and status != 429:
            card.problem(f"unexpected HTTP {status} ({attempt.code}) for a valid log")
    gave_up = [record for record in records if record.gave_up or not record.done]
    if gave_up:
        card.problem(f"{len(gave_up)} log(s) never got a 2xx, e.g. {[r.key for r in gave_up[:3]]}")
    return rows
