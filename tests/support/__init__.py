"""The test harness: one way to start the service as processes, post to it like a fleet and check the
result, used by tests/e2e, tests/faults, tests/integration/test_real_worker.py and benchmarks/soak.py
(and, later, the rest of benchmarks/).

Public API (import from the submodules):

``tests.support.stack``
    ``Stack(db_url=..., workdir=..., broker="redis"|"rabbitmq", settings=StackSettings(...), pg=None,
    api_user=(user, fleet, password) | None, migrate=False)``; ``start(web=True, worker=True,
    sweeper=True)`` / ``close()`` (or ``with Stack(...) as stack``). Brings up a private redis-server (the
    broker on db 0 and the cache on db 1; with ``broker="rabbitmq"`` the broker is a virtual host of its
    own on the machine's RabbitMQ and Redis is only the cache), granian, a Celery worker (restarted if it
    exits, as compose does) and the sweeper. Attributes: ``url``, ``env``, ``queue``, ``broker_url``,
    ``redis`` (PrivateRedis), ``vhost`` (RabbitVhost or None), ``pg``, ``web``, ``worker``, ``sweeper``,
    ``worker_started_at``. Faults and probes: ``start_worker()``, ``kill_worker()``, ``stop_worker()``,
    ``restart_worker(kill=)``, ``assert_alive()``, ``log_tail()``, ``worker_children()``,
    ``signal_web_workers()``, ``reports_held()``
    (tasks block mid-task), ``table_held(table)`` (any table: writers block mid-transaction),
    ``blocked_pids(table=)``, ``queue_length()``, ``sweeper_requeued()``,
    ``worker_log()``, ``tails()``, ``cpu_seconds()``. HTTP and database: ``token()``,
    ``ledger(logs, **kw)``, ``checker``, ``connect()``. ``StackSettings`` holds what varies (sweeper
    threshold and loop, worker concurrency, web workers, throttle rate, extra env). ``BROKERS``.

``tests.support.infra``
    The pieces: ``PrivatePostgres`` (embedded, stoppable; ``database_url(name)``, ``execute``, ``stop``,
    ``start``), ``NamedDatabase`` (``<prefix>_<random>`` on a server URL, dropped on close),
    ``PrivateRedis`` (``start``/``stop``/``hung()``/``flushall``/``queue_length``), ``private_redis()``,
    ``RabbitVhost`` (``create``/``url``/``queue_length``/``close``; ``unavailable()``),
    ``service_env``, ``start_web``, ``start_worker``, ``start_sweeper``, ``manage``, ``wait_for_http``,
    process trees (``kill_tree``, ``stop_tree``, ``stop_all``, ``descendants``, ``pid_alive``),
    ``free_port``, ``database_url(settings_dict)``, ``app_publishing_to(url, queue)``,
    ``broker_reachable``, ``skip_or_fail`` (skip, or fail under REQUIRE_BROKER=1).

``tests.support.ledger``
    ``Ledger(base_url, token, logs, retry_for_s=, backoff_cap_s=, request_timeout_s=)``: posts logs like
    vehicles (retries on connection errors, 5xx, 429) and records every answer. ``burst(n)``,
    ``start()``/``stop()``/``wait_done()``, ``run_at_rate(rate, duration_s,
    max_in_flight=, on_tick=)`` (open loop), ``abort()``; views ``snapshot()``, ``accepted()``,
    ``attempts(since, until)``, ``summary()``. ``Prober`` GETs a path on a timer.

``tests.support.checker``
    ``Checker(db_url)``: ``rows()``, ``status_counts()``, ``attempts_histogram()``, ``report_count()``,
    ``report_times()``, ``last_report_at()``, ``unsettled()``, ``wait_settled(bound_s, since)``,
    ``duplicates()``, ``report_mismatches()``. ``verify(card, ledger, checker, recovery_since=,
    recovery_bound_s=, max_attempts=1, allow_failed=False)``: the pass rule (every accepted log
    ``completed`` with exactly one report, attempts within ``max_attempts``, no duplicate, no 5xx but
    the documented 503, ...), findings on ``Card`` (``add``, ``problem``, ``format``).

``tests.support.receiver``
    ``WebhookReceiver(secret="")``: a webhook receiver on loopback (``url``) that verifies every signature
    with ``standardwebhooks`` and records every arrival (``arrivals``, ``received``, ``rejected``); ``stop()``
    refuses connections (down), ``start()`` listens again on the same port; ``answers``/``delay_s`` shape its
    replies; ``duplicates()`` (by ``webhook-id``), ``out_of_order()`` (per alert, by ``sequence``),
    ``summary()``.

``tests.support.waiting``
    ``wait_until(predicate, timeout, interval, what)`` (seconds it took, TimeoutError after) and
    ``backoff_delay(retry, base_s=, cap_s=, rng=)``: the only polling loop and the only backoff.

``tests.support.bounds``
    One named recovery bound per fault scenario (``BASELINE_S``, ``BROKER_RETURN_REPORTED_S`` ...), each
    summed from documented settings with its why, and ``WORKER_CRASH_RECOVERY_S``.

``tests.support.proxy``
    ``TcpProxy(host, port)``: a loopback TCP proxy a test can ``cut()`` (connections closed, new ones
    refused) and ``restore()``; the stack puts one in front of RabbitMQ with ``StackSettings(rabbitmq_proxy=True)``
    (``Stack.broker_down()`` / ``broker_up()``).
"""
