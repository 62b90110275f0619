"""Business accounts, their API keys and their own financial accounts."""
from __future__ import annotations

import hashlib
import hmac
import uuid
from typing import TYPE_CHECKING

import peewee

from .. import clock
from ..errors import Conflict, LinxError, NotFound, Problem, RuleViolation, Unauthorized
from ..secrets import API_KEY_PREFIX, new_api_key, token_hash
from ..store import Prepared, db
from ..store.models import ApiKey, Business, BusinessFinancialAccount
from ..vault import mask

if TYPE_CHECKING:  # pragma: no cover
    from ..runtime import Runtime


def create_business(rt: Runtime, name: str, display_name: str | None = None,
                    passcode_default: bool = True) -> tuple[Business, str]:
    """A new business and its first API key: ``(business, key)``; the key is shown only now."""
    name = (name or "").strip()
    if not name or len(name) > 120:
        raise RuleViolation("A business needs a name of 1 to 120 characters.",
                            [Problem("name", "Must be 1 to 120 characters.", "LENGTH")])
    with db.atomic():
        try:
            business = Business.create(name=name, display_name=display_name or name,
                                       passcode_default=passcode_default)
        except peewee.IntegrityError:
            raise Conflict(f"A business named {name!r} exists already.", "BUSINESS_EXISTS") from None
        key = issue_key(rt, business)
    return business, key


def find_business(name: str) -> Business:
    business = Business.get_or_none(Business.name == name)
    if business is None:
        raise NotFound(f"No business named {name!r}.", "BUSINESS_NOT_FOUND")
    return business


def issue_key(rt: Runtime, business: Business) -> str:
    """A new API key for ``business``; only its hash is kept."""
    key, prefix, digest = new_api_key()
    ApiKey.create(business=business, prefix=prefix, key_hash=digest)
    return key


def ensure_key(business: Business, key: str) -> None:
    """Store ``key`` for ``business`` unless it is there already (for derived keys)."""
    digest = token_hash(key)
    if ApiKey.get_or_none(ApiKey.key_hash == digest) is None:
        ApiKey.create(business=business, prefix=key[:10], key_hash=digest)


def derived_key(rt: Runtime, label: str) -> str:
    """A key derived from the secret key: the same on every run, so a demo set-up is repeatable."""
    mac = hmac.new(rt.settings.secret_key.encode(), f"linx-key:{label}".encode(), hashlib.sha256)
    return API_KEY_PREFIX + "demo_" + mac.hexdigest()[:40]


_KEY_OWNER = Prepared(lambda key_hash: ApiKey.select(ApiKey, Business).join(Business)
                      .where((ApiKey.key_hash == key_hash) & ApiKey.revoked_at.is_null()).limit(1),
                      ApiKey.key_hash)


def authenticate(api_key: str | None) -> Business:
    """The business that owns ``api_key``, or :class:`Unauthorized`."""
    if not api_key or len(api_key) > 200:
        raise Unauthorized()
    row = _KEY_OWNER.first(token_hash(api_key))
    if row is None:
        raise Unauthorized("The API key is not valid.", "INVALID_API_KEY")
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


__all__ = ["create_business", "find_business", "issue_key", "authenticate", "add_financial_account",
           "derived_key", "ensure_key", "LinxError"]
