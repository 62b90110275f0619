"""``document-acceptance``: the customer accepts each document the business lists (version and time kept)."""
from linx_core import clock, hookimpl
from linx_core.errors import Problem, RuleViolation
from linx_core.events import iso
from linx_core.steps import Field, Page, StepKind
from linx_core.store.models import DocumentAcceptance


def _wanted(workflow):
    return [d["documentId"] for d in (workflow.parameters or {}).get("documents", [])]


class DocumentAcceptanceStep(StepKind):
    name = "document-acceptance"

    def describe(self, view):
        count = len(_wanted(view.workflow))
        return view._("Read and accept {n} documents", n=count) if count != 1 else view._("Read and accept a document")

    def page(self, view, values):
        catalog = view.rt.rules.catalog.get("documents", {})
        docs = []
        for doc_id in _wanted(view.workflow):
            spec = catalog.get(doc_id, {})
            title = view.words.label(spec.get("title", doc_id))
            docs.append({"title": title, "version": spec.get("version", ""),
                         "url": view.words.document_url(view.workflow, doc_id),
                         "field": Field(f"accept-{doc_id}", view._("I accept {title}", title=title), kind="checkbox",
                                        checked=bool(values.get(f"accept-{doc_id}")))})
        return Page("gateway/documents.html", view._("Documents to accept"), [d["field"] for d in docs],
                    documents=docs)

    def collect(self, view, form):
        return {"accepted": [d for d in _wanted(view.workflow) if form.get(f"accept-{d}")]}

    def complete(self, act, values):
        catalog = act.rt.rules.catalog["documents"]
        wanted = _wanted(act.workflow)
        accepted = set(values.get("accepted") or [])
        missing = [d for d in wanted if d not in accepted]
        if missing:
            raise RuleViolation("Accept each document to continue.", [
                Problem(f"accept-{d}", f"Accept {catalog[d]['title']} to continue.", "NOT_ACCEPTED") for d in missing])
        now = clock.now()
        for doc_id in wanted:
            doc = catalog[doc_id]
            DocumentAcceptance.create(workflow=act.workflow.id, business=act.workflow.business_id,
                                      customer=act.workflow.customer_id, document_id=doc_id,
                                      document_version=doc["version"], title=doc["title"], accepted_at=now)
        act.data(accepted=[{"documentId": d, "title": catalog[d]["title"], "version": catalog[d]["version"],
                            "acceptedAt": iso(now)}
                           for d in wanted])


@hookimpl
def linx_step_kinds(rt):
    return [DocumentAcceptanceStep()]
