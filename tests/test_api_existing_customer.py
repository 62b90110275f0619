"""Creating a workflow for an existing customer: whom it may go to, what it may pay, and what prefills the forms.

A workflow that names a customer (``lookup-profile``) goes only to that customer's own phone number and email
address (422 at the offending path otherwise), so their name and saved cards are never shown to someone else's
number; an existing account the rail cannot pay is refused at create, before the customer is asked; ``email``,
``firstName`` and ``lastName`` are the profile steps' optional prefill. Runs on SQLite and PostgreSQL.
"""
import json
from decimal import Decimal

import pytest

from linx_core import demo as demo_data
from linx_core.errors import Conflict
from linx_core.store import models

from .conftest import seed_examples

EX1, EX2, EX3, EX4 = 0, 1, 2, 3


def body(index, steps=None, **parameters):
    found = json.loads(seed_examples()[index], parse_float=Decimal)
    for name, value in parameters.items():
        if value is None:
            found["parameters"].pop(name, None)
        else:
            found["parameters"][name] = value
    if steps is not None:
        found["steps"] = [{"name": s} for s in steps]
    return found


def refused(response, status=422):
    assert response.status_code == status, response.get_json()
    return {(p["path"], p["errorCode"]) for p in response.get_json()["errors"]}


def saved_card(rt, number, subtype, brand, customer_id=demo_data.CUSTOMER_ID, state="ACTIVE"):
    customer = models.Customer.get_by_id(customer_id)
    sealed = rt.vault.seal(number)
    return models.CustomerFinancialAccount.create(
        business=customer.business_id, customer=customer, type="CARD", subtype=subtype, state=state,
        holder_name="John Doe", sealed_number=sealed.sealed, last4=sealed.last4, masked_number=sealed.masked,
        fingerprint=sealed.fingerprint, brand=brand, expiry="2030-12", currency="USD")


# -- the contact must be the customer's own ---------------------------------------------------------

@pytest.mark.parametrize("index", [EX2, EX4])
def test_a_lookup_to_another_phone_number_is_refused_at_its_path_and_tells_nothing_of_the_customer(api, index):
    response = api.create(body(index, phoneNumber="+14165550199"))
    assert refused(response) == {("parameters.phoneNumber", "CONTACT_MISMATCH")}
    text = response.get_data(as_text=True)
    assert "+16471234567" not in text and "John" not in text and "5556" not in text
    assert models.Workflow.select().count() == 0


def test_a_lookup_to_another_email_address_is_refused_and_the_customers_own_in_any_case_is_taken(api):
    assert refused(api.create(body(EX2, email="someone.else@example.com"))) == {
        ("parameters.email", "CONTACT_MISMATCH")}
    by_email = body(EX2, channel="EMAIL", phoneNumber=None, email="Someone.Else@example.com")
    assert refused(api.create(by_email)) == {("parameters.email", "CONTACT_MISMATCH")}
    ok = api.create(body(EX2, channel="EMAIL", phoneNumber=None, email="John.Doe@Example.com"))
    assert ok.status_code == 201, ok.get_json()
    both = api.create(body(EX4, email="john.doe@example.com"))
    assert both.status_code == 201, both.get_json()


def test_a_customer_with_no_phone_on_record_gets_no_sms_lookup(api):
    models.Customer.update(phone_number=None).where(models.Customer.id == demo_data.CUSTOMER_ID).execute()
    assert refused(api.create(body(EX2))) == {("parameters.phoneNumber", "CONTACT_MISMATCH")}


def test_the_seed_examples_still_pass_as_written(api):
    for index in (EX1, EX2, EX3, EX4):
        response = api.create(body(index))
        assert response.status_code == 201, (index, response.get_json())


def test_another_business_customer_is_unknown_not_a_contact_mismatch(api, other):
    response = api.create(body(EX2, customerId=str(other["customer"].id), phoneNumber="+14165550123"))
    assert refused(response) == {("parameters.customerId", "CUSTOMER_NOT_FOUND")}
    assert "olga" not in response.get_data(as_text=True).lower()


# -- an existing account the rail cannot pay --------------------------------------------------------

@pytest.mark.parametrize("number, subtype, brand, code", [
    ("4111111111111111", "DEBIT", "VISA", "ACCOUNT_NOT_PAYABLE"),       # a credit card by its number
    ("4000000000000010", "DEBIT", "VISA", "ACCOUNT_NOT_PAYABLE"),       # its bank takes no push payments
    ("378282246310005", "DEBIT", "AMEX", "ACCOUNT_NOT_PAYABLE"),        # the network takes no push payments
    ("5555555555554444", "CREDIT", "MASTERCARD", "ACCOUNT_NOT_SUITABLE"),  # a credit card by its subtype
])
def test_an_account_push_to_card_cannot_pay_is_refused_at_create(rt, api, number, subtype, brand, code):
    card = saved_card(rt, number, subtype, brand)
    response = api.create(body(EX4, customerFinancialAccountId=str(card.id)))
    assert refused(response) == {("parameters.customerFinancialAccountId", code)}
    assert number not in response.get_data(as_text=True)
    assert models.Workflow.select().count() == 0


def test_a_closed_account_is_refused_and_a_prepaid_card_is_taken(rt, api):
    closed = saved_card(rt, "5200828282828210", "DEBIT", "MASTERCARD", state="CLOSED")
    assert refused(api.create(body(EX4, customerFinancialAccountId=str(closed.id)))) == {
        ("parameters.customerFinancialAccountId", "ACCOUNT_NOT_ACTIVE")}
    prepaid = saved_card(rt, "5105105105105100", "PREPAID", "MASTERCARD")
    response = api.create(body(EX4, customerFinancialAccountId=str(prepaid.id)))
    assert response.status_code == 201, response.get_json()


# -- prefill: email, firstName, lastName ------------------------------------------------------------

def test_names_and_email_prefill_a_new_customer_form_and_are_kept_as_parameters(api):
    created = api.create(body(EX1, phoneNumber="+14165550100", firstName="Jane", lastName="Roe",
                              email="jane.roe@example.com"))
    assert created.status_code == 201, created.get_json()
    read = api.get(f"/v2/linx/workflows/{created.get_json()['id']}").get_json()
    assert {k: read["parameters"][k] for k in ("firstName", "lastName", "email")} == {
        "firstName": "Jane", "lastName": "Roe", "email": "jane.roe@example.com"}


@pytest.mark.parametrize("parameters, path, status", [
    ({"firstName": "J" * 41}, "parameters.firstName", 422),
    ({"lastName": ""}, "parameters.lastName", 422),
    ({"email": "not an email"}, "parameters.email", 422),
    ({"firstName": 7}, "parameters.firstName", 400),
])
def test_prefill_values_are_checked_by_the_rules(api, parameters, path, status):
    response = api.create(body(EX1, phoneNumber="+14165550100", **parameters))
    assert response.status_code == status, response.get_json()
    assert path in {p["path"] for p in response.get_json()["errors"]}


def test_names_belong_to_the_profile_steps_only(api):
    response = api.create(body(EX4, firstName="John"))
    assert refused(response) == {("parameters.firstName", "PARAMETER_NOT_USED")}
    docs = api.get("/v2/openapi.json").get_json()
    described = json.dumps(docs)
    assert "shown prefilled for the customer to confirm or correct" in described


# -- one rule for an account, at create and on the Gateway (cold review) -----------------------------

def test_create_and_the_gateway_refuse_an_account_by_the_one_rule_with_its_real_reason(rt, api):
    from linx_core.services import eligibility, workflows
    from linx_core.steps import StepAct
    from linx_plugins.steps.lookup_financial_account import LookupFinancialAccount

    assert not hasattr(workflows, "_account_suits")
    good = saved_card(rt, "5200828282828210", "DEBIT", "MASTERCARD")
    response = api.create(body(EX4, customerFinancialAccountId=str(good.id)))
    assert response.status_code == 201, response.get_json()
    workflow = models.Workflow.get_by_id(response.get_json()["id"])
    accounts = models.CustomerFinancialAccount
    accounts.update(currency="CAD").where(accounts.id == good.id).execute()
    account = models.CustomerFinancialAccount.get_by_id(good.id)
    refusal = eligibility.account_refusal(rt, workflow.parameters, account)
    assert (refusal.code, refusal.message) == ("CURRENCY_MISMATCH", "The account holds CAD, not USD.")
    assert refused(api.create(body(EX4, customerFinancialAccountId=str(good.id)))) == {
        ("parameters.customerFinancialAccountId", "CURRENCY_MISMATCH")}
    steps = workflows.steps_of(workflow)
    act = StepAct(rt, workflow, steps, 2, data=lambda **v: None, save=lambda **c: None)
    with pytest.raises(Conflict) as caught:  # the step reports the real reason, not "no longer active"
        LookupFinancialAccount().complete(act, {})
    assert (caught.value.code, caught.value.message) == ("CURRENCY_MISMATCH", "The account holds CAD, not USD.")
