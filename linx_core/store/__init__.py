"""The store: peewee models on one :data:`db` proxy.

:func:`open_database` turns a ``LINX_DATABASE_URL`` into a peewee database
(SQLite with WAL, a busy timeout and foreign keys; PostgreSQL pooled), and
:func:`bind` points the proxy at it.
"""
from urllib.parse import urlparse

import peewee
from playhouse import db_url

from ..errors import ConfigurationError

db = peewee.DatabaseProxy()

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "busy_timeout": 10_000,
    "foreign_keys": 1,
    "synchronous": "normal",
}


def open_database(url):
    """A peewee database for ``url`` (``sqlite:///path`` or ``postgresql://...``)."""
    scheme = urlparse(url).scheme
    if scheme == "sqlite":
        # Every transaction takes the write lock up front (BEGIN IMMEDIATE): a
        # transaction that reads and then writes can then never lose its snapshot
        # to another writer; it waits (busy_timeout) instead of failing.
        return db_url.connect(url, pragmas=SQLITE_PRAGMAS, timeout=10, lock_type="IMMEDIATE")
    if scheme in ("postgres", "postgresql"):
        url = url.replace(scheme + "://", "postgresql+pool://", 1)
        return db_url.connect(url, max_connections=32, stale_timeout=300, timeout=10)
    if scheme in ("postgres+pool", "postgresql+pool"):
        return db_url.connect(url)
    raise ConfigurationError(
        f"LINX_DATABASE_URL={url!r}: use sqlite:///path/to/file.db or postgresql://user@host/db."
    )


def bind(database):
    """Point the models at ``database``."""
    db.initialize(database)
    return database


def is_postgres(database=None):
    target = database or db.obj
    return isinstance(target, peewee.PostgresqlDatabase)
