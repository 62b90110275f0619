"""A business's webhook subscriptions: which events go to which receiver, and the secret that signs them.

A subscription names event types from the runtime's registry (``rt.event_types``),
or ``*`` for all. Its secret is sealed by the vault and shown once, at creation
and at each rotation; during a rotation the previous secret signs too for
:data:`ROTATION_GRACE`, so a receiver can switch over without losing a message.
"""
import base64
import datetime as dt
import secrets

from linx_core import clock
from linx_core.errors import InvalidRequest, NotFound, Problem, RuleViolation
from linx_core.ids import as_uuid
from linx_core.services.paging import Page, check_paging
from linx_core.store import db, is_postgres
from linx_core.store.models import WebhookSubscription

from .guard import check_url

ALL_TYPES = "*"
STATUSES = ("ACTIVE", "SUSPENDED", "DISABLED")

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
ROTATION_GRACE = dt.timedelta(hours=24)

MAX_DESCRIPTION_LENGTH = 200
MAX_SUBSCRIPTIONS = 50  # per business: each event fans out to every matching one, inside its transaction
UPDATABLE = ("description", "url", "event_types")

NOT_FOUND = "No such push notification subscription."


def new_secret():
    """``whsec_`` + base64 of 32 random bytes (Standard Webhooks allows 24 to 64)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def create(rt, business, url, event_types, description=""):
    """A new ACTIVE subscription and its secret, which is shown this once: ``(subscription, secret)``."""
    url = check_url(rt, url)
    event_types = check_event_types(rt, event_types)
    description = check_description(description)
    secret = new_secret()
    now = clock.now()
    with db.atomic():
        count = WebhookSubscription.select().where(WebhookSubscription.business == business).count()
        if count >= MAX_SUBSCRIPTIONS:
            raise RuleViolation(f"A business can have at most {MAX_SUBSCRIPTIONS} push notification subscriptions.",
                                [Problem("$", "Delete one you no longer use first.", "SUBSCRIPTION_LIMIT")])
        subscription = WebhookSubscription.create(
            business=business, description=description, url=url, event_types=event_types, status="ACTIVE",
            sealed_secret=rt.vault.seal_text(secret), created_at=now, updated_at=now)
    return subscription, secret


def get(business, subscription_id):
    """The business's subscription, or :class:`NotFound` (another business's looks the same)."""
    sid = as_uuid(subscription_id)
    subscription = None if sid is None else WebhookSubscription.get_or_none(
        (WebhookSubscription.id == sid) & (WebhookSubscription.business == business))
    if subscription is None:
        raise NotFound(NOT_FOUND, "PUSH_NOTIFICATION_NOT_FOUND")
    return subscription


def locked(business, subscription_id):
    """The subscription, read inside the current transaction (row lock on PostgreSQL)."""
    subscription = get(business, subscription_id)
    query = WebhookSubscription.select().where(WebhookSubscription.id == subscription.id)
    if is_postgres():
        query = query.for_update()
    subscription = query.first()
    if subscription is None:
        raise NotFound(NOT_FOUND, "PUSH_NOTIFICATION_NOT_FOUND")
    return subscription


def list_subscriptions(rt, business, page=1, size=20):
    """One page of the business's subscriptions, oldest first."""
    problems = check_paging(rt, page, size)
    if problems:
        raise InvalidRequest("The query is not valid.", problems)
    query = WebhookSubscription.select().where(WebhookSubscription.business == business)
    total = query.count()
    items = list(query.order_by(WebhookSubscription.created_at, WebhookSubscription.id).paginate(page, size))
    return Page(items, page, size, total)


def update(rt, business, subscription_id, **changes):
    """Change ``description``, ``url`` and/or ``event_types`` (each checked as at creation)."""
    unknown = set(changes) - set(UPDATABLE)
    if unknown:
        raise TypeError(f"cannot update {', '.join(sorted(unknown))}")
    values = {}
    if "url" in changes:
        values["url"] = check_url(rt, changes["url"])
    if "event_types" in changes:
        values["event_types"] = check_event_types(rt, changes["event_types"])
    if "description" in changes:
        values["description"] = check_description(changes["description"])
    with db.atomic():
        subscription = locked(business, subscription_id)
        if values:
            values["updated_at"] = clock.now()
            WebhookSubscription.update(**values).where(WebhookSubscription.id == subscription.id).execute()
            for name, value in values.items():
                setattr(subscription, name, value)
    return subscription


def delete(business, subscription_id):
    """Delete the subscription and its delivery log; its pending deliveries are dropped when they run."""
    with db.atomic():
        subscription = locked(business, subscription_id)
        WebhookSubscription.delete().where(WebhookSubscription.id == subscription.id).execute()


def _set_status(business, subscription_id, status):
    with db.atomic():
        subscription = locked(business, subscription_id)
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
        subscription = locked(business, subscription_id)
        now = clock.now()
        subscription.sealed_previous_secret = subscription.sealed_secret
        subscription.previous_expires_at = now + ROTATION_GRACE
        subscription.sealed_secret = rt.vault.seal_text(secret)
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


def check_description(description):
    description = "" if description is None else description
    if not isinstance(description, str):
        raise InvalidRequest("The request is malformed.", [Problem("description", "Not a valid string.",
                                                                   "INVALID_TYPE")])
    description = description.strip()
    if len(description) > MAX_DESCRIPTION_LENGTH or "\x00" in description:
        raise RuleViolation("The description is not valid.", [Problem(
            "description", f"Must be at most {MAX_DESCRIPTION_LENGTH} characters, without NUL.", "LENGTH")])
    return description


def check_event_types(rt, event_types):
    """The event types, deduplicated in their order; types not in ``rt.event_types`` are refused at
    ``eventTypes[i]``."""
    if not isinstance(event_types, (list, tuple)) or not all(isinstance(t, str) for t in event_types):
        raise InvalidRequest("The request is malformed.", [Problem("eventTypes", "Must be a list of strings.",
                                                                   "INVALID_TYPE")])
    if not event_types:
        raise RuleViolation("Subscribe to at least one event type.", [Problem(
            "eventTypes", f"Name at least one event type, or {ALL_TYPES!r} for all.", "LENGTH")])
    registered = rt.event_types
    known = ", ".join(registered.names)
    problems = [Problem(f"eventTypes[{i}]", f"Unknown event type {t[:80]!r}; known: {known}, or {ALL_TYPES!r}.",
                        "UNKNOWN_EVENT_TYPE")
                for i, t in enumerate(event_types) if t != ALL_TYPES and t not in registered]
    if problems:
        raise RuleViolation("The request names unknown event types.", problems)
    return list(dict.fromkeys(event_types))


def matches(event_types, event_type):
    return ALL_TYPES in event_types or event_type in event_types
