"""The full texts of the documents the rules' catalog names, in the customer's language."""
import re
from pathlib import Path

from flask import abort, make_response, render_template, url_for

from linx_core.services import journey

from . import security
from .blueprint import bp
from .branding import brand
from .words import lang, rt, words

DOCUMENTS = Path(__file__).resolve().parent.parent / "documents"


@bp.get("/g/<workflow_id>/documents/<document_id>")
def document(workflow_id, document_id):
    """A document's full text, from ``gateway_app/documents/<id>[.fr].txt``."""
    workflow = security.past_passcode(workflow_id)
    spec = rt().rules.catalog.get("documents", {}).get(document_id)
    text = document_text(document_id) if spec else None
    if text is None:
        abort(404)
    business = journey.business_of(workflow)
    html = render_template("gateway/document.html", title=words.label(spec["title"]),
                           version=spec["version"], paragraphs=[p.strip() for p in text.split("\n\n") if p.strip()],
                           back=url_for("gateway.step", workflow_id=workflow_id), **brand(business))
    return make_response(html)


def document_text(document_id):
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", document_id):
        return None
    for name in ([f"{document_id}.fr.txt"] if lang() == "fr" else []) + [f"{document_id}.txt"]:
        path = DOCUMENTS / name
        if path.is_file():
            return path.read_text(encoding="utf-8")
    return None
