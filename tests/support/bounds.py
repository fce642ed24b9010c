"""The recovery bound of every fault run: one fixed figure, derived from documented settings, never from a
measurement of the run itself (docs/reliability.md, §2.1 "The fault suite and its recovery bound").

Counted from the moment the fault is cleared (the broker or the database back, a worker started again),
a log whose task was lost has its report within:

- BROKER_RECONNECT_MAX_S: a Celery worker that lost its broker retries the connection 2, 4, 6 ... s
  apart, at most 30 s apart (celery/worker/consumer/consumer.py ensure_connected calls kombu's
  Connection.ensure_connection without intervals, so kombu's defaults interval_start=2, interval_step=2,
  interval_max=30 apply; Celery has no setting for them), each try cut after broker_connection_timeout
  (CELERY_BROKER_CONNECTION_TIMEOUT = 1 s, config/settings/base.py);
- SWEEPER_STALE_AFTER_S + SWEEP_LOOP_S: the sweeper's threshold and loop in the fault stacks
  (tests.support.stack.StackSettings; production: 120 s + 30 s): a lost `pending` log is re-enqueued by
  the first sweep after its threshold (an abandoned claim needs no threshold: the next sweep, or at once
  by a redelivery or the release a worker makes as it starts);
- TASK_RUN_S: the queue wait and one batch run of the re-enqueued logs (100 logs a task) on 2 cores.
"""

from tests.support.stack import StackSettings

KOMBU_RECONNECT_INTERVAL_MAX_S = 30.0  # kombu.Connection.ensure_connection(interval_max=30), kombu 5.7
BROKER_CONNECTION_TIMEOUT_S = 1.0  # CELERY_BROKER_CONNECTION_TIMEOUT in config/settings/base.py
BROKER_RECONNECT_MAX_S = KOMBU_RECONNECT_INTERVAL_MAX_S + BROKER_CONNECTION_TIMEOUT_S
SWEEPER_STALE_AFTER_S = StackSettings.sweeper_stale_after_s
SWEEP_LOOP_S = StackSettings.sweep_loop_s
TASK_RUN_S = 3.0
RECOVERY_BOUND_S = BROKER_RECONNECT_MAX_S + SWEEPER_STALE_AFTER_S + SWEEP_LOOP_S + TASK_RUN_S  # 40 s

# A worker killed mid-batch: its logs have their reports within this many seconds of a new worker's
# start, on either broker, without the sweeper (the claim locks of reports.services; the promise).
WORKER_CRASH_RECOVERY_S = 15.0
