"""Creating and reading workflows."""
from __future__ import annotations

import contextlib
import datetime as dt
import math
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import peewee

from .. import clock, events, jobs
from ..errors import Conflict, InvalidRequest, NotFound, Problem, RuleViolation
from ..lifecycle import WORKFLOWS, save_status
from ..rules.book import WorkflowRequest
from ..secrets import new_passcode, passcode_hash
from ..sms import segments
from ..store import Prepared, db, locking, write_behind
from ..store.models import (
    Business,
    BusinessFinancialAccount,
    Customer,
    CustomerFinancialAccount,
    Job,
    Notification,
    Transaction,
    Workflow,
    WorkflowStep,
)
from ..text import has_controls
from . import eligibility, flow, journey, limits, notifications, templates, transactions
from .flow import steps_of  # noqa: F401 - the API and the Gateway read a workflow's steps here
from .paging import Page, check_paging, sort_order

if TYPE_CHECKING:  # pragma: no cover
    from ..runtime import Runtime

STATUSES = WORKFLOWS.states
SORTS = {
    "createdAt": Workflow.created_at,
    "expireAt": Workflow.expire_at,
    "updatedAt": Workflow.updated_at,
    "status": Workflow.status,
    "title": Workflow.title,
}


@dataclass
class Created:
    """A new workflow and its passcode (if any), shown this once."""

    workflow: Workflow
    steps: list[WorkflowStep]
    passcode: str | None


def create_workflow(rt: Runtime, business: Business, body: object, recovered_from: Workflow | None = None,
                    then: Callable[[Workflow], None] | None = None) -> Created:
    """Validate ``body`` against the rules and the data, then store the workflow.

    One transaction holds the workflow, its steps, the CREATED event and the
    job that sends the first notification. The link is made when a message is
    sent (one per message; only its hash is kept), so no token ever waits in a row.
    The message counts against the rules' ``messageLimits`` in the same transaction,
    last (its counters stay locked only until the commit): over a limit, a 429 and
    nothing stored.

    A recovery (:mod:`.recovery`) names the workflow it replaces (``recovered_from``) and what it does to
    it (``then(new_workflow)``, in the same transaction, before the message is counted).
    """
    used = None
    if isinstance(body, dict) and ("templateId" in body or "templateName" in body):
        body, used = templates.from_template(business, body)  # the template's presets and the per-customer part
    made = draft(rt, business, body, clock.now(), template_id=used.template.id if used else None,
                 template_version=used.version.number if used else None,
                 recovered_from=recovered_from.id if recovered_from is not None else None)
    workflow = made.workflow
    with db.atomic(), write_behind():  # on PostgreSQL, 11 round trips become 5
        if workflow.customer is not None:  # the customer draft() read
            _still_there(workflow.customer)
        Workflow.bulk_create([workflow])
        WorkflowStep.bulk_create(made.steps)  # one INSERT for all the steps
        flow.status_event(rt, workflow, None)
        notifications.queue(rt, workflow, "INITIAL", first=True)
        _schedule_expiry(workflow)
        if then is not None:
            then(workflow)
        limits.count_message(rt, business, workflow)
    return made


def draft(rt: Runtime, business: Business, body: object, now: dt.datetime, **columns: Any) -> Created:
    """The workflow of ``body`` (or of a request checked already), checked against the rules and the data, with its
    steps and passcode: made, not stored (a create stores one, a batch stores a chunk of them at once).
    ``columns``: the workflow's other columns (its template, its batch). Raises what a create answers: 400, 422.
    """
    request = body if isinstance(body, WorkflowRequest) else rt.rules.validate_workflow(body)
    params = request.parameters
    customer = _check_data(rt, business, params)
    for name, spec in rt.rules.parameters.items():  # amounts in the currency's own form: 100 -> 100.00
        if (spec["type"] == "money" and name in params
                and params.get(spec["currency"]) in rt.rules.catalog["currencies"]):
            params[name] = params[name].quantize(Decimal(1).scaleb(-rt.rules.decimals(params[spec["currency"]])))
    use_passcode = business.passcode_default if request.passcode is None else request.passcode
    passcode = new_passcode(rt.rules.workflow["passcode"]["digits"]) if use_passcode else None
    workflow_id = uuid.uuid4()
    workflow = Workflow(
        id=workflow_id, business=business, status="CREATED", title=request.title,
        channel=params["channel"], phone_number=params.get("phoneNumber"), email=params.get("email"),
        customer=customer, parameters=params, customer_memo=request.customer_memo,
        amount=params.get("amount"), currency=params.get("currency"), current_step=0,
        passcode_hash=passcode_hash(rt.settings.secret_key, workflow_id, passcode) if passcode else None,
        expire_at=now + dt.timedelta(hours=request.expire_hours), created_at=now, updated_at=now, **columns,
    )
    if workflow.channel == "SMS":
        _check_sms_length(rt, workflow, business)
    steps = [WorkflowStep(workflow=workflow, position=i, name=name, status="CREATED", updated_at=now)
             for i, name in enumerate(request.steps)]
    return Created(workflow, steps, passcode)


def _still_there(customer: Customer) -> None:
    """The named customer read again inside the create's transaction, the row share-locked on PostgreSQL (an
    erasure, which locks it for update, waits for this create, or this create for it): erased meanwhile is
    refused as at the check."""
    row = locking(Customer.select(Customer.id, Customer.status).where(Customer.id == customer.id),
                     share=True).first()
    if row is None or row.status == "ERASED":
        raise RuleViolation("The request names data that does not fit.", [Problem(
            "parameters.customerId", "The customer's personal data was erased.", "CUSTOMER_ERASED")])


def _check_sms_length(rt: Runtime, workflow: Workflow, business: Business) -> None:
    """The first SMS, with a link of full length, must fit in the rules' ``maxSegments``."""
    limit = rt.rules.notifications["sms"]["maxSegments"]
    sample_link = notifications.link_url(rt, "x" * 43)
    _, sms, _, _ = notifications.render(rt, workflow, business, "INITIAL", sample_link)
    if segments(sms) > limit:
        raise RuleViolation("The first message would be too long for SMS.", [Problem(
            "parameters.introductoryMessage", f"With the link, the message needs {segments(sms)} SMS segments; "
            f"at most {limit} are allowed. Shorten the introductory message (or the title).", "SMS_TOO_LONG")])


def _schedule_expiry(workflow: Workflow) -> None:
    expiry_job(workflow).save(force_insert=True)


def expiry_job(workflow: Workflow, run_at: dt.datetime | None = None) -> Job:
    """The ``expire`` job of ``workflow`` at its ``expire_at`` (or ``run_at``), not yet stored."""
    return Job(kind="expire", payload={"workflowId": str(workflow.id), "expireAt": workflow.expire_at.isoformat()},
               business=workflow.business_id, run_at=run_at or workflow.expire_at)


def cancel(rt: Runtime, business: Business, workflow_id: object) -> Workflow:
    """Cancel a waiting workflow; a payment not yet sent to its rail is cancelled with it (409 once it is)."""
    with db.atomic():
        workflow = flow.locked(get_workflow(business, workflow_id).id, business)
        flow.move(rt, workflow, "cancel", next_notification_at=None, **flow.end_sessions(workflow))
        flow.revoke_links(workflow)
        tx = Transaction.select().where(Transaction.workflow == workflow.id).first()
        if tx is not None:
            if tx.status != "PENDING":
                raise Conflict(f"The payment is {tx.status} at its rail: the workflow cannot be cancelled.",
                               f"TRANSACTION_{tx.status}")
            transactions.change_status(rt, tx, "cancel", "Cancelled with its workflow.")
    return workflow


def archive(rt: Runtime, business: Business, workflow_id: object) -> Workflow:
    with db.atomic():
        workflow = flow.locked(get_workflow(business, workflow_id).id, business)
        flow.move(rt, workflow, "archive")
    return workflow


def extend(rt: Runtime, business: Business, workflow_id: object, body: object) -> Workflow:
    """Move the expiry (``expireIn`` days or ``expireInHours`` from now) and the reminders with it."""
    found = get_workflow(business, workflow_id)
    hours = rt.rules.expiry_hours(body)
    with db.atomic():
        workflow = flow.locked(found.id, business)
        WORKFLOWS.next_state(workflow.status, "extend")
        now = clock.now()
        if now + dt.timedelta(hours=hours) < workflow.expire_at:
            path = "expireIn" if isinstance(body, dict) and "expireIn" in body else "expireInHours"
            raise RuleViolation("Extending cannot bring the expiry forward.", [Problem(
                path, f"The workflow already runs until {workflow.expire_at.isoformat()}.", "WOULD_SHORTEN")])
        workflow.expire_at = now + dt.timedelta(hours=hours)
        confirmed = journey.confirmed(workflow)
        due = flow.schedule_reminder(rt, workflow, now) if workflow.status == "ACTIVE" and not confirmed else None
        save_status(workflow, workflow.status, expire_at=workflow.expire_at, next_notification_at=due, updated_at=now)
        _schedule_expiry(workflow)
        events.record(rt, workflow.business_id, "linx.workflow-expiry-changed", workflow.id, {
            "workflowId": str(workflow.id), "expireAt": workflow.expire_at.isoformat(), "status": workflow.status})
    return workflow


MANUAL_SENDS_PER_WINDOW = 5
MANUAL_WINDOW = dt.timedelta(minutes=10)


def resend(rt: Runtime, business: Business, workflow_id: object) -> tuple[Workflow, str | None]:
    """Send the link again; unlock a workflow locked by passcode attempts; a new passcode if one is used.

    Every link sent before stops working and every Gateway session of the workflow ends: whoever held the
    old link or cookie (the old passcode with it) must now have the new message. Besides this workflow's own
    cap on resends, the message counts against the rules' ``messageLimits`` (429, and nothing done, past one).

    Returns ``(workflow, passcode or None)``.
    """
    with db.atomic():
        workflow = flow.locked(get_workflow(business, workflow_id).id, business)
        WORKFLOWS.next_state(workflow.status, "resend")
        now = clock.now()
        recent = [n.created_at for n in Notification.select(Notification.created_at).where(
            (Notification.workflow == workflow.id) & (Notification.origin == "MANUAL")
            & (Notification.created_at > now - MANUAL_WINDOW)).order_by(Notification.created_at.desc())]
        if len(recent) >= MANUAL_SENDS_PER_WINDOW:
            freed = recent[MANUAL_SENDS_PER_WINDOW - 1] + MANUAL_WINDOW  # when the oldest that counts leaves
            raise limits.LimitReached(
                f"At most {MANUAL_SENDS_PER_WINDOW} resends in {MANUAL_WINDOW.seconds // 60} minutes.",
                "RESEND_RATE_LIMITED", max(1, math.ceil((freed - now).total_seconds())))
        passcode = None
        changes: dict[str, Any] = {"locked_at": None, "passcode_attempts": 0, "updated_at": now,
                                    **flow.end_sessions(workflow)}
        if workflow.passcode_hash:
            passcode = new_passcode(rt.rules.workflow["passcode"]["digits"])
            changes["passcode_hash"] = passcode_hash(rt.settings.secret_key, workflow.id, passcode)
        was_locked = workflow.locked_at is not None
        save_status(workflow, workflow.status, **changes)
        flow.revoke_links(workflow)  # the new message carries a new link, made when it is sent
        notifications.queue(rt, workflow, "MANUAL")
        events.record(rt, workflow.business_id, "linx.workflow-resent", workflow.id, {
            "workflowId": str(workflow.id), "unlocked": was_locked, "newPasscode": passcode is not None})
        limits.count_message(rt, business, workflow)
    return workflow, passcode


def remind(rt: Runtime, job: Job) -> None:
    """The ``remind`` job: a reminder if the workflow still waits and this reminder is still the due one."""
    with db.atomic():
        workflow = flow.locked(job.payload["workflowId"])
        due = job.payload["due"]
        if (workflow.status != "ACTIVE" or workflow.next_notification_at is None
                or workflow.next_notification_at.isoformat() != due):
            return
        if journey.confirmed(workflow):
            save_status(workflow, workflow.status, next_notification_at=None)  # confirmed: nothing left to remind
            return
        notifications.queue(rt, workflow, "REMINDER")
        workflow.reminders_sent += 1
        nxt = flow.schedule_reminder(rt, workflow, workflow.next_notification_at)
        save_status(workflow, workflow.status, reminders_sent=workflow.reminders_sent, next_notification_at=nxt)


def expire(rt: Runtime, job: Job) -> None:
    """The ``expire`` job: at ``expireAt`` a waiting workflow expires and the customer is told."""
    with db.atomic():
        workflow = flow.locked(job.payload["workflowId"])
        if workflow.expire_at.isoformat() != job.payload["expireAt"] or workflow.status not in WORKFLOWS.open_states:
            return
        if clock.now() < workflow.expire_at:
            raise jobs.RetryLater("not yet due", at=workflow.expire_at)
        if journey.confirmed(workflow):
            return  # confirmed: the money is moving, and the transaction ends the workflow
        expire_now(rt, workflow)


def expire_now(rt: Runtime, workflow: Workflow, notify: bool = True) -> None:
    """``workflow`` (read by :func:`flow.locked`, past its expiry, not confirmed) becomes EXPIRED and its links stop
    working; an ACTIVE one's customer is told (unless ``notify`` is False). Inside a transaction."""
    was_active = workflow.status == "ACTIVE"
    flow.move(rt, workflow, "expire", next_notification_at=None)
    flow.revoke_links(workflow)
    if was_active and notify:
        notifications.queue(rt, workflow, "EXPIRY")


# the lookups of every create, their SQL text built once (store.Prepared)
_CUSTOMER = Prepared(lambda id_, business: Customer.select().where(
    (Customer.id == id_) & (Customer.business == business)).limit(1), Customer.id, Customer.business)
_CUSTOMER_ACCOUNT = Prepared(lambda id_, customer, business: CustomerFinancialAccount.select().where(
    (CustomerFinancialAccount.id == id_) & (CustomerFinancialAccount.customer == customer)
    & (CustomerFinancialAccount.business == business)).limit(1),
    CustomerFinancialAccount.id, CustomerFinancialAccount.customer, CustomerFinancialAccount.business)
_BUSINESS_ACCOUNT = Prepared(lambda id_, business: BusinessFinancialAccount.select().where(
    (BusinessFinancialAccount.id == id_) & (BusinessFinancialAccount.business == business)).limit(1),
    BusinessFinancialAccount.id, BusinessFinancialAccount.business)


def _check_data(rt: Runtime, business: Business, params: dict[str, Any]) -> Customer | None:
    """Ids must be this business's (another's look exactly like ones that do not exist)."""
    problems: list[Problem] = []
    customer = None
    if "customerId" in params:
        customer = _CUSTOMER.first(params["customerId"], business)
        if customer is None:
            problems.append(Problem("parameters.customerId", "No such customer.", "CUSTOMER_NOT_FOUND"))
        elif customer.status == "ERASED":
            problems.append(Problem("parameters.customerId", "The customer's personal data was erased.",
                                    "CUSTOMER_ERASED"))
        else:  # their name and accounts are shown only to their own phone and mailbox
            problems += eligibility.contact_problems(customer, params)
    if "customerFinancialAccountId" in params and customer is not None:
        account = _CUSTOMER_ACCOUNT.first(params["customerFinancialAccountId"], customer, business)
        if account is None:
            problems.append(Problem("parameters.customerFinancialAccountId",
                                    "No such financial account for this customer.", "FINANCIAL_ACCOUNT_NOT_FOUND"))
        else:
            problems += eligibility.account_problems(rt, params, account, "parameters.customerFinancialAccountId")
    if "baFinancialAccountId" in params:
        ba = _BUSINESS_ACCOUNT.first(params["baFinancialAccountId"], business)
        if ba is None:
            problems.append(Problem("parameters.baFinancialAccountId", "No such business financial account.",
                                    "BUSINESS_ACCOUNT_NOT_FOUND"))
        elif params.get("currency") and ba.currency != params["currency"]:
            problems.append(Problem("parameters.currency",
                                    f"The business account holds {ba.currency}, not {params['currency']}.",
                                    "CURRENCY_MISMATCH"))
    if problems:
        raise RuleViolation("The request names data that does not fit.", problems)
    return customer


def get_workflow(business: Business, workflow_id: object) -> Workflow:
    """The business's workflow, or :class:`NotFound` (for another's too)."""
    try:
        wid = uuid.UUID(str(workflow_id))
    except ValueError:
        raise NotFound("No such workflow.", "WORKFLOW_NOT_FOUND") from None
    workflow = Workflow.get_or_none((Workflow.id == wid) & (Workflow.business == business))
    if workflow is None:
        raise NotFound("No such workflow.", "WORKFLOW_NOT_FOUND")
    return workflow


def list_workflows(rt: Runtime, business: Business, search: str | None = None, status: str | None = None, page: int = 1,
                   size: int = 20, sort: str | None = "createdAt,desc", template_id: str | None = None,
                   batch_id: str | None = None) -> Page:
    """One page of the business's workflows, newest first unless ``sort`` says otherwise; ``template_id`` and
    ``batch_id`` keep those made from that template or by that batch."""
    problems = check_paging(rt, page, size)
    made_by = {}
    for name, column, value in (("templateId", Workflow.template_id, template_id),
                                ("batchId", Workflow.batch_id, batch_id)):
        if value is not None:
            try:
                made_by[column] = uuid.UUID(value)
            except ValueError:
                problems.append(Problem(f"query.{name}", "Must be a UUID.", "INVALID_UUID"))
    if status is not None and status not in STATUSES:
        problems.append(Problem("query.status", f"Must be one of {', '.join(STATUSES)}.", "NOT_ALLOWED"))
    order = sort_order(sort, SORTS, "createdAt,desc", problems)
    if search is not None and len(search) > 200:
        problems.append(Problem("query.search", "Must be at most 200 characters.", "LENGTH"))
    if search is not None and has_controls(search):  # what no stored text holds, as the API's fields refuse it
        problems.append(Problem("query.search", "Must not contain control characters (line breaks, tabs, escapes, "
                                "NUL) or direction overrides.", "CONTROL_CHARACTER"))
    if problems:
        raise InvalidRequest("The query is not valid.", problems)
    query = Workflow.select(Workflow).join(Customer, peewee.JOIN.LEFT_OUTER).switch(Workflow).where(
        Workflow.business == business)
    if status:
        query = query.where(Workflow.status == status)
    for column, wanted in made_by.items():
        query = query.where(column == wanted)
    if search and search.strip():
        query = query.where(_search(search.strip()))
    total = query.count()
    items = list(query.order_by(order, Workflow.id.desc()).paginate(page, size))
    steps: dict[uuid.UUID, list[WorkflowStep]] = {}
    if items:
        for step in (WorkflowStep.select().where(WorkflowStep.workflow.in_([w.id for w in items]))
                     .order_by(WorkflowStep.position)):
            steps.setdefault(step.workflow_id, []).append(step)
    return Page(items, page, size, total, extra={"steps": steps})


def _search(term: str) -> peewee.Expression:
    """Matches the id, the title, the contact, or the customer's name, email or phone (case-insensitive)."""
    full_name = Customer.first_name.concat(" ").concat(Customer.last_name)
    clause = (Workflow.title.contains(term) | Workflow.phone_number.contains(term)
              | Workflow.email.contains(term) | full_name.contains(term)
              | Customer.email.contains(term) | Customer.phone_number.contains(term))
    with contextlib.suppress(ValueError):
        clause = clause | (Workflow.id == uuid.UUID(term))
    return clause
