"""WSGI entry point of the Django-served references (textbook DRF, plain GET view)."""

import os

os.environ["DJANGO_SETTINGS_MODULE"] = "benchmarks.reference.textbook_settings"

from django.core.wsgi import get_wsgi_application

application = get_wsgi_application()
