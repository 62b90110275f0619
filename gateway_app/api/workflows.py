"""``/v2/linx/workflows``: create, read and search workflows."""
from flask import Blueprint, current_app, g, request, url_for

from linx_core.errors import InvalidRequest, Problem
from linx_core.services import journey, notifications, recovery, workflows

from .auth import idempotent, require_business
from .body import json_body
from .paging import query_int
from .render import View, render
from .schemas import NotificationHistoryOut, WorkflowCreatedOut, WorkflowOut, WorkflowPageOut

bp = Blueprint("workflows", __name__)
bp.before_request(require_business)

LIST_QUERY = ("search", "status", "page", "size", "sort", "templateId", "batchId")


def _rt():
    return current_app.extensions["linx"]


def _workflow_json(rt, workflow, schema=WorkflowOut, status=200, steps=None, **extra):
    """The workflow with its steps (and ``extra``, e.g. a passcode), as ``schema`` shows it."""
    steps = workflows.steps_of(workflow) if steps is None else steps
    return render(schema, View(workflow, steps=with_outcomes(rt, workflow, steps), **extra), status, rules=rt.rules)


def with_outcomes(rt, workflow, steps):
    """The steps, each with its ``data``: its outcome as its step kind tells it."""
    return [View(step, data=journey.outcome(rt, workflow, step)) for step in steps]


@bp.post("/workflows")
@idempotent
def create():
    rt = _rt()
    return _created(rt, workflows.create_workflow(rt, g.business, json_body()))


def _created(rt, created):
    """201 with the new workflow (its passcode this once) and its ``Location``: a create's answer, a recover's."""
    extra = {"passcode": created.passcode} if created.passcode else {}
    response = _workflow_json(rt, created.workflow, WorkflowCreatedOut, 201, created.steps, **extra)
    response.headers["Location"] = url_for("workflows.show", workflow_id=created.workflow.id)
    return response


@bp.get("/workflows/<workflow_id>")
def show(workflow_id):
    rt = _rt()
    workflow = workflows.get_workflow(g.business, workflow_id)
    return _workflow_json(rt, workflow)


@bp.post("/workflows/<workflow_id>/cancel")
@idempotent
def cancel(workflow_id):
    rt = _rt()
    workflow = workflows.cancel(rt, g.business, workflow_id)
    return _workflow_json(rt, workflow, WorkflowCreatedOut)


@bp.post("/workflows/<workflow_id>/archive")
@idempotent
def archive(workflow_id):
    rt = _rt()
    workflow = workflows.archive(rt, g.business, workflow_id)
    return _workflow_json(rt, workflow, WorkflowCreatedOut)


@bp.post("/workflows/<workflow_id>/extend")
@idempotent
def extend(workflow_id):
    rt = _rt()
    workflow = workflows.extend(rt, g.business, workflow_id, json_body())
    return _workflow_json(rt, workflow, WorkflowCreatedOut)


@bp.post("/workflows/<workflow_id>/resend")
@idempotent
def resend(workflow_id):
    rt = _rt()
    workflow, passcode = workflows.resend(rt, g.business, workflow_id)
    return _workflow_json(rt, workflow, WorkflowCreatedOut, **({"passcode": passcode} if passcode else {}))


@bp.post("/workflows/<workflow_id>/recover")
@idempotent
def recover(workflow_id):
    """A new workflow in place of an ended one; the body (``expireIn`` or ``expireInHours``) is optional."""
    rt = _rt()
    body = json_body() if request.get_data(cache=True).strip() else recovery.NO_BODY  # JSON null is a bad body
    return _created(rt, recovery.recover(rt, g.business, workflow_id, body))


@bp.get("/workflows/<workflow_id>/notifications/history")
def notification_history(workflow_id):
    workflow = workflows.get_workflow(g.business, workflow_id)
    return render(NotificationHistoryOut, {"content": notifications.history(workflow)})


@bp.get("/workflows")
def index():
    rt = _rt()
    args = request.args
    problems = [Problem(f"query.{k}", "Unknown query parameter.", "UNKNOWN_FIELD") for k in args if k not in LIST_QUERY]
    page = query_int(args, "page", 1, problems)
    size = query_int(args, "size", 20, problems)
    if problems:
        raise InvalidRequest("The query is not valid.", problems)
    result = workflows.list_workflows(rt, g.business, search=args.get("search"), status=args.get("status"),
                                      page=page, size=size, sort=args.get("sort"),
                                      template_id=args.get("templateId"), batch_id=args.get("batchId"))
    steps = result.extra["steps"]
    found = journey.outcomes(rt, [(w, step) for w in result.items for step in steps.get(w.id, [])])
    page = View(result, items=[View(w, steps=[View(step, data=found[step.id]) for step in steps.get(w.id, [])])
                               for w in result.items])
    return render(WorkflowPageOut, page, rules=rt.rules)
