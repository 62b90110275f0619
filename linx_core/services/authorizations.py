"""Debit authorizations: the record a customer's acceptance of a debit authorization makes (issue 14).

NACHA asks the business to keep, for each debit a customer authorized, proof of the authorization it can
produce on request for two years after the authorization ends. A document whose catalog entry (rules'
``documents``) says ``kind: debit-authorization``, accepted on a workflow whose customer account is a bank
account, makes one :class:`~linx_core.store.models.Authorization`, written in the transaction that completes
the step, with an ``authorization.created`` event: the document, its version and the sha256 of the exact text
shown (in the language shown), the time, the account (id and masked number), the customer, the workflow,
and the Gateway session's IP address (as the app sees it behind ``LINX_PROXY_HOPS``) and user agent.

Revoking (``POST /v2/authorizations/{id}/revoke``) ends it for good and keeps the record, with
``retainUntil`` two years after the revocation; revoking again changes nothing. Erasing the customer keeps
the record (the business must still produce it) and blanks only the IP address and the user agent, which
NACHA does not ask for: the ids, the masked account, the document, its hash and the times stay.
"""
from __future__ import annotations

import datetime as dt
import hashlib
from typing import TYPE_CHECKING, Any

from .. import clock, events
from ..errors import InvalidRequest, NotFound, Problem
from ..ids import as_uuid
from ..store import db
from ..store.models import Authorization, Business, CustomerFinancialAccount, Workflow
from .paging import Page, check_paging

if TYPE_CHECKING:  # pragma: no cover
    from ..runtime import Runtime

KIND = "debit-authorization"  # a catalog document's ``kind`` that makes a record
STATUSES = ("ACTIVE", "REVOKED")
RETENTION = dt.timedelta(days=2 * 366)  # two years after the revocation, leap day included
USER_AGENT_MAX = 512
FILTERS = ("customerId", "workflowId", "batchId", "status")


def text_hash(text: str) -> str:
    """The sha256 (hex) of a document's text exactly as shown (UTF-8)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def is_debit_authorization(spec: dict[str, Any] | None) -> bool:
    return bool(spec and spec.get("kind") == KIND)


def _payload(auth: Authorization) -> dict[str, Any]:
    return {"authorizationId": str(auth.id), "status": auth.status, "customerId": str(auth.customer_id),
            "workflowId": str(auth.workflow_id) if auth.workflow_id else None,
            "financialAccountId": str(auth.financial_account_id), "maskedNumber": auth.masked_number,
            "documentId": auth.document_id, "documentVersion": auth.document_version,
            "acceptedAt": events.iso(auth.accepted_at), "revokedAt": events.iso(auth.revoked_at)}


def record(rt: Runtime, workflow: Workflow, account: CustomerFinancialAccount, document_id: str, spec: dict,
           shown: dict[str, Any], client: dict[str, Any], at: dt.datetime) -> Authorization:
    """Make the record for ``document_id`` accepted on ``workflow`` (inside the step's transaction), and its event.

    ``shown`` is ``{"lang", "sha256"}`` of the text the customer saw; ``client`` the session's
    ``{"ipAddress", "userAgent"}``.
    """
    auth = Authorization.create(
        business=workflow.business_id, workflow=workflow.id, customer=account.customer_id,
        financial_account=account.id, document_id=document_id, document_version=spec["version"],
        document_title=spec["title"], language=shown.get("lang") or "en", text_sha256=shown["sha256"],
        masked_number=account.masked_number, account_type=account.type, account_subtype=account.subtype,
        ip_address=(client.get("ipAddress") or None), user_agent=(client.get("userAgent") or "")[:USER_AGENT_MAX]
        or None, accepted_at=at)
    events.record(rt, workflow.business_id, "authorization.created", auth.id, _payload(auth))
    return auth


def get(business: Business, authorization_id: object) -> Authorization:
    """The business's authorization, or :class:`NotFound` (another business's too)."""
    aid = as_uuid(authorization_id)
    auth = None if aid is None else Authorization.get_or_none(
        (Authorization.id == aid) & (Authorization.business == business))
    if auth is None:
        raise NotFound("No such authorization.", "AUTHORIZATION_NOT_FOUND")
    return auth


def search(rt: Runtime, business: Business, filters: dict[str, str], page: int = 1, size: int = 20) -> Page:
    """One page of the business's authorizations, newest first, filtered by ``customerId``, ``workflowId``,
    ``batchId`` (the batch whose workflow the customer completed) and ``status``."""
    problems = check_paging(rt, page, size)
    query = Authorization.select().where(Authorization.business == business)
    for name, column in (("customerId", Authorization.customer), ("workflowId", Authorization.workflow)):
        if name in filters:
            value = as_uuid(filters[name])
            if value is None:
                problems.append(Problem(f"query.{name}", "Must be a UUID.", "INVALID_FORMAT"))
            else:
                query = query.where(column == value)
    if "batchId" in filters:
        batch_id = as_uuid(filters["batchId"])
        if batch_id is None:
            problems.append(Problem("query.batchId", "Must be a UUID.", "INVALID_FORMAT"))
        else:
            # the workflow's business is the authorization's: a batch of another business matches nothing
            query = query.where(Authorization.workflow.in_(
                Workflow.select(Workflow.id).where((Workflow.batch_id == batch_id) & (Workflow.business == business))))
    if "status" in filters:
        if filters["status"] not in STATUSES:
            problems.append(Problem("query.status", f"Must be one of {', '.join(STATUSES)}.", "NOT_ALLOWED"))
        else:
            query = query.where(Authorization.status == filters["status"])
    if problems:
        raise InvalidRequest("The query is not valid.", problems)
    total = query.count()
    items = list(query.order_by(Authorization.accepted_at.desc(), Authorization.id.desc())
                 .offset((page - 1) * size).limit(size))
    return Page(items, page, size, total)


def revoke(rt: Runtime, business: Business, authorization_id: object) -> Authorization:
    """End the authorization (kept, ``retainUntil`` two years on) with an ``authorization.revoked`` event;
    an authorization already revoked is answered as it is."""
    auth = get(business, authorization_id)
    if auth.status == "REVOKED":
        return auth
    with db.atomic():
        now = clock.now()
        changed = Authorization.update(status="REVOKED", revoked_at=now, retain_until=now + RETENTION).where(
            (Authorization.id == auth.id) & (Authorization.status == "ACTIVE")).execute()
        auth = Authorization.get_by_id(auth.id)
        if changed == 1:
            events.record(rt, business.id, "authorization.revoked", auth.id, _payload(auth))
    return auth


def forget(customer_id: object) -> int:
    """Erasure: the customer's records stay, less the IP address and user agent. Returns how many changed."""
    return Authorization.update(ip_address=None, user_agent=None, personal_data_erased_at=clock.now()).where(
        (Authorization.customer == customer_id) & Authorization.personal_data_erased_at.is_null()).execute()


__all__ = ["KIND", "STATUSES", "RETENTION", "text_hash", "is_debit_authorization", "record", "get", "search",
           "revoke", "forget"]
