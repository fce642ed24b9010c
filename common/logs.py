"""Structured logs: structlog over the standard library's logging, so every logger (ours, Django's, Celery's)
writes the same lines.

`LOG_FORMAT=json`: one JSON object per line with `timestamp` (ISO 8601, UTC), `level`, `event`, `logger`
and whatever is bound in the context at that moment: `request_id` (common.middleware), `fleet`,
`vehicle_id`, `log_id` (the ingest API), `task_id` (the Celery task signals below). Otherwise a readable
console line with the same fields. Module loggers keep `logging.getLogger(__name__)` and %-formatting:
the formatter adds the context; `extra={...}` fields are added too.

No Django import at module level: config/settings/base.py builds LOGGING from `logging_config`.
"""

import logging
import re
import sys
import uuid
from typing import IO, Any

import orjson
import structlog

REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID_MAX = 128
_PRINTABLE = re.compile(r"^[\x21-\x7e]+$")  # visible ASCII: no spaces, no control characters


def request_id_from_header(value: str | None) -> str:
    """The client's X-Request-ID when it is printable ASCII of at most 128 characters; else a new uuid4."""
    if value and len(value) <= _REQUEST_ID_MAX and _PRINTABLE.match(value):
        return value
    return str(uuid.uuid4())


def current_request_id() -> str | None:
    """The request id bound in this context (a request's thread, an eager task), if any."""
    value = structlog.contextvars.get_contextvars().get("request_id")
    return str(value) if value is not None else None


def bind(**values: Any) -> None:
    """Add fields to every log line of the current context (request or task)."""
    structlog.contextvars.bind_contextvars(**{key: value for key, value in values.items() if value is not None})


def _orjson_text(value: Any, **kwargs: Any) -> str:
    """JSON text by orjson (several times faster than the standard library's); what it cannot encode is repr'd."""
    return orjson.dumps(value, default=repr).decode()


def _shared_processors() -> list[Any]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.ExtraAdder(),
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="timestamp"),
    ]


REQUEST_LOGGER = "battery_health.request"
# The per-request line's writer under LOG_FORMAT=json (see request_line); None: the standard library's path.
_request_line_json: Any = None


def _request_logger_name(logger: Any, method_name: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    event_dict["logger"] = REQUEST_LOGGER
    return event_dict


def request_line_configure(*, level: str, json_format: bool, stream: IO[str] | None = None) -> None:
    """Set up the writer of the per-request line (`request finished`), once per process.

    It is the one line every request writes, so under LOG_FORMAT=json it takes structlog's own fast path
    (structlog's performance guide: a filtering bound logger cached on first use, orjson, a WriteLogger)
    rather than the standard library's (a LogRecord made and copied, caller lookup, the formatter's
    processor chain, the handler's lock): the same JSON object, with the same fields (`timestamp`, `level`,
    `event`, `logger` and the bound context), written to the same stream, in about a third of the time
    (docs/performance.md, "Observability"). In console mode the line goes through logging as every other.
    """
    global _request_line_json
    if not json_format:
        _request_line_json = None
        return
    _request_line_json = structlog.wrap_logger(
        structlog.WriteLogger(stream if stream is not None else sys.stderr),
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelNamesMapping()[level.upper()]),
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            _request_logger_name,
            structlog.processors.TimeStamper(fmt="iso", utc=True, key="timestamp"),
            structlog.processors.JSONRenderer(serializer=_orjson_text),
        ],
        cache_logger_on_first_use=True,
    )


def request_line(**fields: Any) -> None:
    """Log the `request finished` line with `fields` (method, route, status, duration_ms) and the context."""
    if _request_line_json is not None:
        _request_line_json.info("request finished", **fields)
    else:
        logging.getLogger(REQUEST_LOGGER).info("request finished", extra=fields)


def logging_config(*, level: str, json_format: bool, quiet: dict[str, str]) -> dict[str, Any]:
    """A `LOGGING` dict: one stream handler, rendered as JSON lines or for the console (and the per-request
    line's writer, request_line_configure)."""
    request_line_configure(level=level, json_format=json_format)
    renderer: Any = (
        structlog.processors.JSONRenderer(serializer=_orjson_text)
        if json_format
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *_shared_processors(),
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "structured": {
                "()": structlog.stdlib.ProcessorFormatter,
                "foreign_pre_chain": _shared_processors(),
                "processors": [
                    structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.format_exc_info,
                    renderer,
                ],
            }
        },
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "structured"}},
        "root": {"handlers": ["console"], "level": level},
        "loggers": {name: {"level": value} for name, value in quiet.items()},
    }


def celery_task_context_connect() -> None:
    """Bind `task_id` (and the task's name) to the log lines of each Celery task while it runs.

    Tokens are reset after the task, not the whole context cleared: an eager task runs inside its
    request and keeps the request's fields.
    """
    from celery.signals import task_postrun, task_prerun

    tokens: dict[str, Any] = {}

    @task_prerun.connect(weak=False)
    def _bind_task(task_id: str | None = None, task: Any = None, **kwargs: Any) -> None:
        if task_id:
            tokens[task_id] = structlog.contextvars.bind_contextvars(task_id=task_id, task=getattr(task, "name", None))

    @task_postrun.connect(weak=False)
    def _unbind_task(task_id: str | None = None, **kwargs: Any) -> None:
        saved = tokens.pop(task_id, None) if task_id else None
        if saved:
            structlog.contextvars.reset_contextvars(**saved)


def celery_worker_json_startup_connect() -> None:
    """Under LOG_FORMAT=json, the worker's start-up and shutdown messages as JSON lines too.

    Celery prints its banner (hostname, version, broker, concurrency, queues, tasks) and its shutdown
    notices ("worker: Warm shutdown (MainProcess)") straight to the terminal, bypassing logging. With
    JSON logs the banner is replaced by one `worker starting` line carrying the same facts as fields
    (Celery's `celeryd_after_setup` signal comes just before the banner; the worker's `quiet` skips it),
    the notices go through logging (`celery.apps.worker`), and Python warnings (e.g. Celery's
    SecurityWarning when run as root) through `py.warnings`.
    """
    import celery
    import celery.apps.worker as celery_worker
    from celery.signals import celeryd_after_setup

    logging.captureWarnings(True)
    notices = logging.getLogger("celery.apps.worker")

    def _say(msg: str, f: Any = None) -> None:
        notices.warning(msg.strip())

    celery_worker.safe_say = _say

    @celeryd_after_setup.connect(weak=False)
    def _startup_line(sender: str, instance: Any, conf: Any, **kwargs: Any) -> None:
        if instance.quiet:
            return
        instance.quiet = True  # no banner: this line says it
        app = instance.app
        pool = getattr(instance.pool_cls, "__module__", "").rsplit(".", 1)[-1] or str(instance.pool_cls)
        logging.getLogger("celery.apps.worker").info(
            "worker starting",
            extra={
                "hostname": sender,
                "celery_version": celery.__version__,
                "broker": app.connection_for_write().as_uri(),  # the password masked
                "concurrency": instance.concurrency,
                "pool": pool,
                "queues": sorted(queue.name for queue in app.amqp.queues.consume_from.values()),
                "tasks": sorted(name for name in app.tasks if not name.startswith("celery.")),
            },
        )
