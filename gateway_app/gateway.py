"""The customer Gateway: the pages a customer reaches from the link in the message.

``/l/<token>`` opens a link: it binds the browser's session to that one workflow and shows the
landing page (business, title, intro, the steps in plain words, the expiry, a passcode field when
one is required, Continue and Decline). Everything after it lives under ``/g/<workflow_id>/`` and
needs a session bound to that workflow (and past the passcode): one page per step at ``step``,
the ``done`` page, the ``decline`` page and the documents' full texts.

The pages are thin over :mod:`linx_core.services.journey`: they parse a form, call a service,
and render. The services refuse a post for a step that is not the current one (a replayed form,
the back button, a double click), and the page then sends the customer to the current step.

Security, all held here for the Gateway's routes only:
- the session (Flask's signed cookie) names one workflow; a session from one link never opens
  another, and a new link rebinds it (and asks for that link's passcode);
- every POST carries a CSRF token kept in the session (compared in constant time);
- cookies are HttpOnly, SameSite=Lax, and Secure unless in development on plain http;
- ``Content-Security-Policy: default-src 'self'``, ``X-Frame-Options: DENY``,
  ``Referrer-Policy: no-referrer``; no inline script or style; nothing from another host;
- link openings and passcode checks are rate-limited per client address, in memory per process
  (the passcode's attempt limit and the lock are in the database and hold across processes);
- a card or account number is never written back into a page.
"""
import base64
import binascii
import hmac
import logging
import re
import secrets
import threading
import time
import uuid
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from flask import (Blueprint, abort, current_app, g, make_response, redirect, render_template, request, session,
                   url_for)
from werkzeug.exceptions import HTTPException

from linx_core.errors import Conflict, LinxError, Problem, RuleViolation
from linx_core.services import journey
from linx_core.services.journey import StepNotCurrent, Unavailable
from linx_core.services.notifications import format_amount
from linx_core.services.workflows import steps_of
from linx_core.store import unavailable
from linx_core.store.models import (Business, Customer, CustomerFinancialAccount, DocumentAcceptance, Transaction,
                                    Workflow)

from . import gateway_i18n as i18n

log = logging.getLogger("linx.gateway")

bp = Blueprint("gateway", __name__, static_folder="static", static_url_path="/g/static")

DOCUMENTS = Path(__file__).resolve().parent / "documents"
CSP = "default-src 'self'"
DEFAULTS = {
    # (requests, seconds) per client address, in memory per process
    "LINX_GATEWAY_LINK_LIMIT": (30, 60.0),
    "LINX_GATEWAY_PASSCODE_LIMIT": (10, 60.0),
    "LINX_GATEWAY_IDLE_SECONDS": 3600,
}
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u2028\u2029]")
ECHO_MAX = 200


def init_app(app):
    """Register the Gateway on ``app``: its blueprint, cookie settings, limits."""
    rt = app.extensions["linx"]
    plain_http_dev = rt.settings.development and rt.settings.public_url.startswith("http://")
    app.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
                      SESSION_COOKIE_SECURE=not plain_http_dev)
    for key, value in DEFAULTS.items():
        app.config.setdefault(key, value)
    app.extensions["linx_gateway"] = {"limiter": RateLimiter()}
    app.register_blueprint(bp)


# -- rate limits -----------------------------------------------------------------------------------

class RateLimiter:
    """Sliding-window counters per (kind, client address), in this process's memory.

    Bounded: past ``max_keys`` addresses the least recently seen are forgotten.
    """

    def __init__(self, max_keys=10_000):
        self.max_keys = max_keys
        self._hits = OrderedDict()
        self._lock = threading.Lock()

    def allow(self, key, limit, window):
        """Count one hit for ``key``; False (and the seconds to wait) when over ``limit`` in ``window``."""
        now = time.monotonic()
        with self._lock:
            hits = self._hits.pop(key, None) or deque()
            while hits and hits[0] <= now - window:
                hits.popleft()
            self._hits[key] = hits
            while len(self._hits) > self.max_keys:
                self._hits.popitem(last=False)
            if len(hits) >= limit:
                return False, max(1, int(hits[0] + window - now) + 1)
            hits.append(now)
            return True, 0


class TooManyRequests(Exception):
    def __init__(self, retry_after):
        super().__init__("rate limited")
        self.retry_after = retry_after


def _limit(kind):
    limit, window = current_app.config[f"LINX_GATEWAY_{kind.upper()}_LIMIT"]
    ok, wait = current_app.extensions["linx_gateway"]["limiter"].allow((kind, request.remote_addr), limit, window)
    if not ok:
        raise TooManyRequests(wait)


# -- request set-up: language, CSRF, headers -------------------------------------------------------

def _rt():
    return current_app.extensions["linx"]


def _lang():
    if "lang" not in g:
        g.lang = i18n.pick(request.accept_languages)
    return g.lang


def _(msgid, **values):
    return i18n.gettext(_lang(), msgid, **values)


@bp.before_request
def _before():
    _lang()
    if request.method == "POST":
        sent = request.form.get("csrf_token", "")
        kept = session.get("csrf", "")
        if not kept or not hmac.compare_digest(sent.encode(), kept.encode()):
            raise BadCsrf()


@bp.after_request
def _security_headers(response):
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.vary.add("Accept-Language")
    response.vary.add("Cookie")
    return response


@bp.context_processor
def _template_globals():
    return {"_": _, "html_lang": i18n.HTML_LANG[_lang()], "csrf_token": _csrf_token}


def _csrf_token():
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


# -- errors: HTML pages for every path under /l and /g ---------------------------------------------

class BadCsrf(Exception):
    pass


class NotBound(Exception):
    """The session is not bound to this workflow (or timed out): the customer must open the link."""


class DeadEnd(Exception):
    def __init__(self, reason, workflow=None):
        super().__init__(reason)
        self.reason = reason
        self.workflow = workflow


@bp.errorhandler(BadCsrf)
def _bad_csrf(exc):
    return _message(400, _("This page has expired"),
                    _("For your security, the form could not be sent. Go back, reload the page and try again."))


@bp.errorhandler(NotBound)
def _not_bound(exc):
    return _message(403, _("Open the link from your message"),
                    _("This page opens only from the link you received. Open that link again. If this keeps "
                      "happening, allow cookies for this site."))


@bp.errorhandler(TooManyRequests)
def _too_many(exc):
    response = _message(429, _("Too many attempts"),
                        _("There were too many attempts from your connection. Wait a minute, then try again."))
    response.headers["Retry-After"] = str(exc.retry_after)
    return response


@bp.errorhandler(DeadEnd)
def _dead_end(exc):
    return dead_end(exc.reason, exc.workflow)


@bp.errorhandler(Unavailable)
def _unavailable(exc):
    return dead_end(exc.reason, exc.workflow)


@bp.errorhandler(LinxError)
def _linx_error(exc):
    if exc.status >= 500:
        log.error("trace %s: %s", g.get("trace_id"), exc)
        return _message(500, _("Something went wrong"), _("Something went wrong on our side. Try again later."))
    if exc.status == 404:
        return dead_end("UNKNOWN")
    return _message(exc.status if exc.status >= 400 else 400, _("This could not be done"),
                    i18n.problem_text(_lang(), exc.code, exc.message))


@bp.errorhandler(HTTPException)
def _http_error(exc):
    titles = {400: _("Something is wrong with this request"), 404: _("Page not found"),
              405: _("Page not found"), 413: _("That was too much to send"), 429: _("Too many attempts")}
    texts = {413: _("What you sent is larger than this page accepts. Go back and try again with less.")}
    code = exc.code or 500
    return _message(code, titles.get(code, _("Something went wrong")),
                    texts.get(code, _("Check the address, or open the link from your message again.")))


@bp.errorhandler(Exception)
def _unexpected(exc):
    if unavailable(exc):  # a passing database outage: the customer may simply try again
        log.warning("trace %s: database %s in the Gateway: %s", g.get("trace_id"), unavailable(exc), exc)
        response = _message(503, _("Something went wrong"), _("Something went wrong on our side. Try again later."))
        response.headers["Retry-After"] = "2"
        return response
    log.exception("trace %s: unexpected error in the Gateway", g.get("trace_id"))
    return _message(500, _("Something went wrong"),
                    _("Something went wrong on our side. Try again later. Reference: {trace}",
                      trace=g.get("trace_id", "")))


def _message(status, title, text, business=None, **extra):
    html = render_template("gateway/message.html", title=title, text=text, **_brand(business), **extra)
    return make_response(html, status)


# -- sessions --------------------------------------------------------------------------------------

def _bind(workflow):
    """Bind this browser's session to ``workflow``, and to nothing else."""
    session.clear()
    session["wf"] = str(workflow.id)
    session["ok"] = workflow.passcode_hash is None
    session["csrf"] = secrets.token_urlsafe(32)
    session["seen"] = int(time.time())


def _bound_workflow(workflow_id):
    """The workflow this session is bound to, if it is ``workflow_id``; else :class:`NotBound`."""
    if not workflow_id or session.get("wf") != workflow_id:
        raise NotBound()
    seen = session.get("seen", 0)
    if time.time() - seen > current_app.config["LINX_GATEWAY_IDLE_SECONDS"]:
        session.clear()
        raise NotBound()
    session["seen"] = int(time.time())
    try:
        workflow = Workflow.get_or_none(Workflow.id == uuid.UUID(workflow_id))
    except ValueError:
        workflow = None
    if workflow is None:
        raise NotBound()
    return workflow


def _gate(workflow_id, ended_to_done=True):
    """The workflow for a step page: bound session, past the passcode, still open to the customer."""
    workflow = _bound_workflow(workflow_id)
    if not session.get("ok"):
        abort(redirect(url_for("gateway.landing", workflow_id=workflow_id), 303))
    reason = journey.availability(workflow)
    if reason in ("COMPLETED", "FAILED") and ended_to_done:
        abort(redirect(url_for("gateway.done", workflow_id=workflow_id), 303))
    if reason is not None:
        raise DeadEnd(reason, workflow)
    return workflow


def _to_step(workflow_id):
    return redirect(url_for("gateway.step", workflow_id=workflow_id), 303)


# -- branding --------------------------------------------------------------------------------------

HEX_COLOR = re.compile(r"#[0-9A-Fa-f]{6}")
LOGO = re.compile(r"data:(image/(?:png|jpeg|gif|webp));base64,([A-Za-z0-9+/=\s]+)")
LOGO_MAX = 256 * 1024


def _brand(business):
    """What the page shows of the business: its display name, brand colour and logo (from settings)."""
    if business is None:
        return {"brand_name": "", "brand_css": None, "logo_url": None}
    settings = business.settings or {}
    color = settings.get("brandColor")
    logo = settings.get("logo")
    return {
        "brand_name": business.display_name,
        "brand_css": url_for("gateway.brand_css", business_id=str(business.id))
        if isinstance(color, str) and HEX_COLOR.fullmatch(color) else None,
        "logo_url": url_for("gateway.brand_logo", business_id=str(business.id))
        if isinstance(logo, str) and LOGO.fullmatch(logo) else None,
    }


def _business_by_id(business_id):
    try:
        return Business.get_or_none(Business.id == uuid.UUID(business_id))
    except ValueError:
        return None


@bp.get("/g/brand/<business_id>.css")
def brand_css(business_id):
    business = _business_by_id(business_id)
    color = ((business.settings or {}).get("brandColor") if business else None) or ""
    css = f":root{{--brand:{color};}}\n" if HEX_COLOR.fullmatch(color) else "\n"
    response = make_response(css)
    response.mimetype = "text/css"
    return response


@bp.get("/g/brand/<business_id>/logo")
def brand_logo(business_id):
    business = _business_by_id(business_id)
    match = LOGO.fullmatch(((business.settings or {}).get("logo") if business else None) or "")
    if not match:
        abort(404)
    try:
        data = base64.b64decode(match.group(2), validate=False)
    except (binascii.Error, ValueError):
        abort(404)
    if len(data) > LOGO_MAX:
        abort(404)
    response = make_response(data)
    response.mimetype = match.group(1)
    return response


# -- the link and the landing page -----------------------------------------------------------------

@bp.get("/l/<token>")
def link(token):
    _limit("link")
    rt = _rt()
    workflow = journey.open_link(rt, token)  # Unavailable -> the dead-end page (UNKNOWN looks EXPIRED)
    reason = journey.availability(workflow)
    if reason is not None:
        return dead_end(reason, workflow, bound=session.get("wf") == str(workflow.id) and session.get("ok"))
    if session.get("wf") != str(workflow.id):
        _bind(workflow)
    else:
        session["seen"] = int(time.time())
    return _landing(workflow)


@bp.get("/g/<workflow_id>")
def landing(workflow_id):
    workflow = _bound_workflow(workflow_id)
    reason = journey.availability(workflow)
    if reason is not None:
        raise DeadEnd(reason, workflow)
    return _landing(workflow)


@bp.post("/g/<workflow_id>/start")
def start(workflow_id):
    """Continue from the landing page: the passcode (when required), then the current step."""
    workflow = _bound_workflow(workflow_id)
    reason = journey.availability(workflow)
    if reason is not None:
        raise DeadEnd(reason, workflow)
    if session.get("ok"):
        return _to_step(workflow_id)
    _limit("passcode")
    passcode = request.form.get("passcode", "")
    if len(passcode) > 64 or CONTROL.search(passcode):
        passcode = ""
    result = journey.check_passcode(_rt(), workflow.id, passcode)
    if result.locked:
        return dead_end("LOCKED", workflow)
    if not result.ok:
        message = _("That passcode is not right.") if passcode.strip() else _("Enter your passcode.")
        left = _("{n} attempts left.", n=result.attempts_left) if result.attempts_left != 1 else _("1 attempt left.")
        return _landing(workflow, error=f"{message} {left}", status=422)
    session["ok"] = True
    session["csrf"] = secrets.token_urlsafe(32)
    return _to_step(workflow_id)


def _landing(workflow, error=None, status=200):
    rt = _rt()
    business = journey.business_of(workflow)
    steps = [s for s in steps_of(workflow) if s.name != "notification"]
    show_amount = bool(session.get("ok"))
    items = [{"text": _step_words(rt, workflow, s.name, show_amount), "done": s.status == "COMPLETED"}
             for s in steps]
    params = workflow.parameters or {}
    passcode_field = None
    if not session.get("ok"):
        passcode_field = Field("passcode", _("Passcode"), kind="text", inputmode="numeric",
                               autocomplete="one-time-code", maxlength=32, required=True, error=error or "",
                               hint=_("{business} gave you this passcode.", business=business.display_name))
    html = render_template(
        "gateway/landing.html", workflow=workflow, business=business, title=workflow.title,
        intro=params.get("introductoryMessage") or "", memo=workflow.customer_memo or "", steps=items,
        expires=i18n.format_datetime(_lang(), workflow.expire_at), expires_iso=workflow.expire_at.isoformat(),
        passcode=passcode_field, errors=[(passcode_field.id, error)] if error else [], **_brand(business))
    return make_response(html, status)


def _step_words(rt, workflow, name, show_amount):
    """A step in plain words for the landing page."""
    params = workflow.parameters or {}
    if name == "customer-account":
        return _("Tell us your name and contact details")
    if name == "lookup-profile":
        return _("Confirm that it is you")
    if name == "enhance-profile":
        return _("Add a few details to your profile")
    if name == "financial-account":
        subtypes = journey.account_subtypes(rt, workflow)
        if len(subtypes) == 1:
            return _("Add your {account}", account=i18n.subtype_words(_lang(), subtypes[0]))
        return _("Add the account to use")
    if name == "lookup-financial-account":
        return _("Choose the account to use")
    if name == "document-acceptance":
        count = len(params.get("documents") or [])
        return _("Read and accept {n} documents", n=count) if count != 1 else _("Read and accept a document")
    if name == "move-money":
        money = _money(rt, workflow) if show_amount else None
        if params.get("transactionType") == "REQUEST":
            return _("Confirm the payment of {money}", money=money) if money else _("Confirm the payment")
        return _("Confirm that you will receive {money}", money=money) if money else _("Confirm the payment")
    spec = rt.rules.steps.get(name, {})
    return spec.get("displayName") or name


# -- decline ---------------------------------------------------------------------------------------

@bp.route("/g/<workflow_id>/decline", methods=["GET", "POST"])
def decline(workflow_id):
    """Say no, with a reason from the rules. Needs the link (a bound session), not the passcode:
    someone the message was not meant for has no passcode and must still be able to say so."""
    workflow = _bound_workflow(workflow_id)
    reason = journey.availability(workflow)
    if reason in ("COMPLETED", "FAILED"):
        return redirect(url_for("gateway.done", workflow_id=workflow_id), 303)
    if reason is not None:
        raise DeadEnd(reason, workflow)
    if journey.confirmed(workflow):
        return redirect(url_for("gateway.done", workflow_id=workflow_id), 303)
    reasons = _decline_reasons()
    chosen = (request.values.get("reason") or "")[:64]
    if request.method == "GET":
        return _decline_page(workflow, reasons, chosen)
    try:
        journey.decline(_rt(), workflow.id, chosen)
    except RuleViolation:
        return _decline_page(workflow, reasons, "", error=_("Choose a reason."), status=422)
    except Conflict as exc:
        if exc.code == "ALREADY_CONFIRMED":
            return redirect(url_for("gateway.done", workflow_id=workflow_id), 303)
        raise
    session["ok"] = False
    return dead_end("DECLINED", Workflow.get_by_id(workflow.id), status=200)


def _decline_reasons():
    return [(key, i18n.gettext(_lang(), value.get("label") or key))
            for key, value in _rt().rules.catalog.get("declineReasons", {}).items()]


def _decline_page(workflow, reasons, chosen, error=None, status=200):
    business = journey.business_of(workflow)
    select = Field("reason", _("Reason"), kind="select", value=chosen if chosen in dict(reasons) else "",
                   options=[("", _("Choose a reason"))] + reasons, required=True, error=error or "")
    back = url_for("gateway.step", workflow_id=str(workflow.id)) if session.get("ok") else \
        url_for("gateway.landing", workflow_id=str(workflow.id))
    html = render_template("gateway/decline.html", workflow=workflow, business=business, field=select, back=back,
                           errors=[(select.id, error)] if error else [], **_brand(business))
    return make_response(html, status)


# -- the steps -------------------------------------------------------------------------------------

@dataclass
class Field:
    name: str
    label: str
    kind: str = "text"  # text, email, date, tel, select, checkbox
    value: str = ""
    error: str = ""
    required: bool = False
    autocomplete: str = ""
    inputmode: str = ""
    maxlength: int = 0
    hint: str = ""
    options: list = field(default_factory=list)
    checked: bool = False

    @property
    def id(self):
        return "f-" + re.sub(r"[^A-Za-z0-9_-]", "-", self.name)


class Page:
    """What a step page needs: its template, fields, errors and extra values."""

    def __init__(self, template, heading, fields=(), **extra):
        self.template = template
        self.heading = heading
        self.fields = list(fields)
        self.extra = extra


PROFILE = (  # name, label, kind, autocomplete, maxlength, inputmode
    ("firstName", "First name", "text", "given-name", 40, ""),
    ("lastName", "Last name", "text", "family-name", 40, ""),
    ("email", "Email", "email", "email", 254, "email"),
    ("dateOfBirth", "Date of birth", "date", "bday", 10, ""),
    ("street", "Street address", "text", "address-line1", 120, ""),
    ("city", "City", "text", "address-level2", 120, ""),
    ("state", "State or province", "text", "address-level1", 2, ""),
    ("postalCode", "ZIP or postal code", "text", "postal-code", 10, ""),
    ("country", "Country", "select", "country", 3, ""),
)
ADDRESS_PARTS = (("street", "Street address", "address-line1", 120), ("city", "City", "address-level2", 120),
                 ("state", "State or province", "address-level1", 2),
                 ("postalCode", "ZIP or postal code", "postal-code", 10))
SECRET_FIELDS = ("cardNumber", "accountNumber")


def _profile_fields(rt, values, required, names=None):
    out = []
    for name, label, kind, autocomplete, maxlength, inputmode in PROFILE:
        if names is not None and name not in names:
            continue
        f = Field(name, _(label), kind=kind, value=values.get(name, ""), required=name in required,
                  autocomplete=autocomplete, maxlength=maxlength, inputmode=inputmode)
        if name == "state":
            f.hint = _("Two letters, for example NY or ON")
        elif name == "country":
            f.options = [("", _("Choose a country"))] + [(c, i18n.country(_lang(), c)) for c in journey.COUNTRIES]
        out.append(f)
    return out


@bp.get("/g/<workflow_id>/step")
def step(workflow_id):
    workflow = _gate(workflow_id)
    if journey.confirmed(workflow):
        return redirect(url_for("gateway.done", workflow_id=workflow_id), 303)
    steps = steps_of(workflow)
    current = steps[workflow.current_step] if workflow.current_step < len(steps) else None
    if current is None or current.status != "ACTIVE":
        return _message(409, _("Almost ready"), _("This request is not ready yet. Wait a minute, then reload."),
                        journey.business_of(workflow))
    return _render_step(workflow, steps, current, {}, [])


@bp.post("/g/<workflow_id>/step")
def step_post(workflow_id):
    workflow = _gate(workflow_id)
    form = request.form
    try:
        position = int(form.get("position", "")[:6])
    except ValueError:
        return _to_step(workflow_id)
    name = form.get("step", "")
    handler = POSTS.get(name)
    if handler is None:
        return _to_step(workflow_id)
    try:
        outcome = handler(_rt(), workflow, position, form)
    except RuleViolation as exc:
        return _rerender(workflow, position, name, form, exc.problems)
    except (StepNotCurrent, Unavailable):
        return _to_step(workflow_id)
    except Conflict as exc:
        if exc.code == "ALREADY_CONFIRMED":
            return redirect(url_for("gateway.done", workflow_id=workflow_id), 303)
        if exc.code in ("CONCURRENT_UPDATE",) or exc.code.startswith("WORKFLOW_") or exc.code.startswith("STEP_"):
            return _to_step(workflow_id)
        return _message(409, _("This could not be done"), i18n.problem_text(_lang(), exc.code, exc.message),
                        journey.business_of(workflow), back=url_for("gateway.step", workflow_id=workflow_id))
    return outcome or _to_step(workflow_id)


def _rerender(workflow, position, name, form, problems):
    """The step's form again, with each problem next to its field and the values kept (never a number)."""
    steps = steps_of(workflow)
    if not (0 <= position < len(steps)) or steps[position].name != name or position != workflow.current_step:
        return _to_step(str(workflow.id))
    values = {k: CONTROL.sub("", v)[:ECHO_MAX] for k, v in form.items() if k not in SECRET_FIELDS}
    return _render_step(workflow, steps, steps[position], values, problems, status=422)


def _render_step(workflow, steps, current, values, problems, status=200):
    rt = _rt()
    business = journey.business_of(workflow)
    builder = PAGES.get(current.name)
    if builder is None:
        return _message(409, _("This step cannot be done here"),
                        _("Ask {business} how to go on.", business=business.display_name), business)
    page = builder(rt, workflow, values)
    by_path = {}
    for problem in problems:
        by_path.setdefault(problem.path, i18n.problem_text(_lang(), problem.code, problem.message))
    known = set()
    for f in page.fields:
        if f.name in by_path:
            f.error = by_path[f.name]
        known.add(f.name)
    for f in page.extra.get("groups", []):
        for part in f["fields"]:
            if part.name in by_path:
                part.error = by_path[part.name]
            known.add(part.name)
    all_fields = page.fields + [p for grp in page.extra.get("groups", []) for p in grp["fields"]]
    errors = [(f.id, f.error) for f in all_fields if f.error]
    errors += [(None, text) for path, text in by_path.items() if path not in known]
    total = len([s for s in steps if s.name != "notification"])
    number = len([s for s in steps[:current.position + 1] if s.name != "notification"])
    html = render_template(
        f"gateway/{page.template}.html", workflow=workflow, business=business, heading=page.heading,
        fields=page.fields, errors=errors, step_name=current.name, position=current.position,
        progress=_("Step {n} of {total}", n=number, total=total), action=url_for("gateway.step",
                                                                                workflow_id=str(workflow.id)),
        decline_url=url_for("gateway.decline", workflow_id=str(workflow.id)), **page.extra, **_brand(business))
    return make_response(html, status)


# customer-account, lookup-profile, enhance-profile

def _customer_account_page(rt, workflow, values):
    customer = journey.existing_customer(workflow)
    if customer is not None:
        return Page("welcome", _("Welcome back, {name}", name=customer.first_name),
                    text=_("{business} already knows you, so there is nothing to fill in.",
                           business=journey.business_of(workflow).display_name))
    required = rt.rules.steps["customer-account"].get("form", {}).get("required", ["firstName", "lastName"])
    return Page("form", _("About you"), _profile_fields(rt, values, required),
                intro=_("{business} needs a few details to create your account.",
                        business=journey.business_of(workflow).display_name),
                phone=i18n.format_phone(workflow.phone_number) if workflow.phone_number else None)


def _customer_account_post(rt, workflow, position, form):
    if journey.existing_customer(workflow) is not None:
        journey.create_customer(rt, workflow.id, position, {})
        return None
    values = _clean(form, [name for name, *_rest in PROFILE])
    journey.create_customer(rt, workflow.id, position, values)
    return None


def _lookup_profile_page(rt, workflow, values):
    customer = journey.existing_customer(workflow)
    return Page("welcome", _("Welcome back, {name}", name=customer.first_name if customer else ""),
                text=_("{business} already knows you, so there is nothing to fill in.",
                       business=journey.business_of(workflow).display_name), not_you=True)


def _lookup_profile_post(rt, workflow, position, form):
    journey.confirm_profile(rt, workflow.id, position)


def _enhance_page(rt, workflow, values):
    wanted = (workflow.parameters or {}).get("profileFields", [])
    labels = rt.rules.catalog.get("profileFields", {})
    fields_, groups = [], []
    for name in wanted:
        label = _(labels.get(name, {}).get("label") or name)
        if name.endswith("Address"):
            parts = [Field(f"{name}.{part}", _(plabel), value=values.get(f"{name}.{part}", ""), required=True,
                           autocomplete=f"{name.removesuffix('Address')} {auto}"
                           if name != "physicalAddress" else auto, maxlength=maxlength)
                     for part, plabel, auto, maxlength in ADDRESS_PARTS]
            for part in parts:
                if part.name.endswith(".state"):
                    part.hint = _("Two letters, for example NY or ON")
            groups.append({"legend": label, "fields": parts})
        elif name == "dateOfBirth":
            fields_.append(Field(name, _("Date of birth"), kind="date", value=values.get(name, ""), required=True,
                                 autocomplete="bday"))
        elif name.endswith("Phone"):
            fields_.append(Field(name, label, kind="tel", value=values.get(name, ""), required=True,
                                 autocomplete="tel", inputmode="tel", maxlength=20))
        else:
            fields_.append(Field(name, label, value=values.get(name, ""), required=True, maxlength=40))
    customer = journey.existing_customer(workflow)
    return Page("form", _("A few more details"), fields_, groups=groups,
                intro=_("{name}, {business} asks for a few more details.",
                        name=customer.first_name if customer else "", business=journey.business_of(workflow)
                        .display_name))


def _enhance_post(rt, workflow, position, form):
    wanted = (workflow.parameters or {}).get("profileFields", [])
    names = []
    for name in wanted:
        names += [f"{name}.{part}" for part, *_rest in ADDRESS_PARTS] if name.endswith("Address") else [name]
    values = _clean(form, names)
    problems = []
    for name in wanted:
        if name.endswith("Address"):
            found = journey.profile_problems(rt, {part: values.get(f"{name}.{part}", "")
                                                  for part in ("street", "city", "state")}, [])
            problems += [Problem(f"{name}.{p.path}", p.message, p.code) for p in found]
            postal = values.get(f"{name}.postalCode", "").strip()
            if postal and not re.fullmatch(r"[A-Za-z0-9 -]{3,10}", postal):
                problems.append(Problem(f"{name}.postalCode", _("Enter a valid ZIP or postal code."),
                                        "INVALID_POSTAL_CODE"))
        elif name.endswith("Phone") and values.get(name, "").strip():
            if not re.fullmatch(r"\+?[0-9 ().-]{7,20}", values[name].strip()):
                problems.append(Problem(name, _("Enter a phone number, for example +1 416 555 0123."),
                                        "INVALID_PHONE"))
        elif name != "dateOfBirth" and len(values.get(name, "").strip()) > 40:
            problems.append(Problem(name, _("At most {n} characters.", n=40), "LENGTH"))
    if not problems:
        journey.enhance_profile(rt, workflow.id, position, values)
        return
    # Every field here is required: with the faulty ones blanked the service must refuse, and says
    # what else is wrong, so each problem shows at once.
    faulty = {p.path for p in problems}
    try:
        journey.enhance_profile(rt, workflow.id, position, {k: ("" if k in faulty else v) for k, v in values.items()})
    except RuleViolation as exc:
        problems += [p for p in exc.problems if p.path not in faulty]
    raise RuleViolation("Some fields need attention.", problems)


# financial-account, lookup-financial-account

def _account_form(rt, workflow, values, action=None):
    allowed = journey.account_subtypes(rt, workflow)
    kinds = []
    for subtype in allowed:
        kind = rt.rules.account_kind(subtype)
        if kind not in kinds:
            kinds.append(kind)
    posted = (values.get("subtype") or "").upper()
    wanted = (values.get("kind") or request.args.get("kind") or "").upper()
    if posted in allowed:
        wanted = rt.rules.account_kind(posted)
    kind = wanted if wanted in kinds else kinds[0]
    subtypes = [s for s in allowed if rt.rules.account_kind(s) == kind]
    lang = _lang()
    fields_ = []
    if kind == "CARD":
        fields_.append(Field("holderName", _("Name on card"), value=values.get("holderName", ""), required=True,
                             autocomplete="cc-name", maxlength=120))
        fields_.append(Field("cardNumber", _("Card number"), required=True, autocomplete="cc-number",
                             inputmode="numeric", maxlength=23))
        fields_.append(Field("expiry", _("Expiry (MM/YY)"), value=values.get("expiry", ""), required=True,
                             autocomplete="cc-exp", inputmode="numeric", maxlength=7,
                             hint=_("For example, 04/29")))
        fields_.append(Field("postalCode", _("ZIP or postal code"), value=values.get("postalCode", ""),
                             required=True, autocomplete="postal-code", maxlength=10))
        if len(subtypes) > 1:
            fields_.insert(0, Field("subtype", _("Card type"), kind="select", value=posted, required=True,
                                    options=[("", _("Choose the card type"))]
                                    + [(s, i18n.subtype_title(lang, s)) for s in subtypes]))
    else:
        fields_.append(Field("holderName", _("Name on account"), value=values.get("holderName", ""), required=True,
                             autocomplete="name", maxlength=120))
        fields_.append(Field("routingNumber", _("Routing number"), value=values.get("routingNumber", ""),
                             required=True, inputmode="numeric", maxlength=11, hint=_("9 digits")))
        fields_.append(Field("accountNumber", _("Account number"), required=True, inputmode="numeric",
                             maxlength=20))
        fields_.append(Field("subtype", _("Account type"), kind="select",
                             value=posted if posted in subtypes else (subtypes[0] if len(subtypes) == 1 else ""),
                             required=True,
                             options=([] if len(subtypes) == 1 else [("", _("Choose the account type"))])
                             + [(s, i18n.subtype_title(lang, s)) for s in subtypes]))
        if journey.needs_billing_address(rt, workflow):
            billing = _profile_fields(rt, values, ("street", "city", "state", "postalCode", "country"),
                                      names=("street", "city", "state", "postalCode", "country"))
            fields_ += billing
    hidden = {"kind": kind}
    if kind == "CARD" and len(subtypes) == 1:
        hidden["subtype"] = subtypes[0]
    if action:
        hidden["action"] = action
    switch = [(k, url_for("gateway.step", workflow_id=str(workflow.id), kind=k.lower(),
                          **({"add": "1"} if action == "add" else {})))
              for k in kinds if k != kind]
    heading = _("Add your {account}", account=i18n.subtype_words(lang, subtypes[0])) if len(subtypes) == 1 else (
        _("Add your card") if kind == "CARD" else _("Add your bank account"))
    return Page("form", heading, fields_, hidden=hidden,
                switch=[(url, _("Use a card instead") if k == "CARD" else _("Use a bank account instead"))
                        for k, url in switch],
                intro=_("Your card and account numbers are encrypted and never shown again in full."))


def _financial_page(rt, workflow, values):
    return _account_form(rt, workflow, values)


ACCOUNT_FIELDS = ("holderName", "cardNumber", "expiry", "postalCode", "routingNumber", "accountNumber", "subtype",
                  "street", "city", "state", "country")


def _financial_post(rt, workflow, position, form):
    values = _clean(form, ACCOUNT_FIELDS)
    journey.add_account(rt, workflow.id, position, values)


def _lookup_account_page(rt, workflow, values):
    if values.get("action") == "add" or request.args.get("add"):
        return _account_form(rt, workflow, values, action="add")
    account_id = (workflow.parameters or {}).get("customerFinancialAccountId")
    account = CustomerFinancialAccount.get_or_none(
        (CustomerFinancialAccount.id == uuid.UUID(account_id))
        & (CustomerFinancialAccount.business == workflow.business_id)) if account_id else None
    return Page("account", _("Your account"), account=_account_words(account) if account else None,
                add_url=url_for("gateway.step", workflow_id=str(workflow.id), add="1"))


def _lookup_account_post(rt, workflow, position, form):
    if form.get("action") == "add":
        values = _clean(form, ACCOUNT_FIELDS)
        journey.add_account(rt, workflow.id, position, values)
    else:
        journey.use_account(rt, workflow.id, position)


def _account_words(account):
    lang = _lang()
    return i18n.account_words(lang, account.brand, account.subtype, account.last4)


# document-acceptance

def _documents_page(rt, workflow, values):
    docs = []
    catalog = rt.rules.catalog.get("documents", {})
    for item in (workflow.parameters or {}).get("documents", []):
        doc_id = item["documentId"]
        spec = catalog.get(doc_id, {})
        title = i18n.gettext(_lang(), spec.get("title", doc_id))
        docs.append({"title": title, "version": spec.get("version", ""),
                     "url": url_for("gateway.document", workflow_id=str(workflow.id), document_id=doc_id),
                     "field": Field(f"accept-{doc_id}", _("I accept {title}", title=title), kind="checkbox",
                                    checked=bool(values.get(f"accept-{doc_id}")))})
    return Page("documents", _("Documents to accept"), [d["field"] for d in docs], documents=docs)


def _documents_post(rt, workflow, position, form):
    wanted = [d["documentId"] for d in (workflow.parameters or {}).get("documents", [])]
    accepted = [d for d in wanted if form.get(f"accept-{d}")]
    journey.accept_documents(rt, workflow.id, position, accepted)


@bp.get("/g/<workflow_id>/documents/<document_id>")
def document(workflow_id, document_id):
    """A document's full text, from ``gateway_app/documents/<id>[.fr].txt``."""
    workflow = _bound_workflow(workflow_id)
    if not session.get("ok"):
        abort(redirect(url_for("gateway.landing", workflow_id=workflow_id), 303))
    spec = _rt().rules.catalog.get("documents", {}).get(document_id)
    text = _document_text(document_id) if spec else None
    if text is None:
        abort(404)
    business = journey.business_of(workflow)
    html = render_template("gateway/document.html", title=i18n.gettext(_lang(), spec["title"]),
                           version=spec["version"], paragraphs=[p.strip() for p in text.split("\n\n") if p.strip()],
                           back=url_for("gateway.step", workflow_id=workflow_id), **_brand(business))
    return make_response(html)


def _document_text(document_id):
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", document_id):
        return None
    for name in ([f"{document_id}.fr.txt"] if _lang() == "fr" else []) + [f"{document_id}.txt"]:
        path = DOCUMENTS / name
        if path.is_file():
            return path.read_text(encoding="utf-8")
    return None


# move-money

ARRIVAL = {  # (solution, priority) -> when; the rails own the real timing
    ("push-to-card", "IMMEDIATE"): "within minutes",
    ("push-to-card", None): "within minutes",
    ("ach", "SAME_DAY"): "the same business day",
    ("ach", "NEXT_DAY"): "the next business day",
    ("wire", "SAME_DAY"): "the same business day",
}


def _money(rt, workflow):
    params = workflow.parameters or {}
    amount = workflow.amount if workflow.amount is not None else Decimal(str(params.get("amount", "0")))
    currency = workflow.currency or params.get("currency") or "USD"
    return i18n.format_money(_lang(), format_amount(rt, amount, currency), currency)


def _arrival(workflow):
    params = workflow.parameters or {}
    when = ARRIVAL.get((params.get("solution"), params.get("priority"))) or "in a few business days"
    when = _(when)
    if params.get("transactionType") == "REQUEST":
        return _("Expected withdrawal: {when}.", when=when)
    return _("Expected arrival: {when}.", when=when)


def _move_sentence(rt, workflow, account, business):
    params = workflow.parameters or {}
    money = _money(rt, workflow)
    where = _account_words(account) if account else _("account")
    if params.get("transactionType") == "REQUEST":
        return _("{business} will collect {money} from your {account}", business=business.display_name,
                 money=money, account=where)
    if account is not None and account.type == "CARD":
        return _("You will receive {money} on your {account}", money=money, account=where)
    return _("You will receive {money} in your {account}", money=money, account=where)


def _move_page(rt, workflow, values):
    business = journey.business_of(workflow)
    account = CustomerFinancialAccount.get_or_none(CustomerFinancialAccount.id == workflow.customer_account_id) \
        if workflow.customer_account_id else None
    params = workflow.parameters or {}
    reason = rt.rules.catalog.get("paymentReasons", {}).get(params.get("paymentReasonId") or "", {})
    return Page("move_money", _("Confirm the payment"), sentence=_move_sentence(rt, workflow, account, business),
                arrival=_arrival(workflow),
                reason=i18n.gettext(_lang(), reason.get("description")) if reason.get("description") else None,
                description=params.get("description"), memo=params.get("memo"))


def _move_post(rt, workflow, position, form):
    journey.confirm(rt, workflow.id, position)
    return redirect(url_for("gateway.done", workflow_id=str(workflow.id)), 303)


PAGES = {
    "customer-account": _customer_account_page,
    "lookup-profile": _lookup_profile_page,
    "enhance-profile": _enhance_page,
    "financial-account": _financial_page,
    "lookup-financial-account": _lookup_account_page,
    "document-acceptance": _documents_page,
    "move-money": _move_page,
}
POSTS = {
    "customer-account": _customer_account_post,
    "lookup-profile": _lookup_profile_post,
    "enhance-profile": _enhance_post,
    "financial-account": _financial_post,
    "lookup-financial-account": _lookup_account_post,
    "document-acceptance": _documents_post,
    "move-money": _move_post,
}


TEXT_MAX = 254


def _clean(form, names):
    """The named fields, or :class:`RuleViolation` for text no field should hold (control characters,
    more than any field takes) before any service sees it. Each field's own rules are the services'."""
    values, problems = {}, []
    for name in names:
        raw = form.get(name, "")
        if CONTROL.search(raw):
            problems.append(Problem(name, _("Remove the special characters."), "INVALID_TEXT"))
        elif len(raw.strip()) > TEXT_MAX:
            problems.append(Problem(name, _("At most {n} characters.", n=TEXT_MAX), "LENGTH"))
        values[name] = raw
    if problems:
        raise RuleViolation("Some fields need attention.", problems)
    return values


# -- done, summary, dead ends ----------------------------------------------------------------------

TX_WORDS = {
    "NEW": "Processing", "PENDING": "Processing", "PROCESSING": "Processing", "APPROVED": "Processing",
    "SETTLED": "Funds sent", "CLEARED": "Funds received", "DECLINED": "The payment did not go through",
    "ERROR": "The payment did not go through", "CANCELLED": "The payment was cancelled",
    "REVERSED": "The payment was reversed",
}
TX_FINAL = ("SETTLED", "CLEARED", "DECLINED", "ERROR", "CANCELLED", "REVERSED")


@bp.get("/g/<workflow_id>/done")
def done(workflow_id):
    workflow = _bound_workflow(workflow_id)
    if not session.get("ok"):
        return redirect(url_for("gateway.landing", workflow_id=workflow_id), 303)
    reason = journey.availability(workflow)
    if reason is None and not journey.confirmed(workflow):
        return _to_step(workflow_id)
    if reason not in (None, "COMPLETED", "FAILED"):
        raise DeadEnd(reason, workflow)
    return _summary(workflow, detailed=True)


def _summary(workflow, detailed):
    """The done page (and the summary of a finished workflow): what happened, the payment's status."""
    rt = _rt()
    business = journey.business_of(workflow)
    tx = Transaction.get_or_none(Transaction.workflow == workflow.id)
    account = CustomerFinancialAccount.get_or_none(CustomerFinancialAccount.id == workflow.customer_account_id) \
        if workflow.customer_account_id else None
    customer = Customer.get_or_none(Customer.id == workflow.customer_id) if workflow.customer_id else None
    payment = None
    if tx is not None:
        payment = {
            "status": _(TX_WORDS.get(tx.status, "Processing")), "code": tx.status,
            "final": tx.status in TX_FINAL, "ok": tx.status in ("SETTLED", "CLEARED"),
            # the amount is for the customer who got past the passcode, not for whoever holds the link
            "sentence": _move_sentence(rt, workflow, account, business) if detailed else None,
            "arrival": _arrival(workflow) if tx.status not in TX_FINAL else None,
        }
    documents = [{"title": i18n.gettext(_lang(), d.title), "version": d.document_version}
                 for d in DocumentAcceptance.select().where(DocumentAcceptance.workflow == workflow.id)
                 .order_by(DocumentAcceptance.document_id)]
    if workflow.status == "COMPLETED":
        heading = _("All done")
    elif workflow.status == "FAILED" or (payment and payment["final"] and not payment["ok"]):
        heading = _("The payment did not go through")
    else:
        heading = _("Thank you")
    html = render_template(
        "gateway/done.html", workflow=workflow, business=business, heading=heading, payment=payment,
        title=workflow.title, documents=documents if detailed else [],
        name=customer.first_name if customer and detailed else None,
        account=_account_words(account) if account and detailed else None,
        refresh=15 if payment and not payment["final"] else None,
        reload_url=request.path, **_brand(business))
    return make_response(html, 200)


def dead_end(reason, workflow=None, status=None, bound=False):
    """The page for a link that leads nowhere usable, with its status. UNKNOWN is EXPIRED's page."""
    business = journey.business_of(workflow) if workflow is not None else None
    if reason in ("COMPLETED", "FAILED") and workflow is not None:
        return _summary(workflow, detailed=bool(bound))
    name = business.display_name if business is not None else None
    if reason == "LOCKED":
        title = _("This link is locked")
        text = _("There were too many wrong passcodes. Ask {business} to send you the link again.",
                 business=name) if name else _("There were too many wrong passcodes.")
        code = 423
    elif reason == "CANCELLED":
        title = _("This request was cancelled")
        text = _("{business} cancelled this request. There is nothing more to do.", business=name)
        code = 410
    elif reason == "DECLINED":
        title = _("You declined this request")
        text = _("{business} has been told. There is nothing more to do.", business=name)
        code = 410
    else:  # UNKNOWN, EXPIRED, ARCHIVED: one page, so a token cannot be probed
        title = _("This link has expired")
        text = _("Ask {business} for a new link.", business=name) if name else \
            _("Ask the business that sent it for a new link.")
        code = 410
    return _message(status or code, title, text, business, dead_end=True)


# -- anything else under /l and /g: the same HTML pages, never the API's JSON ----------------------

ANY = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


@bp.route("/l", defaults={"rest": ""}, methods=ANY, strict_slashes=False)
@bp.route("/l/<path:rest>", methods=ANY)
def unknown_link(rest):
    if request.method in ("GET", "HEAD"):
        _limit("link")
    return dead_end("UNKNOWN")


@bp.route("/g", defaults={"rest": ""}, methods=ANY, strict_slashes=False)
@bp.route("/g/<path:rest>", methods=ANY)
def unknown_page(rest):
    abort(404)


__all__ = ["bp", "init_app", "RateLimiter", "dead_end"]
