"""The demo set-up of `make run`: a fleet, a user demo/demo, seeded logs, and how to try the API."""

from datetime import UTC, datetime, timedelta

from django.core.management import call_command
from django.core.management.base import BaseCommand

from fleets.services import api_user_create
from vehicles.models import DiagnosticLog

DEMO = {"username": "demo", "password": "demo", "fleet": "demo"}


class Command(BaseCommand):
    help = "Create the demo fleet and user (demo/demo), seed mock logs, and print the URLs and a sample curl."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("--vehicles", type=int, default=20)
        parser.add_argument(
            "--logs-per-vehicle", type=int, default=120, help="Daily logs, the last one within the past 12 hours."
        )
        parser.add_argument("--base-url", default="http://127.0.0.1:8000")

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        api_user_create(username=DEMO["username"], fleet_name=DEMO["fleet"], password=DEMO["password"])
        if DiagnosticLog.objects.filter(vehicle__fleet__name=DEMO["fleet"]).exists():
            # A second `make run` keeps the demo fleet as it is (and what was posted to it since).
            self.stdout.write("The demo fleet is seeded already: its logs are kept.")
        else:
            # Daily histories whose last log lies in the past 12 hours, so that the dashboard's recent windows
            # have data: each log falls in the first half of its day-long slot (simulator.generator), so the
            # last slot starts 12 h ago. (Starting it at today's midnight put the last log in the future
            # shortly after midnight, where validation refused it: 19 of 20 logs seeded at 00:45 UTC.)
            now = datetime.now(UTC).replace(microsecond=0)
            start = now - timedelta(days=options["logs_per_vehicle"] - 1, hours=12)
            call_command(
                "seed_diagnostics",
                vehicles=options["vehicles"],
                logs_per_vehicle=options["logs_per_vehicle"],
                seed=42,
                fleet=DEMO["fleet"],
                prefix="EV-DEMO",
                start=start.strftime("%Y-%m-%dT%H:%M:%SZ"),
                # A fleet that has been reporting: each log received within minutes of its time, so that
                # late_upload keeps its meaning on the demo's first screen.
                as_live=True,
                stdout=self.stdout,
            )
        url = options["base_url"]
        self.stdout.write(
            f"""
Battery health service: {url}
  dashboard   {url}/          (user demo / password demo; `make frontend` builds it)
  health      {url}/healthz   readiness {url}/readyz
  API         {url}/api/v1/   (user demo / password demo)

Try it:
  TOKEN=$(curl -s -X POST {url}/api/v1/auth/token -H 'Content-Type: application/json' \\
          -d '{{"username": "demo", "password": "demo"}}' \\
          | python3 -c 'import json,sys; print(json.load(sys.stdin)["access"])')
  curl -s -X POST {url}/api/v1/diagnostics -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \\
       -d '{{"vehicle_id": "EV-12345", "timestamp": "2025-10-04T10:30:00Z", "cycle_count": 412,
            "nominal_capacity_kwh": 60.0, "current_capacity_kwh": 54.9,
            "cells": [{{"id": 0, "voltage": 4.05, "temperature": 35.2}},
                      {{"id": 1, "voltage": 4.03, "temperature": 36.1}}]}}'
  curl -s {url}/api/v1/reports/<log_id> -H "Authorization: Bearer $TOKEN"
"""
        )
