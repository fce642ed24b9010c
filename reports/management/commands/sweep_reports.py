"""Re-enqueue logs whose report is overdue; runs from cron or by hand if Celery beat is down."""

import time

from django.conf import settings
from django.core.management.base import BaseCommand

from reports.services import stale_logs_requeue


class Command(BaseCommand):
    help = "Re-enqueue report tasks of logs left pending/processing longer than the threshold."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument(
            "--older-than",
            type=float,
            default=None,
            help=f"Seconds (default SWEEPER_STALE_AFTER_S = {settings.SWEEPER_STALE_AFTER_S}).",
        )
        parser.add_argument("--loop", type=float, default=0, help="Repeat every N seconds (0: run once).")
        parser.add_argument("--limit", type=int, default=1000)

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        older_than = options["older_than"] if options["older_than"] is not None else settings.SWEEPER_STALE_AFTER_S
        while True:
            ids = stale_logs_requeue(older_than_s=older_than, limit=options["limit"])
            self.stdout.write(f"re-enqueued {len(ids)} stale log(s)")
            if not options["loop"]:
                return
            time.sleep(options["loop"])
