"""The project's Celery app plus a no-op task: the queue's own latency, with nothing else in it.

A worker whose settings import this module (``benchmarks.reference.textbook_settings``:
``CELERY_IMPORTS``) serves the app's tasks and ``bench.noop``. The no-op task does one thing so that its
run can be observed: it pushes ``"<sent_at> <ran_at>"`` (wall clock) onto a Redis list on the broker
when given a key.
"""

import time

from config.celery import app

_redis = None


@app.task(name="bench.noop", ignore_result=True, acks_late=True)
def noop(sent_at: float, key: str = "") -> None:
    """Nothing, except telling the benchmark when it ran (one RPUSH) when `key` is given."""
    global _redis
    if not key:
        return
    ran_at = time.time()
    if _redis is None:
        import redis

        _redis = redis.Redis.from_url(app.conf.broker_url)
    _redis.rpush(key, f"{sent_at} {ran_at}")


__all__ = ["app", "noop"]
