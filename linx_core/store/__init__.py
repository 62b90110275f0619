"""The store: peewee models on one :data:`db` proxy.

:func:`open_database` turns a ``LINX_DATABASE_URL`` into a peewee database
(SQLite with WAL, a busy timeout and foreign keys; PostgreSQL pooled), and
:func:`bind` points the proxy at it. :func:`unavailable` tells a passing outage
(a busy SQLite file, a lost or refused PostgreSQL connection) from any other
database error, so the API can answer 503 and the worker can wait and go on.
"""
import contextlib
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Literal, TypeVar
from urllib.parse import ParseResult, parse_qsl, urlparse

import peewee
from playhouse import db_url
from playhouse.pool import MaxConnectionsExceeded, PooledPostgresqlDatabase

from ..errors import ConfigurationError
from .sqlite import SerialSqlite

db = peewee.DatabaseProxy()

BUSY_TIMEOUT_SECONDS = 10
SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    "synchronous": "normal",
    # 500 KiB of page cache a connection (SQLite's default is 2 MB): a serving thread keeps its connection, so
    # each one's cache would fill with the pages of ever larger tables; the OS caches the file's pages anyway
    "cache_size": -500,
}
SQLITE_BUSY = ("SQLITE_BUSY", "SQLITE_LOCKED")
# SQLSTATEs that mean "this connection or this moment, not this request": connection exceptions (08),
# a terminated or shutting-down server (57P01-57P03), too many connections, and the transaction
# rollbacks a retry resolves (serialization failure, deadlock).
PG_PASSING = ("08", "57P01", "57P02", "57P03", "53300", "40001", "40P01")


BEGIN = ("BEGIN", ())  # a transaction's start, sent ahead of its first statement

# what Prepared keeps per kind of database: (query, SQL text, where each value goes, constant params, whole rows)
_Kept = tuple[Any, str, list[int | None], list[Any], "_Whole | None"]
# every column of one model: (model, field names, each column's converter)
_Whole = tuple[type[peewee.Model], list[str], list[Callable[[Any], Any]]]


class PooledPostgres(PooledPostgresqlDatabase):
    """peewee's PostgreSQL pool, letting go of a connection the server has closed as soon as it is seen.

    The pool itself drops a dead connection when it is next checked out (it pings it), but the thread that
    holds it keeps it until it closes: after ``pg_terminate_backend`` or a server restart, what that thread
    does next (release an idempotency key, mark a job failed) would fail on the dead connection too. Out of
    a transaction, the next statement opens a fresh connection instead. Inside one the dead connection is
    kept, so the rest of that transaction fails rather than running half on another connection; its
    rollback is then a no-op (the server rolled it back when the connection went) and lets go of it.
    """

    def connect(self, reuse_if_open: bool = False) -> bool:
        ctx = self._state.ctx  # open connection_context blocks: a connection opened (or refused) inside one
        try:                   # stays in it, where peewee would forget them and fail when the block ends
            return super().connect(reuse_if_open)
        finally:
            self._state.ctx = ctx

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._behind = threading.local()  # this thread's inserts written behind (write_behind)

    def execute_sql(self, sql: str, params: Sequence[Any] | None = None) -> Any:
        sql, params = self._with_pending(sql, params)
        try:
            return super().execute_sql(sql, params)
        except (peewee.OperationalError, peewee.InterfaceError):
            self._let_go_if_lost()
            raise

    def defer(self, sql: str, params: Sequence[Any]) -> bool:
        """Keep an INSERT to send with this thread's next statement; False when not writing behind."""
        if not getattr(self._behind, "on", False) or not self.transaction_depth():
            return False
        self._behind.pending = getattr(self._behind, "pending", None) or []
        self._behind.pending.append((sql, params))
        return True

    def _with_pending(self, sql: str, params: Sequence[Any] | None) -> tuple[str, Sequence[Any] | None]:
        pending = getattr(self._behind, "pending", None)
        if not pending:
            return sql, params
        self._behind.pending = None
        texts = [text for text, _ in pending] + [sql]
        values = [value for _, part in pending for value in part] + list(params or ())
        return "; ".join(texts), values

    def commit(self) -> None:
        pending = getattr(self._behind, "pending", None)
        if pending == [BEGIN]:  # a transaction that ran no statement: nothing to send
            self._behind.pending = None
            return None
        if pending:  # the inserts and the COMMIT: one round trip
            sql, params = self._with_pending("COMMIT", ())
            try:
                with peewee.__exception_wrapper__:  # type: ignore[attr-defined]  # (not in the stubs)
                    self.cursor().execute(sql, params)
            except (peewee.OperationalError, peewee.InterfaceError):
                self._let_go_if_lost()
                raise
            return None
        return super().commit()

    def begin(self, *args: Any, **kwargs: Any) -> None:
        if not args and not kwargs and not self._isolation_level:  # BEGIN goes with the first statement
            try:
                self.cursor()  # (opens the connection now, as BEGIN would have: opening one resets peewee's
            except (peewee.OperationalError, peewee.InterfaceError):  # transaction stack)
                self._let_go_if_lost()
                raise
            self._behind.pending = [BEGIN]
            return None
        try:
            return super().begin(*args, **kwargs)
        except (peewee.OperationalError, peewee.InterfaceError):
            self._let_go_if_lost()
            raise

    def rollback(self) -> None:
        pending, self._behind.pending = getattr(self._behind, "pending", None), None
        if pending and pending[0] is BEGIN:  # the transaction never reached the server: nothing to undo
            return None
        if self._let_go_if_lost():
            return None
        if self._state.conn is None:  # let go already (a COMMIT that lost its connection): the server rolled it back
            return None
        return super().rollback()

    def _let_go_if_lost(self) -> bool:
        conn = self._state.conn
        if self.transaction_depth() or conn is None or not getattr(conn, "closed", False):
            return False
        ctx = self._state.ctx
        self.manual_close()
        self._state.ctx = ctx
        return True


def redacted(url: str) -> str:
    """``url`` with its password, if any, replaced by ``***``: for messages and logs."""
    parsed = urlparse(url)
    if parsed.password is None:
        return url
    host = parsed.netloc.rpartition("@")[2]
    return parsed._replace(netloc=f"{parsed.username or ''}:***@{host}").geturl()


def open_database(url: str) -> peewee.Database:
    """A peewee database for ``url`` (``sqlite:///path`` or ``postgresql://...``).

    ``sqlite:///path?timeout=SECONDS`` sets how long a writer waits for the write lock (default 10).
    """
    parsed = urlparse(url)
    scheme = parsed.scheme
    if scheme == "sqlite":
        return _sqlite(url, parsed)
    if scheme in ("postgres", "postgresql", "postgres+pool", "postgresql+pool"):
        options = dict(max_connections=32, stale_timeout=300, timeout=10) if "+pool" not in scheme else {}
        options.update(db_url.parse(url))
        return PooledPostgres(**options)
    raise ConfigurationError(
        f"LINX_DATABASE_URL={redacted(url)!r}: use sqlite:///path/to/file.db or postgresql://user@host/db."
    )


def _sqlite(url: str, parsed: ParseResult) -> peewee.Database:
    query = dict(parse_qsl(parsed.query))
    try:
        timeout = float(query.get("timeout", BUSY_TIMEOUT_SECONDS))
    except ValueError:
        raise ConfigurationError(f"LINX_DATABASE_URL={url!r}: timeout must be a number of seconds.") from None
    if timeout < 0:
        raise ConfigurationError(f"LINX_DATABASE_URL={url!r}: timeout must not be negative.")
    # Every transaction takes the write lock up front (BEGIN IMMEDIATE): a transaction that reads and
    # then writes can then never lose its snapshot to another writer; it waits (busy_timeout) instead
    # of failing, and past the timeout fails before it has done anything.
    # The threads of this process queue for it on a lock of their own (SerialSqlite), not in SQLite's busy handler.
    pragmas = dict(SQLITE_PRAGMAS, busy_timeout=int(timeout * 1000))
    options = db_url.parse(url)
    options.update(pragmas=pragmas, timeout=timeout, lock_type="IMMEDIATE", busy_seconds=timeout)
    return SerialSqlite(**options)


def unavailable(exc: BaseException) -> Literal["busy", "unreachable"] | None:
    """``"busy"`` or ``"unreachable"`` when ``exc`` is a passing database outage, else None.

    Busy: SQLite's write lock was held past the busy timeout. Unreachable: the PostgreSQL connection was
    lost or refused, the pool had no connection free in time, or the server rolled the transaction back
    for a retry to resolve. Nothing of the failed transaction was committed in either case (a lost
    COMMIT is the exception: a retry with the same ``Idempotency-Key`` replays it if it went through).
    """
    if isinstance(exc, MaxConnectionsExceeded):
        return "unreachable"
    if not isinstance(exc, (peewee.OperationalError, peewee.InterfaceError)):
        return None
    original = getattr(exc, "orig", exc)  # the driver's exception, which peewee wraps
    if getattr(original, "sqlite_errorname", None) in SQLITE_BUSY or "database is locked" in str(exc):
        return "busy"
    module = type(original).__module__ or ""
    if not module.startswith("psycopg"):
        return None
    code = getattr(original, "pgcode", None) or getattr(original, "sqlstate", None)
    if code is None or code.startswith(PG_PASSING):  # no SQLSTATE: the client lost or never had the connection
        return "unreachable"
    return None


# What a PostgreSQL server answers when it refuses a connection for a reason no wait will change (psycopg2
# gives a refused connection no SQLSTATE: the server's message is all there is)
PG_REFUSED_FOR_GOOD = ("does not exist", "authentication failed", "no pg_hba.conf entry", "no password supplied")


def refused_for_good(exc: BaseException) -> bool:
    """True when ``exc`` is PostgreSQL refusing a connection for a configuration reason (no such database or role,
    a wrong password, no pg_hba.conf entry): what :func:`unavailable` calls unreachable, but that waiting will not
    fix."""
    if unavailable(exc) != "unreachable":
        return False
    text = str(getattr(exc, "orig", exc))
    return "FATAL" in text and any(reason in text for reason in PG_REFUSED_FOR_GOOD)


@contextlib.contextmanager
def write_behind() -> Iterator[None]:
    """Inside a transaction on PostgreSQL, send this thread's INSERTs with its next statement (or the COMMIT)
    instead of one round trip each. For inserts that cannot conflict (new UUID ids): an insert that fails
    fails that later statement, and the transaction with it. SQLite has no round trips to save: no change.
    """
    target = getattr(db, "obj", None)
    behind = getattr(target, "_behind", None)
    if behind is None:
        yield
        return
    was = getattr(behind, "on", False)
    behind.on = True
    try:
        yield
    finally:
        behind.on = was


def bind(database: peewee.Database) -> peewee.Database:
    """Point the models at ``database``."""
    db.initialize(database)
    return database


def is_postgres(database: peewee.Database | None = None) -> bool:
    target = database or db.obj
    return isinstance(target, peewee.PostgresqlDatabase)


def locking(query: Any, share: bool = False) -> Any:
    """``query`` with a row lock on PostgreSQL (``FOR UPDATE``, or ``FOR SHARE`` with ``share``: others may read
    the rows, none may change them until the transaction ends); unchanged on SQLite, whose writers queue anyway."""
    if not is_postgres():
        return query
    return query.for_update("FOR SHARE") if share else query.for_update()


_Query = TypeVar("_Query", bound=peewee.Select)


def for_update(query: _Query, skip_locked: bool = False) -> _Query:
    """``query`` locking the rows it reads until the transaction ends (``SELECT ... FOR UPDATE``, with
    ``skip_locked``: passing over the rows another transaction holds) on PostgreSQL; as is on SQLite, whose
    transactions take the one write lock up front."""
    return query.for_update(skip_locked=skip_locked) if is_postgres() else query


class Prepared:
    """A hot query whose SQL text peewee builds once per kind of database, then runs with new values.

    ``build(*markers)`` returns the peewee query (a select, an update...) with a marker where each value
    goes; ``fields`` say how each value is converted (the field's ``db_value``, as peewee would; None: as
    it is). A value may appear more than once. :meth:`rows` runs a select and yields what the peewee query
    would: model instances, joins included; :meth:`execute` runs a write and returns the rows it changed.
    Building a query's text from its tree costs more than running it on a short query, and these run on
    every API request and every job (``bench/README.md``, "Profile").
    """

    def __init__(self, build: Callable[..., Any], *fields: peewee.Field | None) -> None:
        self._build = build
        self._fields = fields
        self._kept: dict[type, _Kept] = {}

    def _prepare(self, database: peewee.Database) -> "_Kept":
        names = [f"\x00linx-value-{i}\x00" for i in range(len(self._fields))]
        query = self._build(*(peewee.Value(name, converter=False) for name in names))
        sql, params = query.sql()
        slots = [names.index(p) if isinstance(p, str) and p in names else None for p in params]
        if {s for s in slots if s is not None} != set(range(len(names))):
            raise AssertionError(f"every value must appear in the query: {sql}")
        kept = self._kept[type(database)] = (query, sql, slots, params, _whole_rows_of(query))
        return kept

    def _run(self, values: Sequence[Any]) -> tuple[Any, "_Whole | None", Any]:
        database = db.obj
        query, sql, slots, constants, whole = self._kept.get(type(database)) or self._prepare(database)
        converted = [value if field is None else field.db_value(value)
                     for field, value in zip(self._fields, values, strict=True)]
        params = [constants[i] if slot is None else converted[slot] for i, slot in enumerate(slots)]
        return query, whole, db.execute_sql(sql, params)

    def rows(self, *values: Any) -> Any:
        query, whole, cursor = self._run(values)
        if whole is None:
            return query._get_cursor_wrapper(cursor)
        model, names, converters = whole  # every column of one model: the instances made here, as peewee's
        made = []                         # wrapper makes them, without resolving the columns on every call
        for row in cursor.fetchall():
            instance = model(__no_default__=1)
            converted = (convert(value) for convert, value in zip(converters, row, strict=True))
            instance.__data__.update(zip(names, converted, strict=True))
            made.append(instance)
        return made

    def first(self, *values: Any) -> Any:
        """The first row, or None."""
        for row in self.rows(*values):
            return row
        return None

    def execute(self, *values: Any) -> int:
        """Run an UPDATE or DELETE; how many rows it changed."""
        _, _, cursor = self._run(values)
        return cursor.rowcount


def _whole_rows_of(query: Any) -> "_Whole | None":
    """``(model, field names, converters)`` when ``query`` returns every column of one model and nothing else."""
    model = getattr(query, "model", None)
    returning = getattr(query, "_returning", None)
    if model is None or not returning or getattr(query, "_joins", None) or len(getattr(query, "_from_list", [1])) > 1:
        return None
    fields = model._meta.sorted_fields
    if len(returning) != len(fields) or any(a is not b for a, b in zip(returning, fields, strict=True)):
        return None
    return model, [f.name for f in fields], [f.python_value for f in fields]
