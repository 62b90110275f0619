"""Sign-in, sessions and roles of the Portal.

The browser holds a random session token in the ``linx_portal`` cookie (HttpOnly, SameSite=Lax, Secure unless in
development on plain http, path ``/portal``); the row is :class:`linx_core.store.models.PortalSession`,
read on every request, so sign-out, idle expiry and a disabled user end a session at once, in every process.
Forms are Flask-WTF's, CSRF-checked by the app's ``CSRFProtect`` (:mod:`gateway_app.forms`). Every response of
the Portal carries the Gateway's security headers.
"""
from functools import wraps

from flask import abort, current_app, g, redirect, render_template, request, url_for
from markupsafe import Markup
from wtforms import PasswordField, StringField
from wtforms.validators import InputRequired, Length, Optional

from linx_core.services import portal_users

from ..forms import NO_CONTROL, PostedForm, rotate_csrf
from ..gateway.security import SECURITY_HEADERS
from ..i18n import gettext as _
from .blueprint import bp

COOKIE = "linx_portal"


class LoginForm(PostedForm):
    email = StringField(validators=[InputRequired(), Length(max=254), NO_CONTROL])
    password = PasswordField(validators=[InputRequired(), Length(max=1024)])
    code = StringField(validators=[Optional(), Length(max=12), NO_CONTROL])


class EnrolForm(PostedForm):
    sealed = StringField(validators=[InputRequired(), Length(max=512), NO_CONTROL])
    code = StringField(validators=[InputRequired(), Length(max=12), NO_CONTROL])


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
                user, token = portal_users.sign_in(form.email.data, form.password.data, request.remote_addr,
                                                   form.code.data, current_app.extensions["linx"])
            except portal_users.SignInRefused as refused:
                status = 401 if refused.reason in ("invalid", "code") else 429
                error = {
                    "invalid": _("The email or the password is not right."),
                    "locked": _("Too many failed attempts: this account is locked for {minutes} minutes.",
                                minutes=max(1, (refused.retry_after + 59) // 60)),
                    "rate": _("Too many attempts from here: try again in a minute."),
                    "code": _("Enter the code your authenticator app shows now."),
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


@bp.route("/account/two-factor", methods=["GET", "POST"])
def two_factor():
    """Enrol TOTP two-factor sign-in: a new secret, shown as a QR code (inline SVG) and as text, sealed in the
    form; the first code from the app confirms it."""
    import segno

    rt = current_app.extensions["linx"]
    user = g.portal_user
    error, status = None, 200
    if request.method == "POST":
        form = EnrolForm()
        if form.validate() and portal_users.enrol_totp(rt, user, form.sealed.data, form.code.data,
                                                       address=request.remote_addr):
            return render_template("portal/two_factor.html", done=True)
        error, status = _("That code is not right: enter the one your app shows now."), 400
        sealed = form.sealed.data or ""
        try:
            secret = rt.vault.unseal(sealed)
        except Exception:  # noqa: BLE001 - a forged field: start again with a new secret
            secret = portal_users.totp_secret()
            sealed = rt.vault.seal_text(secret)
    else:
        secret = portal_users.totp_secret()
        sealed = rt.vault.seal_text(secret)
    label = _("QR code to scan with your authenticator app")
    svg = segno.make(portal_users.totp_uri(user, secret), error="m").svg_inline(scale=4, title=label)
    qr = Markup(svg.replace("<svg ", f'<svg role="img" aria-label="{Markup.escape(label)}" ', 1))
    return render_template("portal/two_factor.html", done=False, enrolled=bool(user.totp_sealed), qr=qr,
                           secret=secret, sealed=sealed, error=error), status
