#!/usr/bin/env python
"""The battery health certificate (GET /api/v1/vehicles/<vehicle_id>/certificate.pdf): how long one takes.

    .venv/bin/python -m benchmarks.bench_certificate [--logs 500] [--repeat 20] [--database-url URL] [--quick]

Seeds one vehicle with ``--logs`` daily logs (``seed_diagnostics``: the simulator, the bulk ingest, the
reports computed in-process) into a database of its own (``bench_certificate_<random>`` on the server of
``--database-url``, dropped at the end unless --keep), then times, ``--repeat`` times each, in this process:

- ``data``: ``reports.selectors.vehicle_certificate_data`` (the vehicle's reports query and the health trend,
  the same function as GET /health: its SoH points query, the robust fit, the forecast's draws);
- ``render``: ``reports.certificate.certificate_pdf`` on that data (reportlab: the page, the chart);
- ``request``: the whole GET through Django's test client with a JWT (authentication, both of the above,
  the response).

Prints p50/p90/max and writes benchmarks/results/bench_certificate.json (``-quick`` with --quick).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from benchmarks.benchlib import FORCE_PSYCOPG2, Results, base_parser, django_setup_on_psycopg2, latency_summary, log
from tests.support.infra import NamedDatabase, manage, service_env

REPO_ROOT = Path(__file__).resolve().parent.parent

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/postgres"
FLEET, USER, PASSWORD = "bench-certificate", "bench-certificate", "bench-certificate-pass"


def main() -> None:
    parser = base_parser(__doc__ or "")
    parser.add_argument("--logs", type=int, default=500, help="logs of the vehicle (daily, ending before now)")
    parser.add_argument("--repeat", type=int, default=20, help="timed runs of each step")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL)
    parser.add_argument("--prefix", default="bench_certificate", help="name prefix of the scratch database")
    args = parser.parse_args()
    if args.quick:
        args.logs, args.repeat = min(args.logs, 100), min(args.repeat, 5)
    results = Results("bench_certificate", args)
    database = NamedDatabase(args.database_url, prefix=args.prefix, keep=args.keep).create()
    try:
        env = service_env(db_url=database.url, broker_url="", queue="bench-certificate")
        # The app's driver is psycopg2 also where .venv-bench has psycopg 3 installed (benchmarks/benchlib.py).
        env["PYTHONPATH"] = os.pathsep.join([FORCE_PSYCOPG2, str(REPO_ROOT)])
        log(f"database {database.name}: migrate, seed 1 vehicle x {args.logs} logs")
        manage(env, "migrate", "--noinput", "-v", "0", timeout=300)
        manage(env, "create_api_user", USER, "--fleet", FLEET, "--password", PASSWORD)
        started = time.monotonic()
        manage(
            env,
            *("seed_diagnostics", "--vehicles", "1", "--logs-per-vehicle", str(args.logs), "--seed", "1"),
            *("--fleet", FLEET, "--prefix", "EV-CERT", "--no-progress"),
            timeout=900,
        )
        log(f"seeded in {time.monotonic() - started:.1f} s")
        _measure(results, database.url, args.repeat, args.logs)
    finally:
        database.close()
    results.print()
    results.save()


def _measure(results: Results, database_url: str, repeat: int, logs: int) -> None:
    os.environ.update(
        DATABASE_URL=database_url, DJANGO_SETTINGS_MODULE="config.settings.local", CELERY_TASK_ALWAYS_EAGER="true"
    )
    os.environ.pop("CELERY_BROKER_URL", None)
    django_setup_on_psycopg2()
    from django.utils import timezone
    from rest_framework.test import APIClient
    from rest_framework_simplejwt.tokens import RefreshToken

    from fleets.models import User
    from reports.certificate import certificate_pdf
    from reports.selectors import vehicle_certificate_data
    from vehicles.models import Vehicle

    vehicle = Vehicle.objects.get(fleet__name=FLEET)
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(User.objects.get(username=USER)).access_token}"
    )
    path = f"/api/v1/vehicles/{vehicle.vehicle_id}/certificate.pdf"
    data = vehicle_certificate_data(vehicle=vehicle, now=timezone.now())
    assert data is not None
    response = client.get(path, SERVER_NAME="localhost")  # warm-up: imports, fonts, the connection
    assert response.status_code == 200, response.content[:300]
    timings: dict[str, list[float]] = {"data": [], "render": [], "request": []}
    # This process's CPU time too: on a shared machine the wall time also holds the waits for a core.
    cpu: dict[str, list[float]] = {key: [] for key in timings}

    def timed(key: str, work: Any) -> Any:
        wall, used = time.perf_counter(), time.process_time()
        value = work()
        timings[key].append(time.perf_counter() - wall)
        cpu[key].append(time.process_time() - used)
        return value

    for _ in range(repeat):
        data = timed("data", lambda: vehicle_certificate_data(vehicle=vehicle, now=timezone.now()))
        pdf = timed("render", lambda data=data: certificate_pdf(data))
        response = timed("request", lambda: client.get(path, SERVER_NAME="localhost"))
        assert response.status_code == 200
    labels = {
        "data": "certificate data (reports query + health trend)",
        "render": "certificate_pdf (reportlab, A4 page + chart)",
        "request": "GET certificate.pdf (Django test client, JWT)",
    }
    for key, seconds in timings.items():
        summary = latency_summary(seconds)
        results.add(
            key,
            labels[key],
            summary["p50_ms"],
            "ms p50",
            p90_ms=summary["p90_ms"],
            max_ms=summary["max_ms"],
            cpu_p50_ms=latency_summary(cpu[key])["p50_ms"],
        )
    results.note(
        f"one vehicle, {logs} daily logs ({data.health['logs_used']} in the trend, "  # type: ignore[union-attr]
        f"{len(data.health['series'])} points on the chart), {repeat} runs each; PDF {len(pdf):,} bytes"  # type: ignore[union-attr]
    )


if __name__ == "__main__":
    main()
