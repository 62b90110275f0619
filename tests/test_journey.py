"""The customer's journey through the services: links, passcode, each step, decline, confirm."""

import threading

import pytest

from linx_core import clock
from linx_core.clock import FrozenClock
from linx_core.errors import Conflict, RuleViolation
from linx_core.services import journey
from linx_core.services.journey import StepNotCurrent, Unavailable
from linx_core.store.models import (
    Customer,
    CustomerFinancialAccount,
    DocumentAcceptance,
    Event,
    Notification,
    Transaction,
    Workflow,
    WorkflowStep,
)
from linx_core.worker import Worker

from .drive import created, link_token, seed

NEW_PHONE = "+14165550199"
CARD = {"holderName": "Jane Roe", "cardNumber": "4242 4242 4242 4242", "expiry": "12/30", "postalCode": "10001"}
PROFILE = {"firstName": "Jane", "lastName": "Roe", "email": "jane@example.com"}


def problems_of(info):
    return {(p.path, p.code) for p in info.value.problems}


def test_a_link_opens_its_workflow_and_unknown_links_look_expired(api, rt):
    wf = created(api, seed(0))
    token = link_token(rt, wf["id"])
    assert str(journey.open_link(rt, token).id) == wf["id"]
    with pytest.raises(Unavailable) as unknown:
        journey.open_link(rt, "x" * 43)
    assert unknown.value.reason == "UNKNOWN"
    for bad in ("", "a" * 500):
        with pytest.raises(Unavailable):
            journey.open_link(rt, bad)


def test_an_expired_or_cancelled_workflow_link_is_unavailable(api, rt):
    frozen = FrozenClock()
    clock.set_clock(frozen)
    wf = created(api, seed(0))
    token = link_token(rt, wf["id"])
    frozen.advance(days=3)
    with pytest.raises(Unavailable) as info:
        journey.open_link(rt, token)  # expired even before the expire job ran
    assert info.value.reason == "EXPIRED"
    other = created(api, seed(1))
    other_token = link_token(rt, other["id"])
    api.client.post(f"/v2/linx/workflows/{other['id']}/cancel", headers=api.headers())
    with pytest.raises(Unavailable) as cancelled:
        journey.open_link(rt, other_token)
    assert cancelled.value.reason == "CANCELLED"


def test_five_wrong_passcodes_lock_the_workflow_and_resend_unlocks(api, rt):
    wf = created(api, seed(0))
    results = [journey.check_passcode(rt, wf["id"], "x") for _ in range(5)]
    assert [r.attempts_left for r in results] == [4, 3, 2, 1, 0] and results[-1].locked
    assert journey.check_passcode(rt, wf["id"], wf["passcode"]).locked  # even the right one, once locked
    assert Event.select().where((Event.type == "linx.workflow-locked") & (Event.subject_id == wf["id"])).count() == 1
    token = link_token(rt, wf["id"])
    assert journey.availability(journey.open_link(rt, token)) == "LOCKED"
    resent = api.client.post(f"/v2/linx/workflows/{wf['id']}/resend", headers=api.headers()).get_json()
    assert journey.check_passcode(rt, wf["id"], resent["passcode"]).ok


def test_a_lockout_shows_on_the_workflow_until_a_resend_clears_it(api, rt):
    wf = created(api, seed(0))
    assert (wf["locked"], wf["lockedAt"]) == (False, None)
    frozen = FrozenClock()
    clock.set_clock(frozen)
    for _ in range(5):
        journey.check_passcode(rt, wf["id"], "x")
    shown = api.get(f"/v2/linx/workflows/{wf['id']}").get_json()
    assert shown["locked"] is True and shown["lockedAt"] == frozen.now().isoformat().replace("+00:00", "Z")
    [listed] = [w for w in api.get("/v2/linx/workflows").get_json()["content"] if w["id"] == wf["id"]]
    assert (listed["locked"], listed["lockedAt"]) == (True, shown["lockedAt"])
    resent = api.client.post(f"/v2/linx/workflows/{wf['id']}/resend", headers=api.headers()).get_json()
    assert (resent["locked"], resent["lockedAt"]) == (False, None)
    again = api.get(f"/v2/linx/workflows/{wf['id']}").get_json()
    assert (again["locked"], again["lockedAt"]) == (False, None)
    document = api.client.get("/v2/openapi.json").get_json()
    properties = document["components"]["schemas"]["Workflow"]["properties"]
    assert properties["locked"]["type"] == "boolean" and properties["lockedAt"]["format"] == "date-time"


def test_a_right_passcode_resets_the_count(api, rt):
    wf = created(api, seed(0))
    journey.check_passcode(rt, wf["id"], "bad")
    assert journey.check_passcode(rt, wf["id"], wf["passcode"]).ok
    assert Workflow.get_by_id(wf["id"]).passcode_attempts == 0


def test_new_customer_card_and_confirm(api, rt):
    wf = created(api, seed(2, phoneNumber=NEW_PHONE))
    link_token(rt, wf["id"])
    with pytest.raises(RuleViolation) as info:
        journey.submit(rt, wf["id"], 1, "customer-account", {"firstName": "", "lastName": "x" * 41, "email": "nope"})
    assert problems_of(info) == {("firstName", "REQUIRED"), ("lastName", "LENGTH"), ("email", "INVALID_EMAIL")}
    customer = journey.submit(rt, wf["id"], 1, "customer-account", PROFILE)
    assert (customer.first_name, customer.phone_number) == ("Jane", NEW_PHONE)
    with pytest.raises(RuleViolation) as card:
        journey.submit(rt, wf["id"], 2, "financial-account", dict(CARD, cardNumber="4242424242424241", expiry="01/20"))
    assert problems_of(card) == {("cardNumber", "INVALID_CARD_NUMBER"), ("expiry", "CARD_EXPIRED")}
    account = journey.submit(rt, wf["id"], 2, "financial-account", CARD)
    assert (account.type, account.subtype, account.brand, account.masked_number) == (
        "CARD", "DEBIT", "VISA", "************4242")
    assert "4242424242424242" not in account.sealed_number
    tx = journey.submit(rt, wf["id"], 3, "move-money", {})
    assert (tx.status, str(tx.amount.normalize()), tx.type, tx.solution) == ("PENDING", "256.25", "SEND",
                                                                             "push-to-card")
    with pytest.raises(Conflict):
        journey.submit(rt, wf["id"], 3, "move-money", {})
    assert Transaction.select().count() == 1
    types = [e.type for e in Event.select().where(Event.business == wf_business(wf)).order_by(Event.created_at)]
    assert "customer.status-updated" in types and "financial-account.state-updated" in types
    assert "transactions.status-changed" in types


def wf_business(wf):
    return Workflow.get_by_id(wf["id"]).business_id


def test_a_customer_with_the_same_phone_is_reused_not_duplicated(api, rt):
    wf = created(api, seed(0))  # +16471234567 is Demo Co's John Doe
    link_token(rt, wf["id"])
    before = Customer.select().count()
    customer = journey.submit(rt, wf["id"], 1, "customer-account", {})
    assert str(customer.id) == "8c8cab63-4e53-4acf-9efa-e7324816aa36"
    assert Customer.select().count() == before
    step = WorkflowStep.get((WorkflowStep.workflow == wf["id"]) & (WorkflowStep.position == 1))
    assert step.status == "COMPLETED" and step.data["existing"] is True
    assert Workflow.get_by_id(wf["id"]).status == "COMPLETED"  # the last step done completes the workflow
    assert Notification.select().where(Notification.origin == "COMPLETION").count() == 1


def test_the_same_card_twice_is_one_account(api, rt):
    first = created(api, seed(2, phoneNumber=NEW_PHONE))
    link_token(rt, first["id"])
    journey.submit(rt, first["id"], 1, "customer-account", PROFILE)
    a = journey.submit(rt, first["id"], 2, "financial-account", CARD)
    second = created(api, seed(2, phoneNumber=NEW_PHONE))
    link_token(rt, second["id"])
    journey.submit(rt, second["id"], 1, "customer-account", {})
    b = journey.submit(rt, second["id"], 2, "financial-account", CARD)
    assert a.id == b.id and CustomerFinancialAccount.select().where(
        CustomerFinancialAccount.customer == a.customer_id).count() == 1


def test_a_stale_position_changes_nothing(api, rt):
    wf = created(api, seed(3))
    link_token(rt, wf["id"])
    for stale in (0, 2, 3, 99):
        with pytest.raises(StepNotCurrent):
            journey.submit(rt, wf["id"], stale, "lookup-profile", {})
    journey.submit(rt, wf["id"], 1, "lookup-profile", {})
    with pytest.raises(StepNotCurrent):
        journey.submit(rt, wf["id"], 1, "lookup-profile", {})  # replayed
    with pytest.raises(StepNotCurrent):
        journey.submit(rt, wf["id"], 2, "move-money", {})  # not yet
    journey.submit(rt, wf["id"], 2, "lookup-financial-account", {})
    tx = journey.submit(rt, wf["id"], 3, "move-money", {})
    assert str(tx.customer_account_id) == "bbbf2fbf-81d4-4f2d-8f80-201bcca921d4"


def test_the_lookup_step_can_add_a_different_account(api, rt):
    wf = created(api, seed(3))
    link_token(rt, wf["id"])
    journey.submit(rt, wf["id"], 1, "lookup-profile", {})
    account = journey.submit(rt, wf["id"], 2, "lookup-financial-account",
                             dict(CARD, subtype="DEBIT", cardNumber="5200 8282 8282 8210", action="add"))
    assert account.brand == "MASTERCARD" and str(account.customer_id) == "8c8cab63-4e53-4acf-9efa-e7324816aa36"
    tx = journey.submit(rt, wf["id"], 3, "move-money", {})
    assert tx.customer_account_id == account.id


def test_bank_accounts_check_the_routing_number(api, rt):
    wf = created(api, seed(1, financialAccountSubType="CHECKING"))
    link_token(rt, wf["id"])
    journey.submit(rt, wf["id"], 1, "lookup-profile", {})
    with pytest.raises(RuleViolation) as info:
        journey.submit(rt, wf["id"], 2, "financial-account", {"holderName": "John Doe", "routingNumber": "011000016",
                                              "accountNumber": "12"})
    assert problems_of(info) == {("routingNumber", "INVALID_ROUTING_NUMBER"), ("accountNumber",
                                                                               "INVALID_ACCOUNT_NUMBER")}
    account = journey.submit(rt, wf["id"], 2, "financial-account",
                             {"holderName": "John Doe", "routingNumber": "011000015", "accountNumber": "000123456789"})
    assert (account.type, account.routing_number, account.last4) == ("BANK", "011000015", "6789")
    assert Workflow.get_by_id(wf["id"]).status == "COMPLETED"


def test_documents_must_all_be_accepted_and_are_recorded_with_version_and_time(api, rt):
    frozen = FrozenClock()
    clock.set_clock(frozen)
    body = seed(0)
    body["steps"].append({"name": "document-acceptance"})
    body["parameters"]["documents"] = [{"documentId": "privacy-policy"}, {"documentId": "terms-of-service"}]
    wf = created(api, body)
    link_token(rt, wf["id"])
    journey.submit(rt, wf["id"], 1, "customer-account", {})
    with pytest.raises(RuleViolation) as info:
        journey.submit(rt, wf["id"], 2, "document-acceptance", {"accepted": ["privacy-policy"]})
    assert problems_of(info) == {("accept-terms-of-service", "NOT_ACCEPTED")}
    journey.submit(rt, wf["id"], 2, "document-acceptance",
                   {"accepted": ["privacy-policy", "terms-of-service", "bogus"]})
    rows = {(a.document_id, a.document_version, a.accepted_at) for a in DocumentAcceptance.select()}
    assert rows == {("privacy-policy", "2026-01", frozen.now()), ("terms-of-service", "2026-01", frozen.now())}


def test_decline_needs_a_reason_from_the_rules(api, rt):
    wf = created(api, seed(3))
    link_token(rt, wf["id"])
    with pytest.raises(RuleViolation):
        journey.decline(rt, wf["id"], "BECAUSE")
    journey.decline(rt, wf["id"], "DONT_KNOW_BUSINESS_SENDER")
    row = Workflow.get_by_id(wf["id"])
    assert (row.status, row.decline_reason) == ("DECLINED", "DONT_KNOW_BUSINESS_SENDER")
    step = WorkflowStep.get((WorkflowStep.workflow == wf["id"]) & (WorkflowStep.position == 1))
    assert step.status == "DECLINED"
    with pytest.raises(Unavailable):
        journey.submit(rt, wf["id"], 1, "lookup-profile", {})


def test_concurrent_confirms_create_one_transaction(api, rt):
    wf = created(api, seed(3))
    link_token(rt, wf["id"])
    journey.submit(rt, wf["id"], 1, "lookup-profile", {})
    journey.submit(rt, wf["id"], 2, "lookup-financial-account", {})
    barrier = threading.Barrier(6)
    outcomes = []

    def confirm():
        rt.bind()
        with rt.database.connection_context():
            barrier.wait()
            try:
                journey.submit(rt, wf["id"], 3, "move-money", {})
                outcomes.append("ok")
            except (Conflict, StepNotCurrent) as exc:
                outcomes.append(exc.code)
            except Exception as exc:  # noqa: BLE001 - any other outcome is a failure the test must see
                outcomes.append(repr(exc))

    threads = [threading.Thread(target=confirm) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(outcomes) == 6 and outcomes.count("ok") == 1, outcomes
    assert set(outcomes) - {"ok"} <= {"ALREADY_CONFIRMED", "STEP_NOT_CURRENT", "CONCURRENT_UPDATE"}, outcomes
    assert Transaction.select().where(Transaction.workflow == wf["id"]).count() == 1


def test_a_confirmed_workflow_does_not_expire_while_its_money_moves(api, rt):
    frozen = FrozenClock()
    clock.set_clock(frozen)
    wf = created(api, seed(3, amount=12))
    link_token(rt, wf["id"])
    journey.submit(rt, wf["id"], 1, "lookup-profile", {})
    journey.submit(rt, wf["id"], 2, "lookup-financial-account", {})
    journey.submit(rt, wf["id"], 3, "move-money", {})
    frozen.advance(days=3)
    for _ in range(5):
        Worker(rt).run_until_idle()
        frozen.advance(seconds=30)
    assert Workflow.get_by_id(wf["id"]).status == "COMPLETED"
    assert Transaction.get(Transaction.workflow == wf["id"]).status == "SETTLED"


def test_cancelling_a_workflow_cancels_its_unsent_payment_and_refuses_once_sent(api, rt):
    wf = created(api, seed(3))
    link_token(rt, wf["id"])
    journey.submit(rt, wf["id"], 1, "lookup-profile", {})
    journey.submit(rt, wf["id"], 2, "lookup-financial-account", {})
    tx = journey.submit(rt, wf["id"], 3, "move-money", {})
    response = api.client.post(f"/v2/linx/workflows/{wf['id']}/cancel", headers=api.headers())
    assert response.status_code == 200 and response.get_json()["status"] == "CANCELLED"
    assert Transaction.get_by_id(tx.id).status == "CANCELLED"
    Worker(rt).run_until_idle()
    assert Transaction.get_by_id(tx.id).status == "CANCELLED"  # never sent to the rail

    other = created(api, seed(3))
    link_token(rt, other["id"])
    journey.submit(rt, other["id"], 1, "lookup-profile", {})
    journey.submit(rt, other["id"], 2, "lookup-financial-account", {})
    sent = journey.submit(rt, other["id"], 3, "move-money", {})
    Worker(rt).run_until_idle()
    assert Transaction.get_by_id(sent.id).status != "PENDING"
    refused = api.client.post(f"/v2/linx/workflows/{other['id']}/cancel", headers=api.headers())
    assert refused.status_code == 409 and refused.get_json()["errorCode"].startswith("TRANSACTION_")


def test_one_phone_number_makes_one_customer_even_at_once(api, rt):
    flows = [created(api, seed(0, phoneNumber="+14165550177")) for _ in range(4)]
    for wf in flows:
        link_token(rt, wf["id"])
    barrier = threading.Barrier(4)
    outcomes = []

    def make(wf):
        rt.bind()
        with rt.database.connection_context():
            barrier.wait()
            try:
                outcomes.append(journey.submit(rt, wf["id"], 1, "customer-account", {
                    "firstName": "Ann", "lastName": "Lee", "email": "ann@example.com"}).id)
            except Exception as exc:  # noqa: BLE001 - every one must succeed
                outcomes.append(repr(exc))

    threads = [threading.Thread(target=make, args=(wf,)) for wf in flows]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(set(outcomes)) == 1 and len(outcomes) == 4, outcomes
    assert Customer.select().where(Customer.phone_number == "+14165550177").count() == 1


def test_digits_other_than_ascii_are_refused_in_an_account_number(api, rt):
    body = seed(1, financialAccountSubType="CHECKING")
    wf = created(api, body)
    link_token(rt, wf["id"])
    journey.submit(rt, wf["id"], 1, "lookup-profile", {})
    with pytest.raises(RuleViolation) as digits:
        journey.submit(rt, wf["id"], 2, "financial-account", {"holderName": "John Doe", "routingNumber": "011000015",
                                              "accountNumber": "٠٠٠١٢٣٤٥٦٧٨٩"})
    assert [p.path for p in digits.value.problems] == ["accountNumber"]


def test_the_completion_message_names_the_account(api, rt):
    from linx_plugins.console import read_inbox

    from .drive import ready_to_confirm

    frozen = FrozenClock()
    clock.set_clock(frozen)
    wf = ready_to_confirm(api, rt, amount=20)
    journey.submit(rt, wf["id"], 3, "move-money", {})
    for _ in range(4):
        Worker(rt).run_until_idle()
        frozen.advance(seconds=30)
    texts = [m["text"] for m in read_inbox(rt) if m["workflowId"] == wf["id"] and m["origin"] == "COMPLETION_SEND"]
    assert texts == ["Demo Co: 20.00 USD is on its way to your Visa card ending 5556."]


def test_a_declined_step_is_announced_like_any_step_change(api, rt):
    wf = created(api, seed(3))
    link_token(rt, wf["id"])
    journey.decline(rt, wf["id"], "WRONG_PERSON")
    updates = [e.data for e in Event.select().where((Event.subject_id == wf["id"])
                                                    & (Event.type == "linx.workflow-updated"))]
    assert {"name": "lookup-profile", "previousStatus": "ACTIVE", "status": "DECLINED"} in [
        u["previousStep"] for u in updates]
