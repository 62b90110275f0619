"""What the customer does through the Gateway: open the link, give the passcode, complete each step,
decline. The Gateway's pages call these and hold no rule of their own; what a step does is its kind's
(:mod:`linx_core.steps`, provided by plugins), called by :func:`submit`.

:func:`submit` takes the step's ``position`` as the form knew it: a post for a step that is not
the current one (a replayed form, the back button, a double click) is refused with
:class:`StepNotCurrent` and changes nothing. Each runs in one transaction with the workflow read
under its version (and a row lock on PostgreSQL), so two concurrent posts cannot both win.
"""
from __future__ import annotations

import functools
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import clock, events
from ..errors import Conflict, LinxError, Problem, RuleViolation
from ..lifecycle import STEPS, WORKFLOWS, save_status
from ..secrets import passcode_matches, token_hash
from ..steps import StepAct
from ..store import Prepared, db
from ..store.models import Business, Link, Transaction, Workflow, WorkflowStep
from . import flow
from .flow import complete_step, move_step, steps_of

if TYPE_CHECKING:  # pragma: no cover
    from ..runtime import Runtime
    from ..steps import StepKind


class Unavailable(LinxError):
    """The link leads nowhere usable: ``reason`` is UNKNOWN, EXPIRED, CANCELLED, LOCKED, COMPLETED, DECLINED,
    FAILED or ARCHIVED. The Gateway shows UNKNOWN exactly like EXPIRED, so tokens cannot be probed. ``live``: the
    link was still in force when the workflow expired (not revoked before, by a resend or a cancel), so its holder
    may be offered a new one (:func:`linx_core.services.recovery.offer`)."""

    STATUS = {"UNKNOWN": 404, "EXPIRED": 410, "CANCELLED": 410, "LOCKED": 423, "ARCHIVED": 410}

    def __init__(self, reason: str, workflow: Workflow | None = None, live: bool = False) -> None:
        super().__init__(f"This link is {reason.lower()}.", f"LINK_{reason}", self.STATUS.get(reason, 409))
        self.reason = reason
        self.workflow = workflow
        self.live = live


class StepNotCurrent(Conflict):
    def __init__(self) -> None:
        super().__init__("That step is not the current one.", "STEP_NOT_CURRENT")


@dataclass
class PasscodeResult:
    ok: bool
    attempts_left: int
    locked: bool = False


def open_link(rt: Runtime, token: str | None) -> Workflow:
    """The workflow behind ``token``, or :class:`Unavailable`. A finished workflow is returned (its summary)."""
    if not token or len(token) > 100:
        raise Unavailable("UNKNOWN")
    link = _LINK.first(token_hash(token))
    if link is None:
        raise Unavailable("UNKNOWN")
    workflow = _by_id(Workflow, _WORKFLOW, link.workflow_id)
    reason = availability(workflow)
    if reason in ("EXPIRED", "CANCELLED", "ARCHIVED") or (link.revoked_at is not None and reason is None):
        raise Unavailable(reason or "EXPIRED", workflow, live=live_at_expiry(link, workflow))
    if reason is None and workflow.status == "CREATED":
        workflow = _sent_by_its_link(rt, workflow, link)
    return workflow


def _sent_by_its_link(rt: Runtime, workflow: Workflow, link: Link) -> Workflow:
    """A live link of a workflow still CREATED: its message was handed to the channel, so it counts as sent.

    The ``notify`` job records the link in the same transaction that marks its notification SENDING,
    before the channel is called; the workflow becomes ACTIVE only when the job records the send
    (``_finish``). A worker killed in between leaves the notification SENDING until its job's lease
    ends (up to a minute), while the customer already holds the link: the link itself is the proof
    that the message left, so opening it activates the workflow now, as
    :func:`flow.on_first_notification` would (idempotent: the job's own ``_finish`` later finds it
    ACTIVE). The message itself is never sent again: the job that comes back finds its notification
    SENDING and marks it UNKNOWN (at most once). A link whose send failed was revoked and never gets here.

    The link is read again under the workflow's lock: a resend or a cancel that revoked it meanwhile
    wins, and the row returned is the one read under that lock (its session epoch the one in force).
    """
    with db.atomic():
        locked = flow.locked(workflow.id)
        fresh = Link.get_by_id(link.id)
        if fresh.revoked_at is not None:
            raise Unavailable(availability(locked) or "EXPIRED", locked, live=live_at_expiry(fresh, locked))
        flow.on_first_notification(rt, workflow.id)
        return flow.locked(workflow.id)


def live_at_expiry(link: Link, workflow: Workflow) -> bool:
    """Whether ``link`` was still in force when ``workflow`` expired: not revoked, or revoked by the expiry itself
    (a link a resend replaced before is not: every link sent before a resend stops working for good)."""
    return link.revoked_at is None or link.revoked_at >= workflow.expire_at


def availability(workflow: Workflow) -> str | None:
    """None while the customer can act; else why not (LOCKED, EXPIRED, or the ended status)."""
    if workflow.status in WORKFLOWS.open_states:
        if clock.now() >= workflow.expire_at and not confirmed(workflow):
            return "EXPIRED"
        if workflow.locked_at is not None:
            return "LOCKED"
        return None
    return workflow.status


def confirmed(workflow: Workflow) -> bool:
    """Whether the workflow's payment was confirmed (its transaction exists)."""
    return Transaction.select().where(Transaction.workflow == workflow.id).exists()


def check_passcode(rt: Runtime, workflow_id: uuid.UUID | str, passcode: str | None) -> PasscodeResult:
    """Compare in constant time; count failures; lock (with an event, ending the workflow's sessions) at the
    limit."""
    limit = rt.rules.workflow["passcode"]["maxAttempts"]
    with db.atomic():
        workflow = flow.locked(workflow_id)
        if workflow.locked_at is not None:
            return PasscodeResult(False, 0, locked=True)
        if workflow.passcode_hash is None or passcode_matches(rt.settings.secret_key, workflow.id,
                                                              (passcode or "").strip()[:32], workflow.passcode_hash):
            if workflow.passcode_attempts:
                save_status(workflow, workflow.status, passcode_attempts=0)
            return PasscodeResult(True, limit)
        attempts = workflow.passcode_attempts + 1
        locked = attempts >= limit
        # a lockout also ends the workflow's Gateway sessions (a customer already past the passcode too: whoever
        # is guessing may share the device); its links then open only the locked page, until a resend
        save_status(workflow, workflow.status, passcode_attempts=attempts,
                    **({"locked_at": clock.now(), **flow.end_sessions(workflow)} if locked else {}))
        if locked:
            events.record(rt, workflow.business_id, "linx.workflow-locked", workflow.id, {
                "workflowId": str(workflow.id), "attempts": attempts, "status": workflow.status})
        return PasscodeResult(False, max(limit - attempts, 0), locked=locked)


def _current(workflow_id: uuid.UUID | str, position: int, name: str) -> tuple[Workflow, list[WorkflowStep]]:
    """The workflow (locked) and its steps, if ``position`` is its current step and it can still act."""
    workflow = flow.locked(workflow_id)
    reason = availability(workflow)
    if reason is not None:
        raise Unavailable(reason, workflow)
    steps = steps_of(workflow)
    if position != workflow.current_step or position >= len(steps) or steps[position].status != "ACTIVE":
        raise StepNotCurrent()
    if steps[position].name != name:
        raise StepNotCurrent()
    return workflow, steps


def _save(workflow: Workflow, **changes: Any) -> None:
    save_status(workflow, workflow.status, **changes)


def _step_data(step: WorkflowStep, **data: Any) -> None:
    merged = dict(step.data or {}, **data)
    WorkflowStep.update(data=merged).where(WorkflowStep.id == step.id).execute()
    step.data = merged


# -- the current step, through its kind -----------------------------------------------------------

def step_kind(rt: Runtime, name: str) -> StepKind:
    """The :class:`~linx_core.steps.StepKind` named ``name``, or :class:`StepNotCurrent` for a name no plugin
    provides (a forged form)."""
    kind = rt.step_kinds.get(name)
    if kind is None:
        raise StepNotCurrent()
    return kind


def submit(rt: Runtime, workflow_id: uuid.UUID | str, position: int, name: str,
           values: Mapping[str, Any] | None) -> Any:
    """Complete the current step ``name`` at ``position`` with ``values``: its kind's ``complete``, in one
    transaction with the workflow locked. Returns what the kind returned (the customer, the account...).

    A post for a step that is not the current one changes nothing (:class:`StepNotCurrent`); a refusal
    (:class:`~linx_core.errors.RuleViolation`) keeps nothing.
    """
    kind = step_kind(rt, name)
    with db.atomic():
        workflow, steps = _current(workflow_id, position, name)
        return _complete(rt, kind, _act(rt, workflow, steps, position), dict(values or {}))


def _act(rt: Runtime, workflow: Workflow, steps: list[WorkflowStep], position: int) -> StepAct:
    """The :class:`StepAct` of the current step: ``data`` merges into the step's data, ``save`` writes the
    workflow's columns under its version."""
    return StepAct(rt, workflow, steps, position, data=functools.partial(_step_data, steps[position]),
                   save=functools.partial(_save, workflow))


def _complete(rt: Runtime, kind: StepKind, act: StepAct, values: dict[str, Any]) -> Any:
    """The kind's ``complete`` with ``values``, then the step completed unless it stays: what :func:`submit` (a
    post) and :func:`advance` (a ``skip``) both do. Returns what the kind returned."""
    outcome = kind.complete(act, values)
    if not act.staying:
        complete_step(rt, act.workflow, act.steps, act.position)
    return outcome


def outcome(rt: Runtime, workflow: Workflow, step: WorkflowStep) -> dict[str, Any]:
    """What ``step`` came to, as its kind tells it (``StepKind.outcome``): the API's ``steps[].data``.
    A step no installed plugin provides any more shows what it kept."""
    kind = rt.step_kinds.get(step.name)
    return kind.outcome(rt, workflow, step) if kind is not None else dict(step.data or {})


def outcomes(rt: Runtime, pairs: list[tuple[Workflow, WorkflowStep]]) -> dict[Any, dict[str, Any]]:
    """``{step id: outcome}`` for many steps (a page of workflows), each kind asked once for all its steps
    (``StepKind.outcomes``), so the store is read per kind, not per row."""
    by_kind: dict[str, list[tuple[Workflow, WorkflowStep]]] = {}
    for workflow, step in pairs:
        by_kind.setdefault(step.name, []).append((workflow, step))
    out: dict[Any, dict[str, Any]] = {}
    for name, group in by_kind.items():
        kind = rt.step_kinds.get(name)
        found = kind.outcomes(rt, group) if kind is not None else [dict(s.data or {}) for _, s in group]
        out.update({step.id: data for (_, step), data in zip(group, found, strict=True)})
    return out


def advance(rt: Runtime, workflow_id: uuid.UUID | str) -> int:
    """Complete, one after another, the current steps whose kind asks the customer nothing (its ``skip``
    answers values), while a later step has a page: an existing customer goes straight to what is left to
    do (the confirm page). Called by the Gateway once the passcode is passed. Returns how many steps it
    completed; one transaction with the workflow locked, as :func:`submit`.
    """
    done = 0
    with db.atomic():
        workflow = flow.locked(workflow_id)
        if availability(workflow) is not None or confirmed(workflow):
            return 0
        steps = steps_of(workflow)
        while workflow.current_step < len(steps) and steps[workflow.current_step].status == "ACTIVE":
            position = workflow.current_step
            kind = rt.step_kinds.get(steps[position].name)
            later = [rt.step_kinds.get(s.name) for s in steps[position + 1:]]
            if kind is None or not kind.has_page or not any(k is None or k.has_page for k in later):
                break
            act = _act(rt, workflow, steps, position)
            values = kind.skip(act)
            if values is None:
                break
            _complete(rt, kind, act, values)
            if act.staying:
                break
            done += 1
    return done


# -- decline ---------------------------------------------------------------------------------

def decline(rt: Runtime, workflow_id: uuid.UUID | str, reason: str) -> Workflow:
    """The customer says no, with a reason from the rules' ``declineReasons``."""
    reasons = rt.rules.catalog.get("declineReasons", {})
    if reason not in reasons:
        raise RuleViolation("Choose a reason.", [Problem("reason", f"Choose one of: {', '.join(reasons)}.",
                                                         "NOT_ALLOWED")])
    with db.atomic():
        workflow = flow.locked(workflow_id)
        why = availability(workflow)
        if why is not None:
            raise Unavailable(why, workflow)
        if confirmed(workflow):
            raise Conflict("This payment is confirmed already.", "ALREADY_CONFIRMED")
        steps = steps_of(workflow)
        if workflow.current_step < len(steps) and steps[workflow.current_step].status in STEPS.open_states:
            move_step(rt, workflow, steps[workflow.current_step], "decline")
        flow.move(rt, workflow, "decline", decline_reason=reason, next_notification_at=None)
        flow.revoke_links(workflow)
    return workflow


def business_of(workflow: Workflow) -> Business:
    return _by_id(Business, _BUSINESS, workflow.business_id)


# the selects of every link opened and every Gateway page, their SQL text built once (store.Prepared)
_LINK = Prepared(lambda digest: Link.select().where(Link.token_hash == digest).limit(1), Link.token_hash)
_WORKFLOW = Prepared(lambda id_: Workflow.select().where(Workflow.id == id_).limit(1), Workflow.id)
_BUSINESS = Prepared(lambda id_: Business.select().where(Business.id == id_).limit(1), Business.id)


def _by_id(model: Any, prepared: Prepared, id_: object) -> Any:
    """``model.get_by_id(id_)``: the row, or ``model.DoesNotExist``."""
    row = prepared.first(id_)
    if row is None:
        raise model.DoesNotExist(f"{model.__name__} {id_} does not exist")
    return row


__all__ = ["Unavailable", "StepNotCurrent", "PasscodeResult", "open_link", "availability", "live_at_expiry",
           "confirmed", "check_passcode", "step_kind", "submit", "outcome", "advance", "decline", "business_of"]
