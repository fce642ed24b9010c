#!/usr/bin/env python
"""Where a request's CPU goes: py-spy samples of a granian worker of our service under load.

    .venv-bench/bin/python -m benchmarks.profile_ingest [--quick] [--endpoint ingest|report] [--duration 15]
    .venv-bench/bin/python -m benchmarks.profile_ingest --cprofile [--requests 2000]

Not a ``bench_*`` script (``make bench`` does not run it). On the harness's stack (benchmarks/benchlib.py
``bench_stack``) it starts our service with ONE granian worker (``tests.support.infra.start_web``: one
process holds every request, on its 2 threads), drives it with the closed-loop generator
(8 connections), and records it with ``py-spy record --format raw`` (collapsed stacks, idle frames
excluded). It prints the share of samples that fall in each stage of the request (inclusive), and the
hottest frames by own time. Needs py-spy (requirements-bench.txt) and ptrace rights (root here).
py-spy counts a thread blocked in a C call (a socket read) as busy, so its shares are close to wall time.

``--cprofile``: CPU instead of wall time. The requests go through Django's test client in this process
(no HTTP server, the same middleware, view, database and broker), timed with ``time.process_time`` and
profiled with cProfile; own CPU time is then summed per package (django, rest_framework, kombu, redis,
psycopg2, the app's modules ...).
"""

from __future__ import annotations

import collections
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.bench_workers import insert_pending
from benchmarks.benchlib import Fleet, GetSpec, base_parser, bench_stack, closed_loop, log, serve
from tests.support.infra import stop_tree

REPO_ROOT = Path(__file__).resolve().parent.parent

# Stage -> substrings of a frame ("function (file:line)") that put a sample in it. First match wins per stage.
STAGES = {
    "JWT authentication (simplejwt, incl. the user query)": ["rest_framework_simplejwt/authentication.py"],
    "throttling (2 throttles, Redis)": ["common/throttling.py"],
    "validation (log_validate)": ["diagnostics/validation.py"],
    "ingest SQL (diagnostic_log_ingest, without the publish)": ["_execute_with_wrappers"],
    "report task publish (kombu/Redis)": ["reports_enqueue (reports/dispatch.py"],
    "report selector (GET)": ["report_get (reports/selectors.py"],
    "DB connection health check / close_old_connections": ["close_old_connections", "is_usable"],
    "Django middleware (outside the view)": ["django/utils/deprecation.py"],
    "DRF response rendering": ["rest_framework/response.py", "renderers.py"],
}


def report_paths(fleet: Fleet, count: int = 500) -> list[str]:
    """`count` logs with their reports (COPY and the raw batch loop); their report paths."""
    from benchmarks.reference import raw_db

    ids = insert_pending(fleet, count)
    with fleet.pg() as conn:
        raw_db.raw_batch_reports(conn, ids)
    return [f"/api/v1/reports/{i}" for i in ids]


def cprofile_requests(fleet: Fleet, *, endpoint: str, requests: int) -> None:
    import cProfile
    import pstats

    from django.test import Client

    client = Client(HTTP_HOST="127.0.0.1")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {fleet.token}"}
    spec = fleet.ingest_spec()
    paths = report_paths(fleet) if endpoint == "report" else []

    def one(k: int) -> int:
        if endpoint == "report":
            return client.get(paths[k % len(paths)], **auth).status_code
        return client.post(
            "/api/v1/diagnostics", data=spec.body(k), content_type="application/json", **auth
        ).status_code

    for k in range(100):
        assert one(k) in (200, 202), "warm-up request failed"
    started = time.process_time()
    for k in range(100, 100 + requests):
        one(k)
    plain = (time.process_time() - started) / requests
    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    for k in range(100 + requests, 100 + 2 * requests):
        one(k)
    profiler.disable()
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    by_package: collections.Counter[str] = collections.Counter()
    by_function: collections.Counter[str] = collections.Counter()
    total = 0.0
    for (filename, line, name), (_, _, own, _, _) in stats.items():
        total += own
        by_function[f"{name} ({filename.split('site-packages/')[-1]}:{line})"] += own
        if "site-packages/" in filename:
            package = filename.split("site-packages/")[1].split("/")[0]
        elif str(REPO_ROOT) in filename:
            package = "app: " + "/".join(filename.split(str(REPO_ROOT) + "/")[1].split("/")[:2])
        elif filename.startswith("~") or filename.startswith("<"):
            package = "builtins (C)"
        else:
            package = "stdlib: " + Path(filename).name
        by_package[package] += own
    print(f"\n=== cProfile: {endpoint} via the test client, {requests} requests ===")
    print(f"CPU per request without the profiler: {plain * 1000:.2f} ms (test client included)")
    # Inclusive CPU of the request's stages (cumulative time of the function that embodies each).
    stages = [
        ("Django handler (everything but the test client)", "django/core/handlers/base.py", "get_response"),
        ("  DRF dispatch (view, auth, throttles, rendering)", "rest_framework/views.py", "dispatch"),
        (
            "    JWT authentication (simplejwt, incl. user query)",
            "rest_framework_simplejwt/authentication.py",
            "authenticate",
        ),
        ("    throttles (2, Redis INCR)", "rest_framework/views.py", "check_throttles"),
        ("    validation (log_validate)", "diagnostics/validation.py", "log_validate"),
        ("    diagnostic_log_ingest (SQL + publish)", "diagnostics/services.py", "diagnostic_log_ingest"),
        ("      report publish, on commit", "reports/dispatch.py", "reports_enqueue_on_commit"),
        ("      report publish hand-off (publisher.submit)", "reports/dispatch.py", "submit"),
        ("    report selector (GET)", "reports/selectors.py", "report_get"),
        ("    response rendering", "rest_framework/response.py", "rendered_content"),
        ("  DB connection health check", "django/db/backends/base/base.py", "close_if_health_check_failed"),
        ("  request_started/finished: close_old_connections", "django/db/__init__.py", "close_old_connections"),
    ]
    print("stages, inclusive CPU per request (profiled, so inflated; compare shares):")
    handler = None
    for label, file_part, func in stages:
        cum = sum(v[3] for (f, _, n), v in stats.items() if n == func and f.endswith(file_part))
        if label.startswith("Django handler"):
            handler = cum
        if cum:
            share = f"{100 * cum / handler:5.1f} % of handler" if handler else ""
            print(f"  {1000 * cum / requests:6.3f} ms  {share}  {label}")
    print("own CPU by package (share of the profiled total):")
    for package, own in by_package.most_common(18):
        print(f"  {100 * own / total:5.1f} %  {package}")
    print("hottest functions (own CPU):")
    for function, own in by_function.most_common(20):
        print(f"  {100 * own / total:5.1f} %  {function[:140]}")


def main() -> int:
    p = base_parser(__doc__ or "")
    p.add_argument("--endpoint", choices=["ingest", "report"], default="ingest")
    p.add_argument("--duration", type=float, default=None, help="seconds profiled (default 15, quick 4)")
    p.add_argument("--rate", type=int, default=250, help="py-spy samples per second (default 250)")
    p.add_argument("--cprofile", action="store_true", help="CPU profile in-process with cProfile (no py-spy)")
    p.add_argument("--requests", type=int, default=None, help="requests for --cprofile (default 2000, quick 200)")
    args = p.parse_args()
    duration = args.duration or (4.0 if args.quick else 15.0)
    if args.cprofile:
        with bench_stack("bench_profile", args) as fleet:
            cprofile_requests(fleet, endpoint=args.endpoint, requests=args.requests or (200 if args.quick else 2000))
        return 0
    pyspy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(pyspy).exists():
        print("py-spy is not installed (pip install -r requirements-bench.txt)", file=sys.stderr)
        return 2
    out = Path(tempfile.mkdtemp(prefix="profile-")) / "stacks.txt"
    with bench_stack("bench_profile", args) as fleet:
        server = serve(fleet.stack, "ours", workers=1)
        import psutil

        worker_pid = psutil.Process(server.proc.pid).children()[0].pid
        if args.endpoint == "ingest":
            spec: Any = fleet.ingest_spec()
        else:
            spec = GetSpec(token=fleet.token, paths=report_paths(fleet))
        closed_loop(server.url, spec, duration_s=2, connections=8)
        spy_argv = [pyspy, "record", "--pid", str(worker_pid), "--format", "raw", "--output", str(out)]
        spy_argv += ["--rate", str(args.rate), "--duration", str(int(duration)), "--nonblocking"]
        spy = subprocess.Popen(spy_argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            time.sleep(0.5)
            result = closed_loop(server.url, spec, duration_s=duration - 1, connections=8)
            spy.wait(timeout=duration + 30)
        finally:
            stop_tree(spy)
            server.stop()
    log(f"load: {result.rps:.0f} req/s, p99 {result.p99_ms} ms, errors {result.errors}")
    if not out.exists():
        print(f"py-spy wrote nothing: {spy.stderr.read().decode() if spy.stderr else ''}", file=sys.stderr)
        return 2
    total = in_request = 0
    stage_samples: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    for line in out.read_text().splitlines():
        stack_text, _, count_text = line.rpartition(" ")
        count = int(count_text)
        total += count
        in_request += count if "get_response" in stack_text else 0
        own[stack_text.split(";")[-1]] += count
        for stage, needles in STAGES.items():
            if any(needle in stack_text for needle in needles):
                stage_samples[stage] += count
    print(f"\n=== py-spy: {args.endpoint}, granian 1 worker x 2 threads, {total} samples ===")
    print(f"throughput during the profile: {result.rps:.0f} req/s")
    print(f"samples inside a request: {100 * in_request / max(total, 1):.1f} %")
    print("stage (inclusive share of all non-idle samples):")
    for stage, count in stage_samples.most_common():
        print(f"  {100 * count / total:5.1f} %  {stage}")
    print("hottest frames (own time):")
    for frame, count in own.most_common(15):
        print(f"  {100 * count / total:5.1f} %  {frame[:150]}")
    print(f"\nraw stacks: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
