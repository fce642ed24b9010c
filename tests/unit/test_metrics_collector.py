"""common.metrics.DatabaseGaugesCollector: a failed database read drops the gauges, says so, and logs why."""

import logging

import pytest
from django.db import OperationalError

from common.metrics import DatabaseGauges, DatabaseGaugesCollector


def _samples(collector: DatabaseGaugesCollector) -> dict[str, float]:
    return {sample.name: sample.value for family in collector.collect() for sample in family.samples}


def test_a_read_that_fails_leaves_only_database_up_0_and_logs_the_cause(caplog: pytest.LogCaptureFixture) -> None:
    def read() -> DatabaseGauges:
        raise OperationalError("connection refused")

    with caplog.at_level(logging.WARNING, logger="common.metrics"):
        assert _samples(DatabaseGaugesCollector(read)) == {"battery_metrics_database_up": 0}
    assert [r.getMessage() for r in caplog.records] == [
        "metrics: database gauges dropped (OperationalError: connection refused)"
    ]


def test_a_read_that_succeeds_says_database_up_1_and_logs_nothing(caplog: pytest.LogCaptureFixture) -> None:
    def read() -> DatabaseGauges:
        return DatabaseGauges(pending_logs=3, oldest_pending_log_age_seconds=1.5, vehicles_by_soh_band={})

    with caplog.at_level(logging.WARNING, logger="common.metrics"):
        samples = _samples(DatabaseGaugesCollector(read))
    assert (samples["battery_metrics_database_up"], samples["battery_pending_logs"]) == (1, 3)
    assert caplog.records == []
