"""``financial-account``: the customer adds a card or bank account (checked, asked of the rail, sealed)."""
from linx_core import hookimpl
from linx_core.steps import StepKind, clean

from .forms import ACCOUNT_FIELDS, account_form, account_subtype_words, add_account, retype_words


class FinancialAccount(StepKind):
    name = "financial-account"
    secret_fields = ("cardNumber", "accountNumber")

    def retype(self, view, name):
        return retype_words(view, name)

    def describe(self, view):
        return account_subtype_words(view)

    def page(self, view, values):
        return account_form(view, values)

    def collect(self, view, form):
        return clean(form, ACCOUNT_FIELDS, view._)

    def complete(self, act, values):
        return add_account(act, values)


@hookimpl
def linx_step_kinds(rt):
    return [FinancialAccount()]
