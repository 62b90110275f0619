"""``GET /``: a small page, not a JSON 404. In development it links to what a developer opens first (the API docs,
the developer inbox, the Portal when one is served); elsewhere it says only the name and the version."""
from flask import Blueprint, current_app, render_template

from linx_core import __version__

bp = Blueprint("home", __name__)

#: the pages the development home page links to, each when the app serves it: (path, label, what it is)
PAGES = (
    ("/v2/docs", "API docs", "Swagger UI: every operation, with Try it out (paste the Demo Co key under Authorize)"),
    ("/v2/openapi.json", "OpenAPI document", "the machine-readable description of the API"),
    ("/dev/messages", "Developer inbox", "the messages the console channel would have sent, with their links"),
    ("/portal", "Portal", "the business's pages"),
)


def served(app, path):
    """Whether ``app`` has a route at ``path`` (with or without a trailing slash): a page is linked only when a
    blueprint serves it, never in advance."""
    wanted = path.rstrip("/")
    return any(rule.rule.rstrip("/") == wanted and "GET" in (rule.methods or ())
               for rule in app.url_map.iter_rules())


@bp.get("/")
def home():
    rt = current_app.extensions["linx"]
    development = rt.settings.development
    pages = [page for page in PAGES if served(current_app, page[0])] if development else []
    return render_template("home.html", version=__version__, development=development, pages=pages)
