"""The Portal's pages: Home, Workflows (with their actions), Customers, Transactions, API keys, Audit log.

Every read and every change goes through the services the API uses, scoped to the signed-in user's business
(another business's object is a 404, as in the API); every change is written to the audit log.
"""
import datetime as dt

import peewee
from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from werkzeug.exceptions import HTTPException

from linx_core import clock
from linx_core.errors import LinxError, NotFound
from linx_core.lifecycle import WORKFLOWS
from linx_core.services import audit, businesses, directory, flow, journey, recovery, transactions, workflows
from linx_core.store.models import (
    Business,
    Event,
    Job,
    Notification,
    Transaction,
    WebhookDelivery,
    WebhookSubscription,
    Workflow,
)

from ..forms import CSRFError
from ..i18n import N_
from ..i18n import gettext as _
from .auth import require
from .blueprint import bp
from .chart import bars
from .export import csv_response

SIZE = 20
EXPORT_MOST = 10_000
#: the words templates show for a status (``_(status.title())``) or a role, for the catalogs
WORDS = (N_("Created"), N_("Active"), N_("Completed"), N_("Declined"), N_("Expired"), N_("Cancelled"), N_("Archived"),
         N_("Failed"), N_("Admin"), N_("Operator"), N_("Viewer"))
ACTIONS = (("resend", N_("Resend")), ("extend", N_("Extend")), ("cancel", N_("Cancel workflow")),
           ("recover", N_("Recover")), ("archive", N_("Archive")))


def _rt():
    return current_app.extensions["linx"]


def _business():
    return Business.get_by_id(g.portal_user.business_id)


def _page_arg():
    raw = request.args.get("page", "1")
    return int(raw) if raw.isascii() and raw.isdigit() and 0 < len(raw) < 7 and int(raw) > 0 else 1


@bp.errorhandler(NotFound)
def _not_found(exc):
    return render_template("portal/message.html", heading=_("Not found"), text=_("There is nothing here.")), 404


@bp.errorhandler(CSRFError)
def _expired(exc):
    """A form whose CSRF token is gone (the session cookie was replaced, say by a Gateway link in this browser)."""
    return render_template("portal/message.html", heading=_("This page has expired"),
                           text=_("Open the page again and try once more.")), 400


@bp.errorhandler(HTTPException)
def _http(exc):
    if exc.code == 403:
        return render_template("portal/message.html", heading=_("Not allowed"),
                               text=_("Your role does not allow this.")), 403
    if exc.code == 404:
        return _not_found(exc)
    return exc


@bp.get("/", strict_slashes=False)
def home():
    business = _business()
    since = clock.now() - dt.timedelta(days=30)
    counts = dict(Workflow.select(Workflow.status, peewee.fn.COUNT(Workflow.id))
                  .where((Workflow.business == business) & (Workflow.created_at >= since))
                  .group_by(Workflow.status).tuples())
    rows = [(_(status.title()), counts.get(status, 0)) for status in WORKFLOWS.states]
    failed = list(Transaction.select().where((Transaction.business == business) & (Transaction.status == "FAILED"))
                  .order_by(Transaction.created_at.desc()).limit(10))
    parked = Job.select().where((Job.business == business) & (Job.status == "PARKED")).count()
    day = clock.now() - dt.timedelta(days=1)
    failing = (WebhookSubscription.select().where(
        (WebhookSubscription.business == business) & (WebhookSubscription.status == "DISABLED")
        | WebhookSubscription.id.in_(WebhookDelivery.select(WebhookDelivery.subscription).where(
            (WebhookDelivery.outcome == "FAILED") & (WebhookDelivery.created_at >= day))))
        .where(WebhookSubscription.business == business).count())
    return render_template("portal/home.html", chart=bars(_("Workflows by status, last 30 days"), rows), rows=rows,
                           failed=failed, parked=parked, failing=failing)


def _workflow_query():
    search = request.args.get("q") or None
    status = request.args.get("status") or None
    return search, status


@bp.get("/workflows")
def workflow_list():
    search, status = _workflow_query()
    error = None
    try:
        page = workflows.list_workflows(_rt(), _business(), search=search, status=status, page=_page_arg(), size=SIZE)
    except LinxError as exc:
        error, page = str(exc), None
    return render_template("portal/workflows.html", page=page, q=search or "", status=status or "",
                           statuses=WORKFLOWS.states, error=error), (400 if error else 200)


@bp.get("/workflows.csv")
def workflow_export():
    search, status = _workflow_query()
    try:
        page = workflows.list_workflows(_rt(), _business(), search=search, status=status, page=1,
                                        size=_rt().settings.page_size_max)
    except LinxError:
        abort(400)
    rows = [(w.id, w.title, w.status, w.channel, w.phone_number or w.email or "", w.created_at.isoformat())
            for w in page.items]
    return csv_response("workflows", ["id", "title", "status", "channel", "contact", "createdAt"], rows)


def _allowed_actions(workflow):
    if not portal_can_operate():
        return []
    found = []
    for trigger, label in ACTIONS:
        if trigger == "recover" and workflow.recovered_by is not None:
            continue
        if WORKFLOWS.allowed(workflow.status, trigger):
            found.append((trigger, _(label)))
    return found


def portal_can_operate():
    from .auth import can

    return can("operate")


@bp.get("/workflows/<workflow_id>")
def workflow_page(workflow_id):
    rt = _rt()
    workflow = workflows.get_workflow(_business(), workflow_id)
    steps = [(step, journey.outcome(rt, workflow, step)) for step in flow.steps_of(workflow)]
    timeline = list(Event.select().where((Event.business == workflow.business_id) & (Event.subject_id == workflow.id))
                    .order_by(Event.created_at, Event.id))
    notes = list(Notification.select().where(Notification.workflow == workflow.id).order_by(Notification.created_at))
    tx = Transaction.select().where(Transaction.workflow == workflow.id).first()
    return render_template("portal/workflow.html", workflow=workflow, steps=steps, timeline=timeline,
                           notifications=notes, tx=tx, history=transactions.history(tx) if tx else [],
                           actions=_allowed_actions(workflow))


@bp.post("/workflows/<workflow_id>/<action>")
@require("operate")
def workflow_action(workflow_id, action):
    rt, business = _rt(), _business()
    workflow = workflows.get_workflow(business, workflow_id)  # 404 first, for another business's
    if action not in dict(ACTIONS):
        abort(404)
    target = workflow.id
    try:
        if action == "resend":
            workflows.resend(rt, business, workflow.id)
        elif action == "extend":
            workflows.extend(rt, business, workflow.id, {"expireIn": 2})
        elif action == "cancel":
            workflows.cancel(rt, business, workflow.id)
        elif action == "archive":
            workflows.archive(rt, business, workflow.id)
        else:
            target = recovery.recover(rt, business, workflow.id).workflow.id
    except LinxError as exc:
        flash(str(exc), "error")
        return redirect(url_for("portal.workflow_page", workflow_id=workflow.id), 303)
    audit.record(business, f"workflow.{action}", "workflow", workflow.id, user=g.portal_user,
                 address=request.remote_addr)
    flash(_("Done: {action}.", action=_(dict(ACTIONS)[action])), "ok")
    return redirect(url_for("portal.workflow_page", workflow_id=target), 303)


@bp.get("/customers")
def customer_list():
    search = request.args.get("q") or None
    try:
        page = directory.list_customers(_rt(), _business(), search=search, page=_page_arg(), size=SIZE)
    except LinxError:
        abort(400)
    if request.args.get("format") == "csv":
        return csv_response("customers", ["id", "firstName", "lastName", "email", "phoneNumber"],
                            [(c.id, c.first_name, c.last_name, c.email, c.phone_number) for c in page.items])
    return render_template("portal/customers.html", page=page, q=search or "")


@bp.get("/customers/<customer_id>")
def customer_page(customer_id):
    business = _business()
    customer = directory.get_customer(business, customer_id)
    return render_template("portal/customer.html", customer=customer,
                           accounts=directory.accounts_of(business, customer.id))


@bp.get("/transactions")
def transaction_list():
    try:
        page = transactions.list_transactions(_rt(), _business(), transactions.Filters(), page=_page_arg(), size=SIZE)
    except LinxError:
        abort(400)
    if request.args.get("format") == "csv":
        return csv_response("transactions", ["id", "type", "status", "amount", "currency", "createdAt"],
                            [(t.id, t.type, t.status, t.amount, t.currency, t.created_at.isoformat())
                             for t in page.items])
    return render_template("portal/transactions.html", page=page)


@bp.get("/transactions/<transaction_id>")
def transaction_page(transaction_id):
    tx = transactions.get_transaction(_business(), transaction_id)
    return render_template("portal/transaction.html", tx=tx, history=transactions.history(tx))


@bp.get("/api-keys")
def key_list():
    return render_template("portal/keys.html", keys=businesses.list_keys(_business()), new_key=None)


@bp.post("/api-keys")
@require("operate")
def key_create():
    business = _business()
    label = (request.form.get("label") or "").strip() or None
    try:
        key = businesses.issue_key(_rt(), business, label)
    except LinxError as exc:
        flash(str(exc), "error")
        return redirect(url_for("portal.key_list"), 303)
    audit.record(business, "api_key.created", "api_key", key[:10], user=g.portal_user, address=request.remote_addr,
                 details={"label": label})
    return render_template("portal/keys.html", keys=businesses.list_keys(business), new_key=key)


@bp.post("/api-keys/<key_id>/revoke")
@require("operate")
def key_revoke(key_id):
    business = _business()
    found = next((k for k in businesses.list_keys(business) if str(k.id) == key_id), None)
    if found is None:
        abort(404)
    try:
        businesses.revoke_key(_rt(), business, found.label or found.prefix)
    except LinxError as exc:
        flash(str(exc), "error")
    else:
        audit.record(business, "api_key.revoked", "api_key", found.id, user=g.portal_user,
                     address=request.remote_addr, details={"prefix": found.prefix})
        flash(_("The key is revoked."), "ok")
    return redirect(url_for("portal.key_list"), 303)


@bp.get("/audit")
def audit_log():
    page = audit.list_events(_rt(), _business(), page=_page_arg(), size=SIZE)
    return render_template("portal/audit.html", page=page)
