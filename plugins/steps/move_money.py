"""``move-money``: the customer confirms the payment; the transaction's outcome completes the step."""
from linx_core import clock, hookimpl
from linx_core.errors import Conflict
from linx_core.services import customers, journey, transactions
from linx_core.steps import Page, StepKind


class MoveMoney(StepKind):
    name = "move-money"

    def describe(self, view):
        params = view.parameters
        money = view.words.money(view.workflow) if view.show_amount else None
        if params.get("transactionType") == "REQUEST":
            return view._("Confirm the payment of {money}", money=money) if money else view._("Confirm the payment")
        return view._("Confirm that you will receive {money}", money=money) if money else \
            view._("Confirm the payment")

    def page(self, view, values):
        params = view.parameters
        account = customers.workflow_account(view.workflow)
        reason = view.rt.rules.catalog.get("paymentReasons", {}).get(params.get("paymentReasonId") or "", {})
        return Page("gateway/move_money.html", view._("Confirm the payment"),
                    sentence=view.words.move_sentence(view.workflow, account, view.business),
                    arrival=view.words.arrival(view.workflow),
                    reason=view.words.label(reason["description"]) if reason.get("description") else None,
                    description=params.get("description"), memo=params.get("memo"))

    def complete(self, act, values):
        """Create the transaction (once) and queue its submission; the step stays until it settles."""
        workflow = act.workflow
        if journey.confirmed(workflow):
            raise Conflict("This payment is confirmed already.", "ALREADY_CONFIRMED")
        if workflow.customer_account_id is None or workflow.customer_id is None:
            raise Conflict("No account was chosen for this payment.", "NO_ACCOUNT")
        tx = transactions.create_for_workflow(act.rt, workflow)
        act.data(transactionId=str(tx.id))
        act.save(updated_at=clock.now(), next_notification_at=None)  # confirmed: no more reminders
        act.stay()
        return tx


@hookimpl
def linx_step_kinds(rt):
    return [MoveMoney()]
