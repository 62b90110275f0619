"""Forms and CSRF for the pages a person posts with a browser (the Gateway now, the Portal to come).

The Gateway's own forms are Flask-WTF forms (:class:`PasscodeForm`, :class:`DeclineForm`, the hidden part of
every step page, :class:`StepForm`); what a step page asks for is its step kind's (``collect``).

Flask-WTF's ``CSRFProtect`` checks every POST of the app against the token kept
in the session (a signed copy goes in each form as ``csrf_token``; templates call ``csrf_token()``),
except the blueprints that :func:`exempt` names: the business API (Bearer keys) and provider callbacks
(signed by the provider) send no cookie, so no page of ours can be forged into sending them.

A refused post raises :class:`CSRFError` (a 400 ``BadRequest``); a blueprint renders its own page for it
with ``@bp.errorhandler(CSRFError)`` (the Gateway's "This page has expired").

The settings differ from Flask-WTF's defaults on three points, each to keep what the Gateway promised:
- ``WTF_CSRF_METHODS = ["POST"]``: another site can make a browser send a GET, HEAD or POST without
  asking (a form), never a PUT, PATCH or DELETE (CORS asks first, and we allow none); the Gateway
  answers those with its own 404 or 410 page, as before;
- ``WTF_CSRF_TIME_LIMIT = None``: a token lives as long as its session (the Gateway ends an idle
  session itself, and a new link or the passcode rotates the token: :func:`rotate_csrf`);
- ``WTF_CSRF_SSL_STRICT = False``: on HTTPS Flask-WTF would also demand a same-origin ``Referer``,
  which the Gateway's ``Referrer-Policy: no-referrer`` keeps browsers from sending. The token and the
  ``SameSite=Lax`` cookie are the defence.
"""
from __future__ import annotations

import re

from flask import Blueprint, Flask, current_app, g, session
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFError, CSRFProtect, generate_csrf
from wtforms import IntegerField, StringField
from wtforms.validators import InputRequired, Length, NumberRange, Regexp

#: text no field takes: control characters (CR, LF and TAB aside) and the line and paragraph separators
NO_CONTROL = Regexp(r"\A[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u2028\u2029]*\Z", flags=re.UNICODE)


def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


class PostedForm(FlaskForm):
    """A form of the Gateway's: CSRF is :class:`CSRFProtect`'s, checked on every POST before any view."""

    class Meta:
        csrf = False


class PasscodeForm(PostedForm):
    """The landing page's passcode: at most 64 characters, none of them a control character."""

    passcode = StringField(filters=[_strip], validators=[InputRequired(), Length(max=64), NO_CONTROL])


class DeclineForm(PostedForm):
    """Why the customer declines: a reason's key from the rules (checked against them by the service)."""

    reason = StringField(filters=[_strip], validators=[InputRequired(), Length(max=64), NO_CONTROL])


class RecoverForm(PostedForm):
    """"Send me a new link" on an expired link's page: nothing to type; the CSRF token of the session is all."""


class StepForm(PostedForm):
    """The hidden part of every step page: which step the form was for, at which position."""

    step = StringField(validators=[InputRequired(), Length(max=64), NO_CONTROL])
    position = IntegerField(validators=[InputRequired(), NumberRange(min=0, max=999)])

DEFAULTS = {
    "WTF_CSRF_METHODS": ["POST"],
    "WTF_CSRF_FIELD_NAME": "csrf_token",
    "WTF_CSRF_TIME_LIMIT": None,
    "WTF_CSRF_SSL_STRICT": False,
}


def init_app(app: Flask, exempt_blueprints: tuple[Blueprint, ...] = ()) -> CSRFProtect:
    """Check CSRF on ``app`` (except ``exempt_blueprints``); ``csrf_token()`` in every template.

    Call it after the app's other ``before_request`` functions are registered (the trace id, the
    timing): a refused post stops the request in CSRFProtect's, and the ones before it have run.
    """
    for key, value in DEFAULTS.items():
        app.config.setdefault(key, value)
    protect = CSRFProtect(app)  # app.extensions["csrf"]
    exempt(app, *exempt_blueprints)
    return protect


def exempt(app: Flask, *blueprints: Blueprint) -> None:
    """Leave ``blueprints`` out of the CSRF check: endpoints for machines, which authenticate each
    request themselves (a Bearer key, a provider's signature) and never by the session cookie."""
    for blueprint in blueprints:
        app.extensions["csrf"].exempt(blueprint)


def rotate_csrf() -> str:
    """A new CSRF token for this session, the old one refused from now on (a session bound to a new
    workflow, a customer past the passcode). ``session.clear()`` drops it too; the signed copy
    cached for this request must go as well, or the page rendered next would carry the old one."""
    name = current_app.config["WTF_CSRF_FIELD_NAME"]
    session.pop(name, None)
    g.pop(name, None)
    return generate_csrf()


__all__ = ["CSRFError", "DeclineForm", "PasscodeForm", "RecoverForm", "StepForm", "exempt", "generate_csrf", "init_app",
           "rotate_csrf"]
