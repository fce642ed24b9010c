"""Write the vocabulary (GET /api/v1/vocabulary's answer) as JSON: the dashboard's tests seed their query cache
with it (frontend/src/testing/vocabulary.json; `make frontend-schema` rewrites that file, and
tests/api/test_vocabulary.py fails when it differs from the API's answer)."""

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand

from analytics.selectors import vocabulary_get


class Command(BaseCommand):
    help = "Write GET /api/v1/vocabulary's answer as JSON (to --file, or to stdout)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--file", help="Write here instead of stdout.")

    def handle(self, *args: Any, **options: Any) -> None:
        text = json.dumps(vocabulary_get(), indent=2, ensure_ascii=False) + "\n"
        if options["file"]:
            Path(options["file"]).write_text(text, encoding="utf-8")
        else:
            self.stdout.write(text, ending="")
