"""SQLite whose write transactions queue on a lock of the process before they ask SQLite for the file's.

Every LinX transaction on SQLite begins with ``BEGIN IMMEDIATE``: it takes the file's write lock up front.
A second thread that asks for it while the first holds it gets SQLITE_BUSY, and SQLite's busy handler
makes it sleep and ask again (after 1, 2, 5, 10, 15, 20, 25... ms): while a create holds the lock for a
few milliseconds of Python, the other serving threads sleep, the cores idle, and the slowest requests
wait hundreds of milliseconds. Here the threads of one process wait on a :class:`threading.Lock` instead,
taken before ``BEGIN`` and given back at ``COMMIT``, ``ROLLBACK`` or when the connection closes: the
next one starts the moment the lock is free. Other processes (``linx worker``, a second server) still
meet at SQLite's own lock, as before; a thread waits for this one no longer than the busy timeout, and
then fails as SQLite would ("database is locked").
"""
import threading
from typing import Any

import peewee


class SerialSqlite(peewee.SqliteDatabase):
    def __init__(self, *args: Any, busy_seconds: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._writer = threading.Lock()
        self._holds = threading.local()
        self._busy_seconds = busy_seconds

    def begin(self, lock_type: str | None = None) -> None:
        if not self._writer.acquire(timeout=self._busy_seconds if self._busy_seconds > 0 else 0):
            raise peewee.OperationalError("database is locked")
        self._holds.writer = True
        try:
            super().begin(lock_type)
        except BaseException:
            self._let_go()
            raise

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._let_go()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._let_go()

    def _close(self, conn: Any) -> None:
        try:
            super()._close(conn)  # type: ignore[misc]  # peewee.Database._close, not in its stubs
        finally:
            self._let_go()

    def holds_writer(self) -> bool:
        """Whether this thread holds the process's write lock (in a transaction)."""
        return bool(getattr(self._holds, "writer", False))

    def _let_go(self) -> None:
        if getattr(self._holds, "writer", False):
            self._holds.writer = False
            self._writer.release()
