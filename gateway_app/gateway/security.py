"""The Gateway's security: sessions bound to one workflow, CSRF, rate limits and response headers.

- the session (Flask's signed cookie) names one workflow; a session from one link never opens
  another, and a new link rebinds it (and asks for that link's passcode);
- the session also carries the workflow's ``session_epoch`` as it was when bound: a resend, a cancel
  or a passcode lockout moves the epoch on, and every session bound before opens nothing more (the
  cookie lives in the browser, so it is the workflow's row that decides, read on every request);
- every POST carries a CSRF token (Flask-WTF, :mod:`gateway_app.forms`), a new one for each new link
  and once past the passcode;
- cookies are HttpOnly, SameSite=Lax, and Secure unless in development on plain http;
- ``Content-Security-Policy: default-src 'self'``, ``X-Frame-Options: DENY``,
  ``Referrer-Policy: no-referrer``; no inline script or style; nothing from another host;
- link openings and passcode checks are rate-limited per client address, with counters in the database
  that every web process shares (as are the passcode's attempt limit and the lock).
"""
import hashlib
import time
import uuid

from flask import abort, current_app, redirect, request, session, url_for

from linx_core.services import journey, limits
from linx_core.store.models import Workflow

from .. import i18n
from ..forms import rotate_csrf
from .blueprint import bp

CSP = "default-src 'self'"
#: on every Gateway page, and (unless a view sets its own) on every other response of the app: the developer
#: inbox and /v2/docs included (``gateway_app.create_app``)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}
DEFAULTS = {
    # (requests, seconds) per client address, counted in the database across every process
    "LINX_GATEWAY_LINK_LIMIT": (30, 60.0),
    "LINX_GATEWAY_PASSCODE_LIMIT": (10, 60.0),
    "LINX_GATEWAY_IDLE_SECONDS": 3600,
}


def init_app(app):
    """Cookie settings and limits for ``app``."""
    rt = app.extensions["linx"]
    plain_http_dev = rt.settings.development and rt.settings.public_url.startswith("http://")
    app.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
                      SESSION_COOKIE_SECURE=not plain_http_dev)
    for key, value in DEFAULTS.items():
        app.config.setdefault(key, value)
    app.extensions["linx_gateway"] = {"limiter": RateLimiter()}


# -- rate limits -----------------------------------------------------------------------------------

class RateLimiter:
    """Fixed-window counters per (kind, client address), in the database: every web process counts in the same
    rows (:func:`linx_core.services.limits.allow`), so a limit holds however many processes serve."""

    def allow(self, key, limit, window):
        """Count one hit for ``key``; False (and the seconds to wait) when over ``limit`` in ``window``."""
        kind, address = key
        return limits.allow(f"gateway-{kind}:{_address_key(address)}:{int(window)}", limit, window)


def _address_key(address):
    """The client address as a counter's key holds it: a digest, of one length whatever the address. The address
    comes from ``X-Forwarded-For`` behind proxies (LINX_PROXY_HOPS), so when that is set too high the client
    writes it: a long one must neither overflow the key's column (a 500) nor get cut to collide or dodge."""
    return hashlib.sha256(str(address or "").encode("utf-8", "surrogatepass")).hexdigest()[:32]


class TooManyRequests(Exception):
    def __init__(self, retry_after):
        super().__init__("rate limited")
        self.retry_after = retry_after


def limit(kind):
    """Count one ``kind`` (``link``, ``passcode``) for this client address; :class:`TooManyRequests` past it."""
    most, window = current_app.config[f"LINX_GATEWAY_{kind.upper()}_LIMIT"]
    ok, wait = current_app.extensions["linx_gateway"]["limiter"].allow((kind, request.remote_addr), most, window)
    if not ok:
        raise TooManyRequests(wait)


# -- headers ---------------------------------------------------------------------------------------

@bp.after_request
def _security_headers(response):
    response.headers.update(SECURITY_HEADERS)
    response.vary.add("Accept-Language")
    response.vary.add("Cookie")
    return response


# -- sessions --------------------------------------------------------------------------------------

class NotBound(Exception):
    """The session is not bound to this workflow (or timed out): the customer must open the link."""


class DeadEnd(Exception):
    def __init__(self, reason, workflow=None):
        super().__init__(reason)
        self.reason = reason
        self.workflow = workflow


def clear():
    """End what the session holds, but for the language the customer chose (the switch is not a right)."""
    chosen = session.get(i18n.SESSION_KEY)
    session.clear()
    if chosen:
        session[i18n.SESSION_KEY] = chosen


def bind(workflow):
    """Bind this browser's session to ``workflow``, and to nothing else."""
    clear()
    session["wf"] = str(workflow.id)
    session["ep"] = workflow.session_epoch
    session["ok"] = workflow.passcode_hash is None
    session["seen"] = int(time.time())
    rotate_csrf()


def live_elsewhere(workflow):
    """Whether this session is bound, in its current epoch and not idle, to another workflow than ``workflow`` that
    its customer can still act on: binding here would end that journey in this browser."""
    other = session.get("wf")
    if not other or other == str(workflow.id) or time.time() - session.get("seen", 0) > \
            current_app.config["LINX_GATEWAY_IDLE_SECONDS"]:
        return False
    try:
        found = Workflow.get_or_none(Workflow.id == uuid.UUID(other))
    except ValueError:
        return False
    return found is not None and _epoch() == found.session_epoch and journey.availability(found) is None


def touch():
    session["seen"] = int(time.time())


def _epoch():
    """The session's epoch; 0 for a cookie made before epochs existed (a workflow's epoch starts at 0): the
    customers mid-journey at an upgrade keep their session, until a resend, a cancel or a lockout ends it."""
    return session.get("ep", 0)


def is_bound(workflow):
    """Whether this session is bound to ``workflow`` in its current epoch (no resend, cancel or lockout since)."""
    return session.get("wf") == str(workflow.id) and _epoch() == workflow.session_epoch


def passed():
    """Whether this session got past the passcode (or none was asked)."""
    return bool(session.get("ok"))


def pass_passcode():
    session["ok"] = True
    rotate_csrf()


def leave():
    """The customer declined: the session keeps the link, not the rights of the passcode."""
    session["ok"] = False


def bound_workflow(workflow_id):
    """The workflow this session is bound to, if it is ``workflow_id`` and the session's epoch is still the
    workflow's; else :class:`NotBound`."""
    if not workflow_id or session.get("wf") != workflow_id:
        raise NotBound()
    seen = session.get("seen", 0)
    if time.time() - seen > current_app.config["LINX_GATEWAY_IDLE_SECONDS"]:
        clear()
        raise NotBound()
    touch()
    try:
        workflow = Workflow.get_or_none(Workflow.id == uuid.UUID(workflow_id))
    except ValueError:
        workflow = None
    if workflow is None:
        raise NotBound()
    if _epoch() != workflow.session_epoch:  # ended by a resend, a cancel or a lockout
        clear()
        raise NotBound()
    return workflow


def past_passcode(workflow_id):
    """The bound workflow, past the passcode (else to the landing page)."""
    workflow = bound_workflow(workflow_id)
    if not passed():
        abort(redirect(url_for("gateway.landing", workflow_id=workflow_id), 303))
    return workflow


def gate(workflow_id):
    """The workflow for a step page: bound session, past the passcode, still open to the customer."""
    workflow = past_passcode(workflow_id)
    reason = journey.availability(workflow)
    if reason in ("COMPLETED", "FAILED"):
        abort(redirect(url_for("gateway.done", workflow_id=workflow_id), 303))
    if reason is not None:
        raise DeadEnd(reason, workflow)
    return workflow
