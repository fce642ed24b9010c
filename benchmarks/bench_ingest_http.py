#!/usr/bin/env python
"""Single-log POST throughput and p99 over HTTP: our service under several servers vs the references.

    .venv/bin/python benchmarks/bench_ingest_http.py [--quick] [--connections 16] [--duration 10]

One private stack (benchmarks/common.py), then one server at a time on loopback, each driven by the same
closed-loop load generator (wrk with a generated Lua script; an asyncio client when wrk is missing):
``--connections`` keep-alive connections, every POST a new 100-cell log (vehicle and timestamp vary per
request) with a JWT, a warm-up, then ``--duration`` seconds measured. Runs:

- our service, ``POST /api/v1/diagnostics``: granian WSGI (2x2 — the Dockerfile's —, 2x4, 4x2), gunicorn
  sync (2 workers) and gthread (2x4), uvicorn ASGI workers (2) — the server study behind the default;
- the fast-stack reference: Starlette + msgspec + async psycopg 3 under uvicorn (2 workers);
- the floor: the textbook DRF nested-ModelSerializer endpoint, under our best server configuration;
- bulk: ``POST /api/v1/diagnostics/bulk`` (1,000 logs per request, 2 in flight) rows/s vs raw COPY of
  the same number of rows (psycopg 3 and psycopg2, the faster taken as the database's limit).

Runs are repeated ``--repeat`` times (2; quick 1), interleaved (A B C A B C), and the best round of each
is kept: on this shared 2-CPU VM, interference only ever lowers a figure, and interleaving spreads it
over all runs. The configuration study comes first; ours at the best configuration is then measured again
in the same interleaved rounds as the references, and those rounds give the ratios.

For every run: requests/s, p50/p90/p99 (wrk's, closed loop), errors (non-2xx and socket errors), the
logs actually stored (checked in the database), and server CPU milliseconds per request. No Celery
worker runs here: report tasks pile up in the private broker (purged between runs).

Targets: ours >= 1.0x Starlette (never below 0.7x) and >= 5x the textbook floor, p99 < 100 ms; bulk
>= 0.75x raw COPY. The best configuration is saved for bench_latency.py and bench_workers.py.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [str(REPO_ROOT), *(p for p in sys.path if Path(p or ".").resolve() != REPO_ROOT / "benchmarks")]

from benchmarks.common import (  # noqa: E402
    BULK_PATH,
    INGEST_PATH,
    IngestSpec,
    Results,
    Server,
    Stack,
    WebConfig,
    asyncio_post_bodies,
    base_parser,
    closed_loop,
    log,
    wait_quiet,
    wrk_available,
)

P99_LIMIT_MS = 100.0


def parse_config(text: str) -> WebConfig:
    """'gunicorn-gthread:2x4' -> WebConfig('gunicorn-gthread', 2, 4); 'gunicorn-sync:4' -> 4 workers."""
    kind, _, size = text.strip().partition(":")
    workers, _, threads = size.partition("x")
    return WebConfig(kind, int(workers), int(threads or 1))


def measure(
    stack: Stack, server: Server, spec: IngestSpec, *, duration: float, warmup: float, connections: int
) -> dict[str, Any]:
    closed_loop(server.url, spec, duration_s=warmup, connections=connections)
    measured = IngestSpec(
        token=spec.token,
        vehicle_prefix=spec.vehicle_prefix,
        vehicles=spec.vehicles,
        base_s=stack.window(),
        path=spec.path,
        templates=spec.templates,
    )
    cpu_before = server.cpu()
    result = closed_loop(server.url, measured, duration_s=duration, connections=connections)
    cpu = server.cpu() - cpu_before
    stored = stack.logs_in_window(measured.base_s)
    stack.purge_queue()
    return {
        "rps": result.rps,
        **result.figures(),
        "stored": stored,
        "cpu_ms_per_req": round(1000 * cpu / max(result.requests, 1), 3),
    }


def main() -> int:
    p = base_parser(__doc__ or "")
    p.add_argument("--connections", type=int, default=16, help="concurrent connections (default 16)")
    p.add_argument("--duration", type=float, default=None, help="seconds measured per run (default 10, quick 3)")
    p.add_argument("--bulk-requests", type=int, default=None, help="bulk requests of 1000 logs (default 12, quick 3)")
    p.add_argument(
        "--repeat", type=int, default=None, help="interleaved rounds per run, best kept (default 2, quick 1)"
    )
    p.add_argument(
        "--configs",
        default=None,
        help="only these server configurations, e.g. 'granian:2x4,gunicorn-gthread:2x4' (kind:workersxthreads)",
    )
    args = p.parse_args()
    duration = args.duration or (3.0 if args.quick else 10.0)
    warmup = 1.0 if args.quick else 3.0
    bulk_requests = args.bulk_requests or (3 if args.quick else 12)
    rounds = args.repeat or (1 if args.quick else 2)
    if args.quick:
        configs = [WebConfig("granian", 2, 2), WebConfig("gunicorn-gthread", 2, 4), WebConfig("uvicorn", 2)]
    else:
        configs = [
            WebConfig("granian", 2, 2),  # the Dockerfile's and docker-compose's
            WebConfig("granian", 2, 4),
            WebConfig("granian", 4, 2),
            WebConfig("gunicorn-sync", 2),
            WebConfig("gunicorn-gthread", 2, 4),  # the default before granian
            WebConfig("uvicorn", 2),
        ]
    if args.configs:
        configs = [parse_config(item) for item in args.configs.split(",")]
    if args.wait_quiet:
        wait_quiet(args.wait_quiet)
    results = Results("bench_ingest_http", args)
    results.meta["load_generator"] = "wrk" if wrk_available() else "asyncio"
    results.meta["connections"] = args.connections
    results.meta["duration_s"] = duration

    def record(key: str, label: str, fig: dict[str, Any]) -> None:
        extra = {k: v for k, v in fig.items() if k not in {"rps", "rounds_rps"}}
        if len(fig.get("rounds_rps", [])) > 1:
            extra["rounds"] = " / ".join(f"{v:.0f}" for v in fig["rounds_rps"])
        results.add(key, label, round(fig["rps"], 1), "logs/s", **extra)
        if fig["errors"] or fig["stored"] < fig["requests"]:
            results.note(f"{label}: {fig['errors']} errors, {fig['stored']} stored of {fig['requests']} answered")

    with Stack(name="bench-ingest", keep=args.keep) as stack:
        results.meta["database"] = stack.db_description
        results.meta["repeat"] = rounds

        def run_rounds(runs: list[tuple[str, Callable[[], Server], str]]) -> dict[str, dict[str, Any]]:
            """Each run `rounds` times, interleaved (A B C A B C); the best round of each (by logs/s)."""
            best_of: dict[str, dict[str, Any]] = {}
            for round_no in range(rounds):
                for key, start, path in runs:
                    server = start()
                    try:
                        spec = stack.ingest_spec(path=path)
                        fig = measure(
                            stack, server, spec, duration=duration, warmup=warmup, connections=args.connections
                        )
                    finally:
                        stack.stop_server(server)
                    log(f"  round {round_no + 1}/{rounds} {key}: {fig['rps']:.0f} logs/s, p99 {fig['p99_ms']} ms")
                    fig["rounds_rps"] = [*best_of.get(key, {}).get("rounds_rps", []), round(fig["rps"], 1)]
                    if key not in best_of or fig["rps"] > best_of[key]["rps"]:
                        best_of[key] = fig
                    else:
                        best_of[key]["rounds_rps"] = fig["rounds_rps"]
            return best_of

        def app_runner(config: WebConfig, **kwargs: Any) -> Callable[[], Server]:
            return lambda: stack.start_app(config, **kwargs)

        study = run_rounds([(config.label, app_runner(config), INGEST_PATH) for config in configs])
        ours = {config: study[config.label] for config in configs}
        for config, fig in ours.items():
            record(f"ours:{config.kind}:{config.workers}x{config.threads}", f"ours, {config.label}", fig)

        def score(item: tuple[WebConfig, dict[str, Any]]) -> tuple[bool, float]:
            fig = item[1]
            ok = fig["errors"] == 0 and (fig["p99_ms"] or 1e9) < P99_LIMIT_MS
            return ok, fig["rps"]

        best_config, _ = max(ours.items(), key=score)
        results.meta["best_config"] = {
            "kind": best_config.kind,
            "workers": best_config.workers,
            "threads": best_config.threads,
            "label": best_config.label,
        }

        # Side by side: ours (best configuration) and the references, interleaved rounds again.
        runs: list[tuple[str, Callable[[], Server], str]] = [
            ("ours_best", app_runner(best_config), INGEST_PATH),
            ("starlette", lambda: stack.start_starlette(workers=2), "/ingest"),
            ("textbook", lambda: stack.start_textbook(best_config), "/textbook/diagnostics"),
        ]
        if best_config.kind != "uvicorn":
            runs.append(("ours_psycopg3", app_runner(best_config, driver="psycopg3"), INGEST_PATH))
            runs.append(
                ("ours_whatif", app_runner(best_config, settings="benchmarks.reference.whatif_settings"), INGEST_PATH)
            )
        side = run_rounds(runs)
        best = side["ours_best"]
        record("ours_best", f"ours, best: {best_config.label} (side-by-side rounds)", best)
        record("starlette", "reference: Starlette + msgspec + psycopg 3, uvicorn 2w", side["starlette"])
        record("textbook", f"floor: textbook DRF nested ModelSerializer, {best_config.label}", side["textbook"])
        if "ours_psycopg3" in side:
            record(
                "ours_psycopg3", f"ours, {best_config.label}, Django on psycopg 3 (not psycopg2)", side["ours_psycopg3"]
            )
            record(
                "ours_whatif",
                f"ours, {best_config.label}, what-if settings (no conn health check, API-only middleware)",
                side["ours_whatif"],
            )

        # -- bulk ------------------------------------------------------------------------------------------
        server = stack.start_app(best_config)
        try:
            spec = stack.ingest_spec()
            bodies = []
            for r in range(bulk_requests + 1):
                items = [spec.body(r * 1000 + i) for i in range(1000)]
                bodies.append(b"[" + b",".join(items) + b"]")
            headers = spec.headers()
            asyncio_post_bodies(server.url, BULK_PATH, headers, bodies[:1], concurrency=1)  # warm-up
            answers, seconds = asyncio_post_bodies(server.url, BULK_PATH, headers, bodies[1:], concurrency=2)
        finally:
            stack.stop_server(server)
        import orjson

        created = sum(orjson.loads(body)["counts"]["created"] for status, body, _ in answers if status == 200)
        bad = [status for status, _, _ in answers if status != 200]
        results.add(
            "bulk_http",
            "ours: POST /diagnostics/bulk (1000 logs/request, 2 in flight)",
            round(created / seconds, 1),
            "rows/s",
            requests=len(answers),
            created=created,
            p50_s_per_request=round(sorted(a[2] for a in answers)[len(answers) // 2], 2),
        )
        if bad:
            results.note(f"bulk: non-200 answers {bad}")
        stack.purge_queue()

        from benchmarks.reference import raw_db

        with stack.pg() as conn:
            pks = dict(conn.execute("SELECT vehicle_id, id FROM diagnostics_vehicle").fetchall())
        n_rows = created or bulk_requests * 1000
        copy_spec = stack.ingest_spec()
        rows = raw_db.log_rows([orjson.loads(copy_spec.body(k)) for k in range(n_rows)], pks)
        with stack.pg(autocommit=False) as conn:
            secs3 = raw_db.copy_rows(conn, rows)
        import psycopg2

        copy_spec = stack.ingest_spec()
        rows = raw_db.log_rows([orjson.loads(copy_spec.body(k)) for k in range(n_rows)], pks)
        conn2 = psycopg2.connect(stack.db_url)
        try:
            secs2 = raw_db.copy_rows_psycopg2(conn2, rows)
        finally:
            conn2.close()
        results.add("copy_pg3", "raw COPY, psycopg 3, same rows", round(n_rows / secs3, 1), "rows/s")
        results.add("copy_pg2", "raw COPY, psycopg2, same rows", round(n_rows / secs2, 1), "rows/s")
        results.add("copy_best", "raw COPY (the faster driver)", round(n_rows / min(secs2, secs3), 1), "rows/s")

    results.ratio("single-log: ours best / Starlette reference", "ours_best", "starlette", target=1.0)
    results.ratio("single-log: ours best / Starlette (hard floor)", "ours_best", "starlette", target=0.7)
    results.ratio("single-log: ours best / textbook DRF floor", "ours_best", "textbook", target=5.0)
    results.ratio(
        "single-log: ours best p99 / 100 ms",
        "ours_best",
        "",
        target=1.0,
        at_most=True,
        values=(best["p99_ms"], P99_LIMIT_MS),
        note=f"p99 {best['p99_ms']} ms at {args.connections} connections",
    )
    results.ratio("bulk: ours HTTP / raw COPY", "bulk_http", "copy_best", target=0.75)
    results.ratio("driver: ours on psycopg 3 / on psycopg2 (best WSGI config)", "ours_psycopg3", "ours_best")
    results.ratio("what-if settings / ours best (settings-only upside)", "ours_whatif", "ours_best")
    results.note(
        f"closed loop, {args.connections} connections, {duration:.0f} s measured after {warmup:.0f} s warm-up per run; "
        f"load generator {results.meta['load_generator']} on the same 2 CPUs"
    )
    results.print()
    results.save()
    return 0


if __name__ == "__main__":
    t0 = time.monotonic()
    code = main()
    log(f"done in {time.monotonic() - t0:.0f} s")
    sys.exit(code)
