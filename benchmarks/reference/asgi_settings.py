"""Our service's settings for an ASGI server (uvicorn): the same, except the database connections.

Under ASGI, Django runs each request's sync code in a thread of its own, so a persistent connection
(CONN_MAX_AGE=60 in config/settings.py) is left behind in every such thread: the server runs out of
PostgreSQL connections ("too many clients") within seconds. The supported way is no persistent
connections plus Django's psycopg 3 connection pool, which is what this module sets.
"""

from config.settings import *  # noqa: F403
from config.settings import DATABASES

DATABASES["default"]["CONN_MAX_AGE"] = 0
DATABASES["default"]["CONN_HEALTH_CHECKS"] = False
DATABASES["default"]["OPTIONS"]["pool"] = {"min_size": 2, "max_size": 8, "timeout": 10}
