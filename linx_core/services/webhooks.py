"""Push notifications: a business's webhook subscriptions and the signed delivery of its events.

Delivery follows Standard Webhooks: the envelope ``{id, type, createdAt, data}``
is POSTed as compact JSON with ``webhook-id`` (the event id, the same on every
retry: the receiver's dedupe key), ``webhook-timestamp`` and ``webhook-signature``
(``v1,<base64 HMAC-SHA256>``; during a secret rotation the previous secret signs
too, space separated). Only 2xx is success; a redirect is a failure and is not
followed; 410 disables the subscription. Failures are retried on
:data:`RETRY_SCHEDULE` (with jitter, later if the receiver's ``Retry-After``
says so); after the last attempt the worker parks the job, where
``linx jobs retry`` or a manual redelivery brings the event back.

Receivers on loopback, private, link-local or reserved addresses are refused,
when the URL is given and again when connecting (the address connected to is
the address checked), unless ``webhook_allow_private`` is set (development
allows loopback).
"""
import base64
import datetime as dt
import email.utils
import functools
import ipaddress
import json
import logging
import math
import random
import secrets
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from socket import timeout as SocketTimeout
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from standardwebhooks.webhooks import Webhook
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.util import connection as urllib3_connection

from .. import __version__, clock, jobs
from ..errors import Conflict, InvalidRequest, NotFound, Problem, RuleViolation
from ..store import Prepared, db, is_postgres
from .paging import Page
from ..store.models import Event, WebhookDelivery, WebhookSubscription

log = logging.getLogger("linx.webhooks")

EVENT_TYPES = (
    "linx.workflow-status-changed",
    "linx.workflow-updated",
    "linx.workflow-expiry-changed",
    "linx.workflow-resent",
    "linx.notification-status-changed",
    "customer.status-updated",
    "financial-account.state-updated",
    "transactions.status-changed",
)
ALL_TYPES = "*"
STATUSES = ("ACTIVE", "SUSPENDED", "DISABLED")
JOB_KIND = "webhook.deliver"

#: Seconds to wait after each failed attempt: attempt 1 is immediate, attempt 10 the last.
RETRY_SCHEDULE = (5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 14 * 3600, 20 * 3600, 24 * 3600)
MAX_ATTEMPTS = len(RETRY_SCHEDULE) + 1
JITTER = 0.10
RETRY_AFTER_STATUSES = (429, 502, 503, 504)
MAX_RETRY_AFTER = dt.timedelta(hours=24)  # a receiver cannot push an event further away than the last step

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
ROTATION_GRACE = dt.timedelta(hours=24)

MAX_URL_LENGTH = 2000
MAX_DESCRIPTION_LENGTH = 200
MAX_SUBSCRIPTIONS = 50  # per business: each event fans out to every matching one, inside its transaction
ERROR_SNIPPET = 500

NOT_FOUND = "No such push notification subscription."


# -- subscriptions ---------------------------------------------------------------------------------


def new_secret():
    """``whsec_`` + base64 of 32 random bytes (Standard Webhooks allows 24 to 64)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def _seal(rt, secret):

    return rt.vault.seal_text(secret)


def create(rt, business, url, event_types, description=""):
    """A new ACTIVE subscription and its secret, which is shown this once: ``(subscription, secret)``."""
    url = check_url(rt, url)
    event_types = check_event_types(event_types)
    description = _check_description(description)
    secret = new_secret()
    now = clock.now()
    with db.atomic():
        count = WebhookSubscription.select().where(WebhookSubscription.business == business).count()
        if count >= MAX_SUBSCRIPTIONS:
            raise RuleViolation(f"A business can have at most {MAX_SUBSCRIPTIONS} push notification subscriptions.",
                                [Problem("$", "Delete one you no longer use first.", "SUBSCRIPTION_LIMIT")])
        subscription = WebhookSubscription.create(
            business=business, description=description, url=url, event_types=event_types, status="ACTIVE",
            sealed_secret=_seal(rt, secret), created_at=now, updated_at=now)
    return subscription, secret


def get(business, subscription_id):
    """The business's subscription, or :class:`NotFound` (another business's looks the same)."""
    sid = _uuid(subscription_id)
    subscription = None if sid is None else WebhookSubscription.get_or_none(
        (WebhookSubscription.id == sid) & (WebhookSubscription.business == business))
    if subscription is None:
        raise NotFound(NOT_FOUND, "PUSH_NOTIFICATION_NOT_FOUND")
    return subscription


def _locked(business, subscription_id):
    """The subscription, read inside the current transaction (row lock on PostgreSQL)."""
    subscription = get(business, subscription_id)
    query = WebhookSubscription.select().where(WebhookSubscription.id == subscription.id)
    if is_postgres():
        query = query.for_update()
    subscription = query.first()
    if subscription is None:
        raise NotFound(NOT_FOUND, "PUSH_NOTIFICATION_NOT_FOUND")
    return subscription


def _check_paging(rt, page, size):
    limit = rt.settings.page_size_max
    problems = []
    if not isinstance(page, int) or isinstance(page, bool) or page < 1:
        problems.append(Problem("query.page", "Must be a whole number from 1.", "OUT_OF_RANGE"))
    if not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= limit:
        problems.append(Problem("query.size", f"Must be a whole number from 1 to {limit}.", "OUT_OF_RANGE"))
    return problems


def list_subscriptions(rt, business, page=1, size=20):
    """One page of the business's subscriptions, oldest first."""
    problems = _check_paging(rt, page, size)
    if problems:
        raise InvalidRequest("The query is not valid.", problems)
    query = WebhookSubscription.select().where(WebhookSubscription.business == business)
    total = query.count()
    items = list(query.order_by(WebhookSubscription.created_at, WebhookSubscription.id).paginate(page, size))
    return Page(items, page, size, total)


UPDATABLE = ("description", "url", "event_types")


def update(rt, business, subscription_id, **changes):
    """Change ``description``, ``url`` and/or ``event_types`` (each checked as at creation)."""
    unknown = set(changes) - set(UPDATABLE)
    if unknown:
        raise TypeError(f"cannot update {', '.join(sorted(unknown))}")
    values = {}
    if "url" in changes:
        values["url"] = check_url(rt, changes["url"])
    if "event_types" in changes:
        values["event_types"] = check_event_types(changes["event_types"])
    if "description" in changes:
        values["description"] = _check_description(changes["description"])
    with db.atomic():
        subscription = _locked(business, subscription_id)
        if values:
            values["updated_at"] = clock.now()
            WebhookSubscription.update(**values).where(WebhookSubscription.id == subscription.id).execute()
            for name, value in values.items():
                setattr(subscription, name, value)
    return subscription


def delete(business, subscription_id):
    """Delete the subscription and its delivery log; its pending deliveries are dropped when they run."""
    with db.atomic():
        subscription = _locked(business, subscription_id)
        WebhookSubscription.delete().where(WebhookSubscription.id == subscription.id).execute()


def _set_status(business, subscription_id, status):
    with db.atomic():
        subscription = _locked(business, subscription_id)
        if subscription.status != status:
            subscription.status, subscription.updated_at = status, clock.now()
            WebhookSubscription.update(status=status, updated_at=subscription.updated_at).where(
                WebhookSubscription.id == subscription.id).execute()
    return subscription


def suspend(business, subscription_id):
    """Stop delivering: events recorded while suspended are not sent (``GET /v2/events`` has them)."""
    return _set_status(business, subscription_id, "SUSPENDED")


def unsuspend(business, subscription_id):
    """Deliver again, from the next event on; also re-enables a subscription a 410 disabled."""
    return _set_status(business, subscription_id, "ACTIVE")


def rotate_secret(rt, business, subscription_id):
    """A new secret, shown this once: ``(subscription, secret)``.

    The secret it replaces keeps signing (both signatures are sent) for
    :data:`ROTATION_GRACE`, so a receiver can switch over without losing a message.
    Rotating again within the grace period drops the oldest secret.
    """
    secret = new_secret()
    with db.atomic():
        subscription = _locked(business, subscription_id)
        now = clock.now()
        subscription.sealed_previous_secret = subscription.sealed_secret
        subscription.previous_expires_at = now + ROTATION_GRACE
        subscription.sealed_secret = _seal(rt, secret)
        subscription.updated_at = now
        WebhookSubscription.update(
            sealed_secret=subscription.sealed_secret, sealed_previous_secret=subscription.sealed_previous_secret,
            previous_expires_at=subscription.previous_expires_at, updated_at=now,
        ).where(WebhookSubscription.id == subscription.id).execute()
    return subscription, secret


def previous_secret_expires_at(subscription):
    """When the previous secret stops signing, or ``None`` outside a rotation."""
    expires = subscription.previous_expires_at
    if subscription.sealed_previous_secret and expires and expires > clock.now():
        return expires
    return None


# -- checks ----------------------------------------------------------------------------------------


def _check_description(description):
    description = "" if description is None else description
    if not isinstance(description, str):
        raise InvalidRequest("The request is malformed.", [Problem("description", "Not a valid string.",
                                                                   "INVALID_TYPE")])
    description = description.strip()
    if len(description) > MAX_DESCRIPTION_LENGTH or "\x00" in description:
        raise RuleViolation("The description is not valid.", [Problem(
            "description", f"Must be at most {MAX_DESCRIPTION_LENGTH} characters, without NUL.", "LENGTH")])
    return description


def check_event_types(event_types):
    """The event types, deduplicated in their order; unknown ones are refused at ``eventTypes[i]``."""
    if not isinstance(event_types, (list, tuple)) or not all(isinstance(t, str) for t in event_types):
        raise InvalidRequest("The request is malformed.", [Problem("eventTypes", "Must be a list of strings.",
                                                                   "INVALID_TYPE")])
    if not event_types:
        raise RuleViolation("Subscribe to at least one event type.", [Problem(
            "eventTypes", f"Name at least one event type, or {ALL_TYPES!r} for all.", "LENGTH")])
    known = ", ".join(EVENT_TYPES)
    problems = [Problem(f"eventTypes[{i}]", f"Unknown event type {t[:80]!r}; known: {known}, or {ALL_TYPES!r}.",
                        "UNKNOWN_EVENT_TYPE")
                for i, t in enumerate(event_types) if t != ALL_TYPES and t not in EVENT_TYPES]
    if problems:
        raise RuleViolation("The request names unknown event types.", problems)
    return list(dict.fromkeys(event_types))


def matches(event_types, event_type):
    return ALL_TYPES in event_types or event_type in event_types


@dataclass(frozen=True)
class AddressPolicy:
    """Which receiver addresses may be connected to."""

    allow_private: bool = False
    allow_loopback: bool = False

    @classmethod
    def of(cls, rt):
        settings = rt.settings
        return cls(allow_private=bool(settings.webhook_allow_private),
                   allow_loopback=bool(settings.webhook_allow_private or settings.development))

    def refusal(self, ip):
        """Why ``ip`` may not be connected to, or ``None`` if it may."""
        if self.allow_private:
            return None
        if ip.version == 6:
            embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
            if embedded is not None:
                ip = embedded
        if ip.is_loopback:
            return None if self.allow_loopback else "loopback"
        if ip.is_link_local:
            return "link-local"
        if ip.is_multicast:
            return "multicast"
        if ip.is_unspecified or ip.is_reserved:
            return "reserved"
        if ip.is_private:
            return "private"
        if not ip.is_global:
            return "not public"
        return None


def _ip(text):
    return ipaddress.ip_address(text.split("%", 1)[0])


_recent_checks = {}
_recent_lock = threading.Lock()
RECENT_CHECK_SECONDS = 60


def check_url(rt, url):
    """:func:`_check_url`, remembered for a minute when it passes, so the API can check a URL before its
    transaction starts (no DNS lookup while SQLite's write lock is held). Deliveries check again at connect."""
    key = (url, rt.settings.env, rt.settings.webhook_allow_private)
    with _recent_lock:
        hit = _recent_checks.get(key)
    if hit and time.monotonic() - hit[0] < RECENT_CHECK_SECONDS:
        return hit[1]
    result = _check_url(rt, url)
    with _recent_lock:
        if len(_recent_checks) > 1000:
            _recent_checks.clear()
        _recent_checks[key] = (time.monotonic(), result)
    return result


def _check_url(rt, url):
    """``url`` if LinX may deliver to it, else :class:`RuleViolation` at ``url`` (422).

    http or https, no credentials, at most 2000 characters, and a host whose
    every address is allowed by :class:`AddressPolicy` (it is checked again when connecting).
    """
    if not isinstance(url, str):
        raise InvalidRequest("The request is malformed.", [Problem("url", "Not a valid string.", "INVALID_TYPE")])

    def refuse(message, code):
        raise RuleViolation("The receiver URL is not allowed.", [Problem("url", message, code)])

    if len(url) > MAX_URL_LENGTH:
        refuse(f"Must be at most {MAX_URL_LENGTH} characters.", "URL_TOO_LONG")
    if not url or any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        refuse("Must be an absolute http or https URL without spaces.", "URL_INVALID")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        refuse("Not a valid URL.", "URL_INVALID")
    if parts.scheme.lower() not in ("http", "https"):
        refuse("Must be an http or https URL.", "URL_SCHEME")
    if parts.username is not None or parts.password is not None:
        refuse("Must not contain credentials; authenticate the request by its signature.", "URL_CREDENTIALS")
    host = parts.hostname
    if not host:
        refuse("Must name a host.", "URL_INVALID")
    policy = AddressPolicy.of(rt)
    if policy.allow_private:
        return url
    try:
        addresses = {_ip(info[4][0]) for info in socket.getaddrinfo(
            host, port or (443 if parts.scheme.lower() == "https" else 80), type=socket.SOCK_STREAM)}
    except (OSError, UnicodeError, ValueError):
        refuse(f"The host {host[:100]} does not resolve.", "URL_UNRESOLVABLE")
    for ip in sorted(addresses, key=str):
        reason = policy.refusal(ip)
        if reason:
            refuse(f"The host resolves to a {reason} address; receivers must be reachable on the internet.",
                   "URL_PRIVATE_ADDRESS")
    return url


# -- events in, deliveries out ---------------------------------------------------------------------


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


def iso(value):
    return value.isoformat().replace("+00:00", "Z") if value else None


def envelope(event):
    """What a receiver gets, and what ``GET /v2/events`` lists: ``{id, type, createdAt, data}``."""
    return {"id": str(event.id), "type": event.type, "createdAt": iso(event.created_at), "data": event.data}


def payload(event):
    """The envelope as compact JSON, exactly the bytes that are signed and sent."""
    return json.dumps(envelope(event), separators=(",", ":"))


def signing_secrets(rt, subscription):
    """The secrets that sign now: the current one, and the previous one during its grace period."""
    out = [rt.vault.unseal(subscription.sealed_secret)]
    if previous_secret_expires_at(subscription):
        out.append(rt.vault.unseal(subscription.sealed_previous_secret))
    return out


def signature_header(secrets_, msg_id, timestamp, body):
    """``webhook-signature``: one ``v1,<sig>`` per secret, space separated."""
    return " ".join(Webhook(secret).sign(msg_id, timestamp, body) for secret in secrets_)


def wall_clock():
    """Real time, for ``webhook-timestamp``: receivers check it against their own clocks,
    so it never follows an injected (sped-up or frozen) clock."""
    return dt.datetime.now(dt.timezone.utc)


def deliver(rt, job):
    """The ``webhook.deliver`` job: POST one event to one subscription, once per attempt.

    Each attempt is logged as a :class:`WebhookDelivery`. Returns when done
    (delivered, or nothing to deliver); raises :class:`jobs.RetryLater` to try again.
    """
    event = Event.get_or_none(Event.id == _uuid(job.payload.get("eventId")))
    subscription = WebhookSubscription.get_or_none(WebhookSubscription.id == _uuid(job.payload.get("subscriptionId")))
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
        dt.datetime.fromtimestamp(int(headers["webhook-timestamp"]), dt.timezone.utc), body)
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
    return when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)


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
    with _session(AddressPolicy.of(rt)) as session:
        response = session.post(url, data=body, headers=headers, allow_redirects=False, stream=True,
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


# -- connecting only to allowed addresses ----------------------------------------------------------


class BlockedAddress(NewConnectionError):
    """Every address the host resolves to is refused by the :class:`AddressPolicy`."""

    def __init__(self, conn, refusal):
        self.refusal = refusal
        super().__init__(conn, refusal)


class _Guarded:
    """Resolve, check, then connect to the checked address (no second lookup to rebind)."""

    policy = AddressPolicy()

    def _new_conn(self):
        try:
            infos = socket.getaddrinfo(self._dns_host, self.port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise NameResolutionError(self.host, self, exc) from exc
        refused, error = [], None
        for family, _, _, _, sockaddr in infos:
            ip = _ip(sockaddr[0])
            reason = self.policy.refusal(ip)
            if reason:
                refused.append(f"{ip} ({reason})")
                continue
            try:
                return urllib3_connection.create_connection(
                    (sockaddr[0], self.port), self.timeout, source_address=self.source_address,
                    socket_options=self.socket_options)
            except SocketTimeout as exc:
                raise ConnectTimeoutError(
                    self, f"Connection to {self.host} timed out. (connect timeout={self.timeout})") from exc
            except OSError as exc:
                error = exc
        if error is not None:
            raise NewConnectionError(self, f"Failed to establish a new connection: {error}") from error
        raise BlockedAddress(self, f"refused to connect: {self.host} resolves only to addresses that are not "
                                   f"allowed: {', '.join(refused)}")


@functools.lru_cache(maxsize=8)
def _pool_classes(policy):
    http = type("GuardedHTTPConnection", (_Guarded, HTTPConnection), {"policy": policy})
    https = type("GuardedHTTPSConnection", (_Guarded, HTTPSConnection), {"policy": policy})
    return {
        "http": type("GuardedHTTPConnectionPool", (HTTPConnectionPool,), {"ConnectionCls": http}),
        "https": type("GuardedHTTPSConnectionPool", (HTTPSConnectionPool,), {"ConnectionCls": https}),
    }


class _GuardedAdapter(HTTPAdapter):
    def __init__(self, policy):
        self.policy = policy
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _pool_classes(self.policy)


def _session(policy):
    session = requests.Session()
    session.trust_env = False  # no proxy from the environment (it would be the address checked), no .netrc
    adapter = _GuardedAdapter(policy)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


# -- the log ---------------------------------------------------------------------------------------


def redeliver(rt, business, subscription_id, event_id):
    """Queue a fresh delivery of one of the business's events to one of its subscriptions, now.

    Its attempts are logged with ``manual`` set; retries follow the usual schedule.
    """
    with db.atomic():
        subscription = _locked(business, subscription_id)
        event = get_event(business, event_id)
        if subscription.status != "ACTIVE":
            raise Conflict(f"The subscription is {subscription.status}; unsuspend it first.",
                           "PUSH_NOTIFICATION_NOT_ACTIVE")
        if not matches(subscription.event_types, event.type):
            raise RuleViolation("The subscription does not take this event type.", [Problem(
                "eventId", f"{event.type} is not among the subscription's eventTypes.", "EVENT_TYPE_NOT_SUBSCRIBED")])
        return jobs.enqueue(JOB_KIND, {"eventId": str(event.id), "subscriptionId": str(subscription.id),
                                       "manual": True}, business.id)


def get_event(business, event_id):
    eid = _uuid(event_id)
    event = None if eid is None else Event.get_or_none((Event.id == eid) & (Event.business == business))
    if event is None:
        raise NotFound("No such event.", "EVENT_NOT_FOUND")
    return event


def deliveries(rt, business, subscription_id, page=1, size=20, event_id=None):
    """One page of a subscription's delivery attempts, newest first; ``(page, {event id: type})``."""
    subscription = get(business, subscription_id)
    problems = _check_paging(rt, page, size)
    eid = None
    if event_id is not None:
        eid = _uuid(event_id)
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


def list_events(rt, business, types=None, since=None, until=None, page=1, size=20):
    """One page of the business's events, oldest first, so an integrator can catch up.

    ``types`` filters by type; ``since`` is inclusive and ``until`` exclusive.
    """
    problems = _check_paging(rt, page, size)
    for i, t in enumerate(types or ()):
        if t not in EVENT_TYPES:
            problems.append(Problem("query.type", f"Unknown event type {t[:80]!r}; known: {', '.join(EVENT_TYPES)}.",
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


def _uuid(value):
    try:
        return uuid.UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        return None
