#!/usr/bin/env python
"""What metrics and structured logs cost single-log ingest: the same code with and without, in one run.

    .venv/bin/python -m benchmarks.bench_observability [--previous /path/to/other-checkout] [--rounds 5]

"off" is this checkout served with benchmarks.reference.no_observability_settings (no ObservabilityMiddleware,
no PROMETHEUS_MULTIPROC_DIR, LOG_FORMAT=console: nothing observes a request); "on" the same checkout with
everything on as in production: prometheus_client multiprocess mode (PROMETHEUS_MULTIPROC_DIR),
LOG_FORMAT=json (one `request finished` line per request, to a file), the middleware; "on-errors" the same
with LOG_REQUESTS=errors; "on-sampled" with LOG_REQUESTS_SAMPLE=0.1 (docker-compose.yml's). `--previous`
adds "previous-on": another checkout (e.g. main before a change) with everything on, to measure a change
to the observability code in the same run. All serve granian 2 workers x
2 threads (the Dockerfile's) on the same database (DATABASE_URL, migrated here) and the same broker
(CELERY_BROKER_URL; no worker runs, the queue is purged after each run). The load: wrk (or the asyncio
client), --connections keep-alive connections, each POST a new 100-cell log with a JWT; a warm-up, then
--duration seconds measured. Rounds interleave the configurations (A B C A B C ...; the order rotates each
round). The figure to read is the server's CPU per request (user + system of granian and its workers, from
psutil): on a shared host requests/s swing with other load far more than CPU per request does. The cost
of a configuration is its CPU per request over "off"'s in the same round; the median over rounds is kept,
with the lowest CPU per request of each configuration beside it.

On a host whose load average is several times its CPU count, a server's CPU per request still moves by
+-30 % between rounds (other processes evict its caches and steal its time slices), far more than the
few per cent to measure. `--in-process` measures the same request path without the HTTP server, the
client and their scheduling in the way: one long-lived process per configuration ("off", "on",
"on-errors", "on-sampled"; "previous-on" with --previous; "off-again", a second "off" as an A/A control of
the noise, with --control) calls the project's WSGI application directly with the same POST (a new 100-cell log, a
JWT, the real database and broker), and the parent has them run short blocks of --block requests in turn
(A B C A B C ..., the order rotating), many times. Each block's CPU time per request (the process's, all
threads: the publisher thread included) is compared with the "off" block next to it: adjacent blocks
share the host's state. Each request's own CPU time (its thread's) is recorded too: interference inflates
some requests a lot and most not at all, so the median request over all blocks is the steadiest figure
(it leaves out the publisher thread, the same work in every configuration). Read both against the A/A
control's distance from "off": that is what noise alone makes of two identical processes.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from benchmarks.benchlib import IngestSpec, child_ask, closed_loop, run_meta, save_result, serve_checkout

REPO_ROOT = Path(__file__).resolve().parent.parent


def _purge(env: dict[str, str]) -> None:
    subprocess.run(
        [sys.executable, "-m", "celery", "-A", "config", "purge", "-f"], cwd=REPO_ROOT, env=env, capture_output=True
    )


def _child() -> int:
    """One configuration's process for --in-process: `run N` on stdin runs N POSTs, answers JSON on stdout."""
    import io

    import django

    django.setup()
    from django.core.wsgi import get_wsgi_application
    from rest_framework_simplejwt.tokens import AccessToken

    from fleets.models import User

    application = get_wsgi_application()
    token = str(AccessToken.for_user(User.objects.get(username="bench-obs")))
    spec = IngestSpec(
        token=token, vehicle_prefix=os.environ["BENCH_PREFIX"], vehicles=200, base_s=int(os.environ["BENCH_BASE_S"])
    )
    statuses: dict[str, int] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: object = None) -> None:
        statuses[status[:3]] = statuses.get(status[:3], 0) + 1

    k = 0
    for line in sys.stdin:
        count = int(line.split()[1])
        statuses.clear()
        samples: list[float] = []
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(count):
            started = time.thread_time()
            body = spec.body(k)
            k += 1
            environ = {
                "REQUEST_METHOD": "POST",
                "PATH_INFO": "/api/v1/diagnostics",
                "QUERY_STRING": "",
                "CONTENT_TYPE": "application/json",
                "CONTENT_LENGTH": str(len(body)),
                "HTTP_AUTHORIZATION": f"Bearer {token}",
                "HTTP_HOST": "127.0.0.1",
                "SERVER_NAME": "127.0.0.1",
                "SERVER_PORT": "8000",
                "SERVER_PROTOCOL": "HTTP/1.1",
                "REMOTE_ADDR": "127.0.0.1",
                "wsgi.input": io.BytesIO(body),
                "wsgi.url_scheme": "http",
                "wsgi.errors": sys.stderr,
            }
            result = application(environ, start_response)
            for _chunk in result:
                pass
            result.close()
            samples.append(time.thread_time() - started)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        answer = {"cpu_s": cpu, "wall_s": wall, "statuses": statuses, "thread_cpu_s": samples}
        print(json.dumps(answer), flush=True)
    return 0


def _in_process(
    args: argparse.Namespace, configs: dict[str, tuple[Path, dict[str, str]]], work: Path, meta: dict[str, Any]
) -> int:
    names = list(configs)
    children: dict[str, subprocess.Popen[str]] = {}
    window = int(time.time()) - 9 * 365 * 86400
    try:
        for index, (name, (checkout, env)) in enumerate(configs.items()):
            child_env = {
                **env,
                "BENCH_PREFIX": f"BIP{index}",
                "BENCH_BASE_S": str(window + index * 10_000_000),
                # The configuration's checkout first (its app code), then this one's benchmarks (a namespace
                # package: benchmarks.benchlib is found here whatever the checkout holds); -P: the script's
                # folder is not put on sys.path, so nothing in benchmarks/ shadows the app.
                "PYTHONPATH": os.pathsep.join([str(checkout), str(REPO_ROOT)]),
            }
            children[name] = subprocess.Popen(
                [sys.executable, "-P", str(REPO_ROOT / "benchmarks" / "bench_observability.py"), "--child"],
                cwd=checkout,
                env=child_env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=(work / f"{name}.log").open("w"),
                text=True,
            )

        def block(name: str, count: int) -> dict[str, Any]:
            return child_ask(children[name], f"run {count}", work / f"{name}.log")

        for name in names:  # warm-up: every vehicle claimed, every code path compiled
            block(name, args.warmup_requests)
        blocks: dict[str, list[float]] = {name: [] for name in names}
        # Each request's own CPU time (its thread's): preemption and cache thrashing inflate some requests a
        # lot and most not at all, so the median request is what the code costs, steady under load.
        requests: dict[str, list[float]] = {name: [] for name in names}
        statuses: dict[str, dict[str, int]] = {name: {} for name in names}
        for round_index in range(args.blocks):
            shift = round_index % len(names)
            for name in names[shift:] + names[:shift]:
                answer = block(name, args.block)
                blocks[name].append(1000 * answer["cpu_s"] / args.block)
                requests[name].extend(1000 * value for value in answer["thread_cpu_s"])
                for status, count in answer["statuses"].items():
                    statuses[name][status] = statuses[name].get(status, 0) + count
            if (round_index + 1) % 10 == 0:
                print(
                    f"blocks {round_index + 1}/{args.blocks}: "
                    + ", ".join(f"{name} {statistics.median(values):.3f} ms" for name, values in blocks.items())
                    + f" (load {os.getloadavg()[0]:.1f})",
                    flush=True,
                )
    finally:
        for child in children.values():
            if child.stdin:
                child.stdin.close()
            child.wait(timeout=60)
        _purge(next(iter(configs.values()))[1])
    costs: dict[str, dict[str, float]] = {}
    for name in names[1:]:
        ratios = [on / off - 1 for on, off in zip(blocks[name], blocks["off"], strict=True)]
        quartiles = statistics.quantiles(ratios, n=4)
        costs[name] = {
            "median_pct": round(100 * statistics.median(ratios), 2),
            "q1_pct": round(100 * quartiles[0], 2),
            "q3_pct": round(100 * quartiles[2], 2),
            "median_cpu_ms_per_req": round(statistics.median(blocks[name]), 4),
        }
    off_median = round(statistics.median(blocks["off"]), 4)
    request_median = {name: statistics.median(values) for name, values in requests.items()}
    for name in names[1:]:
        costs[name]["request_median_ms"] = round(request_median[name], 4)
        costs[name]["request_median_pct"] = round(100 * (request_median[name] / request_median["off"] - 1), 2)
    print(
        f"off          block CPU per request (process) median {off_median} ms; request thread's CPU, median "
        f"request {request_median['off']:.4f} ms; statuses {statuses['off']}"
    )
    for name, cost in costs.items():
        print(
            f"{name:12s} block CPU per request median {cost['median_cpu_ms_per_req']} ms, vs the neighbouring off "
            f"block: median {cost['median_pct']:+.2f} % (quartiles {cost['q1_pct']:+.2f} .. {cost['q3_pct']:+.2f} %); "
            f"median request {cost['request_median_ms']:.4f} ms ({cost['request_median_pct']:+.2f} % vs off); "
            f"statuses {statuses[name]}"
        )
    data = {
        **meta,
        "mode": "in-process",
        "cost": costs,
        "off_median_cpu_ms_per_req": off_median,
        "request_median_ms": request_median,
        "blocks_cpu_ms_per_req": blocks,
        "statuses": statuses,
        "args": vars(args),
    }
    save_result(f"observability-{data.get('mode', 'http')}", data, quick=args.quick, also=args.json)
    return 0


def main() -> int:
    if sys.argv[1:] == ["--child"]:
        return _child()
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--previous", type=Path, default=None, help="another checkout, measured with everything on")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--duration", type=float, default=8.0)
    p.add_argument("--warmup", type=float, default=2.0)
    p.add_argument("--connections", type=int, default=16)
    p.add_argument("--json", type=Path, default=None)
    p.add_argument("--control", action="store_true", help='also "off-again", an A/A control of the noise')
    p.add_argument("--in-process", action="store_true", help="paired blocks of WSGI calls instead of HTTP load")
    p.add_argument("--blocks", type=int, default=60, help="--in-process: blocks per configuration")
    p.add_argument("--block", type=int, default=100, help="--in-process: requests per block")
    p.add_argument("--warmup-requests", type=int, default=400, help="--in-process: requests before measuring")
    p.add_argument("--quick", action="store_true", help="a smoke run: 2 rounds of 3 s (--in-process: 8 blocks of 50)")
    args = p.parse_args()
    if args.quick:
        args.rounds, args.duration, args.blocks, args.block, args.warmup_requests = 2, 3.0, 8, 50, 100
    meta = run_meta("observability", quick=args.quick)
    for name in ("DATABASE_URL", "CELERY_BROKER_URL"):
        if not os.environ.get(name):
            p.error(f"{name} must be set")

    work = Path(tempfile.mkdtemp(prefix="bench-obs-"))
    base = dict(os.environ, DJANGO_SETTINGS_MODULE="config.settings.local", DJANGO_SECRET_KEY="bench-only-not-secret")
    base.pop("PROMETHEUS_MULTIPROC_DIR", None)
    base.update(THROTTLE_USER_RATE="100000000/min", THROTTLE_FLEET_RATE="100000000/min", LOG_LEVEL="INFO")
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput"], cwd=REPO_ROOT, env=base, check=True)
    subprocess.run(
        [sys.executable, "manage.py", "create_api_user", "bench-obs", "--fleet", "bench-obs", "--password", "bench-pw"],
        cwd=REPO_ROOT,
        env=base,
        check=True,
        capture_output=True,
    )
    metrics_env = {"LOG_FORMAT": "json", "METRICS_MULTIPROC_ROOT": str(work / "metrics")}
    configs: dict[str, tuple[Path, dict[str, str]]] = {
        "off": (
            REPO_ROOT,
            {
                **base,
                "LOG_FORMAT": "console",
                "DJANGO_SETTINGS_MODULE": "benchmarks.reference.no_observability_settings",
            },
        ),
        "on": (REPO_ROOT, {**base, **metrics_env, "PROMETHEUS_MULTIPROC_DIR": str(work / "metrics" / "on")}),
        # The same with LOG_REQUESTS=errors (no line for a 2xx): how much is the access line, how much the rest.
        "on-errors": (
            REPO_ROOT,
            {
                **base,
                **metrics_env,
                "LOG_REQUESTS": "errors",
                "PROMETHEUS_MULTIPROC_DIR": str(work / "metrics" / "on-errors"),
            },
        ),
    }
    # The production stack's setting (docker-compose.yml): one successful request's line in 10, every error's.
    configs["on-sampled"] = (
        REPO_ROOT,
        {
            **base,
            **metrics_env,
            "LOG_REQUESTS_SAMPLE": "0.1",
            "PROMETHEUS_MULTIPROC_DIR": str(work / "metrics" / "on-sampled"),
        },
    )
    if args.control:
        # An A/A control: "off" again in a process of its own. Its distance from "off" is the noise floor.
        configs["off-again"] = configs["off"]
    if args.previous:
        configs["previous-on"] = (
            args.previous.resolve(),
            {**base, **metrics_env, "PROMETHEUS_MULTIPROC_DIR": str(work / "metrics" / "previous")},
        )
    if args.in_process:
        return _in_process(args, configs, work, meta)
    results: dict[str, list[dict[str, float | None]]] = {name: [] for name in configs}
    names = list(configs)
    window = int(time.time()) - 10 * 365 * 86400
    for round_index in range(args.rounds):
        shift = round_index % len(names)
        for name in names[shift:] + names[:shift]:
            checkout, env = configs[name]
            server = serve_checkout(checkout, env, work / f"{name}.log", name)
            url = server.url
            try:
                token = httpx.post(
                    f"{url}/api/v1/auth/token", json={"username": "bench-obs", "password": "bench-pw"}
                ).json()["access"]
                window += 100_000
                spec = IngestSpec(token=token, vehicle_prefix="BOBS", vehicles=500, base_s=window)
                closed_loop(url, spec, duration_s=args.warmup, connections=args.connections)
                window += 100_000
                spec = IngestSpec(token=token, vehicle_prefix="BOBS", vehicles=500, base_s=window)
                cpu_before = server.cpu()
                result = closed_loop(url, spec, duration_s=args.duration, connections=args.connections)
                cpu = server.cpu() - cpu_before
            finally:
                server.stop()
                _purge(env)
            figures = {"rps": round(result.rps, 1), "p50_ms": result.p50_ms, "p99_ms": result.p99_ms}
            figures["errors"] = result.errors
            figures["cpu_ms_per_req"] = round(1000 * cpu / max(result.requests, 1), 4)
            figures["load_1m"] = round(os.getloadavg()[0], 2)
            results[name].append(figures)
            print(f"round {round_index + 1} {name:12s} {figures}", flush=True)
    lowest = {name: min(float(run["cpu_ms_per_req"] or 0) for run in runs) for name, runs in results.items()}
    costs: dict[str, dict[str, float]] = {}
    for name in names[1:]:
        ratios = [
            float(run["cpu_ms_per_req"] or 0) / float(results["off"][index]["cpu_ms_per_req"] or 1) - 1
            for index, run in enumerate(results[name])
        ]
        costs[name] = {
            "median_pct": round(100 * statistics.median(ratios), 1),
            "per_round_pct": [round(100 * ratio, 1) for ratio in ratios],  # type: ignore[dict-item]
            "lowest_vs_lowest_pct": round(100 * (lowest[name] / (lowest["off"] or 1) - 1), 1),
        }
        print(
            f"{name:12s} server CPU per request vs off: median of rounds {costs[name]['median_pct']:+.1f} % "
            f"(rounds {costs[name]['per_round_pct']}), lowest {lowest[name]} ms vs {lowest['off']} ms "
            f"({costs[name]['lowest_vs_lowest_pct']:+.1f} %)"
        )
    rps = {name: statistics.median(float(run["rps"] or 0) for run in runs) for name, runs in results.items()}
    print("median requests/s: " + ", ".join(f"{name} {value:.0f}" for name, value in rps.items()))
    data = {
        **meta,
        "runs": results,
        "cost": costs,
        "lowest_cpu_ms_per_req": lowest,
        "median_rps": rps,
        "args": vars(args),
    }
    save_result(f"observability-{data.get('mode', 'http')}", data, quick=args.quick, also=args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
