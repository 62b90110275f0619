"""``customer-account``: create the customer from what they enter (or recognise the one with this phone)."""
from linx_core import hookimpl
from linx_core.services import customers
from linx_core.steps import Page, Replacement, StepKind, clean

from .forms import PREFILL, PROFILE_NAMES, prefill, profile_fields

DEFAULT_REQUIRED = ("firstName", "lastName")


class CustomerAccount(StepKind):
    name = "customer-account"

    def required(self, rt):
        return rt.rules.steps[self.name].get("form", {}).get("required", list(DEFAULT_REQUIRED))

    def describe(self, view):
        return view._("Tell us your name and contact details")

    def page(self, view, values):
        _ = view._
        business = view.business.display_name
        customer = customers.existing_customer(view.rt, view.workflow)
        if customer is not None:
            return Page("gateway/welcome.html", _("Welcome back, {name}", name=customer.first_name),
                        text=_("{business} already knows you, so there is nothing to fill in.", business=business))
        given = any(view.parameters.get(name) for name in PREFILL)
        intro = _("{business} filled in what it knows: check it, correct it if needed, and add the rest.",
                  business=business) if given else \
            _("{business} needs a few details to create your account.", business=business)
        return Page("gateway/form.html", _("About you"),
                    profile_fields(view, prefill(view, values), self.required(view.rt)), intro=intro,
                    phone=view.words.phone(view.workflow.phone_number) if view.workflow.phone_number else None)

    def collect(self, view, form):
        if customers.existing_customer(view.rt, view.workflow) is not None:
            return {}
        return clean(form, PROFILE_NAMES, view._)

    def complete(self, act, values):
        customer, created = customers.create_customer(act.rt, act.workflow, values, self.required(act.rt))
        act.save(customer=customer.id)
        act.data(customerId=str(customer.id), existing=not created)
        return customer

    def recovered(self, step, workflow):
        """Once the customer exists, a recovery looks them up rather than asking again."""
        customer_id = (step.data or {}).get("customerId") or workflow.customer_id
        if step.status != "COMPLETED" or not customer_id:
            return None
        return Replacement("lookup-profile", {"customerId": str(customer_id)})


@hookimpl
def linx_step_kinds(rt):
    return [CustomerAccount()]
