"""The event log as the business reads it (``GET /v2/events``): its events, oldest first.

Only registered event types (``rt.event_types``) can be asked for, so a type that
is recorded is a type that can be filtered on.
"""
import uuid

from ..errors import InvalidRequest, NotFound, Problem
from ..store.models import Event
from .paging import Page, check_paging


def list_events(rt, business, types=None, since=None, until=None, page=1, size=20):
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


def get_event(business, event_id):
    """One of the business's events, or :class:`NotFound` (another business's looks the same)."""
    eid = as_uuid(event_id)
    event = None if eid is None else Event.get_or_none((Event.id == eid) & (Event.business == business))
    if event is None:
        raise NotFound("No such event.", "EVENT_NOT_FOUND")
    return event


def as_uuid(value):
    """``value`` as a UUID, or ``None`` when it is not one."""
    try:
        return uuid.UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        return None
