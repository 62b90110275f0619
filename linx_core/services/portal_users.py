"""The Portal's people: users of one business with a role, their passwords, sign-in, lockout and sessions.

- Passwords are hashed with argon2 (argon2-cffi's defaults, rehashed on sign-in when those change), at least
  :data:`MIN_PASSWORD` characters, and not one of the common passwords shipped in ``common-passwords.txt``.
- Sign-in is limited per client address (:data:`ADDRESS_LIMIT`) and per account: :data:`LOCK_AFTER` failures in
  :data:`LOCK_SECONDS` lock the account for the rest of that window. Both counters are the database's rate
  counters (:mod:`linx_core.services.limits`), shared by every web process.
- A session is a random token in the browser and its hash in ``portal_session``: it ends at sign-out, after
  ``idle`` seconds unused, when its user is disabled or gets a new password.
- Roles: ``admin`` (everything, users included), ``operator`` (workflows, customers, transactions, keys),
  ``viewer`` (reads only): :func:`may`.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
import uuid
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING

import peewee
import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from .. import clock
from ..errors import Conflict, LinxError, NotFound, Problem, RuleViolation
from ..secrets import new_token, token_hash
from ..store import db
from ..store.models import ROLES, Business, PortalSession, PortalUser, RateCounter
from . import audit, limits

if TYPE_CHECKING:  # pragma: no cover
    from ..runtime import Runtime

MIN_PASSWORD = 12
MAX_PASSWORD = 1024
LOCK_AFTER = 5
LOCK_SECONDS = 15 * 60
ADDRESS_LIMIT = (20, 60)  # sign-in attempts per client address, per minute
IDLE_SECONDS = 30 * 60
SEEN_EVERY = dt.timedelta(minutes=1)  # how stale a session's seen_at may be: at most one write a minute
EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]+\.[^@\s]+")
#: what each role may do: read (every role), operate (change workflows, customers, keys), admin (users)
ROLE_RIGHTS = {"admin": {"read", "operate", "admin"}, "operator": {"read", "operate"}, "viewer": {"read"}}

_hasher = PasswordHasher()
_DUMMY = _hasher.hash("a password nobody has: it evens out the time of a sign-in with no user")


class SignInRefused(LinxError):
    """A sign-in refused: ``reason`` is ``invalid`` (wrong email or password, or a disabled user: one answer
    for all), ``locked`` (too many failures for this account) or ``rate`` (too many from this address)."""

    def __init__(self, reason: str, retry_after: int = 0) -> None:
        super().__init__(f"Sign-in refused ({reason}).", f"SIGN_IN_{reason.upper()}",
                         401 if reason == "invalid" else 429)
        self.reason = reason
        self.retry_after = retry_after


def may(user: PortalUser, right: str) -> bool:
    return right in ROLE_RIGHTS.get(user.role, set())


@cache
def common_passwords() -> frozenset[str]:
    text = resources.files("linx_core").joinpath("common-passwords.txt").read_text(encoding="utf-8")
    return frozenset(line.strip().lower() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def password_problems(password: str, email: str = "") -> list[Problem]:
    """What is wrong with ``password`` as a new password (nothing: an empty list)."""
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        return [Problem("password", f"Must be at least {MIN_PASSWORD} characters.", "TOO_SHORT")]
    if len(password) > MAX_PASSWORD:
        return [Problem("password", f"Must be at most {MAX_PASSWORD} characters.", "TOO_LONG")]
    lowered = password.lower()
    if lowered in common_passwords() or len(set(lowered)) < 4:
        return [Problem("password", "Is too common or too easy to guess: choose another.", "COMMON_PASSWORD")]
    if email and email.split("@")[0].lower() in lowered and len(email.split("@")[0]) >= 4:
        return [Problem("password", "Must not contain the email address.", "CONTAINS_EMAIL")]
    return []


def normal_email(email: str) -> str:
    value = (email or "").strip().lower()
    if len(value) > 254 or not EMAIL.fullmatch(value):
        raise RuleViolation("The email address is not valid.", [Problem("email", "Must be an email address.",
                                                                        "INVALID_EMAIL")])
    return value


def find_business(which: str) -> Business:
    """A business by its name or its id."""
    business = Business.get_or_none(Business.name == which)
    if business is None:
        try:
            business = Business.get_or_none(Business.id == uuid.UUID(str(which)))
        except ValueError:
            business = None
    if business is None:
        raise NotFound(f"No business named {which!r} (nor with that id).", "BUSINESS_NOT_FOUND")
    return business


def find_user(email: str, business: Business | None = None) -> PortalUser:
    """The user of ``email`` (of ``business`` when given: another business's user is not found)."""
    query = PortalUser.select().where(PortalUser.email == (email or "").strip().lower())
    if business is not None:
        query = query.where(PortalUser.business == business)
    user = query.first()
    if user is None:
        raise NotFound("No such user.", "USER_NOT_FOUND")
    return user


def get_user(business: Business, user_id: object) -> PortalUser:
    try:
        uid = uuid.UUID(str(user_id))
    except ValueError:
        raise NotFound("No such user.", "USER_NOT_FOUND") from None
    user = PortalUser.get_or_none((PortalUser.id == uid) & (PortalUser.business == business))
    if user is None:
        raise NotFound("No such user.", "USER_NOT_FOUND")
    return user


def create_user(business: Business, email: str, role: str, password: str, *, by: PortalUser | None = None,
                address: str | None = None) -> PortalUser:
    email = normal_email(email)
    problems = [] if role in ROLES else [Problem("role", f"Must be one of {', '.join(ROLES)}.", "NOT_ALLOWED")]
    problems += password_problems(password, email)
    if problems:
        raise RuleViolation("The user is not valid.", problems)
    with db.atomic():
        try:
            with db.atomic():
                user = PortalUser.create(business=business, email=email, role=role,
                                         password_hash=_hasher.hash(password), created_at=clock.now())
        except peewee.IntegrityError:
            raise Conflict(f"A user with the email {email} exists already.", "USER_EXISTS") from None
        audit.record(business, "user.created", "user", user.id, user=by, address=address,
                     details={"email": email, "role": role})
    return user


def list_users(business: Business | None = None) -> list[PortalUser]:
    query = PortalUser.select()
    if business is not None:
        query = query.where(PortalUser.business == business)
    return list(query.order_by(PortalUser.email))


def disable_user(user: PortalUser, *, by: PortalUser | None = None, address: str | None = None) -> PortalUser:
    """Disable ``user`` and end their sessions at once."""
    with db.atomic():
        if user.disabled_at is None:
            user.disabled_at = clock.now()
            user.save()
        end_sessions(user)
        audit.record(user.business_id, "user.disabled", "user", user.id, user=by, address=address,
                     details={"email": user.email})
    return user


def reset_password(user: PortalUser, password: str, *, by: PortalUser | None = None,
                   address: str | None = None) -> PortalUser:
    """A new password for ``user``: their sessions end, and a lockout of the account is lifted."""
    problems = password_problems(password, user.email)
    if problems:
        raise RuleViolation("The password is not valid.", problems)
    with db.atomic():
        user.password_hash = _hasher.hash(password)
        user.save()
        end_sessions(user)
        RateCounter.delete().where(RateCounter.key == _lock_key(user.email)).execute()
        audit.record(user.business_id, "user.password_reset", "user", user.id, user=by, address=address,
                     details={"email": user.email})
    return user


# -- sign-in and sessions ---------------------------------------------------------------------------

def _digest(text: str) -> str:
    return hashlib.sha256(str(text or "").encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _lock_key(email: str) -> str:
    return f"portal-fail:{_digest((email or '').strip().lower())}:{LOCK_SECONDS}"


def locked_for(email: str) -> int:
    """Seconds until the account of ``email`` may try again (0: not locked). Reads, counts nothing."""
    row = RateCounter.get_or_none(RateCounter.key == _lock_key(email))
    now = clock.now()
    if row is None or row.expires_at <= now or row.count < LOCK_AFTER:
        return 0
    return max(1, int((row.expires_at - now).total_seconds()))


def sign_in(email: str, password: str, address: str | None, code: str | None = None,
            rt: Runtime | None = None) -> tuple[PortalUser, str]:
    """Check ``email`` and ``password`` (and the TOTP ``code`` of a user who enrolled one, with ``rt``'s vault):
    ``(user, session token)``, or :class:`SignInRefused`. A missing or wrong code counts as a failure."""
    ok, wait = limits.allow(f"portal-signin:{_digest(address or '')}:{ADDRESS_LIMIT[1]}", *ADDRESS_LIMIT)
    if not ok:
        raise SignInRefused("rate", wait)
    email = (email or "").strip().lower()[:254]
    wait = locked_for(email)
    if wait:
        raise SignInRefused("locked", wait)
    user = PortalUser.get_or_none(PortalUser.email == email)
    good = _verify(user.password_hash if user else _DUMMY, password) and user is not None
    if not good or user is None or user.disabled_at is not None:
        limits.allow(_lock_key(email), LOCK_AFTER, LOCK_SECONDS)
        wait = locked_for(email)
        raise SignInRefused("locked" if wait else "invalid", wait)
    if user.totp_sealed and (rt is None or not _totp_ok(rt, user.totp_sealed, code)):
        limits.allow(_lock_key(email), LOCK_AFTER, LOCK_SECONDS)
        wait = locked_for(email)
        raise SignInRefused("locked" if wait else "code", wait)
    with db.atomic():
        if _hasher.check_needs_rehash(user.password_hash):
            user.password_hash = _hasher.hash(password)
            user.save()
        RateCounter.delete().where(RateCounter.key == _lock_key(email)).execute()
        token = new_token()
        PortalSession.create(user=user, token_hash=token_hash(token), address=(address or "")[:64] or None,
                             created_at=clock.now(), seen_at=clock.now())
    return user, token


def password_matches(user: PortalUser, password: str) -> bool:
    return _verify(user.password_hash, password)


def _verify(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, (password or "")[:MAX_PASSWORD])
    except (VerificationError, InvalidHashError):
        return False


def session_user(token: str | None, idle: int = IDLE_SECONDS) -> tuple[PortalSession, PortalUser] | None:
    """The live session of ``token`` and its user (enabled), or None; an idle session ends here."""
    if not token or len(token) > 128 or not token.isascii():
        return None
    row = (PortalSession.select(PortalSession, PortalUser).join(PortalUser)
           .where(PortalSession.token_hash == token_hash(token)).first())
    if row is None or row.ended_at is not None or row.user.disabled_at is not None:
        return None
    now = clock.now()
    if now - row.seen_at > dt.timedelta(seconds=idle):
        row.ended_at = now
        row.save()
        return None
    if now - row.seen_at > SEEN_EVERY:
        row.seen_at = now
        row.save()
    return row, row.user


def end_session(token: str | None) -> None:
    if token:
        (PortalSession.update(ended_at=clock.now())
         .where((PortalSession.token_hash == token_hash(token[:128])) & PortalSession.ended_at.is_null()).execute())


def end_sessions(user: PortalUser) -> int:
    return (PortalSession.update(ended_at=clock.now())
            .where((PortalSession.user == user) & PortalSession.ended_at.is_null()).execute())


# -- TOTP two-factor -------------------------------------------------------------------------------------------------

def totp_secret() -> str:
    return pyotp.random_base32()


def totp_uri(user: PortalUser, secret: str) -> str:
    """The ``otpauth://`` URI an authenticator app reads from the enrolment QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name="LinX")


def _totp_ok(rt: Runtime, sealed: str, code: str | None) -> bool:
    code = (code or "").strip().replace(" ", "")
    if not (code.isascii() and code.isdigit() and len(code) == 6):
        return False
    return pyotp.TOTP(rt.vault.unseal(sealed)).verify(code, valid_window=1)


def enrol_totp(rt: Runtime, user: PortalUser, sealed_secret: str, code: str | None, *,
               address: str | None = None) -> bool:
    """Turn on two-factor sign-in for ``user`` with the secret (sealed) the enrolment page showed, once ``code``
    proves their app has it; False (and nothing changed) for a wrong code."""
    try:
        if not _totp_ok(rt, sealed_secret, code):
            return False
    except LinxError:  # a secret that does not open with this data key: not one we made
        return False
    with db.atomic():
        user.totp_sealed = sealed_secret
        user.save()
        audit.record(user.business_id, "user.totp_enrolled", "user", user.id, user=user, address=address,
                     details={"email": user.email})
    return True
