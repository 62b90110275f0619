"""``financial-account``: the customer adds a card or bank account (checked, asked of the rail, sealed)."""
from linx_core import hookimpl
from linx_core.steps import Replacement, StepKind, clean

from .forms import (
    ACCOUNT_FIELDS,
    TypedNumbers,
    account_form,
    account_outcome,
    account_subtype_words,
    add_account,
    kept_account_id,
)


class FinancialAccount(TypedNumbers, StepKind):
    name = "financial-account"

    def describe(self, view):
        return account_subtype_words(view)

    def page(self, view, values):
        return account_form(view, values)

    def collect(self, view, form):
        return clean(form, ACCOUNT_FIELDS, view._)

    def complete(self, act, values):
        return add_account(act, values)

    def recovered(self, step, workflow):
        """Once the account is kept, a recovery uses it rather than asking for the number again."""
        account_id = kept_account_id(step, workflow)
        if not account_id:
            return None
        return Replacement("lookup-financial-account", {"customerFinancialAccountId": str(account_id)})

    def outcome(self, rt, workflow, step):
        return account_outcome(step)


@hookimpl
def linx_step_kinds(rt):
    return [FinancialAccount()]
