"""WSGI and ASGI entry points of the Django-served references (textbook DRF, plain GET view)."""

import os

os.environ["DJANGO_SETTINGS_MODULE"] = "benchmarks.reference.textbook_settings"

from django.core.asgi import get_asgi_application
from django.core.wsgi import get_wsgi_application

application = get_wsgi_application()
asgi_application = get_asgi_application()
