"""Erasing a customer's personal data (``POST /v2/customers/{id}/erase``).

What goes: the names, the phone number, the email, the addresses and the date of birth; each financial
account's holder name, billing address, expiry, fingerprint and sealed number (destroyed: no key opens it
again); on the customer's workflows (see :func:`_workflows_of`: bound to them, or to no one yet and sent to
their own contact; never another customer's), the contact and the parameters that say who the customer is
(:func:`personal_parameters`: ``personal: true`` in the rules, and every ``phone`` and ``email`` one), the
customer's names and contact in the free-text fields only (:data:`FREE_TEXT`: title, memo, description,
introductory message, a provider's refusal), what a step kind kept that the customer typed about themselves
(``StepKind.forget``), and the same in the replays kept for ``Idempotency-Key``; a channel's own records of
those workflows' messages go through the ``customer.erased`` event (``workflowIds``).

Each account's move to ERASED is a ``financial-account.state-updated`` event, the customer's a
``customer.status-updated`` one (``workflowId`` null: no workflow made them).

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
from ..store import db, locking
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
#: the free-text fields a business or a provider writes, where the customer's name or contact may appear: only
#: these are redacted (an id, a status, a solution or a step name is never personal, even when it spells a name:
#: Ms Card's erasure must not turn ``push-to-card`` into ``push-to-[erased]``)
FREE_TEXT = frozenset({"title", "memo", "customerMemo", "description", "introductoryMessage", "reason"})


def erase_customer(rt: Runtime, business: Business, customer_id: object) -> Customer:
    """Erase the business's customer ``customer_id`` (see the module); returns the erased row."""
    customer = directory.get_customer(business, customer_id)
    if customer.status == ERASED:
        return customer
    with db.atomic():
        # the row locked (PostgreSQL) for the erasure's transaction: a create naming the customer waits for it,
        # then reads ERASED (workflows.create_workflow reads the row FOR SHARE); a second erasure waits too
        customer = locking(Customer.select().where(Customer.id == customer.id)).get()
        if customer.status == ERASED:
            return customer
        busy = Transaction.select().where((Transaction.customer == customer.id)
                                          & Transaction.status.in_(IN_FLIGHT)).first()
        if busy is not None:
            raise Conflict(f"A payment to or from this customer is {busy.status} at its rail; erase the customer "
                           "once it has ended.", "CUSTOMER_PAYMENT_IN_FLIGHT")
        theirs = _workflows_of(rt, business, customer)
        cancelled = []
        for workflow in theirs.where(Workflow.status.in_(list(WORKFLOWS.open_states))).order_by(Workflow.created_at):
            workflows.cancel(rt, business, workflow.id)
            cancelled.append(str(workflow.id))
        redact = _redactor(customer)
        workflow_ids = [w.id for w in theirs.order_by(Workflow.created_at, Workflow.id)]
        _forget_workflows(rt, workflow_ids, redact)
        _forget_transactions(customer, redact)
        accounts = _forget_accounts(customer)
        authorizations.forget(customer.id)  # the records stay (NACHA), less the IP address and user agent
        _forget_replays(rt, business, customer, workflow_ids, redact)
        now = clock.now()
        changed = Customer.update(status=ERASED, erased_at=now, first_name="", last_name="", phone_number=None,
                                  email=None, date_of_birth=None, addresses=[]).where(
            (Customer.id == customer.id) & (Customer.status != ERASED)).execute()
        if changed != 1:
            raise Conflict("The customer was erased meanwhile.", "CONCURRENT_UPDATE")
        for account in accounts:
            events.record(rt, business.id, "financial-account.state-updated", account.id, {
                "financialAccountId": str(account.id), "customerId": str(customer.id),
                "previousState": account.state, "state": ERASED, "type": account.type, "subtype": account.subtype,
                "maskedNumber": account.masked_number, "workflowId": None})
        events.record(rt, business.id, "customer.status-updated", customer.id, {
            "customerId": str(customer.id), "previousStatus": customer.status, "status": ERASED, "workflowId": None})
        events.record(rt, business.id, "customer.erased", customer.id, {
            "customerId": str(customer.id), "status": ERASED, "erasedAt": events.iso(now),
            "cancelledWorkflowIds": cancelled, "financialAccountIds": [str(a.id) for a in accounts],
            "workflowIds": [str(w) for w in workflow_ids]})
    return Customer.get_by_id(customer.id)


def personal_parameters(rt: Runtime) -> set[str]:
    """The workflow parameters that say who the customer is: ``personal: true`` in the rules, and every parameter
    of the ``phone`` and ``email`` types."""
    return {name for name, spec in rt.rules.parameters.items()
            if spec.get("personal") or spec.get("type") in PERSONAL_TYPES}


def _workflows_of(rt: Runtime, business: Business, customer: Customer) -> peewee.ModelSelect[Workflow]:
    """The business's workflows for this customer: those bound to them, and those bound to no one yet whose link
    went to the customer's own contact.

    Only the channel's contact counts (``channels.<channel>.contact`` in the catalog: the phone number of an SMS
    workflow, the address of an EMAIL one), never a prefill (an SMS workflow's ``email`` is only a suggestion for
    the form), and an address only while no other customer of the business gives it (emails are not unique: a
    family's shared mailbox); a workflow bound to another customer is theirs, whatever its contact."""
    clause = Workflow.customer == customer.id
    own = {"phoneNumber": (Workflow.phone_number, customer.phone_number), "email": (Workflow.email, customer.email)}
    email = (customer.email or "").strip().lower()
    if email and Customer.select().where(
            (Customer.business == business) & (Customer.id != customer.id) & (Customer.status != ERASED)
            & (peewee.fn.LOWER(Customer.email) == email)).exists():
        del own["email"]
    for channel, spec in (rt.rules.catalog.get("channels") or {}).items():
        column, value = own.get((spec or {}).get("contact") or "", (None, None))
        if column is not None and value:
            clause = clause | (Workflow.customer.is_null() & (Workflow.channel == channel)
                               & (peewee.fn.LOWER(column) == value.strip().lower()))
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
    personal = personal_parameters(rt)
    now = clock.now()
    for workflow in Workflow.select().where(Workflow.id.in_(ids)) if ids else []:
        params = {name: redact(value) if name in FREE_TEXT else value
                  for name, value in (workflow.parameters or {}).items() if name not in personal}
        Workflow.update(phone_number=None, email=None, parameters=params,
                        title=_fit(redact(workflow.title), Workflow.title),
                        customer_memo=redact(workflow.customer_memo) if workflow.customer_memo else None,
                        updated_at=now, version=Workflow.version + 1).where(Workflow.id == workflow.id).execute()
        for note in Notification.select().where((Notification.workflow == workflow.id)
                                                & Notification.reason.is_null(False)):
            if redact(note.reason) != note.reason:  # a provider's refusal may quote the number
                Notification.update(reason=redact(note.reason)).where(Notification.id == note.id).execute()
        for event in Event.select().where(Event.subject_id == workflow.id):
            data = _scrub(event.data, redact)
            if data != event.data:
                Event.update(data=data).where(Event.id == event.id).execute()
        for step in WorkflowStep.select().where(WorkflowStep.workflow == workflow.id):
            kind = rt.step_kinds.get(step.name)
            data = kind.forget(dict(step.data or {})) if kind is not None else dict(step.data or {})
            data = _scrub(data, redact)
            if data != (step.data or {}):
                WorkflowStep.update(data=data).where(WorkflowStep.id == step.id).execute()


def _forget_transactions(customer: Customer, redact: Any) -> None:
    for tx in Transaction.select().where(Transaction.customer == customer.id):
        description, memo = redact(tx.description), redact(tx.memo)
        if (description, memo) != (tx.description, tx.memo):
            Transaction.update(description=_fit(description, Transaction.description),
                               memo=_fit(memo, Transaction.memo)).where(Transaction.id == tx.id).execute()


def _forget_accounts(customer: Customer) -> list[CustomerFinancialAccount]:
    """Each account keeps its type, subtype, brand, last four and masked number; its sealed number is destroyed.
    Returns the accounts as they were (their previous state), oldest first."""
    accounts = list(CustomerFinancialAccount.select().where(CustomerFinancialAccount.customer == customer.id)
                    .order_by(CustomerFinancialAccount.created_at, CustomerFinancialAccount.id))
    for account in accounts:
        CustomerFinancialAccount.update(
            state=ERASED, holder_name="", sealed_number="", billing_address=None, expiry=None,
            fingerprint=f"erased:{account.id.hex}").where(CustomerFinancialAccount.id == account.id).execute()
    return accounts


def _forget_replays(rt: Runtime, business: Business, customer: Customer, workflow_ids: list[Any],
                    redact: Any) -> None:
    """The responses kept for ``Idempotency-Key`` replays of the customer's workflows (or naming the customer):
    the personal parameters (and the workflow's contact) nulled, the free text redacted."""
    needles = [str(customer.id)] + [str(w) for w in workflow_ids]
    clause = IdempotencyRecord.response_body.contains(needles[0])
    for needle in needles[1:]:
        clause = clause | IdempotencyRecord.response_body.contains(needle)
    personal = personal_parameters(rt) | {"phoneNumber", "email"}
    for record in IdempotencyRecord.select().where((IdempotencyRecord.business == business) & clause):
        try:
            body = json.loads(record.response_body or "")
        except ValueError:
            continue
        kept = json.dumps(_scrub(body, redact, personal))
        if kept != record.response_body:
            IdempotencyRecord.update(response_body=kept).where(IdempotencyRecord.id == record.id).execute()


def _scrub(value: Any, redact: Any, personal: set[str] | frozenset[str] = frozenset()) -> Any:
    """``value`` (JSON) with the :data:`FREE_TEXT` fields redacted and the values of the ``personal`` keys nulled;
    every other value as it was."""
    if isinstance(value, dict):
        return {k: None if k in personal else redact(v) if k in FREE_TEXT and isinstance(v, str)
                else _scrub(v, redact, personal) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v, redact, personal) for v in value]
    return value


__all__ = ["erase_customer", "personal_parameters", "ERASED", "REDACTED", "IN_FLIGHT"]
