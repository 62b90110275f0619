"""``/v2/transactions``: a transaction, its status history, and cancelling one that is still PENDING."""
from decimal import Decimal

from flask import Blueprint, current_app, g, jsonify
from marshmallow import fields

from linx_core.services import payments, transactions
from linx_core.store.models import BusinessFinancialAccount, CustomerFinancialAccount

from .auth import idempotent, require_business
from .schemas import Out, iso

bp = Blueprint("transactions", __name__)
bp.before_request(require_business)

STATUSES = ["NEW", "PENDING", "PROCESSING", "APPROVED", "SETTLED", "CLEARED", "DECLINED", "CANCELLED", "ERROR",
            "REVERSED"]


def _rt():
    return current_app.extensions["linx"]


@bp.get("/transactions/<transaction_id>")
def show(transaction_id):
    tx = transactions.get_transaction(g.business, transaction_id)
    return jsonify(transaction_dict(_rt(), tx))


@bp.get("/transactions/<transaction_id>/status")
def status(transaction_id):
    tx = transactions.get_transaction(g.business, transaction_id)
    return jsonify({
        "transactionId": str(tx.id),
        "status": tx.status,
        "history": [{"time": iso(row.created_at), "status": row.status, "message": row.message}
                    for row in transactions.history(tx)],
    })


@bp.post("/transactions/<transaction_id>/cancel")
@idempotent
def cancel(transaction_id):
    rt = _rt()
    tx = payments.cancel(rt, g.business, transaction_id)
    return jsonify(transaction_dict(rt, tx))


def amount_text(rules, amount, currency):
    """The amount as a decimal string with the currency's minor units (from the rules)."""
    try:
        places = rules.decimals(currency)
    except KeyError:
        return str(amount)
    return str(Decimal(amount).quantize(Decimal(1).scaleb(-places)))


def transaction_dict(rt, tx):
    customer_account = CustomerFinancialAccount.get_by_id(tx.customer_account_id)
    business_account = BusinessFinancialAccount.get_by_id(tx.business_account_id)
    return {
        "id": str(tx.id),
        "workflowId": str(tx.workflow_id) if tx.workflow_id else None,
        "customerId": str(tx.customer_id),
        "type": tx.type,
        "solution": tx.solution,
        "priority": tx.priority,
        "amount": amount_text(rt.rules, tx.amount, tx.currency),
        "currency": tx.currency,
        "paymentReasonId": tx.payment_reason,
        "description": tx.description,
        "memo": tx.memo,
        "status": tx.status,
        "message": tx.message,
        "returnCode": tx.return_code,
        "railReference": tx.rail_reference,
        "customerFinancialAccount": {"id": str(customer_account.id), "type": customer_account.type,
                                     "subtype": customer_account.subtype,
                                     "maskedNumber": customer_account.masked_number,
                                     "brand": customer_account.brand},
        "businessFinancialAccount": {"id": str(business_account.id), "maskedNumber": business_account.masked_number},
        "createdAt": iso(tx.created_at),
        "updatedAt": iso(tx.updated_at),
    }


class AccountRefOut(Out):
    id = fields.UUID()
    type = fields.String()
    subtype = fields.String()
    maskedNumber = fields.String(metadata={"description": "All but the last four digits hidden."})
    brand = fields.String(allow_none=True)


class TransactionOut(Out):
    id = fields.UUID()
    workflowId = fields.UUID(allow_none=True)
    customerId = fields.UUID()
    type = fields.String(metadata={"enum": ["SEND", "REQUEST"]})
    solution = fields.String(metadata={"description": "The payment solution (rail): push-to-card, ach, wire..."})
    priority = fields.String(allow_none=True, metadata={"enum": ["IMMEDIATE", "SAME_DAY", "NEXT_DAY"]})
    amount = fields.String(metadata={"description": "A decimal string with the currency's minor units."})
    currency = fields.String()
    paymentReasonId = fields.String(allow_none=True)
    description = fields.String(allow_none=True)
    memo = fields.String(allow_none=True)
    status = fields.String(metadata={"enum": STATUSES})
    message = fields.String(allow_none=True, metadata={"description": "What the last change said."})
    returnCode = fields.String(allow_none=True, metadata={"description": "The ACH return code (R01...) of a "
                                                                         "REVERSED transaction."})
    railReference = fields.String(allow_none=True, metadata={"description": "The rail's id for the transfer."})
    customerFinancialAccount = fields.Nested(AccountRefOut)
    businessFinancialAccount = fields.Dict()
    createdAt = fields.String(metadata={"format": "date-time"})
    updatedAt = fields.String(metadata={"format": "date-time"})


class StatusChangeOut(Out):
    time = fields.String(metadata={"format": "date-time"})
    status = fields.String(metadata={"enum": STATUSES})
    message = fields.String(allow_none=True)


class TransactionStatusOut(Out):
    transactionId = fields.UUID()
    status = fields.String(metadata={"enum": STATUSES})
    history = fields.List(fields.Nested(StatusChangeOut), metadata={"description": "Every change, oldest first."})


def add_paths(spec, errors):
    """Document ``/v2/transactions`` on ``spec`` (an apispec ``APISpec``); ``errors(*codes)`` gives error responses."""
    for name, schema in (("Transaction", TransactionOut), ("TransactionStatus", TransactionStatusOut)):
        if name not in spec.components.schemas:
            spec.components.schema(name, schema=schema)
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
