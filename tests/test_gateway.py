"""The customer Gateway through Flask's test client: every page, every dead end, the security rules.

Each test drives a workflow as a customer would: created through the API, the link read from the
console channel's inbox, then pages opened and forms posted with what the pages themselves hold
(hidden fields, CSRF token). Runs on SQLite and PostgreSQL like every ``rt`` test.
"""
import datetime as dt
import random
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import pytest

from gateway_app import create_app, gateway
from linx_core import clock
from linx_core import demo as demo_data
from linx_core.runtime import Runtime
from linx_core.services import transactions
from linx_core.store import db
from linx_core.store.models import (
    Business,
    Customer,
    CustomerFinancialAccount,
    DocumentAcceptance,
    Event,
    RateCounter,
    Transaction,
    Workflow,
    WorkflowStep,
)

from .conftest import make_app
from .conftest import test_settings as make_settings
from .drive import link_token, seed

ROOT = Path(__file__).resolve().parent.parent
NAMES = ("First name", "Last name", "Email", "Date of birth", "Street address", "City", "State or province",
         "ZIP or postal code", "Country")
CARD = "4000056655665556"  # Visa debit
OTHER_CARD = "4242424242424242"  # Visa
ROUTING = "021000021"


# -- reading pages ---------------------------------------------------------------------------------

class Parsed(HTMLParser):
    """Forms (action, method, fields), labels, inputs, links and the h1 of a page."""

    def __init__(self, html):
        super().__init__(convert_charrefs=True)
        self.forms, self.labels, self.controls, self.links = [], {}, [], []
        self.h1 = ""
        self._label = self._in_h1 = self._select = self._button = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.forms.append({"action": a.get("action", ""), "method": a.get("method", "get").lower(),
                               "fields": {}, "buttons": []})
        elif tag == "label":
            self._label = [a.get("for"), ""]
        elif tag == "h1":
            self._in_h1 = True
        elif tag == "a":
            self.links.append(a.get("href", ""))
        elif tag == "button":
            self._button = ""
        elif tag in ("input", "select", "textarea"):
            self.controls.append({"tag": tag, **a})
            if self.forms and a.get("name"):
                if tag == "select":
                    self._select = a["name"]
                    self.forms[-1]["fields"].setdefault(a["name"], "")
                elif a.get("type") in ("checkbox", "radio"):
                    if "checked" in a:
                        self.forms[-1]["fields"][a["name"]] = a.get("value", "on")
                else:
                    self.forms[-1]["fields"][a["name"]] = a.get("value", "")
        elif tag == "option" and self._select and "selected" in a and self.forms:
            self.forms[-1]["fields"][self._select] = a.get("value", "")

    def handle_endtag(self, tag):
        if tag == "label" and self._label:
            self.labels[self._label[0]] = " ".join(self._label[1].split())
            self._label = None
        elif tag == "h1":
            self._in_h1 = False
        elif tag == "select":
            self._select = None
        elif tag == "button" and self._button is not None:
            if self.forms:
                self.forms[-1]["buttons"].append(" ".join(self._button.split()))
            self._button = None

    def handle_data(self, data):
        if self._label:
            self._label[1] += data
        if self._in_h1:
            self.h1 += data
        if self._button is not None:
            self._button += data


class Page:
    def __init__(self, response):
        self.response = response
        self.status = response.status_code
        self.html = response.get_data(as_text=True)
        self.parsed = Parsed(self.html) if response.mimetype == "text/html" else None

    @property
    def h1(self):
        return " ".join(self.parsed.h1.split())

    @property
    def location(self):
        return self.response.headers.get("Location", "")

    def form(self, button):
        for form in self.parsed.forms:
            if button in form["buttons"]:
                return form
        raise AssertionError(f"no form with a {button!r} button on {self.h1!r}: {self.parsed.forms}")

    def label_names(self):
        """The accessible name of every visible control (its <label for>), checking each has one."""
        names = []
        for control in self.parsed.controls:
            if control.get("type") == "hidden":
                continue
            assert control.get("id") in self.parsed.labels, f"no label for {control}"
            names.append(self.parsed.labels[control["id"]])
        return names

    def error_for(self, name):
        found = re.search(rf'<p class="error" id="f-{re.escape(name)}-error">.*?</span>\s*(.*?)</p>', self.html,
                          re.S)
        return found.group(1).strip() if found else None


class Visitor:
    """One browser: its own cookies (the Gateway session)."""

    def __init__(self, app, addr="198.51.100.7", lang=None):
        self.client = app.test_client()
        self.environ = {"REMOTE_ADDR": addr}
        self.headers = {"Accept-Language": lang} if lang else {}

    def get(self, url, follow=False):
        return Page(self.client.get(url, environ_base=self.environ, headers=self.headers, follow_redirects=follow))

    def post(self, url, data, follow=False):
        return Page(self.client.post(url, data=data, environ_base=self.environ, headers=self.headers,
                                     follow_redirects=follow))

    def submit(self, page, button, follow=True, **values):
        form = page.form(button)
        data = dict(form["fields"])
        data.update(values)
        if form["method"] == "get":
            return Page(self.client.get(form["action"], query_string=data, environ_base=self.environ,
                                        headers=self.headers, follow_redirects=follow))
        return self.post(form["action"], data, follow=follow)

    def open(self, token, passcode=None):
        """Open the link and get past the landing page: the first step's page."""
        landing = self.get(f"/l/{token}")
        assert landing.status == 200, landing.html
        values = {"passcode": passcode} if passcode is not None else {}
        return self.submit(landing, "Continue", **values)


# -- fixtures and helpers --------------------------------------------------------------------------

@pytest.fixture
def visitor(app):
    return Visitor(app)


def create(api, index, passcode=True, title=None, steps=None, **parameters):
    body = seed(index, **parameters)
    body["parameters"] = {k: v for k, v in body["parameters"].items() if v is not None}
    body["passcode"] = passcode
    if title is not None:
        body["title"] = title
    if steps is not None:
        body["steps"] = [{"name": s} for s in steps]
    response = api.create(body)
    assert response.status_code == 201, response.get_json()
    created = response.get_json()
    return created["id"], created.get("passcode")


def opened(rt, api, index, **kwargs):
    wid, passcode = create(api, index, **kwargs)
    return wid, link_token(rt, wid), passcode


def workflow(wid):
    return Workflow.get_by_id(wid)


def as_new_customer(index):
    """Seed ``index`` for a phone number no customer of Demo Co has."""
    return dict(phoneNumber="+14165550100") if index in (0, 2) else {}


def profile(**overrides):
    values = {"firstName": "Jane", "lastName": "Roe", "email": "jane.roe@example.com", "dateOfBirth": "1990-01-31",
              "street": "1 Main St", "city": "Toronto", "state": "ON", "postalCode": "M5V 2T6", "country": "CAN"}
    values.update(overrides)
    return values


def card(number=CARD, **overrides):
    values = {"holderName": "Jane Roe", "cardNumber": number, "expiry": "12/30", "postalCode": "M5V 2T6"}
    values.update(overrides)
    return values


# -- the landing page ------------------------------------------------------------------------------

def test_the_landing_page_shows_business_title_intro_steps_expiry_passcode_continue_and_decline(rt, api, visitor):
    wid, token, passcode = opened(rt, api, 2)
    page = visitor.get(f"/l/{token}")
    assert page.status == 200 and page.response.mimetype == "text/html"
    assert page.h1 == "Send a rebate to a new Financial Account for new Customer John Doe"
    assert "Demo Co asks you to:" in page.html
    assert "You have a rebate" in page.html
    for words in ("Tell us your name and contact details", "Add your debit card", "Confirm the payment"):
        assert words in page.html
    assert "256.25" not in page.html  # the amount waits behind the passcode
    expiry = workflow(wid).expire_at
    assert f'datetime="{expiry.isoformat()}"' in page.html and "This link expires on" in page.html
    assert page.label_names() == ["Passcode"]
    assert page.form("Continue")["action"] == f"/g/{wid}/start"
    assert page.form("Decline")["method"] == "get"
    decline = visitor.submit(page, "Decline")
    assert decline.status == 200 and decline.h1 == "Decline this request"
    options = re.findall(r'<option value="([A-Z_]+)"', decline.html)
    assert options == list(rt.rules.catalog["declineReasons"])
    assert "This message was not meant for me" in decline.html


def test_without_a_passcode_the_landing_page_asks_for_none_and_shows_the_amount(rt, api, visitor):
    wid, token, _ = opened(rt, api, 2, passcode=False)
    page = visitor.get(f"/l/{token}")
    assert page.label_names() == []
    assert "Confirm that you will receive $256.25" in page.html
    step = visitor.submit(page, "Continue")
    assert step.status == 200 and step.h1 == "Welcome back, John"


def test_a_wrong_passcode_says_how_many_attempts_are_left_and_the_right_one_opens_the_step(rt, api, visitor):
    wid, token, passcode = opened(rt, api, 2, **as_new_customer(2))
    landing = visitor.get(f"/l/{token}")
    wrong = visitor.submit(landing, "Continue", follow=False, passcode="000000" if passcode != "000000" else "111111")
    assert wrong.status == 422
    assert wrong.error_for("passcode") == "That passcode is not right. 4 attempts left."
    assert 'aria-invalid="true"' in wrong.html
    empty = visitor.submit(wrong, "Continue", follow=False, passcode="")
    assert empty.error_for("passcode") == "Enter your passcode."  # nothing to compare: no attempt spent
    assert workflow(wid).passcode_attempts == 1
    right = visitor.submit(empty, "Continue", follow=False, passcode=passcode)
    assert right.status == 303 and right.location.endswith(f"/g/{wid}/step")
    assert workflow(wid).passcode_attempts == 0
    step = visitor.get(right.location)
    assert step.h1 == "About you"


def test_the_passcode_gates_every_step_and_the_done_page(rt, api, visitor):
    wid, token, _ = opened(rt, api, 2, **as_new_customer(2))
    visitor.get(f"/l/{token}")
    for url in (f"/g/{wid}/step", f"/g/{wid}/done", f"/g/{wid}/documents/privacy-policy"):
        page = visitor.get(url)
        assert page.status == 303 and page.location.endswith(f"/g/{wid}"), url
    landing = visitor.get(f"/g/{wid}")
    token_field = landing.form("Continue")["fields"]["csrf_token"]
    posted = visitor.post(f"/g/{wid}/step", {"csrf_token": token_field, "step": "customer-account",
                                             "position": "1", **profile()})
    assert posted.status == 303 and posted.location.endswith(f"/g/{wid}")
    assert workflow(wid).current_step == 1 and Customer.select().where(Customer.first_name == "Jane").count() == 0


# -- the steps -------------------------------------------------------------------------------------

def test_customer_account_asks_the_issue_fields_checks_them_and_keeps_values(rt, api, visitor):
    wid, token, passcode = opened(rt, api, 0, **as_new_customer(0))
    page = visitor.open(token, passcode)
    assert page.h1 == "About you"
    assert page.label_names() == list(NAMES)
    assert "+1 416-555-0100" in page.html and 'name="phoneNumber"' not in page.html  # shown, not edited
    required = rt.rules.steps["customer-account"]["form"]["required"]
    assert 'id="f-dateOfBirth-opt"' in page.html and 'id="f-firstName-opt"' not in page.html
    bad = visitor.submit(page, "Continue", follow=False, **profile(firstName="", email="not-an-email",
                                                               dateOfBirth="1850-01-01", state="Ontario",
                                                               postalCode="123", lastName="<b>Roe</b>"))
    assert bad.status == 422
    assert bad.error_for("firstName") == "First name is required." and "firstName" in required
    assert bad.error_for("email").startswith("Enter an email address")
    assert bad.error_for("dateOfBirth") and bad.error_for("postalCode")
    assert bad.error_for("state") is not None
    assert bad.parsed.forms[0]["fields"]["lastName"] == "<b>Roe</b>"  # kept, and escaped in the page
    assert "&lt;b&gt;Roe&lt;/b&gt;" in bad.html and "<b>Roe</b>" not in bad.html
    assert bad.parsed.forms[0]["fields"]["city"] == "Toronto"
    assert 'href="#f-firstName"' in bad.html  # the summary links to the field
    done = visitor.submit(bad, "Continue", **profile())
    assert done.status == 200 and done.h1 == "All done"
    customer = Customer.get(Customer.first_name == "Jane")
    assert (customer.last_name, customer.phone_number, customer.email) == ("Roe", "+14165550100",
                                                                            "jane.roe@example.com")
    assert customer.addresses[0]["postalCode"] == "M5V 2T6"
    assert workflow(wid).status == "COMPLETED"


def test_a_customer_with_the_workflow_phone_number_is_treated_as_existing_with_no_duplicate(rt, api, demo, visitor):
    wid, token, passcode = opened(rt, api, 0)  # +16471234567 is John Doe's number
    before = Customer.select().count()
    page = visitor.open(token, passcode)
    assert page.h1 == "Welcome back, John"
    assert page.label_names() == []
    done = visitor.submit(page, "Continue")
    assert done.h1 == "All done"
    assert Customer.select().count() == before
    assert str(workflow(wid).customer_id) == demo_data.CUSTOMER_ID


def test_lookup_profile_asks_nothing_greets_by_first_name_and_a_card_is_added(rt, api, visitor):
    wid, token, passcode = opened(rt, api, 1)
    page = visitor.open(token, passcode)  # lookup-profile asks nothing: past the passcode, the card form
    assert page.h1 == "Add your debit card" and "Welcome back, John." in page.html
    assert [s.status for s in workflow(wid).steps.order_by(WorkflowStep.position)][:3] == [
        "COMPLETED", "COMPLETED", "ACTIVE"]
    assert page.label_names() == ["Name on card", "Card number", "Expiry (MM/YY)", "ZIP or postal code"]
    bad = visitor.submit(page, "Continue", follow=False, **card("4000056655665557"))  # Luhn digit wrong
    assert bad.status == 422 and bad.error_for("cardNumber").startswith("This card number is not valid")
    expired = visitor.submit(bad, "Continue", follow=False, **card(OTHER_CARD, expiry="01/20"))
    assert expired.error_for("expiry") == "This card has expired."
    for shown in (expired, bad):
        assert "4242424242424242" not in shown.html and "4000056655665557" not in shown.html
        assert "4242 4242" not in shown.html and "4242-4242" not in shown.html
        assert shown.parsed.forms[0]["fields"]["cardNumber"] == ""
        assert shown.parsed.forms[0]["fields"]["holderName"] == "Jane Roe"
    assert expired.parsed.forms[0]["fields"]["expiry"] == "01/20"
    done = visitor.submit(expired, "Continue", **card(OTHER_CARD.replace("4242", "4242 ", 1)))
    assert done.h1 == "All done"
    account = CustomerFinancialAccount.get_by_id(workflow(wid).customer_account_id)
    assert (account.brand, account.last4, account.subtype) == ("VISA", "4242", "DEBIT")
    assert "4242424242424242" not in done.html


def test_seed_3_new_customer_card_and_confirm_creates_one_transaction_and_the_done_page_follows_it(
        rt, api, visitor):
    wid, token, passcode = opened(rt, api, 2, **as_new_customer(2))
    page = visitor.open(token, passcode)
    page = visitor.submit(page, "Continue", **profile())
    assert page.h1 == "Add your debit card"
    page = visitor.submit(page, "Continue", **card())
    assert page.h1 == "Confirm the payment"
    assert "You will receive $256.25 on your Visa debit card ending 5556" in page.html
    assert "Expected arrival: within minutes." in page.html
    assert "Payment of rebates" in page.html
    assert page.form("Decline")["method"] == "get"
    confirm = page.form("Confirm")
    first = visitor.post(confirm["action"], confirm["fields"])
    again = visitor.post(confirm["action"], confirm["fields"])  # the double click
    assert first.status == 303 and first.location.endswith(f"/g/{wid}/done")
    assert again.status == 303 and again.location.endswith(f"/g/{wid}/done")
    assert Transaction.select().where(Transaction.workflow == wid).count() == 1
    done = visitor.get(first.location)
    assert done.status == 200 and "Processing" in done.html
    assert 'http-equiv="refresh"' not in done.html  # WCAG 2.2.1: the customer asks, the page never moves by itself
    assert done.form("Check again")["method"] == "get" and done.form("Check again")["action"] == f"/g/{wid}/done"
    tx = Transaction.get(Transaction.workflow == wid)
    with db.atomic():
        for trigger in ("process", "approve", "settle"):
            if transactions.TRANSACTIONS.allowed(tx.status, trigger):
                transactions.change_status(rt, tx, trigger, "test")
    reloaded = visitor.get(f"/g/{wid}/done")
    assert "Funds sent" in reloaded.html and "Check again" not in reloaded.html
    assert workflow(wid).status == "COMPLETED"
    back = visitor.get(f"/g/{wid}/step")  # the back button: to the done page, no second transaction
    assert back.status == 303 and back.location.endswith(f"/g/{wid}/done")
    replay = visitor.post(confirm["action"], confirm["fields"])
    assert replay.status == 303 and Transaction.select().where(Transaction.workflow == wid).count() == 1
    summary = visitor.get(f"/l/{token}")  # the link of a completed workflow: its summary
    assert summary.status == 200 and summary.h1 == "All done" and "Funds sent" in summary.html


def test_push_to_card_refuses_a_card_the_rail_cannot_pay_next_to_the_card_number(rt, api, visitor):
    if rt.solution("push-to-card") is None:
        pytest.skip("no push-to-card rail is registered")
    wid, token, passcode = opened(rt, api, 2)
    page = visitor.submit(visitor.open(token, passcode), "Continue")
    refused = visitor.submit(page, "Continue", follow=False, **card("4111111111111111"))  # a Visa credit card
    assert refused.status == 422
    assert "credit card" in refused.error_for("cardNumber")
    assert "4111111111111111" not in refused.html and refused.parsed.forms[0]["fields"]["cardNumber"] == ""
    assert CustomerFinancialAccount.select().where(CustomerFinancialAccount.last4 == "1111").count() == 0


def test_seed_4_goes_from_the_passcode_to_the_confirm_page_with_add_a_different_account(rt, api, visitor):
    wid, token, passcode = opened(rt, api, 3)
    page = visitor.open(token, passcode)
    assert page.h1 == "Confirm the payment" and "Welcome back, John." in page.html
    assert "You will receive $256.25 on your Visa debit card ending 5556" in page.html
    assert demo_data.CARD_NUMBER not in page.html
    assert page.form("Confirm")["fields"]["account"] == demo_data.CARD_ID
    assert f"/g/{wid}/step?add=1" in page.parsed.links and "Add a different account" in page.html
    assert workflow(wid).steps.where(WorkflowStep.name == "lookup-financial-account").get().status == "COMPLETED"
    add = visitor.get(f"/g/{wid}/step?add=1")
    assert add.label_names() == ["Card type", "Name on card", "Card number", "Expiry (MM/YY)", "ZIP or postal code"]
    bad = visitor.submit(add, "Continue", follow=False, **card(OTHER_CARD, subtype=""))
    assert bad.status == 422 and bad.error_for("subtype") and OTHER_CARD not in bad.html
    assert "Name on card" in bad.label_names()  # still the add form after the error
    page = visitor.submit(bad, "Continue", **card(OTHER_CARD, subtype="DEBIT"))
    assert page.h1 == "Confirm the payment"
    assert "ending 4242" in page.html and "ending 5556" in page.html  # both cards offered, the new one chosen
    assert page.form("Confirm")["fields"]["account"] == str(workflow(wid).customer_account_id)
    assert page.label_names() == ["Visa debit card ending 4242", "Visa debit card ending 5556"]


def test_seed_4_confirm_with_the_saved_card(rt, api, visitor):
    wid, token, passcode = opened(rt, api, 3)
    page = visitor.open(token, passcode)
    assert "You will receive $256.25 on your Visa debit card ending 5556" in page.html
    done = visitor.submit(page, "Confirm")
    assert done.status == 200 and "Processing" in done.html
    assert str(Transaction.get(Transaction.workflow == wid).customer_account_id) == demo_data.CARD_ID


def test_a_request_by_ach_reads_as_the_business_collecting_from_a_checking_account(rt, api, visitor):
    # a Tuesday morning in New York: before the ACH cut-offs, NEXT_DAY settles the next business day
    clock.set_clock(clock.FrozenClock(dt.datetime(2026, 2, 3, 14, 0, tzinfo=dt.UTC)))
    wid, token, passcode = opened(rt, api, 1, steps=["notification", "lookup-profile", "financial-account",
                                                     "move-money"],
                                  financialAccountSubType="CHECKING", transactionType="REQUEST", solution="ach",
                                  baFinancialAccountId=demo_data.BA_ACCOUNT_ID, currency="USD",
                                  amount=Decimal("1250.5"), priority="NEXT_DAY", paymentReasonId="bill-payments")
    page = visitor.open(token, passcode)
    assert page.h1 == "Add your checking account"
    assert page.label_names() == ["Name on account", "Routing number", "Account number", "Account type"]
    bad = visitor.submit(page, "Continue", follow=False, holderName="Jane Roe", routingNumber="021000022",
                         accountNumber="000123456789")
    assert bad.status == 422 and bad.error_for("routingNumber")
    assert "000123456789" not in bad.html and bad.parsed.forms[0]["fields"]["routingNumber"] == "021000022"
    page = visitor.submit(bad, "Continue", holderName="Jane Roe", routingNumber=ROUTING,
                          accountNumber="000123456789")
    assert "Demo Co will collect $1,250.50 from your checking account ending 6789" in page.html
    # the rail's cut-off decides the day, and the customer (+1 647: Toronto) reads the moment in their own time
    assert "Expected withdrawal: by Feb 4, 2026, 8:30\u202fAM EST." in page.html


def test_a_wire_asks_for_the_billing_address(rt, api, visitor):
    wid, token, passcode = opened(rt, api, 1, steps=["notification", "lookup-profile", "financial-account",
                                                     "move-money"],
                                  financialAccountSubType="SAVING", transactionType="SEND", solution="wire",
                                  baFinancialAccountId=demo_data.BA_ACCOUNT_ID, currency="USD",
                                  amount=Decimal("5000"), priority="SAME_DAY", description="Settlement",
                                  paymentReasonId="insurance-claims")
    page = visitor.open(token, passcode)
    assert page.label_names() == ["Name on account", "Routing number", "Account number", "Account type",
                                  "Street address", "City", "State or province", "ZIP or postal code", "Country"]
    bad = visitor.submit(page, "Continue", follow=False, holderName="Jane Roe", routingNumber=ROUTING,
                         accountNumber="000123456789", street="", city="Boston", state="MA", postalCode="02110",
                         country="USA")
    assert bad.status == 422 and bad.error_for("street") == "Street address is required."
    page = visitor.submit(bad, "Continue", holderName="Jane Roe", routingNumber=ROUTING,
                          accountNumber="000123456789", street="1 Federal St")
    assert "You will receive $5,000.00 in your savings account ending 6789" in page.html
    assert "Settlement" in page.html


def test_enhance_profile_and_documents_then_each_acceptance_keeps_version_and_time(rt, api, visitor):
    docs = [{"documentId": "privacy-policy"}, {"documentId": "terms-of-service"}]
    wid, token, passcode = opened(rt, api, 1, steps=["notification", "lookup-profile", "enhance-profile",
                                                     "document-acceptance"],
                                  profileFields=["dateOfBirth", "mailingAddress", "workPhone"], documents=docs,
                                  financialAccountSubType=None)
    page = visitor.open(token, passcode)
    assert page.h1 == "A few more details"
    assert page.label_names() == ["Date of birth", "Work phone", "Street address", "City", "State or province",
                                  "ZIP or postal code"]
    assert "<legend>Mailing address</legend>" in page.html
    bad = visitor.submit(page, "Continue", follow=False, **{"dateOfBirth": "1990-02-30", "workPhone": "call me",
                                                           "mailingAddress.street": "1 Main St",
                                                           "mailingAddress.city": "Toronto",
                                                           "mailingAddress.state": "Ontario",
                                                           "mailingAddress.postalCode": "M5V 2T6"})
    assert bad.status == 422
    assert bad.error_for("dateOfBirth") and bad.error_for("workPhone") and bad.error_for("mailingAddress-state")
    assert bad.parsed.forms[0]["fields"]["mailingAddress.city"] == "Toronto"
    page = visitor.submit(bad, "Continue", **{"dateOfBirth": "1990-01-31", "workPhone": "+1 416 555 0199",
                                             "mailingAddress.state": "ON"})
    assert page.h1 == "Documents to accept"
    assert page.label_names() == ["I accept Privacy Policy", "I accept Terms of Service"]
    assert "Version 2026-01" in page.html
    text = visitor.get(f"/g/{wid}/documents/privacy-policy")
    assert text.status == 200 and text.h1 == "Privacy Policy"
    assert "How we protect it" in text.html and text.response.headers["X-Frame-Options"] == "DENY"
    assert visitor.get(f"/g/{wid}/documents/no-such-document").status == 404
    assert visitor.get(f"/g/{wid}/documents/..%2F..%2Fsetup.cfg").status == 404
    one = visitor.submit(page, "Continue", follow=False, **{"accept-privacy-policy": "yes"})
    assert one.status == 422 and one.error_for("accept-terms-of-service") == "Accept Terms of Service to continue."
    assert one.parsed.forms[0]["fields"].get("accept-privacy-policy") == "yes"  # still ticked
    done = visitor.submit(one, "Continue", **{"accept-terms-of-service": "yes"})
    assert done.h1 == "All done" and "Privacy Policy" in done.html
    rows = list(DocumentAcceptance.select().where(DocumentAcceptance.workflow == wid)
                .order_by(DocumentAcceptance.document_id))
    assert [(r.document_id, r.document_version) for r in rows] == [("privacy-policy", "2026-01"),
                                                                     ("terms-of-service", "2026-01")]
    assert all(r.accepted_at is not None for r in rows)
    customer = Customer.get_by_id(demo_data.CUSTOMER_ID)
    assert str(customer.date_of_birth) == "1990-01-31" and customer.addresses[-1]["type"] == "MAILING"


# -- dead ends -------------------------------------------------------------------------------------

def test_an_expired_link_names_the_business_and_an_unknown_one_gets_the_same_page(rt, api, visitor):
    start = clock.FrozenClock()
    clock.set_clock(start)
    wid, token, _ = opened(rt, api, 0)
    start.advance(days=3)
    from linx_core.worker import Worker

    Worker(rt).run_until_idle()
    assert workflow(wid).status == "EXPIRED"
    expired = visitor.get(f"/l/{token}")
    assert expired.status == 410 and expired.h1 == "This link has expired"
    assert "Ask Demo Co for a new link." in expired.html
    unknown = visitor.get("/l/" + "A" * 43)
    assert unknown.status == 410 and unknown.h1 == expired.h1
    assert "Ask the business that sent it for a new link." in unknown.html
    assert unknown.html.replace("the business that sent it", "Demo Co").replace(
        "<title>This link has expired</title>", "<title>This link has expired · Demo Co</title>").replace(
        '<span class="business">LinX</span>', '<span class="business">Demo Co</span>') == expired.html
    for other in ("/l/", "/l/short", "/l/" + "x" * 500, "/l/a/b"):
        page = visitor.get(other)
        assert page.status == 410 and page.h1 == expired.h1, other
    assert "Traceback" not in expired.html


def test_expiry_without_the_job_is_still_a_dead_end(rt, api, visitor):
    start = clock.FrozenClock()
    clock.set_clock(start)
    wid, token, passcode = opened(rt, api, 0)
    page = visitor.open(token, passcode)
    start.advance(days=3)  # the expire job has not run: the page still knows
    assert visitor.get(f"/g/{wid}/step").status == 410
    assert visitor.submit(page, "Continue").status == 410


def test_a_cancelled_workflow_shows_the_cancelled_page(rt, api, visitor):
    wid, token, passcode = opened(rt, api, 0)
    page = visitor.open(token, passcode)
    assert api.client.post(f"/v2/linx/workflows/{wid}/cancel", headers=api.headers()).status_code == 200
    posted = visitor.submit(page, "Continue")  # the cancel ended the session
    assert posted.status == 403 and posted.h1 == "Open the link from your message"
    assert _ended(visitor, wid)
    again = visitor.get(f"/l/{token}")  # the link says why
    assert again.status == 410 and again.h1 == "This request was cancelled" and "Demo Co" in again.html
    assert visitor.get(f"/g/{wid}/step").status == 403  # and binds nothing


def test_five_wrong_passcodes_lock_the_link_with_an_event_and_a_resend_unlocks_it(rt, api, visitor):
    wid, token, passcode = opened(rt, api, 0)
    wrong = "000000" if passcode != "000000" else "111111"
    page = visitor.get(f"/l/{token}")
    for attempt in range(1, 5):
        page = visitor.submit(page, "Continue", follow=False, passcode=wrong)
        assert page.status == 422, attempt
    locked = visitor.submit(page, "Continue", follow=False, passcode=wrong)
    assert locked.status == 423 and locked.h1 == "This link is locked"
    assert "Ask Demo Co to send you the link again." in locked.html
    assert visitor.get(f"/l/{token}").status == 423
    assert visitor.post(f"/g/{wid}/start", {"csrf_token": page.form("Continue")["fields"]["csrf_token"],
                                            "passcode": passcode}).status == 403  # the lock ended the session
    [event] = Event.select().where((Event.type == "linx.workflow-locked") & (Event.subject_id == wid))
    assert event.data["attempts"] == 5
    resent = api.client.post(f"/v2/linx/workflows/{wid}/resend", headers=api.headers())
    assert resent.status_code == 200, resent.get_json()
    new_passcode = resent.get_json().get("passcode")
    new_token = link_token(rt, wid)
    fresh = Visitor(visitor.client.application).open(new_token, new_passcode)
    assert fresh.status == 200 and fresh.h1 == "Welcome back, John"


def _ended(visitor, wid):
    """Every page of the workflow sends ``visitor`` back to the link: its session is over."""
    for url in (f"/g/{wid}/step", f"/g/{wid}", f"/g/{wid}/done", f"/g/{wid}/decline"):
        page = visitor.get(url)
        assert page.status == 403 and page.h1 == "Open the link from your message", url
    return True


def test_a_resend_ends_every_session_and_link_sent_before(rt, api, app, visitor):
    wid, token, passcode = opened(rt, api, 0)
    page = visitor.open(token, passcode)
    assert page.status == 200 and visitor.get(f"/g/{wid}/step").status == 200
    onlooker = Visitor(app, addr="198.51.100.20")  # opened the link, no passcode yet
    waiting = onlooker.get(f"/l/{token}")
    resent = api.client.post(f"/v2/linx/workflows/{wid}/resend", headers=api.headers())
    assert resent.status_code == 200, resent.get_json()
    new_passcode = resent.get_json()["passcode"]
    assert visitor.submit(page, "Continue").status == 403  # a form of the old session changes nothing
    assert onlooker.submit(waiting, "Continue", follow=False, passcode=new_passcode).status == 403
    assert _ended(visitor, wid)
    old = visitor.get(f"/l/{token}")
    assert old.status == 410 and old.h1 == "This link has expired"
    assert _ended(visitor, wid)  # the old link binds nothing
    new_token = link_token(rt, wid)
    assert new_token != token
    landing = visitor.get(f"/l/{new_token}")  # the new link, and only with the new passcode
    assert visitor.submit(landing, "Continue", follow=False, passcode=passcode).status == 422
    fresh = visitor.open(new_token, new_passcode)
    assert fresh.status == 200 and fresh.h1 == "Welcome back, John"


def test_a_lockout_ends_the_sessions_and_the_link_then_opens_only_the_locked_page(rt, api, app, visitor):
    wid, token, passcode = opened(rt, api, 0)
    assert visitor.open(token, passcode).status == 200  # the customer, past the passcode
    guesser = Visitor(app, addr="198.51.100.21")
    wrong = "000000" if passcode != "000000" else "111111"
    page = guesser.get(f"/l/{token}")
    for _attempt in range(4):
        page = guesser.submit(page, "Continue", follow=False, passcode=wrong)
    assert guesser.submit(page, "Continue", follow=False, passcode=wrong).status == 423
    assert _ended(visitor, wid) and _ended(guesser, wid)
    for someone in (visitor, guesser, Visitor(app, addr="198.51.100.22")):
        locked = someone.get(f"/l/{token}")
        assert locked.status == 423 and locked.h1 == "This link is locked"
        assert _ended(someone, wid)
    resent = api.client.post(f"/v2/linx/workflows/{wid}/resend", headers=api.headers()).get_json()
    assert visitor.get(f"/l/{token}").status == 410
    assert visitor.open(link_token(rt, wid), resent["passcode"]).h1 == "Welcome back, John"


def test_decline_asks_a_reason_from_the_rules_and_ends_the_workflow(rt, api, visitor):
    wid, token, _ = opened(rt, api, 2)
    landing = visitor.get(f"/l/{token}")
    page = visitor.submit(landing, "Decline")  # no passcode needed to say it was not meant for you
    bad = visitor.submit(page, "Decline", reason="NOT_A_REASON")
    assert bad.status == 422 and bad.error_for("reason") == "Choose a reason."
    done = visitor.submit(bad, "Decline", reason="WRONG_PERSON")
    assert done.status == 200 and done.h1 == "You declined this request"
    assert "Demo Co has been told." in done.html
    row = workflow(wid)
    assert (row.status, row.decline_reason) == ("DECLINED", "WRONG_PERSON")
    again = visitor.get(f"/l/{token}")
    assert again.status == 410 and again.h1 == "You declined this request"
    assert visitor.submit(bad, "Decline", reason="OTHER").status == 410


def test_decline_on_the_move_money_page_and_none_after_confirming(rt, api, visitor):
    wid, token, passcode = opened(rt, api, 3)
    page = visitor.open(token, passcode)
    decline_page = visitor.submit(page, "Decline")
    assert decline_page.h1 == "Decline this request"
    visitor.submit(page, "Confirm")
    late = visitor.submit(decline_page, "Decline", follow=False, reason="WRONG_AMOUNT")
    assert late.status == 303 and late.location.endswith(f"/g/{wid}/done")
    assert workflow(wid).status == "ACTIVE" and Transaction.select().where(Transaction.workflow == wid).count() == 1


# -- security --------------------------------------------------------------------------------------

def test_gateway_pages_carry_the_security_headers(rt, api, visitor):
    wid, token, passcode = opened(rt, api, 0)
    pages = [visitor.get(f"/l/{token}"), visitor.get("/l/unknown"), visitor.get("/g/nothing/here"),
             visitor.get("/g/static/gateway.css")]
    pages.append(visitor.open(token, passcode))
    for page in pages:
        headers = page.response.headers
        assert headers["Content-Security-Policy"] == "default-src 'self'"
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Referrer-Policy"] == "no-referrer"
    for page in pages[:3] + pages[4:]:
        assert "<script" not in page.html and "style=" not in page.html
        assert not re.search(r'(src|href)="(https?:)?//', page.html)  # nothing from another host


def test_session_cookies_are_httponly_lax_and_secure_outside_development_on_plain_http(rt, api, app, demo, tmp_path):
    wid, token, _ = opened(rt, api, 0)
    cookie = app.test_client().get(f"/l/{token}").headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie
    dev = Runtime(make_settings(env="development", public_url="http://127.0.0.1:8000", instance_path=str(tmp_path),
                                database_url=rt.settings.database_url), rules=rt.rules, database=rt.database)
    dev_cookie = create_app(runtime=dev).test_client().get(f"/l/{token}").headers["Set-Cookie"]
    assert "HttpOnly" in dev_cookie and "SameSite=Lax" in dev_cookie and "Secure" not in dev_cookie
    https_dev = Runtime(make_settings(env="development", public_url="https://linx.example.com",
                                      instance_path=str(tmp_path), database_url=rt.settings.database_url),
                        rules=rt.rules, database=rt.database)
    assert "Secure" in create_app(runtime=https_dev).test_client().get(f"/l/{token}").headers["Set-Cookie"]
    rt.bind()


def test_every_post_needs_the_csrf_token_of_its_own_session(rt, api, app, visitor):
    wid, token, passcode = opened(rt, api, 0, **as_new_customer(0))
    page = visitor.open(token, passcode)
    form = page.form("Continue")
    for bad in ({}, {"csrf_token": ""}, {"csrf_token": "forged"}):
        data = {k: v for k, v in form["fields"].items() if k != "csrf_token"}
        data.update(profile(), **bad)
        refused = visitor.post(form["action"], data)
        assert refused.status == 400 and refused.h1 == "This page has expired"
        assert refused.response.mimetype == "text/html"
    other = Visitor(app, addr="198.51.100.8")
    other_page = other.get(f"/l/{token}")
    theirs = other_page.form("Continue")["fields"]["csrf_token"]
    data = dict(form["fields"], csrf_token=theirs, **profile())
    assert visitor.post(form["action"], data).status == 400
    assert workflow(wid).current_step == 1
    landing_post = visitor.post(f"/g/{wid}/start", {"passcode": passcode})
    assert landing_post.status == 400
    decline_post = visitor.post(f"/g/{wid}/decline", {"reason": "OTHER"})
    assert decline_post.status == 400 and workflow(wid).status == "ACTIVE"


def test_a_session_is_bound_to_one_workflow_and_never_opens_another(rt, api, app, visitor):
    first, token1, passcode1 = opened(rt, api, 0)
    second, token2, passcode2 = opened(rt, api, 1)
    visitor.open(token1, passcode1)
    assert visitor.get(f"/g/{first}/step").status == 200
    for url in (f"/g/{second}/step", f"/g/{second}", f"/g/{second}/done", f"/g/{second}/decline"):
        page = visitor.get(url)
        assert page.status == 403 and page.h1 == "Open the link from your message", url
    stranger = Visitor(app, addr="198.51.100.9")
    assert stranger.get(f"/g/{first}/step").status == 403
    assert stranger.get("/g/not-a-uuid/step").status == 403
    visitor.get(f"/l/{token2}")  # a new link rebinds the session, and asks for its own passcode
    assert visitor.get(f"/g/{first}/step").status == 403
    assert visitor.get(f"/g/{second}/step").status == 303


def test_a_session_times_out_when_idle(rt, api, app, visitor, monkeypatch):
    wid, token, passcode = opened(rt, api, 0)
    visitor.open(token, passcode)
    app.config["LINX_GATEWAY_IDLE_SECONDS"] = -1
    assert visitor.get(f"/g/{wid}/step").status == 403


def test_script_in_title_and_intro_message_is_escaped(rt, api, visitor):
    script = "<script>alert('x')</script>"
    wid, token, passcode = opened(rt, api, 0, title=f"Hi {script}", introductoryMessage=f"Intro {script}",
                                  passcode=False)
    for page in (visitor.get(f"/l/{token}"), visitor.get(f"/g/{wid}/step", follow=True)):
        assert "<script" not in page.html
    landing = visitor.get(f"/l/{token}")
    assert "Hi &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in landing.html
    assert "Intro &lt;script&gt;" in landing.html
    done = visitor.submit(visitor.get(f"/g/{wid}/step"), "Continue")
    assert "<script" not in done.html and "&lt;script&gt;" in done.html


def test_the_business_name_and_brand_colour_are_escaped_and_checked(rt, api, demo, visitor):
    business = Business.get_by_id(demo[0].id)
    business.display_name = "Demo <i>Co</i>"
    business.settings = {"brandColor": "#aa0000"}
    business.save()
    wid, token, _ = opened(rt, api, 0)
    page = visitor.get(f"/l/{token}")
    assert "Demo &lt;i&gt;Co&lt;/i&gt;" in page.html and "<i>Co</i>" not in page.html
    css_url = f"/g/brand/{business.id}.css"
    assert f'href="{css_url}"' in page.html
    css = visitor.get(css_url)
    assert css.response.mimetype == "text/css" and "--brand:#aa0000" in css.html
    business.settings = {"brandColor": "red;}body{display:none"}
    business.save()
    assert "/g/brand/" not in visitor.get(f"/l/{token}").html
    assert "display" not in visitor.get(css_url).html


def test_link_openings_and_passcode_checks_are_rate_limited_per_client_address(rt, api, app):
    app.config["LINX_GATEWAY_LINK_LIMIT"] = (3, 60)
    app.config["LINX_GATEWAY_PASSCODE_LIMIT"] = (2, 60)
    wid, token, passcode = opened(rt, api, 0)
    one = Visitor(app, addr="203.0.113.1")
    for _ in range(3):
        assert one.get("/l/" + "B" * 43).status == 410
    limited = one.get(f"/l/{token}")
    assert limited.status == 429 and limited.h1 == "Too many attempts" and int(limited.response.headers[
        "Retry-After"]) >= 1
    two = Visitor(app, addr="203.0.113.2")
    landing = two.get(f"/l/{token}")
    assert landing.status == 200
    wrong = "000000" if passcode != "000000" else "111111"
    page = two.submit(landing, "Continue", follow=False, passcode=wrong)
    page = two.submit(page, "Continue", follow=False, passcode=wrong)
    blocked = two.submit(page, "Continue", follow=False, passcode=passcode)
    assert blocked.status == 429
    assert workflow(wid).passcode_attempts == 2  # the limited attempt was never checked


def test_a_long_client_address_is_limited_like_any_other_and_kept_only_as_a_digest(rt, api, app):
    """Behind a proxy told too many hops, the client writes its own address: 300 characters must neither
    overflow the counter's key (varchar(128) on PostgreSQL: a 500) nor dodge the limit, nor be stored."""
    app.config["LINX_GATEWAY_LINK_LIMIT"] = (3, 60)
    address = "2001:db8::" + "a" * 290
    one = Visitor(app, addr=address)
    for _ in range(3):
        assert one.get("/l/" + "B" * 43).status == 410
    assert one.get("/l/" + "B" * 43).status == 429
    assert Visitor(app, addr=address[:-1] + "b").get("/l/" + "B" * 43).status == 410  # another address
    keys = [row.key for row in RateCounter.select()]
    assert keys and all(len(key) <= 64 and "aaaa" not in key for key in keys), keys


def test_a_session_from_before_epochs_is_still_bound_until_the_epoch_moves(rt, api, app, visitor):
    """A cookie made before the upgrade has no epoch: it counts as 0 (where every workflow's epoch starts), so
    the customers mid-journey at the deploy keep their session; a resend still ends it."""
    wid, token, passcode = opened(rt, api, 0)
    assert visitor.open(token, passcode).status == 200
    with visitor.client.session_transaction() as cookie:
        del cookie["ep"]
    assert visitor.get(f"/g/{wid}/step").status == 200
    with visitor.client.session_transaction() as cookie:
        assert "ep" not in cookie
    api.client.post(f"/v2/linx/workflows/{wid}/resend", headers=api.headers())
    assert _ended(visitor, wid)


def test_replayed_forms_and_stale_positions_go_to_the_current_step(rt, api, visitor):
    wid, token, passcode = opened(rt, api, 2, **as_new_customer(2))
    page = visitor.open(token, passcode)
    form = dict(page.form("Continue")["fields"], **profile())
    assert visitor.post(f"/g/{wid}/step", form).location.endswith(f"/g/{wid}/step")
    replay = visitor.post(f"/g/{wid}/step", dict(form, firstName="Twice"))
    assert replay.status == 303 and replay.location.endswith(f"/g/{wid}/step")
    assert Customer.select().where(Customer.phone_number == "+14165550100").count() == 1
    for position, step in (("0", "customer-account"), ("99", "financial-account"), ("x", "move-money"),
                           ("-1", "move-money"), ("3", "no-such-step"), ("", "")):
        answer = visitor.post(f"/g/{wid}/step", dict(form, position=position, step=step))
        assert answer.status == 303 and answer.location.endswith(f"/g/{wid}/step"), (position, step)
    assert visitor.get(f"/g/{wid}/step").h1 == "Add your debit card"
    assert Transaction.select().count() == 0


def test_two_concurrent_confirms_create_one_transaction(rt, api, app):
    wid, token, passcode = opened(rt, api, 3)
    visitor = Visitor(app)
    page = visitor.open(token, passcode)
    form = page.form("Confirm")
    cookie = visitor.client.get_cookie("session")
    barrier = threading.Barrier(4)

    def confirm(_):
        client = app.test_client()
        client.set_cookie("session", cookie.value)
        barrier.wait()
        return client.post(form["action"], data=form["fields"], environ_base={"REMOTE_ADDR": "198.51.100.7"})

    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(confirm, range(4)))
    rt.bind()
    assert all(a.status_code == 303 for a in answers), [a.status_code for a in answers]
    assert all(a.headers["Location"].endswith(f"/g/{wid}/done") for a in answers)
    assert Transaction.select().where(Transaction.workflow == wid).count() == 1


# -- HTML error pages under /l and /g --------------------------------------------------------------

def test_errors_under_the_gateway_paths_are_html_pages_without_a_trace(rt, api, app, visitor):
    wid, token, passcode = opened(rt, api, 0)
    page = visitor.open(token, passcode)
    for response in (visitor.get("/g/"), visitor.get("/g/x/y/z"), visitor.client.put(f"/l/{token}"),
                     visitor.client.delete(f"/g/{wid}/step")):
        response = response if isinstance(response, Page) else Page(response)
        assert response.status in (404, 410) and response.response.mimetype == "text/html"
    big = visitor.post(f"/g/{wid}/step", dict(page.form("Continue")["fields"], firstName="x" * 2_000_000))
    assert big.status == 413 and big.response.mimetype == "text/html" and big.h1 == "That was too much to send"
    assert visitor.get("/v2/linx/workflows").response.mimetype == "application/json"  # the API keeps JSON


def test_an_unexpected_failure_is_a_500_page_without_a_trace(rt, api, app, visitor, monkeypatch):
    wid, token, passcode = opened(rt, api, 0)
    visitor.open(token, passcode)

    def boom(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(gateway.dispatch, "_render", boom)
    page = visitor.get(f"/g/{wid}/step")
    assert page.status == 500 and page.response.mimetype == "text/html"
    assert "secret internals" not in page.html and "Traceback" not in page.html
    assert page.response.headers["Content-Security-Policy"] == "default-src 'self'"


# -- French (Canada) -------------------------------------------------------------------------------

def test_french_is_chosen_from_accept_language(rt, api, app):
    wid, token, passcode = opened(rt, api, 3)
    visitor = Visitor(app, lang="fr-CA,fr;q=0.9,en;q=0.5")
    landing = visitor.get(f"/l/{token}")
    assert '<html lang="fr-CA">' in landing.html and "Code d&#39;accès" in landing.html
    assert landing.form("Continuer") and landing.form("Refuser")
    page = visitor.submit(landing, "Continuer", passcode=passcode)  # an existing customer: the confirm page
    assert page.h1 == "Confirmer le paiement" and "Bon retour, John." in page.html
    assert "Ajouter un autre compte" in page.html
    assert "Vous recevrez 256,25\u00a0$\u00a0US sur votre carte de débit Visa se terminant par 5556" in page.html
    assert "Arrivée prévue : d&#39;ici quelques minutes." in page.html  # the rail's promise, in French too
    english = Visitor(app, lang="en-US,en").get(f"/l/{token}")
    assert '<html lang="en">' in english.html and "Passcode" in english.html


def test_every_document_has_its_text_in_both_languages(rt):
    """(Every message and rule label has its French: tests/test_i18n.py, over the catalogs.)"""
    for doc_id in rt.rules.catalog["documents"]:
        assert (ROOT / "gateway_app" / "documents" / f"{doc_id}.txt").is_file()
        assert (ROOT / "gateway_app" / "documents" / f"{doc_id}.fr.txt").is_file()


# -- fuzz ------------------------------------------------------------------------------------------

NASTY = ["", " ", "\x00", "a\x00b", "\u202e\u0000", "💳" * 50, "<script>alert(1)</script>", "' OR 1=1 --",
         "%s%s%n", "../../etc/passwd", "9" * 300, "x" * 5000, "-1", "1e309", "NaN", "\ud7ff", "\t\n\r",
         "12/99", "99/99", "00/00", "4000056655665556", "2000-02-30", "0000-00-00", "CAN", "usa", "ÉÈ"]


def _fuzz_value(rng):
    choice = rng.random()
    if choice < 0.4:
        return rng.choice(NASTY)
    if choice < 0.7:
        return "".join(chr(rng.randint(1, 0x2FFF)) for _ in range(rng.randint(0, 60)))
    if choice < 0.9:
        return "".join(rng.choice("0123456789 -/") for _ in range(rng.randint(0, 25)))
    return rng.choice("abcdefghij") * rng.randint(100, 20_000)


def _fuzz_form(visitor, page, button, rng, rounds):
    """Post random values to every field of the form behind ``button``: never a 500."""
    form = page.form(button)
    names = [n for n in form["fields"] if n not in ("csrf_token",)]
    names += ["firstName", "cardNumber", "accountNumber", "reason", "passcode", "subtype", "kind", "action",
              "accept-privacy-policy", "mailingAddress.state", "unexpected"]
    for _ in range(rounds):
        data = dict(form["fields"])
        for name in names:
            if rng.random() < 0.8:
                data[name] = _fuzz_value(rng)
        if rng.random() < 0.7:  # mostly the right step, so the values reach the services
            data["step"], data["position"] = form["fields"].get("step", ""), form["fields"].get("position", "")
        answer = visitor.post(form["action"], data)
        assert answer.status < 500, (data, answer.html[:500])
        assert answer.response.mimetype == "text/html"


@pytest.mark.parametrize("index,steps,extra,expected", [
    (2, None, as_new_customer(2), ["About you", "Add your debit card", "Confirm the payment"]),
    (1, ["notification", "lookup-profile", "enhance-profile", "financial-account", "document-acceptance"],
     {"profileFields": ["dateOfBirth", "mailingAddress", "workPhone", "salutation"],
      "documents": [{"documentId": "privacy-policy"}], "financialAccountSubType": "CHECKING"},
     ["A few more details", "Add your checking account", "Documents to accept"]),
    (3, None, {}, ["Confirm the payment"]),
    (1, ["notification", "lookup-profile", "financial-account", "move-money"],
     {"financialAccountSubType": "SAVING", "transactionType": "SEND", "solution": "wire",
      "baFinancialAccountId": demo_data.BA_ACCOUNT_ID, "currency": "USD", "amount": Decimal("10"),
      "priority": "SAME_DAY", "description": "Fuzz", "paymentReasonId": "other"},
     ["Add your savings account", "Confirm the payment"]),
])
def test_fuzz_every_form_never_answers_500(rt, api, app, index, steps, extra, expected):
    rng = random.Random(f"linx-gateway-{index}-{steps}")
    app.config["LINX_GATEWAY_PASSCODE_LIMIT"] = (10_000, 60)
    app.config["LINX_GATEWAY_LINK_LIMIT"] = (10_000, 60)
    kwargs = dict(extra)
    if steps:
        kwargs["steps"] = steps
    wid, token, passcode = opened(rt, api, index, **kwargs)
    visitor = Visitor(app)
    landing = visitor.get(f"/l/{token}")
    for _ in range(3):  # random passcodes: never 500 (and never more than the lock)
        data = dict(landing.form("Continue")["fields"], passcode=_fuzz_value(rng))
        assert visitor.post(f"/g/{wid}/start", data).status in (303, 422, 423)
    _fuzz_form(visitor, visitor.get(f"/g/{wid}/decline"), "Decline", rng, 5)
    visitor.submit(visitor.get(f"/g/{wid}"), "Continue", passcode=passcode)
    fuzzed = []
    for _ in range(12):  # each step's page: fuzz it once, then (if the fuzz did not) complete it
        if workflow(wid).status != "ACTIVE" or Transaction.select().where(Transaction.workflow == wid).exists():
            break
        page = visitor.get(f"/g/{wid}/step")
        assert page.status == 200, page.html
        if page.h1 not in fuzzed:
            button = next(b for b in ("Use this account", "Confirm", "Continue")
                          if any(b in f["buttons"] for f in page.parsed.forms))
            _fuzz_form(visitor, page, button, rng, 25)
            fuzzed.append(page.h1)
            continue
        button, values = _good_values(page)
        visitor.submit(page, button, **values)
    assert fuzzed == expected
    assert Transaction.select().where(Transaction.workflow == wid).count() <= 1


def _good_values(page):
    names = page.label_names()
    if "Card number" in names:
        return "Continue", card(subtype="DEBIT")
    if "Account number" in names:
        return "Continue", {"holderName": "Jane Roe", "routingNumber": ROUTING, "accountNumber": "000123456789",
                            "street": "1 Main St", "city": "Boston", "state": "MA", "postalCode": "02110",
                            "country": "USA"}
    if "First name" in names:
        return "Continue", profile()
    if "Work phone" in names or "Date of birth" in names:
        return "Continue", {"dateOfBirth": "1990-01-31", "workPhone": "+1 416 555 0199", "salutation": "Dr",
                            "mailingAddress.street": "1 Main St", "mailingAddress.city": "Toronto",
                            "mailingAddress.state": "ON", "mailingAddress.postalCode": "M5V 2T6"}
    if any(n.startswith("I accept") for n in names):
        return "Continue", {f["name"]: "yes" for f in page.parsed.controls if f.get("type") == "checkbox"}
    return next((b, {}) for b in ("Use this account", "Confirm", "Continue")
                if any(b in f["buttons"] for f in page.parsed.forms))


def test_the_per_address_limits_hold_across_two_apps_on_one_database(rt, api):
    """Two web processes are two apps on one database: requests from one address, alternating between them,
    are counted together (the counters are rows, not a process's memory)."""
    apps = [make_app(rt) for _ in range(2)]
    for app in apps:
        app.config["LINX_GATEWAY_LINK_LIMIT"] = (3, 60)
        app.config["LINX_GATEWAY_PASSCODE_LIMIT"] = (2, 60)
    same = [Visitor(app, addr="203.0.113.9") for app in apps]
    statuses = [same[n % 2].get("/l/" + "C" * 43).status for n in range(8)]
    assert statuses == [410] * 3 + [429] * 5
    wid, token, passcode = opened(rt, api, 0)
    other = [Visitor(app, addr="203.0.113.10") for app in apps]
    pages = [visitor.get(f"/l/{token}") for visitor in other]
    assert [page.status for page in pages] == [200, 200]
    wrong = "000000" if passcode != "000000" else "111111"
    answers = [other[n % 2].submit(pages[n % 2], "Continue", follow=False, passcode=wrong).status for n in range(4)]
    assert answers == [422, 422, 429, 429]
    assert workflow(wid).passcode_attempts == 2


def test_a_finished_workflow_shows_no_amount_to_someone_without_the_passcode(api, rt, app):
    from linx_core.clock import FrozenClock
    from linx_core.services import journey
    from linx_core.worker import Worker

    from .drive import ready_to_confirm

    frozen = FrozenClock()
    clock.set_clock(frozen)
    wf = ready_to_confirm(api, rt, amount=21)
    token = link_token(rt, wf["id"])
    journey.submit(rt, wf["id"], 3, "move-money", {})
    for _ in range(4):
        Worker(rt).run_until_idle()
        frozen.advance(seconds=30)
    assert Workflow.get_by_id(wf["id"]).status == "COMPLETED"
    stranger = app.test_client()
    page = stranger.get(f"/l/{token}", follow_redirects=True)
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "21.00" not in text and "5556" not in text


def test_a_date_of_birth_with_spaces_around_it_is_taken_not_a_500(rt, api, visitor):
    """The date is checked without its spaces, and was parsed with them (found by review): a 500."""
    wid, token, passcode = opened(rt, api, 0, **as_new_customer(0))
    page = visitor.open(token, passcode)
    done = visitor.submit(page, "Continue", **profile(dateOfBirth=" 1990-01-31 "))
    assert done.status == 200 and done.h1 == "All done"
    assert str(Customer.get(Customer.phone_number == "+14165550100").date_of_birth) == "1990-01-31"
    blank = opened(rt, api, 1, steps=["notification", "lookup-profile", "enhance-profile"],
                   profileFields=["dateOfBirth"], financialAccountSubType=None)
    page = visitor.submit(visitor.open(blank[1], blank[2]), "Continue")
    assert page.h1 == "A few more details"
    refused = visitor.submit(page, "Continue", follow=False, dateOfBirth="   ")
    assert refused.status == 422 and refused.error_for("dateOfBirth") == "Date of birth is required."
    done = visitor.submit(refused, "Continue", dateOfBirth="1985-06-30 ")
    assert done.status == 200 and str(Customer.get_by_id(demo_data.CUSTOMER_ID).date_of_birth) == "1985-06-30"
