"""``move-money``: the customer confirms the payment; the transaction's outcome completes the step.

The confirm page offers the customer's saved accounts that fit the move (the workflow's own first; for
push-to-card only the debit and prepaid cards its rail can pay) and "Add a different account", which opens
the account form on this same step: the account added becomes the workflow's, and the confirm page comes back.
"""
import contextlib
import uuid

from linx_core import clock, hookimpl
from linx_core.errors import Conflict
from linx_core.services import eligibility, journey, transactions
from linx_core.steps import Field, Page, StepKind, clean
from linx_core.store.models import Transaction

from .forms import ACCOUNT_FIELDS, account_form, add_account, greeting


class MoveMoney(StepKind):
    name = "move-money"
    secret_fields = ("cardNumber", "accountNumber")

    def describe(self, view):
        params = view.parameters
        money = view.words.money(view.workflow) if view.show_amount else None
        if params.get("transactionType") == "REQUEST":
            return view._("Confirm the payment of {money}", money=money) if money else view._("Confirm the payment")
        return view._("Confirm that you will receive {money}", money=money) if money else \
            view._("Confirm the payment")

    def page(self, view, values):
        _ = view._
        workflow = view.workflow
        saved = eligibility.saved_accounts(view.rt, workflow)
        if values.get("action") == "add" or view.args.get("add") or not saved:
            page = account_form(view, values, action="add")
            if saved:
                page.extra["back"] = (view.url(), _("Back to the payment"))
            return page
        params = view.parameters
        chosen = values.get("account") or str(saved[0].id)
        choice = Field("account", _("Choose the account"), kind="radio", value=chosen, required=True,
                       options=[(str(a.id), view.words.account(a)) for a in saved])
        reason = view.rt.rules.catalog.get("paymentReasons", {}).get(params.get("paymentReasonId") or "", {})
        return Page("gateway/move_money.html", _("Confirm the payment"), [choice],
                    sentence=view.words.move_sentence(workflow, saved[0] if len(saved) == 1 else None, view.business),
                    arrival=view.words.arrival(workflow),
                    greeting=greeting(view),
                    reason=view.words.label(reason["description"]) if reason.get("description") else None,
                    description=params.get("description"), memo=params.get("memo"), add_url=view.url(add="1"))

    def collect(self, view, form):
        if form.get("action") == "add":
            return dict(clean(form, ACCOUNT_FIELDS, view._), action="add")
        return clean(form, ("account",), view._)

    def complete(self, act, values):
        """Create the transaction (once) and queue its submission; the step stays until it settles.

        With ``action=add``, keep the account the customer typed instead, make it the workflow's, and stay:
        the confirm page comes back with it."""
        workflow = act.workflow
        if journey.confirmed(workflow):
            raise Conflict("This payment is confirmed already.", "ALREADY_CONFIRMED")
        if values.get("action") == "add":
            account = add_account(act, values)
            act.stay()
            return account
        if (values.get("account") or "").strip():
            account = eligibility.choose(act.rt, workflow, values["account"].strip())
            if account.id != workflow.customer_account_id:
                act.save(customer_account=account.id)
            act.data(financialAccountId=str(account.id))
        if workflow.customer_account_id is None or workflow.customer_id is None:
            raise Conflict("No account was chosen for this payment.", "NO_ACCOUNT")
        tx = transactions.create_for_workflow(act.rt, workflow)
        act.data(transactionId=str(tx.id))
        act.save(updated_at=clock.now(), next_notification_at=None)  # confirmed: no more reminders
        act.stay()
        return tx

    def outcome(self, rt, workflow, step):
        """The transaction's id and its status now (the step keeps only the id)."""
        return self.outcomes(rt, [(workflow, step)])[0]

    def outcomes(self, rt, steps):
        """The statuses of all the steps' transactions, read in one query."""
        ids = {str((step.data or {}).get("transactionId")) for _, step in steps
               if (step.data or {}).get("transactionId")}
        statuses = {str(tx.id): tx.status for tx in Transaction.select(Transaction.id, Transaction.status)
                    .where(Transaction.id.in_(_uuids(ids)))} if ids else {}
        out = []
        for _, step in steps:
            data = dict(step.data or {})
            if data.get("transactionId"):
                data["transactionStatus"] = statuses.get(str(data["transactionId"]))
            out.append(data)
        return out


def _uuids(values):
    out = []
    for value in values:
        with contextlib.suppress(ValueError):
            out.append(uuid.UUID(value))
    return out


@hookimpl
def linx_step_kinds(rt):
    return [MoveMoney()]
