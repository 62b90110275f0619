"""The Portal's rows (issue 15): the people of a business, their sessions, and the audit log of their changes.

Kept apart from :mod:`linx_core.store.models` (which lists them in ``MODELS``) so that each module stays short.
"""
import uuid

import peewee as pw

from .fields import JSONField, UTCDateTimeField
from .models import BaseModel, Business, _now

ROLES = ("admin", "operator", "viewer")


class PortalUser(BaseModel):
    """A person of one business who signs in to the Portal: ``role`` is admin, operator or viewer.

    Only an argon2 hash of the password is kept; the TOTP secret (when enrolled) is sealed with the data key,
    as webhook secrets are. A disabled user (``disabled_at``) cannot sign in, and their sessions have ended.
    """

    business = pw.ForeignKeyField(Business, backref="portal_users", on_delete="CASCADE")
    business_id: uuid.UUID  # peewee's accessor
    email = pw.CharField(max_length=254, unique=True)  # lower case
    role = pw.CharField(max_length=16)
    password_hash = pw.CharField(max_length=255)
    totp_sealed = pw.TextField(null=True)
    disabled_at = UTCDateTimeField(null=True)
    created_at = UTCDateTimeField(default=_now)


class PortalSession(BaseModel):
    """A signed-in browser: the cookie carries a random token, the row only its hash. A session ends at
    sign-out, after ``LINX_PORTAL_IDLE_SECONDS`` unused, or when revoked (a disabled user, a new password)."""

    user = pw.ForeignKeyField(PortalUser, backref="sessions", on_delete="CASCADE")
    user_id: uuid.UUID  # peewee's accessor
    token_hash = pw.CharField(max_length=64, unique=True)
    address = pw.CharField(max_length=64, null=True)
    created_at = UTCDateTimeField(default=_now)
    seen_at = UTCDateTimeField(default=_now)
    ended_at = UTCDateTimeField(null=True)


class AuditEvent(BaseModel):
    """One change made by a person: who (``actor``, and the user when it was one), what (``action``), which
    object, when and from which address (``cli`` for the command line)."""

    business = pw.ForeignKeyField(Business, on_delete="CASCADE")
    business_id: uuid.UUID  # peewee's accessor
    user = pw.ForeignKeyField(PortalUser, null=True, on_delete="SET NULL")
    user_id: uuid.UUID | None  # peewee's accessor
    actor = pw.CharField(max_length=254)
    action = pw.CharField(max_length=64)
    object_type = pw.CharField(max_length=32)
    object_id = pw.CharField(max_length=64, null=True)
    address = pw.CharField(max_length=64, null=True)
    details = JSONField(default=dict)
    created_at = UTCDateTimeField(default=_now)

    class Meta:
        indexes = ((("business", "created_at"), False),)


PORTAL_MODELS = [PortalUser, PortalSession, AuditEvent]
