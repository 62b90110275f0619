"""The journey as the brief tells it, through Flask's test client: prefilled profile forms, an existing customer
taken from the passcode straight to the confirm page with the saved accounts that fit the move, and cards the
move cannot use refused before the customer confirms. Runs on SQLite and PostgreSQL like every ``rt`` test.
"""
from decimal import Decimal

import pytest

from linx_core import demo as demo_data
from linx_core.store.models import Customer, CustomerFinancialAccount, Transaction, Workflow, WorkflowStep

from .test_api_existing_customer import saved_card
from .test_gateway import CARD, Visitor, card, opened, profile, workflow


@pytest.fixture
def visitor(app):
    return Visitor(app)


def steps_of(wid):
    return {s.name: s for s in WorkflowStep.select().where(WorkflowStep.workflow == wid)}


# -- prefill ---------------------------------------------------------------------------------------

def test_the_business_names_prefill_the_new_customer_form_to_confirm_or_correct(rt, api, visitor):
    wid, token, passcode = opened(rt, api, 0, phoneNumber="+14165550100", firstName="Jane", lastName="Roe",
                                  email="jane@example.com")
    page = visitor.open(token, passcode)
    assert page.h1 == "About you"
    assert "Demo Co filled in what it knows: check it, correct it if needed, and add the rest." in page.html
    fields = page.form("Continue")["fields"]
    assert (fields["firstName"], fields["lastName"], fields["email"]) == ("Jane", "Roe", "jane@example.com")
    assert fields["city"] == "" and fields["dateOfBirth"] == ""
    done = visitor.submit(page, "Continue", lastName="Roe-Smith", email="jane.roe@example.com")  # corrected
    assert done.h1 == "All done"
    customer = Customer.get_by_id(workflow(wid).customer_id)
    assert (customer.first_name, customer.last_name, customer.email) == ("Jane", "Roe-Smith", "jane.roe@example.com")


def test_without_prefill_the_form_starts_empty(rt, api, visitor):
    wid, token, passcode = opened(rt, api, 0, phoneNumber="+14165550100")
    page = visitor.open(token, passcode)
    fields = page.form("Continue")["fields"]
    assert fields["firstName"] == fields["lastName"] == fields["email"] == ""
    assert "needs a few details to create your account" in page.html


def test_a_prefilled_value_the_customer_empties_is_refused_next_to_its_field(rt, api, visitor):
    wid, token, passcode = opened(rt, api, 0, phoneNumber="+14165550100", firstName="Jane", lastName="Roe")
    page = visitor.open(token, passcode)
    bad = visitor.submit(page, "Continue", follow=False, **profile(firstName=""))
    assert bad.status == 422 and bad.error_for("firstName") == "First name is required."
    assert bad.form("Continue")["fields"]["firstName"] == ""  # what the customer typed, not the prefill again
    assert bad.form("Continue")["fields"]["lastName"] == "Roe"


def test_enhance_profile_shows_the_business_names_for_the_customer_to_correct(rt, api, visitor):
    wid, token, passcode = opened(rt, api, 1, steps=["notification", "lookup-profile", "enhance-profile"],
                                  profileFields=["dateOfBirth"], firstName="Jon", lastName="Doe",
                                  financialAccountSubType=None)
    page = visitor.open(token, passcode)
    assert page.h1 == "A few more details"
    assert page.label_names() == ["First name", "Last name", "Date of birth"]
    fields = page.form("Continue")["fields"]
    assert (fields["firstName"], fields["lastName"]) == ("Jon", "Doe")
    bad = visitor.submit(page, "Continue", follow=False, firstName="", dateOfBirth="1990-01-31")
    assert bad.status == 422 and bad.error_for("firstName") == "First name is required."
    done = visitor.submit(bad, "Continue", firstName="John", dateOfBirth="1990-01-31")
    assert done.h1 == "All done"
    customer = Customer.get_by_id(demo_data.CUSTOMER_ID)
    assert (customer.first_name, customer.last_name, str(customer.date_of_birth)) == ("John", "Doe", "1990-01-31")


# -- an existing customer: from the passcode to the confirm page ------------------------------------

def test_an_existing_customer_sees_only_the_saved_cards_push_to_card_can_pay(rt, api, visitor):
    prepaid = saved_card(rt, "5105105105105100", "PREPAID", "MASTERCARD")
    credit_by_number = saved_card(rt, "4111111111111111", "DEBIT", "VISA")
    saved_card(rt, "5555555555554444", "CREDIT", "MASTERCARD")
    saved_card(rt, "378282246310005", "DEBIT", "AMEX")
    saved_card(rt, "5200828282828210", "DEBIT", "MASTERCARD", state="CLOSED")
    wid, token, passcode = opened(rt, api, 3)
    page = visitor.open(token, passcode)
    assert page.h1 == "Confirm the payment"
    steps = steps_of(wid)
    assert (steps["lookup-profile"].status, steps["lookup-financial-account"].status,
            steps["move-money"].status) == ("COMPLETED", "COMPLETED", "ACTIVE")
    assert page.label_names() == ["Visa debit card ending 5556", "Mastercard prepaid card ending 5100"]
    assert page.form("Confirm")["fields"]["account"] == demo_data.CARD_ID  # the one the business named
    for shown in ("1111", "4444", "0005", "8210"):
        assert f"ending {shown}" not in page.html
    forged = visitor.submit(page, "Confirm", follow=False, account=str(credit_by_number.id))
    assert forged.status == 422 and "credit card" in forged.error_for("account")
    assert not Transaction.select().where(Transaction.workflow == wid).exists()
    unknown = visitor.submit(page, "Confirm", follow=False, account="not-an-id")
    assert unknown.status == 422 and unknown.error_for("account")
    done = visitor.submit(page, "Confirm", account=str(prepaid.id))
    assert done.status == 200 and "Processing" in done.html
    tx = Transaction.get(Transaction.workflow == wid)
    assert tx.customer_account_id == prepaid.id and workflow(wid).customer_account_id == prepaid.id
    assert steps_of(wid)["move-money"].data["financialAccountId"] == str(prepaid.id)


def test_another_customers_card_cannot_be_chosen_on_the_confirm_page(rt, api, other, visitor):
    wid, token, passcode = opened(rt, api, 3)
    page = visitor.open(token, passcode)
    forged = visitor.submit(page, "Confirm", follow=False, account=str(other["card"].id))
    assert forged.status == 422 and forged.error_for("account") == "Choose one of the accounts offered."
    assert not Transaction.select().where(Transaction.workflow == wid).exists()


def test_add_a_different_account_on_the_confirm_page_then_confirm_with_it(rt, api, visitor):
    wid, token, passcode = opened(rt, api, 3)
    page = visitor.open(token, passcode)
    add = visitor.get(f"/g/{wid}/step?add=1")
    assert add.h1 == "Add your card" and f"/g/{wid}/step" in add.parsed.links  # and back to the payment
    credit = visitor.submit(add, "Continue", follow=False, **card("4111111111111111", subtype="DEBIT"))
    assert credit.status == 422 and "credit card" in credit.error_for("cardNumber")
    page = visitor.submit(credit, "Continue", **card("5105105105105100", subtype="PREPAID"))
    assert page.h1 == "Confirm the payment"
    added = CustomerFinancialAccount.get(CustomerFinancialAccount.last4 == "5100")
    assert page.form("Confirm")["fields"]["account"] == str(added.id)
    assert page.label_names() == ["Mastercard prepaid card ending 5100", "Visa debit card ending 5556"]
    visitor.submit(page, "Confirm")
    assert Transaction.get(Transaction.workflow == wid).customer_account_id == added.id


def test_a_named_account_that_can_no_longer_be_used_shows_its_page_not_the_confirm_page(rt, api, visitor):
    wid, token, passcode = opened(rt, api, 3)
    CustomerFinancialAccount.update(state="CLOSED").where(CustomerFinancialAccount.id == demo_data.CARD_ID).execute()
    page = visitor.open(token, passcode)
    assert page.h1 == "Your account" and "The account on file cannot be used. Add another one." in page.html
    assert steps_of(wid)["lookup-financial-account"].status == "ACTIVE"


def test_a_new_customer_is_still_asked_for_everything(rt, api, visitor):
    wid, token, passcode = opened(rt, api, 2, phoneNumber="+14165550100")
    page = visitor.open(token, passcode)
    assert page.h1 == "About you" and "Welcome back" not in page.html
    page = visitor.submit(page, "Continue", **profile())
    page = visitor.submit(page, "Continue", **card())
    assert page.h1 == "Confirm the payment" and "Welcome back" not in page.html
    assert "You will receive $256.25 on your Visa debit card ending 5556" in page.html


def test_a_lookup_with_only_its_own_page_left_is_not_completed_by_the_passcode(rt, api, visitor):
    wid, token, passcode = opened(rt, api, 1, steps=["notification", "lookup-profile"],
                                  financialAccountSubType=None)
    page = visitor.open(token, passcode)
    assert page.h1 == "Welcome back, John"  # the customer still says it is them: nothing happens unseen
    assert workflow(wid).status == "ACTIVE"


def test_the_confirm_page_is_reached_again_after_the_session_comes_back(rt, api, app, visitor):
    wid, token, passcode = opened(rt, api, 3)
    visitor.open(token, passcode)
    again = visitor.submit(visitor.get(f"/g/{wid}"), "Continue")  # the landing page's Continue, passcode passed
    assert again.h1 == "Confirm the payment"
    assert WorkflowStep.select().where((WorkflowStep.workflow == wid)
                                       & (WorkflowStep.status == "COMPLETED")).count() == 3


# -- the financial-account step refuses a credit card where DEBIT is asked --------------------------

@pytest.mark.parametrize("lang, words", [
    (None, "This is a credit card: add a debit card."),
    ("fr-CA", "C'est une carte de crédit : ajoutez une carte de débit."),
])
def test_a_credit_card_is_refused_where_the_business_asks_for_a_debit_card(rt, api, app, lang, words):
    wid, token, passcode = opened(rt, api, 1)  # seed 2: no payment, so no rail to ask
    french = Visitor(app, lang=lang)
    button = "Continuer" if lang else "Continue"
    page = french.submit(french.get(f"/l/{token}"), button, passcode=passcode)
    assert page.h1 == ("Ajouter votre carte de débit" if lang else "Add your debit card")
    bad = french.submit(page, button, follow=False, **card("4111111111111111"))
    assert bad.status == 422 and bad.error_for("cardNumber").replace("&#39;", "'") == words
    assert "4111111111111111" not in bad.html and bad.parsed.forms[0]["fields"]["cardNumber"] == ""
    assert not CustomerFinancialAccount.select().where(CustomerFinancialAccount.last4 == "1111").exists()
    ok = french.submit(bad, button, **card(CARD))
    assert ok.status == 200 and workflow(wid).status == "COMPLETED"


def test_a_request_by_ach_offers_the_saved_checking_account_not_the_cards(rt, api, visitor):
    wid, token, passcode = opened(rt, api, 1, steps=["notification", "lookup-profile", "financial-account",
                                                     "move-money"],
                                  financialAccountSubType="CHECKING", transactionType="REQUEST", solution="ach",
                                  baFinancialAccountId=demo_data.BA_ACCOUNT_ID, currency="USD",
                                  amount=Decimal("20"), priority="NEXT_DAY", paymentReasonId="bill-payments")
    page = visitor.open(token, passcode)
    assert page.h1 == "Add your checking account"  # an account step left to fill: its page first
    page = visitor.submit(page, "Continue", holderName="John Doe", routingNumber="021000021",
                          accountNumber="000123456789")
    assert page.h1 == "Confirm the payment" and "ending 6789" in page.html and "5556" not in page.html
    assert Workflow.get_by_id(wid).customer_account_id is not None


def test_saved_cards_are_offered_only_when_the_link_went_to_the_customers_own_contact(rt, api, visitor):
    # a new-customer workflow with John's phone number as a detail, but its link emailed to another address
    wid, token, passcode = opened(rt, api, 2, channel="EMAIL", email="someone.else@example.com")
    page = visitor.open(token, passcode)
    assert page.h1 == "About you"  # not recognised by the phone number: the link did not go to John's contact
    page = visitor.submit(page, "Continue", **profile(email="someone.else@example.com"))
    assert page.h1 == "Add your debit card"
    page = visitor.submit(page, "Continue", **card("5200828282828210"))
    assert page.h1 == "Confirm the payment" and "ending 8210" in page.html
    assert "5556" not in page.html and "Add a different account" in page.html  # not John's saved card
    forged = visitor.submit(page, "Confirm", follow=False, account=demo_data.CARD_ID)
    assert forged.status == 422 and forged.error_for("account") == "Choose one of the accounts offered."
    assert not Transaction.select().where(Transaction.workflow == wid).exists()
    visitor.submit(page, "Confirm")
    assert Transaction.get(Transaction.workflow == wid).customer_account_id == workflow(wid).customer_account_id


# -- a stranger's mailbox never sees an existing customer ---------------------------------------------

def test_an_email_link_to_a_stranger_with_a_customer_phone_number_does_not_recognise_the_customer(rt, api, visitor):
    """The business typed John's phone number on an EMAIL workflow to someone else's mailbox: the link did not
    reach John, so nothing of John's is shown there, and what the stranger types makes a customer of their own."""
    john = Customer.get_by_id(demo_data.CUSTOMER_ID)
    wid, token, passcode = opened(rt, api, 0, channel="EMAIL", email="stranger@example.net", title="A rebate",
                                  phoneNumber=john.phone_number)
    page = visitor.open(token, passcode)
    assert page.h1 == "About you" and "John" not in page.html and "Welcome back" not in page.html
    nxt = visitor.submit(page, "Continue", **profile(email="stranger@example.net"))
    assert "John" not in nxt.html and "Welcome back" not in nxt.html
    stranger = Customer.get_by_id(workflow(wid).customer_id)
    assert stranger.id != john.id and stranger.first_name == "Jane" and stranger.email == "stranger@example.net"
    assert stranger.phone_number is None  # the number is John's: the link to a mailbox did not prove it
    john_now = Customer.get_by_id(john.id)
    assert (john_now.first_name, john_now.email) == ("John", john.email)


def test_a_named_customer_whose_phone_changed_since_create_is_not_shown_to_the_old_number(rt, api, visitor):
    wid, token, passcode = opened(rt, api, 3, title="A rebate")
    Customer.update(phone_number="+14165550111").where(Customer.id == demo_data.CUSTOMER_ID).execute()
    page = visitor.open(token, passcode)
    assert page.h1 == "Confirm that it is you"  # not skipped: the link no longer reaches John
    assert "John" not in page.html and "5556" not in page.html
    assert "This link no longer matches the contact details Demo Co has for you." in page.html
    refused = visitor.submit(page, "Continue", follow=False)
    assert refused.status == 409 and "no longer matches your contact details" in refused.html
    assert steps_of(wid)["lookup-profile"].status != "COMPLETED"
    assert not Transaction.select().where(Transaction.workflow == wid).exists()


def test_enhance_profile_records_which_fields_of_an_existing_customer_changed(rt, api, visitor):
    from linx_core.store.models import Event

    wid, token, passcode = opened(rt, api, 1, steps=["notification", "lookup-profile", "enhance-profile"],
                                  profileFields=["dateOfBirth"], firstName="Jon", lastName="Doe",
                                  email="john.doe@example.com", financialAccountSubType=None)
    page = visitor.open(token, passcode)
    assert visitor.submit(page, "Continue", firstName="Jonathan", dateOfBirth="1990-01-31").h1 == "All done"
    [event] = Event.select().where(Event.type == "customer.updated")
    assert event.subject_id == demo_data.CUSTOMER_ID or str(event.subject_id) == demo_data.CUSTOMER_ID
    assert event.data == {"customerId": demo_data.CUSTOMER_ID, "workflowId": wid,
                          "fields": ["dateOfBirth", "firstName"]}  # the names only, never the values
    assert rt.event_types["customer.updated"].problems(event.data, strict=True) == {}


def test_submit_and_advance_complete_a_step_through_the_same_code():
    import inspect

    from linx_core.services import journey

    for function in (journey.submit, journey.advance):
        source = inspect.getsource(function)
        assert "_complete(rt, kind, " in source and "complete_step(" not in source and "StepAct(" not in source
