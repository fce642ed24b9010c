"""Prometheus metrics of the whole service: every web process and every worker process, one /metrics.

Counters and histograms are counted where things happen (a web process, a worker child) with the official
`prometheus_client`. With several processes (granian workers, Celery prefork children) each process writes
its samples to memory-mapped files in `PROMETHEUS_MULTIPROC_DIR` (prometheus_client's multiprocess mode,
set before the first import of prometheus_client: config/settings/base.py sees to it), and /metrics merges the
files of every process. Web and worker may run in different containers whose process ids collide, so
each process group writes its own directory under one shared root (`METRICS_MULTIPROC_ROOT`) and the
scrape merges every `*.db` file below that root. A group's directory is emptied when the group starts
(`manage.py metrics_dir_reset`, and the Celery main process before it forks), never while it runs: the
counters of a dead child stay counted, as a counter must.

Gauges of the state of the data (pending logs, their age, the SoH distribution) are not per-process
counters: a collector asks the database at scrape time, one query (`DatabaseGaugesCollector`, its query
passed in by the project's URL configuration: common imports no app).

Without `PROMETHEUS_MULTIPROC_DIR` (a single process: runserver, the tests' client) the default registry
is served as it is.
"""

import glob
import hmac
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

# prometheus_client picks its value class from PROMETHEUS_MULTIPROC_DIR when imported, and an unlabelled
# metric writes its file at once: the directory must exist first.
if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from common import vocabulary

logger = logging.getLogger(__name__)

INGEST_OUTCOMES = vocabulary.codes(vocabulary.INGEST_OUTCOMES)

INGEST_LOGS = Counter(
    "battery_ingest_logs",
    "Diagnostic logs posted, by outcome (a bulk request counts each item; a bulk request refused as a whole "
    "counts one).",
    ["outcome"],
)
REPORTS = Counter("battery_reports", "Logs processed by the report worker, by status (completed, failed).", ["status"])
REPORT_ANOMALIES = Counter("battery_report_anomalies", "Anomalies found in stored reports, by type.", ["type"])
REPORT_LAG = Histogram(
    "battery_report_lag_seconds",
    "From a log received (its received_at) to its report stored, observed by the worker per report.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 3600),
)
WEBHOOK_DELIVERIES = Counter("battery_webhook_deliveries", "Webhook delivery attempts, by result.", ["result"])
HTTP_REQUESTS = Counter(
    "battery_http_requests",
    "HTTP requests served, by route (the URL pattern), method and status.",
    ["route", "method", "status"],
)
HTTP_LATENCY = Histogram(
    "battery_http_request_duration_seconds",
    "HTTP request latency in seconds, by route (the URL pattern) and method, from the middleware's view.",
    ["route", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
TASKS = Counter(
    "battery_worker_tasks", "Celery tasks finished by the workers, by task name and state.", ["task", "state"]
)


def multiproc_root() -> str | None:
    """The directory whose `*.db` files (at any depth) /metrics merges; None in single-process mode."""
    return os.environ.get("METRICS_MULTIPROC_ROOT") or os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def multiproc_dir_reset(path: str | None = None) -> str | None:
    """Empty (create) this process group's metrics directory; to be called once as the group starts."""
    target = path or os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not target:
        return None
    shutil.rmtree(target, ignore_errors=True)
    Path(target).mkdir(parents=True, exist_ok=True)
    return target


class _MergedFilesCollector(Collector):
    """prometheus_client's multiprocess merge over every `*.db` below `root` (one directory per group)."""

    def __init__(self, root: str) -> None:
        self._root = root

    def collect(self) -> Iterable[Metric]:
        files = glob.glob(os.path.join(self._root, "**", "*.db"), recursive=True)
        merged: Iterable[Metric] = MultiProcessCollector.merge(files, accumulate=True)  # type: ignore[no-untyped-call]
        return merged


@dataclass(frozen=True)
class DatabaseGauges:
    """The state of the data at one instant, read by one query (see the project's selector)."""

    pending_logs: int
    oldest_pending_log_age_seconds: float
    vehicles_by_soh_band: dict[str, int]
    alerts_open: dict[tuple[str, str], int] = field(default_factory=dict)  # (type, severity) -> unresolved


class DatabaseGaugesCollector(Collector):
    """Gauges computed from the database when scraped; a failed query drops them and says so in
    `battery_metrics_database_up` (the scrape itself still answers)."""

    def __init__(self, read: Callable[[], DatabaseGauges]) -> None:
        self._read = read

    def collect(self) -> Iterable[Metric]:
        up = GaugeMetricFamily("battery_metrics_database_up", "1 if the scrape's database query succeeded.")
        try:
            gauges = self._read()
        except Exception as exc:  # a scrape survives anything (the database down, most often); counters still serve
            logger.warning("metrics: database gauges dropped (%s: %s)", type(exc).__name__, exc)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield GaugeMetricFamily(
            "battery_pending_logs", "Logs waiting for their report (pending or processing).", value=gauges.pending_logs
        )
        yield GaugeMetricFamily(
            "battery_oldest_pending_log_age_seconds",
            "Age (now - received_at) of the oldest log waiting for its report; 0 when none waits.",
            value=gauges.oldest_pending_log_age_seconds,
        )
        soh = GaugeMetricFamily(
            "battery_vehicles_by_soh", "Vehicles by the SoH band (percent) of their latest report.", labels=["band"]
        )
        for band, count in gauges.vehicles_by_soh_band.items():
            soh.add_metric([band], count)
        yield soh
        alerts = GaugeMetricFamily(
            "battery_alerts_open", "Unresolved alerts (open or acknowledged).", labels=["type", "severity"]
        )
        for (alert_type, severity), count in sorted(gauges.alerts_open.items()):
            alerts.add_metric([alert_type, severity], count)
        yield alerts


def metrics_exposition(extra: Sequence[Collector] = ()) -> bytes:
    """The text exposition of every process's counters plus the `extra` collectors."""
    root = multiproc_root()
    if root:
        registry = CollectorRegistry(auto_describe=False)
        registry.register(_MergedFilesCollector(root))
    else:
        registry = CollectorRegistry(auto_describe=False)
        registry.register(_RegistryProxy(REGISTRY))
    for collector in extra:
        registry.register(collector)
    return generate_latest(registry)


class _RegistryProxy(Collector):
    def __init__(self, registry: CollectorRegistry) -> None:
        self._registry = registry

    def collect(self) -> Iterable[Metric]:
        return self._registry.collect()


def bearer_token_matches(authorization: str, token: str) -> bool:
    """`Authorization: Bearer <token>`, compared in constant time."""
    scheme, _, given = authorization.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


CONTENT_TYPE = CONTENT_TYPE_LATEST


class Stopwatch:
    """Monotonic seconds since creation."""

    def __init__(self) -> None:
        self._start = time.perf_counter()

    def seconds(self) -> float:
        return time.perf_counter() - self._start
