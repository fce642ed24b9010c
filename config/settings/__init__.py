"""Settings by environment, the cookiecutter-django way: ``base`` (common to all), ``local`` (``manage.py``
and ``make run``), ``test`` (the suite), ``production`` (the Dockerfile and compose). Pick one with
DJANGO_SETTINGS_MODULE."""
