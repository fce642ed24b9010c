"""Metrics, logs and liveness on the real stack: granian with 2 worker processes, a Celery worker with 2
children, a real broker, JSON logs, prometheus_client's multiprocess mode; and a real Prometheus scraping
it, evaluating every panel query of the Grafana dashboards.

Needs a broker (a private redis-server, tests.support.infra) and, for the Prometheus test, the `prometheus` binary
(Debian package `prometheus`): without them these tests skip, unless REQUIRE_BROKER=1 (CI), which makes
the skip a failure.
"""

import itertools
import json
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from fleets.services import api_user_create
from tests.support.infra import (
    REPO_ROOT,
    database_url,
    free_port,
    private_broker,
    private_redis_process,
    service_env,
    skip_or_fail,
    start_web,
    start_worker,
    wait_for_http,
)
from tests.support.infra import stop_tree as stop
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.broker, pytest.mark.django_db(transaction=True)]

TOKEN = "metrics-test-token"
DASHBOARDS = REPO_ROOT / "deploy" / "grafana" / "dashboards"


@dataclass
class LiveStack:
    url: str
    env: dict[str, str]
    web_log: Path
    worker_log: Path
    metrics_root: Path
    worker: subprocess.Popen


@contextmanager
def live_stack(tmp_path: Path, broker_url: str, **extra_env: str) -> Iterator[LiveStack]:
    from django.db import connection

    queue = f"obs-{uuid.uuid4().hex[:8]}"
    env = service_env(db_url=database_url(connection.settings_dict), broker_url=broker_url, queue=queue)
    root = tmp_path / "metrics"
    env.update(
        LOG_FORMAT="json",
        METRICS_TOKEN=TOKEN,
        METRICS_MULTIPROC_ROOT=str(root),
        WORKER_HEARTBEAT_FILE=str(tmp_path / "heartbeat"),
        WORKER_HEARTBEAT_INTERVAL_S="1",
        **extra_env,
    )
    web_env = {**env, "PROMETHEUS_MULTIPROC_DIR": str(root / "web")}
    worker_env = {**env, "PROMETHEUS_MULTIPROC_DIR": str(root / "worker")}
    port = free_port()
    web = start_web(web_env, port, tmp_path / "web.log")
    worker = start_worker(worker_env, queue, tmp_path / "worker.log")
    try:
        wait_for_http(f"http://127.0.0.1:{port}/healthz", web)
        yield LiveStack(f"http://127.0.0.1:{port}", env, tmp_path / "web.log", tmp_path / "worker.log", root, worker)
    finally:
        stop(web)
        stop(worker)
        connection.close()


def _client(stack: LiveStack, username: str) -> httpx.Client:
    api_user_create(username=username, fleet_name=f"{username}-fleet", password="obs-pass-1")
    token = httpx.post(f"{stack.url}/api/v1/auth/token", json={"username": username, "password": "obs-pass-1"}).json()[
        "access"
    ]
    return httpx.Client(base_url=stack.url, headers={"Authorization": f"Bearer {token}"}, timeout=10)


def _log(vehicle: str, minute: int, *, hot: bool = False, capacity: float = 55.0) -> dict[str, Any]:
    return {
        "vehicle_id": vehicle,
        "timestamp": f"2025-10-04T10:{minute:02d}:00Z",
        "cells": [
            {"id": 0, "voltage": 4.0, "temperature": 30.0},
            {"id": 1, "voltage": 4.2 if hot else 4.01, "temperature": 61.0 if hot else 31.0},
        ],
        "cycle_count": 300,
        "nominal_capacity_kwh": 60.0,
        "current_capacity_kwh": capacity,
    }


def _wait_for_reports(client: httpx.Client, log_ids: list[str], timeout: float = 60) -> None:
    waiting = list(log_ids)

    def reported() -> bool:
        waiting[:] = [log_id for log_id in waiting if client.get(f"/api/v1/reports/{log_id}").status_code != 200]
        return not waiting

    try:
        wait_until(reported, timeout, 0.2, "every report")
    except TimeoutError as exc:
        pytest.fail(f"{exc}: no report for {waiting}")


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _json_lines(path: Path) -> list[dict[str, Any]]:
    lines = []
    for line in path.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            with suppress(ValueError):
                lines.append(json.loads(line))
    return lines


def _post_traffic(client: httpx.Client, prefix: str, count: int) -> list[str]:
    """`count` accepted logs (some with anomalies), a duplicate, a conflict, an invalid log and a bulk post."""
    ids = []
    for index in range(count):
        response = client.post("/api/v1/diagnostics", json=_log(f"{prefix}-{index % 3}", index, hot=index % 2 == 0))
        assert response.status_code == 202, response.text
        ids.append(response.json()["log_id"])
    assert client.post("/api/v1/diagnostics", json=_log(f"{prefix}-0", 0, hot=True)).status_code == 200
    assert client.post("/api/v1/diagnostics", json=_log(f"{prefix}-0", 0, capacity=40.0)).status_code == 409
    assert client.post("/api/v1/diagnostics", json={"vehicle_id": f"{prefix}-0"}).status_code == 400
    bulk = client.post("/api/v1/diagnostics/bulk", json=[_log(f"{prefix}-b", 1), _log(f"{prefix}-b", 1), {"x": 1}])
    assert bulk.json()["counts"] == {"created": 1, "duplicate": 1, "conflict": 0, "invalid": 1, "forbidden": 0}
    ids.append(bulk.json()["results"][0]["log_id"])
    return ids


def test_metrics_count_every_web_and_worker_process_and_logs_carry_the_request_id(tmp_path):
    with (
        private_broker("redis") as broker_url,
        live_stack(tmp_path, broker_url) as stack,
        _client(stack, "obs-metrics") as client,
    ):
        request_id = f"obs-{uuid.uuid4()}"
        traced = client.post("/api/v1/diagnostics", json=_log("OBS-T", 59), headers={"X-Request-ID": request_id})
        assert traced.status_code == 202
        assert traced.headers["X-Request-ID"] == request_id
        traced_log_id = traced.json()["log_id"]
        bad = client.get("/healthz", headers={"X-Request-ID": "x" * 129})
        assert bad.headers["X-Request-ID"] != "x" * 129
        assert uuid.UUID(bad.headers["X-Request-ID"]).version == 4

        ids = _post_traffic(client, "OBS", 12)
        _wait_for_reports(client, [traced_log_id, *ids])

        assert httpx.get(f"{stack.url}/metrics").status_code == 401
        assert httpx.get(f"{stack.url}/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
        response = httpx.get(f"{stack.url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert response.status_code == 200
        samples = _samples(response.text)

    # Both granian workers and both Celery children wrote their own files, and the scrape sums them all.
    web_pids = {re.sub(r"\D", "", path.name) for path in (stack.metrics_root / "web").glob("*.db")}
    worker_pids = {re.sub(r"\D", "", path.name) for path in (stack.metrics_root / "worker").glob("*.db")}
    assert len(web_pids) >= 2, web_pids
    assert len(worker_pids) >= 1, worker_pids

    def value(name: str, **labels: str) -> float:
        return samples.get((name, tuple(sorted(labels.items()))), 0.0)

    accepted = 1 + 12 + 1  # the traced log, 12 logs, one bulk item
    assert value("battery_ingest_logs_total", outcome="accepted") == accepted
    assert value("battery_ingest_logs_total", outcome="duplicate") == 2  # one single, one bulk item
    assert value("battery_ingest_logs_total", outcome="conflict") == 1
    assert value("battery_ingest_logs_total", outcome="invalid") == 2  # one single, one bulk item
    assert value("battery_reports_total", status="completed") == accepted
    assert value("battery_report_lag_seconds_count") == accepted
    assert value("battery_report_anomalies_total", type="overheating") == 6  # the hot ones: 0, 2, ..., 10
    assert value("battery_pending_logs") == 0
    assert value("battery_oldest_pending_log_age_seconds") == 0
    assert value("battery_metrics_database_up") == 1
    assert value("battery_http_requests_total", route="/api/v1/diagnostics", method="POST", status="202") == 13
    assert value("battery_http_request_duration_seconds_count", route="/api/v1/diagnostics", method="POST") == 16
    assert sum(v for (name, labels), v in samples.items() if name == "battery_vehicles_by_soh") == 5
    assert value("battery_worker_tasks_total", task="reports.generate_battery_reports", state="SUCCESS") >= 1

    # The request id follows the log from the web process into the worker's JSON lines.
    web_lines = [line for line in _json_lines(stack.web_log) if line.get("request_id") == request_id]
    assert any(
        line["event"] == "request finished"
        and line.get("log_id") == traced_log_id
        and line.get("vehicle_id") == "OBS-T"
        for line in web_lines
    ), web_lines
    assert all({"timestamp", "level", "event"} <= set(line) for line in web_lines)
    worker_lines = [line for line in _json_lines(stack.worker_log) if line.get("request_id") == request_id]
    assert worker_lines, stack.worker_log.read_text()[-3000:]
    assert all(line["log_id"] == traced_log_id and line.get("task_id") for line in worker_lines), worker_lines


def test_the_worker_writes_only_json_lines_from_start_to_shutdown_under_log_format_json(tmp_path):
    """Celery's banner and shutdown notices bypass logging; under LOG_FORMAT=json they are JSON lines too."""
    from django.db import connection

    with private_broker("redis") as broker_url:
        queue = f"obs-banner-{uuid.uuid4().hex[:8]}"
        env = service_env(db_url=database_url(connection.settings_dict), broker_url=broker_url, queue=queue)
        env.update(LOG_FORMAT="json", PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"))
        env.update(WORKER_HEARTBEAT_FILE=str(tmp_path / "heartbeat"))
        log = tmp_path / "worker.log"
        worker = start_worker(env, queue, log, concurrency=1)
        try:
            try:
                wait_until(lambda: "ready." in log.read_text(errors="replace"), 60, 0.2, "the worker's ready line")
            except TimeoutError as exc:
                pytest.fail(f"{exc}:\n{log.read_text()[-3000:]}")
        finally:
            stop(worker)
        connection.close()
    text = log.read_text(errors="replace")
    lines = [line for line in text.splitlines() if line.strip()]
    not_json = [line for line in lines if not line.startswith("{")]
    assert not_json == [], text[-3000:]
    parsed = [json.loads(line) for line in lines]
    assert all({"timestamp", "level", "event", "logger"} <= set(line) for line in parsed)
    starting = [line for line in parsed if line["event"] == "worker starting"]
    assert len(starting) == 1, parsed
    assert starting[0]["queues"] == [queue]
    assert starting[0]["concurrency"] == 1
    assert "reports.generate_battery_reports" in starting[0]["tasks"]
    assert any(line["event"] == "worker: Warm shutdown (MainProcess)" for line in parsed), parsed


def _prometheus_query(base: str, expr: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{base}/api/v1/query", params={"query": expr}, timeout=10)
    body = response.json()
    assert body["status"] == "success", (expr, body)
    return body["data"]["result"]


def _panel_queries() -> list[tuple[str, str, str]]:
    found = []
    for path in sorted(DASHBOARDS.glob("*.json")):
        for panel in json.loads(path.read_text())["panels"]:
            for target in panel.get("targets", []):
                found.append((path.name, panel["title"], target["expr"]))
    return found


def test_a_real_prometheus_scrapes_metrics_and_every_dashboard_panel_returns_data(tmp_path):
    binary = shutil.which("prometheus")
    if binary is None:
        skip_or_fail("the prometheus binary is not installed (Debian package: prometheus)")
    queries = _panel_queries()
    assert len(queries) >= 15
    with (
        private_broker("redis") as broker_url,
        live_stack(tmp_path, broker_url) as stack,
        _client(stack, "obs-prom") as client,
    ):
        _wait_for_reports(client, _post_traffic(client, "PROM", 6))
        token_file = tmp_path / "token"
        token_file.write_text(TOKEN)
        host = stack.url.removeprefix("http://")
        config = tmp_path / "prometheus.yml"
        config.write_text(
            "global:\n  scrape_interval: 1s\n"
            "scrape_configs:\n  - job_name: battery-health\n    metrics_path: /metrics\n"
            f"    authorization:\n      type: Bearer\n      credentials_file: {token_file}\n"
            f"    static_configs:\n      - targets: ['{host}']\n"
        )
        port = free_port()
        prometheus = subprocess.Popen(
            [
                binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=(tmp_path / "prometheus.log").open("wb"),
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            scrapes = 0.0
            minutes = itertools.count(20)

            def scraped_thrice() -> bool:
                nonlocal scrapes
                # Traffic between scrapes, so rates and quantiles have something to show.
                client.post("/api/v1/diagnostics", json=_log("PROM-LIVE", next(minutes), hot=True))
                try:
                    result = _prometheus_query(base, 'count_over_time(up{job="battery-health"}[5m])')
                    scrapes = float(result[0]["value"][1]) if result else 0.0
                    return scrapes >= 3 and bool(_prometheus_query(base, 'up{job="battery-health"} == 1'))
                except (httpx.HTTPError, ValueError):  # until its TSDB is up, Prometheus answers 503 in plain text
                    return False

            with suppress(TimeoutError):
                wait_until(scraped_thrice, 60, 0.5, "3 scrapes of the service")
            assert scrapes >= 3, (tmp_path / "prometheus.log").read_text()[-2000:]
            empty = []
            for dashboard, title, expr in queries:
                concrete = re.sub(r"\$__(rate_interval|interval|range)", "1m", expr)
                if not _prometheus_query(base, concrete):
                    empty.append((dashboard, title, concrete))
            assert empty == []
            # The fleet dashboard's open alerts by severity: the hot logs (61 °C) opened critical overheating
            # alerts, one per hot vehicle (PROM-0, PROM-2, PROM-1 by logs 0, 2, 4; and PROM-LIVE). Other types
            # (weak_cell, voltage_imbalance) may open critical alerts too as the traffic goes on: counted by
            # type, not in the total.
            # PROM-LIVE's first report may land after the last scrape read the gauge (it is read from the
            # database at scrape time): wait for its report, then for a scrape that saw it.
            wait_until(
                lambda: client.get("/api/v1/vehicles/PROM-LIVE").json().get("latest") is not None,
                60,
                0.2,
                "PROM-LIVE's first report",
            )
            by_type: dict[tuple[str, str], float] = {}

            def counted() -> bool:
                by_type.clear()
                by_type.update(
                    {
                        (row["metric"]["type"], row["metric"]["severity"]): float(row["value"][1])
                        for row in _prometheus_query(base, "sum by (type, severity) (battery_alerts_open)")
                    }
                )
                return by_type.get(("overheating", "critical"), 0) >= 4

            with suppress(TimeoutError):
                wait_until(counted, 15, 0.5, "a scrape after PROM-LIVE's report")
            assert by_type.get(("overheating", "critical"), 0) == 4, by_type
        finally:
            stop(prometheus)


def _worker_alive(env: dict[str, str], max_age: float) -> int:
    return subprocess.run(
        [sys.executable, "manage.py", "worker_alive", "--max-age", str(max_age)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        timeout=60,
    ).returncode


def test_a_worker_whose_broker_froze_fails_its_liveness_check_and_recovers(tmp_path):
    if not shutil.which("redis-server"):
        skip_or_fail("redis-server is not installed (needed to freeze a private broker)")
    with (
        private_redis_process() as (redis_url, redis),
        live_stack(tmp_path, redis_url, REDIS_URL=redis_url) as stack,
        _client(stack, "obs-alive") as client,
    ):
        accepted = [client.post("/api/v1/diagnostics", json=_log("ALIVE", m)).json()["log_id"] for m in range(3)]
        _wait_for_reports(client, accepted)
        assert _worker_alive(stack.env, 10) == 0

        redis.send_signal(signal.SIGSTOP)
        try:
            # While frozen: /readyz answers within 2 s naming the broker and the cache; logs are still accepted.
            started = time.monotonic()
            ready = httpx.get(f"{stack.url}/readyz", timeout=10)
            elapsed = time.monotonic() - started
            assert ready.status_code == 503, ready.text
            assert elapsed < 2.0
            assert set(ready.json()["down"]) == {"broker", "cache"}
            assert ready.json()["checks"]["database"]["status"] == "ok"
            for minute in range(3, 6):
                response = client.post("/api/v1/diagnostics", json=_log("ALIVE", minute))
                assert response.status_code == 202, response.text
                accepted.append(response.json()["log_id"])
            failed_after = wait_until(
                lambda: _worker_alive(stack.env, 10) == 1, 60, 1.0, "the liveness check failing, broker frozen"
            )
            assert stack.worker.poll() is None  # alive, but not consuming: what a process check misses
            print(f"figures: /readyz answered in {elapsed:.2f} s; liveness failed {failed_after:.1f} s after SIGSTOP")
        finally:
            redis.send_signal(signal.SIGCONT)

        try:
            recovered_after = wait_until(
                lambda: _worker_alive(stack.env, 10) == 0, 60, 1.0, "the liveness check passing, broker back"
            )
        except TimeoutError as exc:
            pytest.fail(f"{exc}:\n{stack.worker_log.read_text()[-3000:]}")
        print(f"figures: liveness recovered {recovered_after:.1f} s after SIGCONT")
        # Readiness comes back as an event too (its checks reconnect with a 1 s deadline), not at the instant
        # liveness does: one run on a loaded machine (load average 6) answered 503 to a single GET here.
        last_ready: list[httpx.Response] = []

        def ready_again() -> bool:
            last_ready[:] = [httpx.get(f"{stack.url}/readyz", timeout=10)]
            return last_ready[0].status_code == 200

        try:
            ready_after = wait_until(ready_again, 30, 0.5, "/readyz 200")
        except TimeoutError as exc:
            pytest.fail(f"{exc}: {last_ready[0].text}")
        print(f"figures: /readyz 200 again {recovered_after + ready_after:.1f} s after SIGCONT")
        # Publishes lost to the freeze are the sweeper's (Celery beat in production): run it once.
        subprocess.run(
            [sys.executable, "manage.py", "sweep_reports"],
            cwd=REPO_ROOT,
            env={
                **stack.env,
                "PROMETHEUS_MULTIPROC_DIR": str(stack.metrics_root / "cli"),
                "SWEEPER_STALE_AFTER_S": "0",
            },
            check=True,
            timeout=60,
        )
        _wait_for_reports(client, accepted)


def test_with_no_metrics_variable_metrics_count_every_web_and_worker_process_exactly(tmp_path):
    """As an operator starts it with the documented variables only (DATABASE_URL, CELERY_BROKER_URL, REDIS_URL,
    DJANGO_SECRET_KEY; no metrics variable): granian with 2 workers and a Celery worker with 2 children on the
    production settings. /metrics counts every process of the deployment exactly: 36 accepted logs, 36 reports,
    6 webhook deliveries (common.metricsdir: one directory per deployment and process group, derived)."""
    from django.db import connection

    from common.metricsdir import deployment_key
    from tests.support.receiver import WebhookReceiver

    with private_redis_process() as (redis_url, _):
        queue = f"obs-{uuid.uuid4().hex[:8]}"
        db_url = database_url(connection.settings_dict)
        env = service_env(db_url=db_url, broker_url=redis_url, queue=queue, cache_url=redis_url.replace("/0", "/1"))
        for name in ("PROMETHEUS_MULTIPROC_DIR", "METRICS_MULTIPROC_ROOT", "METRICS_TOKEN"):
            env.pop(name, None)
        env.update(WEBHOOK_ALLOW_PRIVATE="true", BATTERY_DATA_DIR=str(tmp_path / "data"))
        assert env["DJANGO_SETTINGS_MODULE"] == "config.settings.production"
        root = Path(tempfile.gettempdir()) / "battery-metrics" / deployment_key(database=db_url, queue=queue)
        port = free_port()
        web = start_web(env, port, tmp_path / "web.log", workers=2)
        worker = start_worker(env, queue, tmp_path / "worker.log", concurrency=2)
        receiver = WebhookReceiver()
        try:
            url = f"http://127.0.0.1:{port}"
            wait_for_http(f"{url}/healthz", web)
            with _client(
                LiveStack(url, env, tmp_path / "web.log", tmp_path / "worker.log", root, worker), "obs-nv"
            ) as client:
                hook = client.post("/api/v1/webhooks", json={"url": receiver.url, "events": ["alert.opened"]})
                assert hook.status_code == 201, hook.text
                receiver.secret = hook.json()["secret"]
                ids = []
                # 12 vehicles x 3 logs; the first log of vehicles 0, 1 and 2 is hot (61 °C, and 200 mV apart):
                # an overheating and a voltage imbalance alert open on each, 6 alert.opened deliveries.
                for minute in range(3):
                    for vehicle in range(12):
                        hot = minute == 0 and vehicle < 3
                        answer = client.post("/api/v1/diagnostics", json=_log(f"NV-{vehicle:02d}", minute, hot=hot))
                        assert answer.status_code == 202, answer.text
                        ids.append(answer.json()["log_id"])
                _wait_for_reports(client, ids)
                wait_until(lambda: len(receiver.arrivals) >= 6, 60, 0.1, "6 webhook deliveries")

                def delivered() -> bool:
                    text = httpx.get(f"{url}/metrics", timeout=10).text
                    return _samples(text).get(("battery_webhook_deliveries_total", (("result", "delivered"),))) == 6

                # The worker counts a delivery after its attempt, a moment after the receiver answered.
                wait_until(delivered, 30, 0.1, "6 deliveries counted")
                samples = _samples(httpx.get(f"{url}/metrics", timeout=10).text)
        finally:
            receiver.close()
            stop(web)
            stop(worker)
            connection.close()
            files = sorted(root.glob("*/*.db"))
            shutil.rmtree(root, ignore_errors=True)

        def value(name: str, **labels: str) -> float:
            return samples.get((name, tuple(sorted(labels.items()))), 0.0)

        assert value("battery_ingest_logs_total", outcome="accepted") == 36
        assert value("battery_reports_total", status="completed") == 36
        assert value("battery_report_lag_seconds_count") == 36
        assert value("battery_report_anomalies_total", type="overheating") == 3
        assert value("battery_report_anomalies_total", type="voltage_imbalance") == 3
        assert value("battery_webhook_deliveries_total", result="delivered") == 6
        assert value("battery_http_requests_total", route="/api/v1/diagnostics", method="POST", status="202") == 36
        assert len(receiver.arrivals) == 6
        assert receiver.duplicates() == 0
        # Both web workers and both worker children wrote files, in the deployment's derived directory.
        pids = {re.sub(r"\D", "", path.name) for path in files}
        assert len(pids) >= 4, files
