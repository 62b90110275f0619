"""The language switch (English / Français) at the foot of every Gateway page.

A plain form (no script) that posts the chosen locale with the session's CSRF token and the page to go back
to; the choice is kept in the session (:data:`gateway_app.i18n.SESSION_KEY`), where the locale selector reads
it before ``Accept-Language``, for as long as the session lives (a new link keeps it: :func:`.security.bind`).
"""
import flask_babel
from flask import redirect, request, session, url_for
from wtforms import StringField
from wtforms.validators import AnyOf, InputRequired, Length

from .. import i18n
from ..forms import NO_CONTROL, PostedForm
from .blueprint import bp
from .pages import message
from .words import _

#: where the switch may send the customer back to: a Gateway page, never another site
BACK = ("/g/",)


class LanguageForm(PostedForm):
    lang = StringField(validators=[InputRequired(), AnyOf(i18n.LOCALES)])
    next = StringField(validators=[Length(max=300), NO_CONTROL])


def back_to():
    """The page the switch returns to: this page, or for a post, the page that shows its form again; none for a
    link's page (``/l/<token>``), whose token no page repeats (the switch goes to the bound workflow's landing
    page instead)."""
    if request.path == "/l" or request.path.startswith("/l/"):
        return ""
    if request.method == "GET":
        return request.full_path.rstrip("?")
    if request.endpoint == "gateway.start":  # the passcode's post: its form is the landing page's
        return url_for("gateway.landing", workflow_id=request.view_args["workflow_id"])
    return request.path


def safe(path):
    """``path`` when it is one of the Gateway's own (no scheme, host or backslash), else None."""
    path = path or ""
    if not path.startswith(BACK) or "//" in path or "\\" in path or any(c in path for c in "\r\n\t"):
        return None
    return path


@bp.post("/g/language")
def switch_language():
    form = LanguageForm()
    if not form.validate():
        return message(400, _("Something is wrong with this request"),
                       _("Check the address, or open the link from your message again."))
    session[i18n.SESSION_KEY] = form.lang.data
    flask_babel.refresh()  # this response is in the new language too
    target = safe(form.next.data) or (url_for("gateway.landing", workflow_id=session["wf"]) if session.get("wf")
                                      else None)
    if target is None:
        return message(200, _("Language changed"), _("Open the link from your message again."))
    return redirect(target, 303)


def switch_context():
    """The switch's values for the page being rendered (``base.html``)."""
    return {"action": url_for("gateway.switch_language"), "next": back_to(), "current": i18n.current_locale(),
            "choices": i18n.CHOICES}


__all__ = ["LanguageForm", "back_to", "safe", "switch_context", "switch_language"]
