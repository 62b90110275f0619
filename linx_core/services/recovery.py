"""Recovering an ended workflow: a new one with the same parameters and steps, sent as any new workflow.

An EXPIRED, CANCELLED, DECLINED or FAILED workflow can be recovered once: by its business through the API, or
(where the business allows it, for a workflow without a passcode) by its customer from the expired link's page.
The new workflow is made by :func:`linx_core.services.workflows.create_workflow`, the create's own path (the
rules checked again, the first message queued, the recipient limits counted, a new passcode), in one
transaction with the old workflow locked, marked ``recovered_by`` and its ``linx.workflow-recovered`` event.

What a step already made is not made twice: each step's kind says what it becomes in the recovery
(:meth:`linx_core.steps.StepKind.recovered`), so a customer the old workflow created is looked up, not asked
for again. This module names no step.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from .. import clock, events
from ..errors import Conflict, NotFound
from ..lifecycle import WORKFLOWS, save_status
from ..store import db
from ..store.models import Business, Event, Workflow
from . import businesses, flow, journey, workflows
from .workflows import Created

if TYPE_CHECKING:  # pragma: no cover
    from ..runtime import Runtime

BUSINESS, CUSTOMER = "BUSINESS", "CUSTOMER"
#: what the expired link's page offers its customer (:func:`offer`)
OFFER, SENT = "OFFER", "SENT"
#: a recover without a body (an empty request; the customer's press): the new workflow runs as long as the old did
NO_BODY: Any = object()


class AlreadyRecovered(Conflict):
    def __init__(self, workflow: Workflow) -> None:
        super().__init__(f"This workflow was recovered already, by workflow {workflow.recovered_by}.",
                         "WORKFLOW_ALREADY_RECOVERED")


class SelfServiceUnavailable(Conflict):
    def __init__(self) -> None:
        super().__init__("This workflow cannot be recovered by its customer.", "SELF_SERVICE_RECOVERY_UNAVAILABLE")


def recover(rt: Runtime, business: Business, workflow_id: object, body: object = NO_BODY,
            requested_by: str = BUSINESS) -> Created:
    """The workflow that replaces the ended workflow ``workflow_id`` of ``business`` (404 for another's).

    ``body`` (a JSON object, or :data:`NO_BODY`) may give ``expireIn`` (days) or ``expireInHours``, checked as an
    extend's; without them the new
    workflow runs as long as the old one did (within the rules' bounds). A workflow whose time is up but whose
    expire job has not run yet is expired here first, for either caller. 409 for a workflow that has not
    ended (``WORKFLOW_ACTIVE``...) or was recovered already (``WORKFLOW_ALREADY_RECOVERED``); 422 when the old
    parameters no longer pass the rules or the data; 429 past a message limit. Nothing is kept on a refusal.
    """
    found = workflows.get_workflow(business, workflow_id)  # 404 before anything about the body
    hours = None if body is NO_BODY else rt.rules.optional_expiry_hours(body)  # as an extend's body (JSON null: 400)
    with db.atomic():
        old = flow.locked(found.id, business)
        due = old.status in WORKFLOWS.open_states and _past_expiry(old)  # expired by the clock, its job not run yet
        # every check first, the expiry after: a refusal writes nothing, not even the expiry
        if requested_by == CUSTOMER and _offered(rt, old, business) is None:
            raise SelfServiceUnavailable()
        if old.recovered_by is not None:
            raise AlreadyRecovered(old)
        WORKFLOWS.next_state("EXPIRED" if due else old.status, "recover")
        if due:  # as its expire job would, now (the new link is the news: no expiry message)
            workflows.expire_now(rt, old, notify=False)
        request = request_for(rt, old, hours)

        def mark_old(new: Workflow) -> None:
            save_status(old, old.status, recovered_by=new.id, updated_at=clock.now())
            events.record(rt, business.id, "linx.workflow-recovered", old.id, {
                "workflowId": str(old.id), "recoveredBy": str(new.id), "status": old.status,
                "requestedBy": requested_by})

        return workflows.create_workflow(rt, business, request, recovered_from=old, then=mark_old)


def offer(rt: Runtime, workflow: Workflow) -> str | None:
    """What the page of ``workflow``'s expired link offers its customer: :data:`OFFER` ("Send me a new link"),
    :data:`SENT` (a new link was sent already), or None (nothing: self-service is off for its business, the
    workflow has a passcode the customer could not learn again, or it has not expired)."""
    return _offered(rt, workflow, Business.get_by_id(workflow.business_id))


def recover_for_customer(rt: Runtime, workflow_id: object) -> Created:
    """"Send me a new link", pressed on the expired link's page: the recovery workflow, its link sent to the
    same phone or email. :class:`AlreadyRecovered` once it was done, :class:`SelfServiceUnavailable` where it
    is not offered, :class:`~linx_core.services.limits.LimitReached` past a recipient limit."""
    workflow = Workflow.get_or_none(Workflow.id == workflow_id)
    if workflow is None:
        raise NotFound("No such workflow.", "WORKFLOW_NOT_FOUND")
    return recover(rt, Business.get_by_id(workflow.business_id), workflow.id, requested_by=CUSTOMER)


def _offered(rt: Runtime, workflow: Workflow, business: Business) -> str | None:
    if workflow.passcode_hash is not None or not businesses.self_service_recovery(rt, business):
        return None
    if not (workflow.status == "EXPIRED" or (workflow.status in WORKFLOWS.open_states and _past_expiry(workflow))):
        return None
    if workflow.recovered_by is not None:
        return SENT
    if _self_service_chain(workflow) >= rt.rules.workflow["recovery"]["maxSelfService"]:
        return None  # it was itself made by a customer's press (as many times in a row as the rules allow)
    return OFFER


def _self_service_chain(workflow: Workflow) -> int:
    """How many self-service recoveries in a row made ``workflow``: 0 for one its business created or recovered."""
    count, parent = 0, workflow.recovered_from
    while parent is not None and count < 100:
        made = [e for e in Event.select(Event.data).where((Event.type == "linx.workflow-recovered")
                                                          & (Event.subject_id == parent))]
        if not any((e.data or {}).get("requestedBy") == CUSTOMER for e in made):
            break
        count += 1
        parent = Workflow.select(Workflow.recovered_from).where(Workflow.id == parent).scalar()
    return count


def _past_expiry(workflow: Workflow) -> bool:
    """Expired by the clock, its ``expire`` job not run yet (the customer's page already says expired)."""
    return journey.availability(workflow) == "EXPIRED"


def request_for(rt: Runtime, old: Workflow, hours: int | None = None) -> dict[str, Any]:
    """The create request of ``old``'s recovery: its title, memo, passcode choice, parameters and steps, each step
    as its kind says it becomes (:meth:`~linx_core.steps.StepKind.recovered`); the parameters only a replaced step
    used are left out. It runs ``hours`` (the recover body's), else as long as ``old`` ran. The step-kind contract
    checks that what a kind's replacement makes of it passes the rules (:mod:`linx_core.testing.steps`)."""
    parameters = dict(old.parameters or {})
    names: list[str] = []
    replaced: set[str] = set()
    for step in flow.steps_of(old):
        kind = rt.step_kinds.get(step.name)
        replacement = kind.recovered(step, old) if kind is not None else None
        if replacement is None:
            names.append(step.name)
            continue
        names.append(replacement.name)
        replaced |= _parameters_of(rt, step.name)
        parameters.update(replacement.parameters)
    used = set().union(*(_parameters_of(rt, name) for name in names))
    for name in replaced - used:
        parameters.pop(name, None)
    body: dict[str, Any] = {"title": old.title, "parameters": parameters, "steps": [{"name": n} for n in names],
                            "passcode": old.passcode_hash is not None}
    if old.customer_memo:
        body["customerMemo"] = old.customer_memo
    return {**body, "expireInHours": _hours(rt, old) if hours is None else hours}


def _parameters_of(rt: Runtime, step: str) -> set[str]:
    """The parameters ``step`` uses: those it names, and those its ``conditions`` look at, require or allow (a
    parameter a condition forbids is not one it uses)."""
    entry = rt.rules.steps.get(step, {})
    spec = entry.get("parameters", {})
    names = {name for key in ("required", "optional", "bySolution") for name in spec.get(key, [])}
    for condition in entry.get("conditions", []):
        names |= set(condition.get("when", {})) | set(condition.get("require", [])) | set(condition.get("allow", {}))
    return names


def _hours(rt: Runtime, old: Workflow) -> int:
    """As long as ``old`` ran (creation to expiry), within the rules' bounds."""
    bounds = rt.rules.workflow["expiry"]
    hours = math.ceil((old.expire_at - old.created_at).total_seconds() / 3600)
    return min(max(hours, bounds["minHours"]), bounds["maxHours"])


__all__ = ["recover", "offer", "recover_for_customer", "request_for", "AlreadyRecovered", "SelfServiceUnavailable",
           "OFFER", "SENT", "BUSINESS", "CUSTOMER", "NO_BODY"]
