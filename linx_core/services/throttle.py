"""The senders' pace: messages leave at the rate the channel allows, whatever the number of workers.

Each sender (a channel's from-number, messaging service or SMTP account: ``channel.sender``, else its name)
has one row, ``send_bucket``, holding the next moment a message may leave it. A send reserves the next slot in
one upsert (the row is locked for that statement only): the slot is that moment, or now when it has passed,
and the row moves on by one interval (``1 / perSecond`` of the rule files' ``notifications.rates``). A send
whose slot is later waits for it (its job deferred, no attempt counted), so 10,000 messages queued at once
leave in order, one interval apart, across every worker process. At its slot a message still leaves only if
the sender's last one left an interval ago (:func:`take_moment`): a message that ran late (a busy worker)
cannot crowd the next one. A provider that answers "too many" with a ``Retry-After`` holds the sender
until then (:func:`hold_off`): nothing leaves before, and every slot already reserved moves on by the wait,
in order (a slot is read through :func:`slot_time`).

A reserved slot that is not used (the worker dies) is a moment lost, never a message sent too soon; a slot
found long past (a restart) moves the sender's whole queue on (:func:`catch_up`): the backlog leaves from now,
in order, each message waking about twice. A message held for another reason (quiet hours) drops its slot.
"""
from __future__ import annotations

import datetime as dt
import uuid
from typing import TYPE_CHECKING, Any

from .. import clock
from ..store import db, for_update, is_postgres
from ..store.models import SendBucket

if TYPE_CHECKING:  # pragma: no cover
    from ..runtime import Runtime


def sender_key(channel_name: str, channel: Any, own: dict[str, str] | None = None) -> str:
    """``SMS:+15005550006``: the channel (as workflows name it) and who sends for it: the business's own sender
    (``own``, ``linx business sender``: its messaging service, else its number) or the installation's."""
    sender = ((own or {}).get("messagingServiceSid") or (own or {}).get("from")
              or getattr(channel, "sender", None) or getattr(channel, "name", "") or "")
    return f"{channel_name}:{sender}"[:160]


def interval(rt: Runtime, channel_name: str) -> dt.timedelta | None:
    """The time between two messages of one sender of ``channel_name``; None: the rules set no rate."""
    rate = rt.rules.notifications.get("rates", {}).get(channel_name)
    return dt.timedelta(seconds=1 / rate["perSecond"]) if rate else None


def reserve(key: str, step: dt.timedelta) -> dt.datetime:
    """Reserve the sender's next slot: when this message may leave (now, or later)."""
    return reserve_slot(key, step)[0]


def reserve_slot(key: str, step: dt.timedelta) -> tuple[dt.datetime, float]:
    """Reserve the sender's next slot: ``(when, shift)``, the sender's :attr:`SendBucket.shift` at the
    reservation, which :func:`slot_time` needs to follow the holds that come later."""
    now = clock.now()
    convert = SendBucket.next_at.db_value
    with db.atomic():
        if is_postgres():  # one upsert, its row locked for the statement
            row = db.execute_sql(
                'INSERT INTO "send_bucket" ("id", "key", "next_at", "shift") VALUES (%s, %s, %s, 0) '
                'ON CONFLICT ("key") DO UPDATE SET "next_at" = GREATEST("send_bucket"."next_at", %s) + %s '
                'RETURNING "next_at", "shift"',
                [SendBucket.id.db_value(uuid.uuid4()), key, convert(now + step), convert(now), step]).fetchone()
            after, shift = SendBucket.next_at.python_value(row[0]), float(row[1])
        else:  # SQLite: read and write under its write lock (every transaction takes it up front)
            found = SendBucket.get_or_none(SendBucket.key == key)
            after = (max(found.next_at, now) if found else now) + step
            shift = found.shift if found else 0.0
            if found:
                SendBucket.update(next_at=after).where(SendBucket.id == found.id).execute()
            else:
                SendBucket.create(key=key, next_at=after)
    return after - step, shift


def slot_time(key: str, slot: dt.datetime, shift: float) -> dt.datetime:
    """When a slot reserved at ``slot`` with ``shift`` may be used now: pushed by every hold since, and never
    before the sender's ``held_until``."""
    found = SendBucket.get_or_none(SendBucket.key == key)
    if found is None:
        return slot
    at = slot + dt.timedelta(seconds=max(0.0, found.shift - shift))
    return max(at, found.held_until) if found.held_until else at


def catch_up(key: str, slot: dt.datetime, shift: float, stale: dt.timedelta) -> dt.datetime:
    """A slot found more than ``stale`` past (the workers were down): every slot of the sender moves on by its
    lateness, so the backlog leaves from now in the order it was reserved, whichever worker wakes first; the
    slot's new time. Under the row's lock: of the late messages waking at once, the earliest moves them all."""
    now = clock.now()
    with db.atomic():
        found = for_update(SendBucket.select().where(SendBucket.key == key)).first()
        if found is None:
            return slot
        at = slot + dt.timedelta(seconds=max(0.0, found.shift - shift))
        late = now - at
        if late <= stale:
            return at
        SendBucket.update(next_at=max(found.next_at + late, now), shift=SendBucket.shift + late.total_seconds()
                          ).where(SendBucket.id == found.id).execute()
        return now


def take_moment(key: str, step: dt.timedelta) -> bool:
    """At its slot, a message leaves only if the sender's last one left at least ``step`` ago (a late message,
    from a busy worker, cannot crowd the next one) and no hold is on. True: it may leave now (noted)."""
    now = clock.now()
    with db.atomic():
        free = ((SendBucket.sent_at.is_null() | (SendBucket.sent_at <= now - step))
                & (SendBucket.held_until.is_null() | (SendBucket.held_until <= now)))
        return SendBucket.update(sent_at=now).where((SendBucket.key == key) & free).execute() == 1


def hold_off(key: str, until: dt.datetime) -> None:
    """The provider asked to wait until ``until``: no message of this sender leaves before then, and every
    slot already reserved moves on by the wait (in order), as does the next one to give."""
    now = clock.now()
    if until <= now:
        return
    with db.atomic():
        found = for_update(SendBucket.select().where(SendBucket.key == key)).first()
        if found is None:
            SendBucket.create(key=key, next_at=until, held_until=until, shift=(until - now).total_seconds())
            return
        wait = until - max(now, found.held_until or now)  # what this hold adds to the ones before it
        if wait <= dt.timedelta(0):
            return
        SendBucket.update(next_at=max(found.next_at, now) + wait, held_until=until,
                          shift=SendBucket.shift + wait.total_seconds()).where(SendBucket.id == found.id).execute()
