"""The business's customers and their financial accounts, as the API reads them (``/v2/customers``).

Every read is scoped to one business: another business's ids look exactly like ids that do not exist.
Accounts are read with their masked number only; the sealed number never leaves the vault here.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import peewee

from ..errors import InvalidRequest, NotFound, Problem
from ..ids import as_uuid
from ..store.models import Business, Customer, CustomerFinancialAccount
from ..text import has_controls
from .paging import Page, check_paging, sort_order

if TYPE_CHECKING:  # pragma: no cover
    from ..runtime import Runtime

STATUSES = ("ACTIVE", "ERASED")
SORTS = {
    "createdAt": Customer.created_at,
    "lastName": Customer.last_name,
    "firstName": Customer.first_name,
}
SEARCH_MAX = 200


def get_customer(business: Business, customer_id: object) -> Customer:
    """The business's customer, or :class:`NotFound` (for another business's too)."""
    cid = as_uuid(customer_id)
    customer = None if cid is None else Customer.get_or_none((Customer.id == cid) & (Customer.business == business))
    if customer is None:
        raise NotFound("No such customer.", "CUSTOMER_NOT_FOUND")
    return customer


def get_account(business: Business, account_id: object) -> CustomerFinancialAccount:
    """One of the business's customers' financial accounts, or :class:`NotFound`."""
    aid = as_uuid(account_id)
    account = None if aid is None else CustomerFinancialAccount.get_or_none(
        (CustomerFinancialAccount.id == aid) & (CustomerFinancialAccount.business == business))
    if account is None:
        raise NotFound("No such financial account.", "FINANCIAL_ACCOUNT_NOT_FOUND")
    return account


def accounts_of(business: Business, customer_id: object) -> list[CustomerFinancialAccount]:
    """The customer's financial accounts, oldest first (:class:`NotFound` for a customer not the business's)."""
    customer = get_customer(business, customer_id)
    return list(CustomerFinancialAccount.select().where(
        (CustomerFinancialAccount.customer == customer.id) & (CustomerFinancialAccount.business == business))
        .order_by(CustomerFinancialAccount.created_at, CustomerFinancialAccount.id))


def list_customers(rt: Runtime, business: Business, search: str | None = None, status: str | None = None,
                   page: int = 1, size: int = 20, sort: str | None = None) -> Page:
    """One page of the business's customers, newest first unless ``sort`` says otherwise.

    ``search`` matches the id, the first, last or full name, the phone number or the email (case-insensitive).
    """
    problems = check_paging(rt, page, size)
    if status is not None and status not in STATUSES:
        problems.append(Problem("query.status", f"Must be one of {', '.join(STATUSES)}.", "NOT_ALLOWED"))
    order = sort_order(sort, SORTS, "createdAt,desc", problems)
    if search is not None and len(search) > SEARCH_MAX:
        problems.append(Problem("query.search", f"Must be at most {SEARCH_MAX} characters.", "LENGTH"))
    if search is not None and has_controls(search):
        problems.append(Problem("query.search", "Must not contain control characters (line breaks, tabs, escapes, "
                                "NUL) or direction overrides.", "CONTROL_CHARACTER"))
    if problems:
        raise InvalidRequest("The query is not valid.", problems)
    query = Customer.select().where(Customer.business == business)
    if status:
        query = query.where(Customer.status == status)
    if search and search.strip():
        query = query.where(_search(search.strip()))
    total = query.count()
    items = list(query.order_by(order, Customer.id.desc()).paginate(page, size))
    return Page(items, page, size, total)


def _search(term: str) -> peewee.Expression:
    full_name = Customer.first_name.concat(" ").concat(Customer.last_name)
    clause = (full_name.contains(term) | Customer.phone_number.contains(term) | Customer.email.contains(term))
    found = as_uuid(term)
    return clause | (Customer.id == found) if found is not None else clause


__all__ = ["get_customer", "get_account", "accounts_of", "list_customers", "STATUSES", "SORTS"]
