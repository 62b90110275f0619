"""``lookup-financial-account``: the customer uses the account the business named, or adds another."""
from linx_core import hookimpl
from linx_core.services import customers
from linx_core.steps import Page, StepKind, clean

from .forms import ACCOUNT_FIELDS, account_form, add_account, retype_words


class LookupFinancialAccount(StepKind):
    name = "lookup-financial-account"
    secret_fields = ("cardNumber", "accountNumber")

    def retype(self, view, name):
        return retype_words(view, name)

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
        act.data(customerFinancialAccountId=act.parameters["customerFinancialAccountId"])
        return account


@hookimpl
def linx_step_kinds(rt):
    return [LookupFinancialAccount()]
