"""What the customer reads is true, and the form says precisely what is wrong (issue 13, section 3).

Through Flask's test client, on SQLite and PostgreSQL: the done page's sentence follows the payment (no
"You will receive" once it settled or failed), a failed payment is told to the customer, no reminder follows a
confirmation, times are in the customer's zone, the ACH promise counts its cut-offs; missing fields are named,
a card or account number to type again is announced (and kept in no cookie), a routing number's length is
said, "Name on card" errors say card, a country without state codes takes a name, a passcode with letters
costs no attempt; and the language switch (English / Français) holds for the session.
"""
import datetime as dt
import re
from decimal import Decimal

import pytest

from linx_core import clock
from linx_core import demo as demo_data
from linx_core.services import transactions
from linx_core.store import db
from linx_core.store.models import Business, Customer, Notification, Transaction
from linx_core.worker import Worker
from linx_plugins.console import read_inbox

from .test_gateway import CARD, ROUTING, Visitor, card, create, opened, profile, workflow


@pytest.fixture(name="visitor")
def a_visitor(app):
    return Visitor(app)


@pytest.fixture
def frozen():
    start = clock.FrozenClock(dt.datetime(2026, 2, 3, 14, 0, tzinfo=dt.UTC))  # a Tuesday, 9:00 in Toronto
    clock.set_clock(start)
    return start


def _move(rt, wid, *triggers):
    tx = Transaction.get(Transaction.workflow == wid)
    with db.atomic():
        for trigger in triggers:
            transactions.change_status(rt, tx, trigger, "test")
    return Transaction.get_by_id(tx.id)


def _confirmed(rt, api, visitor, **parameters):
    """Seed 4 (John Doe's card on file) confirmed: the done page, the workflow id, the link token."""
    wid, token, passcode = opened(rt, api, 3, **parameters)
    page = visitor.open(token, passcode)  # an existing customer: straight to the confirm page
    done = visitor.submit(page, "Confirm")
    assert done.status == 200 and "Processing" in done.html
    return done, wid, token


def _text(page):
    return " ".join(re.sub(r"<[^>]+>", " ", page.html).split())


# -- what the customer reads is true -----------------------------------------------------------------

def test_the_done_page_says_you_will_receive_only_while_the_payment_is_in_flight(rt, api, visitor):
    done, wid, _ = _confirmed(rt, api, visitor)
    assert "You will receive $256.25 on your Visa debit card ending 5556" in done.html
    assert done.form("Check again")["method"] == "get"
    _move(rt, wid, "process", "approve", "settle")
    settled = visitor.get(f"/g/{wid}/done")
    assert "You received $256.25 on your Visa debit card ending 5556" in settled.html
    assert "You will receive" not in settled.html and "Expected arrival" not in settled.html
    assert "Check again" not in settled.html


def test_a_failed_payment_reads_as_failed_and_the_customer_is_told_by_message(rt, api, visitor):
    done, wid, _ = _confirmed(rt, api, visitor)
    _move(rt, wid, "process", "decline")
    failed = visitor.get(f"/g/{wid}/done")
    assert failed.h1 == "The payment did not go through"
    assert "You did not receive $256.25 on your Visa debit card ending 5556" in failed.html
    assert "You will receive" not in failed.html and "Expected arrival" not in failed.html
    assert workflow(wid).status == "FAILED"
    Worker(rt).run_until_idle()  # the failure message goes out through the normal notification job
    note = Notification.get((Notification.workflow == wid) & (Notification.origin == "FAILURE_SEND"))
    assert note.status in ("SENT", "DELIVERED")
    texts = [m["text"] for m in read_inbox(rt) if m["workflowId"] == wid and m["origin"] == "FAILURE_SEND"]
    assert texts == ["Demo Co: the payment of 256.25 USD to your Visa card ending 5556 did not go through. "
                     "Contact Demo Co for help."]


def test_a_failed_collection_tells_the_customer_that_the_payment_did_not_go_through(rt, api, visitor):
    wid, token, passcode = opened(rt, api, 1, steps=["notification", "lookup-profile", "financial-account",
                                                     "move-money"],
                                  financialAccountSubType="CHECKING", transactionType="REQUEST", solution="ach",
                                  baFinancialAccountId=demo_data.BA_ACCOUNT_ID, currency="USD",
                                  amount=Decimal("42.5"), priority="NEXT_DAY", paymentReasonId="bill-payments")
    page = visitor.submit(visitor.open(token, passcode), "Continue")
    page = visitor.submit(page, "Continue", holderName="Jane Roe", routingNumber=ROUTING, accountNumber="000123456789")
    visitor.submit(page, "Confirm")
    _move(rt, wid, "cancel")
    failed = visitor.get(f"/g/{wid}/done")
    assert "Demo Co did not collect $42.50 from your checking account ending 6789" in failed.html
    assert Notification.select().where((Notification.workflow == wid)
                                       & (Notification.origin == "FAILURE_REQUEST")).count() == 1


def test_a_reversed_payment_says_so(rt, api, visitor):
    _, wid, _ = _confirmed(rt, api, visitor)
    _move(rt, wid, "process", "approve", "settle", "reverse")
    page = visitor.get(f"/g/{wid}/done")
    assert page.h1 == "The payment was reversed"
    assert "The payment of $256.25 to your Visa debit card ending 5556 was reversed" in page.html
    Worker(rt).run_until_idle()
    texts = [m["text"] for m in read_inbox(rt) if m["workflowId"] == wid and m["origin"] == "REVERSAL_SEND"]
    assert texts == ["Demo Co: the payment of 256.25 USD to your Visa card ending 5556 was returned by the bank. "
                     "Contact Demo Co for help."]


def test_no_reminder_once_the_customer_has_confirmed(rt, api, visitor, frozen):
    _, wid, _ = _confirmed(rt, api, visitor)
    assert workflow(wid).status == "ACTIVE" and workflow(wid).next_notification_at is None
    extended = api.client.post(f"/v2/linx/workflows/{wid}/extend", json={"expireIn": 5}, headers=api.headers())
    assert extended.status_code == 200 and workflow(wid).next_notification_at is None  # no reminder rescheduled
    for _ in range(3):
        frozen.advance(hours=25)
        Worker(rt).run_until_idle()
    assert Notification.select().where((Notification.workflow == wid)
                                       & (Notification.origin == "REMINDER")).count() == 0


def test_a_reminder_still_goes_to_a_customer_who_has_not_confirmed(rt, api, frozen):
    wid, _ = create(api, 3)
    Worker(rt).run_until_idle()
    frozen.advance(hours=25)
    Worker(rt).run_until_idle()
    assert Notification.select().where((Notification.workflow == wid)
                                       & (Notification.origin == "REMINDER")).count() == 1


def test_times_are_in_the_customer_zone_from_the_phone_number(rt, api, app, frozen):
    wid, token, _ = opened(rt, api, 0, phoneNumber="+14165550100")  # Toronto
    expire_at = workflow(wid).expire_at  # 14:00 UTC + 2 days: 9:00 in Toronto (EST)
    assert expire_at.hour == 14
    landing = Visitor(app).get(f"/l/{token}")
    assert "Feb 5, 2026, 9:00\u202fAM EST" in landing.html and "UTC" not in _text(landing)
    _, paris_token, _ = opened(rt, api, 0, phoneNumber="+33612345678")
    french = Visitor(app, addr="198.51.100.8", lang="fr-CA").get(f"/l/{paris_token}")
    assert "5 févr. 2026, 15 h 00 CET" in french.html


def test_an_email_only_customer_reads_times_in_the_business_zone_or_utc_named(rt, api, app, demo, frozen):
    wid, token, _ = opened(rt, api, 0, channel="EMAIL", phoneNumber=None, email="jane@example.com")
    email = next(m for m in read_inbox(rt) if m["workflowId"] == wid)
    assert "The link expires on Feb 05, 2026 14:00 UTC." in email["text"]
    landing = Visitor(app).get(f"/l/{token}")
    assert "Feb 5, 2026, 2:00\u202fPM UTC" in landing.html
    business = Business.get_by_id(demo[0].id)
    business.settings = dict(business.settings or {}, timeZone="America/Vancouver")
    business.save()
    wid, token, _ = opened(rt, api, 0, channel="EMAIL", phoneNumber=None, email="joe@example.com")
    email = next(m for m in read_inbox(rt) if m["workflowId"] == wid)
    assert "The link expires on Feb 05, 2026 06:00 PST." in email["text"]
    assert "Feb 5, 2026, 6:00\u202fAM PST" in Visitor(app).get(f"/l/{token}").html
    # the arrival too: John Doe by email only, an ACH payment, promised in the business's zone
    ach = _ach_page(rt, api, Visitor(app, addr="198.51.100.8"), "SAME_DAY", channel="EMAIL", phoneNumber=None,
                    email="john.doe@example.com")
    assert "by Feb 3, 2026, 10:00\u202fAM PST." in ach.html and "UTC" not in _text(ach)


def _ach_page(rt, api, visitor, priority, **parameters):
    wid, token, passcode = opened(rt, api, 1, steps=["notification", "lookup-profile", "financial-account",
                                                     "move-money"],
                                  financialAccountSubType="CHECKING", transactionType="SEND", solution="ach",
                                  baFinancialAccountId=demo_data.BA_ACCOUNT_ID, currency="USD",
                                  amount=Decimal("42.5"), priority=priority, paymentReasonId="bill-payments",
                                  **parameters)
    page = visitor.submit(visitor.open(token, passcode), "Continue")
    return visitor.submit(page, "Continue", holderName="Jane Roe", routingNumber=ROUTING,
                          accountNumber="000123456789")


def test_the_ach_promise_knows_the_cut_off(rt, api, app, visitor, frozen):
    # "by" names the moment, in the customer's zone: no "same/next business day" counted in New York's dates
    before = _ach_page(rt, api, visitor, "SAME_DAY")  # 9:00 in New York: the 10:30 window, settling at 13:00
    assert "Expected arrival: by Feb 3, 2026, 1:00\u202fPM EST." in before.html
    frozen.advance(hours=8)  # 17:00 in New York: after the day's last same-day cut-off (16:45)
    after = _ach_page(rt, api, Visitor(app, addr="198.51.100.8"), "SAME_DAY")
    assert "Expected arrival: by Feb 4, 2026, 1:00\u202fPM EST." in after.html
    late = _ach_page(rt, api, Visitor(app, addr="198.51.100.9"), "NEXT_DAY")  # after 17:00: a known date
    assert "Expected arrival: by Feb 5, 2026, 8:30\u202fAM EST." in late.html
    for page in (before, after, late):
        assert "business day" not in page.html


def test_the_done_page_shows_the_settlement_the_rail_recorded(rt, api, app, visitor, frozen):
    frozen.advance(minutes=89)  # 10:29 in New York: a minute before the first same-day cut-off
    page = _ach_page(rt, api, visitor, "SAME_DAY")
    assert "Expected arrival: by Feb 3, 2026, 1:00\u202fPM EST." in page.html
    done = visitor.submit(page, "Confirm")
    assert "Expected arrival: by Feb 3, 2026, 1:00\u202fPM EST." in done.html  # not sent yet: the promise
    frozen.advance(minutes=2)  # the submit job runs after the cut-off: the rail takes the next window
    Worker(rt).run_until_idle()
    tx = Transaction.get(Transaction.solution == "ach")
    assert tx.settle_at == dt.datetime(2026, 2, 3, 22, 0, tzinfo=dt.UTC)  # 17:00 in New York
    again = visitor.get(f"/g/{tx.workflow_id}/done")
    assert "Expected arrival: by Feb 3, 2026, 5:00\u202fPM EST." in again.html


# -- form errors are precise -----------------------------------------------------------------------

def test_each_missing_field_is_named_next_to_it_and_in_the_summary(rt, api, visitor):
    wid, token, passcode = opened(rt, api, 1)  # lookup-profile, then a new debit card
    page = visitor.submit(visitor.open(token, passcode), "Continue")
    empty = visitor.submit(page, "Continue", follow=False, holderName="", cardNumber="", expiry="", postalCode="")
    assert empty.status == 422
    named = {"holderName": "Name on card is required.", "cardNumber": "Card number is required.",
             "expiry": "Expiry (MM/YY) is required.", "postalCode": "ZIP or postal code is required."}
    for name, text in named.items():
        assert empty.error_for(name) == text
        assert f'<a href="#f-{name}">{text}</a>' in empty.html  # the summary names it and links to it


def test_a_card_number_to_type_again_is_announced_next_to_its_field_and_kept_nowhere(rt, api, app, visitor):
    wid, token, passcode = opened(rt, api, 1)
    page = visitor.submit(visitor.open(token, passcode), "Continue")
    bad = visitor.submit(page, "Continue", follow=False, **card(expiry="13/30"))  # only the expiry is wrong
    assert bad.status == 422 and bad.error_for("expiry") == "Enter the expiry as MM/YY."
    notice = "For your security, type the card number again."
    assert f'<p class="notice" id="f-cardNumber-notice">{notice}</p>' in bad.html
    assert re.search(r'id="f-cardNumber"[^>]*aria-describedby="[^"]*f-cardNumber-notice', bad.html)
    assert f'<a href="#f-cardNumber">{notice}</a>' in bad.html
    assert CARD not in bad.html and bad.parsed.forms[0]["fields"]["cardNumber"] == ""
    cookie = visitor.client.get_cookie("session")
    held = app.session_interface.get_signing_serializer(app).loads(cookie.value)
    assert CARD not in repr(held) and CARD[-4:] not in repr(held)
    wrong = visitor.submit(bad, "Continue", follow=False, **card(number="4000056655665557"))  # its own problem
    assert wrong.error_for("cardNumber") and "f-cardNumber-notice" not in wrong.html


def test_an_account_number_to_type_again_is_announced_and_routing_numbers_say_their_length(rt, api, visitor):
    wid, token, passcode = opened(rt, api, 1, financialAccountSubType="CHECKING")
    page = visitor.submit(visitor.open(token, passcode), "Continue")
    short = visitor.submit(page, "Continue", follow=False, holderName="Jane Roe", routingNumber="0210000",
                           accountNumber="000123456789")
    assert short.error_for("routingNumber") == "This routing number has 7 digits: a routing number has 9."
    assert "For your security, type the account number again." in short.html
    assert "000123456789" not in short.html
    letters = visitor.submit(short, "Continue", follow=False, holderName="Jane Roe", routingNumber="02100002A",
                             accountNumber="000123456789")
    assert letters.error_for("routingNumber") == "A routing number has digits only: 9 of them."
    check = visitor.submit(letters, "Continue", follow=False, holderName="Jane Roe", routingNumber="021000022",
                           accountNumber="000123456789")
    assert check.error_for("routingNumber") == "This routing number is not valid: check the digits."
    assert check.error_for("holderName") is None
    long_name = visitor.submit(check, "Continue", follow=False, holderName="J" * 121, routingNumber=ROUTING,
                               accountNumber="000123456789")
    assert long_name.error_for("holderName") == "The name on the account takes at most 120 characters."


def test_name_on_card_errors_say_card(rt, api, visitor):
    wid, token, passcode = opened(rt, api, 1)
    page = visitor.submit(visitor.open(token, passcode), "Continue")
    bad = visitor.submit(page, "Continue", follow=False, **card(holderName="J" * 121))
    assert bad.error_for("holderName") == "The name on the card takes at most 120 characters."
    assert "account" not in bad.error_for("holderName")


def test_in_french_the_errors_and_the_notice_are_french(rt, api, app):
    visitor = Visitor(app, lang="fr-CA")
    wid, token, passcode = opened(rt, api, 1, financialAccountSubType="CHECKING")
    landing = visitor.get(f"/l/{token}")
    page = visitor.submit(visitor.submit(landing, "Continuer", passcode=passcode), "Continuer")
    short = visitor.submit(page, "Continuer", follow=False, holderName="", routingNumber="0210000",
                           accountNumber="000123456789")
    assert short.error_for("routingNumber") == "Ce numéro d&#39;acheminement a 7 chiffres : un numéro " \
                                               "d&#39;acheminement en a 9."
    assert short.error_for("holderName") == "Le champ « Nom du titulaire du compte » est obligatoire."
    assert "Pour votre sécurité, tapez de nouveau le numéro de compte." in short.html


def test_a_country_without_state_codes_takes_the_state_as_a_name(rt, api, visitor):
    wid, token, passcode = opened(rt, api, 0, phoneNumber="+14165550100")
    page = visitor.open(token, passcode)
    state = next(c for c in page.parsed.controls if c.get("name") == "state")
    assert int(state["maxlength"]) >= 60
    assert "Two letters in United States, Canada (for example NY or ON); elsewhere, its name" in page.html
    coded = visitor.submit(page, "Continue", follow=False, **profile(state="Ontario"))
    assert coded.error_for("state") == "Enter the two-letter state or province code."
    done = visitor.submit(coded, "Continue", **profile(state="Greater London", country="GBR", postalCode="SW1A 1AA",
                                                       city="London"))
    assert done.h1 == "All done"
    customer = Customer.get(Customer.phone_number == "+14165550100")
    assert customer.addresses[0]["state"] == "Greater London" and customer.addresses[0]["country"] == "GBR"


def test_a_passcode_with_letters_is_refused_without_costing_an_attempt(rt, api, visitor):
    wid, token, passcode = opened(rt, api, 0)
    landing = visitor.get(f"/l/{token}")
    for typed in ("abc123", "12_34_56", "１２３４５６"):  # letters, underscores, full-width digits
        refused = visitor.submit(landing, "Continue", follow=False, passcode=typed)
        assert refused.status == 422
        assert refused.error_for("passcode").startswith("A passcode has digits only.")
        assert workflow(wid).passcode_attempts == 0
    for typed in ("1" * 65, "1 " * 70):  # too long, spaced or not: said so, and no attempt spent
        refused = visitor.submit(landing, "Continue", follow=False, passcode=typed)
        assert refused.status == 422
        assert refused.error_for("passcode") == "That passcode is too long. Type the digits you were given: this " \
                                                "try did not count."
        assert workflow(wid).passcode_attempts == 0
    for typed in (f"{passcode[:3]}-{passcode[3:]}", f"{passcode[:3]}.{passcode[3:]}"):  # as a message may show it
        dashed = Visitor(visitor.client.application, addr="198.51.100.20")
        dashed.get(f"/l/{token}")
        went = dashed.submit(dashed.get(f"/g/{wid}"), "Continue", follow=False, passcode=typed)
        assert went.status == 303 and went.location.endswith(f"/g/{wid}/step"), typed
    spaced = visitor.submit(landing, "Continue", follow=False, passcode=f"{passcode[:3]} {passcode[3:]}")
    assert spaced.status == 303 and spaced.location.endswith(f"/g/{wid}/step")
    assert workflow(wid).passcode_attempts == 0


# -- the language switch ---------------------------------------------------------------------------

def test_the_language_switch_is_on_every_page_and_holds_for_the_session(rt, api, app):
    visitor = Visitor(app)  # the browser asks for nothing: English
    wid, token, passcode = opened(rt, api, 3)
    landing = visitor.get(f"/l/{token}")
    switch = landing.form("Français")
    assert switch["method"] == "post" and switch["action"] == "/g/language"
    assert switch["fields"]["csrf_token"] and switch["fields"]["next"] == ""  # a link's token is not repeated
    chosen = visitor.post(switch["action"], dict(switch["fields"], lang="fr_CA"))
    assert chosen.status == 303 and chosen.location.endswith(f"/g/{wid}")
    french = visitor.get(chosen.location)
    assert '<html lang="fr-CA">' in french.html and "Code d&#39;accès" in french.html
    step = visitor.submit(french, "Continuer", passcode=passcode)  # an existing customer: the confirm page
    assert step.h1 == "Confirmer le paiement"
    back = step.form("English")
    assert back["fields"]["next"] == f"/g/{wid}/step"
    assert visitor.get(f"/l/{token}").html.count('<html lang="fr-CA">') == 1  # a new link keeps the choice
    english = visitor.post(back["action"], dict(back["fields"], lang="en"))
    assert english.location.endswith(f"/g/{wid}/step")
    assert visitor.get(english.location).h1 == "Confirm the payment"


def test_the_language_switch_needs_its_csrf_token_and_goes_back_only_to_the_gateway(rt, api, app):
    visitor = Visitor(app)
    wid, token, _ = opened(rt, api, 3)
    landing = visitor.get(f"/l/{token}")
    fields = landing.form("Français")["fields"]
    forged = visitor.post("/g/language", {"lang": "fr_CA", "next": f"/g/{wid}"})
    assert forged.status == 400 and '<html lang="en">' in forged.html
    for target in ("https://evil.example/", "//evil.example/g/", "/g/\\evil", "/v2/linx/workflows"):
        away = visitor.post("/g/language", dict(fields, lang="fr_CA", next=target))
        assert away.status == 303 and away.location.endswith(f"/g/{wid}"), target
    junk = visitor.post("/g/language", dict(fields, lang="de", next=f"/g/{wid}"))
    assert junk.status == 400
    fresh = Visitor(app, addr="198.51.100.99")
    unknown = fresh.get("/l/" + "A" * 43)
    switched = fresh.post("/g/language", dict(unknown.form("Français")["fields"], lang="fr_CA"))
    assert switched.status == 200 and "Langue changée" in switched.html


def _switched(visitor, page, name):
    """Press "Français" on ``page``: the page it lands on (redirects followed), in French."""
    switch = page.form("Français")
    assert switch["action"] == "/g/language" and switch["fields"]["csrf_token"], name
    landed = visitor.post(switch["action"], dict(switch["fields"], lang="fr_CA"), follow=True)
    assert '<html lang="fr-CA">' in landed.html, name
    english = landed.form("English")  # and back again
    again = visitor.post(english["action"], dict(english["fields"], lang="en"), follow=True)
    assert '<html lang="en">' in again.html, name
    return landed


def test_every_gateway_page_carries_the_switch_and_pressing_it_lands_on_a_page(rt, api, app):
    visitor = Visitor(app)
    wid, token, passcode = opened(rt, api, 3)

    def check(page, name, back, status=200):
        assert page.form("Français")["fields"]["next"] == back, name
        assert _switched(visitor, page, name).status == status, name
        return page

    landing = check(visitor.get(f"/l/{token}"), "landing", "")
    wrong = visitor.submit(landing, "Continue", follow=False, passcode="000000" if passcode != "000000" else "1")
    assert wrong.status == 422
    check(wrong, "wrong passcode", f"/g/{wid}")
    landing = visitor.get(f"/g/{wid}")
    check(visitor.submit(landing, "Continue", passcode=passcode), "confirm", f"/g/{wid}/step")
    decline = check(visitor.get(f"/g/{wid}/decline"), "decline", f"/g/{wid}/decline")
    no_reason = visitor.submit(decline, "Decline", follow=False, reason="")
    assert no_reason.status == 422
    check(no_reason, "no reason", f"/g/{wid}/decline")
    check(visitor.get(f"/g/{wid}/step?add=1"), "add an account", f"/g/{wid}/step?add=1")  # its query kept
    # "Add a different account", with a long query: the switch carries the page, not the query
    account = check(visitor.get(f"/g/{wid}/step?add=1&" + "x=1&" * 200), "account", f"/g/{wid}/step")
    missing = visitor.submit(account, "Continue", follow=False)
    assert missing.status == 422
    check(missing, "missing fields", f"/g/{wid}/step")
    done = visitor.submit(visitor.get(f"/g/{wid}/step"), "Confirm")
    check(done, "done", f"/g/{wid}/done")
    stranger = Visitor(app, addr="198.51.100.77")
    for name, who, url in (("unknown link", stranger, "/l/nope"), ("not bound", stranger, f"/g/{wid}/step"),
                           ("no such page", visitor, f"/g/{wid}/nowhere")):
        page = who.get(url)
        landed = _switched(who, page, name)
        assert landed.status in (200, page.status), name  # an error page reads the same error in French
    changed = stranger.post("/g/language", dict(stranger.get("/l/nope").form("Français")["fields"], lang="fr_CA"))
    assert changed.h1 == "Langue changée"
    back = stranger.post("/g/language", dict(changed.form("English")["fields"], lang="en"), follow=True)
    assert back.status == 200 and back.h1 == "Language changed"
