"""Whom an existing customer's data may be shown to, and which of their saved accounts a move can use.

Checked when a workflow is created (so a refusal comes before the customer is ever asked) and again on the
Gateway's confirm page, where an existing customer picks one of their saved accounts:

- :func:`contact_problems`: a workflow that names a customer (``customerId``) goes only to that customer's own
  phone number and email address, so their name and accounts are never shown to someone else's;
- :func:`account_problems` (:func:`account_refusal`, the first): why the workflow's move cannot use a saved
  account (not ACTIVE, a subtype the move does not take, another currency, or the rail's own ``can_pay``
  refusal), the one rule at create and on the Gateway;
- :func:`saved_accounts`: the customer's accounts the move can use, for the confirm page;
- :func:`choose`: the account the customer picked there, checked again inside the confirm's transaction.
"""
from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..errors import Problem, RuleViolation
from ..payments import AccountDetails
from ..store.models import Customer, CustomerFinancialAccount, Workflow

if TYPE_CHECKING:  # pragma: no cover
    from ..runtime import Runtime


def contact_problems(customer: Customer, params: Mapping[str, Any]) -> list[Problem]:
    """The workflow's contacts that are not the named customer's own (``parameters.phoneNumber``, ``.email``)."""
    out = []
    phone = params.get("phoneNumber")
    if phone is not None and phone != customer.phone_number:
        out.append(Problem("parameters.phoneNumber", "Is not the phone number of this customer (customerId): a "
                           "workflow for an existing customer goes only to their own number.", "CONTACT_MISMATCH"))
    email = params.get("email")
    if email is not None and str(email).strip().casefold() != (customer.email or "").strip().casefold():
        out.append(Problem("parameters.email", "Is not the email address of this customer (customerId): a "
                           "workflow for an existing customer goes only to their own address.", "CONTACT_MISMATCH"))
    return out


def allowed_subtypes(rt: Runtime, params: Mapping[str, Any]) -> list[str]:
    """The account subtypes the workflow may use: the one the business named, else those its solution takes."""
    if params.get("financialAccountSubType"):
        return [params["financialAccountSubType"]]
    solution = rt.rules.solutions.get(params.get("solution"))
    if solution:
        return list(solution["financialAccountSubTypes"])
    return list(rt.rules.catalog["financialAccountSubTypes"])


def details(rt: Runtime, account: CustomerFinancialAccount) -> AccountDetails:
    """The account opened from the vault, only to be handed to the rail (never kept, logged or shown)."""
    return AccountDetails(kind=account.type, subtype=account.subtype, number=rt.vault.unseal(account.sealed_number),
                          holder_name=account.holder_name, brand=account.brand, expiry=account.expiry,
                          routing_number=account.routing_number, billing_address=account.billing_address,
                          last4=account.last4)


def rail_refusal(rt: Runtime, params: Mapping[str, Any], account: CustomerFinancialAccount) -> str | None:
    """The rail's reason it cannot pay ``account`` (its ``can_pay``), or None (also without a solution)."""
    solution = rt.solution(params["solution"]) if params.get("solution") else None
    return solution.can_pay(details(rt, account)) if solution is not None else None


def account_problems(rt: Runtime, params: Mapping[str, Any], account: CustomerFinancialAccount,
                     path: str = "account") -> list[Problem]:
    """Why the workflow (its ``params``) cannot use ``account``, each at ``path`` with its code: not ACTIVE
    (``ACCOUNT_NOT_ACTIVE``), a subtype it does not take (:func:`allowed_subtypes`: ``ACCOUNT_NOT_SUITABLE``),
    another currency (``CURRENCY_MISMATCH``), else the rail's own ``can_pay`` refusal (``ACCOUNT_NOT_PAYABLE``).
    The one rule, at create (``parameters.customerFinancialAccountId``) and on the Gateway."""
    out = []
    if account.state != "ACTIVE":
        out.append(Problem(path, f"The account is {account.state}.", "ACCOUNT_NOT_ACTIVE"))
    subtypes = allowed_subtypes(rt, params)
    if account.subtype not in subtypes:
        out.append(Problem(path, f"A {account.subtype} account cannot be used here (this takes "
                           f"{', '.join(subtypes)}).", "ACCOUNT_NOT_SUITABLE"))
    if params.get("currency") and account.currency != params["currency"]:
        out.append(Problem(path, f"The account holds {account.currency}, not {params['currency']}.",
                           "CURRENCY_MISMATCH"))
    if not out:  # the rail's own word, before the customer is ever asked to confirm (a credit card for push-to-card)
        reason = rail_refusal(rt, params, account)
        if reason:
            out.append(Problem(path, reason, "ACCOUNT_NOT_PAYABLE"))
    return out


def account_refusal(rt: Runtime, params: Mapping[str, Any], account: CustomerFinancialAccount) -> Problem | None:
    """The first reason the workflow (its ``params``) cannot use ``account`` (:func:`account_problems`), or None."""
    problems = account_problems(rt, params, account)
    return problems[0] if problems else None


def reaches_customer(rt: Runtime, workflow: Workflow, customer: Customer) -> bool:
    """Whether the workflow's link went to the customer's own contact (the channel's, as the catalog names it)."""
    param = ((rt.rules.catalog.get("channels") or {}).get(workflow.channel) or {}).get("contact")
    sent_to = (workflow.parameters or {}).get(param) if param else None
    own = {"phoneNumber": customer.phone_number, "email": customer.email}.get(param or "")
    if not sent_to or not own:
        return False
    return str(sent_to).strip().casefold() == str(own).strip().casefold()


def saved_accounts(rt: Runtime, workflow: Workflow) -> list[CustomerFinancialAccount]:
    """The workflow customer's saved accounts that its move can use, the workflow's own first, then oldest first.

    Only when the link went to the customer's own phone or mailbox (always so for a workflow that names its
    customer, checked at create); otherwise (a customer recognised by a phone number while the link went to
    some email address) only the account this workflow itself chose."""
    if workflow.customer_id is None:
        return []
    params = workflow.parameters or {}
    rows = (CustomerFinancialAccount.select()
            .where((CustomerFinancialAccount.customer == workflow.customer_id)
                   & (CustomerFinancialAccount.business == workflow.business_id)
                   & (CustomerFinancialAccount.state == "ACTIVE"))
            .order_by(CustomerFinancialAccount.created_at, CustomerFinancialAccount.id))
    if not reaches_customer(rt, workflow, Customer.get_by_id(workflow.customer_id)):
        rows = rows.where(CustomerFinancialAccount.id == workflow.customer_account_id)
    usable = [a for a in rows if account_refusal(rt, params, a) is None]
    return sorted(usable, key=lambda a: a.id != workflow.customer_account_id)


def choose(rt: Runtime, workflow: Workflow, account_id: str) -> CustomerFinancialAccount:
    """The saved account the customer picked (``account``), if it is theirs and the move can use it."""
    try:
        key = uuid.UUID(str(account_id))
    except ValueError:
        key = None
    account = None if key is None or workflow.customer_id is None else CustomerFinancialAccount.get_or_none(
        (CustomerFinancialAccount.id == key) & (CustomerFinancialAccount.customer == workflow.customer_id)
        & (CustomerFinancialAccount.business == workflow.business_id))
    if account is not None and account.id != workflow.customer_account_id \
            and not reaches_customer(rt, workflow, Customer.get_by_id(workflow.customer_id)):
        account = None  # only the offered ones: see saved_accounts
    if account is None:
        raise RuleViolation("Some fields need attention.", [
            Problem("account", "Choose one of the accounts offered.", "NOT_ALLOWED")])
    refusal = account_refusal(rt, workflow.parameters or {}, account)
    if refusal is not None:
        raise RuleViolation("Some fields need attention.", [Problem("account", refusal.message, refusal.code)])
    return account


__all__ = ["contact_problems", "allowed_subtypes", "details", "rail_refusal", "account_problems", "account_refusal",
           "reaches_customer", "saved_accounts", "choose"]
