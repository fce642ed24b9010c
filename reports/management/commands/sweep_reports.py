"""Re-enqueue logs whose report is overdue; runs from cron or by hand if Celery beat is down."""

import logging
import time

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import DatabaseError, close_old_connections, connection

from reports.dispatch import stale_logs_requeue

logger = logging.getLogger(__name__)


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
            if not options["loop"]:
                ids = stale_logs_requeue(older_than_s=older_than, limit=options["limit"])
                self.stdout.write(f"re-enqueued {len(ids)} stale log(s)")
                return
            try:
                ids = stale_logs_requeue(older_than_s=older_than, limit=options["limit"])
                self.stdout.write(f"re-enqueued {len(ids)} stale log(s)")
            except DatabaseError as exc:
                # A sweeper that dies with the database would leave nothing to recover after it: go on.
                logger.warning("sweep failed (%s); retrying in %s s", exc, options["loop"])
                close_old_connections()
                connection.close()
            time.sleep(options["loop"])
