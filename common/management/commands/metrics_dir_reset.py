"""Empty this process group's metrics directory before the group starts (docker-compose.yml's entrypoint)."""

from typing import Any

from django.core.management.base import BaseCommand

from common.metrics import multiproc_dir_reset


class Command(BaseCommand):
    help = "Empty (create) this process group's metrics directory; run once before the web server or a worker starts."

    def handle(self, *args: Any, **options: Any) -> None:
        path = multiproc_dir_reset()
        self.stdout.write(f"metrics directory reset: {path}" if path else "metrics: one process (no directory)")
