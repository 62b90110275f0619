"""``/v2/transactions``: a transaction, its status history, and cancelling one that is still PENDING."""
from decimal import Decimal

from flask import Blueprint, current_app, g, request
from marshmallow import fields

from linx_core.errors import InvalidRequest, Problem
from linx_core.services import payments, transactions

from .auth import idempotent, require_business
from .events import query_time
from .paging import query_int, query_uuid, sort_pattern
from .render import View, context, render
from .schemas import Out, PageOut, Timestamp

bp = Blueprint("transactions", __name__)
bp.before_request(require_business)

STATUSES = ["NEW", "PENDING", "PROCESSING", "APPROVED", "SETTLED", "CLEARED", "DECLINED", "CANCELLED", "ERROR",
            "REVERSED"]


def _rt():
    return current_app.extensions["linx"]


LIST_QUERY = ("workflowId", "customerId", "status", "type", "solution", "createdFrom", "createdTo", "page", "size",
              "sort")


@bp.get("/transactions")
def index():
    rt = _rt()
    args = request.args
    problems = [Problem(f"query.{k}", "Unknown query parameter.", "UNKNOWN_FIELD") for k in args if k not in LIST_QUERY]
    page = query_int(args, "page", 1, problems)
    size = query_int(args, "size", 20, problems)
    filters = transactions.Filters(
        workflow_id=query_uuid(args, "workflowId", problems), customer_id=query_uuid(args, "customerId", problems),
        status=args.get("status"), type=args.get("type"), solution=args.get("solution"),
        created_from=query_time(args, "createdFrom", problems), created_to=query_time(args, "createdTo", problems))
    if problems:
        raise InvalidRequest("The query is not valid.", problems)
    result = transactions.list_transactions(rt, g.business, filters, page=page, size=size, sort=args.get("sort"))
    return render(TransactionPageOut, result, rules=rt.rules)




@bp.get("/transactions/<transaction_id>")
def show(transaction_id):
    tx = transactions.get_transaction(g.business, transaction_id)
    return render(TransactionOut, tx, rules=_rt().rules)


@bp.get("/transactions/<transaction_id>/status")
def status(transaction_id):
    tx = transactions.get_transaction(g.business, transaction_id)
    return render(TransactionStatusOut, View(tx, history=transactions.history(tx)))


@bp.post("/transactions/<transaction_id>/cancel")
@idempotent
def cancel(transaction_id):
    rt = _rt()
    tx = payments.cancel(rt, g.business, transaction_id)
    return render(TransactionOut, tx, rules=rt.rules)


def amount_text(rules, amount, currency):
    """The amount as a decimal string with the currency's minor units (from the rules)."""
    try:
        places = rules.decimals(currency)
    except KeyError:
        return str(amount)
    return str(Decimal(amount).quantize(Decimal(1).scaleb(-places)))


class Amount(fields.String):
    """A transaction's amount as :func:`amount_text` writes it, in the row's ``currency``; needs ``rules``."""

    def _serialize(self, value, attr, obj, **kwargs):
        return amount_text(context()["rules"], value, obj.currency)


class AccountRefOut(Out):
    id = fields.UUID()
    type = fields.String()
    subtype = fields.String()
    maskedNumber = fields.String(attribute="masked_number", metadata={"description": "All but the last four "
                                                                                     "digits hidden."})
    brand = fields.String(allow_none=True)


class BusinessAccountRefOut(Out):
    id = fields.UUID()
    maskedNumber = fields.String(attribute="masked_number")


class TransactionOut(Out):
    """A transaction row; needs ``rules`` in the dump context (the currency's minor units)."""

    id = fields.UUID()
    workflowId = fields.UUID(attribute="workflow_id", allow_none=True)
    customerId = fields.UUID(attribute="customer_id")
    type = fields.String(metadata={"enum": ["SEND", "REQUEST"]})
    solution = fields.String(metadata={"description": "The payment solution (rail): push-to-card, ach, wire..."})
    priority = fields.String(allow_none=True, metadata={"enum": ["IMMEDIATE", "SAME_DAY", "NEXT_DAY"]})
    amount = Amount(metadata={"description": "A decimal string with the currency's minor units."})
    currency = fields.String()
    paymentReasonId = fields.String(attribute="payment_reason", allow_none=True)
    description = fields.String(allow_none=True)
    memo = fields.String(allow_none=True)
    status = fields.String(metadata={"enum": STATUSES})
    message = fields.String(allow_none=True, metadata={"description": "What the last change said."})
    returnCode = fields.String(attribute="return_code", allow_none=True, metadata={
        "description": "The ACH return code (R01...) of a REVERSED transaction."})
    railReference = fields.String(attribute="rail_reference", allow_none=True,
                                  metadata={"description": "The rail's id for the transfer."})
    customerFinancialAccount = fields.Nested(AccountRefOut, attribute="customer_account")
    businessFinancialAccount = fields.Nested(BusinessAccountRefOut, attribute="business_account")
    createdAt = Timestamp(attribute="created_at")
    updatedAt = Timestamp(attribute="updated_at")


class TransactionPageOut(PageOut):
    """Its items are transaction rows; needs ``rules`` in the dump context."""

    content = fields.List(fields.Nested(TransactionOut), attribute="items")


class StatusChangeOut(Out):
    time = Timestamp(attribute="created_at")
    status = fields.String(metadata={"enum": STATUSES})
    message = fields.String(allow_none=True)


class TransactionStatusOut(Out):
    """A transaction row with its ``history`` (a :class:`~gateway_app.api.render.View`)."""

    transactionId = fields.UUID(attribute="id")
    status = fields.String(metadata={"enum": STATUSES})
    history = fields.List(fields.Nested(StatusChangeOut), metadata={"description": "Every change, oldest first."})


def add_paths(spec, errors, solutions=(), page_size_max=100):
    """Document ``/v2/transactions`` on ``spec`` (an apispec ``APISpec``); ``errors(*codes)`` gives error responses.
    ``solutions`` are the names the ``solution`` filter takes."""
    for name, schema in (("Transaction", TransactionOut), ("TransactionStatus", TransactionStatusOut),
                         ("TransactionPage", TransactionPageOut)):
        if name not in spec.components.schemas:
            spec.components.schema(name, schema=schema)
    uuid_schema = {"type": "string", "format": "uuid"}
    time_schema = {"type": "string", "format": "date-time"}
    spec.path(path="/v2/transactions", operations={"get": {
        "summary": "List transactions",
        "description": "The business's transactions, newest first by default; every filter narrows the list.",
        "security": [{"bearer": []}],
        "parameters": [
            {"name": "workflowId", "in": "query", "schema": uuid_schema, "description": "The workflow's transaction."},
            {"name": "customerId", "in": "query", "schema": uuid_schema, "description": "A customer's transactions."},
            {"name": "status", "in": "query", "schema": {"type": "string", "enum": STATUSES}},
            {"name": "type", "in": "query", "schema": {"type": "string", "enum": list(transactions.TYPES)}},
            {"name": "solution", "in": "query", "schema": {"type": "string", "enum": list(solutions)}},
            {"name": "createdFrom", "in": "query", "schema": time_schema,
             "description": "Created at or after this time (UTC when no offset is given)."},
            {"name": "createdTo", "in": "query", "schema": time_schema,
             "description": "Created before this time; not before createdFrom."},
            {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "default": 1}},
            {"name": "size", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": page_size_max,
                                                       "default": 20}},
            {"name": "sort", "in": "query", "schema": {"type": "string", "default": "createdAt,desc",
                                                       "pattern": sort_pattern(transactions.SORTS)},
             "description": f"FIELD[,asc|desc]; FIELD is {', '.join(transactions.SORTS)}; the direction defaults "
                            "to asc."},
        ],
        "responses": {"200": {"description": "One page.",
                              "content": {"application/json": {"schema": "TransactionPage"}}}, **errors(400, 401)},
    }})
    param = {"name": "transactionId", "in": "path", "required": True, "schema": {"type": "string", "format": "uuid"}}
    idem = {"name": "Idempotency-Key", "in": "header", "required": False,
            "schema": {"type": "string", "minLength": 6, "maxLength": 255},
            "description": "Repeat a request safely: the same key and body replay the first success."}
    spec.path(path="/v2/transactions/{transactionId}", operations={"get": {
        "summary": "Get a transaction",
        "security": [{"bearer": []}], "parameters": [param],
        "responses": {"200": {"description": "The transaction.",
                              "content": {"application/json": {"schema": "Transaction"}}}, **errors(401, 404)},
    }})
    spec.path(path="/v2/transactions/{transactionId}/status", operations={"get": {
        "summary": "A transaction's status history",
        "description": "Every status the transaction went through: time, status and message, oldest first.",
        "security": [{"bearer": []}], "parameters": [param],
        "responses": {"200": {"description": "The history.",
                              "content": {"application/json": {"schema": "TransactionStatus"}}},
                      **errors(401, 404)},
    }})
    spec.path(path="/v2/transactions/{transactionId}/cancel", operations={"post": {
        "summary": "Cancel a transaction",
        "description": "Allowed only while the transaction is PENDING (not yet sent to its rail); "
                       "afterwards the answer is 409. The workflow then fails.",
        "security": [{"bearer": []}], "parameters": [param, idem],
        "responses": {"200": {"description": "The cancelled transaction.",
                              "content": {"application/json": {"schema": "Transaction"}}},
                      **errors(401, 404, 409)},
    }})
