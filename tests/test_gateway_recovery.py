"""Self-service recovery on the Gateway (issue 13, section 2): "Send me a new link" on an expired link's page.

Off by default (the rules' ``workflow.recovery.selfService``); a business turns it on for itself
(``linx business settings NAME --self-service-recovery on``); only for a workflow without a passcode. One press
makes the recovery workflow and sends its link to the same phone or email, once per expired workflow, within the
recipient limits. Runs on SQLite and PostgreSQL like every ``rt`` test.
"""
import pytest

from linx_core import clock
from linx_core.clock import FrozenClock
from linx_core.services import journey, recovery
from linx_core.services.businesses import self_service_recovery_setting, set_self_service_recovery
from linx_core.store.models import Business, Event, Notification, Workflow
from linx_core.worker import Worker
from linx_plugins.console import read_inbox

from .drive import link_token
from .test_gateway import Visitor, opened
from .test_gateway import workflow as row

BUTTON = "Send me a new link"


@pytest.fixture
def frozen():
    c = FrozenClock()
    clock.set_clock(c)
    yield c
    clock.set_clock(None)


@pytest.fixture
def visitor(app):
    return Visitor(app)


@pytest.fixture
def allowed(demo):
    return set_self_service_recovery(demo[0], True)


def expire(rt, frozen, days=3):
    frozen.advance(days=days)
    Worker(rt).run_until_idle()


def expired_link(rt, api, frozen, passcode=False, **parameters):
    wid, token, _ = opened(rt, api, 0, passcode=passcode, **parameters)
    expire(rt, frozen)
    assert row(wid).status == "EXPIRED"
    return wid, token


def buttons(page):
    """The page's buttons, but the language switch's (on every page)."""
    return [b for form in page.parsed.forms if form["action"] != "/g/language" for b in form["buttons"]]


def recoveries():
    return list(Workflow.select().where(Workflow.recovered_from.is_null(False)))


def test_off_by_default_the_expired_page_offers_nothing_and_a_forged_press_makes_nothing(rt, api, frozen, app):
    assert rt.rules.workflow["recovery"] == {"selfService": False, "maxSelfService": 1}
    wid, token = opened(rt, api, 0, passcode=False)[:2]
    visitor = Visitor(app)
    landing = visitor.get(f"/l/{token}")  # opened before it expired: the session is bound
    expire(rt, frozen)
    page = visitor.get(f"/l/{token}")
    assert page.status == 410 and page.h1 == "This link has expired" and BUTTON not in page.html
    assert "Ask Demo Co for a new link." in page.html
    forged = visitor.post(f"/g/{wid}/recover", {"csrf_token": landing.form("Continue")["fields"]["csrf_token"]})
    assert forged.status == 410 and forged.h1 == "This link has expired"
    assert recoveries() == [] and row(wid).recovered_by is None


def test_one_press_sends_a_new_link_to_the_same_phone_and_a_second_press_says_it_was_sent(
        rt, api, frozen, visitor, allowed):
    wid, token = expired_link(rt, api, frozen)
    page = visitor.get(f"/l/{token}")
    assert page.status == 410 and page.h1 == "This link has expired"
    assert "Demo Co can text a new link to the phone number this link was sent to." in page.html
    assert buttons(page) == [BUTTON]
    form = page.form(BUTTON)
    assert form["action"] == f"/g/{wid}/recover" and form["method"] == "post" and form["fields"]["csrf_token"]

    sent = visitor.submit(page, BUTTON)
    assert sent.status == 200 and sent.h1 == "A new link is on its way", sent.html
    assert "phone number this link was sent to" in sent.html
    switch = sent.form("Français")  # the result answers a post: the switch has no page to return to
    assert switch["fields"]["next"] == ""
    changed = visitor.post(switch["action"], dict(switch["fields"], lang="fr_CA"), follow=True)
    assert changed.status == 200 and changed.h1 == "Langue changée"
    visitor.post(switch["action"], dict(changed.form("English")["fields"], lang="en"))
    [new] = recoveries()
    old = row(wid)
    assert old.recovered_by == new.id and new.recovered_from == old.id
    assert (new.phone_number, new.channel, new.parameters, new.title) == (
        old.phone_number, old.channel, old.parameters, old.title)
    assert new.passcode_hash is None
    [event] = Event.select().where(Event.type == "linx.workflow-recovered")
    assert event.data["requestedBy"] == "CUSTOMER" and event.subject_id == old.id
    assert Event.select().where((Event.type == "linx.workflow-status-changed")
                                & (Event.subject_id == new.id)).count() == 1

    # the new link goes to the same number and opens the new workflow
    Worker(rt).run_until_idle()
    [message] = [m for m in read_inbox(rt) if m["workflowId"] == str(new.id)]
    assert message["to"] == old.phone_number
    new_token = message["text"].rsplit("/l/", 1)[1].split()[0]
    assert journey.open_link(rt, new_token).id == new.id
    landing = Visitor(visitor.client.application).get(f"/l/{new_token}")
    assert landing.status == 200 and landing.form("Continue")

    again = visitor.submit(page, BUTTON)  # the same form, pressed again
    assert again.status == 200 and again.h1 == "A new link was sent"
    reopened = visitor.get(f"/l/{token}")
    assert reopened.h1 == "A new link was sent" and BUTTON not in reopened.html
    assert len(recoveries()) == 1 and Event.select().where(Event.type == "linx.workflow-recovered").count() == 1


def test_an_email_workflow_sends_the_new_link_by_email_to_the_same_address(rt, api, frozen, visitor, allowed):
    wid, token = expired_link(rt, api, frozen, channel="EMAIL", email="Jane.Roe@example.com")
    page = visitor.get(f"/l/{token}")
    assert "Demo Co can email a new link to the address this link was sent to." in page.html
    sent = visitor.submit(page, BUTTON)
    assert sent.h1 == "A new link is on its way" and "an email from Demo Co" in sent.html
    [new] = recoveries()
    Worker(rt).run_until_idle()
    [message] = [m for m in read_inbox(rt) if m["workflowId"] == str(new.id)]
    assert message["to"] == "Jane.Roe@example.com" and message["channel"] == "EMAIL"


def test_a_workflow_with_a_passcode_is_never_offered(rt, api, frozen, visitor, allowed):
    wid, token = expired_link(rt, api, frozen, passcode=True)
    page = visitor.get(f"/l/{token}")
    assert page.status == 410 and BUTTON not in page.html and "Ask Demo Co for a new link." in page.html
    assert recoveries() == []


def test_the_rules_default_turns_it_on_and_a_business_may_turn_it_off(rt, api, frozen, visitor, demo, monkeypatch):
    monkeypatch.setitem(rt.rules.workflow["recovery"], "selfService", True)
    wid, token = expired_link(rt, api, frozen)
    assert BUTTON in visitor.get(f"/l/{token}").html
    assert self_service_recovery_setting(rt, Business.get_by_id(demo[0].id)) == (True, False)  # (on, own)
    set_self_service_recovery(demo[0], False)
    assert self_service_recovery_setting(rt, Business.get_by_id(demo[0].id)) == (False, True)
    assert BUTTON not in visitor.get(f"/l/{token}").html
    set_self_service_recovery(Business.get_by_id(demo[0].id), None)  # back to the rules' default
    assert BUTTON in visitor.get(f"/l/{token}").html


def test_a_press_without_the_csrf_token_or_the_link_makes_nothing(rt, api, frozen, app, allowed):
    wid, token = expired_link(rt, api, frozen)
    visitor = Visitor(app)
    page = visitor.get(f"/l/{token}")
    refused = visitor.post(f"/g/{wid}/recover", {})
    assert refused.status == 400 and refused.h1 == "This page has expired"
    stranger = Visitor(app, addr="198.51.100.99")  # never opened the link: no session, so no CSRF token of its own
    csrf = page.form(BUTTON)["fields"]["csrf_token"]
    refused = stranger.post(f"/g/{wid}/recover", {"csrf_token": csrf})
    assert refused.status == 400 and refused.h1 == "This page has expired"
    # a session bound to another workflow, with its own valid CSRF token, presses this one's button: 403
    other, other_token = expired_link(rt, api, frozen)
    other_page = stranger.get(f"/l/{other_token}")
    assert other_page.form(BUTTON)
    refused = stranger.post(f"/g/{wid}/recover", {"csrf_token": other_page.form(BUTTON)["fields"]["csrf_token"]})
    assert refused.status == 403 and refused.h1 == "Open the link from your message"
    assert recoveries() == []


def test_over_the_recipient_limit_a_clear_page_and_nothing_made(rt, api, frozen, visitor, allowed, monkeypatch):
    monkeypatch.setitem(rt.rules.message_limits["recipient"], "perHour", 1)
    wid, token = expired_link(rt, api, frozen)  # the create's message was in an earlier window
    opened(rt, api, 0, passcode=False)  # a message to this number in this hour
    page = visitor.get(f"/l/{token}")
    refused = visitor.submit(page, BUTTON)
    assert refused.status == 429 and refused.h1 == "No new link for now"
    assert int(refused.response.headers["Retry-After"]) >= 1 and "Traceback" not in refused.html
    assert recoveries() == [] and row(wid).recovered_by is None
    assert BUTTON in visitor.get(f"/l/{token}").html  # it may be pressed again later


def test_the_words_in_canadian_french(rt, api, frozen, app, allowed):
    wid, token = expired_link(rt, api, frozen)
    visitor = Visitor(app, lang="fr-CA")
    page = visitor.get(f"/l/{token}")
    assert "Envoyez-moi un nouveau lien" in buttons(page)
    sent = visitor.submit(page, "Envoyez-moi un nouveau lien")
    assert sent.status == 200 and sent.h1 == "Un nouveau lien est en route"
    again = visitor.submit(page, "Envoyez-moi un nouveau lien")
    assert again.h1 == "Un nouveau lien a été envoyé"


def test_expired_by_the_clock_before_its_job_ran_it_is_offered_and_expired_by_the_press(
        rt, api, frozen, app, allowed):
    wid, token, _ = opened(rt, api, 0, passcode=False)
    visitor = Visitor(app)
    visitor.get(f"/l/{token}")
    frozen.advance(days=3)  # no worker: the expire job has not run
    assert row(wid).status == "ACTIVE"
    page = visitor.get(f"/g/{wid}")
    assert page.status == 410 and BUTTON in buttons(page)
    sent = visitor.submit(page, BUTTON)
    assert sent.status == 200 and sent.h1 == "A new link is on its way"
    old = row(wid)
    assert old.status == "EXPIRED" and old.recovered_by is not None
    moves = [e.data["status"] for e in Event.select().where((Event.type == "linx.workflow-status-changed")
                                                             & (Event.subject_id == old.id))]
    assert moves.count("EXPIRED") == 1
    assert Notification.select().where((Notification.workflow == old.id)
                                       & (Notification.origin == "EXPIRY")).count() == 0  # the new link is the news
    Worker(rt).run_until_idle()  # the expire job, now due, finds it ended
    assert row(wid).status == "EXPIRED" and len(recoveries()) == 1


def test_a_link_a_resend_replaced_gets_no_button_and_binds_nothing_once_expired(rt, api, frozen, app, allowed):
    wid, token, _ = opened(rt, api, 0, passcode=False)
    visitor = Visitor(app)
    csrf = visitor.get(f"/l/{token}").form("Continue")["fields"]["csrf_token"]
    resent = api.client.post(f"/v2/linx/workflows/{wid}/resend", headers=api.headers())
    assert resent.status_code == 200
    new_token = link_token(rt, wid)
    assert new_token != token
    expire(rt, frozen)
    assert row(wid).status == "EXPIRED"

    page = visitor.get(f"/l/{token}")  # every link sent before the resend stops working, for good
    assert page.status == 410 and page.h1 == "This link has expired" and BUTTON not in page.html
    pressed = visitor.post(f"/g/{wid}/recover", {"csrf_token": csrf})  # the session from before the resend
    assert pressed.status == 403 and recoveries() == []
    fresh = Visitor(app, addr="198.51.100.8")
    assert BUTTON not in fresh.get(f"/l/{token}").html
    assert fresh.get(f"/g/{wid}").status == 403  # the old link bound no session

    page = fresh.get(f"/l/{new_token}")  # the link the resend sent was live when it expired: it is offered
    assert BUTTON in buttons(page)
    assert fresh.submit(page, BUTTON).h1 == "A new link is on its way" and len(recoveries()) == 1


def test_a_workflow_a_press_made_is_not_recovered_by_a_press_again(rt, api, frozen, app, allowed, monkeypatch):
    wid, token = expired_link(rt, api, frozen)
    first = Visitor(app)
    assert first.submit(first.get(f"/l/{token}"), BUTTON).h1 == "A new link is on its way"
    [second] = recoveries()
    second_token = link_token(rt, second.id)
    visitor = Visitor(app)
    csrf = visitor.get(f"/l/{second_token}").form("Continue")["fields"]["csrf_token"]  # bound while it was live
    expire(rt, frozen)
    assert row(second.id).status == "EXPIRED"

    page = visitor.get(f"/l/{second_token}")
    assert page.status == 410 and BUTTON not in page.html and "Ask Demo Co for a new link." in page.html
    forged = visitor.post(f"/g/{second.id}/recover", {"csrf_token": csrf})
    assert forged.status == 410 and forged.h1 == "This link has expired"
    assert len(recoveries()) == 1 and row(second.id).recovered_by is None

    monkeypatch.setitem(rt.rules.workflow["recovery"], "maxSelfService", 2)  # the rules may allow a longer chain
    assert BUTTON in visitor.get(f"/l/{second_token}").html
    monkeypatch.setitem(rt.rules.workflow["recovery"], "maxSelfService", 1)
    recovered = api.client.post(f"/v2/linx/workflows/{second.id}/recover", headers=api.headers())
    assert recovered.status_code == 201  # its business still may; and what the business made, a press may recover
    third = recovered.get_json()["id"]
    third_token = link_token(rt, third)
    expire(rt, frozen)
    assert BUTTON in Visitor(app, addr="198.51.100.9").get(f"/l/{third_token}").html


def test_the_self_service_checks_come_before_anything_else(rt, api, frozen, app, allowed):
    wid, token, _ = opened(rt, api, 0, passcode=True)
    visitor = Visitor(app)
    csrf = visitor.get(f"/l/{token}").form("Continue")["fields"]["csrf_token"]
    frozen.advance(days=3)  # its time is up, its expire job not run: a press is refused before it expires anything
    with pytest.raises(recovery.SelfServiceUnavailable):
        recovery.recover_for_customer(rt, wid)
    assert row(wid).status == "ACTIVE"
    Worker(rt).run_until_idle()
    assert api.client.post(f"/v2/linx/workflows/{wid}/recover", headers=api.headers()).status_code == 201
    # recovered by its business: a press (never offered, with a passcode) is told no self-service, not "sent"
    pressed = visitor.post(f"/g/{wid}/recover", {"csrf_token": csrf})
    assert pressed.status == 410 and pressed.h1 == "This link has expired" and len(recoveries()) == 1


def test_a_press_after_its_business_extended_it_goes_on_to_the_landing_page(rt, api, frozen, app, allowed):
    wid, token, _ = opened(rt, api, 0, passcode=False)
    visitor = Visitor(app)
    visitor.get(f"/l/{token}")
    frozen.advance(days=3)  # its time is up, its expire job not run: the page offers the button
    page = visitor.get(f"/g/{wid}")
    assert BUTTON in buttons(page)
    extended = api.client.post(f"/v2/linx/workflows/{wid}/extend", json={"expireIn": 2}, headers=api.headers())
    assert extended.status_code == 200, extended.get_json()
    pressed = visitor.submit(page, BUTTON, follow=False)
    assert pressed.status == 303 and pressed.response.headers["Location"].endswith(f"/g/{wid}")
    assert visitor.get(f"/g/{wid}").form("Continue") and recoveries() == []


def test_a_press_after_its_business_turned_self_service_off_gets_the_plain_page(rt, api, frozen, visitor, demo,
                                                                               allowed):
    wid, token = expired_link(rt, api, frozen)
    page = visitor.get(f"/l/{token}")
    set_self_service_recovery(Business.get_by_id(demo[0].id), False)
    pressed = visitor.submit(page, BUTTON)
    assert pressed.status == 410 and pressed.h1 == "This link has expired" and BUTTON not in pressed.html
    assert "Ask Demo Co for a new link." in pressed.html and recoveries() == []


@pytest.mark.parametrize("lang", ["en", "fr-CA"])
def test_the_business_daily_limit_is_not_worded_as_the_recipients(rt, api, frozen, app, allowed, monkeypatch, lang):
    wid, token = expired_link(rt, api, frozen)
    opened(rt, api, 0, passcode=False, phoneNumber="+14165550199")  # the business's one message today
    monkeypatch.setitem(rt.rules.message_limits["business"], "perDay", 1)
    visitor = Visitor(app, lang=lang)
    page = visitor.get(f"/l/{token}")
    refused = visitor.submit(page, buttons(page)[0])
    assert refused.status == 429 and int(refused.response.headers["Retry-After"]) >= 1
    words = {"en": ("Demo Co has sent as many messages as it may today. Try again later.", "sent you"),
             "fr-CA": ("Demo Co a envoyé autant de messages que permis aujourd’hui. Réessayez plus tard.",
                       "vous a envoyé")}[lang]
    assert words[0] in refused.html and words[1] not in refused.html
    assert recoveries() == []


def test_the_expired_page_does_not_end_a_live_journey_of_another_workflow_in_the_same_browser(
        rt, api, frozen, app, allowed):
    wid, token = expired_link(rt, api, frozen)
    live, live_token, _ = opened(rt, api, 0, passcode=False, phoneNumber="+14165550199")
    visitor = Visitor(app)
    assert visitor.get(f"/l/{live_token}").form("Continue")  # in the middle of the other request
    page = visitor.get(f"/l/{token}")
    assert page.status == 410 and BUTTON not in page.html and "Ask Demo Co for a new link." in page.html
    assert visitor.get(f"/g/{live}").form("Continue")  # its session survived
    api.client.post(f"/v2/linx/workflows/{live}/cancel", headers=api.headers())
    page = visitor.get(f"/l/{token}")  # the other one ended: the button binds this one
    assert BUTTON in buttons(page) and visitor.submit(page, BUTTON).h1 == "A new link is on its way"
