"""``lookup-profile``: the business named an existing customer; the customer recognises themselves."""
from linx_core import hookimpl
from linx_core.errors import Conflict
from linx_core.services import customers, eligibility
from linx_core.steps import Page, StepKind

#: the customer's phone or email changed since the workflow was created: its link no longer reaches them
CONTACT_CHANGED = "CONTACT_CHANGED"


def _reached(rt, workflow):
    """The named customer, when the link still goes to their own phone or email (checked at create, but the
    customer's contact may have changed since), else None."""
    customer = customers.existing_customer(rt, workflow)
    return customer if customer is not None and eligibility.reaches_customer(rt, workflow, customer) else None


class LookupProfile(StepKind):
    name = "lookup-profile"

    def describe(self, view):
        return view._("Confirm that it is you")

    def page(self, view, values):
        business = view.business.display_name
        customer = _reached(view.rt, view.workflow)
        if customer is None:  # nothing of the customer is shown to whoever holds the old contact
            return Page("gateway/welcome.html", view._("Confirm that it is you"),
                        text=view._("This link no longer matches the contact details {business} has for you. "
                                    "Ask {business} for a new link.", business=business))
        return Page("gateway/welcome.html", view._("Welcome back, {name}", name=customer.first_name),
                    text=view._("{business} already knows you, so there is nothing to fill in.", business=business),
                    not_you=True)

    def skip(self, act):
        """Nothing to ask while the link reaches the customer the business named (their own phone or email,
        checked at create and again now: the customer's contact may have changed since). Their greeting comes on
        the next page. Otherwise None: the page says the link no longer matches, and :meth:`complete` refuses."""
        return {} if _reached(act.rt, act.workflow) is not None else None

    def complete(self, act, values):
        customer = _reached(act.rt, act.workflow)
        if customer is None:
            raise Conflict("This link no longer matches your contact details. Ask for a new link.", CONTACT_CHANGED)
        act.data(customerId=str(act.workflow.customer_id))
        return customer


@hookimpl
def linx_step_kinds(rt):
    return [LookupProfile()]
