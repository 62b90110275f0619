"""The event log as the business reads it (``GET /v2/events``): its events, oldest first.

Only registered event types (``rt.event_types``) can be asked for, so a type that
is recorded is a type that can be filtered on.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from typing import TYPE_CHECKING

from ..errors import InvalidRequest, NotFound, Problem
from ..ids import as_uuid
from ..store.models import Business, Event
from .paging import Page, check_paging

if TYPE_CHECKING:  # pragma: no cover
    from ..runtime import Runtime


def list_events(rt: Runtime, business: Business, types: Collection[str] | None = None, since: dt.datetime | None = None,
                until: dt.datetime | None = None, page: int = 1, size: int = 20) -> Page:
    """One page of the business's events, oldest first, so an integrator can catch up.

    ``types`` filters by type; ``since`` is inclusive and ``until`` exclusive.
    """
    problems = check_paging(rt, page, size)
    known = rt.event_types
    for t in types or ():
        if t not in known:
            problems.append(Problem("query.type", f"Unknown event type {t[:80]!r}; known: {', '.join(known.names)}.",
                                    "NOT_ALLOWED"))
    if problems:
        raise InvalidRequest("The query is not valid.", problems)
    query = Event.select().where(Event.business == business)
    if types:
        query = query.where(Event.type.in_(list(types)))
    if since is not None:
        query = query.where(Event.created_at >= since)
    if until is not None:
        query = query.where(Event.created_at < until)
    total = query.count()
    items = list(query.order_by(Event.created_at, Event.id).paginate(page, size))
    return Page(items, page, size, total)


def get_event(business: Business, event_id: object) -> Event:
    """One of the business's events, or :class:`NotFound` (another business's looks the same)."""
    eid = as_uuid(event_id)
    event = None if eid is None else Event.get_or_none((Event.id == eid) & (Event.business == business))
    if event is None:
        raise NotFound("No such event.", "EVENT_NOT_FOUND")
    return event


