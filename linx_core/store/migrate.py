"""Numbered migrations (``linx_core/migrations/NNNN_name.py``) run by peewee's runner."""
from pathlib import Path

import peewee
from playhouse.migrations import Runner

from . import db

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def migrate(database: peewee.Database | None = None) -> list[str]:
    """Apply every pending migration; returns the names applied (idempotent)."""
    database = database or db.obj
    runner = Runner(database, directory=str(MIGRATIONS_DIR), table_name="linx_migration")
    return runner.up()


def pending(database: peewee.Database | None = None) -> list[str]:
    database = database or db.obj
    runner = Runner(database, directory=str(MIGRATIONS_DIR), table_name="linx_migration")
    return [m.name for m in runner.status() if not m.applied]
