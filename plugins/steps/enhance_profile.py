"""``enhance-profile``: ask an existing customer for the profile fields the business names (``profileFields``)."""
import re

from linx_core import events, hookimpl
from linx_core.errors import Problem
from linx_core.services import customers
from linx_core.steps import Field, Page, StepKind, clean, refuse

from .forms import PREFILL, address_group, prefill, profile_fields

PARTS = customers.ADDRESS_PARTS
PHONE = re.compile(r"\+?[0-9 ().-]{7,20}")
#: the profile as ``customer.updated`` names what changed in it
PROFILE_COLUMNS = (("firstName", "first_name"), ("lastName", "last_name"), ("email", "email"),
                   ("dateOfBirth", "date_of_birth"), ("addresses", "addresses"))


def _wanted(workflow):
    return list((workflow.parameters or {}).get("profileFields", []))


def _given(workflow):
    """The profile fields the business gave (``firstName``, ``lastName``, ``email``): shown for the customer to
    confirm or correct."""
    params = workflow.parameters or {}
    return [name for name in PREFILL if params.get(name)]


def _names(wanted):
    names = []
    for name in wanted:
        names += [f"{name}.{part}" for part in PARTS] if name.endswith("Address") else [name]
    return names


def problems(rt, wanted, values, _=lambda m, **v: m.format(**v)):
    """Every problem with the posted ``values`` of the ``wanted`` fields: their form first, then what is missing."""
    found = []
    for name in wanted:
        if name.endswith("Address"):
            parts = customers.profile_problems(rt, {p: values.get(f"{name}.{p}", "") for p in ("street", "city",
                                                                                                "state")}, [])
            found += [Problem(f"{name}.{p.path}", p.message, p.code) for p in parts]
            postal = values.get(f"{name}.postalCode", "").strip()
            if postal and not customers.matches(rt, "anyPostalCode", postal):
                found.append(Problem(f"{name}.postalCode", _("Enter a valid ZIP or postal code."),
                                     "INVALID_POSTAL_CODE"))
        elif name.endswith("Phone") and values.get(name, "").strip():
            if not PHONE.fullmatch(values[name].strip()):
                found.append(Problem(name, _("Enter a phone number, for example +1 416 555 0123."), "INVALID_PHONE"))
        elif name == "dateOfBirth":
            found += customers.profile_problems(rt, {"dateOfBirth": values.get("dateOfBirth")}, [])
        else:
            limit = customers.max_length(rt, "text")
            if len(values.get(name, "").strip()) > limit:
                found.append(Problem(name, _("At most {n} characters.", n=limit), "LENGTH"))
    faulty = {p.path for p in found}
    for path in _names(wanted):
        if path not in faulty and not (values.get(path) or "").strip():
            found.append(Problem(path, "This field is required.", "REQUIRED"))
    return found


class EnhanceProfile(StepKind):
    name = "enhance-profile"

    def describe(self, view):
        return view._("Add a few details to your profile")

    def page(self, view, values):
        _ = view._
        labels = view.rt.rules.catalog.get("profileFields", {})
        fields, groups = [], []
        for name in _wanted(view.workflow):
            label = view.words.label(labels.get(name, {}).get("label") or name)
            if name.endswith("Address"):
                groups.append({"legend": label, "fields": address_group(view, name, values)})
            elif name == "dateOfBirth":
                fields.append(Field(name, _("Date of birth"), kind="date", value=values.get(name, ""), required=True,
                                    autocomplete="bday"))
            elif name.endswith("Phone"):
                fields.append(Field(name, label, kind="tel", value=values.get(name, ""), required=True,
                                    autocomplete="tel", inputmode="tel", maxlength=20))
            else:
                fields.append(Field(name, label, value=values.get(name, ""), required=True,
                                    maxlength=customers.max_length(view.rt, "text")))
        customer = customers.existing_customer(view.rt, view.workflow)
        given = _given(view.workflow)
        if given:
            record = {"firstName": customer.first_name, "lastName": customer.last_name,
                      "email": customer.email or ""} if customer else {}
            fields = profile_fields(view, prefill(view, values, record), given, names=given) + fields
        return Page("gateway/form.html", _("A few more details"), fields, groups=groups,
                    intro=_("{name}, {business} asks for a few more details.",
                            name=customer.first_name if customer else "", business=view.business.display_name))

    def collect(self, view, form):
        wanted, given = _wanted(view.workflow), _given(view.workflow)
        values = clean(form, given + _names(wanted), view._)
        refuse(customers.profile_problems(view.rt, {k: values.get(k) for k in given}, given)
               + problems(view.rt, wanted, values, view._))
        return values

    def complete(self, act, values):
        wanted, given = _wanted(act.workflow), _given(act.workflow)
        refuse(customers.profile_problems(act.rt, {k: values.get(k) for k in given}, given)
               + problems(act.rt, wanted, values))
        customer = customers.existing_customer(act.rt, act.workflow)
        before = {name: getattr(customer, column) for name, column in PROFILE_COLUMNS}
        for name, column in (("firstName", "first_name"), ("lastName", "last_name"), ("email", "email")):
            if name in given:  # as the customer confirmed or corrected it
                setattr(customer, column, values[name].strip())
        addresses = list(customer.addresses or [])
        extra = {}
        for field in wanted:
            if field.endswith("Address"):
                addresses.append({"type": field.removesuffix("Address").upper(),
                                  **{part: (values.get(f"{field}.{part}") or "").strip() for part in PARTS}})
            elif field == "dateOfBirth":
                customer.date_of_birth = customers.date_of_birth(values)
            else:
                extra[field] = (values.get(field) or "").strip()
        customer.addresses = addresses
        changed = sorted(name for name, column in PROFILE_COLUMNS if getattr(customer, column) != before[name])
        customer.save()
        if changed:  # the names of what changed, never the values (an event outlives an erasure's reach)
            events.record(act.rt, act.workflow.business_id, "customer.updated", customer.id, {
                "customerId": str(customer.id), "workflowId": str(act.workflow.id), "fields": changed})
        act.data(fields=sorted(wanted), **extra)
        return customer

    def forget(self, data):
        """The values the customer typed go; which fields were asked for stays."""
        return {"fields": list(data.get("fields", []))}


@hookimpl
def linx_step_kinds(rt):
    return [EnhanceProfile()]
