"""Where prometheus_client's multiprocess files go, decided once per process group by the settings.

Every web worker (granian) and every Celery child counts in its own process; /metrics must show them all
(API.md §8). prometheus_client's multiprocess mode does that with one memory-mapped file per process in
PROMETHEUS_MULTIPROC_DIR, merged at scrape time, and it must know the directory before it is first
imported. So the settings call `metrics_directories` before anything imports prometheus_client:

- the **root** is METRICS_MULTIPROC_ROOT (the one variable an operator may want to set: a volume shared by
  the web and worker containers of a deployment), else ``<tmp>/battery-metrics/<deployment>``, where
  ``<deployment>`` is a digest of the database and the report queue: the web and worker processes of one
  deployment on one host meet there with no setting at all, and two deployments (or two test stacks) on
  one host never mix;
- each **process group** (a granian master and its workers, a Celery main process and its children: one
  process group of the operating system, or one container) writes ``<root>/<host>-pg<pgid>`` (unless
  PROMETHEUS_MULTIPROC_DIR pins it). Process ids never repeat within a group on one host, and a dead
  child's file stays, so its counts stay counted while the group lives;
- a group's directory is **removed** when a new group of the same host starts and no process of the old
  group is alive any more (a previous run of the service): counters start again from zero with the
  service, never while it runs.

The merge reads every ``*.db`` file below the root (common.metrics). No Django and no prometheus_client here.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import socket
import tempfile
from pathlib import Path

_GROUP_DIR = re.compile(r"^(?P<host>.+)-pg(?P<pgid>\d+)$")


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def deployment_key(*, database: str, queue: str) -> str:
    """A short digest naming one deployment (its database and report queue)."""
    return hashlib.sha256(f"{database}|{queue}".encode()).hexdigest()[:16]


def metrics_directories(*, database: str, queue: str) -> tuple[str, str]:
    """(root, this group's directory), both created, and set in os.environ (METRICS_MULTIPROC_ROOT,
    PROMETHEUS_MULTIPROC_DIR) for prometheus_client and for the group's child processes."""
    root = os.environ.get("METRICS_MULTIPROC_ROOT") or str(
        Path(tempfile.gettempdir()) / "battery-metrics" / deployment_key(database=database, queue=queue)
    )
    own = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not own:
        host = socket.gethostname()
        own = str(Path(root) / f"{host}-pg{os.getpgrp()}")
        stale_groups_remove(root, host=host, keep=own)
    Path(own).mkdir(parents=True, exist_ok=True)
    os.environ["METRICS_MULTIPROC_ROOT"] = root
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = own
    return root, own


def stale_groups_remove(root: str, *, host: str, keep: str) -> list[str]:
    """Remove the directories of this host's process groups of which no process lives; their paths."""
    removed = []
    base = Path(root)
    if not base.is_dir():
        return removed
    for entry in base.iterdir():
        match = _GROUP_DIR.match(entry.name)
        if match is None or match["host"] != host or str(entry) == keep or not entry.is_dir():
            continue
        if not _group_alive(int(match["pgid"])):
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(str(entry))
    return removed
