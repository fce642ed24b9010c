"""The project's settings with observability switched off: the baseline of bench_observability.

The same code, database and broker as the measured service, without the ObservabilityMiddleware (no
request id, no HTTP metrics, no `request finished` line), served without PROMETHEUS_MULTIPROC_DIR and with
LOG_FORMAT=console (bench_observability's environment). What stays: the ingest view's two context binds
(a few microseconds) and prometheus_client's in-memory counters of the ingest outcomes of a bulk request
(not on the single-log path), so the cost measured is, if anything, slightly understated.
"""

from config.settings.local import *  # noqa: F403
from config.settings.local import MIDDLEWARE

MIDDLEWARE = [name for name in MIDDLEWARE if name != "common.middleware.ObservabilityMiddleware"]
