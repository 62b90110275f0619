"""What every sandbox rail needs, built-in or third-party: a durable ledger of transfers keyed by idempotency key.

A sandbox rail (see ``plugins/push_to_card.py`` or ``tests/rtp_plugin``) plays the provider's part in
development and in tests: it runs in ``make run`` as well as under pytest, so this module needs no
test library. Everything here reads time from ``linx_core.clock``, so a test's
:class:`~linx_core.clock.FrozenClock` drives what a rail decides from it.

The ledger is the rail's side of the world: a SQLite file of its own (``<instance>/rails/<name>/``),
apart from LinX's database, so that a transfer the rail accepted survives a LinX worker killed before
it recorded the answer, and a second submit with the same key finds the first transfer. Full account
numbers are never written to it: what a rail must keep for later (the ACH rail's NACHA entries) is
sealed with LinX's data key.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import clock

if TYPE_CHECKING:  # pragma: no cover
    from .payments import Transfer

UTC = dt.UTC
RESPONSE_DELAY_ENV = "LINX_SANDBOX_RESPONSE_DELAY"


def response_delay() -> float:
    """Seconds a sandbox rail waits after recording a transfer and before answering (``LINX_SANDBOX_RESPONSE_DELAY``).

    A slow answer from the rail is the window in which a LinX worker can die after the rail accepted
    a transfer but before LinX recorded it; the exactly-once tests use it to kill a worker there.
    """
    try:
        return max(0.0, float(os.environ.get(RESPONSE_DELAY_ENV, "0") or 0))
    except ValueError:
        return 0.0


def pause_before_answer() -> None:
    delay = response_delay()
    if delay:
        time.sleep(delay)


def transfer_fingerprint(transfer: Transfer, account_fingerprint: str = "") -> str:
    """What must not change between two submits with one idempotency key."""
    text = "|".join([transfer.type, str(transfer.amount), transfer.currency, transfer.account.kind,
                     transfer.account.subtype, account_fingerprint, transfer.priority or ""])
    return hashlib.sha256(text.encode()).hexdigest()


def iso(value: dt.datetime | None) -> str | None:
    """An aware datetime as the ledger stores it (ISO 8601, UTC)."""
    return value.astimezone(UTC).isoformat() if value else None


def parse_time(text: str | None) -> dt.datetime | None:
    """A datetime the ledger stored with :func:`iso`."""
    return dt.datetime.fromisoformat(text) if text else None


class Ledger:
    """A rail's durable record of transfers: one row per idempotency key, JSON data per row.

    Every write is one SQLite transaction (``BEGIN IMMEDIATE``), so two workers submitting the same key
    at once store one transfer. Several processes may share the file.
    """

    def __init__(self, folder: str | os.PathLike[str], prefix: str) -> None:
        self.folder = Path(folder)
        self.prefix = prefix
        self.path = self.folder / "ledger.sqlite3"
        self._ready = False

    def _connect(self) -> sqlite3.Connection:
        if not self._ready:
            self.folder.mkdir(parents=True, exist_ok=True)
            with suppress(OSError):
                os.chmod(self.folder, 0o700)
        conn = sqlite3.connect(str(self.path), timeout=30, isolation_level=None)
        conn.row_factory = sqlite3.Row
        if not self._ready:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("CREATE TABLE IF NOT EXISTS transfers (key TEXT PRIMARY KEY, reference TEXT UNIQUE NOT NULL, "
                         "created_at TEXT NOT NULL, data TEXT NOT NULL)")
            conn.execute("CREATE TABLE IF NOT EXISTS marks (id TEXT PRIMARY KEY, created_at TEXT NOT NULL)")
            self._ready = True
        return conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction on the ledger (``BEGIN IMMEDIATE``): yields the connection."""
        conn = self._connect()
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        finally:
            conn.close()

    def record(self, key: str, make: Callable[[str], dict[str, Any]]) -> tuple[dict[str, Any], bool]:
        """The transfer stored under ``key``, created with ``make(reference)`` if there is none.

        Returns ``(data, created)``; ``data`` is a dict that includes ``reference``.
        """
        with self.transaction() as conn:
            row = conn.execute("SELECT reference, data FROM transfers WHERE key = ?", (key,)).fetchone()
            if row is not None:
                return dict(json.loads(row["data"]), reference=row["reference"]), False
            reference = f"{self.prefix}_{uuid.uuid4().hex}"
            data = make(reference)
            conn.execute("INSERT INTO transfers (key, reference, created_at, data) VALUES (?, ?, ?, ?)",
                         (key, reference, iso(clock.now()), json.dumps(data)))
            return dict(data, reference=reference), True

    def first_time(self, mark: str) -> bool:
        """True the first time ``mark`` is seen (then never again): for once-only sandbox behaviours."""
        with self.transaction() as conn:
            if conn.execute("SELECT 1 FROM marks WHERE id = ?", (mark,)).fetchone():
                return False
            conn.execute("INSERT INTO marks (id, created_at) VALUES (?, ?)", (mark, iso(clock.now())))
            return True

    def get(self, reference: str) -> dict[str, Any] | None:
        """The transfer ``reference`` (its data with ``reference`` and ``key``), or None."""
        conn = self._connect()
        try:
            row = conn.execute("SELECT key, reference, data FROM transfers WHERE reference = ?",
                               (reference,)).fetchone()
        finally:
            conn.close()
        if row is None:
            return None
        return dict(json.loads(row["data"]), reference=row["reference"], key=row["key"])

    def update(self, conn: sqlite3.Connection, reference: str, **changes: Any) -> dict[str, Any]:
        """Change the transfer ``reference`` inside :meth:`transaction` (``conn``); returns its data."""
        row = conn.execute("SELECT data FROM transfers WHERE reference = ?", (reference,)).fetchone()
        data = dict(json.loads(row["data"]), **changes)
        conn.execute("UPDATE transfers SET data = ? WHERE reference = ?", (json.dumps(data), reference))
        return data

    def transfers(self) -> list[dict[str, Any]]:
        """Every transfer the rail holds, oldest first (for tests and operators)."""
        if not self.path.exists():
            return []
        conn = self._connect()
        try:
            rows = conn.execute("SELECT key, reference, data FROM transfers ORDER BY created_at, rowid").fetchall()
        finally:
            conn.close()
        return [dict(json.loads(r["data"]), reference=r["reference"], key=r["key"]) for r in rows]


__all__ = ["Ledger", "transfer_fingerprint", "pause_before_answer", "response_delay", "RESPONSE_DELAY_ENV", "iso",
           "parse_time"]
