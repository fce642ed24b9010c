"""Limits of every JSON request body (API.md section 1), framework-free: `common.parsers` enforces them;
the log's validation contract (`diagnostics.contract`) and the docs quote them."""

from datetime import timedelta
from typing import Final

MAX_DEPTH: Final = 64
"""The deepest JSON body accepted, counted in nested arrays and objects from the body's root (a log is
3 deep: object, cells, cell); deeper anywhere, ignored unknown fields included, is a 400 parse_error."""

TIMESTAMP_MAX_FUTURE: Final = timedelta(minutes=5)
"""A log's timestamp may be at most this far ahead of the server's clock (the clocks of vehicles drift)."""
