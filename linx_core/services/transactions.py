"""Transactions: created on confirm, moved through their lifecycle, visible to the business.

Every status change is saved with its history row and its
``transactions.status-changed`` event in one transaction, and a final status
moves the workflow: SETTLED or CLEARED complete it (and queue the completion
message), DECLINED, ERROR or CANCELLED fail it (and queue the failure message); a REVERSED one (returned
after it settled) queues the reversal message. The rails themselves are
plugins (``linx_solutions``); submitting and polling are jobs.
"""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import peewee

from .. import clock, events, jobs
from ..errors import Conflict, InvalidRequest, NotFound, Problem
from ..lifecycle import STEPS, TRANSACTIONS, WORKFLOWS, save_status
from ..store import db
from ..store.models import (
    Business,
    BusinessFinancialAccount,
    CustomerFinancialAccount,
    Transaction,
    TransactionStatus,
    Workflow,
)
from . import notifications
from .flow import finish_workflow, locked, move_step, steps_of
from .paging import Page, check_paging, sort_order

if TYPE_CHECKING:  # pragma: no cover
    from ..runtime import Runtime

FINAL_OK = {"SEND": "SETTLED", "REQUEST": "CLEARED"}
FAILED = ("DECLINED", "ERROR", "CANCELLED")
TYPES = ("SEND", "REQUEST", "REVERSAL")  # every type a transaction row may hold (models.Transaction.type)


def create_for_workflow(rt: Runtime, workflow: Workflow) -> Transaction:
    """The workflow's transaction (NEW, then PENDING) and its submit job. Inside the confirm's transaction."""
    params = workflow.parameters
    now = clock.now()
    try:
        with db.atomic():
            tx = Transaction.create(
                business=workflow.business_id, workflow=workflow.id, customer=workflow.customer_id,
                customer_account=workflow.customer_account_id, business_account=params["baFinancialAccountId"],
                type=params["transactionType"], solution=params["solution"], priority=params.get("priority"),
                amount=Decimal(str(params["amount"])), currency=params["currency"],
                payment_reason=params.get("paymentReasonId"), description=params.get("description"),
                memo=params.get("memo"), status="NEW", created_at=now, updated_at=now)
    except peewee.IntegrityError:
        raise Conflict("This workflow's transaction exists already.", "ALREADY_CONFIRMED") from None
    TransactionStatus.create(transaction=tx, seq=1, status="NEW", message="Created on confirmation.", created_at=now)
    change_status(rt, tx, "submit", "Queued for the rail.")
    jobs.enqueue("transaction.submit", {"transactionId": str(tx.id)}, workflow.business_id)
    return tx


def change_status(rt: Runtime, tx: Transaction, trigger: str, message: str = "", **changes: Any) -> Transaction:
    """Move ``tx`` by ``trigger``, with history, event and effects on its workflow. Inside a transaction."""
    previous = tx.status
    new = TRANSACTIONS.next_state(previous, trigger)
    now = clock.now()
    save_status(tx, new, message=message or None, updated_at=now, **changes)
    seq = TransactionStatus.select().where(TransactionStatus.transaction == tx.id).count() + 1
    TransactionStatus.create(transaction=tx, seq=seq, status=new, message=message or None, created_at=now)
    events.record(rt, tx.business_id, "transactions.status-changed", tx.id, event_data(tx, previous))
    if tx.workflow_id is not None:
        _move_workflow(rt, tx, tx.workflow_id)
    return tx


def event_data(tx: Transaction, previous: str | None = None) -> dict[str, Any]:
    customer_account = CustomerFinancialAccount.get_by_id(tx.customer_account_id)
    business_account = BusinessFinancialAccount.get_by_id(tx.business_account_id)
    return {
        "transactionId": str(tx.id),
        "workflowId": str(tx.workflow_id) if tx.workflow_id else None,
        "type": tx.type,
        "solution": tx.solution,
        "amount": str(tx.amount.quantize(Decimal("0.01")) if tx.amount == tx.amount.quantize(Decimal("0.01"))
                      else tx.amount.normalize()),
        "currency": tx.currency,
        "previousStatus": previous,
        "status": tx.status,
        "returnCode": tx.return_code,
        "customerFinancialAccount": {"id": str(customer_account.id), "maskedNumber": customer_account.masked_number,
                                     "type": customer_account.type, "subtype": customer_account.subtype},
        "businessFinancialAccount": {"id": str(business_account.id), "maskedNumber": business_account.masked_number},
    }


def _move_workflow(rt: Runtime, tx: Transaction, workflow_id: uuid.UUID) -> None:
    if tx.status == "REVERSED":  # returned after it settled (an ACH return): the customer is told, as of a failure
        notifications.queue(rt, locked(workflow_id), "REVERSAL_SEND" if tx.type == "SEND" else "REVERSAL_REQUEST")
        return
    final_ok = tx.status == FINAL_OK.get(tx.type)
    if not (final_ok or tx.status in FAILED):
        return
    workflow = locked(workflow_id)
    if workflow.status not in WORKFLOWS.open_states:
        return
    # the step that stayed for this transaction (its kind put the id in its data), whatever the kind
    step = next((s for s in steps_of(workflow) if (s.data or {}).get("transactionId") == str(tx.id)), None)
    if step is not None and step.status in STEPS.open_states:
        move_step(rt, workflow, step, "complete" if final_ok else "fail")
    finish_workflow(rt, workflow, "complete" if final_ok else "fail")
    if final_ok:
        notifications.queue(rt, workflow, "COMPLETION_SEND" if tx.type == "SEND" else "COMPLETION_REQUEST")
    else:  # the customer confirmed and waits for the money: tell them it will not come (or not be taken)
        notifications.queue(rt, workflow, "FAILURE_SEND" if tx.type == "SEND" else "FAILURE_REQUEST")


def get_transaction(business: Business, transaction_id: object) -> Transaction:
    try:
        tid = uuid.UUID(str(transaction_id))
    except ValueError:
        raise NotFound("No such transaction.", "TRANSACTION_NOT_FOUND") from None
    tx = Transaction.get_or_none((Transaction.id == tid) & (Transaction.business == business))
    if tx is None:
        raise NotFound("No such transaction.", "TRANSACTION_NOT_FOUND")
    return tx


SORTS = {"createdAt": Transaction.created_at, "updatedAt": Transaction.updated_at, "amount": Transaction.amount,
         "status": Transaction.status}


@dataclass
class Filters:
    """What ``GET /v2/transactions`` asks for; each is None when not asked (checked by the caller)."""

    workflow_id: uuid.UUID | None = None
    customer_id: uuid.UUID | None = None
    status: str | None = None
    type: str | None = None
    solution: str | None = None
    created_from: dt.datetime | None = None  # inclusive
    created_to: dt.datetime | None = None  # exclusive


def list_transactions(rt: Runtime, business: Business, filters: Filters, page: int = 1, size: int = 20,
                      sort: str | None = None) -> Page:
    """One page of the business's transactions, newest first unless ``sort`` says otherwise."""
    problems = check_paging(rt, page, size)
    order = sort_order(sort, SORTS, "createdAt,desc", problems)
    if filters.status is not None and filters.status not in TRANSACTIONS.states:
        problems.append(Problem("query.status", f"Must be one of {', '.join(TRANSACTIONS.states)}.", "NOT_ALLOWED"))
    if filters.type is not None and filters.type not in TYPES:
        problems.append(Problem("query.type", f"Must be one of {', '.join(TYPES)}.", "NOT_ALLOWED"))
    if filters.solution is not None and filters.solution not in rt.rules.solutions:
        problems.append(Problem("query.solution", f"Must be one of {', '.join(rt.rules.solutions)}.", "NOT_ALLOWED"))
    if filters.created_from and filters.created_to and filters.created_from > filters.created_to:
        problems.append(Problem("query.createdTo", "Must not be before createdFrom.", "OUT_OF_RANGE"))
    if problems:
        raise InvalidRequest("The query is not valid.", problems)
    # each row's two accounts (the list shows their masked numbers) come with it: one query per page, not three per row
    query = (Transaction.select(Transaction, CustomerFinancialAccount, BusinessFinancialAccount)
             .join(CustomerFinancialAccount, on=Transaction.customer_account).switch(Transaction)
             .join(BusinessFinancialAccount, on=Transaction.business_account)
             .where(Transaction.business == business))
    for column, value in ((Transaction.workflow, filters.workflow_id), (Transaction.customer, filters.customer_id),
                          (Transaction.status, filters.status), (Transaction.type, filters.type),
                          (Transaction.solution, filters.solution)):
        if value is not None:
            query = query.where(column == value)
    if filters.created_from is not None:
        query = query.where(Transaction.created_at >= filters.created_from)
    if filters.created_to is not None:
        query = query.where(Transaction.created_at < filters.created_to)
    total = query.count()
    items = list(query.order_by(order, Transaction.id.desc()).paginate(page, size))
    return Page(items, page, size, total)


def history(tx: Transaction) -> list[TransactionStatus]:
    return list(TransactionStatus.select().where(TransactionStatus.transaction == tx.id)
                .order_by(TransactionStatus.seq))


__all__ = ["create_for_workflow", "change_status", "event_data", "get_transaction", "history", "WORKFLOWS",
           "Filters", "list_transactions", "SORTS", "TYPES"]
