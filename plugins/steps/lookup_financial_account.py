"""``lookup-financial-account``: the customer uses the account the business named, or adds another."""
from linx_core import hookimpl
from linx_core.errors import Conflict
from linx_core.services import customers, eligibility
from linx_core.steps import Page, Replacement, StepKind, clean

from .forms import (
    ACCOUNT_FIELDS,
    TypedNumbers,
    account_data,
    account_form,
    account_outcome,
    add_account,
    kept_account_id,
)


class LookupFinancialAccount(TypedNumbers, StepKind):
    name = "lookup-financial-account"

    def describe(self, view):
        return view._("Choose the account to use")

    def page(self, view, values):
        if values.get("action") == "add" or view.args.get("add"):
            return account_form(view, values, action="add")
        account = customers.named_account(view.workflow)
        if account is not None and eligibility.account_refusal(view.rt, view.parameters, account) is not None:
            account = None  # closed since, or no longer payable: the customer adds another
        return Page("gateway/account.html", view._("Your account"),
                    account=view.words.account(account) if account else None, add_url=view.url(add="1"))

    def collect(self, view, form):
        if form.get("action") == "add":
            return dict(clean(form, ACCOUNT_FIELDS, view._), action="add")
        return {}

    def skip(self, act):
        """Nothing to ask when the named account can pay the move: the confirm page offers it (and the
        customer's other accounts that fit, and "Add a different account")."""
        account = customers.named_account(act.workflow)
        if account is None or eligibility.account_refusal(act.rt, act.parameters, account) is not None:
            return None
        return {}

    def complete(self, act, values):
        if values.get("action") == "add":
            return add_account(act, values)
        account = customers.use_named_account(act.workflow)
        refusal = eligibility.account_refusal(act.rt, act.parameters, account)
        if refusal is not None:  # the real reason: closed, another subtype or currency, or the rail's refusal
            raise Conflict(refusal.message, refusal.code)
        act.save(customer_account=account.id)
        act.data(**account_data(account))
        return account

    def recovered(self, step, workflow):
        """The account the customer chose (or added: "Add a different account") is the one a recovery uses."""
        account_id = kept_account_id(step, workflow)
        if not account_id:
            return None
        return Replacement(self.name, {"customerFinancialAccountId": str(account_id)})

    def outcome(self, rt, workflow, step):
        return account_outcome(step)


@hookimpl
def linx_step_kinds(rt):
    return [LookupFinancialAccount()]
