"""Notifications: queued with their cause, rendered from the rule files, and their delivery reports.

Each message carries its own link: the token is made just before sending and only its hash is stored,
so no usable token ever rests in the database. Queueing is all a cause does (inside its own
transaction); the worker sends (:mod:`linx_core.services.sending`, at most once).
"""
from __future__ import annotations

import datetime as dt
import html
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import peewee

from .. import clock, events, localtime
from ..store import db
from ..store.models import Business, CustomerFinancialAccount, Job, Notification, Workflow

if TYPE_CHECKING:  # pragma: no cover
    from ..runtime import Runtime


def queue(rt: Runtime, workflow: Workflow, origin: str, run_at: dt.datetime | None = None,
          first: bool = False) -> Notification:
    """A QUEUED notification and the job that sends it; call inside the cause's transaction.

    ``first``: the workflow was created in this transaction, so it has no notification to count after.
    """
    last = None if first else (Notification.select(peewee.fn.MAX(Notification.serial))
                               .where(Notification.workflow == workflow.id).scalar())
    notification = new(workflow, origin, 0 if last is None else last + 1)
    notification.save(force_insert=True)
    send_job(notification, run_at).save(force_insert=True)
    return notification


def new(workflow: Workflow, origin: str, serial: int = 0) -> Notification:
    """A QUEUED notification of ``workflow``, not yet stored (:func:`queue` stores one, a batch many at once)."""
    return Notification(workflow=workflow.id, business=workflow.business_id, serial=serial,
                        channel=workflow.channel, origin=origin, status="QUEUED")


def send_job(notification: Notification, run_at: dt.datetime | None = None) -> Job:
    """The ``notify`` job that sends ``notification``, not yet stored."""
    return Job(kind="notify", payload={"notificationId": str(notification.id)}, business=notification.business_id,
               run_at=run_at or clock.now())


def link_url(rt: Runtime, token: str) -> str:
    return f"{rt.settings.public_url.rstrip('/')}/l/{token}"


def render(rt: Runtime, workflow: Workflow, business: Business, origin: str, link: str = "",
           extra: dict[str, Any] | None = None) -> tuple[str, str, str, str]:
    """Subject, text and HTML of a message from the rule files' templates."""
    template = rt.rules.messages[origin]
    params = workflow.parameters or {}
    values = {
        "business": business.display_name,
        "title": workflow.title,
        "intro": _sentence(params.get("introductoryMessage") or workflow.title),
        "link": link,
        "expires": localtime.message_time(workflow.expire_at,
                                          localtime.customer_zone(workflow, business, workflow.expire_at)),
        "amount": "", "currency": workflow.currency or "", "account": "",
    }
    if workflow.amount is not None and workflow.currency:
        values["amount"] = format_amount(rt, workflow.amount, workflow.currency)
    if workflow.customer_account_id:
        values["account"] = account_words(CustomerFinancialAccount.get_by_id(workflow.customer_account_id))
    values.update(extra or {})
    text = template["text"].format(**values).strip()
    escaped = html.escape(text)
    if link:
        escaped = escaped.replace(html.escape(link), f'<a href="{html.escape(link)}">{html.escape(link)}</a>')
    body = "".join(f"<p>{para.replace(chr(10), '<br>')}</p>" for para in escaped.split("\n\n"))
    return template["subject"].format(**values), template["sms"].format(**values), text, body


def account_words(account: CustomerFinancialAccount) -> str:
    """``Visa card ending 5556`` or ``checking account ending 6789``: how messages name an account."""
    if account.type == "CARD":
        return f"{account.brand.title() if account.brand else 'card'} card ending {account.last4}".replace(
            "card card", "card")
    return f"{account.subtype.lower()} account ending {account.last4}"


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text[-1:] in ".!?" else text + "."


def format_amount(rt: Runtime, amount: Decimal, currency: str) -> str:
    places = rt.rules.decimals(currency)
    return f"{amount.quantize(Decimal(1).scaleb(-places)):,}"


def record_delivery(rt: Runtime, provider: str, provider_id: str, status: str,
                    error_code: str | None = None) -> Notification | None:
    """A provider's delivery report (Twilio's status callback): DELIVERED, UNDELIVERED or FAILED."""
    notification = Notification.get_or_none((Notification.provider == provider)
                                             & (Notification.provider_id == provider_id))
    if notification is None or notification.status == status:
        return notification
    with db.atomic():
        changed = Notification.update(status=status, error_code=error_code, updated_at=clock.now()).where(
            (Notification.id == notification.id) & (Notification.status != status)).execute()
        if not changed:  # the same report twice, at once: the first one records it
            return notification
        events.record(rt, notification.business_id, "linx.notification-status-changed", notification.workflow_id, {
            "workflowId": str(notification.workflow_id), "notificationId": str(notification.id),
            "serial": notification.serial, "channel": notification.channel, "origin": notification.origin,
            "status": status, "errorCode": error_code, "reason": None})
    return notification


def history(workflow: Workflow) -> list[Notification]:
    return list(Notification.select().where(Notification.workflow == workflow.id).order_by(Notification.serial))
