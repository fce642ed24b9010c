#!/usr/bin/env python
"""Single-log and bulk ingest of this checkout against an earlier revision, in one run.

    .venv-bench/bin/python -m benchmarks.bench_ingest_revisions --before ae2b7ad [--rounds 3] [--json PATH]

The issue "The fleet's data through the API" asks that single-log and bulk ingest stay within 10 % of their
figures before it (same benchmark, same run). ``--before`` names the revision before it; the script checks
it out into a temporary git worktree. Each revision gets its own database (DATABASE_URL's server, the
databases ``bench_rev_before`` and ``bench_rev_after``, created and dropped here), migrated by its own code,
and its own copy of the same API user. Both are served alike: granian 2 workers x 2 threads (the
harness's command line), the same settings, the same broker (CELERY_BROKER_URL; no worker runs, the queue
is purged after each run).

Each round serves before, then after (alternating which goes first), and measures on each:

- single-log: the closed loop of benchmarks/benchlib.py (wrk, or the asyncio client without it),
  --connections keep-alive connections, each POST a new 100-cell log with a JWT, a warm-up, then
  --duration seconds: requests/s, p50/p99, server CPU per request;
- bulk: --bulk-requests POSTs of 1,000 new 100-cell logs (2 in flight) after one warm-up request:
  logs created per second.

The best round of each is kept (on a shared 2-CPU VM interference only lowers a figure), and the lowest
server CPU per request. Prints the figures and after/before ratios.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse

import httpx
import orjson
import psycopg2

from benchmarks.benchlib import (
    BULK_PATH,
    IngestSpec,
    closed_loop,
    machine_info,
    post_bodies,
    run_meta,
    save_result,
    serve_checkout,
)

REPO_ROOT = Path(__file__).resolve().parent.parent

USER, FLEET, PASSWORD = "bench-rev", "bench-rev", "bench-rev-pass"


def _admin(server_url: str, sql: str) -> None:
    connection = psycopg2.connect(urlparse(server_url)._replace(path="/postgres").geturl())
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql)
    finally:
        connection.close()


def _manage(checkout: Path, env: dict[str, str], *argv: str) -> None:
    subprocess.run([sys.executable, "manage.py", *argv], cwd=checkout, env=env, check=True, capture_output=True)


def _count_logs(db_url: str) -> int:
    connection = psycopg2.connect(db_url)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM diagnostics_diagnosticlog")
            return int(cursor.fetchone()[0])
    finally:
        connection.close()


def measure(checkout: Path, env: dict[str, str], log_path: Path, window: int, args: argparse.Namespace) -> dict:
    server = serve_checkout(checkout, env, log_path)
    url = server.url
    try:
        token = httpx.post(f"{url}/api/v1/auth/token", json={"username": USER, "password": PASSWORD}).json()["access"]
        warm = IngestSpec(token=token, vehicle_prefix="BREV", vehicles=500, base_s=window)
        closed_loop(url, warm, duration_s=args.warmup, connections=args.connections)
        spec = IngestSpec(token=token, vehicle_prefix="BREV", vehicles=500, base_s=window + 100_000)
        logs_before = _count_logs(env["DATABASE_URL"])
        cpu_before = server.cpu()
        single = closed_loop(url, spec, duration_s=args.duration, connections=args.connections)
        cpu = server.cpu() - cpu_before
        stored = _count_logs(env["DATABASE_URL"]) - logs_before
        bulk_spec = IngestSpec(token=token, vehicle_prefix="BREV", vehicles=500, base_s=window + 200_000)
        bodies = [
            b"[" + b",".join(bulk_spec.body(r * 1000 + i) for i in range(1000)) + b"]"
            for r in range(args.bulk_requests + 1)
        ]
        post_bodies(url, BULK_PATH, bulk_spec.headers(), bodies[:1], concurrency=1)
        answers, seconds = post_bodies(url, BULK_PATH, bulk_spec.headers(), bodies[1:], concurrency=2)
    finally:
        server.stop()
        subprocess.run(
            [sys.executable, "-m", "celery", "-A", "config", "purge", "-f"],
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
        )
    created = sum(orjson.loads(body)["counts"]["created"] for status, body, _ in answers if status == 200)
    return {
        "single_rps": round(single.rps, 1),
        "single_p50_ms": single.p50_ms,
        "single_p99_ms": single.p99_ms,
        "single_errors": single.errors,
        "single_stored": stored,
        "single_cpu_ms_per_req": round(1000 * cpu / max(single.requests, 1), 3),
        "bulk_logs_per_s": round(created / seconds, 1),
        "bulk_created": created,
        "bulk_non_200": sum(1 for status, _, _ in answers if status != 200),
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--before", required=True, help="the git revision before the change (e.g. ae2b7ad)")
    p.add_argument("--rounds", type=int, default=None, help="rounds, each A B or B A (default 3, quick 2)")
    p.add_argument("--duration", type=float, default=None, help="seconds per single-log run (default 8, quick 3)")
    p.add_argument("--warmup", type=float, default=2.0)
    p.add_argument("--connections", type=int, default=16)
    p.add_argument("--bulk-requests", type=int, default=None, help="bulk requests per run (default 8, quick 3)")
    p.add_argument("--quick", action="store_true", help="a smoke run: 2 rounds of 3 s, 3 bulk requests")
    p.add_argument("--json", type=Path, default=None, help="also write the figures to this file")
    args = p.parse_args()
    args.rounds = args.rounds or (2 if args.quick else 3)
    args.duration = args.duration or (3.0 if args.quick else 8.0)
    args.bulk_requests = args.bulk_requests or (3 if args.quick else 8)
    meta = run_meta("ingest_revisions", quick=args.quick)
    for name in ("DATABASE_URL", "CELERY_BROKER_URL"):
        if not os.environ.get(name):
            p.error(f"{name} must be set")
    server_url = os.environ["DATABASE_URL"]

    work = Path(tempfile.mkdtemp(prefix="bench-rev-"))
    before_tree = work / "before"
    subprocess.run(["git", "worktree", "add", "--detach", str(before_tree), args.before], cwd=REPO_ROOT, check=True)
    revision = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=before_tree, check=True, capture_output=True, text=True
    ).stdout.strip()
    after_revision = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, check=True, capture_output=True, text=True
    ).stdout.strip()
    base = dict(os.environ, DJANGO_SECRET_KEY="bench-only-not-secret")
    base.update(THROTTLE_USER_RATE="100000000/min", THROTTLE_FLEET_RATE="100000000/min", LOG_LEVEL="WARNING")
    configs: dict[str, tuple[Path, dict[str, str]]] = {}
    try:
        for name, checkout in (("before", before_tree), ("after", REPO_ROOT)):
            database = f"bench_rev_{name}"
            _admin(server_url, f"DROP DATABASE IF EXISTS {database}")
            _admin(server_url, f"CREATE DATABASE {database}")
            env = {**base, "DATABASE_URL": urlparse(server_url)._replace(path=f"/{database}").geturl()}
            # Revisions before the settings split have one module; since, the local settings read the same
            # environment (a database and a broker: the measured server publishes as deployed).
            split = (checkout / "config" / "settings" / "local.py").exists()
            env["DJANGO_SETTINGS_MODULE"] = "config.settings.local" if split else "config.settings"
            _manage(checkout, env, "migrate", "--noinput")
            _manage(checkout, env, "create_api_user", USER, "--fleet", FLEET, "--password", PASSWORD)
            configs[name] = (checkout, env)

        results: dict[str, list[dict]] = {name: [] for name in configs}
        window = int(time.time()) - 10 * 365 * 86400
        machine = machine_info()
        for round_index in range(args.rounds):
            order = ["before", "after"] if round_index % 2 == 0 else ["after", "before"]
            for name in order:
                checkout, env = configs[name]
                window += 1_000_000
                figures = measure(checkout, env, work / f"{name}.log", window, args)
                figures["load_1m"] = round(os.getloadavg()[0], 2)
                results[name].append(figures)
                print(f"round {round_index + 1} {name:6s} {figures}", flush=True)
    finally:
        for name in ("before", "after"):
            _admin(server_url, f"DROP DATABASE IF EXISTS bench_rev_{name} WITH (FORCE)")
        subprocess.run(["git", "worktree", "remove", "--force", str(before_tree)], cwd=REPO_ROOT, check=False)

    best = {
        name: {
            "single_rps": max(run["single_rps"] for run in runs),
            "single_cpu_ms_per_req": min(run["single_cpu_ms_per_req"] for run in runs),
            "bulk_logs_per_s": max(run["bulk_logs_per_s"] for run in runs),
        }
        for name, runs in results.items()
    }
    ratios = {key: round(best["after"][key] / best["before"][key], 3) for key in best["after"]}
    print(f"\nbefore = {revision}, after = {after_revision}; {machine.get('nproc', '?')} CPUs")
    for name, figures in best.items():
        print(f"best {name:6s} {figures}")
    print(
        f"after/before: single-log requests/s {ratios['single_rps']}, bulk logs/s {ratios['bulk_logs_per_s']}, "
        f"server CPU per single-log request {ratios['single_cpu_ms_per_req']} (target: rates >= 0.90)"
    )
    # Each round's after/before (A B in one round: the pair the machine's load disturbs least).
    pair_ratios = {
        key: [round(a[key] / b[key], 3) for a, b in zip(results["after"], results["before"], strict=True)]
        for key in best["after"]
    }
    data = {
        **meta,
        "before": revision,
        "after": after_revision,
        "runs": results,
        "best": best,
        "ratios": ratios,
        "pair_ratios": pair_ratios,
        "args": vars(args),
    }
    save_result("ingest_revisions", data, quick=args.quick, also=args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
