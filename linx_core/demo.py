"""The demo data set "Demo Co": exactly the ids the seed examples name.

Running it again changes nothing and prints the same API key (derived from the
secret key), so ``make run`` can call it every time.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from . import clock
from .services import businesses
from .store import db
from .store.models import Business, Customer, CustomerFinancialAccount

if TYPE_CHECKING:  # pragma: no cover
    from .runtime import Runtime

DEMO_BUSINESS = "Demo Co"
BA_ACCOUNT_ID = "31c6d624-6a0c-4049-b1f1-f3ea7d00ba35"
CUSTOMER_ID = "8c8cab63-4e53-4acf-9efa-e7324816aa36"
CARD_ID = "bbbf2fbf-81d4-4f2d-8f80-201bcca921d4"
CARD_NUMBER = "4000056655665556"  # a well-known Visa debit test number


def init_demo(rt: Runtime) -> tuple[Business, str]:
    """Create (or find) Demo Co; returns ``(business, api_key)``."""
    with db.atomic():
        business = Business.get_or_none(Business.name == DEMO_BUSINESS)
        if business is None:
            business = Business.create(name=DEMO_BUSINESS, display_name=DEMO_BUSINESS, passcode_default=True)
        key = businesses.derived_key(rt, f"demo:{business.id}")
        businesses.ensure_key(business, key)
        businesses.add_financial_account(rt, business, "Demo Co operating account", "CHECKING", "USD",
                                         number="000123456789", account_id=BA_ACCOUNT_ID)
        customer = Customer.get_or_none(Customer.id == CUSTOMER_ID)
        if customer is None:
            customer = Customer.create(id=CUSTOMER_ID, business=business, first_name="John", last_name="Doe",
                                       phone_number="+16471234567", email="john.doe@example.com",
                                       created_at=clock.now())
        if CustomerFinancialAccount.get_or_none(CustomerFinancialAccount.id == CARD_ID) is None:
            sealed = rt.vault.seal(CARD_NUMBER)
            CustomerFinancialAccount.create(
                id=CARD_ID, business=business, customer=customer, type="CARD", subtype="DEBIT", state="ACTIVE",
                holder_name="John Doe", sealed_number=sealed.sealed, last4=sealed.last4,
                masked_number=sealed.masked, fingerprint=sealed.fingerprint, brand="VISA", expiry="2030-12",
                currency="USD", created_at=clock.now())
    return business, key


DEMO_ADMIN = "admin@demo.example"


def init_demo_admin(rt: Runtime, business: Business) -> tuple[str, str]:
    """Demo Co's Portal admin (development only, as ``linx init --demo`` is): ``(email, password)``. The password
    is derived from the secret key, like the demo API key, so every ``make run`` prints the same one."""
    import hashlib
    import hmac

    from .services import portal_users
    from .store.models import PortalUser

    mac = hmac.new(rt.settings.secret_key.encode(), b"linx-portal:demo-admin", hashlib.sha256).hexdigest()
    password = f"demo-{mac[:8]}-{mac[8:16]}"
    user = PortalUser.get_or_none(PortalUser.email == DEMO_ADMIN)
    if user is None:
        portal_users.create_user(business, DEMO_ADMIN, "admin", password)
    elif not portal_users.password_matches(user, password):  # the secret key changed since
        portal_users.reset_password(user, password)
    return DEMO_ADMIN, password


def disable_demo_admin() -> bool:
    """Outside development (``linx init``): disable the demo Portal user, whose password was derived from the
    secret key of the day; True when it was enabled."""
    from .services import portal_users
    from .store.models import PortalUser

    user = PortalUser.get_or_none((PortalUser.email == DEMO_ADMIN) & PortalUser.disabled_at.is_null())
    if user is None:
        return False
    portal_users.disable_user(user)
    return True
