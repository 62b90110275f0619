"""The link, the landing page (what is asked, the passcode) and the decline page."""
import contextlib
import re

from flask import make_response, redirect, render_template, request, url_for

from linx_core.errors import Conflict, RuleViolation
from linx_core.services import journey
from linx_core.services.flow import steps_of
from linx_core.steps import Field
from linx_core.store.models import Workflow

from ..forms import DeclineForm, PasscodeForm
from . import security
from .blueprint import bp
from .branding import brand
from .dispatch import describe, to_step
from .pages import dead_end
from .words import _, rt, words

#: what a customer may type between a passcode's digits, as messages and cards group them
SEPARATORS = re.compile(r"[\s.\-]+")
#: the longest passcode compared (no passcode the rules make is longer)
MAX_PASSCODE = 64


@bp.get("/l/<token>")
def link(token):
    security.limit("link")
    workflow = journey.open_link(rt(), token)  # Unavailable -> the dead-end page (UNKNOWN looks EXPIRED)
    reason = journey.availability(workflow)
    if reason is not None:
        return dead_end(reason, workflow, bound=security.is_bound(workflow) and security.passed())
    if not security.is_bound(workflow):
        security.bind(workflow)
    else:
        security.touch()
    return _landing(workflow)


@bp.get("/g/<workflow_id>")
def landing(workflow_id):
    workflow = security.bound_workflow(workflow_id)
    reason = journey.availability(workflow)
    if reason is not None:
        raise security.DeadEnd(reason, workflow)
    return _landing(workflow)


@bp.post("/g/<workflow_id>/start")
def start(workflow_id):
    """Continue from the landing page: the passcode (when required), then the current step."""
    workflow = security.bound_workflow(workflow_id)
    reason = journey.availability(workflow)
    if reason is not None:
        raise security.DeadEnd(reason, workflow)
    if security.passed():
        return _onward(workflow)
    security.limit("passcode")
    form = PasscodeForm()
    form.validate()  # its token; the passcode's own checks follow, each with its words
    passcode = SEPARATORS.sub("", form.passcode.data or "")  # "123 456", "123-456", "123.456" are 123456
    error = None  # nothing to compare (empty, letters, junk, too long): refused as it is, no attempt spent
    if not passcode:
        error = _("Enter your passcode.")
    elif not (passcode.isascii() and passcode.isdigit()):
        error = _("A passcode has digits only. Type the digits you were given: this try did not count.")
    elif len(passcode) > MAX_PASSCODE:
        error = _("That passcode is too long. Type the digits you were given: this try did not count.")
    if error is not None:
        return _landing(workflow, error=error, status=422)
    result = journey.check_passcode(rt(), workflow.id, passcode)
    if result.locked:
        return dead_end("LOCKED", workflow)
    if not result.ok:
        message = _("That passcode is not right.")
        left = _("{n} attempts left.", n=result.attempts_left) if result.attempts_left != 1 else _("1 attempt left.")
        return _landing(workflow, error=f"{message} {left}", status=422)
    security.pass_passcode()
    return _onward(workflow)


def _onward(workflow):
    """Past the passcode: the steps that ask the customer nothing are done (each kind says so), then the
    current step's page (an existing customer's: the confirm page)."""
    with contextlib.suppress(Conflict, RuleViolation):  # another tab moved on, or a step would not pass: its page says
        journey.advance(rt(), workflow.id)
    return to_step(str(workflow.id))


def _landing(workflow, error=None, status=200):
    business = journey.business_of(workflow)
    show_amount = security.passed()
    items = [{"text": text, "done": step.status == "COMPLETED"}
             for step, text in describe(workflow, business, steps_of(workflow), show_amount)]
    params = workflow.parameters or {}
    passcode_field = None
    if not show_amount:
        passcode_field = Field("passcode", _("Passcode"), kind="text", inputmode="numeric",
                               autocomplete="one-time-code", maxlength=32, required=True, error=error or "",
                               hint=_("{business} gave you this passcode.", business=business.display_name))
    html = render_template(
        "gateway/landing.html", workflow=workflow, business=business, title=workflow.title,
        intro=params.get("introductoryMessage") or "", memo=workflow.customer_memo or "", steps=items,
        expires=words.time(workflow, workflow.expire_at, business), expires_iso=workflow.expire_at.isoformat(),
        passcode=passcode_field, errors=[(passcode_field.id, error)] if error else [], **brand(business))
    return make_response(html, status)


@bp.route("/g/<workflow_id>/decline", methods=["GET", "POST"])
def decline(workflow_id):
    """Say no, with a reason from the rules. Needs the link (a bound session), not the passcode:
    someone the message was not meant for has no passcode and must still be able to say so."""
    workflow = security.bound_workflow(workflow_id)
    reason = journey.availability(workflow)
    if reason in ("COMPLETED", "FAILED"):
        return redirect(url_for("gateway.done", workflow_id=workflow_id), 303)
    if reason is not None:
        raise security.DeadEnd(reason, workflow)
    if journey.confirmed(workflow):
        return redirect(url_for("gateway.done", workflow_id=workflow_id), 303)
    reasons = [(key, words.label(value.get("label") or key))
               for key, value in rt().rules.catalog.get("declineReasons", {}).items()]
    if request.method == "GET":
        return _decline_page(workflow, reasons, (request.args.get("reason") or "")[:64])
    form = DeclineForm()
    try:
        journey.decline(rt(), workflow.id, form.reason.data if form.validate() else "")
    except RuleViolation:
        return _decline_page(workflow, reasons, "", error=_("Choose a reason."), status=422)
    except Conflict as exc:
        if exc.code == "ALREADY_CONFIRMED":
            return redirect(url_for("gateway.done", workflow_id=workflow_id), 303)
        raise
    security.leave()
    return dead_end("DECLINED", Workflow.get_by_id(workflow.id), status=200)


def _decline_page(workflow, reasons, chosen, error=None, status=200):
    business = journey.business_of(workflow)
    select = Field("reason", _("Reason"), kind="select", value=chosen if chosen in dict(reasons) else "",
                   options=[("", _("Choose a reason"))] + reasons, required=True, error=error or "")
    back = url_for("gateway.step", workflow_id=str(workflow.id)) if security.passed() else \
        url_for("gateway.landing", workflow_id=str(workflow.id))
    html = render_template("gateway/decline.html", workflow=workflow, business=business, field=select, back=back,
                           errors=[(select.id, error)] if error else [], **brand(business))
    return make_response(html, status)
