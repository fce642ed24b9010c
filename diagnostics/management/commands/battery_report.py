"""Print the console report of one log, without a database."""

import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from rest_framework.exceptions import ParseError, ValidationError

from common.errors import flatten_errors
from common.timestamps import format_timestamp
from diagnostics.validation import log_validate
from reports.health import BatterySnapshot, evaluate, format_console_report
from simulator.generator import mock_log

EXIT_INVALID = 2


class Command(BaseCommand):
    help = "Print the input summary, the report JSON and the detailed diagnostics of one log (no database)."
    requires_system_checks: list[str] = []
    requires_migrations_checks = False

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("file", nargs="?", help="A JSON log file, or - for standard input.")
        parser.add_argument("--mock", action="store_true", help="Report on a simulated log instead of a file.")
        parser.add_argument("--seed", type=int, default=None, help="Seed for --mock (deterministic output).")

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        if options["mock"]:
            raw = json.dumps(mock_log(seed=options["seed"])).encode()
        elif options["file"]:
            raw = self._read(options["file"])
        else:
            raise CommandError("Give a FILE (or - for standard input), or --mock.")
        try:
            log = log_validate(raw)
        except ParseError as exc:
            self.stderr.write(f"Invalid diagnostic log: {exc.detail}")
            sys.exit(EXIT_INVALID)
        except ValidationError as exc:
            self.stderr.write("Invalid diagnostic log:")
            for path, messages in flatten_errors(exc.detail).items():
                for message in messages:
                    self.stderr.write(f"  {path}: {message}")
            sys.exit(EXIT_INVALID)
        report = evaluate(BatterySnapshot.from_mapping(log))
        shown = {**log, "timestamp": format_timestamp(log["timestamp"])}
        self.stdout.write(format_console_report(shown, report))

    def _read(self, name: str) -> bytes:
        try:
            return sys.stdin.buffer.read() if name == "-" else Path(name).read_bytes()
        except OSError as exc:
            raise CommandError(f"Cannot read {name}: {exc.strerror}") from None
