"""Business accounts, their API keys and their own financial accounts."""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import uuid
from typing import TYPE_CHECKING

import peewee

from .. import clock, events, localtime
from ..errors import Conflict, Forbidden, InvalidRequest, LinxError, NotFound, Problem, RuleViolation, Unauthorized
from ..secrets import API_KEY_PREFIX, new_api_key, token_hash
from ..store import Prepared, db
from ..store.models import ApiKey, Business, BusinessFinancialAccount
from ..vault import mask

if TYPE_CHECKING:  # pragma: no cover
    from ..runtime import Runtime


def create_business(rt: Runtime, name: str, display_name: str | None = None,
                    passcode_default: bool = True, time_zone: str | None = None) -> tuple[Business, str]:
    """A new business and its first API key, labelled ``default``: ``(business, key)``; the key is shown only
    now. ``time_zone`` (an IANA name) is where its customers without a phone zone read times
    (:mod:`linx_core.localtime`)."""
    name = (name or "").strip()
    if not name or len(name) > 120:
        raise RuleViolation("A business needs a name of 1 to 120 characters.",
                            [Problem("name", "Must be 1 to 120 characters.", "LENGTH")])
    if time_zone is not None:
        _check_zone(time_zone)
    with db.atomic():
        try:
            business = Business.create(name=name, display_name=display_name or name,
                                       passcode_default=passcode_default,
                                       settings={"timeZone": time_zone} if time_zone else {})
        except peewee.IntegrityError:
            raise Conflict(f"A business named {name!r} exists already.", "BUSINESS_EXISTS") from None
        key = issue_key(rt, business, FIRST_KEY_LABEL)
    return business, key


def _check_zone(time_zone: str) -> None:
    if localtime.zone(time_zone) is None:
        raise RuleViolation("Unknown time zone.", [Problem("timeZone", "Name an IANA time zone, such as "
                                                                       "America/Toronto.", "INVALID_TIME_ZONE")])


def set_time_zone(business: Business, time_zone: str) -> Business:
    """Where ``business``'s customers without a phone zone read times from now on (an IANA name, checked)."""
    _check_zone(time_zone)
    with db.atomic():
        row = Business.select().where(Business.id == business.id).first()
        settings = dict(row.settings or {}, timeZone=time_zone)
        Business.update(settings=settings).where(Business.id == business.id).execute()
        business.settings = settings
    return business


def find_business(name: str) -> Business:
    business = Business.get_or_none(Business.name == name)
    if business is None:
        raise NotFound(f"No business named {name!r}.", "BUSINESS_NOT_FOUND")
    return business


LABEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
FIRST_KEY_LABEL = "default"
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
LAST_USED_EVERY = dt.timedelta(minutes=1)  # how stale a key's last_used_at may be: at most one write a minute


def _check_label(business: Business, label: str | None) -> str | None:
    """``label``, checked: 1 to 64 letters, digits, ``.``, ``_`` or ``-``, not like a key, and free among the
    business's keys not revoked."""
    if label is None:
        return None
    if not LABEL.fullmatch(label) or label.startswith(API_KEY_PREFIX):
        raise RuleViolation("The label is not valid.", [Problem(
            "label", f"Must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit, and not "
                     f"start with {API_KEY_PREFIX!r} (a key's prefix).", "INVALID_LABEL")])
    if (ApiKey.select().where((ApiKey.business == business) & (ApiKey.label == label)
                              & ApiKey.revoked_at.is_null()).exists()):
        raise Conflict(f"{business.name} has a key labelled {label!r} already: revoke it first, or choose another "
                       "label.", "API_KEY_LABEL_TAKEN")
    return label


def _key_event(rt: Runtime, row: ApiKey, type: str) -> None:
    events.record(rt, row.business_id, type, row.id, {
        "apiKeyId": str(row.id), "prefix": row.prefix, "label": row.label, "readOnly": row.read_only})


def issue_key(rt: Runtime, business: Business, label: str | None = None, read_only: bool = False) -> str:
    """A new API key for ``business``, under ``label`` (unique among its keys not revoked), and for reading
    only when ``read_only``; only its hash is kept, and the key is shown only now."""
    label = _check_label(business, label)
    key, prefix, digest = new_api_key()
    with db.atomic():
        try:
            with db.atomic():  # a savepoint: PostgreSQL's transaction stays usable after the refusal
                row = ApiKey.create(business=business, prefix=prefix, key_hash=digest, label=label,
                                    read_only=read_only, created_at=clock.now())
        except peewee.IntegrityError:  # the same label, given at the same moment elsewhere
            raise Conflict(f"{business.name} has a key labelled {label!r} already.", "API_KEY_LABEL_TAKEN") from None
        _key_event(rt, row, "linx.api-key-issued")
    return key


def list_keys(business: Business) -> list[ApiKey]:
    """The business's keys, oldest first, revoked ones too (their hashes stay, for the audit)."""
    return list(ApiKey.select().where(ApiKey.business == business).order_by(ApiKey.created_at, ApiKey.id))


def _shown(which: str) -> str:
    """``which`` as an error may echo it: a whole key is a secret (errors reach terminals, logs and CI output),
    so only its first 10 characters (its prefix, as ``list-keys`` shows it); a label or a prefix as given."""
    return which[:10] + "..." if which.startswith(API_KEY_PREFIX) and len(which) > 10 else which


def revoke_key(rt: Runtime, business: Business, which: str) -> ApiKey:
    """Revoke the key of ``business`` named by ``which``: its label, its prefix (``lx_`` and 7 more characters,
    as listed), or the key itself. From the commit on, every process refuses it (:func:`authenticate` reads
    the keys' revocation epoch on each request, which this UPDATE's trigger bumps).
    """
    which = (which or "").strip()
    query = ApiKey.select().where(ApiKey.business == business)
    if which.startswith(API_KEY_PREFIX):
        match = (ApiKey.key_hash == token_hash(which)) if len(which) > 16 else (ApiKey.prefix == which)
    else:
        match = ApiKey.label == which
    found = list(query.where(match & ApiKey.revoked_at.is_null()))
    if not found:
        raise NotFound(f"{business.name} has no key {_shown(which)!r} that is not revoked already.",
                       "API_KEY_NOT_FOUND")
    if len(found) > 1:
        raise Conflict(f"Several keys of {business.name} begin with {which!r}: name it by its label or give the "
                       "whole key.", "API_KEY_AMBIGUOUS")
    row = found[0]
    with db.atomic():
        now = clock.now()
        if ApiKey.update(revoked_at=now).where((ApiKey.id == row.id) & ApiKey.revoked_at.is_null()).execute() != 1:
            raise NotFound(f"The key {_shown(which)!r} was revoked meanwhile.", "API_KEY_NOT_FOUND")
        row.revoked_at = now
        _key_event(rt, row, "linx.api-key-revoked")
    return row


def ensure_key(business: Business, key: str) -> None:
    """Store ``key`` for ``business`` unless it is there already (for derived keys)."""
    digest = token_hash(key)
    if ApiKey.get_or_none(ApiKey.key_hash == digest) is None:
        ApiKey.create(business=business, prefix=key[:10], key_hash=digest)


DERIVED_KEY_PREFIX = API_KEY_PREFIX + "demo_"


def derived_key(rt: Runtime, label: str) -> str:
    """A key derived from the secret key: the same on every run, so a demo set-up is repeatable.

    Only its hash is stored, like any key's: changing the secret key later derives another key but does not
    invalidate this one, which is why :func:`revoke_derived_keys` exists."""
    mac = hmac.new(rt.settings.secret_key.encode(), f"linx-key:{label}".encode(), hashlib.sha256)
    return DERIVED_KEY_PREFIX + mac.hexdigest()[:40]


def revoke_derived_keys(rt: Runtime) -> list[ApiKey]:
    """Revoke every derived (demo) key not revoked yet, each with its ``linx.api-key-revoked`` event; returns
    them. ``linx init`` calls it outside development: a derived key was made from a development secret, weak
    or generated into a clone's instance folder, and would keep opening the API whatever the deployment's
    secret key is now. Derived keys are told by their prefix (``lx_demo_``) and the label they lack."""
    revoked = []
    with db.atomic():
        now = clock.now()
        found = ApiKey.select().where(ApiKey.prefix.startswith(DERIVED_KEY_PREFIX) & ApiKey.label.is_null()
                                      & ApiKey.revoked_at.is_null())
        for row in found:
            if not row.prefix.startswith(DERIVED_KEY_PREFIX):  # LIKE/ILIKE: no case, and "_" matches any one
                continue
            if ApiKey.update(revoked_at=now).where((ApiKey.id == row.id) & ApiKey.revoked_at.is_null()).execute():
                row.revoked_at = now
                _key_event(rt, row, "linx.api-key-revoked")
                revoked.append(row)
    return revoked


_KEY_OWNER = Prepared(lambda key_hash: ApiKey.select(ApiKey, Business).join(Business)
                      .where((ApiKey.key_hash == key_hash) & ApiKey.revoked_at.is_null()).limit(1),
                      ApiKey.key_hash)


_KEY_USED = Prepared(lambda id_, now, stale: ApiKey.update(last_used_at=now).where(
    (ApiKey.id == id_) & (ApiKey.last_used_at.is_null() | (ApiKey.last_used_at < stale))),
    ApiKey.id, ApiKey.last_used_at, ApiKey.last_used_at)


_KEY_EPOCH_SQL = "SELECT value FROM cache_epoch WHERE name = 'api_keys'"
#: key hash -> (the revocation epoch read before the key's row was, the row with its business); bounded
_KEYS_SEEN: dict[str, tuple[int, ApiKey]] = {}
KEYS_SEEN_MAX = 10_000


def _key_epoch() -> int | None:
    """The API keys' revocation epoch (migration 0006_bench: triggers bump it on any change that may end a key's
    right), or None when its row is missing."""
    row = db.execute_sql(_KEY_EPOCH_SQL).fetchone()
    return None if row is None else int(row[0])


def _key_row(digest: str) -> ApiKey | None:
    """The live key of hash ``digest`` with its business: from this process's memory while the epoch has not
    moved since it was read, else from the database. The epoch is read first, and every time: a key revoked
    (or a business changed) after a request read it was read under an older epoch, so the next request, seeing
    the new one, reads the row again; a revocation holds on every process from its commit."""
    epoch = _key_epoch()
    if epoch is not None:
        seen = _KEYS_SEEN.get(digest)
        if seen is not None and seen[0] == epoch:
            return seen[1]
    row = _KEY_OWNER.first(digest)
    if row is not None and epoch is not None:
        if len(_KEYS_SEEN) >= KEYS_SEEN_MAX:
            _KEYS_SEEN.clear()
        _KEYS_SEEN[digest] = (epoch, row)
    return row


def authenticate(api_key: str | None, *, method: str) -> Business:
    """The business that owns ``api_key``, or :class:`Unauthorized`; :class:`Forbidden` when a read-only key
    is used for ``method`` other than a read. ``method`` (the request's HTTP method) is required and named,
    so that a caller (a plugin's route) cannot forget it and let a read-only key write.

    Revoked keys are refused from the revocation's commit on, on every process: each request reads the keys'
    revocation epoch, and a key's row is kept in memory only under the epoch read before it (:func:`_key_row`).
    ``last_used_at`` is written only when it is older than :data:`LAST_USED_EVERY` (the UPDATE says so itself,
    so processes racing write it once).
    """
    if not api_key or len(api_key) > 200:
        raise Unauthorized()
    row = _key_row(token_hash(api_key))
    if row is None:
        raise Unauthorized("The API key is not valid.", "INVALID_API_KEY")
    now = clock.now()
    if row.last_used_at is None or row.last_used_at < now - LAST_USED_EVERY:
        _KEY_USED.execute(row.id, now, now - LAST_USED_EVERY)
        row.last_used_at = now
    if row.read_only and method.upper() not in READ_METHODS:
        raise Forbidden("This API key may only read (GET): use a key that is not read-only.", "READ_ONLY_API_KEY")
    return row.business


def add_financial_account(rt: Runtime, business: Business, name: str, subtype: str = "CHECKING", currency: str = "USD",
                          number: str = "", account_id: object = None) -> BusinessFinancialAccount:
    """A bank account of the business itself, money's source or destination."""
    problems: list[Problem] = []
    kinds = rt.rules.catalog["financialAccountSubTypes"]
    if kinds.get(subtype, {}).get("kind") != "BANK":
        bank = [k for k, v in kinds.items() if v["kind"] == "BANK"]
        problems.append(Problem("subtype", f"Must be one of {', '.join(bank)}.", "NOT_ALLOWED"))
    if currency not in rt.rules.catalog["currencies"]:
        problems.append(Problem("currency", f"Must be one of {', '.join(rt.rules.catalog['currencies'])}.",
                                "NOT_ALLOWED"))
    if number and not number.isdigit():
        problems.append(Problem("number", "Must be digits only.", "INVALID_FORMAT"))
    if problems:
        raise RuleViolation("The account is not valid.", problems)
    try:
        account_id = uuid.UUID(str(account_id)) if account_id else uuid.uuid4()
    except ValueError:
        raise RuleViolation("The account id is not valid.",
                            [Problem("id", "Not a valid UUID.", "INVALID_ID")]) from None
    existing = BusinessFinancialAccount.get_or_none(BusinessFinancialAccount.id == account_id)
    if existing is not None:
        if existing.business_id != business.id:
            raise Conflict("That account id is taken.", "ACCOUNT_ID_TAKEN")
        return existing
    return BusinessFinancialAccount.create(
        id=account_id, business=business, name=name, type="BANK", subtype=subtype, currency=currency,
        masked_number=mask(number) if number else "", created_at=clock.now())


#: the business's own choice on self-service recovery, in its ``settings`` (absent: the rules' default)
SELF_SERVICE_RECOVERY = "selfServiceRecovery"


def self_service_recovery(rt: Runtime, business: Business) -> bool:
    """Whether the customers of ``business`` may recover an expired workflow from its link: the business's own
    setting, else the rules' ``workflow.recovery.selfService`` (off as shipped)."""
    return self_service_recovery_setting(rt, business)[0]


def self_service_recovery_setting(rt: Runtime, business: Business) -> tuple[bool, bool]:
    """``(on, own)``: :func:`self_service_recovery`, and whether it is the business's own choice (else the rules')."""
    own = (business.settings or {}).get(SELF_SERVICE_RECOVERY)
    if isinstance(own, bool):
        return own, True
    return bool(rt.rules.workflow["recovery"]["selfService"]), False


def set_self_service_recovery(business: Business, value: bool | None) -> Business:
    """Turn self-service recovery on or off for ``business`` (None: back to the rules' default)."""
    with db.atomic():
        row = Business.select().where(Business.id == business.id).first()
        settings = dict(row.settings or {})
        if value is None:
            settings.pop(SELF_SERVICE_RECOVERY, None)
        else:
            settings[SELF_SERVICE_RECOVERY] = value
        Business.update(settings=settings).where(Business.id == business.id).execute()
        business.settings = settings
    return business


SENDERS = "senders"  # the business's settings key: {"SMS": {"from": "+1...", "messagingServiceSid": "MG..."}}
SERVICE_SID = re.compile(r"^MG[0-9a-fA-F]{32}$")


def own_sms_sender(business: Business) -> dict[str, str]:
    """The business's own Twilio sender (``from``, ``messagingServiceSid``), empty: the installation's."""
    return dict(((business.settings or {}).get(SENDERS) or {}).get("SMS") or {})


def set_sms_sender(business: Business, from_number: str | None, service_sid: str | None) -> Business:
    """Set the business's own Twilio sender (a from-number, a Messaging Service SID, or both); neither: back to
    the installation's. Its SMS then leave from it, paced by that sender's own bucket
    (:func:`linx_core.services.throttle.sender_key`)."""
    import phonenumbers

    from_number, service_sid = (from_number or "").strip(), (service_sid or "").strip()
    if from_number:
        try:
            valid = phonenumbers.is_valid_number(phonenumbers.parse(from_number, None))
        except phonenumbers.NumberParseException:
            valid = False
        if not valid or not from_number.startswith("+"):
            raise InvalidRequest(f"{from_number!r} is not a phone number in E.164 form (+15550001111).",
                                 code="SENDER_INVALID")
    if service_sid and not SERVICE_SID.match(service_sid):
        raise InvalidRequest(f"{service_sid!r} is not a Messaging Service SID (MG and 32 hex digits).",
                             code="SENDER_INVALID")
    with db.atomic():
        row = Business.get_by_id(business.id)
        settings = dict(row.settings or {})
        senders = dict(settings.get(SENDERS) or {})
        if from_number or service_sid:
            senders["SMS"] = {k: v for k, v in (("from", from_number), ("messagingServiceSid", service_sid)) if v}
        else:
            senders.pop("SMS", None)
        settings[SENDERS] = senders
        Business.update(settings=settings).where(Business.id == business.id).execute()
        business.settings = settings
    return business


__all__ = ["own_sms_sender", "set_sms_sender",
           "create_business", "find_business", "issue_key", "list_keys", "revoke_key", "authenticate",
           "add_financial_account", "derived_key", "ensure_key", "revoke_derived_keys", "LinxError",
           "self_service_recovery", "self_service_recovery_setting", "set_self_service_recovery",
           "SELF_SERVICE_RECOVERY"]
