"""Limits of every JSON request body (API.md section 1), framework-free: `common.parsers` enforces them;
the log's validation contract (`diagnostics.contract`) and the docs quote them."""

from typing import Final

MAX_DEPTH: Final = 64
"""The deepest JSON body accepted, counted in nested arrays and objects from the body's root (a log is
3 deep: object, cells, cell); deeper anywhere, ignored unknown fields included, is a 400 parse_error."""
