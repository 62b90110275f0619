"""What the customer does through the Gateway: open the link, give the passcode, complete each step,
decline, confirm. The Gateway's pages call these and hold no rule of their own.

Every step function takes the step's ``position`` as the form knew it: a post for a step that is not
the current one (a replayed form, the back button, a double click) is refused with
:class:`StepNotCurrent` and changes nothing. Each runs in one transaction with the workflow read
under its version (and a row lock on PostgreSQL), so two concurrent posts cannot both win.
"""
import datetime as dt
import re
import uuid

import peewee
from dataclasses import dataclass
from typing import Optional

from .. import accounts, clock, events
from ..errors import Conflict, LinxError, Problem, RuleViolation
from ..payments import AccountDetails
from ..secrets import passcode_matches, token_hash
from ..store import db
from ..store.models import (Business, Customer, CustomerFinancialAccount, DocumentAcceptance, Link, Workflow,
                            WorkflowStep)
from ..lifecycle import save_status
from . import transactions
from .flow import complete_step, locked as _locked, move as _move, move_step, revoke_links as _revoke_links, steps_of

NAME_MAX = 40
POSTAL = {"USA": r"\d{5}(-\d{4})?", "CAN": r"[A-Za-z]\d[A-Za-z] ?\d[A-Za-z]\d"}
COUNTRIES = ("USA", "CAN")


class Unavailable(LinxError):
    """The link leads nowhere usable: ``reason`` is UNKNOWN, EXPIRED, CANCELLED, LOCKED, COMPLETED, DECLINED,
    FAILED or ARCHIVED. The Gateway shows UNKNOWN exactly like EXPIRED, so tokens cannot be probed."""

    STATUS = {"UNKNOWN": 404, "EXPIRED": 410, "CANCELLED": 410, "LOCKED": 423, "ARCHIVED": 410}

    def __init__(self, reason, workflow=None):
        super().__init__(f"This link is {reason.lower()}.", f"LINK_{reason}", self.STATUS.get(reason, 409))
        self.reason = reason
        self.workflow = workflow


class StepNotCurrent(Conflict):
    def __init__(self):
        super().__init__("That step is not the current one.", "STEP_NOT_CURRENT")


@dataclass
class PasscodeResult:
    ok: bool
    attempts_left: int
    locked: bool = False


def open_link(rt, token):
    """The workflow behind ``token``, or :class:`Unavailable`. A finished workflow is returned (its summary)."""
    if not token or len(token) > 100:
        raise Unavailable("UNKNOWN")
    link = Link.get_or_none(Link.token_hash == token_hash(token))
    if link is None:
        raise Unavailable("UNKNOWN")
    workflow = Workflow.get_by_id(link.workflow_id)
    reason = availability(workflow)
    if reason in ("EXPIRED", "CANCELLED", "ARCHIVED") or (link.revoked_at is not None and reason is None):
        raise Unavailable(reason or "EXPIRED", workflow)
    return workflow


def availability(workflow):
    """None while the customer can act; else why not (LOCKED, EXPIRED, or the ended status)."""
    if workflow.status in ("CREATED", "ACTIVE"):
        if clock.now() >= workflow.expire_at and not confirmed(workflow):
            return "EXPIRED"
        if workflow.locked_at is not None:
            return "LOCKED"
        return None
    return workflow.status


def confirmed(workflow):
    """Whether the workflow's payment was confirmed (its transaction exists)."""
    from ..store.models import Transaction

    return Transaction.select().where(Transaction.workflow == workflow.id).exists()


def check_passcode(rt, workflow_id, passcode):
    """Compare in constant time; count failures; lock (with an event) at the limit."""
    limit = rt.rules.workflow["passcode"]["maxAttempts"]
    with db.atomic():
        workflow = _locked(workflow_id)
        if workflow.locked_at is not None:
            return PasscodeResult(False, 0, locked=True)
        if workflow.passcode_hash is None or passcode_matches(rt.settings.secret_key, workflow.id,
                                                              (passcode or "").strip()[:32], workflow.passcode_hash):
            if workflow.passcode_attempts:
                save_status(workflow, workflow.status, passcode_attempts=0)
            return PasscodeResult(True, limit)
        attempts = workflow.passcode_attempts + 1
        locked = attempts >= limit
        save_status(workflow, workflow.status, passcode_attempts=attempts,
                    locked_at=clock.now() if locked else None)
        if locked:
            events.record(rt, workflow.business_id, "linx.workflow-locked", workflow.id, {
                "workflowId": str(workflow.id), "attempts": attempts, "status": workflow.status})
        return PasscodeResult(False, max(limit - attempts, 0), locked=locked)


def _current(workflow_id, position, name=None):
    """The workflow (locked) and its steps, if ``position`` is its current step and it can still act."""
    workflow = _locked(workflow_id)
    reason = availability(workflow)
    if reason is not None:
        raise Unavailable(reason, workflow)
    steps = steps_of(workflow)
    if position != workflow.current_step or position >= len(steps) or steps[position].status != "ACTIVE":
        raise StepNotCurrent()
    if name is not None and steps[position].name not in (name if isinstance(name, tuple) else (name,)):
        raise StepNotCurrent()
    return workflow, steps


def _step_data(step, **data):
    merged = dict(step.data or {}, **data)
    WorkflowStep.update(data=merged).where(WorkflowStep.id == step.id).execute()
    step.data = merged


# -- customer-account, lookup-profile, enhance-profile ---------------------------------------------

def profile_problems(rt, form, required):
    """Problems with a profile form (first and last name, email, date of birth, address)."""
    problems = []
    for field in required:
        if not (form.get(field) or "").strip():
            problems.append(Problem(field, "This field is required.", "REQUIRED"))
    for field in ("firstName", "lastName"):
        value = (form.get(field) or "").strip()
        if value and len(value) > NAME_MAX:
            problems.append(Problem(field, f"At most {NAME_MAX} characters.", "LENGTH"))
    email = (form.get("email") or "").strip()
    if email and not re.fullmatch(r"[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}", email) or len(email) > 254:
        problems.append(Problem("email", "Enter an email address like name@example.com.", "INVALID_EMAIL"))
    dob = (form.get("dateOfBirth") or "").strip()
    if dob:
        try:
            born = dt.date.fromisoformat(dob)
            if not dt.date(1900, 1, 1) <= born <= clock.now().date():
                raise ValueError
        except ValueError:
            problems.append(Problem("dateOfBirth", "Enter a real date of birth (YYYY-MM-DD).", "INVALID_DATE"))
    country = (form.get("country") or "").strip().upper()
    if country and country not in COUNTRIES:
        problems.append(Problem("country", "Choose the United States or Canada.", "NOT_ALLOWED"))
    postal = (form.get("postalCode") or "").strip()
    if postal and country in POSTAL and not re.fullmatch(POSTAL[country], postal):
        problems.append(Problem("postalCode", "Enter a valid ZIP or postal code.", "INVALID_POSTAL_CODE"))
    state = (form.get("state") or "").strip()
    if state and not re.fullmatch(r"[A-Za-z]{2}", state):
        problems.append(Problem("state", "Enter the two-letter state or province code.", "INVALID_STATE"))
    for field in ("street", "city"):
        if len((form.get(field) or "").strip()) > 120:
            problems.append(Problem(field, "At most 120 characters.", "LENGTH"))
    return problems


def existing_customer(workflow):
    """The business's customer with the workflow's phone number (or the lookup's customer), if any."""
    if workflow.customer_id:
        return Customer.get_by_id(workflow.customer_id)
    if workflow.phone_number:
        return (Customer.select().where((Customer.business == workflow.business_id)
                                        & (Customer.phone_number == workflow.phone_number))
                .order_by(Customer.created_at).first())
    return None


def create_customer(rt, workflow_id, position, form):
    """customer-account: create the customer, or use the business's customer with this phone number."""
    with db.atomic():
        workflow, steps = _current(workflow_id, position, "customer-account")
        customer = existing_customer(workflow)
        if customer is None:
            required = rt.rules.steps["customer-account"].get("form", {}).get("required", ["firstName", "lastName"])
            problems = profile_problems(rt, form, required)
            if problems:
                raise RuleViolation("Some fields need attention.", problems)
            address = _address(form)
            try:
                with db.atomic():
                    customer = Customer.create(
                        business=workflow.business_id, status="ACTIVE", first_name=form["firstName"].strip(),
                        last_name=form["lastName"].strip(), phone_number=workflow.phone_number,
                        email=(form.get("email") or workflow.email or "").strip() or None,
                        date_of_birth=(dt.date.fromisoformat(form["dateOfBirth"]) if form.get("dateOfBirth")
                                       else None),
                        addresses=[address] if address else [], created_at=clock.now())
                created = True
            except peewee.IntegrityError:  # another workflow for this phone made the customer just now
                customer, created = existing_customer(workflow), False
            if created:
                events.record(rt, workflow.business_id, "customer.status-updated", customer.id, {
                    "customerId": str(customer.id), "previousStatus": None, "status": "ACTIVE",
                    "workflowId": str(workflow.id)})
        else:
            created = False
        save_status(workflow, workflow.status, customer=customer.id)
        _step_data(steps[position], customerId=str(customer.id), existing=not created)
        complete_step(rt, workflow, steps, position)
    return customer


def _address(form):
    if not any((form.get(k) or "").strip() for k in ("street", "city", "state", "postalCode")):
        return None
    return {"type": "PHYSICAL", "street": (form.get("street") or "").strip(), "city": (form.get("city") or "").strip(),
            "state": (form.get("state") or "").strip().upper(), "postalCode": (form.get("postalCode") or "").strip(),
            "country": (form.get("country") or "USA").strip().upper()}


def confirm_profile(rt, workflow_id, position):
    """lookup-profile: the customer recognised themselves."""
    with db.atomic():
        workflow, steps = _current(workflow_id, position, "lookup-profile")
        _step_data(steps[position], customerId=str(workflow.customer_id))
        complete_step(rt, workflow, steps, position)


def enhance_profile(rt, workflow_id, position, form):
    """enhance-profile: the fields the step's ``profileFields`` name."""
    wanted = None
    with db.atomic():
        workflow, steps = _current(workflow_id, position, "enhance-profile")
        wanted = workflow.parameters.get("profileFields", [])
        customer = existing_customer(workflow)
        problems = []
        for field in wanted:
            if field.endswith("Address"):
                for part in ("street", "city", "state", "postalCode"):
                    if not (form.get(f"{field}.{part}") or "").strip():
                        problems.append(Problem(f"{field}.{part}", "This field is required.", "REQUIRED"))
            elif not (form.get(field) or "").strip():
                problems.append(Problem(field, "This field is required.", "REQUIRED"))
        if "dateOfBirth" in wanted:
            problems += [p for p in profile_problems(rt, {"dateOfBirth": form.get("dateOfBirth")}, [])]
        if problems:
            raise RuleViolation("Some fields need attention.", problems)
        addresses = list(customer.addresses or [])
        extra = {}
        for field in wanted:
            if field.endswith("Address"):
                addresses.append({"type": field.removesuffix("Address").upper(), **{
                    part: (form.get(f"{field}.{part}") or "").strip() for part in ("street", "city", "state",
                                                                                  "postalCode")}})
            elif field == "dateOfBirth":
                customer.date_of_birth = dt.date.fromisoformat(form["dateOfBirth"])
            else:
                extra[field] = (form.get(field) or "").strip()[:120]
        customer.addresses = addresses
        customer.save()
        _step_data(steps[position], fields=sorted(wanted), **extra)
        complete_step(rt, workflow, steps, position)


# -- financial-account, lookup-financial-account ---------------------------------------------------

def account_subtypes(rt, workflow):
    """The subtypes the customer may add: the one the business named, else those the solution takes."""
    params = workflow.parameters
    if params.get("financialAccountSubType"):
        return [params["financialAccountSubType"]]
    solution = rt.rules.solutions.get(params.get("solution"))
    if solution:
        return list(solution["financialAccountSubTypes"])
    return list(rt.rules.catalog["financialAccountSubTypes"])


def needs_billing_address(rt, workflow):
    solution = rt.rules.solutions.get(workflow.parameters.get("solution"))
    return bool(solution and solution.get("billingAddress") == "required")


def add_account(rt, workflow_id, position, form):
    """financial-account (or "add a different account" on lookup-financial-account): check, seal, keep.

    The number is checked (Luhn, ABA check digit, expiry), the rail is asked whether it can pay the
    account, and a number the customer already has is reused, not duplicated. Returns the account.
    """
    with db.atomic():
        workflow, steps = _current(workflow_id, position, ("financial-account", "lookup-financial-account"))
        allowed = account_subtypes(rt, workflow)
        subtype = (form.get("subtype") or (allowed[0] if len(allowed) == 1 else "")).strip().upper()
        problems = []
        if subtype not in allowed:
            problems.append(Problem("subtype", f"Choose one of: {', '.join(allowed)}.", "NOT_ALLOWED"))
            raise RuleViolation("Some fields need attention.", problems)
        kind = rt.rules.account_kind(subtype)
        holder = (form.get("holderName") or "").strip()
        if not holder or len(holder) > 120:
            problems.append(Problem("holderName", "Enter the name on the account (up to 120 characters).", "REQUIRED"))
        brand = expiry = routing = None
        if kind == "CARD":
            number = accounts.digits(form.get("cardNumber"))
            brand, expiry, card_problems = accounts.check_card(number, form.get("expiry"), clock.now().date())
            problems += card_problems
            postal = (form.get("postalCode") or "").strip()
            if not re.fullmatch(r"[A-Za-z0-9 -]{3,10}", postal):
                problems.append(Problem("postalCode", "Enter the card's ZIP or postal code.", "INVALID_POSTAL_CODE"))
            billing = {"postalCode": postal}
        else:
            number = accounts.digits(form.get("accountNumber"))
            routing = accounts.digits(form.get("routingNumber"))
            problems += accounts.check_bank(routing, number)
            billing = None
            if needs_billing_address(rt, workflow):
                problems += profile_problems(rt, form, ["street", "city", "state", "postalCode", "country"])
                billing = _address(form)
        if not problems:
            reason = _rail_refusal(rt, workflow, AccountDetails(kind=kind, subtype=subtype, number=number,
                                                               holder_name=holder, brand=brand, expiry=expiry,
                                                               routing_number=routing, billing_address=billing,
                                                               last4=number[-4:]))
            if reason:
                problems.append(Problem("cardNumber" if kind == "CARD" else "accountNumber", reason,
                                        "ACCOUNT_NOT_PAYABLE"))
        if problems:
            raise RuleViolation("Some fields need attention.", problems)
        customer = existing_customer(workflow)
        if customer is None:
            raise Conflict("There is no customer for this account yet.", "NO_CUSTOMER")
        fingerprint = rt.vault.fingerprint(number)
        account = (CustomerFinancialAccount.select()
                   .where((CustomerFinancialAccount.customer == customer.id)
                          & (CustomerFinancialAccount.fingerprint == fingerprint)
                          & (CustomerFinancialAccount.subtype == subtype)).first())
        created = False
        if account is None:
            sealed = rt.vault.seal(number)
            currency = workflow.currency or "USD"
            try:
                with db.atomic():
                    account = CustomerFinancialAccount.create(
                        business=workflow.business_id, customer=customer.id, type=kind, subtype=subtype,
                        state="ACTIVE", holder_name=holder, sealed_number=sealed.sealed, last4=sealed.last4,
                        masked_number=sealed.masked, fingerprint=sealed.fingerprint, brand=brand, expiry=expiry,
                        routing_number=routing, currency=currency, billing_address=billing, created_at=clock.now())
                created = True
            except peewee.IntegrityError:  # the same number, added at the same moment elsewhere
                account = (CustomerFinancialAccount.select()
                           .where((CustomerFinancialAccount.customer == customer.id)
                                  & (CustomerFinancialAccount.fingerprint == sealed.fingerprint)
                                  & (CustomerFinancialAccount.subtype == subtype)).first())
        if created:
            events.record(rt, workflow.business_id, "financial-account.state-updated", account.id, {
                "financialAccountId": str(account.id), "customerId": str(customer.id), "previousState": None,
                "state": "ACTIVE", "type": kind, "subtype": subtype, "maskedNumber": account.masked_number,
                "workflowId": str(workflow.id)})
        save_status(workflow, workflow.status, customer=customer.id, customer_account=account.id)
        _step_data(steps[position], customerFinancialAccountId=str(account.id))
        complete_step(rt, workflow, steps, position)
    return account


def _rail_refusal(rt, workflow, details):
    name = workflow.parameters.get("solution")
    if not name:
        return None
    solution = rt.solution(name)
    return solution.can_pay(details) if solution is not None else None


def use_account(rt, workflow_id, position):
    """lookup-financial-account: the customer chose the account the business named."""
    with db.atomic():
        workflow, steps = _current(workflow_id, position, "lookup-financial-account")
        account_id = workflow.parameters["customerFinancialAccountId"]
        account = CustomerFinancialAccount.get_or_none(
            (CustomerFinancialAccount.id == uuid.UUID(account_id))
            & (CustomerFinancialAccount.business == workflow.business_id))
        if account is None or account.state != "ACTIVE":
            raise Conflict("That account cannot be used any more.", "ACCOUNT_NOT_ACTIVE")
        save_status(workflow, workflow.status, customer_account=account.id)
        _step_data(steps[position], customerFinancialAccountId=account_id)
        complete_step(rt, workflow, steps, position)
    return account


# -- document-acceptance ---------------------------------------------------------------------------

def accept_documents(rt, workflow_id, position, accepted):
    """document-acceptance: every listed document must be accepted; each acceptance keeps version and time."""
    with db.atomic():
        workflow, steps = _current(workflow_id, position, "document-acceptance")
        wanted = [d["documentId"] for d in workflow.parameters.get("documents", [])]
        missing = [d for d in wanted if d not in set(accepted)]
        if missing:
            raise RuleViolation("Accept each document to continue.", [
                Problem(f"accept-{d}", f"Accept {rt.rules.catalog['documents'][d]['title']} to continue.",
                        "NOT_ACCEPTED") for d in missing])
        now = clock.now()
        for doc_id in wanted:
            doc = rt.rules.catalog["documents"][doc_id]
            DocumentAcceptance.create(workflow=workflow.id, business=workflow.business_id,
                                      customer=workflow.customer_id, document_id=doc_id,
                                      document_version=doc["version"], title=doc["title"], accepted_at=now)
        _step_data(steps[position], accepted=[{"documentId": d, "version": rt.rules.catalog["documents"][d]["version"],
                                               "acceptedAt": now.isoformat()} for d in wanted])
        complete_step(rt, workflow, steps, position)


# -- move-money, decline ---------------------------------------------------------------------------

def confirm(rt, workflow_id, position):
    """move-money: create the transaction (once) and queue its submission."""
    with db.atomic():
        workflow, steps = _current(workflow_id, position, "move-money")
        if confirmed(workflow):
            raise Conflict("This payment is confirmed already.", "ALREADY_CONFIRMED")
        if workflow.customer_account_id is None or workflow.customer_id is None:
            raise Conflict("No account was chosen for this payment.", "NO_ACCOUNT")
        tx = transactions.create_for_workflow(rt, workflow)
        _step_data(steps[position], transactionId=str(tx.id))
        save_status(workflow, workflow.status, updated_at=clock.now())
    return tx


def decline(rt, workflow_id, reason):
    """The customer says no, with a reason from the rules' ``declineReasons``."""
    reasons = rt.rules.catalog.get("declineReasons", {})
    if reason not in reasons:
        raise RuleViolation("Choose a reason.", [Problem("reason", f"Choose one of: {', '.join(reasons)}.",
                                                         "NOT_ALLOWED")])
    with db.atomic():
        workflow = _locked(workflow_id)
        why = availability(workflow)
        if why is not None:
            raise Unavailable(why, workflow)
        if confirmed(workflow):
            raise Conflict("This payment is confirmed already.", "ALREADY_CONFIRMED")
        steps = steps_of(workflow)
        if workflow.current_step < len(steps) and steps[workflow.current_step].status in ("CREATED", "ACTIVE"):
            move_step(rt, workflow, steps[workflow.current_step], "decline")
        _move(rt, workflow, "decline", decline_reason=reason, next_notification_at=None)
        _revoke_links(workflow)
    return workflow


def business_of(workflow):
    return Business.get_by_id(workflow.business_id)


__all__ = ["Unavailable", "StepNotCurrent", "open_link", "availability", "confirmed", "check_passcode",
           "create_customer",
           "confirm_profile", "enhance_profile", "add_account", "use_account", "accept_documents", "confirm",
           "decline", "account_subtypes", "needs_billing_address", "existing_customer", "Optional"]
