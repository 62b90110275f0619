"""Events: every state change appends one, in the transaction that made it.

An event is the audit trail and the source of webhooks. ``data`` is what a
webhook would carry: ids, statuses and masked numbers, never a full number.
"""
from .store.models import Event


def record(rt, business_id, type, subject_id, data):
    """Append an event and let event sinks queue their jobs; call inside the change's transaction."""
    event = Event.create(business=business_id, type=type, subject_id=subject_id, data=data)
    rt.plugins.hook.linx_event_recorded(rt=rt, event=event)
    return event
