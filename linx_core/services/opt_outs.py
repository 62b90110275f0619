"""Opt-outs: a recipient who asked a business to send no more gets nothing more from it on that channel.

Recorded when the provider refuses a message because the recipient opted out (Twilio's 21610), or when the
customer replies STOP (the Twilio plugin's inbound route): the installation's sender is shared, so a STOP to
it opts the number out of every business that has written to it. Checked before each send: the notification
is FAILED (``OPTED_OUT``) and no provider is called. START opts the number back in.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import peewee

from .. import clock
from ..store import db
from ..store.models import OptOut, Workflow

if TYPE_CHECKING:  # pragma: no cover
    from ..runtime import Runtime


def opted_out(business_id: object, channel: str, contact: str | None) -> bool:
    if not contact:
        return False
    return OptOut.select().where((OptOut.business == business_id) & (OptOut.channel == channel)
                                 & (OptOut.contact == contact)).exists()


def record(business_id: object, channel: str, contact: str, reason: str) -> None:
    """``contact`` wants nothing more from the business on ``channel`` (once; a repeat changes nothing)."""
    with db.atomic():
        OptOut.insert(business=business_id, channel=channel, contact=contact, reason=reason[:200],
                      created_at=clock.now()).on_conflict_ignore().execute()


def stop(rt: Runtime, channel: str, contact: str, reason: str) -> int:
    """A STOP to the shared sender: every business that wrote to ``contact`` records it; how many."""
    column = Workflow.phone_number if channel == "SMS" else Workflow.email
    rows: Any = Workflow.select(peewee.fn.DISTINCT(Workflow.business)).where(column == contact).tuples()
    found = [row[0] for row in rows]
    for business_id in found:
        record(business_id, channel, contact, reason)
    return len(found)


def start(rt: Runtime, channel: str, contact: str) -> int:
    """START: ``contact`` may hear from every business again."""
    return OptOut.delete().where((OptOut.channel == channel) & (OptOut.contact == contact)).execute()
