"""``verify-email``: a sample third-party step kind. The customer types a code sent to their email.

Everything it needs comes through the hooks: its rule entry (``rule_entry``), its page's template
(``templates/``), its French (``translations/``), and the job that emails the code
(``linx_job_handlers``). Nothing in LinX itself names it.

No code is stored: the n-th code of a workflow is an HMAC of the workflow's id and n under the
server's secret, so the database holds only how many were sent, when, and how many tries were wrong.
A code is good for ``VALID_MINUTES``; ``MAX_TRIES`` wrong ones and a new one must be sent.
"""
import datetime as dt
import hashlib
import hmac
import re
from functools import lru_cache
from pathlib import Path

from linx_core import clock, hookimpl, jobs
from linx_core.channels import Message
from linx_core.errors import Problem
from linx_core.services.flow import steps_of
from linx_core.steps import Field, Page, StepKind, clean, refuse
from linx_core.store.models import Workflow

HERE = Path(__file__).resolve().parent
JOB = "verify-email.send"
DIGITS = 6
MAX_TRIES = 5  # wrong codes before a new one must be sent
MAX_SENDS = 3
VALID_MINUTES = 10
CODE = re.compile(rf"[0-9]{{{DIGITS}}}")  # ASCII digits only: a code is compared byte for byte


def code_for(rt, workflow_id, n):
    """The ``n``-th code of a workflow (``DIGITS`` digits)."""
    mac = hmac.new(rt.settings.secret_key.encode(), f"verify-email:{workflow_id}:{n}".encode(), hashlib.sha256)
    return str(int(mac.hexdigest(), 16) % 10 ** DIGITS).zfill(DIGITS)


@lru_cache(maxsize=4)
def _french():
    from babel.messages.pofile import read_po

    with (HERE / "translations" / "fr_CA" / "LC_MESSAGES" / "linx_verify_email.po").open("rb") as handle:
        return {m.id: m.string for m in read_po(handle) if m.id and m.string}


def _mask(email):
    name, _at, domain = (email or "").partition("@")
    return f"{name[:2]}…@{domain}" if domain else "…"


class VerifyEmail(StepKind):
    name = "verify-email"
    templates_dir = HERE / "templates"
    translations_dir = HERE / "translations"
    translation_domain = "linx_verify_email"

    def rule_entry(self):
        return {"order": 3, "displayName": "Email check",
                "description": "The customer types a code sent to their email address.",
                "parameters": {"required": ["email"]}}

    def describe(self, view):
        return view._("Confirm your email address")

    def _state(self, view):
        """The current step's data (how many codes were sent, when, how many tries were wrong)."""
        steps = steps_of(view.workflow)
        step = steps[view.workflow.current_step] if view.workflow.current_step < len(steps) else None
        return (step.data or {}) if step is not None and step.name == self.name else {}

    def page(self, view, values):
        _ = view._
        state = self._state(view)
        email = _mask(view.workflow.email or view.parameters.get("email"))
        if not state.get("sent"):
            return Page("verify_email/code.html", _("Confirm your email address"), [], sent=False,
                        text=_("We will email a code to {email}.", email=email), send_label=_("Email me a code"))
        error = ""
        if state.get("wrong"):
            left = MAX_TRIES - state.get("tries", 0)
            error = _("That code is not right. {n} tries left.", n=left) if left > 0 else \
                _("Too many wrong codes. Send a new one.")
        code = Field("code", _("Code"), inputmode="numeric", autocomplete="one-time-code", maxlength=DIGITS,
                     required=True, error=error, hint=_("{n} digits", n=DIGITS))
        return Page("verify_email/code.html", _("Enter the code we emailed you"), [code], sent=True,
                    text=_("We sent a code to {email}.", email=email), resend=state.get("sent", 0) < MAX_SENDS,
                    send_label=_("Send a new code"))

    def collect(self, view, form):
        if form.get("action") == "send" or not self._state(view).get("sent"):
            return {"action": "send", "lang": view.lang}
        values = clean(form, ["code"], view._)
        code = "".join(values["code"].split())
        refuse([Problem("code", view._("Enter the {n} digits of the code.", n=DIGITS), "INVALID_CODE")]
               if not CODE.fullmatch(code) else [])
        return {"code": code, "lang": view.lang}

    def complete(self, act, values):
        state = dict(act.step.data or {})
        sent, tries = state.get("sent", 0), state.get("tries", 0)
        _ = translator(values.get("lang"))
        if values.get("action") == "send":
            if sent >= MAX_SENDS:
                refuse([Problem("code", _("No more codes can be sent."), "TOO_MANY_CODES")])
            act.data(sent=sent + 1, tries=0, wrong=False, sentAt=clock.now().isoformat())
            jobs.enqueue(JOB, {"workflowId": str(act.workflow.id), "n": sent + 1, "lang": values.get("lang", "en")},
                         act.workflow.business_id)
            act.stay()
            return None
        if not sent or tries >= MAX_TRIES:
            refuse([Problem("code", _("Send a new code first."), "CODE_NEEDED")])
        if clock.now() - dt.datetime.fromisoformat(state["sentAt"]) > dt.timedelta(minutes=VALID_MINUTES):
            refuse([Problem("code", _("This code has expired. Send a new one."), "CODE_EXPIRED")])
        code = values.get("code", "")
        if not (CODE.fullmatch(code) and hmac.compare_digest(code_for(act.rt, act.workflow.id, sent), code)):
            act.data(tries=tries + 1, wrong=True)  # kept: the try counts even though the step stays
            act.stay()
            return None
        act.data(verified=act.workflow.email or act.parameters.get("email"), wrong=False,
                 verifiedAt=clock.now().isoformat())
        return None


def translator(lang):
    """This step's words in ``lang`` where no page is at hand (a refusal, the email)."""
    def _(text, **values):
        return (_french().get(text, text) if lang == "fr" else text).format(**values)

    return _


def send_code(rt, job):
    """Email the n-th code (the same code if the job runs again after a crash)."""
    workflow = Workflow.get_by_id(job.payload["workflowId"])
    code = code_for(rt, workflow.id, job.payload["n"])
    _ = translator(job.payload.get("lang"))

    to = workflow.email or (workflow.parameters or {}).get("email")
    rt.channel("EMAIL").send(Message(
        channel="EMAIL", to=to, subject=_("Your code"), text=_("Your code is {code}.", code=code),
        workflow_id=str(workflow.id), origin="VERIFY_EMAIL", business=str(workflow.business_id)))


@hookimpl
def linx_step_kinds(rt):
    return [VerifyEmail()]


@hookimpl
def linx_job_handlers(rt):
    return {JOB: send_code}
