"""Erasing a customer's personal data (``POST /v2/customers/{id}/erase``).

What goes: the names, the phone number, the email, the addresses and the date of birth; each financial
account's holder name, billing address, expiry, fingerprint and sealed number (destroyed: no key opens it
again); the contact on the business's workflows that carried the customer's phone number or email, their
parameters of the rules' ``phone`` and ``email`` types, the customer's names (and contact) wherever they
appear in a workflow's or a payment's free text (title, memo, messages, description), what a step kind
kept that the customer typed about themselves (``StepKind.forget``), and the same in the replays kept
for ``Idempotency-Key``.

What stays, as money records need it: the rows and their ids, amounts, currencies, dates, statuses,
each account's type, subtype, brand, last four digits and masked number, the bank's routing number,
and which documents were accepted when. Debit authorizations (:mod:`.authorizations`) stay whole, as NACHA
asks the business to produce them for two years after they end, but for the session's IP address and user
agent, which are blanked (``personalDataErasedAt`` says when).

The customer's open workflows are cancelled first, through the workflow lifecycle (with their events and
their PENDING payment cancelled too); a payment already at its rail (PROCESSING, APPROVED) makes the
erasure wait: 409 until it ends. Erasing an erased customer changes nothing. A ``customer.erased`` event
records it, in the same transaction.
"""
from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

import peewee

from .. import clock, events
from ..errors import Conflict
from ..lifecycle import WORKFLOWS
from ..store import db
from ..store.models import (
    Business,
    Customer,
    CustomerFinancialAccount,
    Event,
    IdempotencyRecord,
    Notification,
    Transaction,
    Workflow,
    WorkflowStep,
)
from . import authorizations, directory, workflows

if TYPE_CHECKING:  # pragma: no cover
    from ..runtime import Runtime

ERASED = "ERASED"
REDACTED = "[erased]"
#: payments at their rail: an erasure waits for them to end (NEW and PENDING ones are cancelled with their workflow)
IN_FLIGHT = ("PROCESSING", "APPROVED")
PERSONAL_TYPES = ("phone", "email")  # parameter types (rules/parameters.yaml) that hold a contact


def erase_customer(rt: Runtime, business: Business, customer_id: object) -> Customer:
    """Erase the business's customer ``customer_id`` (see the module); returns the erased row."""
    customer = directory.get_customer(business, customer_id)
    if customer.status == ERASED:
        return customer
    with db.atomic():
        busy = Transaction.select().where((Transaction.customer == customer.id)
                                          & Transaction.status.in_(IN_FLIGHT)).first()
        if busy is not None:
            raise Conflict(f"A payment to or from this customer is {busy.status} at its rail; erase the customer "
                           "once it has ended.", "CUSTOMER_PAYMENT_IN_FLIGHT")
        theirs = _workflows_of(business, customer)
        cancelled = []
        for workflow in theirs.where(Workflow.status.in_(list(WORKFLOWS.open_states))).order_by(Workflow.created_at):
            workflows.cancel(rt, business, workflow.id)
            cancelled.append(str(workflow.id))
        redact = _redactor(customer)
        _forget_workflows(rt, [w.id for w in theirs], redact)
        _forget_transactions(customer, redact)
        accounts = _forget_accounts(customer)
        authorizations.forget(customer.id)  # the records stay (NACHA), less the IP address and user agent
        _forget_replays(business, customer, redact)
        now = clock.now()
        changed = Customer.update(status=ERASED, erased_at=now, first_name="", last_name="", phone_number=None,
                                  email=None, date_of_birth=None, addresses=[]).where(
            (Customer.id == customer.id) & (Customer.status != ERASED)).execute()
        if changed != 1:
            raise Conflict("The customer was erased meanwhile.", "CONCURRENT_UPDATE")
        events.record(rt, business.id, "customer.erased", customer.id, {
            "customerId": str(customer.id), "status": ERASED, "erasedAt": events.iso(now),
            "cancelledWorkflowIds": cancelled, "financialAccountIds": [str(a) for a in accounts]})
    return Customer.get_by_id(customer.id)


def _workflows_of(business: Business, customer: Customer) -> peewee.ModelSelect[Workflow]:
    """The business's workflows for this customer: theirs, and those sent to their phone number or email."""
    clause = Workflow.customer == customer.id
    if customer.phone_number:
        clause = clause | (Workflow.phone_number == customer.phone_number)
    if customer.email:
        clause = clause | (Workflow.email == customer.email)
    return Workflow.select().where((Workflow.business == business) & clause)


def _redactor(customer: Customer) -> Any:
    """A function that replaces the customer's names, phone number and email in a text with ``[erased]``."""
    words = {w for w in (customer.first_name, customer.last_name, f"{customer.first_name} {customer.last_name}",
                         customer.phone_number, customer.email) if w and len(w.strip()) >= 2}
    if not words:
        return lambda text: text
    pattern = re.compile(r"(?<!\w)(?:" + "|".join(re.escape(w.strip()) for w in sorted(words, key=len, reverse=True))
                         + r")(?!\w)", re.IGNORECASE)
    return lambda text: pattern.sub(REDACTED, text) if isinstance(text, str) else text


def _fit(text: str | None, field: peewee.Field) -> str | None:
    """``text`` cut to the column's length (a redaction may lengthen it)."""
    limit = getattr(field, "max_length", None)
    return text[:limit] if text is not None and limit else text


def _forget_workflows(rt: Runtime, ids: list[Any], redact: Any) -> None:
    personal = {name for name, spec in rt.rules.parameters.items() if spec.get("type") in PERSONAL_TYPES}
    now = clock.now()
    for workflow in Workflow.select().where(Workflow.id.in_(ids)) if ids else []:
        params = {name: _redact_json(value, redact) for name, value in (workflow.parameters or {}).items()
                  if name not in personal}
        Workflow.update(phone_number=None, email=None, parameters=params,
                        title=_fit(redact(workflow.title), Workflow.title),
                        customer_memo=redact(workflow.customer_memo) if workflow.customer_memo else None,
                        updated_at=now, version=Workflow.version + 1).where(Workflow.id == workflow.id).execute()
        for note in Notification.select().where((Notification.workflow == workflow.id)
                                                & Notification.reason.is_null(False)):
            if redact(note.reason) != note.reason:  # a provider's refusal may quote the number
                Notification.update(reason=redact(note.reason)).where(Notification.id == note.id).execute()
        for event in Event.select().where(Event.subject_id == workflow.id):
            data = _redact_json(event.data, redact)
            if data != event.data:
                Event.update(data=data).where(Event.id == event.id).execute()
        for step in WorkflowStep.select().where(WorkflowStep.workflow == workflow.id):
            kind = rt.step_kinds.get(step.name)
            data = kind.forget(dict(step.data or {})) if kind is not None else dict(step.data or {})
            data = _redact_json(data, redact)
            if data != (step.data or {}):
                WorkflowStep.update(data=data).where(WorkflowStep.id == step.id).execute()


def _forget_transactions(customer: Customer, redact: Any) -> None:
    for tx in Transaction.select().where(Transaction.customer == customer.id):
        description, memo = redact(tx.description), redact(tx.memo)
        if (description, memo) != (tx.description, tx.memo):
            Transaction.update(description=_fit(description, Transaction.description),
                               memo=_fit(memo, Transaction.memo)).where(Transaction.id == tx.id).execute()


def _forget_accounts(customer: Customer) -> list[Any]:
    """Each account keeps its type, subtype, brand, last four and masked number; its sealed number is destroyed."""
    ids = [a.id for a in CustomerFinancialAccount.select(CustomerFinancialAccount.id).where(
        CustomerFinancialAccount.customer == customer.id).order_by(CustomerFinancialAccount.created_at)]
    for account_id in ids:
        CustomerFinancialAccount.update(
            state=ERASED, holder_name="", sealed_number="", billing_address=None, expiry=None,
            fingerprint=f"erased:{account_id.hex}").where(CustomerFinancialAccount.id == account_id).execute()
    return ids


def _forget_replays(business: Business, customer: Customer, redact: Any) -> None:
    """The responses kept for ``Idempotency-Key`` replays (a workflow's contact, say), redacted."""
    needles = [w for w in (str(customer.id), customer.phone_number, customer.email) if w]
    clause = IdempotencyRecord.response_body.contains(needles[0])
    for needle in needles[1:]:
        clause = clause | IdempotencyRecord.response_body.contains(needle)
    personal = {"phoneNumber", "email"}
    for record in IdempotencyRecord.select().where((IdempotencyRecord.business == business) & clause):
        try:
            body = json.loads(record.response_body or "")
        except ValueError:
            continue
        kept = json.dumps(_redact_json(body, redact, personal))
        if kept != record.response_body:
            IdempotencyRecord.update(response_body=kept).where(IdempotencyRecord.id == record.id).execute()


def _redact_json(value: Any, redact: Any, personal: set[str] | frozenset[str] = frozenset()) -> Any:
    """``value`` (JSON) with every string redacted, and the values of the ``personal`` keys nulled."""
    if isinstance(value, dict):
        return {k: None if k in personal else _redact_json(v, redact, personal) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact_json(v, redact, personal) for v in value]
    return redact(value) if isinstance(value, str) else value


__all__ = ["erase_customer", "ERASED", "REDACTED", "IN_FLIGHT"]
