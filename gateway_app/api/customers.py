"""``/v2/customers`` and ``/v2/financial-accounts``: the business's customers and their accounts (masked),
and erasing a customer's personal data."""
from flask import Blueprint, current_app, g, request
from marshmallow import fields

from linx_core.errors import InvalidRequest, Problem
from linx_core.services import directory, erasure
from linx_core.text import CONTROL_PATTERN

from .auth import idempotent, require_business
from .paging import query_int, sort_pattern
from .render import render
from .schemas import Out, PageOut, Timestamp

bp = Blueprint("customers", __name__)
bp.before_request(require_business)

LIST_QUERY = ("search", "status", "page", "size", "sort")


@bp.get("/customers")
def index():
    rt = current_app.extensions["linx"]
    args = request.args
    problems = [Problem(f"query.{k}", "Unknown query parameter.", "UNKNOWN_FIELD") for k in args if k not in LIST_QUERY]
    page = query_int(args, "page", 1, problems)
    size = query_int(args, "size", 20, problems)
    if problems:
        raise InvalidRequest("The query is not valid.", problems)
    result = directory.list_customers(rt, g.business, search=args.get("search"), status=args.get("status"),
                                      page=page, size=size, sort=args.get("sort"))
    return render(CustomerPageOut, result)


@bp.get("/customers/<customer_id>")
def show(customer_id):
    return render(CustomerOut, directory.get_customer(g.business, customer_id))


@bp.get("/customers/<customer_id>/financial-accounts")
def accounts(customer_id):
    return render(FinancialAccountListOut, {"content": directory.accounts_of(g.business, customer_id)})


@bp.get("/financial-accounts/<account_id>")
def account(account_id):
    return render(FinancialAccountOut, directory.get_account(g.business, account_id))


@bp.post("/customers/<customer_id>/erase")
@idempotent
def erase(customer_id):
    rt = current_app.extensions["linx"]
    return render(CustomerOut, erasure.erase_customer(rt, g.business, customer_id))


class Blanked(fields.String):
    """A text column that erasure leaves empty: shown as null."""

    def _serialize(self, value, attr, obj, **kwargs):
        return value or None


class AddressOut(Out):
    type = fields.String(metadata={"description": "PHYSICAL, MAILING, SHIPPING..."})
    street = fields.String(allow_none=True)
    city = fields.String(allow_none=True)
    state = fields.String(allow_none=True)
    postalCode = fields.String(allow_none=True)
    country = fields.String(allow_none=True, metadata={"description": "ISO 3166-1 alpha-3."})


class CustomerOut(Out):
    id = fields.UUID()
    status = fields.String(metadata={"enum": list(directory.STATUSES),
                                     "description": "ERASED: the personal data is gone (erasedAt says when)."})
    firstName = Blanked(attribute="first_name", allow_none=True)
    lastName = Blanked(attribute="last_name", allow_none=True)
    phoneNumber = fields.String(attribute="phone_number", allow_none=True)
    email = fields.String(allow_none=True)
    dateOfBirth = fields.Date(attribute="date_of_birth", allow_none=True)
    addresses = fields.List(fields.Nested(AddressOut))
    createdAt = Timestamp(attribute="created_at")
    erasedAt = Timestamp(attribute="erased_at", allow_none=True)


class FinancialAccountOut(Out):
    id = fields.UUID()
    customerId = fields.UUID(attribute="customer_id")
    type = fields.String(metadata={"enum": ["CARD", "BANK"]})
    subtype = fields.String(metadata={"description": "DEBIT, PREPAID, CREDIT (cards); CHECKING, SAVING (bank)."})
    status = fields.String(attribute="state", metadata={
        "description": "ACTIVE; ERASED once its customer's data was erased (it can no longer be used)."})
    maskedNumber = fields.String(attribute="masked_number", metadata={"description": "All but the last four digits "
                                                                                     "hidden; never the number."})
    last4 = fields.String()
    brand = fields.String(allow_none=True, metadata={"description": "A card's network: VISA, MASTERCARD, AMEX, "
                                                                    "DISCOVER (null for a bank account)."})
    holderName = Blanked(attribute="holder_name", allow_none=True)
    expiry = fields.String(allow_none=True, metadata={"description": "A card's expiry, yyyy-MM."})
    routingNumber = fields.String(attribute="routing_number", allow_none=True)
    bankName = fields.String(attribute="bank_name", allow_none=True)
    currency = fields.String()
    createdAt = Timestamp(attribute="created_at")


class CustomerPageOut(PageOut):
    content = fields.List(fields.Nested(CustomerOut), attribute="items")


class FinancialAccountListOut(Out):
    content = fields.List(fields.Nested(FinancialAccountOut), metadata={"description": "Oldest first."})


def add_paths(spec, errors, page_size_max):
    """Document ``/v2/customers`` and ``/v2/financial-accounts`` on ``spec`` (an apispec ``APISpec``)."""
    for name, schema in (("Customer", CustomerOut), ("CustomerPage", CustomerPageOut),
                         ("FinancialAccount", FinancialAccountOut), ("FinancialAccountList", FinancialAccountListOut)):
        if name not in spec.components.schemas:
            spec.components.schema(name, schema=schema)
    secured = {"security": [{"bearer": []}]}
    customer = {"name": "customerId", "in": "path", "required": True, "schema": {"type": "string", "format": "uuid"}}
    account_id = {"name": "financialAccountId", "in": "path", "required": True,
                  "schema": {"type": "string", "format": "uuid"}}
    idem = {"name": "Idempotency-Key", "in": "header", "required": False, "schema": {"type": "string"},
            "description": "Repeat a request safely: the same key and body replay the first success."}

    def ok(description, schema):
        return {"200": {"description": description, "content": {"application/json": {"schema": schema}}}}

    spec.path(path="/v2/customers", operations={"get": {
        "summary": "Search customers", **secured,
        "parameters": [
            {"name": "search", "in": "query", "schema": {"type": "string", "maxLength": directory.SEARCH_MAX,
                                                         "pattern": CONTROL_PATTERN},
             "description": "Matches the id, the first, last or full name, the phone number or the email "
                            "(case-insensitive, any part)."},
            {"name": "status", "in": "query", "schema": {"type": "string", "enum": list(directory.STATUSES)}},
            {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "default": 1}},
            {"name": "size", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": page_size_max,
                                                       "default": 20}},
            {"name": "sort", "in": "query", "schema": {"type": "string", "default": "createdAt,desc",
                                                       "pattern": sort_pattern(directory.SORTS)},
             "description": f"FIELD[,asc|desc]; FIELD is {', '.join(directory.SORTS)}; the direction defaults to asc."},
        ],
        "responses": {**ok("One page, newest first by default.", "CustomerPage"), **errors(400, 401)},
    }})
    spec.path(path="/v2/customers/{customerId}", operations={"get": {
        "summary": "Get a customer", **secured, "parameters": [customer],
        "responses": {**ok("The customer.", "Customer"), **errors(401, 404)},
    }})
    spec.path(path="/v2/customers/{customerId}/financial-accounts", operations={"get": {
        "summary": "A customer's financial accounts", **secured, "parameters": [customer],
        "description": "Cards and bank accounts, masked: type, subtype, network, status. Never a full number.",
        "responses": {**ok("The accounts, oldest first.", "FinancialAccountList"), **errors(401, 404)},
    }})
    spec.path(path="/v2/customers/{customerId}/erase", operations={"post": {
        "summary": "Erase a customer's personal data", **secured, "parameters": [customer, idem],
        "description": "Cancels the customer's open workflows (with their events), then removes the names, "
                       "phone, email, addresses and date of birth, and destroys the sealed account numbers; "
                       "amounts, dates and masked numbers stay. A `customer.erased` event records it. Erasing "
                       "again changes nothing. 409 `CUSTOMER_PAYMENT_IN_FLIGHT` while a payment is at its rail.",
        "responses": {**ok("The erased customer.", "Customer"), **errors(401, 404, 409)},
    }})
    spec.path(path="/v2/financial-accounts/{financialAccountId}", operations={"get": {
        "summary": "Get a customer's financial account", **secured, "parameters": [account_id],
        "responses": {**ok("The account, masked.", "FinancialAccount"), **errors(401, 404)},
    }})
