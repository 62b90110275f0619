"""Delivery: every recorded event becomes one signed POST per subscription that wants it.

:func:`on_event` queues a ``webhook.deliver`` job per matching ACTIVE subscription,
inside the transaction that records the event. :func:`deliver` runs one attempt:
only 2xx is success; a redirect is a failure and is not followed; 410 disables the
subscription. Failures are retried on :data:`RETRY_SCHEDULE` (with jitter, later if
the receiver's ``Retry-After`` says so); after the last attempt the worker parks the
job, where ``linx jobs retry`` or a manual redelivery (:func:`redeliver`) brings the
event back. Every attempt is logged as a :class:`WebhookDelivery`.
"""
import datetime as dt
import email.utils
import logging
import math
import random
import threading
import time
from urllib.parse import urlsplit

import requests
from urllib3.exceptions import NameResolutionError, NewConnectionError

from linx_core import __version__, clock, jobs
from linx_core.errors import Conflict, InvalidRequest, Problem, RuleViolation
from linx_core.ids import as_uuid
from linx_core.services.event_log import get_event
from linx_core.services.paging import Page, check_paging
from linx_core.store import Prepared, db
from linx_core.store.models import Event, WebhookDelivery, WebhookSubscription

from .guard import AddressPolicy, BlockedAddress, session
from .signing import payload, signature_header, signing_secrets, wall_clock
from .subscriptions import get, locked, matches

log = logging.getLogger("linx.webhooks")

JOB_KIND = "webhook.deliver"

#: Seconds to wait after each failed attempt: attempt 1 is immediate, attempt 10 the last.
RETRY_SCHEDULE = (5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 14 * 3600, 20 * 3600, 24 * 3600)
MAX_ATTEMPTS = len(RETRY_SCHEDULE) + 1
JITTER = 0.10
RETRY_AFTER_STATUSES = (429, 502, 503, 504)
MAX_RETRY_AFTER = dt.timedelta(hours=24)  # a receiver cannot push an event further away than the last step
ERROR_SNIPPET = 500


_ACTIVE_SUBSCRIPTIONS = Prepared(
    lambda business: WebhookSubscription.select(WebhookSubscription.id, WebhookSubscription.event_types).where(
        (WebhookSubscription.business == business) & (WebhookSubscription.status == "ACTIVE")),
    WebhookSubscription.business)


def on_event(rt, event):
    """Queue a delivery for each ACTIVE subscription of the event's business that wants its type.

    Called inside the transaction that records the event, so the jobs commit
    (or roll back) with it. No I/O but the database.
    """
    for subscription in _ACTIVE_SUBSCRIPTIONS.rows(event.business_id):
        if matches(subscription.event_types, event.type):
            jobs.enqueue(JOB_KIND, {"eventId": str(event.id), "subscriptionId": str(subscription.id)},
                         event.business_id)


def deliver(rt, job):
    """The ``webhook.deliver`` job: POST one event to one subscription, once per attempt.

    Each attempt is logged as a :class:`WebhookDelivery`. Returns when done
    (delivered, or nothing to deliver); raises :class:`jobs.RetryLater` to try again.
    """
    event = Event.get_or_none(Event.id == as_uuid(job.payload.get("eventId")))
    subscription = WebhookSubscription.get_or_none(WebhookSubscription.id == as_uuid(job.payload.get("subscriptionId")))
    if event is None or subscription is None or subscription.business_id != event.business_id:
        return
    if subscription.status != "ACTIVE":
        return
    body = payload(event)
    msg_id = str(event.id)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": f"LinX/{__version__} (webhooks)",
        "webhook-id": msg_id,
        "webhook-timestamp": str(math.floor(wall_clock().timestamp())),
    }
    headers["webhook-signature"] = signature_header(
        signing_secrets(rt, subscription), msg_id,
        dt.datetime.fromtimestamp(int(headers["webhook-timestamp"]), dt.UTC), body)
    status, error, retry_after = None, None, None
    started = time.monotonic()
    try:
        status, error, retry_after = _post_within(rt, subscription.url, body.encode(), headers)
    except requests.RequestException as exc:
        error = _describe(rt, exc)
    duration_ms = int((time.monotonic() - started) * 1000)
    succeeded = status is not None and 200 <= status < 300
    now = clock.now()
    with db.atomic():
        attempt = WebhookDelivery.select().where((WebhookDelivery.subscription == subscription.id)
                                                 & (WebhookDelivery.event == event.id)).count() + 1
        WebhookDelivery.create(subscription=subscription.id, event=event.id, attempt=attempt,
                               outcome="SUCCEEDED" if succeeded else "FAILED", http_status=status,
                               error=None if succeeded else (error or f"HTTP {status}")[:2000],
                               duration_ms=duration_ms, manual=bool(job.payload.get("manual")), created_at=now)
        if status == 410:
            WebhookSubscription.update(status="DISABLED", updated_at=now).where(
                (WebhookSubscription.id == subscription.id) & (WebhookSubscription.status == "ACTIVE")).execute()
            log.warning("subscription %s answered 410 Gone: disabled", subscription.id)
    if succeeded or status == 410:
        return
    reason = f"{_redact(subscription.url)}: {error or f'HTTP {status}'}"
    raise jobs.RetryLater(reason, at=next_attempt_at(job.attempts, retry_after), max_attempts=MAX_ATTEMPTS)


def next_attempt_at(attempts, retry_after=None, rng=random):
    """When to try again after failed attempt number ``attempts`` (1-based): the schedule with
    +-10% jitter, or the receiver's ``Retry-After`` when that is later (capped at 24 h)."""
    now = clock.now()
    step = RETRY_SCHEDULE[min(max(attempts, 1), len(RETRY_SCHEDULE)) - 1]
    at = now + dt.timedelta(seconds=step * rng.uniform(1 - JITTER, 1 + JITTER))
    if retry_after is not None and retry_after > at:
        at = min(retry_after, now + MAX_RETRY_AFTER)
    return at


def parse_retry_after(value, now=None):
    """``Retry-After`` (delay seconds or an HTTP date) as an aware time, or ``None``."""
    now = now or clock.now()
    value = (value or "").strip()
    if not value:
        return None
    if value.isascii() and value.isdigit():
        return now + min(dt.timedelta(seconds=int(value[:12])), MAX_RETRY_AFTER)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None:
        return None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def _redact(url):
    """The URL without its query and credentials (receivers often carry a token there)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}{f':{parts.port}' if parts.port else ''}{parts.path}"[:200]


def _post_within(rt, url, body, headers):
    """:func:`_post` with a total deadline: a receiver that answers a byte at a time still ends in time."""
    deadline = rt.settings.webhook_timeout_seconds
    outcome = {}

    def run():
        try:
            outcome["value"] = _post(rt, url, body, headers)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller below
            outcome["error"] = exc

    thread = threading.Thread(target=run, name="linx-webhook-post", daemon=True)
    thread.start()
    thread.join(deadline + 1)
    if thread.is_alive():
        return None, f"no complete answer within {deadline:g} s", None
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def _post(rt, url, body, headers):
    """POST once; returns ``(status, error, retry_after)``. Redirects are not followed."""
    with session(AddressPolicy.of(rt)) as http:
        response = http.post(url, data=body, headers=headers, allow_redirects=False, stream=True,
                                timeout=rt.settings.webhook_timeout_seconds)
        with response:
            status = response.status_code
            if 200 <= status < 300:
                return status, None, None
            error = f"HTTP {status}"
            if 300 <= status < 400:
                error += f" (redirect to {response.headers.get('Location', '?')[:300]} not followed)"
            try:
                snippet = response.raw.read(ERROR_SNIPPET, decode_content=True)
            except Exception:  # noqa: BLE001 - the body only illustrates the error
                snippet = b""
            if snippet:
                error += ": " + snippet.decode("utf-8", "replace").strip()
            retry_after = None
            if status in RETRY_AFTER_STATUSES:
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
            return status, error, retry_after


def _describe(rt, exc):
    """A short reason for a request that got no answer."""
    if isinstance(exc, requests.Timeout):
        return f"no answer within {rt.settings.webhook_timeout_seconds:g} s"
    seen = set()
    cause = innermost = exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        innermost = cause
        if isinstance(cause, BlockedAddress):
            return cause.refusal
        if isinstance(cause, NameResolutionError):
            return f"the host {cause.conn.host[:100]} does not resolve" if getattr(cause, "conn", None) else str(cause)
        if isinstance(cause, NewConnectionError):
            return "connection failed: " + str(cause).rsplit("Failed to establish a new connection: ", 1)[-1]
        nested = getattr(cause, "reason", None)
        if isinstance(nested, BaseException):
            cause = nested
            continue
        cause = cause.args[0] if cause.args and isinstance(cause.args[0], BaseException) else (
            cause.__cause__ or cause.__context__)
    prefix = "TLS failed" if isinstance(exc, requests.exceptions.SSLError) else type(exc).__name__
    return f"{prefix}: {str(innermost)[:300]}"


# -- the log ---------------------------------------------------------------------------------------


def redeliver(rt, business, subscription_id, event_id):
    """Queue a fresh delivery of one of the business's events to one of its subscriptions, now.

    Its attempts are logged with ``manual`` set; retries follow the usual schedule.
    """
    with db.atomic():
        subscription = locked(business, subscription_id)
        event = get_event(business, event_id)
        if subscription.status != "ACTIVE":
            raise Conflict(f"The subscription is {subscription.status}; unsuspend it first.",
                           "PUSH_NOTIFICATION_NOT_ACTIVE")
        if not matches(subscription.event_types, event.type):
            raise RuleViolation("The subscription does not take this event type.", [Problem(
                "eventId", f"{event.type} is not among the subscription's eventTypes.", "EVENT_TYPE_NOT_SUBSCRIBED")])
        return jobs.enqueue(JOB_KIND, {"eventId": str(event.id), "subscriptionId": str(subscription.id),
                                       "manual": True}, business.id)


def deliveries(rt, business, subscription_id, page=1, size=20, event_id=None):
    """One page of a subscription's delivery attempts, newest first; ``(page, {event id: type})``."""
    subscription = get(business, subscription_id)
    problems = check_paging(rt, page, size)
    eid = None
    if event_id is not None:
        eid = as_uuid(event_id)
        if eid is None:
            problems.append(Problem("query.eventId", "Not a valid UUID.", "INVALID_ID"))
    if problems:
        raise InvalidRequest("The query is not valid.", problems)
    query = WebhookDelivery.select(WebhookDelivery, Event.id, Event.type).join(Event).where(
        WebhookDelivery.subscription == subscription.id)
    if eid is not None:
        query = query.where(WebhookDelivery.event == eid)
    total = query.count()
    items = list(query.order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.attempt.desc(),
                                WebhookDelivery.id.desc()).paginate(page, size))
    return Page(items, page, size, total)


