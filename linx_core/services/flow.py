"""Moving a workflow and its steps: what the workflow, journey, sending and transaction services share.

Every service that changes a workflow does it through these functions, inside its own ``db.atomic()``
and with the workflow read by :func:`locked`, so a status change is always saved with its event, and
the last step completed always finishes the workflow and queues the completion message. They sit below
the services that call them and import none of them: the services form a tree.

Lock order: a path that moves both a workflow and its transaction locks the workflow first.
"""
from __future__ import annotations

import datetime as dt
import uuid
from typing import TYPE_CHECKING, Any

from .. import clock, events, jobs
from ..errors import NotFound
from ..lifecycle import STEPS, WORKFLOWS, save_status
from ..store import Prepared, for_update
from ..store.models import Business, Link, Workflow, WorkflowStep
from . import notifications

if TYPE_CHECKING:  # pragma: no cover
    from ..runtime import Runtime


STATUS_EVENT = "linx.workflow-status-changed"


def locked(workflow_id: uuid.UUID | str, business: Business | None = None) -> Workflow:
    """The workflow, read inside the current transaction (row lock on PostgreSQL); NotFound if it is not there
    (or not ``business``'s, when given)."""
    query = Workflow.select().where(Workflow.id == workflow_id)
    if business is not None:
        query = query.where(Workflow.business == business)
    workflow = for_update(query).first()
    if workflow is None:
        raise NotFound("No such workflow.", "WORKFLOW_NOT_FOUND")
    return workflow


_STEPS_OF = Prepared(lambda workflow: WorkflowStep.select().where(WorkflowStep.workflow == workflow)
                     .order_by(WorkflowStep.position), WorkflowStep.workflow)


def steps_of(workflow: Workflow) -> list[WorkflowStep]:
    """The workflow's steps in order (every page of the Gateway reads them: a prepared select)."""
    return list(_STEPS_OF.rows(workflow))


def status_event(rt: Runtime, workflow: Workflow, previous: str | None) -> None:
    """``linx.workflow-status-changed``: the workflow's status went from ``previous`` (None: it was created)."""
    events.record(rt, workflow.business_id, STATUS_EVENT, workflow.id, status_data(workflow, previous))


def status_data(workflow: Workflow, previous: str | None) -> dict[str, Any]:
    """The data of :func:`status_event` (a batch records many at once with :func:`events.record_many`)."""
    return {"workflowId": str(workflow.id), "previousStatus": previous, "status": workflow.status,
            "currentStep": workflow.current_step}


def move(rt: Runtime, workflow: Workflow, trigger: str, **changes: Any) -> Workflow:
    """Apply ``trigger`` to ``workflow``, save it with ``changes`` and record the event. Inside a transaction."""
    previous = workflow.status
    new = WORKFLOWS.next_state(previous, trigger)
    save_status(workflow, new, updated_at=clock.now(), **changes)
    if new != previous:
        status_event(rt, workflow, previous)
    return workflow


def finish_workflow(rt: Runtime, workflow: Workflow, trigger: str) -> None:
    """COMPLETED (``complete``) or FAILED (``fail``); reminders stop. Inside a transaction.

    Links stay valid: opened again, they show the summary.
    """
    changes: dict[str, dt.datetime | None] = {"next_notification_at": None}
    if trigger == "complete":
        changes["completed_at"] = clock.now()
    move(rt, workflow, trigger, **changes)


def revoke_links(workflow: Workflow) -> None:
    """Every link of the workflow stops working (a cancel, a decline, the expiry, a resend)."""
    Link.update(revoked_at=clock.now()).where((Link.workflow == workflow.id) & Link.revoked_at.is_null()).execute()


def end_sessions(workflow: Workflow) -> dict[str, int]:
    """The change that ends every Gateway session bound to ``workflow`` so far: the next session epoch.

    Merge it into the ``save_status``/``move`` of the change that calls for it (a resend, a cancel, a lockout),
    so it is saved in that transaction under the workflow's version. The Gateway copies the epoch into a
    session when it binds one and refuses a session whose epoch is not the workflow's: the cookie is signed,
    not stored, so ending a session server-side means making what it carries out of date.
    """
    return {"session_epoch": workflow.session_epoch + 1}


def schedule_reminder(rt: Runtime, workflow: Workflow, start: dt.datetime) -> dt.datetime | None:
    """Queue the reminder job if a reminder is still due after ``start``; returns when (None: no reminder), for the
    caller to save as ``next_notification_at``."""
    rules = rt.rules.notifications["reminders"]
    due = start + dt.timedelta(hours=rules["everyHours"])
    if workflow.reminders_sent >= rules["max"] or due >= workflow.expire_at:
        return None
    jobs.enqueue("remind", {"workflowId": str(workflow.id), "due": due.isoformat()}, workflow.business_id,
                 run_at=due)
    return due


def complete_step(rt: Runtime, workflow: Workflow, steps: list[WorkflowStep], position: int) -> None:
    """Step ``position`` is COMPLETED and the next one ACTIVE; ``linx.workflow-updated`` says so. After the last
    step, an ACTIVE workflow is COMPLETED and the completion message queued.

    Inside a transaction, with ``workflow`` read by it.
    """
    now = clock.now()
    step = steps[position]
    previous_status = step.status
    _set_step(step, STEPS.next_state(step.status, "complete"), now)
    nxt = steps[position + 1] if position + 1 < len(steps) else None
    if nxt is not None and nxt.status == "CREATED":
        _set_step(nxt, STEPS.next_state(nxt.status, "start"), now)
    save_status(workflow, workflow.status, current_step=position + 1 if nxt is not None else position,
                updated_at=now)
    _step_event(rt, workflow, steps, step, previous_status, nxt)
    if nxt is None and workflow.status == "ACTIVE":
        finish_workflow(rt, workflow, "complete")
        notifications.queue(rt, workflow, "COMPLETION")


def move_step(rt: Runtime, workflow: Workflow, step: WorkflowStep, trigger: str) -> None:
    """Move one step (fail, decline) and record ``linx.workflow-updated``. Inside a transaction."""
    previous_status = step.status
    _set_step(step, STEPS.next_state(step.status, trigger), clock.now())
    steps = steps_of(workflow)
    nxt = next((s for s in steps if s.position == step.position + 1), None)
    _step_event(rt, workflow, steps, step, previous_status, nxt)


def first_expiry(workflow: Workflow, sent_at: dt.datetime) -> dt.datetime:
    """When the workflow expires if its first message leaves at ``sent_at``: a batch's workflow runs from its
    first message, not from the batch's 202; any other from its create."""
    if workflow.batch_id is None or workflow.status != "CREATED":
        return workflow.expire_at
    return sent_at + (workflow.expire_at - workflow.created_at)


def on_first_notification(rt: Runtime, workflow_id: uuid.UUID | str, sent_at: dt.datetime | None = None) -> None:
    """The first message went out (at ``sent_at``, the moment its text was written; default now): CREATED
    becomes ACTIVE, the notification step is done, reminders start.

    Inside a transaction.
    """
    workflow = locked(workflow_id)
    if workflow.status != "CREATED":
        return
    changes = {}
    if workflow.batch_id is not None:
        workflow.expire_at = first_expiry(workflow, sent_at or clock.now())
        changes["expire_at"] = workflow.expire_at
        jobs.enqueue("expire", {"workflowId": str(workflow.id), "expireAt": workflow.expire_at.isoformat()},
                     workflow.business_id, run_at=workflow.expire_at)
    move(rt, workflow, "activate", next_notification_at=schedule_reminder(rt, workflow, clock.now()), **changes)
    steps = steps_of(workflow)
    if steps and steps[0].status == "CREATED":
        complete_step(rt, workflow, steps, 0)


def _set_step(step: WorkflowStep, status: str, now: dt.datetime) -> None:
    WorkflowStep.update(status=status, updated_at=now).where(WorkflowStep.id == step.id).execute()
    step.status, step.updated_at = status, now


def _step_event(rt: Runtime, workflow: Workflow, steps: list[WorkflowStep], step: WorkflowStep,
                previous_status: str, nxt: WorkflowStep | None) -> None:
    """``linx.workflow-updated``: the step that moved, the next one, and every step's status."""
    events.record(rt, workflow.business_id, "linx.workflow-updated", workflow.id, {
        "workflowId": str(workflow.id),
        "status": workflow.status,
        "currentStep": workflow.current_step,
        "previousStep": {"name": step.name, "previousStatus": previous_status, "status": step.status},
        "nextStep": {"name": nxt.name, "status": nxt.status} if nxt is not None else None,
        "steps": [{"name": s.name, "status": s.status} for s in steps],
    })


__all__ = ["locked", "steps_of", "status_event", "move", "finish_workflow", "revoke_links", "end_sessions",
           "schedule_reminder", "complete_step", "move_step", "on_first_notification", "first_expiry"]
