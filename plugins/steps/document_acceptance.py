"""``document-acceptance``: the customer accepts each document the business lists (version and time kept).

A document whose catalog entry says ``kind: debit-authorization`` is shown in full on the page, and accepting
it on a workflow whose customer account is a bank account keeps an authorization record
(:mod:`linx_core.services.authorizations`): the sha256 of the text shown, the session's IP address and user
agent. The step's data names it (``authorizationId``).
"""
from linx_core import clock, hookimpl
from linx_core.errors import Problem, RuleViolation
from linx_core.events import iso
from linx_core.services import authorizations
from linx_core.steps import Field, Page, StepKind
from linx_core.store.models import CustomerFinancialAccount, DocumentAcceptance


def _wanted(workflow):
    return [d["documentId"] for d in (workflow.parameters or {}).get("documents", [])]


def _paragraphs(text):
    return [p.strip() for p in (text or "").split("\n\n") if p.strip()]


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
            shown = authorizations.is_debit_authorization(spec)
            docs.append({"title": title, "version": spec.get("version", ""),
                         "url": view.words.document_url(view.workflow, doc_id),
                         "paragraphs": _paragraphs(view.words.document_text(doc_id)) if shown else [],
                         "field": Field(f"accept-{doc_id}", view._("I accept {title}", title=title), kind="checkbox",
                                        checked=bool(values.get(f"accept-{doc_id}")))})
        return Page("gateway/documents.html", view._("Documents to accept"), [d["field"] for d in docs],
                    documents=docs)

    def collect(self, view, form):
        accepted = [d for d in _wanted(view.workflow) if form.get(f"accept-{d}")]
        catalog = view.rt.rules.catalog.get("documents", {})
        shown = {}  # what the customer was shown of each debit authorization (a document with no text: nothing)
        for d in accepted:
            text = view.words.document_text(d) if authorizations.is_debit_authorization(catalog.get(d)) else None
            if text is not None:
                shown[d] = {"lang": view.lang, "sha256": authorizations.text_hash(text)}
        return {"accepted": accepted, "shown": shown, "client": dict(view.client or {})}

    def complete(self, act, values):
        catalog = act.rt.rules.catalog["documents"]
        wanted = _wanted(act.workflow)
        accepted = set(values.get("accepted") or [])
        missing = [d for d in wanted if d not in accepted]
        if missing:
            raise RuleViolation("Accept each document to continue.", [
                Problem(f"accept-{d}", f"Accept {catalog[d]['title']} to continue.", "NOT_ACCEPTED") for d in missing])
        now = clock.now()
        account = None
        if act.workflow.customer_account_id is not None:
            account = CustomerFinancialAccount.get_or_none(CustomerFinancialAccount.id
                                                           == act.workflow.customer_account_id)
        shown = values.get("shown") or {}
        made = {}
        for doc_id in wanted:
            doc = catalog[doc_id]
            DocumentAcceptance.create(workflow=act.workflow.id, business=act.workflow.business_id,
                                      customer=act.workflow.customer_id, document_id=doc_id,
                                      document_version=doc["version"], title=doc["title"], accepted_at=now)
            if authorizations.is_debit_authorization(doc) and account is not None and account.type == "BANK" \
                    and doc_id in shown:
                made[doc_id] = authorizations.record(act.rt, act.workflow, account, doc_id, doc, shown[doc_id],
                                                     values.get("client") or {}, now)
        accepted_out = []
        for d in wanted:
            entry = {"documentId": d, "title": catalog[d]["title"], "version": catalog[d]["version"],
                     "acceptedAt": iso(now)}
            if d in made:
                entry["authorizationId"] = str(made[d].id)
            accepted_out.append(entry)
        extra = {"authorizationId": str(next(iter(made.values())).id)} if made else {}
        act.data(accepted=accepted_out, **extra)


@hookimpl
def linx_step_kinds(rt):
    return [DocumentAcceptanceStep()]
