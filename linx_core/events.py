"""Events: every state change appends one, in the transaction that made it.

An event is the audit trail and the source of webhooks. ``data`` is what a
webhook would carry: ids, statuses and masked numbers, never a full number.
"""
from .store.models import Event


def record(business_id, type, subject_id, data):
    """Append an event; call inside the transaction of the change it records."""
    return Event.create(business=business_id, type=type, subject_id=subject_id, data=data)
