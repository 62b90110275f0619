"""The done page: what happened, and where the payment stands.

While the payment is in flight the page offers a "Check again" button (a plain GET form: no script, and no
``<meta http-equiv="refresh">``, which would move the page under a customer still reading it: WCAG 2.2.1).
"""
from flask import make_response, redirect, render_template, request, url_for

from linx_core.lifecycle import TRANSACTIONS
from linx_core.services import customers, journey
from linx_core.services.transactions import FINAL_OK
from linx_core.store.models import Customer, DocumentAcceptance, Transaction

from . import security
from .blueprint import bp
from .branding import brand
from .words import TX_WORDS, _, words

#: the transaction's states in which the money arrived (by its type, from the service)
OK = tuple(FINAL_OK.values())


@bp.get("/g/<workflow_id>/done")
def done(workflow_id):
    workflow = security.past_passcode(workflow_id)
    reason = journey.availability(workflow)
    if reason is None and not journey.confirmed(workflow):
        return redirect(url_for("gateway.step", workflow_id=workflow_id), 303)
    if reason not in (None, "COMPLETED", "FAILED"):
        raise security.DeadEnd(reason, workflow)
    return summary(workflow, detailed=True)


def summary(workflow, detailed):
    """The done page (and the summary of a finished workflow). ``detailed``: for the customer past the
    passcode (the amount, the account, the documents), not for whoever holds the link."""
    business = journey.business_of(workflow)
    tx = Transaction.get_or_none(Transaction.workflow == workflow.id)
    account = customers.workflow_account(workflow)
    customer = Customer.get_or_none(Customer.id == workflow.customer_id) if workflow.customer_id else None
    payment = None
    if tx is not None:
        final = tx.status in TRANSACTIONS.final_states
        payment = {
            "status": _(TX_WORDS.get(tx.status, "Processing")), "code": tx.status,
            "final": final, "ok": tx.status in OK,
            "sentence": words.move_sentence(workflow, account, business, tx.status) if detailed else None,
            "arrival": words.arrival(workflow, tx.created_at, settle_at=tx.settle_at) if not final else None,
        }
    documents = [{"title": words.label(d.title), "version": d.document_version}
                 for d in DocumentAcceptance.select().where(DocumentAcceptance.workflow == workflow.id)
                 .order_by(DocumentAcceptance.document_id)]
    if payment and payment["code"] == "REVERSED":
        heading = _("The payment was reversed")
    elif workflow.status == "COMPLETED":
        heading = _("All done")
    elif workflow.status == "FAILED" or (payment and payment["final"] and not payment["ok"]):
        heading = _("The payment did not go through")
    else:
        heading = _("Thank you")
    html = render_template(
        "gateway/done.html", workflow=workflow, business=business, heading=heading, payment=payment,
        title=workflow.title, documents=documents if detailed else [],
        name=customer.first_name if customer and detailed else None,
        account=words.account(account) if account and detailed else None,
        reload_url=request.path, **brand(business))
    return make_response(html, 200)
