"""Sign-in, sessions and roles of the Portal.

The browser holds a random session token in the ``linx_portal`` cookie (HttpOnly, SameSite=Lax, Secure unless in
development on plain http, path ``/portal``); the row is :class:`linx_core.store.models.PortalSession`,
read on every request, so sign-out, idle expiry and a disabled user end a session at once, in every process.
Forms are Flask-WTF's, CSRF-checked by the app's ``CSRFProtect`` (:mod:`gateway_app.forms`). Every response of
the Portal carries the Gateway's security headers.
"""
from functools import wraps

from flask import abort, current_app, g, redirect, render_template, request, url_for
from wtforms import PasswordField, StringField
from wtforms.validators import InputRequired, Length

from linx_core.services import portal_users

from ..forms import NO_CONTROL, PostedForm, rotate_csrf
from ..gateway.security import SECURITY_HEADERS
from ..i18n import gettext as _
from .blueprint import bp

COOKIE = "linx_portal"


class LoginForm(PostedForm):
    email = StringField(validators=[InputRequired(), Length(max=254), NO_CONTROL])
    password = PasswordField(validators=[InputRequired(), Length(max=1024)])


@bp.after_request
def _headers(response):
    response.headers.update(SECURITY_HEADERS)
    response.headers["Cache-Control"] = "no-store"
    response.vary.add("Cookie")
    response.vary.add("Accept-Language")
    return response


@bp.before_request
def _load_user():
    g.portal_user = None
    found = portal_users.session_user(request.cookies.get(COOKIE), current_app.config["LINX_PORTAL_IDLE_SECONDS"])
    if found is not None:
        g.portal_session, g.portal_user = found
    if g.portal_user is None and request.endpoint not in ("portal.login", "portal.static"):
        if request.method == "POST":
            abort(401)
        return redirect(url_for("portal.login", next=request.full_path if request.args else request.path), 303)
    return None


def require(right):
    """A view that needs ``right`` (read, operate, admin): 403 otherwise (a viewer's forged post)."""
    def wrap(view):
        @wraps(view)
        def inner(*args, **kwargs):
            if not portal_users.may(g.portal_user, right):
                abort(403)
            return view(*args, **kwargs)
        return inner
    return wrap


def can(right):
    user = g.get("portal_user")
    return user is not None and portal_users.may(user, right)


@bp.app_context_processor
def _portal_globals():
    from ..i18n import html_lang

    return {"portal_can": can, "html_lang": html_lang()}


def _safe_next(target):
    """Only a path of the Portal itself: no open redirect."""
    if target and target.startswith("/portal") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("portal.home")


@bp.route("/login", methods=["GET", "POST"])
def login():
    if g.portal_user is not None and request.method == "GET":
        return redirect(url_for("portal.home"), 303)
    form = LoginForm()
    error, status = None, 200
    if request.method == "POST":
        if form.validate():
            try:
                user, token = portal_users.sign_in(form.email.data, form.password.data, request.remote_addr)
            except portal_users.SignInRefused as refused:
                status = 429 if refused.reason != "invalid" else 401
                error = {
                    "invalid": _("The email or the password is not right."),
                    "locked": _("Too many failed attempts: this account is locked for {minutes} minutes.",
                                minutes=max(1, (refused.retry_after + 59) // 60)),
                    "rate": _("Too many attempts from here: try again in a minute."),
                }[refused.reason]
            else:
                rotate_csrf()
                response = redirect(_safe_next(request.args.get("next")), 303)
                _set_cookie(response, token)
                return response
        else:
            error, status = _("Enter your email and your password."), 400
    return render_template("portal/login.html", form=form, error=error), status


def _set_cookie(response, token):
    rt = current_app.extensions["linx"]
    secure = not (rt.settings.development and rt.settings.public_url.startswith("http://"))
    response.set_cookie(COOKIE, token, httponly=True, samesite="Lax", secure=secure, path="/portal")


@bp.post("/logout")
def logout():
    portal_users.end_session(request.cookies.get(COOKIE))
    response = redirect(url_for("portal.login"), 303)
    response.delete_cookie(COOKIE, path="/portal")
    return response
