"""Put this directory first on PYTHONPATH to make ``import psycopg`` fail, so that Django's PostgreSQL
backend falls back to psycopg2 (the driver requirements.txt pins) even where psycopg 3 is installed.

Django 5.x picks psycopg 3 whenever it can import it; the benchmarks start the service with this shim
(the default, ``--driver psycopg2``) or without it (``--driver psycopg3``) to compare the two.
"""

raise ImportError("psycopg 3 hidden by benchmarks/reference/force_psycopg2 (Django falls back to psycopg2)")
