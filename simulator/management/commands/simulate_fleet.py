from datetime import datetime

from django.core.management.base import BaseCommand, CommandError

from simulator.client import LoginError, run_simulation


class Command(BaseCommand):
    help = (
        "Simulate a fleet of vehicles posting battery logs to a running service over HTTP. "
        "Sends exactly vehicles x logs-per-vehicle logs (plus retries) to --url only, then prints a summary. "
        "Exits non-zero if login fails or any log could not be delivered."
    )
    # An HTTP client of the service: it must run without touching this project's database.
    requires_system_checks: list[str] = []
    requires_migrations_checks = False

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("--url", required=True, help="Base URL of the service, e.g. http://127.0.0.1:8000")
        parser.add_argument("--username", required=True)
        parser.add_argument("--password", required=True)
        parser.add_argument("--vehicles", type=int, default=10, help="Number of simulated vehicles (default 10).")
        parser.add_argument("--logs-per-vehicle", type=int, default=10, help="Logs each vehicle sends (default 10).")
        parser.add_argument("--concurrency", type=int, default=8, help="Requests in flight at once (default 8).")
        parser.add_argument("--seed", type=int, default=0, help="Seed of the simulated fleet (default 0).")
        parser.add_argument("--prefix", default="EV-SIM", help="Vehicle id prefix (default EV-SIM).")
        parser.add_argument("--timeout", type=float, default=10.0, help="Per-request timeout, seconds (default 10).")
        parser.add_argument("--max-retries", type=int, default=8, help="Retries per log on transient errors.")
        parser.add_argument(
            "--start",
            default=None,
            help="ISO 8601 time of each vehicle's first log (a rerun then resends the same logs).",
        )
        parser.add_argument("--no-progress", action="store_true", help="Do not draw a progress bar on stderr.")

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        try:
            summary = run_simulation(
                url=options["url"],
                username=options["username"],
                password=options["password"],
                vehicles=options["vehicles"],
                logs_per_vehicle=options["logs_per_vehicle"],
                concurrency=options["concurrency"],
                seed=options["seed"],
                timeout_s=options["timeout"],
                max_retries=options["max_retries"],
                progress=not options["no_progress"],
                prefix=options["prefix"],
                start=_start(options["start"]),
            )
        except LoginError as exc:
            raise CommandError(f"Login failed: {exc}") from exc
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(summary.format())
        if summary.failed:
            raise CommandError(f"{summary.failed} of {summary.sent} logs failed after retries")


def _start(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        start = datetime.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--start: not an ISO 8601 time: {value}") from None
    if start.tzinfo is None:
        raise CommandError("--start needs an offset, e.g. 2026-01-01T00:00:00Z")
    return start
