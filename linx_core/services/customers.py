"""Customers and their financial accounts, as the customer's own steps make them.

The step kinds (``customer-account``, ``enhance-profile``, ``financial-account``...) call these inside
the transaction that holds their workflow; what a field may hold (lengths, countries, postal-code
patterns) comes from the rules' ``profileForm`` and ``countries`` catalogs.
"""
from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import peewee

from .. import accounts, clock, events
from ..errors import Conflict, Problem, RuleViolation
from ..payments import AccountDetails
from ..store import db
from ..store.models import Customer, CustomerFinancialAccount, Workflow
from . import eligibility

if TYPE_CHECKING:  # pragma: no cover
    from ..runtime import Runtime

ADDRESS_PARTS = ("street", "city", "state", "postalCode")
EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}")


#: what LinX checked before these fields were in the rules' ``profileForm``: a custom catalog made before then
#: (without them) keeps these checks, not the shorter ``text`` length and no pattern at all
FORM_FALLBACKS: dict[str, dict[str, Any]] = {
    "holderName": {"maxLength": 120},
    "anyPostalCode": {"maxLength": 10, "pattern": r"[A-Za-z0-9 -]{3,10}"},
    "stateName": {"maxLength": 60},
}


def _form_entry(rt: Runtime, field: str) -> dict[str, Any] | None:
    """The rules' ``profileForm`` entry for ``field``, else its fallback (:data:`FORM_FALLBACKS`), else None."""
    return rt.rules.catalog.get("profileForm", {}).get(field) or FORM_FALLBACKS.get(field)


def max_length(rt: Runtime, field: str) -> int:
    """The longest value the profile field ``field`` takes (``text`` for a field the rules do not name)."""
    form = rt.rules.catalog.get("profileForm", {})
    return int((_form_entry(rt, field) or form.get("text") or {"maxLength": 40})["maxLength"])


def matches(rt: Runtime, field: str, value: str) -> bool:
    """Whether ``value`` matches in full the pattern the rules' ``profileForm`` gives ``field`` (if any)."""
    pattern = (_form_entry(rt, field) or {}).get("pattern")
    return pattern is None or re.fullmatch(pattern, value) is not None


def countries(rt: Runtime) -> list[str]:
    """The countries a customer's address may be in (the rules' ``countries``)."""
    return list(rt.rules.catalog.get("countries", {}))


def profile_problems(rt: Runtime, form: Mapping[str, Any], required: Any) -> list[Problem]:
    """Problems with a profile form (first and last name, email, date of birth, address)."""
    problems = []
    limits = rt.rules.catalog.get("profileForm", {})
    for field in required:
        if not (form.get(field) or "").strip():
            problems.append(Problem(field, "This field is required.", "REQUIRED"))
    for field in ("firstName", "lastName", "street", "city"):
        value = (form.get(field) or "").strip()
        limit = max_length(rt, field)
        if value and len(value) > limit:
            problems.append(Problem(field, f"At most {limit} characters.", "LENGTH"))
    email = (form.get("email") or "").strip()
    if email and not EMAIL.fullmatch(email) or len(email) > max_length(rt, "email"):
        problems.append(Problem("email", "Enter an email address like name@example.com.", "INVALID_EMAIL"))
    dob = (form.get("dateOfBirth") or "").strip()
    if dob:
        try:
            born = dt.date.fromisoformat(dob)
            if not dt.date(1900, 1, 1) <= born <= clock.now().date():
                raise ValueError
        except ValueError:
            problems.append(Problem("dateOfBirth", "Enter a real date of birth (YYYY-MM-DD).", "INVALID_DATE"))
    known = rt.rules.catalog.get("countries", {})
    country = (form.get("country") or "").strip().upper()
    if country and country not in known:
        names = [spec.get("label") or code for code, spec in known.items()]
        problems.append(Problem("country", f"Choose one of: {', '.join(names)}.", "NOT_ALLOWED"))
    postal = (form.get("postalCode") or "").strip()
    if postal and country in known and not re.fullmatch(known[country]["postalCode"], postal):
        problems.append(Problem("postalCode", "Enter a valid ZIP or postal code.", "INVALID_POSTAL_CODE"))
    state = (form.get("state") or "").strip()
    state_pattern = (limits.get("state") or {}).get("pattern")
    if state and not state_codes(rt, country or None):
        if len(state) > max_length(rt, "stateName"):
            problems.append(Problem("state", f"At most {max_length(rt, 'stateName')} characters.", "LENGTH"))
    elif state and state_pattern and not re.fullmatch(state_pattern, state):
        problems.append(Problem("state", "Enter the two-letter state or province code.", "INVALID_STATE"))
    return problems


def state_codes(rt: Runtime, country: str | None) -> bool:
    """Whether an address in ``country`` names its state or province by a code (``NY``, ``ON``: the rules'
    ``profileForm.state``), as the rules' ``countries`` say (``stateCodes``, true unless set); else its name is
    free text (up to ``profileForm.stateName``). An address without a country is taken as in the United
    States (:func:`address_from`)."""
    entry = rt.rules.catalog.get("countries", {}).get(country or "USA") or {}
    return bool(entry.get("stateCodes", True))


def date_of_birth(form: Mapping[str, Any]) -> dt.date | None:
    """The form's date of birth (checked by :func:`profile_problems` first), or None when it holds none."""
    text = (form.get("dateOfBirth") or "").strip()
    return dt.date.fromisoformat(text) if text else None


def address_from(form: Mapping[str, Any]) -> dict | None:
    """The physical address in a profile form, or None when it holds none. A state code is kept in capitals
    (``on`` is ``ON``); a free-text state's name as typed."""
    if not any((form.get(k) or "").strip() for k in ADDRESS_PARTS):
        return None
    state = (form.get("state") or "").strip()
    return {"type": "PHYSICAL", "street": (form.get("street") or "").strip(), "city": (form.get("city") or "").strip(),
            "state": state.upper() if len(state) == 2 else state, "postalCode": (form.get("postalCode") or "").strip(),
            "country": (form.get("country") or "USA").strip().upper()}


def existing_customer(rt: Runtime, workflow: Workflow) -> Customer | None:
    """The workflow's customer (bound to it), else the business's customer with the workflow's phone number when the
    link went to that customer's own contact (:func:`eligibility.reaches_customer`), else None.

    An EMAIL workflow to a stranger's mailbox that carries a customer's phone number recognises no one: nothing of
    that customer is shown there, and what the stranger types makes a customer of their own."""
    if workflow.customer_id:
        return Customer.get_by_id(workflow.customer_id)
    holder = _phone_holder(workflow)
    return holder if holder is not None and eligibility.reaches_customer(rt, workflow, holder) else None


def _phone_holder(workflow: Workflow) -> Customer | None:
    if not workflow.phone_number:
        return None
    return Customer.get_or_none((Customer.business == workflow.business_id)
                                & (Customer.phone_number == workflow.phone_number))


def create_customer(rt: Runtime, workflow: Workflow, form: Mapping[str, Any],
                    required: Any) -> tuple[Customer, bool]:
    """The workflow's customer: the existing one, else a new one from ``form`` (with an event).

    The new customer gets the workflow's phone number unless another customer holds it (a number is one customer's:
    the link went to a mailbox, which proves nothing of the number). Returns ``(customer, created)``. Inside the
    workflow's transaction.
    """
    customer = existing_customer(rt, workflow)
    if customer is not None:
        return customer, False
    problems = profile_problems(rt, form, required)
    if problems:
        raise RuleViolation("Some fields need attention.", problems)
    address = address_from(form)
    values = dict(business=workflow.business_id, status="ACTIVE", first_name=form["firstName"].strip(),
                  last_name=form["lastName"].strip(), email=(form.get("email") or workflow.email or "").strip() or None,
                  date_of_birth=date_of_birth(form), addresses=[address] if address else [], created_at=clock.now())
    holder = _phone_holder(workflow)  # read again: another workflow for this number may have made them meanwhile
    if holder is not None and eligibility.reaches_customer(rt, workflow, holder):
        return holder, False
    phone = None if holder is not None else workflow.phone_number
    try:
        with db.atomic():
            customer = Customer.create(phone_number=phone, **values)
    except peewee.IntegrityError:  # another workflow for this phone made the customer just now
        customer = existing_customer(rt, workflow)
        if customer is not None:
            return customer, False  # the other one, committed
        customer = Customer.create(phone_number=None, **values)
    events.record(rt, workflow.business_id, "customer.status-updated", customer.id, {
        "customerId": str(customer.id), "previousStatus": None, "status": "ACTIVE",
        "workflowId": str(workflow.id)})
    return customer, True


def account_subtypes(rt: Runtime, workflow: Workflow) -> list[str]:
    """The subtypes the customer may add: the one the business named, else those the solution takes."""
    return eligibility.allowed_subtypes(rt, workflow.parameters or {})


def needs_billing_address(rt: Runtime, workflow: Workflow) -> bool:
    solution = rt.rules.solutions.get((workflow.parameters or {}).get("solution"))
    return bool(solution and solution.get("billingAddress") == "required")


def add_account(rt: Runtime, workflow: Workflow, form: Mapping[str, Any]) -> CustomerFinancialAccount:
    """Check a card or bank account, ask the rail whether it can pay it, seal the number and keep it.

    A number the customer already has is reused, not duplicated. Inside the workflow's transaction.
    """
    allowed = account_subtypes(rt, workflow)
    subtype = (form.get("subtype") or (allowed[0] if len(allowed) == 1 else "")).strip().upper()
    problems = []
    if subtype not in allowed:
        raise RuleViolation("Some fields need attention.", [
            Problem("subtype", f"Choose one of: {', '.join(allowed)}.", "NOT_ALLOWED")])
    kind = rt.rules.account_kind(subtype)
    holder = (form.get("holderName") or "").strip()
    holder_max = max_length(rt, "holderName")
    on = "card" if kind == "CARD" else "account"
    if not holder:
        problems.append(Problem("holderName", f"Enter the name on the {on}.", "REQUIRED"))
    elif len(holder) > holder_max:
        problems.append(Problem("holderName", f"The name on the {on} takes at most {holder_max} characters.",
                                "LENGTH"))
    brand = expiry = routing = None
    if kind == "CARD":
        number = accounts.digits(form.get("cardNumber"))
        brand, expiry, card_problems = accounts.check_card(number, form.get("expiry"), clock.now().date())
        problems += card_problems
        postal = (form.get("postalCode") or "").strip()
        if not postal:
            problems.append(Problem("postalCode", "Enter the card's ZIP or postal code.", "REQUIRED"))
        elif not matches(rt, "anyPostalCode", postal):
            problems.append(Problem("postalCode", "Enter the card's ZIP or postal code.", "INVALID_POSTAL_CODE"))
        billing: dict | None = {"postalCode": postal}
    else:
        number = accounts.digits(form.get("accountNumber"))
        routing = accounts.digits(form.get("routingNumber"))
        problems += accounts.check_bank(routing, number)
        billing = None
        if needs_billing_address(rt, workflow):
            problems += profile_problems(rt, form, ["street", "city", "state", "postalCode", "country"])
            billing = address_from(form)
    if not problems:
        reason = rail_refusal(rt, workflow, AccountDetails(kind=kind, subtype=subtype, number=number,
                                                           holder_name=holder, brand=brand, expiry=expiry,
                                                           routing_number=routing, billing_address=billing,
                                                           last4=number[-4:]))
        if reason:
            problems.append(Problem("cardNumber" if kind == "CARD" else "accountNumber", reason,
                                    "ACCOUNT_NOT_PAYABLE"))
        elif kind == "CARD" and subtype in accounts.NOT_CREDIT \
                and accounts.card_funding(rt.plugins, number) == "CREDIT":
            # the subtype asked for (DEBIT) is not what the card is, whether or not a rail would say so
            problems.append(Problem("cardNumber", f"This is a credit card: add a {subtype.lower()} card.",
                                    accounts.NOT_CREDIT[subtype]))
    if problems:
        raise RuleViolation("Some fields need attention.", problems)
    customer = existing_customer(rt, workflow)
    if customer is None:
        raise Conflict("There is no customer for this account yet.", "NO_CUSTOMER")
    fingerprint = rt.vault.fingerprint(number)
    same = ((CustomerFinancialAccount.customer == customer.id) & (CustomerFinancialAccount.subtype == subtype))
    account = (CustomerFinancialAccount.select()
               .where(same & (CustomerFinancialAccount.fingerprint == fingerprint)).first())
    created = False
    if account is None:
        sealed = rt.vault.seal(number)
        try:
            with db.atomic():
                account = CustomerFinancialAccount.create(
                    business=workflow.business_id, customer=customer.id, type=kind, subtype=subtype,
                    state="ACTIVE", holder_name=holder, sealed_number=sealed.sealed, last4=sealed.last4,
                    masked_number=sealed.masked, fingerprint=sealed.fingerprint, brand=brand, expiry=expiry,
                    routing_number=routing, currency=workflow.currency or "USD", billing_address=billing,
                    created_at=clock.now())
            created = True
        except peewee.IntegrityError:  # the same number, added at the same moment elsewhere
            account = CustomerFinancialAccount.select().where(
                same & (CustomerFinancialAccount.fingerprint == sealed.fingerprint)).first()
    if created:
        events.record(rt, workflow.business_id, "financial-account.state-updated", account.id, {
            "financialAccountId": str(account.id), "customerId": str(customer.id), "previousState": None,
            "state": "ACTIVE", "type": kind, "subtype": subtype, "maskedNumber": account.masked_number,
            "workflowId": str(workflow.id)})
    return account


def rail_refusal(rt: Runtime, workflow: Workflow, details: AccountDetails) -> str | None:
    """Why the workflow's rail cannot pay this account, or None."""
    name = (workflow.parameters or {}).get("solution")
    if not name:
        return None
    solution = rt.solution(name)
    return solution.can_pay(details) if solution is not None else None


def named_account(workflow: Workflow) -> CustomerFinancialAccount | None:
    """The account the business named (``customerFinancialAccountId``), if it is the business's."""
    account_id = (workflow.parameters or {}).get("customerFinancialAccountId")
    if not account_id:
        return None
    try:
        key = uuid.UUID(str(account_id))
    except ValueError:
        return None
    return CustomerFinancialAccount.get_or_none((CustomerFinancialAccount.id == key)
                                                & (CustomerFinancialAccount.business == workflow.business_id))


def use_named_account(workflow: Workflow) -> CustomerFinancialAccount:
    """The business's named account for the payment, if it can still be used."""
    account = named_account(workflow)
    if account is None or account.state != "ACTIVE":
        raise Conflict("That account cannot be used any more.", "ACCOUNT_NOT_ACTIVE")
    return account


def workflow_account(workflow: Workflow) -> CustomerFinancialAccount | None:
    """The account the workflow will move money with, once chosen."""
    if not workflow.customer_account_id:
        return None
    return CustomerFinancialAccount.get_or_none(CustomerFinancialAccount.id == workflow.customer_account_id)


__all__ = ["profile_problems", "address_from", "existing_customer", "create_customer", "account_subtypes",
           "needs_billing_address", "add_account", "rail_refusal", "named_account", "use_named_account",
           "workflow_account", "max_length", "matches", "countries", "ADDRESS_PARTS", "date_of_birth", "state_codes"]
