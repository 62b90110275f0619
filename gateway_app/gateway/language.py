"""The language switch (English / Français) at the foot of every Gateway page.

A plain form (no script) that posts the chosen locale with the session's CSRF token and the page to go back
to; the choice is kept in the session (:data:`gateway_app.i18n.SESSION_KEY`), where the locale selector reads
it before ``Accept-Language``, for as long as the session lives (a new link keeps it: :func:`.security.bind`).
"""
import flask_babel
from flask import redirect, request, session, url_for
from wtforms import StringField
from wtforms.validators import AnyOf, InputRequired, Length

from linx_core.services import journey
from linx_core.store.models import Workflow

from .. import i18n
from ..forms import NO_CONTROL, PostedForm
from .blueprint import bp
from .pages import message
from .words import _

#: where the switch may send the customer back to: a Gateway page, never another site
BACK = ("/g/",)
#: the longest page the switch carries back
MAX_NEXT = 300


class LanguageForm(PostedForm):
    lang = StringField(validators=[InputRequired(), AnyOf(i18n.LOCALES)])
    next = StringField(validators=[Length(max=MAX_NEXT), NO_CONTROL])


#: a post's page: the page that shows its form again (the endpoint, by the post's own); a post not here (the
#: switch's own, "Send me a new link", an unknown address) has none
POSTED = {"gateway.start": "gateway.landing", "gateway.step_post": "gateway.step", "gateway.decline": "gateway.decline"}


def back_to():
    """The page the switch returns to: this page (without its query when the whole would not fit in ``next``),
    or for a post, the page that shows its form again (:data:`POSTED`); none for a post without one, and
    none for a link's page (``/l/<token>``), whose token no page repeats (the switch goes to the bound
    workflow's landing page instead)."""
    if request.path == "/l" or request.path.startswith("/l/"):
        return ""
    if request.method == "GET":  # with its query when it fits ("?add=1": the form to add an account)
        path = request.full_path.rstrip("?")
        path = path if len(path) <= MAX_NEXT else request.path
    elif request.endpoint in POSTED and "workflow_id" in (request.view_args or {}):
        path = url_for(POSTED[request.endpoint], workflow_id=request.view_args["workflow_id"])
    else:
        return ""
    return path if len(path) <= MAX_NEXT else ""


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
    target = safe(form.next.data) or _open_landing()
    if target is None:
        return message(200, _("Language changed"), _("Open the link from your message again."))
    return redirect(target, 303)


def _open_landing():
    """The landing page of the session's workflow while it is open, else None (its page would be a dead end)."""
    workflow = Workflow.get_or_none(Workflow.id == session["wf"]) if session.get("wf") else None
    if workflow is None or journey.availability(workflow) is not None:
        return None
    return url_for("gateway.landing", workflow_id=str(workflow.id))


def switch_context():
    """The switch's values for the page being rendered (``base.html``)."""
    return {"action": url_for("gateway.switch_language"), "next": back_to(), "current": i18n.current_locale(),
            "choices": i18n.CHOICES}


__all__ = ["LanguageForm", "MAX_NEXT", "POSTED", "back_to", "safe", "switch_context", "switch_language"]
