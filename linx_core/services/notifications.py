"""Notifications: queued with their cause, sent by the worker through a channel.

Each message carries its own link: the token is made just before sending and
only its hash is stored, so no usable token ever rests in the database. A
notification row is QUEUED with its cause, SENDING while the provider is
called, then SENT (DELIVERED / UNDELIVERED from the provider's callback) or
FAILED, or SKIPPED when its workflow ended first. A job that finds its
notification still SENDING follows a worker that died mid-send: the provider may
have the message, so it is not sent again (at most once); the notification
becomes UNKNOWN, with an event, and the business can resend.
"""
import datetime as dt
import html
import uuid
from decimal import Decimal

import peewee

from .. import clock, events, jobs
from ..channels import ChannelError, Message
from ..lifecycle import WORKFLOWS
from ..secrets import new_token, token_hash
from ..store import db
from ..store.models import Business, CustomerFinancialAccount, Link, Notification

LINKED_ORIGINS = ("INITIAL", "MANUAL", "REMINDER")
FINAL = ("SENT", "DELIVERED", "UNDELIVERED", "FAILED", "SKIPPED", "UNKNOWN")
MAX_SEND_ATTEMPTS = 8


def queue(rt, workflow, origin, run_at=None, first=False):
    """A QUEUED notification and the job that sends it; call inside the cause's transaction.

    ``first``: the workflow was created in this transaction, so it has no notification to count after.
    """
    last = None if first else (Notification.select(peewee.fn.MAX(Notification.serial))
                               .where(Notification.workflow == workflow.id).scalar())
    notification = Notification.create(
        workflow=workflow.id, business=workflow.business_id, serial=0 if last is None else last + 1,
        channel=workflow.channel, origin=origin, status="QUEUED")
    jobs.enqueue("notify", {"notificationId": str(notification.id)}, workflow.business_id, run_at=run_at)
    return notification


def link_url(rt, token):
    return f"{rt.settings.public_url.rstrip('/')}/l/{token}"


def render(rt, workflow, business, origin, link="", extra=None):
    """Subject, text and HTML of a message from the rule files' templates."""
    template = rt.rules.messages[origin]
    params = workflow.parameters or {}
    values = {
        "business": business.display_name,
        "title": workflow.title,
        "intro": _sentence(params.get("introductoryMessage") or workflow.title),
        "link": link,
        "expires": workflow.expire_at.strftime("%b %d, %Y %H:%M UTC"),
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


def account_words(account):
    """``Visa card ending 5556`` or ``checking account ending 6789``: how messages name an account."""
    if account.type == "CARD":
        return f"{account.brand.title() if account.brand else 'card'} card ending {account.last4}".replace(
            "card card", "card")
    return f"{account.subtype.lower()} account ending {account.last4}"


def _sentence(text):
    text = text.strip()
    return text if text[-1:] in ".!?" else text + "."


def format_amount(rt, amount, currency):
    places = rt.rules.decimals(currency)
    return f"{amount.quantize(Decimal(1).scaleb(-places)):,}"


def send(rt, job):
    """The ``notify`` job: send one notification, once."""
    from .workflows import _locked

    notification = Notification.get_or_none(Notification.id == uuid.UUID(job.payload["notificationId"]))
    if notification is None or notification.status in FINAL:
        return
    if notification.status == "SENDING":
        _finish(rt, notification, "UNKNOWN", error_code="INTERRUPTED",
                reason="the worker stopped while sending; the provider may have the message")
        return
    business = Business.get_by_id(notification.business_id)
    link, link_row = "", None
    with db.atomic():
        workflow = _locked(notification.workflow_id)  # a cancel cannot slip between this check and the send
        skipped = workflow.status if (notification.origin in LINKED_ORIGINS
                                      and workflow.status not in WORKFLOWS.open_states) else None
        if not skipped and notification.origin in LINKED_ORIGINS:
            token = new_token()
            link_row = Link.create(workflow=workflow.id, token_hash=token_hash(token))
            link = link_url(rt, token)
        if not skipped:
            Notification.update(status="SENDING", updated_at=clock.now()).where(
                Notification.id == notification.id).execute()
    if skipped:
        _finish(rt, notification, "SKIPPED", reason=f"the workflow was {skipped} before sending")
        return
    subject, sms, text, body = render(rt, workflow, business, notification.origin, link)
    to = workflow.phone_number if workflow.channel == "SMS" else workflow.email
    message = Message(channel=workflow.channel, to=to or "", text=sms if workflow.channel == "SMS" else text,
                      subject=subject, html=body, workflow_id=str(workflow.id),
                      notification_id=str(notification.id), origin=notification.origin,
                      business=business.display_name)
    channel = rt.channel(workflow.channel)
    try:
        sent = channel.send(message)
    except ChannelError as exc:
        if exc.permanent or job.attempts >= MAX_SEND_ATTEMPTS:
            _finish(rt, notification, "FAILED", error_code=exc.code, reason=exc.reason, provider=channel.name)
            return
        with db.atomic():  # not sent: back in the queue, and the unsent link is void
            Notification.update(status="QUEUED", error_code=exc.code, reason=exc.reason,
                                updated_at=clock.now()).where(Notification.id == notification.id).execute()
            if link_row is not None:
                Link.update(revoked_at=clock.now()).where(Link.id == link_row.id).execute()
        at = clock.now() + dt.timedelta(seconds=exc.retry_after) if exc.retry_after else None
        raise jobs.RetryLater(f"{channel.name} {exc.code}: {exc.reason}", at=at,
                              max_attempts=MAX_SEND_ATTEMPTS) from None
    _finish(rt, notification, sent.status, provider=sent.provider, provider_id=sent.provider_id)


def _finish(rt, notification, status, error_code=None, reason=None, provider=None, provider_id=None):
    from .workflows import on_first_notification

    now = clock.now()
    with db.atomic():
        Notification.update(status=status, error_code=error_code, reason=reason, provider=provider,
                            provider_id=provider_id, updated_at=now,
                            notified_at=now if status in ("SENT", "DELIVERED") else None).where(
            Notification.id == notification.id).execute()
        events.record(rt, notification.business_id, "linx.notification-status-changed", notification.workflow_id, {
            "workflowId": str(notification.workflow_id), "notificationId": str(notification.id),
            "serial": notification.serial, "channel": notification.channel, "origin": notification.origin,
            "status": status, "errorCode": error_code, "reason": reason})
        if status in ("SENT", "DELIVERED", "UNKNOWN") and notification.origin in ("INITIAL", "MANUAL"):
            on_first_notification(rt, notification.workflow_id)


def record_delivery(rt, provider, provider_id, status, error_code=None):
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


def history(workflow):
    return list(Notification.select().where(Notification.workflow == workflow.id).order_by(Notification.serial))
