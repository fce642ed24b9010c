"""Fault injection on the whole stack: every test runs a fleet of vehicles against granian + Celery +
a sweeper on a private PostgreSQL and a private broker (tests.support.stack), breaks something, checks
that the fault really happened, repairs it, and checks the pass rule (tests.support.checker.verify):

every log that got a 2xx ends `completed` with exactly one report (no scenario here injects a poison
log, so a `failed` log fails the run), `attempts == 1` for every log unless the scenario kills a worker
or cuts the database under a running task, no 5xx but the documented 503 (with Retry-After, in the
contract's error shape), and everything settles within the scenario's recovery bound after the fault is cleared
(tests.support.bounds: one named bound per scenario, summed from documented settings, each with its why).
A worker that exits by itself during a test fails it (the stack restarts it, as a deployment would, so the
rest of the run still says what it can).

The worker scenarios run on Redis and on RabbitMQ (the ``broker`` parameter); the others on Redis only.
Each test prints a report card: posts, 2xx, 503s, connection errors, latencies, recovery time.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from reports.tasks import MAX_ATTEMPTS
from simulator.generator import fleet_logs, format_timestamp
from tests.support.bounds import (
    ALERT_PHASE_S,
    BASELINE_S,
    BROKER_DOWN_UNDER_LOAD_S,
    BROKER_RETURN_REPORTED_S,
    CHILD_KILLED_S,
    CRASH_BEFORE_PUBLISH_S,
    FLUSHED_QUEUED_S,
    FLUSHED_RUNNING_S,
    MID_BATCH_KILLED_S,
    POSTGRES_RESTART_S,
    WEB_KILLED_BEFORE_PUBLISH_S,
    WORKER_CRASH_RECOVERY_S,
    WORKER_KILLED_S,
    WORKER_RECONNECT_S,
)
from tests.support.checker import Card, verify
from tests.support.infra import REPO_ROOT, manage, pid_alive
from tests.support.ledger import Ledger, Prober
from tests.support.receiver import WebhookReceiver
from tests.support.stack import API_FLEET, Stack, StackSettings
from tests.support.waiting import wait_until

pytestmark = pytest.mark.faults

CONCURRENCY = StackSettings.worker_concurrency  # worker processes
LOST_MARK = "Task handler raised error: WorkerLostError"


def fleet(prefix: str, vehicles: int = 12, logs_per_vehicle: int = 400, seed: int = 11):  # type: ignore[no-untyped-def]
    """Unique (vehicle, timestamp) logs, lazily; minutes apart so that every timestamp is in the past."""
    return fleet_logs(
        vehicles=vehicles, logs_per_vehicle=logs_per_vehicle, seed=seed, prefix=prefix, interval=timedelta(minutes=5)
    )


def finish(stack: Stack, card: Card, ledger: Ledger) -> None:
    """Checks common to every test, then fail on any problem on the card."""
    assert stack.sweeper is not None
    card.add(broker=stack.broker, sweeper_requeued=stack.sweeper_requeued())
    if stack.worker_exits:
        # The stack restarted it (as compose would), but no fault here should make a worker give up.
        card.problem(f"the Celery worker exited by itself (and was restarted): {stack.worker_exits}")
    if stack.sweeper.poll() is not None:
        card.problem(f"the sweeper (manage.py sweep_reports --loop) died with exit code {stack.sweeper.returncode}")
    for problem in reports_over_http(stack, ledger):
        card.problem(problem)
    assert not card.problems, card.format()


def reports_over_http(stack: Stack, ledger: Ledger, sample: int = 40) -> list[str]:
    """What a fleet tool sees afterwards: GET /api/v1/reports/<log_id> is the completed report."""
    problems = []
    accepted = ledger.accepted()
    step = max(1, len(accepted) // sample)
    with httpx.Client(base_url=stack.url, headers={"Authorization": f"Bearer {stack.token()}"}, timeout=10) as client:
        for record in accepted[::step]:
            response = client.get(f"/api/v1/reports/{record.log_id}")
            body = response.json() if response.headers.get("content-type", "").startswith("application/json") else {}
            if response.status_code != 200 or body.get("log_id") != record.log_id:
                problems.append(f"GET report {record.log_id}: {response.status_code} {response.text[:120]}")
            elif body.get("status") != "completed":
                problems.append(f"GET report {record.log_id}: {body}")
            elif (body.get("vehicle_id"), body.get("timestamp")) != record.key:
                problems.append(f"GET report {record.log_id} names {body.get('vehicle_id')}@{body.get('timestamp')}")
    return problems


def new_blocked(stack: Stack, seen: set[int], want: int, timeout: float = 30.0) -> set[int]:
    """Wait until `want` task sessions not seen before are blocked on the held report table."""
    found: set[int] = set()

    def ready() -> bool:
        nonlocal found
        found = stack.blocked_pids() - seen
        return len(found) >= want

    wait_until(ready, timeout, 0.05, f"{want} task(s) blocked mid-flight")
    return found


def stored(stack: Stack) -> int:
    return sum(stack.checker.status_counts().values())


def completed(stack: Stack) -> int:
    return stack.checker.status_counts().get("completed", 0)


def pending(stack: Stack) -> int:
    return stack.checker.status_counts().get("pending", 0)


def processing(stack: Stack) -> int:
    return stack.checker.status_counts().get("processing", 0)


# --------------------------------------------------------------------------- control


def test_baseline_without_faults(stack: Stack, card: Card) -> None:
    """The harness itself: the same load and checks with nothing broken (each log claimed once)."""
    ledger = stack.ledger(fleet("EV-BASE"))
    ledger.burst(30, threads=3)
    verify(card, ledger, stack.checker, recovery_since=time.monotonic(), recovery_bound_s=BASELINE_S)
    card.add(**ledger.summary())
    if stack.sweeper_requeued():
        card.problem(f"the sweeper re-enqueued {stack.sweeper_requeued()} log(s) with nothing broken")
    finish(stack, card, ledger)


# --------------------------------------------------------------------------- 1. a worker child dies mid-task


def test_kill_worker_child_mid_task(stack: Stack, card: Card) -> None:
    """kill -9 the pool processes while they run a task (repeatedly); the parent requeues, nothing is lost.
    A log whose task was killed is claimed again, so attempts may exceed 1 (never past MAX_ATTEMPTS:
    no log may end as a poison log)."""
    ledger = stack.ledger(fleet("EV-CHILD"))
    ledger.burst(6, threads=2)  # warm: every child has run a task
    seen: set[int] = set()
    kills = 0
    held_since = time.monotonic()
    with stack.reports_held():
        ledger.start(threads=2, pause_s=0.05)
        for _ in range(3):
            # Tasks are fast; holding the report table makes each child block inside its task
            # (attempt counted, log 'processing', report INSERT waiting) so the kill lands mid-task.
            seen |= new_blocked(stack, seen, want=CONCURRENCY)
            for pid in stack.worker_children():
                os.kill(pid, signal.SIGKILL)
                kills += 1
        ledger.stop()
        held_for = time.monotonic() - held_since

    # Then kill children at random while a burst runs, with nothing held: one kill per 10 new logs stored.
    ledger.start(threads=3, pause_s=0.02)
    for _ in range(8):
        before = stored(stack)
        wait_until(lambda before=before: stored(stack) >= before + 10, 30, 0.05, "10 more logs stored")
        children = stack.worker_children()
        if children:
            os.kill(children[0], signal.SIGKILL)
            kills += 1
    last_kill = time.monotonic()
    ledger.stop()

    rows = verify(
        card,
        ledger,
        stack.checker,
        recovery_since=last_kill,
        recovery_bound_s=CHILD_KILLED_S,
        max_attempts=MAX_ATTEMPTS,
    )
    lost = stack.worker_log().count(LOST_MARK)
    card.add(
        kills=kills,
        tasks_lost_mid_flight=lost,
        logs_run_more_than_once=sum(1 for row in rows.values() if row.attempts >= 2),
        held_report_table_s=round(held_for, 1),
        **ledger.summary(),
    )
    if lost < 3 * CONCURRENCY:
        card.problem(f"only {lost} task(s) lost mid-flight in the worker log; the kills missed the tasks")
    if stack.worker is None or stack.worker.poll() is not None:
        card.problem("the worker's main process died with its children")
    finish(stack, card, ledger)


# --------------------------------------------------------------------------- 2. the whole worker dies


def test_kill_whole_worker_with_logs_in_flight(stack: Stack, card: Card) -> None:
    """kill -9 the worker's main process and its children with tasks running and queued; a new worker
    finishes the work. The logs the dead worker had claimed are claimed once more (attempts 2)."""
    ledger = stack.ledger(fleet("EV-WHOLE"))
    ledger.burst(6, threads=2)
    with stack.reports_held():
        ledger.start(threads=3, pause_s=0.05)
        new_blocked(stack, set(), want=CONCURRENCY)
        # More logs queue up behind the blocked tasks.
        wait_until(lambda: stack.checker.status_counts().get("pending", 0) >= 5, 30, 0.05, "5 logs pending")
        in_flight = stack.checker.status_counts()
        killed = stack.kill_worker()
        killed_at = time.monotonic()
    # Logs keep arriving with no worker at all.
    at_kill = stored(stack)
    wait_until(lambda: stored(stack) >= at_kill + 5, 30, 0.05, "5 logs stored with no worker")
    stack.start_worker()
    restarted = stack.worker_started_at[-1]
    done_at_restart = completed(stack)
    wait_until(lambda: completed(stack) > done_at_restart, WORKER_KILLED_S, 0.1, "a report by the new worker")
    ledger.stop()

    rows = verify(
        card, ledger, stack.checker, recovery_since=restarted, recovery_bound_s=WORKER_KILLED_S, max_attempts=2
    )
    alive = [pid for pid in killed if pid_alive(pid)]
    card.add(
        killed_pids=len(killed),
        db_status_at_kill=dict(in_flight),
        no_worker_s=round(restarted - killed_at, 1),
        logs_run_more_than_once=sum(1 for row in rows.values() if row.attempts >= 2),
        **ledger.summary(),
    )
    if alive:
        card.problem(f"killed worker processes still alive: {alive}")
    if in_flight.get("processing", 0) < CONCURRENCY:
        card.problem(f"expected >= {CONCURRENCY} logs processing at the kill, saw {dict(in_flight)}")
    finish(stack, card, ledger)


# --------------------------------------------------------------------------- 2b. a worker dies mid-batch


BATCH_KILL_POSTS = 1500
BATCH_BACKLOG = 150  # pending logs when the workers are let go: the next tasks claim up to 100 each
BATCH_IN_FLIGHT = 50  # logs claimed by the tasks the kill lands in, at least


# The sweeper releases abandoned claims at every sweep, whatever its threshold (reports.dispatch
# .stale_logs_requeue): a 300 s threshold alone would not keep it out. It sweeps once as it starts, then
# every 300 s, so during this test it cannot be what recovers the logs.
@pytest.mark.stack_settings(sweeper_stale_after_s=300.0, sweep_loop_s=300.0)
def test_kill_whole_worker_mid_batch_recovers_without_the_sweeper(stack: Stack, card: Card) -> None:
    """1,500 POSTs; kill -9 of the whole worker while both its pool processes are inside batches (at
    least 50 logs claimed, their reports not yet written), a new worker started right after. With the
    sweeper's threshold and loop at 300 s the sweeper cannot be what recovers them: every log completes with one
    report, the last report of the logs unfinished at the kill within WORKER_CRASH_RECOVERY_S (15 s) of
    the new worker's start, and the sweeper re-enqueued nothing. Prints the measured recovery time."""
    ledger = stack.ledger(fleet("EV-BATCH", vehicles=15, logs_per_vehicle=BATCH_KILL_POSTS // 15))
    ledger.start(threads=4, pause_s=0.0)
    wait_until(lambda: stored(stack) >= BATCH_KILL_POSTS // 5, 120, 0.1, f"{BATCH_KILL_POSTS // 5} logs stored")
    # Batches are as large as the backlog a task finds: hold the workers until a backlog builds up,
    # release them, and catch the next tasks inside their (large) batches.
    with stack.reports_held():
        new_blocked(stack, set(), want=CONCURRENCY)
        wait_until(lambda: pending(stack) >= BATCH_BACKLOG, 60, 0.05, f"{BATCH_BACKLOG} logs pending")
    with stack.reports_held():
        # Both pool processes inside a batch: claimed (processing), reports not written.
        wait_until(
            lambda: len(stack.blocked_pids()) >= CONCURRENCY and processing(stack) >= BATCH_IN_FLIGHT,
            30,
            0.02,
            f"{CONCURRENCY} tasks blocked with >= {BATCH_IN_FLIGHT} logs claimed",
        )
        at_kill = stack.checker.rows()
        killed = stack.kill_worker()
    unfinished = {log_id for log_id, row in at_kill.items() if row.status != "completed"}
    claimed = {log_id for log_id, row in at_kill.items() if row.status == "processing"}
    stack.start_worker()
    new_worker_ready_s = time.monotonic() - stack.worker_started_at[-1]
    queued_at_ready = stack.queue_length()  # the worker-start recovery task waits behind these
    new_worker_wall = time.time() - (time.monotonic() - stack.worker_started_at[-1])
    ledger.wait_done(timeout=300)
    posted_at = time.monotonic()

    rows = verify(
        card, ledger, stack.checker, recovery_since=posted_at, recovery_bound_s=MID_BATCH_KILLED_S, max_attempts=2
    )
    times = stack.checker.report_times()
    recovered = [times[log_id] for log_id in unfinished if log_id in times]
    # Only a full recovery has a recovery time.
    recovery_s = round(max(recovered) - new_worker_wall, 2) if recovered and len(recovered) == len(unfinished) else None
    card.add(
        posts=len(ledger.snapshot()),
        killed_pids=len(killed),
        claimed_at_kill=len(claimed),
        unfinished_at_kill=len(unfinished),
        reclaimed=sum(1 for log_id in claimed if rows.get(log_id) and rows[log_id].attempts == 2),
        new_worker_ready_after_s=round(new_worker_ready_s, 2),
        tasks_queued_when_new_worker_ready=queued_at_ready,
        recovery_after_new_worker_start_s=recovery_s,
        recovery_promise_s=WORKER_CRASH_RECOVERY_S,
        **ledger.summary(),
    )
    print(f"\nworker killed mid-batch on {stack.broker}: last report {recovery_s} s after the new worker's start")
    if len(claimed) < BATCH_IN_FLIGHT:
        card.problem(f"the kill landed outside a batch: {len(claimed)} log(s) processing at the kill")
    if len(recovered) != len(unfinished):
        card.problem(f"{len(unfinished) - len(recovered)} log(s) unfinished at the kill have no report")
    elif recovery_s is None or recovery_s > WORKER_CRASH_RECOVERY_S:
        card.problem(f"last report {recovery_s} s after the new worker's start (> {WORKER_CRASH_RECOVERY_S} s)")
    if stack.sweeper_requeued():
        card.problem(f"the sweeper re-enqueued {stack.sweeper_requeued()} log(s): it is not the recovery here")
    finish(stack, card, ledger)


# --------------------------------------------------------------------------- 3. the broker is down 30 s


BROKER_OUTAGE_S = 30.0
POST_DEADLINE_S = 2.0
WORKER_CONNECTED = "Connected to redis://"


@pytest.mark.redis_only
def test_broker_down_30s_under_load(stack: Stack, card: Card) -> None:
    """Redis (broker and cache alike) stopped for 30 s: POSTs keep answering 202 within 2 s, the logs are
    committed, and once Redis is back (empty, same port) every one of them gets its report within the
    recovery bound, which includes the worker's longest reconnect pause. Redis only: the private
    redis-server is what the test stops (the machine's RabbitMQ is shared)."""
    assert stack.redis is not None
    ledger = stack.ledger(fleet("EV-BROKER"))
    ledger.start(threads=3, pause_s=0.2)
    wait_until(lambda: completed(stack) >= 5, 30, 0.05, "5 reports before the outage")
    connected = stack.worker_log().count(WORKER_CONNECTED)
    stack.redis.stop()
    down_at = time.monotonic()
    redis_answered = stack.redis.ping()
    ready = httpx.get(f"{stack.url}/readyz", timeout=10)
    time.sleep(BROKER_OUTAGE_S - (time.monotonic() - down_at))  # the fault's duration
    up_at = time.monotonic()
    stack.redis.start()
    reconnect_s = wait_until(
        lambda: stack.worker_log().count(WORKER_CONNECTED) > connected, 60, 0.1, "the worker reconnected"
    )
    ledger.stop()

    verify(card, ledger, stack.checker, recovery_since=up_at, recovery_bound_s=BROKER_DOWN_UNDER_LOAD_S)
    during = ledger.attempts(since=down_at, until=up_at)
    card.add(
        outage_s=round(up_at - down_at, 1),
        worker_reconnected_after_s=round(reconnect_s, 1),
        outage_posts=ledger.summary(since=down_at, until=up_at),
        readyz_during_outage=ready.status_code,
    )
    if redis_answered:
        card.problem("Redis still answered after it was stopped")
    if reconnect_s > WORKER_RECONNECT_S:
        card.problem(f"the worker reconnected {reconnect_s:.1f} s after Redis returned (> {WORKER_RECONNECT_S} s)")
    if not during:
        card.problem("no POST was made during the broker outage")
    not_202 = [a for a in during if a.status != 202]
    if not_202:
        card.problem(
            f"{len(not_202)} POST(s) during the outage did not answer 202: "
            f"{sorted({str(a.status or a.error) for a in not_202})}"
        )
    slow = [a.latency for a in during if a.latency >= POST_DEADLINE_S]
    if slow:
        card.problem(f"{len(slow)} POST(s) during the outage took >= {POST_DEADLINE_S} s (max {max(slow):.2f} s)")
    if ready.status_code != 503 or "broker" not in ready.json().get("down", []):
        card.problem(f"/readyz during the broker outage: {ready.status_code} {ready.text[:200]}")
    finish(stack, card, ledger)


HEAL_WARM_POSTS = 6
HEAL_OUTAGE_POSTS = 40
HEAL_OUTAGE_S = 15.0
# reports.dispatch's lines: a batch the broker refused, and the same batch published once it answered again.
REFUSED_MARK = "not published"
REPUBLISHED_MARK = "published once the broker answered again"


def web_log(stack: Stack) -> str:
    path = stack.logdir / "web.log"
    return path.read_text(errors="replace") if path.exists() else ""


# The sweeper sweeps as it starts, then every 300 s with a 300 s threshold: it cannot be what brings the
# outage's logs back. On RabbitMQ the stack reaches the machine's RabbitMQ through a proxy of its own, which
# the test cuts (the machine's RabbitMQ is shared: it must not be stopped).
@pytest.mark.stack_settings(sweeper_stale_after_s=300.0, sweep_loop_s=300.0, rabbitmq_proxy=True)
def test_broker_outage_heals_within_30s_of_its_return(stack: Stack, card: Card) -> None:
    """The broker goes away for 15 s (Redis: the private redis-server stopped, back empty; RabbitMQ: the
    stack's proxy cut, every connection closed and new ones refused) with nothing queued; 40 logs POSTed
    meanwhile all answer 202, and their publishes are refused (the web log says so). Once the broker is
    back, the publishers publish what was refused and the worker reconnects: every log has its report, the
    last of the outage's logs within 30 s of the broker's return (BROKER_RETURN_REPORTED_S, issue 17 §3),
    and the sweeper re-enqueued nothing. Prints the measured time."""
    ledger = stack.ledger(fleet("EV-HEAL"))
    ledger.burst(HEAL_WARM_POSTS, threads=2)
    # Quiet before the fault: every warm log reported, nothing queued (what a broker loses with its data is
    # the flush tests' business, not this one's).
    wait_until(
        lambda: completed(stack) == HEAL_WARM_POSTS and stack.queue_length() == 0, 60, 0.05, "the warm logs reported"
    )
    refused_before = web_log(stack).count(REFUSED_MARK)
    stack.broker_down()
    down_at = time.monotonic()
    if stack.proxy is not None:
        card.add(proxy_connections_cut=stack.proxy.reset_by_cut)
    answered_while_down = stack.broker_answers()
    ledger.burst(HEAL_OUTAGE_POSTS, threads=2)
    posted_by = time.monotonic() - down_at
    refused = web_log(stack).count(REFUSED_MARK) - refused_before
    time.sleep(max(0.0, HEAL_OUTAGE_S - (time.monotonic() - down_at)))  # the fault's duration
    stored_down = stack.checker.status_counts()
    stack.broker_up()
    up_at = time.monotonic()
    up_wall = time.time()
    answered_after = stack.broker_answers()

    verify(card, ledger, stack.checker, recovery_since=up_at, recovery_bound_s=BROKER_RETURN_REPORTED_S)
    outage = [record for record in ledger.snapshot()[HEAL_WARM_POSTS:] if record.accepted]
    times = stack.checker.report_times()
    reported = [times[record.log_id] for record in outage if record.log_id in times]
    last_s = round(max(reported) - up_wall, 2) if reported else None
    during = ledger.attempts(since=down_at, until=up_at)
    card.add(
        outage_s=round(up_at - down_at, 1),
        outage_posts=ledger.summary(since=down_at, until=up_at),
        posted_within_s=round(posted_by, 1),
        publishes_refused=refused,
        republished=web_log(stack).count(REPUBLISHED_MARK),
        db_status_before_return=dict(stored_down),
        outage_logs_reported=f"{len(reported)} of {len(outage)}",
        last_report_after_broker_return_s=last_s,
        promise_s=BROKER_RETURN_REPORTED_S,
    )
    print(f"\nbroker outage on {stack.broker}: last report {last_s} s after the broker's return")
    if answered_while_down:
        card.problem("the broker still answered after it was taken away")
    if not answered_after:
        card.problem("the broker did not answer after its return")
    if len(during) < HEAL_OUTAGE_POSTS or any(a.status != 202 for a in during):
        card.problem(f"outage POSTs: {sorted(str(a.status or a.error) for a in during)}, expected 202 each")
    if refused < 1:
        card.problem("no publish was refused during the outage: the fault did not reach the publishers")
    if stored_down.get("completed", 0) != HEAL_WARM_POSTS:
        card.problem(f"reports were written during the outage: {dict(stored_down)}")
    if len(outage) != HEAL_OUTAGE_POSTS or len(reported) != len(outage):
        card.problem(f"{len(outage) - len(reported)} of {len(outage)} outage log(s) have no report")
    elif last_s is None or last_s > BROKER_RETURN_REPORTED_S:
        card.problem(f"last report {last_s} s after the broker's return (> {BROKER_RETURN_REPORTED_S} s)")
    if stack.sweeper_requeued():
        card.problem(f"the sweeper re-enqueued {stack.sweeper_requeued()} log(s): it is not the recovery here")
    finish(stack, card, ledger)


# --------------------------------------------------------------------------- 4. the broker loses its data


@pytest.mark.redis_only
def test_broker_flushed_with_tasks_queued(stack: Stack, card: Card) -> None:
    """Tasks pile up with no worker; FLUSHALL drops every one of them (the queue is empty after it); only
    the sweeper can bring the logs back, and it does. Redis only: FLUSHALL is a Redis fault."""
    assert stack.redis is not None
    ledger = stack.ledger(fleet("EV-FLUSH"))
    ledger.burst(6, threads=2)
    stack.stop_worker()
    warm = len(ledger.snapshot())
    ledger.burst(40, threads=4)
    # The web workers publish off the request, in batches: wait until every accepted log is in a queued
    # task, or a publish landing after the flush would bring the logs back instead of the sweeper.
    accepted = {record.log_id for record in ledger.snapshot()[warm:] if record.accepted}
    wait_until(lambda: accepted <= set(stack.queued_log_ids()), 30, 0.05, "every log's task queued")
    queued = stack.queue_length()
    swept_before = stack.sweeper_requeued()
    stack.redis.flushall()
    flushed_at = time.monotonic()
    left = stack.queue_length()
    stack.start_worker()
    # Nothing else is posted until the sweeper has re-enqueued the flushed logs: a later task would top
    # its batch up with them and hide whether the sweeper works.
    swept_after_s = wait_until(
        lambda: stack.sweeper_requeued() > swept_before, FLUSHED_QUEUED_S, 0.1, "a sweeper re-enqueue after the flush"
    )
    ledger.burst(10, threads=2)  # traffic after the flush goes through as usual

    verify(card, ledger, stack.checker, recovery_since=flushed_at, recovery_bound_s=FLUSHED_QUEUED_S)
    card.add(
        queued_before_flush=queued,
        queued_after_flush=left,
        sweeper_requeued_before_flush=swept_before,
        sweeper_first_requeue_after_s=round(swept_after_s, 1),
        **ledger.summary(),
    )
    # Report tasks are published in batches (every log id waiting at that moment), so 40 logs make
    # between 1 and 40 messages; what matters is that they were queued and the flush dropped them.
    if not 1 <= queued <= 40:
        card.problem(f"expected 1 to 40 queued tasks before the flush, found {queued}")
    if left != 0:
        card.problem(f"{left} task(s) still queued after FLUSHALL")
    finish(stack, card, ledger)


FLUSH_MARK = "faults:flush-marker"


@pytest.mark.redis_only
def test_broker_flushed_under_running_worker(stack: Stack, card: Card) -> None:
    """FLUSHALL while the worker, the web and the sweeper stay up and traffic goes on, with work in the
    broker at that moment: the report table is held so that both pool processes are inside a task (their
    logs claimed, their messages unacknowledged in Redis) and more tasks wait in the queue; the flush drops
    the queued tasks, the unacknowledged ones and the queue's routing (kombu's binding keys). Checked: tasks
    were queued and logs claimed at the flush, the queue was empty after it; then every log must still end
    with one report. Redis only."""
    assert stack.redis is not None
    ledger = stack.ledger(fleet("EV-FLUSH2"))
    ledger.start(threads=3, pause_s=0.1)
    wait_until(lambda: completed(stack) >= 5, 30, 0.05, "5 reports before the flush")
    with stack.reports_held():
        new_blocked(stack, set(), want=CONCURRENCY)  # both pool processes inside a task: logs claimed
        wait_until(lambda: stack.queue_length() >= 1, 30, 0.05, "a task queued behind the blocked ones")
        queued_at_flush = stack.queue_length()
        claimed_at_flush = processing(stack)
        stack.redis.client().set(FLUSH_MARK, "1")
        stack.redis.flushall()
        flushed_at = time.monotonic()
        flushed = not stack.redis.exists(FLUSH_MARK)
        queued_after_flush = stack.queue_length()
    at_flush = stored(stack)
    wait_until(lambda: stored(stack) >= at_flush + 20, 30, 0.05, "20 more logs stored after the flush")
    ledger.stop()

    verify(card, ledger, stack.checker, recovery_since=time.monotonic(), recovery_bound_s=FLUSHED_RUNNING_S)
    card.add(
        queued_at_flush=queued_at_flush,
        claimed_at_flush=claimed_at_flush,
        queued_after_flush=queued_after_flush,
        flushed_s_before_end=round(time.monotonic() - flushed_at, 1),
        **ledger.summary(),
    )
    if not flushed:
        card.problem("the marker key survived FLUSHALL")
    if queued_at_flush < 1 or claimed_at_flush < CONCURRENCY:
        card.problem(f"the flush found {queued_at_flush} task(s) queued, {claimed_at_flush} log(s) claimed")
    if queued_after_flush != 0:
        card.problem(f"{queued_after_flush} task(s) still queued after FLUSHALL")
    finish(stack, card, ledger)


# --------------------------------------------------------------------------- 5. PostgreSQL restarts


DB_OUTAGE_S = 8.0


@pytest.mark.redis_only
def test_postgres_restart_under_load(stack: Stack, card: Card) -> None:
    """PostgreSQL stopped (fast: clients cut off) for 8 s and started again under load: meanwhile POSTs
    answer 503 with Retry-After in the contract's error shape, never 202, never 500; then all recovers.
    A task cut off after its claim runs again once the database is back (attempts 2). One broker is
    enough: the fault is the database's."""
    assert stack.pg is not None
    ledger = stack.ledger(fleet("EV-PG"))
    # A probe that does not back off: one fresh log every 0.2 s while the database is down, no retry.
    probe = stack.ledger(fleet("EV-PROBE"), retry_for_s=0.0)
    ledger.burst(3, threads=1)
    known = ledger.accepted()[0].log_id
    ledger.start(threads=3, pause_s=0.1)
    wait_until(lambda: completed(stack) >= 10, 30, 0.05, "10 reports before the restart")
    stopping_at = time.monotonic()
    stack.pg.stop("fast")
    down_at = time.monotonic()
    was_running = stack.pg.is_running()
    probe.start(threads=1, pause_s=0.2)
    with Prober(stack.url, stack.token(), f"/api/v1/reports/{known}") as reads:
        ready = httpx.get(f"{stack.url}/readyz", timeout=10)
        time.sleep(DB_OUTAGE_S)  # the fault's duration
    probe.stop()
    starting_at = time.monotonic()
    stack.pg.start()
    up_at = time.monotonic()
    at_start = completed(stack)
    wait_until(lambda: completed(stack) >= at_start + 10, 60, 0.1, "10 reports after the restart")
    ledger.stop()

    verify(card, ledger, stack.checker, recovery_since=up_at, recovery_bound_s=POSTGRES_RESTART_S, max_attempts=2)
    during = [a for a in ledger.attempts(since=down_at, until=starting_at) if a.ended <= starting_at]
    during += probe.attempts()
    around = ledger.attempts(since=stopping_at, until=up_at) + probe.attempts()
    card.add(
        db_stop_s=round(down_at - stopping_at, 1),
        db_down_s=round(up_at - stopping_at, 1),
        outage_vehicle_posts=ledger.summary(since=down_at, until=starting_at),
        outage_probe_posts=probe.summary(),
        **{f"overall_{key}": value for key, value in ledger.summary().items()},
    )
    if was_running:
        card.problem("PostgreSQL still ran after pg_ctl stop")
    if len(during) < 10:
        card.problem(f"only {len(during)} POST(s) answered while the database was down")
    wrong = [a for a in during if a.status != 503]
    if wrong:
        card.problem(
            f"{len(wrong)} POST(s) during the outage answered {sorted({str(a.status or a.error) for a in wrong})}"
        )
    for attempt in (a for a in around if a.status is not None and a.status >= 500):
        if attempt.status != 503 or attempt.code != "service_unavailable" or not attempt.shape_ok:
            card.problem(f"HTTP {attempt.status} with error code {attempt.code!r} / contract shape {attempt.shape_ok}")
    slow = [a.latency for a in during if a.latency >= POST_DEADLINE_S]
    if slow:
        card.problem(f"{len(slow)} 503(s) took >= {POST_DEADLINE_S} s (max {max(slow):.2f} s)")
    read_statuses = Counter(str(a.status or a.error) for a in reads.attempts)
    card.add(report_gets_during_outage=dict(read_statuses), readyz_during_outage=ready.status_code)
    bad_reads = [a for a in reads.attempts if not (a.status == 503 and a.retry_after and a.shape_ok)]
    if bad_reads:
        card.problem(f"GET report while the database was down: {sorted({str(a.status or a.error) for a in bad_reads})}")
    if ready.status_code != 503 or "database" not in ready.json().get("down", []):
        card.problem(f"/readyz while the database was down: {ready.status_code} {ready.text[:200]}")
    finish(stack, card, ledger)


# --------------------------------------------------------------------------- 6. crash between commit and publish


# The ingest service in a process of its own, with the real publish path: the commit hook hands the
# log id to the background publisher, whose thread calls the one publish function, which calls
# generate_battery_reports.apply_async. That call is made to kill the process (after writing down where
# it was: thread, log ids, the functions on the stack), so the process dies inside the real publish.
CRASH_SCRIPT = textwrap.dedent(
    """
    import json, os, sys, threading, traceback
    import django
    django.setup()
    from diagnostics.validation import log_validate
    from diagnostics.services import diagnostic_log_ingest
    from fleets.models import Fleet
    from reports.tasks import generate_battery_reports

    marker = sys.argv[2]
    printed = threading.Event()

    def crash(*args, **kwargs):
        printed.wait(30)  # let the main thread report the committed log_id first (its print races this thread)
        ids = (kwargs.get("args") or args[0])[0]
        where = {
            "thread": threading.current_thread().name,
            "log_ids": ids,
            "stack": [frame.name for frame in traceback.extract_stack()],
        }
        with open(marker, "w") as out:
            json.dump(where, out)
        os._exit(137)  # the process dies after the commit, inside the publish: nothing reached the broker

    generate_battery_reports.apply_async = crash
    fleet = Fleet.objects.get(name=sys.argv[1])
    result = diagnostic_log_ingest(fleet_id=fleet.id, data=log_validate(sys.stdin.buffer.read()))
    print(json.dumps({"log_id": str(result.log_id)}), flush=True)
    printed.set()
    threading.Event().wait(30)  # the publisher thread's crash ends the process long before this
    os._exit(3)  # the publish never happened
    """
)
PUBLISH_FUNCTIONS = {"reports_enqueue"}  # reports.dispatch: the one function that calls apply_async


@pytest.mark.redis_only
def test_crash_between_commit_and_publish(stack: Stack, card: Card, tmp_path: Path) -> None:
    """The process that committed a log dies inside the real publish (before anything reaches the broker);
    the vehicle's retry answers 200 with the same log_id (and publishes nothing); only the sweeper can
    bring the logs back, and it brings each to exactly one report. One broker is enough: nothing reaches
    it."""
    logs = list(fleet("EV-CRASH", vehicles=4, logs_per_vehicle=1))
    markers = [tmp_path / f"crash-{index}.json" for index in range(len(logs))]
    crashes = [
        subprocess.Popen(
            [sys.executable, "-c", CRASH_SCRIPT, API_FLEET, str(marker)],
            cwd=REPO_ROOT,
            env=stack.env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for marker in markers
    ]
    stack.extra.extend(crashes)
    outputs = [
        proc.communicate(json.dumps(log).encode(), timeout=120)[0].decode(errors="replace")
        for proc, log in zip(crashes, logs, strict=True)
    ]
    crashed_at = time.monotonic()
    codes = [proc.returncode for proc in crashes]
    assert codes == [137] * len(logs), (codes, [out[-800:] for out in outputs])
    committed = [json.loads(out.strip().splitlines()[-1])["log_id"] for out in outputs]
    where = [json.loads(marker.read_text()) for marker in markers]
    rows_after_crash = stack.checker.rows()
    card.add(
        committed_before_crash=len(rows_after_crash),
        status_after_crash=sorted(row.status for row in rows_after_crash.values()),
        crashed_in=sorted({(w["thread"], next(f for f in w["stack"] if f in PUBLISH_FUNCTIONS)) for w in where}),
    )
    for log_id, place in zip(committed, where, strict=True):
        # It died in the real publish: the publisher thread, inside the publish function, with this log.
        assert place["thread"] == "report-publisher", place
        assert PUBLISH_FUNCTIONS & set(place["stack"]), place
        assert place["log_ids"] == [log_id], (place, log_id)

    ledger = stack.ledger(logs)
    ledger.burst(len(logs), threads=2)  # the vehicles retry: same content, the stored log_id
    verify(card, ledger, stack.checker, recovery_since=crashed_at, recovery_bound_s=CRASH_BEFORE_PUBLISH_S)
    retry_statuses = sorted(str(a.status) for a in ledger.attempts())
    card.add(retry_statuses=retry_statuses)
    if len(rows_after_crash) != len(logs) or any(row.status != "pending" for row in rows_after_crash.values()):
        card.problem(f"expected {len(logs)} pending logs after the crashes, found {rows_after_crash}")
    if retry_statuses != ["200"] * len(logs):
        card.problem(f"the vehicles' retries answered {retry_statuses}, expected 200 each")
    by_key = {(row.vehicle_id, row.timestamp): row.log_id for row in rows_after_crash.values()}
    for record in ledger.snapshot():
        if by_key.get(record.key) != record.log_id:
            card.problem(f"retry of {record.key} named {record.log_id}, stored {by_key.get(record.key)}")
    # Nothing else publishes, so the sweeper must have: at least one log (the task it enqueues tops its batch
    # up with the other pending logs, so a log committed a moment later may not need a sweep of its own).
    if stack.sweeper_requeued() < 1:
        card.problem(f"{len(logs)} logs were never published, yet the sweeper re-enqueued none")
    finish(stack, card, ledger)


@pytest.mark.redis_only
def test_web_worker_killed_between_commit_and_publish(stack: Stack, card: Card) -> None:
    """Redis hangs (a black hole on its port): POSTs commit their logs and answer 202, whose publishes
    hang in the web workers' publisher threads; the web workers are killed -9 right then, so those tasks
    never reach the broker. The vehicles resend (to the respawned web workers): 200 with the stored
    log_ids, nothing published. Nothing is posted after Redis is back (empty), so only the sweeper can
    bring the logs back, and every one ends with one report. Redis only: the private redis-server is what
    hangs."""
    assert stack.redis is not None
    assert stack.web is not None
    logs = list(fleet("EV-GUNI", vehicles=4, logs_per_vehicle=50))
    ledger = stack.ledger(logs[:4], request_timeout_s=60.0)
    ledger.burst(4, threads=2)
    wait_until(lambda: completed(stack) >= 4, WEB_KILLED_BEFORE_PUBLISH_S, 0.05, "the first 4 reports")
    done_before = completed(stack)
    hung = stack.ledger(logs[4:], request_timeout_s=60.0)
    with stack.redis.hung():
        hung_at = time.monotonic()
        hung.start(threads=2, pause_s=0.0)
        wait_until(lambda: stored(stack) >= 4 + 10, 60, 0.05, "10 logs committed while Redis hangs")
        committed_after_s = time.monotonic() - hung_at
        hung.stop()
        committed = hung.accepted()
        web_workers = stack.signal_web_workers(signal.SIGKILL)
        # The vehicles resend what they posted (a lost answer, say): the respawned web workers answer 200
        # with the stored log_ids and publish nothing.
        resend = stack.ledger(
            [log for log in logs[4:] if (log["vehicle_id"], log["timestamp"]) in {record.key for record in committed}],
            request_timeout_s=60.0,
        )
        resend.burst(len(committed), threads=2)
        status_at_return = stack.checker.status_counts()
    back_at = time.monotonic()

    for each in (hung, resend):
        verify(card, each, stack.checker, recovery_since=back_at, recovery_bound_s=WEB_KILLED_BEFORE_PUBLISH_S)
    resent = Counter(str(a.status or a.error) for a in resend.attempts())
    by_key = {record.key: record.log_id for record in committed}
    card.add(
        first_commit_after_hang_s=round(committed_after_s, 1),
        committed_while_hung=len(committed),
        web_workers_killed=len(web_workers),
        resend_answers=dict(resent),
        status_at_redis_return=dict(status_at_return),
        **hung.summary(),
    )
    if not web_workers:
        card.problem("no web worker was killed")
    for record in resend.snapshot():
        if record.log_id != by_key.get(record.key) or record.attempts[-1].status != 200:
            card.problem(f"resend of {record.key}: {record.attempts[-1].status}, log_id {record.log_id}")
    if status_at_return.get("completed", 0) != done_before:
        card.problem(f"reports were written while Redis hung ({done_before} before, {dict(status_at_return)})")
    if stack.sweeper_requeued() < 1:
        card.problem(f"{len(committed)} log(s) committed while Redis hung, yet the sweeper re-enqueued none")
    finish(stack, card, resend)


# --------------------------------------------------------------------------- 2c. alerts and their outbox under a kill

ALERT_VEHICLES = 240
ALERT_TYPES_SEEN = {"overheating": ALERT_VEHICLES, "low_soh": ALERT_VEHICLES // 2}
OUTBOX = "alerts_webhookdelivery"
ALERT_PHASES = (  # (minute, hottest cell °C or None, SoH % of the even vehicles or None, kill mid-batch)
    (1, 50.0, 75.0, True),  # opens an overheating alert per vehicle and a low_soh one per even vehicle
    (2, 61.0, 65.0, True),  # both rise to critical: alert.updated
    (3, None, None, False),  # clean
    (4, None, None, False),  # clean
    (5, None, None, True),  # the third clean report: every alert resolves by itself
)


def alert_phase_logs(prefix: str, start: datetime, minute: int, hot: float | None, low: float | None) -> list[dict]:
    """One log per vehicle at start + `minute`: 8 cells at 4.0 V and 30 °C, cell 2 at `hot`, SoH 90 % (the
    odd vehicles) or `low`. One log per vehicle per phase, each phase settled before the next: no log is ever
    late, so every anomalous report must count exactly once."""
    logs = []
    for n in range(ALERT_VEHICLES):
        cells = [{"id": i, "voltage": 4.0, "temperature": 30.0} for i in range(8)]
        if hot is not None:
            cells[2]["temperature"] = hot
        soh = low if low is not None and n % 2 == 0 else 90.0
        logs.append(
            {
                "vehicle_id": f"{prefix}-{n:03d}",
                "timestamp": format_timestamp(start + timedelta(minutes=minute)),
                "cells": cells,
                "cycle_count": 100 + minute,
                "nominal_capacity_kwh": 100.0,
                "current_capacity_kwh": soh,
            }
        )
    return logs


def _query(stack: Stack, sql: str) -> list[tuple]:
    with stack.connect() as conn, conn.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchall()


def deliveries_pending(stack: Stack) -> int:
    return int(_query(stack, f"SELECT count(*) FROM {OUTBOX} WHERE status = 'pending'")[0][0])


def beat_deliveries(stack: Stack) -> None:
    """What Celery beat does every ALERTS_BEAT_INTERVAL_S (the stack runs no beat): publish the due deliveries
    (a delivery task lost with a killed worker's prefetch would otherwise wait for the broker's visibility
    timeout)."""
    manage(stack.env, "shell", "-c", "from alerts.tasks import deliver_due_webhooks; deliver_due_webhooks()")


def kill_mid_outbox(stack: Stack, ledger: Ledger) -> dict[str, int]:
    """Post the ledger's logs with the outbox held until both pool processes block on their batch's outbox
    INSERT (reports, summaries and alert changes written, not committed); kill -9 the whole worker there,
    release, start a new worker. What the kill caught."""
    seen = stack.blocked_pids(OUTBOX)
    found: set[int] = set()

    def caught() -> bool:
        nonlocal found
        found = stack.blocked_pids(OUTBOX) - seen
        return len(found) >= CONCURRENCY

    with stack.table_held(OUTBOX):
        ledger.burst(ALERT_VEHICLES, threads=4)
        wait_until(caught, 60, 0.05, f"{CONCURRENCY} batches blocked on their outbox INSERT")
        at_kill = stack.checker.rows()
        stack.kill_worker()
    stack.start_worker()
    return {
        "batches_caught": len(found),
        "claimed_at_kill": sum(1 for row in at_kill.values() if row.status == "processing"),
    }


def deliver_all(stack: Stack, *, since: float, what: str) -> None:
    """Wait until no delivery is pending; after 10 s, run the beat's task every half second."""

    def delivered() -> bool:
        if deliveries_pending(stack) == 0:
            return True
        if time.monotonic() - since > 10:
            beat_deliveries(stack)
        return False

    wait_until(delivered, 120, 0.5, f"{what}: every delivery sent")


@pytest.mark.redis_only
@pytest.mark.stack_settings(extra_env=(("WEBHOOK_ALLOW_PRIVATE", "true"),))
def test_kill_whole_worker_mid_batch_every_alert_change_and_delivery_exactly_once(stack: Stack, card: Card) -> None:
    """240 vehicles, 5 phases of one log each (open, rise to critical, clean, clean, resolve). In phases 1, 2
    and 5 the outbox table is held, so each pool process blocks on its batch's outbox INSERT, after its
    reports, summaries and alert changes, before its commit; then kill -9 of the whole worker, a new one
    started. Afterwards every alert change happened exactly once: one alert per (vehicle, type), never a
    second; the occurrences of each type equal the reports that show it (no change lost or doubled);
    sequence 3 and 3 deliveries (opened, updated, resolved) per alert, all delivered to a real receiver
    on loopback that verifies every signature with standardwebhooks, in sequence order per alert, and none
    twice (no duplicate by webhook-id: exactly once)."""
    receiver = WebhookReceiver()
    try:
        headers = {"Authorization": f"Bearer {stack.token()}"}
        answer = httpx.post(
            f"{stack.url}/api/v1/webhooks",
            json={"url": receiver.url, "events": list(("alert.opened", "alert.updated", "alert.resolved"))},
            headers=headers,
            timeout=10,
        )
        assert answer.status_code == 201, answer.text
        receiver.secret = answer.json()["secret"]
        start = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0)
        kills: list[dict] = []
        ledger: Ledger | None = None
        for minute, hot, low, kill in ALERT_PHASES:
            ledger = stack.ledger(alert_phase_logs("EV-ALRT", start, minute, hot, low))
            if kill:
                kills.append({"phase": minute, **kill_mid_outbox(stack, ledger)})
            else:
                ledger.burst(ALERT_VEHICLES, threads=4)
            settled_from = time.monotonic()
            verify(
                card,
                ledger,
                stack.checker,
                recovery_since=settled_from,
                recovery_bound_s=ALERT_PHASE_S,
                max_attempts=2,
            )
            deliver_all(stack, since=settled_from, what=f"phase {minute}")
        assert ledger is not None

        alerts = _query(
            stack,
            "SELECT a.type, count(*), count(DISTINCT a.vehicle_id), sum(a.occurrences), "
            "count(*) FILTER (WHERE a.state = 'resolved' AND a.resolution = 'auto'), "
            "count(*) FILTER (WHERE a.sequence = 3 AND a.severity = 'critical') FROM alerts_alert AS a GROUP BY a.type",
        )
        by_type = {row[0]: row[1:] for row in alerts}
        shown = dict(
            _query(
                stack,
                "SELECT d->>'code', count(*) FROM reports_batteryreport AS r, "
                "jsonb_array_elements(r.anomaly_details) AS d GROUP BY 1",
            )
        )
        per_alert = _query(
            stack,
            f"SELECT a.id, array_agg(d.sequence ORDER BY d.sequence), array_agg(d.event ORDER BY d.sequence), "
            f"bool_and(d.status = 'delivered') FROM alerts_alert AS a LEFT JOIN {OUTBOX} AS d ON d.alert_id = a.id "
            "GROUP BY a.id",
        )
        delivery_ids = {f"msg_{row[0]}" for row in _query(stack, f"SELECT id FROM {OUTBOX}")}
        card.add(
            kills=kills,
            alerts_by_type={
                t: dict(zip(("alerts", "vehicles", "occurrences", "auto_resolved", "seq3_critical"), v, strict=True))
                for t, v in by_type.items()
            },
            reports_showing=shown,
            deliveries=len(delivery_ids),
            **receiver.summary(),
        )
        if set(by_type) != set(ALERT_TYPES_SEEN):
            card.problem(f"alert types {sorted(by_type)}, expected {sorted(ALERT_TYPES_SEEN)}")
        for alert_type, vehicles in ALERT_TYPES_SEEN.items():
            count, distinct, occurrences, auto, seq3 = by_type.get(alert_type, (0, 0, 0, 0, 0))
            if count != vehicles or distinct != vehicles:
                card.problem(
                    f"{alert_type}: {count} alert(s) on {distinct} vehicle(s), expected one on each of {vehicles}"
                )
            if occurrences != shown.get(alert_type) or occurrences != 2 * vehicles:
                card.problem(f"{alert_type}: occurrences {occurrences}, reports showing it {shown.get(alert_type)}")
            if auto != vehicles or seq3 != vehicles:
                card.problem(
                    f"{alert_type}: {auto} resolved by themselves, {seq3} critical at sequence 3 of {vehicles}"
                )
        expected_events = ["alert.opened", "alert.updated", "alert.resolved"]
        for alert_id, sequences, events, all_delivered in per_alert:
            if sequences != [1, 2, 3] or events != expected_events or not all_delivered:
                card.problem(
                    f"alert {alert_id}: deliveries {list(zip(sequences, events, strict=True))}, "
                    f"all delivered: {all_delivered}"
                )
        if len(kills) != 3 or any(k["batches_caught"] < CONCURRENCY for k in kills):
            card.problem(f"the kills did not all land inside batches: {kills}")
        if receiver.rejected:
            card.problem(f"{len(receiver.rejected)} request(s) failed signature verification: {receiver.rejected[:2]}")
        missing = delivery_ids - receiver.message_ids()
        if missing:
            card.problem(f"{len(missing)} delivery(ies) never arrived, e.g. {sorted(missing)[:3]}")
        if receiver.out_of_order():
            card.problem(f"out of sequence order: {receiver.out_of_order()[:3]}")
        if receiver.duplicates():
            card.problem(f"{receiver.duplicates()} duplicate(s) by webhook-id: a delivery arrived more than once")
        print(f"\nalerts under kill -9 mid-batch: {receiver.summary()}")
        finish(stack, card, ledger)
    finally:
        receiver.close()
