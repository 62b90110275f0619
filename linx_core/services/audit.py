"""The audit log: every change a person makes (in the Portal or with ``linx``), who, what, which object, when and
from which address; read by the business at ``GET /v2/audit-events`` and on the Portal's "Audit log"."""
from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from ..errors import InvalidRequest
from ..store.models import AuditEvent, Business, PortalUser
from .paging import Page, check_paging

if TYPE_CHECKING:  # pragma: no cover
    from ..runtime import Runtime

CLI = "cli"  # the address of a change made with the command line


def record(business: Business | Any, action: str, object_type: str, object_id: object = None, *,
           user: PortalUser | None = None, actor: str | None = None, address: str | None = None,
           details: dict[str, Any] | None = None) -> AuditEvent:
    """One line of the audit log, in the caller's transaction (the change and its line commit together)."""
    business_id = getattr(business, "id", business)
    return AuditEvent.create(business=business_id, user=user, actor=(actor or (user.email if user else CLI))[:254],
                             action=action[:64], object_type=object_type[:32],
                             object_id=None if object_id is None else str(object_id)[:64],
                             address=(address or None) and str(address)[:64], details=details or {})


def list_events(rt: Runtime, business: Business, since: dt.datetime | None = None, until: dt.datetime | None = None,
                page: int = 1, size: int = 20) -> Page:
    """One page of the business's audit log, newest first."""
    problems = check_paging(rt, page, size)
    if problems:
        raise InvalidRequest("The query is not valid.", problems)
    query = AuditEvent.select().where(AuditEvent.business == business)
    if since is not None:
        query = query.where(AuditEvent.created_at >= since)
    if until is not None:
        query = query.where(AuditEvent.created_at < until)
    total = query.count()
    items = list(query.order_by(AuditEvent.created_at.desc(), AuditEvent.id).paginate(page, size))
    return Page(items, page, size, total)


def as_dict(event: AuditEvent) -> dict[str, Any]:
    return {"id": str(event.id), "createdAt": event.created_at.isoformat().replace("+00:00", "Z"),
            "actor": event.actor, "userId": str(event.user_id) if event.user_id else None, "action": event.action,
            "objectType": event.object_type, "objectId": event.object_id, "address": event.address,
            "details": event.details or {}}
