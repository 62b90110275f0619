"""The Gateway's error pages and dead ends: HTML for every path under /l and /g, never the API's JSON."""
import logging

from flask import abort, g, make_response, render_template, request, url_for
from werkzeug.exceptions import HTTPException

from linx_core.errors import LinxError
from linx_core.services import journey, recovery
from linx_core.services.journey import Unavailable
from linx_core.store import unavailable

from .. import i18n
from ..forms import CSRFError
from . import security
from .blueprint import bp
from .branding import brand
from .summary import summary
from .words import _, rt

log = logging.getLogger("linx.gateway")


def message(status, title, text, business=None, **extra):
    """A page that says one thing (an error, a dead end), with ``status``."""
    html = render_template("gateway/message.html", title=title, text=text, **brand(business), **extra)
    return make_response(html, status)


def dead_end(reason, workflow=None, status=None, bound=False, live=False):
    """The page for a link that leads nowhere usable, with its status. UNKNOWN is EXPIRED's page. ``live``: the
    link just opened was in force when the workflow expired (:attr:`Unavailable.live`)."""
    business = journey.business_of(workflow) if workflow is not None else None
    if reason in ("COMPLETED", "FAILED") and workflow is not None:
        return summary(workflow, detailed=bool(bound))
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
    else:  # UNKNOWN, EXPIRED, ARCHIVED: the same words, so an unknown token reads as an expired one; only a link
        # that was real and live when its workflow expired may add "Send me a new link" (_expired), and its holder
        # knows it is real already
        title = _("This link has expired")
        text = _("Ask {business} for a new link.", business=name) if name else \
            _("Ask the business that sent it for a new link.")
        code = 410
        if reason == "EXPIRED" and workflow is not None:
            return _expired(workflow, business, status or code, title, text, live)
    return message(status or code, title, text, business, dead_end=True)


def _expired(workflow, business, status, title, text, live):
    """The expired page, with "Send me a new link" where the business lets its customers recover the workflow
    (:func:`linx_core.services.recovery.offer`). Its form needs the session bound to this workflow in its current
    epoch: a session bound already, or the link just opened if it was ``live`` when the workflow expired (the link
    is the proof, as for any page of the workflow). A link a resend replaced before is no proof: it gets the plain
    page, and binds nothing (every link sent before a resend stops working).

    Binding ends whatever this browser's session held; it is not done over a journey still live in another
    workflow (the customer in the middle of another request from the same browser): that page offers nothing
    then, and once the other journey ends, the expired link opened again offers the button."""
    offered = recovery.offer(rt(), workflow)
    if offered == recovery.OFFER and not (live or security.is_bound(workflow)):
        offered = None
    name = business.display_name
    if offered == recovery.SENT:
        return message(status, _("A new link was sent"),
                       _("{business} sent you a new link. Open it from your newest message.", business=name),
                       business, dead_end=True)
    if offered != recovery.OFFER:
        return message(status, title, text, business, dead_end=True)
    if not security.is_bound(workflow):
        if security.live_elsewhere(workflow):
            return message(status, title, text, business, dead_end=True)
        security.bind(workflow)
    where = {"SMS": _("{business} can text a new link to the phone number this link was sent to.", business=name),
             "EMAIL": _("{business} can email a new link to the address this link was sent to.", business=name)}
    return message(status, title, where.get(workflow.channel) or _(
        "{business} can send a new link to where this link was sent.", business=name), business, dead_end=True,
        recover_url=url_for("gateway.recover", workflow_id=str(workflow.id)))


@bp.errorhandler(CSRFError)
def _bad_csrf(exc):
    return message(400, _("This page has expired"),
                   _("For your security, the form could not be sent. Go back, reload the page and try again."))


@bp.errorhandler(security.NotBound)
def _not_bound(exc):
    return message(403, _("Open the link from your message"),
                   _("This page opens only from the link you received. Open that link again. If this keeps "
                     "happening, allow cookies for this site."))


@bp.errorhandler(security.TooManyRequests)
def _too_many(exc):
    response = message(429, _("Too many attempts"),
                       _("There were too many attempts from your connection. Wait a minute, then try again."))
    response.headers["Retry-After"] = str(exc.retry_after)
    return response


@bp.errorhandler(security.DeadEnd)
def _dead_end(exc):
    return dead_end(exc.reason, exc.workflow)


@bp.errorhandler(Unavailable)
def _unavailable(exc):
    return dead_end(exc.reason, exc.workflow, live=exc.live)


@bp.errorhandler(LinxError)
def _linx_error(exc):
    if exc.status >= 500:
        log.error("trace %s: %s", g.get("trace_id"), exc)
        return message(500, _("Something went wrong"), _("Something went wrong on our side. Try again later."))
    if exc.status == 404:
        return dead_end("UNKNOWN")
    return message(exc.status if exc.status >= 400 else 400, _("This could not be done"),
                   i18n.problem_text(exc.code, exc.message))


@bp.errorhandler(HTTPException)
def _http_error(exc):
    titles = {400: _("Something is wrong with this request"), 404: _("Page not found"),
              405: _("Page not found"), 413: _("That was too much to send"), 429: _("Too many attempts")}
    texts = {413: _("What you sent is larger than this page accepts. Go back and try again with less.")}
    code = exc.code or 500
    return message(code, titles.get(code, _("Something went wrong")),
                   texts.get(code, _("Check the address, or open the link from your message again.")))


@bp.errorhandler(Exception)
def _unexpected(exc):
    if unavailable(exc):  # a passing database outage: the customer may simply try again
        log.warning("trace %s: database %s in the Gateway: %s", g.get("trace_id"), unavailable(exc), exc)
        response = message(503, _("Something went wrong"), _("Something went wrong on our side. Try again later."))
        response.headers["Retry-After"] = "2"
        return response
    log.exception("trace %s: unexpected error in the Gateway", g.get("trace_id"))
    return message(500, _("Something went wrong"),
                   _("Something went wrong on our side. Try again later. Reference: {trace}",
                     trace=g.get("trace_id", "")))


# -- anything else under /l and /g: the same HTML pages, never the API's JSON ----------------------

ANY = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


@bp.route("/l", defaults={"rest": ""}, methods=ANY, strict_slashes=False)
@bp.route("/l/<path:rest>", methods=ANY)
def unknown_link(rest):
    if request.method in ("GET", "HEAD"):
        security.limit("link")
    return dead_end("UNKNOWN")


@bp.route("/g", defaults={"rest": ""}, methods=ANY, strict_slashes=False)
@bp.route("/g/<path:rest>", methods=ANY)
def unknown_page(rest):
    abort(404)
