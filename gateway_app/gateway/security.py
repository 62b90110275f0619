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
- link openings and passcode checks are rate-limited per client address, in memory per process
  (the passcode's attempt limit and the lock are in the database and hold across processes).
"""
import threading
import time
import uuid
from collections import OrderedDict, deque

from flask import abort, current_app, redirect, request, session, url_for

from linx_core.services import journey
from linx_core.store.models import Workflow

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
    # (requests, seconds) per client address, in memory per process
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


def bind(workflow):
    """Bind this browser's session to ``workflow``, and to nothing else."""
    session.clear()
    session["wf"] = str(workflow.id)
    session["ep"] = workflow.session_epoch
    session["ok"] = workflow.passcode_hash is None
    session["seen"] = int(time.time())
    rotate_csrf()


def touch():
    session["seen"] = int(time.time())


def is_bound(workflow):
    """Whether this session is bound to ``workflow`` in its current epoch (no resend, cancel or lockout since)."""
    return session.get("wf") == str(workflow.id) and session.get("ep") == workflow.session_epoch


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
        session.clear()
        raise NotBound()
    touch()
    try:
        workflow = Workflow.get_or_none(Workflow.id == uuid.UUID(workflow_id))
    except ValueError:
        workflow = None
    if workflow is None:
        raise NotBound()
    if session.get("ep") != workflow.session_epoch:  # ended by a resend, a cancel or a lockout
        session.clear()
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
