"""Rate limits whose counters every process shares: they live in the database (``rate_counter``).

Two users:

- the messages a business sends (:func:`count_message`): per recipient (a phone number or an email
  address, across all of one business's workflows) in an hour and in a day, and per business in a day,
  from the rule files' ``messageLimits`` section. A create or resend counts inside its own transaction, so
  a refused one leaves nothing behind (its count included) and two at once cannot both slip past: the
  counter's row is written (and so locked, until the commit) by an upsert, and the count it returns is
  the one that decides. On PostgreSQL the second transaction waits for the first's row lock, then counts
  on top of what it committed; on SQLite every write transaction takes the write lock up front.
- the Gateway's per-address limits on link openings and passcode checks (:func:`allow`), each hit in a
  transaction of its own.

Each counter is a fixed window that starts at its key's first hit (so a burst is never split over a
boundary) and is replaced by a new one at the first hit after it ends. Rows of ended windows are purged
by the worker's maintenance (:func:`purge_expired`); a key that comes back meanwhile simply restarts.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import peewee

from .. import clock
from ..errors import LinxError, Problem
from ..store import Prepared, db
from ..store.models import Business, RateCounter, Workflow

if TYPE_CHECKING:  # pragma: no cover
    from ..runtime import Runtime

HOUR = 3600
DAY = 24 * HOUR


class LimitReached(LinxError):
    """A limit is reached (HTTP 429); ``retry_after`` is the seconds until the window that refused ends."""

    def __init__(self, message: str, code: str, retry_after: int) -> None:
        super().__init__(message, code, 429)
        self.retry_after = retry_after


@dataclass(frozen=True)
class Limit:
    """At most ``most`` hits on ``key`` in ``window`` seconds."""

    key: str
    most: int
    window: int


def hit(limits: Sequence[Limit]) -> list[int]:
    """Count one hit on each of ``limits`` (one statement); for each, 0 if within it, else the seconds to wait.

    Inside the caller's transaction: the rows stay locked until it ends, and a rollback takes the hits back.
    """
    now = clock.now()
    values: list[Any] = [now]
    for limit in limits:
        values += [uuid.uuid4(), limit.key, now + dt.timedelta(seconds=limit.window)]
    counts = {key: (count, expires_at) for key, count, expires_at in _upsert(len(limits)).rows(*values)}
    waits = []
    for limit in limits:
        count, expires_at = counts[limit.key]
        waits.append(0 if count <= limit.most else max(1, math.ceil((expires_at - now).total_seconds())))
    return waits


def allow(key: str, most: int, window: float) -> tuple[bool, int]:
    """One hit on ``key`` in a transaction of its own: ``(True, 0)`` within ``most`` per ``window`` seconds,
    else ``(False, seconds to wait)``. The Gateway's :class:`~gateway_app.gateway.security.RateLimiter`."""
    with db.atomic():
        wait, = hit([Limit(key, most, max(1, math.ceil(window)))])
    return wait == 0, wait


def count_message(rt: Runtime, business: Business, workflow: Workflow) -> None:
    """Count one message of ``business`` to ``workflow``'s recipient, in the caller's transaction (a create or
    a resend, at its end: the rows stay locked only until the commit); :class:`LimitReached` past a limit.
    """
    rules = rt.rules.message_limits
    recipient = _recipient(rt, workflow)
    limits = [Limit(f"business:{business.id}:{DAY}", rules["business"]["perDay"], DAY)]
    if recipient:
        scope = f"recipient:{business.id}:{hashlib.sha256(recipient.encode()).hexdigest()[:32]}"
        limits += [Limit(f"{scope}:{HOUR}", rules["recipient"]["perHour"], HOUR),
                   Limit(f"{scope}:{DAY}", rules["recipient"]["perDay"], DAY)]
    business_wait, *recipient_waits = hit(limits)
    if any(recipient_waits):
        per = "hour" if recipient_waits[0] else "day"
        most = rules["recipient"]["perHour" if per == "hour" else "perDay"]
        raise LimitReached(f"This recipient has had {most} messages from this business in the last {per}, the most "
                           f"the rules allow; try again later.", "RECIPIENT_LIMIT", max(recipient_waits))
    if business_wait:
        raise LimitReached(f"This business has sent {rules['business']['perDay']} messages in the last day, the most "
                           f"the rules allow; try again later.", "BUSINESS_MESSAGE_LIMIT", business_wait)


def count_messages(rt: Runtime, business: Business, workflows: Sequence[Workflow]) -> list[Problem | None]:
    """:func:`count_message` for many workflows of ``business`` at once (a batch's chunk), in the caller's
    transaction: for each, None when its message is counted, else the limit it would break (and it is not
    counted). In order: the first messages to a recipient are counted until its limits are reached.

    One upsert adds each key's whole count, locking its row; what the limits refuse is taken back after.
    """
    rules = rt.rules.message_limits
    business_key = f"business:{business.id}:{DAY}"
    wanted: dict[str, tuple[int, int]] = {business_key: (rules["business"]["perDay"], DAY)}
    keys_of: list[list[str]] = []
    for workflow in workflows:
        recipient = _recipient(rt, workflow)
        keys = [business_key]
        if recipient:
            scope = f"recipient:{business.id}:{hashlib.sha256(recipient.encode()).hexdigest()[:32]}"
            keys += [f"{scope}:{HOUR}", f"{scope}:{DAY}"]
            wanted.setdefault(keys[1], (rules["recipient"]["perHour"], HOUR))
            wanted.setdefault(keys[2], (rules["recipient"]["perDay"], DAY))
        keys_of.append(keys)
    if not workflows:
        return []
    asked = {key: 0 for key in wanted}
    for keys in keys_of:
        for key in keys:
            asked[key] += 1
    now = clock.now()
    with_counts = _add_counts(now, {key: (asked[key], wanted[key][1]) for key in wanted})
    used = {key: with_counts[key] - asked[key] for key in wanted}  # what each key had before this chunk
    out: list[Problem | None] = []
    for keys in keys_of:
        over = next((key for key in keys if used[key] >= wanted[key][0]), None)
        if over is None:
            for key in keys:
                used[key] += 1
            out.append(None)
        elif over == business_key:
            out.append(Problem("parameters", f"This business has sent {rules['business']['perDay']} messages in the "
                                             "last day, the most the rules allow.", "BUSINESS_MESSAGE_LIMIT"))
        else:
            per = "hour" if over.endswith(f":{HOUR}") else "day"
            out.append(Problem("parameters", f"This recipient has had {wanted[over][0]} messages from this business "
                                             f"in the last {per}, the most the rules allow.", "RECIPIENT_LIMIT"))
    for key in wanted:  # take back what was not counted
        back = with_counts[key] - used[key]
        if back:
            RateCounter.update(count=RateCounter.count - back).where(RateCounter.key == key).execute()
    return out


def _add_counts(now: dt.datetime, counts: dict[str, tuple[int, int]]) -> dict[str, int]:
    """Add ``count`` hits to each key's window (``key: (count, window seconds)``), starting windows that ended,
    in one upsert; each key's count after. Inside the caller's transaction.

    The statement's text is written here, not built by peewee: for a chunk's hundreds of keys, peewee's query
    tree cost more than running it. The same SQL runs on SQLite (3.35+) and PostgreSQL.
    """
    target = db.obj
    mark, (q0, q1) = target.param, target.quote or '""'
    rows = sorted(counts.items())  # one order for every writer: no deadlock
    convert = RateCounter.expires_at.db_value
    params: list[Any] = []
    for key, (count, window) in rows:
        params += [RateCounter.id.db_value(uuid.uuid4()), key, convert(now),
                   convert(now + dt.timedelta(seconds=window)), count]
    table = f"{q0}rate_counter{q1}"
    ended = f"{table}.{q0}expires_at{q1} <= {mark}"
    values = ", ".join([f"({', '.join([mark] * 5)})"] * len(rows))
    sql = (f"INSERT INTO {table} ({q0}id{q1}, {q0}key{q1}, {q0}window_start{q1}, {q0}expires_at{q1}, {q0}count{q1}) "
           f"VALUES {values} ON CONFLICT ({q0}key{q1}) DO UPDATE SET "
           f"{q0}count{q1} = CASE WHEN {ended} THEN excluded.{q0}count{q1} "
           f"ELSE {table}.{q0}count{q1} + excluded.{q0}count{q1} END, "
           f"{q0}window_start{q1} = CASE WHEN {ended} THEN excluded.{q0}window_start{q1} "
           f"ELSE {table}.{q0}window_start{q1} END, "
           f"{q0}expires_at{q1} = CASE WHEN {ended} THEN excluded.{q0}expires_at{q1} "
           f"ELSE {table}.{q0}expires_at{q1} END "
           f"RETURNING {q0}key{q1}, {q0}count{q1}")
    params += [convert(now)] * 3
    return dict(db.execute_sql(sql, params).fetchall())


def purge_expired() -> int:
    """Delete the counters whose window has ended (the worker's maintenance); how many."""
    return RateCounter.delete().where(RateCounter.expires_at <= clock.now()).execute()


def _recipient(rt: Runtime, workflow: Workflow) -> str:
    """Where the workflow's messages go, in one form, for the counter's key alone (what is sent is untouched).

    The contact is the parameter the rules' catalog names for the channel (``channels.<X>.contact``), so a
    channel a plugin adds is counted too. An email address is one recipient however it is written: in lower
    case, without a ``+tag`` (``jane+1@`` and ``jane+2@`` reach one inbox), its domain IDNA-encoded (the
    Unicode and the punycode forms of one domain are one domain).
    """
    contact_param = ((rt.rules.catalog.get("channels") or {}).get(workflow.channel) or {}).get("contact")
    parameters = workflow.parameters if isinstance(workflow.parameters, dict) else {}
    contact = parameters.get(contact_param) if contact_param else None
    if contact is None:  # a workflow stored before its parameters named it: the columns
        contact = workflow.phone_number if workflow.channel == "SMS" else workflow.email
    value = str(contact or "").strip().lower()
    return _email_key(value) if "@" in value else value


def _email_key(address: str) -> str:
    """``address`` (lower case) without its local part's ``+tag``, its domain in IDNA (ASCII) form."""
    local, _, domain = address.rpartition("@")
    local = local.split("+", 1)[0] or local
    try:
        ascii_domain = domain.rstrip(".").encode("idna").decode("ascii").lower()
    except UnicodeError:  # a label the codec refuses (empty, too long): the domain as written
        ascii_domain = domain
    return f"{local}@{ascii_domain}"


_UPSERTS: dict[int, Prepared] = {}


def _upsert(rows: int) -> Prepared:
    """The upsert of ``rows`` counters (its SQL text built once per count of rows): each row starts a window, or
    counts one more hit in the one it has, or starts the next one when its window has ended; the new counts."""
    prepared = _UPSERTS.get(rows)
    if prepared is None:
        def build(now: Any, *values: Any) -> Any:
            ended = RateCounter.expires_at <= now
            new = [{RateCounter.id: values[i], RateCounter.key: values[i + 1], RateCounter.window_start: now,
                    RateCounter.expires_at: values[i + 2], RateCounter.count: 1} for i in range(0, len(values), 3)]
            return (RateCounter.insert_many(new).on_conflict(conflict_target=[RateCounter.key], update={
                RateCounter.count: peewee.Case(None, [(ended, 1)], RateCounter.count + 1),
                RateCounter.window_start: peewee.Case(None, [(ended, peewee.EXCLUDED.window_start)],
                                                      RateCounter.window_start),
                RateCounter.expires_at: peewee.Case(None, [(ended, peewee.EXCLUDED.expires_at)],
                                                    RateCounter.expires_at),
            }).returning(RateCounter.key, RateCounter.count, RateCounter.expires_at).tuples())

        row: list[peewee.Field | None] = [RateCounter.id, RateCounter.key, RateCounter.expires_at]
        prepared = _UPSERTS[rows] = Prepared(build, RateCounter.expires_at, *row * rows)
    return prepared
