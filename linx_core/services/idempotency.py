"""Idempotency keys: the first successful response is kept and replayed.

A key is reserved in its own committed transaction before the request runs, so
a duplicate that arrives meanwhile sees it IN_FLIGHT (409). The response is
stored in the same transaction as the request's effects; a request that fails
releases its key, so the caller can fix the body and retry with it (successes
only are kept, as Modern Treasury does). Records live ``idempotency_ttl_hours``.
What is shown only once (a passcode, a signing secret) is not kept: a replay
carries null there and names it in ``Idempotent-Withheld``. An IN_FLIGHT key
older than five minutes is taken as abandoned.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

import peewee

from .. import clock
from ..errors import Conflict
from ..store import db
from ..store.models import Business, IdempotencyRecord

if TYPE_CHECKING:  # pragma: no cover
    from ..runtime import Runtime

STALE_AFTER = dt.timedelta(minutes=5)


@dataclass
class Replay:
    status: int
    body: str


@dataclass
class Reservation:
    record_id: object


def reserve(rt: Runtime, business: Business, key: str, request_hash: str) -> Reservation | Replay:
    """A :class:`Reservation` to go ahead, a :class:`Replay`, or :class:`Conflict`."""
    for _ in range(3):
        now = clock.now()
        try:
            with db.atomic():
                created = IdempotencyRecord.create(
                    business=business, key=key, request_hash=request_hash, state="IN_FLIGHT", created_at=now,
                    expires_at=now + dt.timedelta(hours=rt.settings.idempotency_ttl_hours))
            return Reservation(created.id)
        except peewee.IntegrityError:
            pass
        record = IdempotencyRecord.get_or_none((IdempotencyRecord.business == business)
                                               & (IdempotencyRecord.key == key))
        if record is None:
            continue
        if record.expires_at <= now:
            IdempotencyRecord.delete().where((IdempotencyRecord.id == record.id)
                                             & (IdempotencyRecord.expires_at <= now)).execute()
            continue
        if record.request_hash != request_hash:
            raise Conflict("This Idempotency-Key was used with a different request.", "IDEMPOTENCY_KEY_REUSED")
        if record.state == "DONE":
            # complete() wrote both with DONE
            return Replay(cast(int, record.response_status), cast(str, record.response_body))
        if record.created_at < now - STALE_AFTER:
            taken = (IdempotencyRecord.update(created_at=now)
                     .where((IdempotencyRecord.id == record.id) & (IdempotencyRecord.state == "IN_FLIGHT")
                            & (IdempotencyRecord.created_at == record.created_at)).execute())
            if taken:
                return Reservation(record.id)
        raise Conflict("A request with this Idempotency-Key is still in progress.", "IDEMPOTENCY_REQUEST_IN_PROGRESS")
    raise Conflict("A request with this Idempotency-Key is still in progress.", "IDEMPOTENCY_REQUEST_IN_PROGRESS")


def complete(reservation: Reservation, status: int, body: str) -> None:
    """Keep the response; call inside the transaction of the request's effects."""
    IdempotencyRecord.update(state="DONE", response_status=status, response_body=body).where(
        IdempotencyRecord.id == reservation.record_id).execute()


def release(reservation: Reservation) -> None:
    IdempotencyRecord.delete().where((IdempotencyRecord.id == reservation.record_id)
                                     & (IdempotencyRecord.state == "IN_FLIGHT")).execute()


def purge_expired() -> int:
    """Delete records past their time; returns how many."""
    return IdempotencyRecord.delete().where(IdempotencyRecord.expires_at <= clock.now()).execute()
