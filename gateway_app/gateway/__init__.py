"""The customer Gateway: the pages a customer reaches from the link in the message.

``/l/<token>`` opens a link: it binds the browser's session to that one workflow and shows the
landing page (business, title, intro, the steps in plain words, the expiry, a passcode field when
one is required, Continue and Decline). Everything after it lives under ``/g/<workflow_id>/`` and
needs a session bound to that workflow (and past the passcode): the current step's page at ``step``,
the ``done`` page, the ``decline`` page and the documents' full texts.

The Gateway knows no step: each step kind (:mod:`linx_core.steps`, provided by plugins) gives its
words and its page, and completes through :func:`linx_core.services.journey.submit`. Split by concern:

- :mod:`.security`: sessions bound to one workflow, CSRF, rate limits, headers;
- :mod:`.pages`: error pages and dead ends; :mod:`.branding`: the business's name, colour, logo;
- :mod:`.landing`: the link, the landing page with the passcode, the decline page;
- :mod:`.dispatch`: the step pages; :mod:`.documents`: documents' full texts;
- :mod:`.summary`: the done page; :mod:`.words`: language, translation and formatting;
- :mod:`.recovery`: "Send me a new link" on an expired link's page.
- :mod:`.language`: the language switch (English / Français) on every page, kept in the session.
"""
from .. import i18n
from . import branding, dispatch, documents, landing, language, pages, recovery, security, summary  # noqa: F401
from .blueprint import bp
from .pages import dead_end
from .security import RateLimiter
from .words import ARRIVAL, TX_WORDS


def init_app(app):
    """Register the Gateway on ``app``: its blueprint, cookie settings, limits, step kinds' templates."""
    security.init_app(app)
    app.jinja_loader = dispatch.template_loader(app)
    app.register_blueprint(bp)


@bp.context_processor
def _template_globals():
    # `_` and `csrf_token` are the app's (gateway_app.i18n, .forms)
    return {"html_lang": i18n.html_lang(), "language_switch": language.switch_context()}


__all__ = ["bp", "init_app", "RateLimiter", "dead_end", "ARRIVAL", "TX_WORDS"]
