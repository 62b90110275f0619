"""The step pages: one route for every step kind, which the current step's kind fills.

``GET /g/<id>/step`` asks the current step's kind for its page; ``POST`` hands the form to the kind's
``collect`` and then to :func:`linx_core.services.journey.submit`, which completes the step through the
kind's ``complete`` in one transaction. A refusal shows the page again with each problem next to its
field and the values kept (never a card or account number); a post for a step that is not the current
one (a replayed form, the back button, a double click) lands on the current step.
"""
from flask import make_response, redirect, render_template, request, url_for

from linx_core.errors import Conflict, RuleViolation
from linx_core.services import journey
from linx_core.services.flow import steps_of
from linx_core.services.journey import StepNotCurrent, Unavailable
from linx_core.steps import CONTROL, StepView

from .. import i18n
from ..forms import StepForm
from . import security
from .blueprint import bp
from .branding import brand
from .pages import message
from .words import _, lang, rt, translator, words

ECHO_MAX = 200


def kind_of(step):
    return rt().step_kinds.get(step.name)


def view(kind, workflow, business=None, show_amount=True):
    """The :class:`~linx_core.steps.StepView` a kind builds its words and page from."""
    workflow_id = str(workflow.id)
    return StepView(rt=rt(), workflow=workflow, business=business or journey.business_of(workflow), lang=lang(),
                    _=translator(kind), url=lambda **query: url_for("gateway.step", workflow_id=workflow_id, **query),
                    args=request.args, words=words, show_amount=show_amount,
                    client={"ipAddress": request.remote_addr or "", "userAgent": request.headers.get("User-Agent", "")})


def with_page(steps):
    """The steps the customer sees (a kind with a page)."""
    return [s for s in steps if (kind_of(s) is None or kind_of(s).has_page)]


def describe(workflow, business, steps, show_amount):
    """``[(step, words)]`` for the landing page."""
    out = []
    for step in with_page(steps):
        kind = kind_of(step)
        text = kind.describe(view(kind, workflow, business, show_amount)) if kind is not None else step.name
        out.append((step, text))
    return out


def to_step(workflow_id):
    return redirect(url_for("gateway.step", workflow_id=workflow_id), 303)


@bp.get("/g/<workflow_id>/step")
def step(workflow_id):
    workflow = security.gate(workflow_id)
    if journey.confirmed(workflow):
        return redirect(url_for("gateway.done", workflow_id=workflow_id), 303)
    steps = steps_of(workflow)
    current = steps[workflow.current_step] if workflow.current_step < len(steps) else None
    if current is None or current.status != "ACTIVE":
        return message(409, _("Almost ready"), _("This request is not ready yet. Wait a minute, then reload."),
                       journey.business_of(workflow))
    return _render(workflow, steps, current, {}, [])


@bp.post("/g/<workflow_id>/step")
def step_post(workflow_id):
    workflow = security.gate(workflow_id)
    form = request.form
    posted = StepForm()
    if not posted.validate():  # no step or position: a forged or truncated post
        return to_step(workflow_id)
    name, position = posted.step.data, posted.position.data
    steps = steps_of(workflow)
    kind = rt().step_kinds.get(name)
    if kind is None or not kind.has_page or position != workflow.current_step or position >= len(steps) \
            or steps[position].name != name:
        return to_step(workflow_id)  # not the current step: a replayed form, the back button, a forged name
    try:
        values = kind.collect(view(kind, workflow), form)
        journey.submit(rt(), workflow.id, position, name, values)
    except RuleViolation as exc:
        return _rerender(workflow, position, name, form, exc.problems)
    except (StepNotCurrent, Unavailable):
        return to_step(workflow_id)
    except Conflict as exc:
        if exc.code == "ALREADY_CONFIRMED":
            return redirect(url_for("gateway.done", workflow_id=workflow_id), 303)
        if exc.code in ("CONCURRENT_UPDATE",) or exc.code.startswith("WORKFLOW_") or exc.code.startswith("STEP_"):
            return to_step(workflow_id)
        return message(409, _("This could not be done"), i18n.problem_text(exc.code, exc.message),
                       journey.business_of(workflow), back=url_for("gateway.step", workflow_id=workflow_id))
    if journey.confirmed(workflow):
        return redirect(url_for("gateway.done", workflow_id=workflow_id), 303)
    return to_step(workflow_id)


def _rerender(workflow, position, name, form, problems):
    """The step's form again, with each problem next to its field and the values kept (never a number)."""
    steps = steps_of(workflow)
    if not (0 <= position < len(steps)) or steps[position].name != name or position != workflow.current_step:
        return to_step(str(workflow.id))
    kind = kind_of(steps[position])
    secret = set(getattr(kind, "secret_fields", ()))
    values = {k: CONTROL.sub("", v)[:ECHO_MAX] for k, v in form.items() if k not in secret}
    refused = {problem.path for problem in problems}
    retype = {name: kind.retype(view(kind, workflow), name) for name in sorted(secret)
              if (form.get(name) or "").strip() and name not in refused}
    return _render(workflow, steps, steps[position], values, problems, status=422, retype=retype)


def _render(workflow, steps, current, values, problems, status=200, retype=None):
    business = journey.business_of(workflow)
    kind = kind_of(current)
    if kind is None or not kind.has_page:
        return message(409, _("This step cannot be done here"),
                       _("Ask {business} how to go on.", business=business.display_name), business)
    page = kind.page(view(kind, workflow, business), values)
    by_path, required = {}, set()
    for problem in problems:
        by_path.setdefault(problem.path, i18n.problem_text(problem.code, problem.message))
        if problem.code == "REQUIRED":
            required.add(problem.path)
    known = set()
    for f in page.all_fields():
        if f.name in by_path:  # a missing field is named, in the summary as next to it
            f.error = _("{label} is required.", label=f.label) if f.name in required else by_path[f.name]
        elif f.name in (retype or {}):
            f.notice = retype[f.name]
        known.add(f.name)
    errors = [(f.id, f.error or f.notice) for f in page.all_fields() if f.error or f.notice]
    errors += [(None, text) for path, text in by_path.items() if path not in known]
    shown = with_page(steps)
    number = len(with_page(steps[:current.position + 1]))
    context = dict(page.extra)  # the kind's values first: the Gateway's own names win (RESERVED)
    context.update(brand(business), workflow=workflow, business=business, heading=page.heading,
                   fields=page.fields, errors=errors, step_name=current.name, position=current.position,
                   progress=_("Step {n} of {total}", n=number, total=len(shown)),
                   action=url_for("gateway.step", workflow_id=str(workflow.id)),
                   decline_url=url_for("gateway.decline", workflow_id=str(workflow.id)))
    return make_response(render_template(page.template, **context), status)


def template_loader(app):
    """The app's templates, then each step kind's own (``templates_dir``)."""
    from jinja2 import ChoiceLoader, FileSystemLoader

    dirs = [str(k.templates_dir) for k in app.extensions["linx"].step_kinds.values() if k.templates_dir]
    return ChoiceLoader([app.jinja_loader] + [FileSystemLoader(d) for d in dirs]) if dirs else app.jinja_loader


__all__ = ["bp", "step", "step_post", "describe", "view", "to_step", "template_loader"]
