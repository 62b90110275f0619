"""Throwaway PostgreSQL databases, for the test suite and the benchmarks.

On the server the ``LINX_TEST_PG*`` variables name (default: ``postgres@127.0.0.1:5432``, database
``test``, trust authentication), :func:`temporary_database` creates a database of its own and drops it
afterwards, with whatever connections are still open to it.
"""
import contextlib
import os
import uuid
from collections.abc import Iterator
from typing import Any

ADMIN = dict(host=os.environ.get("LINX_TEST_PGHOST", "127.0.0.1"), port=int(os.environ.get("LINX_TEST_PGPORT", 5432)),
             user=os.environ.get("LINX_TEST_PGUSER", "postgres"), dbname=os.environ.get("LINX_TEST_PGDATABASE", "test"))


def admin_connection() -> Any:
    """An autocommit connection to the server's maintenance database (raises when the server is not there)."""
    import psycopg2

    conn = psycopg2.connect(connect_timeout=3, **ADMIN)
    conn.autocommit = True
    return conn


@contextlib.contextmanager
def temporary_database(prefix: str, admin: Any = None) -> Iterator[tuple[str, str, Any]]:
    """Yields ``(url, name, admin)`` for a new, empty database named ``<prefix>_<pid>_<random>``; drops it after.

    ``admin``: a connection from :func:`admin_connection` to use (and leave open); by default one is
    opened here and closed after.
    """
    own = admin is None
    admin = admin_connection() if own else admin
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    try:
        with admin.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"')
        try:
            yield f"postgresql://{ADMIN['user']}@{ADMIN['host']}:{ADMIN['port']}/{name}", name, admin
        finally:
            with admin.cursor() as cur:
                cur.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true')  # a test may have closed it
                cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        if own:
            admin.close()
