"""``lookup-profile``: the business named an existing customer; the customer recognises themselves."""
from linx_core import hookimpl
from linx_core.services import customers
from linx_core.steps import Page, StepKind


class LookupProfile(StepKind):
    name = "lookup-profile"

    def describe(self, view):
        return view._("Confirm that it is you")

    def page(self, view, values):
        customer = customers.existing_customer(view.rt, view.workflow)
        return Page("gateway/welcome.html",
                    view._("Welcome back, {name}", name=customer.first_name if customer else ""),
                    text=view._("{business} already knows you, so there is nothing to fill in.",
                                business=view.business.display_name), not_you=True)

    def skip(self, act):
        """Nothing to ask: the business named the customer, and only their own phone or email got the link
        (checked at create). Their greeting comes on the next page."""
        return {}

    def complete(self, act, values):
        act.data(customerId=str(act.workflow.customer_id))
        return customers.existing_customer(act.rt, act.workflow)


@hookimpl
def linx_step_kinds(rt):
    return [LookupProfile()]
