"""Pieces shared by the built-in steps: the profile fields, the card or bank account form, keeping an account."""
from linx_core.services import customers, eligibility
from linx_core.services.flow import steps_of
from linx_core.steps import N_, Field, Page
from linx_core.store.models import CustomerFinancialAccount

PROFILE = (  # name, label, kind, autocomplete, inputmode
    ("firstName", N_("First name"), "text", "given-name", ""),
    ("lastName", N_("Last name"), "text", "family-name", ""),
    ("email", N_("Email"), "email", "email", "email"),
    ("dateOfBirth", N_("Date of birth"), "date", "bday", ""),
    ("street", N_("Street address"), "text", "address-line1", ""),
    ("city", N_("City"), "text", "address-level2", ""),
    ("state", N_("State or province"), "text", "address-level1", ""),
    ("postalCode", N_("ZIP or postal code"), "text", "postal-code", ""),
    ("country", N_("Country"), "select", "country", ""),
)
PROFILE_NAMES = tuple(name for name, *_rest in PROFILE)
#: an address's parts (``customers.ADDRESS_PARTS``): their labels and autocomplete tokens
ADDRESS_WORDS = {"street": (N_("Street address"), "address-line1"), "city": (N_("City"), "address-level2"),
                 "state": (N_("State or province"), "address-level1"),
                 "postalCode": (N_("ZIP or postal code"), "postal-code")}
ACCOUNT_FIELDS = ("holderName", "cardNumber", "expiry", "postalCode", "routingNumber", "accountNumber", "subtype",
                  "street", "city", "state", "country")


#: the workflow parameters that prefill the profile form (what the business already knows)
PREFILL = ("firstName", "lastName", "email")


def prefill(view, values, extra=None):
    """What the form shows: what the customer posted, else what the business gave (``firstName``, ``lastName``,
    ``email``), else ``extra`` (what the customer's record holds), for the customer to confirm or correct."""
    if values:
        return values
    params = view.parameters
    known = {name: params[name] for name in PREFILL if params.get(name)}
    return {**(extra or {}), **known}


def greeting(view):
    """The greeting ("Welcome back, John.") of a customer LinX knew before this workflow, else None (a customer
    this workflow's profile step created: its data says ``existing: false``), and only where the link went to the
    customer's own phone or mailbox (never a stranger's, even when the business named the customer's number)."""
    customer = customers.existing_customer(view.rt, view.workflow)
    if customer is None or not eligibility.reaches_customer(view.rt, view.workflow, customer) \
            or any((s.data or {}).get("existing") is False for s in steps_of(view.workflow)):
        return None
    return view._("Welcome back, {name}.", name=customer.first_name)


def field_length(view, name):
    """The ``maxlength`` of a profile field: the rules' for text, the value's own for a date or a country."""
    return 10 if name == "dateOfBirth" else 3 if name == "country" else customers.max_length(view.rt, name)


def profile_fields(view, values, required, names=None):
    """The profile form's fields (all, or ``names``), ``required`` marked, ``values`` shown again."""
    _ = view._
    out = []
    for name, label, kind, autocomplete, inputmode in PROFILE:
        if names is not None and name not in names:
            continue
        f = Field(name, _(label), kind=kind, value=values.get(name, ""), required=name in required,
                  autocomplete=autocomplete, maxlength=field_length(view, name), inputmode=inputmode)
        if name == "state":
            f.hint, f.maxlength = state_hint(view), state_length(view)
        elif name == "country":
            f.options = [("", _("Choose a country"))] + [(c, view.words.country(c))
                                                          for c in customers.countries(view.rt)]
        out.append(f)
    return out


def state_hint(view):
    """How to write the state or province: a code where every country has them (the rules' ``stateCodes``), else
    which countries take a code, and a name elsewhere."""
    _ = view._
    known = customers.countries(view.rt)
    coded = [c for c in known if customers.state_codes(view.rt, c)]
    if len(coded) == len(known):
        return _("Two letters, for example NY or ON")
    return _("Two letters in {countries} (for example NY or ON); elsewhere, its name",
             countries=", ".join(view.words.country(c) for c in coded))


def state_length(view):
    """The state field's ``maxlength``: a code's, unless some country takes a name."""
    rt = view.rt
    if all(customers.state_codes(rt, c) for c in customers.countries(rt)):
        return customers.max_length(rt, "state")
    return max(customers.max_length(rt, "state"), customers.max_length(rt, "stateName"))


def address_group(view, name, values):
    """The fields of an address named ``name`` (``mailingAddress``), as ``name.street`` and so on."""
    _ = view._
    prefix = name.removesuffix("Address")
    # autocomplete's own address kinds are shipping and billing; any other is a named section (WCAG 1.3.5)
    scope = "" if name == "physicalAddress" else prefix if prefix in ("shipping", "billing") else f"section-{prefix}"
    parts = [Field(f"{name}.{part}", _(label), value=values.get(f"{name}.{part}", ""), required=True,
                   autocomplete=f"{scope} {auto}".strip(),
                   maxlength=customers.max_length(view.rt, part))
             for part in customers.ADDRESS_PARTS for label, auto in [ADDRESS_WORDS[part]]]
    for part in parts:
        if part.name.endswith(".state"):
            part.hint = _("Two letters, for example NY or ON")
    return parts


def account_kinds(view):
    """The subtypes the customer may add, and their kinds (CARD, BANK) in order."""
    rt = view.rt
    allowed = customers.account_subtypes(rt, view.workflow)
    kinds = []
    for subtype in allowed:
        kind = rt.rules.account_kind(subtype)
        if kind not in kinds:
            kinds.append(kind)
    return allowed, kinds


def account_form(view, values, action=None):
    """The page to add a card or bank account (``?kind=card`` or ``bank`` switches between them)."""
    _ = view._
    rt = view.rt
    allowed, kinds = account_kinds(view)
    posted = (values.get("subtype") or "").upper()
    wanted = (values.get("kind") or view.args.get("kind") or "").upper()
    if posted in allowed:
        wanted = rt.rules.account_kind(posted)
    kind = wanted if wanted in kinds else kinds[0]
    subtypes = [s for s in allowed if rt.rules.account_kind(s) == kind]
    fields = []
    if kind == "CARD":
        fields.append(Field("holderName", _("Name on card"), value=values.get("holderName", ""), required=True,
                            autocomplete="cc-name", maxlength=customers.max_length(rt, "holderName")))
        fields.append(Field("cardNumber", _("Card number"), required=True, autocomplete="cc-number",
                            inputmode="numeric", maxlength=23))
        fields.append(Field("expiry", _("Expiry (MM/YY)"), value=values.get("expiry", ""), required=True,
                            autocomplete="cc-exp", inputmode="numeric", maxlength=7, hint=_("For example, 04/29")))
        fields.append(Field("postalCode", _("ZIP or postal code"), value=values.get("postalCode", ""),
                            required=True, autocomplete="postal-code", maxlength=10))
        if len(subtypes) > 1:
            fields.insert(0, Field("subtype", _("Card type"), kind="select", value=posted, required=True,
                                   options=[("", _("Choose the card type"))]
                                   + [(s, view.words.subtype_title(s)) for s in subtypes]))
    else:
        fields.append(Field("holderName", _("Name on account"), value=values.get("holderName", ""), required=True,
                            autocomplete="name", maxlength=customers.max_length(rt, "holderName")))
        fields.append(Field("routingNumber", _("Routing number"), value=values.get("routingNumber", ""),
                            required=True, inputmode="numeric", maxlength=11, hint=_("9 digits")))
        fields.append(Field("accountNumber", _("Account number"), required=True, inputmode="numeric",
                            maxlength=20))
        fields.append(Field("subtype", _("Account type"), kind="select",
                            value=posted if posted in subtypes else (subtypes[0] if len(subtypes) == 1 else ""),
                            required=True,
                            options=([] if len(subtypes) == 1 else [("", _("Choose the account type"))])
                            + [(s, view.words.subtype_title(s)) for s in subtypes]))
        if customers.needs_billing_address(rt, view.workflow):
            fields += profile_fields(view, values, ("street", "city", "state", "postalCode", "country"),
                                     names=("street", "city", "state", "postalCode", "country"))
    hidden = {"kind": kind}
    if kind == "CARD" and len(subtypes) == 1:
        hidden["subtype"] = subtypes[0]
    if action:
        hidden["action"] = action
    switch = [(view.url(kind=k.lower(), **({"add": "1"} if action == "add" else {})),
               _("Use a card instead") if k == "CARD" else _("Use a bank account instead"))
              for k in kinds if k != kind]
    if len(subtypes) == 1:
        heading = _("Add your {account}", account=view.words.subtype(subtypes[0]))
    else:
        heading = _("Add your card") if kind == "CARD" else _("Add your bank account")
    return Page("gateway/form.html", heading, fields, hidden=hidden, switch=switch, greeting=greeting(view),
                intro=_("Your card and account numbers are encrypted and never shown again in full."))


class TypedNumbers:
    """For the steps whose form takes a card or account number: the numbers are never written back into the
    form, and when another field was wrong the customer reads, next to each, that it must be typed again."""

    secret_fields = ("cardNumber", "accountNumber")

    def retype(self, view, name):
        if name == "cardNumber":
            return view._("For your security, type the card number again.")
        return view._("For your security, type the account number again.")


def account_subtype_words(view):
    """The landing page's words for adding an account."""
    allowed = customers.account_subtypes(view.rt, view.workflow)
    if len(allowed) == 1:
        return view._("Add your {account}", account=view.words.subtype(allowed[0]))
    return view._("Add the account to use")


def add_account(act, values):
    """Keep the account the customer typed and make it the workflow's (``financial-account``, and
    "add a different account" on ``lookup-financial-account``)."""
    account = customers.add_account(act.rt, act.workflow, values)
    act.save(customer=account.customer_id, customer_account=account.id)
    act.data(**account_data(account))
    return account


def account_data(account):
    """What an account step keeps as its outcome: the account's id and masked form, never its number."""
    return {"financialAccountId": str(account.id), "maskedNumber": account.masked_number, "type": account.type,
            "subtype": account.subtype, "brand": account.brand}


def account_outcome(step):
    """An account step's outcome (``financialAccountId`` with its masked form); a step completed before the
    masked form was kept (only ``customerFinancialAccountId``) reads it from the account."""
    data = dict(step.data or {})
    old = data.pop("customerFinancialAccountId", None)
    if old and "financialAccountId" not in data:
        account = CustomerFinancialAccount.get_or_none(CustomerFinancialAccount.id == old)
        data.update(account_data(account) if account is not None else {"financialAccountId": old})
    return data


def kept_account_id(step, workflow):
    """The account a completed account step kept (what a recovery looks up), or None: its ``data`` names it
    (``financialAccountId``; ``customerFinancialAccountId`` before the read side), else the workflow's."""
    if step.status != "COMPLETED":
        return None
    data = step.data or {}
    return data.get("financialAccountId") or data.get("customerFinancialAccountId") or workflow.customer_account_id
