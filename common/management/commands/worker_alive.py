"""Exit 0 while the worker's heartbeat is fresh, 1 once it is older than --max-age (a container health check)."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from common.worker import heartbeat_age_seconds, heartbeat_path


class Command(BaseCommand):
    help = "Exit 0 if the Celery worker's heartbeat is at most --max-age seconds old, else 1 (common.worker)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--max-age", type=float, default=60.0, help="seconds (default 60)")

    def handle(self, *args: Any, max_age: float, **options: Any) -> None:
        age = heartbeat_age_seconds()
        if age is None:
            self.stderr.write(f"worker not alive: no heartbeat at {heartbeat_path()}")
            raise SystemExit(1)
        if age > max_age:
            self.stderr.write(f"worker not alive: last heartbeat {age:.0f} s ago (max {max_age:g} s)")
            raise SystemExit(1)
        self.stdout.write(f"worker alive: last heartbeat {age:.1f} s ago")
