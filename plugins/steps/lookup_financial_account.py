"""``lookup-financial-account``: the customer uses the account the business named, or adds another."""
from linx_core import hookimpl
from linx_core.services import customers
from linx_core.steps import Page, Replacement, StepKind, clean

from .forms import ACCOUNT_FIELDS, kept_account_id, account_data, account_form, account_outcome, add_account


class LookupFinancialAccount(StepKind):
    name = "lookup-financial-account"
    secret_fields = ("cardNumber", "accountNumber")

    def describe(self, view):
        return view._("Choose the account to use")

    def page(self, view, values):
        if values.get("action") == "add" or view.args.get("add"):
            return account_form(view, values, action="add")
        account = customers.named_account(view.workflow)
        return Page("gateway/account.html", view._("Your account"),
                    account=view.words.account(account) if account else None, add_url=view.url(add="1"))

    def collect(self, view, form):
        if form.get("action") == "add":
            return dict(clean(form, ACCOUNT_FIELDS, view._), action="add")
        return {}

    def complete(self, act, values):
        if values.get("action") == "add":
            return add_account(act, values)
        account = customers.use_named_account(act.workflow)
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
