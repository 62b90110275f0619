"""Sending a notification: the ``notify`` job, at most once.

A notification is QUEUED with its cause (:func:`linx_core.services.notifications.queue`), SENDING while
the provider is called, then SENT (DELIVERED / UNDELIVERED from the provider's callback) or FAILED, or
SKIPPED when its workflow ended first. A job that finds its notification still SENDING follows a worker
that died mid-send: the provider may have the message, so it is not sent again (at most once); the
notification becomes UNKNOWN, with an event, and the business can resend. The first message that goes
out activates its workflow (:func:`linx_core.services.flow.on_first_notification`).
"""
from __future__ import annotations

import datetime as dt
import uuid
from typing import TYPE_CHECKING

from .. import clock, events, jobs
from ..channels import ChannelError, Message
from ..lifecycle import WORKFLOWS
from ..secrets import new_token, token_hash
from ..store import db
from ..store.models import Batch, Business, Job, Link, Notification, Workflow
from . import opt_outs, quiet_hours, throttle
from .businesses import own_sms_sender
from .flow import first_expiry, locked, on_first_notification
from .notifications import link_url, render

if TYPE_CHECKING:  # pragma: no cover
    from ..runtime import Runtime

LINKED_ORIGINS = ("INITIAL", "MANUAL", "REMINDER")
FINAL = ("SENT", "DELIVERED", "UNDELIVERED", "FAILED", "SKIPPED", "UNKNOWN")
MAX_SEND_ATTEMPTS = 8
STALE_SLOT = dt.timedelta(seconds=5)  # a slot missed by more: the sender's queue moves on (throttle.catch_up)
SLOT_KEYS = ("slotAt", "slotAttempt", "slotShift")
FIRST_ORIGINS = ("INITIAL", "MANUAL")  # the messages whose leaving activates the workflow
CANCELLED_BATCH = ("CANCELLING", "CANCELLED")
CANCELLED_REASON = "the workflow's batch was cancelled; nothing was sent"


def send(rt: Runtime, job: Job) -> None:
    """The ``notify`` job: send one notification, once."""
    notification = Notification.get_or_none(Notification.id == uuid.UUID(job.payload["notificationId"]))
    if notification is None or notification.status in FINAL:
        return
    if notification.status == "SENDING":
        _finish(rt, notification, "UNKNOWN", error_code="INTERRUPTED",
                reason="the worker stopped while sending; the provider may have the message")
        return
    contact = Workflow.select(Workflow.phone_number if notification.channel == "SMS" else Workflow.email).where(
        Workflow.id == notification.workflow_id).scalar()
    if _batch_cancelled(notification.workflow_id):
        _finish(rt, notification, "FAILED", error_code="BATCH_CANCELLED", reason=CANCELLED_REASON)
        return
    if opt_outs.opted_out(notification.business_id, notification.channel, contact):
        _finish(rt, notification, "FAILED", error_code="OPTED_OUT",
                reason="the recipient asked this business to send no more; nothing was sent")
        return
    if notification.channel == "SMS" and notification.origin in quiet_hours.ORIGINS:
        number = Workflow.select(Workflow.phone_number).where(Workflow.id == notification.workflow_id).scalar()
        wake = quiet_hours.morning(rt, number, clock.now())
        if wake is not None:
            raise jobs.Deferred("the customer's quiet hours", wake, _unslotted(job.payload))
    business = Business.get_by_id(notification.business_id)
    own = own_sms_sender(business) if notification.channel == "SMS" else {}  # `linx business sender`
    _pace(rt, job, notification, own)
    link, link_row = "", None
    with db.atomic():
        workflow = locked(notification.workflow_id)  # a cancel cannot slip between this check and the send
        skipped = workflow.status if (notification.origin in LINKED_ORIGINS
                                      and workflow.status not in WORKFLOWS.open_states) else None
        halted = not skipped and _batch_cancelled(workflow.id, workflow.batch_id)  # cancelled while it waited
        if not halted and not skipped and notification.origin in LINKED_ORIGINS:
            token = new_token()
            link_row = Link.create(workflow=workflow.id, token_hash=token_hash(token))
            link = link_url(rt, token)
        if not skipped and not halted:
            Notification.update(status="SENDING", updated_at=clock.now()).where(
                Notification.id == notification.id).execute()
    if halted:
        _finish(rt, notification, "FAILED", error_code="BATCH_CANCELLED", reason=CANCELLED_REASON)
        return
    if skipped:
        _finish(rt, notification, "SKIPPED", reason=f"the workflow was {skipped} before sending")
        return
    started = clock.now()
    if notification.origin in FIRST_ORIGINS:  # the expiry it states is the one its leaving sets
        workflow.expire_at = first_expiry(workflow, started)
    subject, sms, text, body = render(rt, workflow, business, notification.origin, link)
    to = workflow.phone_number if workflow.channel == "SMS" else workflow.email
    message = Message(channel=workflow.channel, to=to or "", text=sms if workflow.channel == "SMS" else text,
                      subject=subject, html=body, workflow_id=str(workflow.id),
                      notification_id=str(notification.id), origin=notification.origin,
                      business=business.display_name, meta={"sender": own} if own else {})
    channel = rt.channel(workflow.channel)
    try:
        sent = channel.send(message)
    except ChannelError as exc:
        if exc.opted_out and to:
            opt_outs.record(notification.business_id, workflow.channel, to, f"{channel.name} {exc.code}: {exc.reason}")
        if exc.permanent or job.attempts >= MAX_SEND_ATTEMPTS:
            if link_row is not None:  # never handed over: the link it carried is void
                Link.update(revoked_at=clock.now()).where(Link.id == link_row.id).execute()
            _finish(rt, notification, "FAILED", error_code=exc.code, reason=exc.reason, provider=channel.name)
            return
        with db.atomic():  # not sent: back in the queue, and the unsent link is void
            Notification.update(status="QUEUED", error_code=exc.code, reason=exc.reason,
                                updated_at=clock.now()).where(Notification.id == notification.id).execute()
            if link_row is not None:
                Link.update(revoked_at=clock.now()).where(Link.id == link_row.id).execute()
        at = clock.now() + dt.timedelta(seconds=exc.retry_after) if exc.retry_after else None
        if at is not None:  # the provider's "not so fast": this sender waits, every worker with it
            throttle.hold_off(throttle.sender_key(workflow.channel, channel, own), at)
        raise jobs.RetryLater(f"{channel.name} {exc.code}: {exc.reason}", at=at,
                              max_attempts=MAX_SEND_ATTEMPTS) from None
    _finish(rt, notification, sent.status, provider=sent.provider, provider_id=sent.provider_id, sent_at=started)


def _batch_cancelled(workflow_id: object, batch_id: object = ...) -> bool:
    """Whether the workflow belongs to a batch being cancelled (or cancelled): its messages stop at once, before
    the ``batch.cancel`` job reaches the workflow itself."""
    if batch_id is ...:
        batch_id = Workflow.select(Workflow.batch_id).where(Workflow.id == workflow_id).scalar()
    return batch_id is not None and Batch.select().where(
        (Batch.id == batch_id) & Batch.status.in_(CANCELLED_BATCH)).exists()


def _pace(rt: Runtime, job: Job, notification: Notification, own: dict[str, str]) -> None:
    """Wait for the sender's next slot (:mod:`linx_core.services.throttle`): :class:`jobs.Deferred` until then.

    The slot is reserved once and kept in the job's payload with the attempt it belongs to and the sender's
    shift then (a provider's hold moves it on); a retry after a failed send (a new attempt) reserves again. A
    slot found long past (a restart) moves the sender's queue on, so a backlog leaves in order, each message
    waking about twice, not every interval. A message its workflow's end will skip takes no slot.
    """
    step = throttle.interval(rt, notification.channel) if rt.settings.pacing else None
    if step is None:
        return
    now = clock.now()
    key = throttle.sender_key(notification.channel, rt.channel(notification.channel), own)
    slot, attempt = job.payload.get("slotAt"), job.payload.get("slotAttempt")
    if slot is not None and attempt == job.attempts:
        reserved, shift = dt.datetime.fromisoformat(slot), job.payload.get("slotShift", 0.0)
        at = throttle.slot_time(key, reserved, shift)
        if at < now - max(STALE_SLOT, 2 * step):  # long past (the workers were down): the queue moves on
            at = throttle.catch_up(key, reserved, shift, max(STALE_SLOT, 2 * step))
        if at > now:
            raise jobs.Deferred("waiting for its slot", at)
        if not throttle.take_moment(key, step):  # a moment late: its turn is next
            raise jobs.Deferred("the sender's last message left a moment ago", now + step)
        return
    if notification.origin in LINKED_ORIGINS and Workflow.select(Workflow.status).where(
            (Workflow.id == notification.workflow_id) & Workflow.status.in_(WORKFLOWS.open_states)).count() == 0:
        return  # skipped below
    at, shift = throttle.reserve_slot(key, step)
    payload = {**job.payload, "slotAt": at.isoformat(), "slotAttempt": job.attempts, "slotShift": shift}
    if at > now or not throttle.take_moment(key, step):
        raise jobs.Deferred("the sender's pace", at if at > now else now + step, payload)


def _unslotted(payload: dict[str, object]) -> dict[str, object]:
    """The job's payload without its slot: a message deferred for another reason reserves afresh when it wakes."""
    return {k: v for k, v in payload.items() if k not in SLOT_KEYS}


def _finish(rt: Runtime, notification: Notification, status: str, error_code: str | None = None,
            reason: str | None = None, provider: str | None = None, provider_id: str | None = None,
            sent_at: dt.datetime | None = None) -> None:
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
        if status in ("SENT", "DELIVERED", "UNKNOWN") and notification.origin in FIRST_ORIGINS:
            on_first_notification(rt, notification.workflow_id, sent_at)
