"""The read side (issue 13): each step's outcome on the workflow, customers and their accounts, the transaction
list, and erasing a customer. Every test runs on SQLite and on PostgreSQL (the ``rt`` fixture)."""
import datetime as dt
import json
import uuid

import pytest

from linx_core import clock
from linx_core.demo import CARD_ID, CARD_NUMBER, CUSTOMER_ID
from linx_core.services import journey
from linx_core.services.businesses import issue_key
from linx_core.services.workflows import steps_of
from linx_core.store import models
from linx_core.store.models import (
    Customer,
    CustomerFinancialAccount,
    Event,
    IdempotencyRecord,
    Job,
    Transaction,
    Workflow,
)

from .conftest import Api, seed_examples
from .journeys import DEBIT_CARD, api_for, body, create, rail_runtime, run, to_confirmation

WORKFLOWS = "/v2/linx/workflows"
NEW_PHONE = "+14165550199"


NOW = dt.datetime(2026, 3, 3, 15, 0, tzinfo=dt.UTC)  # a Tuesday


@pytest.fixture(autouse=True)
def frozen(rt):
    frozen_clock = clock.FrozenClock(NOW)
    clock.set_clock(frozen_clock)
    yield frozen_clock
    clock.set_clock(None)


@pytest.fixture
def runtime(rt, tmp_path):
    return rail_runtime(rt, tmp_path)


@pytest.fixture
def demo_api(runtime, demo):
    return api_for(runtime, demo[1])


@pytest.fixture
def other_api(runtime, other):
    return api_for(runtime, other["key"])


def ok(response, status=200):
    assert response.status_code == status, response.get_json()
    return response.get_json()


def refused(response, status, *paths):
    body = response.get_json()
    assert response.status_code == status, body
    assert {"timestamp", "traceId", "message", "errorCode", "errors"} <= set(body)
    if paths:
        assert [e["path"] for e in body["errors"]] == list(paths), body
    return body


def data_of(workflow, name):
    [step] = [s for s in workflow["steps"] if s["name"] == name]
    return step["data"]


def settled_new_customer(runtime, api, phone=NEW_PHONE, amount="256.25"):
    """A new customer with a new debit card, paid and settled (the clock is the ``frozen`` fixture's): the
    workflow's id."""
    workflow_id = create(api, body(phone=phone, amount=amount))
    to_confirmation(runtime, workflow_id)
    run(runtime)
    clock._clock.advance(seconds=10)  # push-to-card settles seconds after it approves
    run(runtime)
    return workflow_id


# -- steps[].data -----------------------------------------------------------------------------


def test_each_step_carries_its_outcome_from_its_kind(runtime, demo_api):
    workflow_id = settled_new_customer(runtime, demo_api)
    workflow = ok(demo_api.get(f"{WORKFLOWS}/{workflow_id}"))
    assert workflow["status"] == "COMPLETED"
    customer = Customer.get(Customer.phone_number == NEW_PHONE)
    assert data_of(workflow, "customer-account") == {"customerId": str(customer.id), "existing": False}
    card = CustomerFinancialAccount.get(CustomerFinancialAccount.customer == customer.id)
    assert data_of(workflow, "financial-account") == {
        "financialAccountId": str(card.id), "maskedNumber": "************" + DEBIT_CARD[-4:], "type": "CARD",
        "subtype": "DEBIT", "brand": "VISA"}
    tx = Transaction.get(Transaction.workflow == uuid.UUID(workflow_id))
    assert data_of(workflow, "move-money") == {"transactionId": str(tx.id), "transactionStatus": "SETTLED"}
    assert data_of(workflow, "notification") == {}
    assert DEBIT_CARD not in json.dumps(workflow)
    listed = ok(demo_api.get(WORKFLOWS, query_string={"search": workflow_id}))["content"]
    assert listed[0]["steps"] == workflow["steps"]  # the list's items share the schema


def test_the_move_money_status_is_read_now_not_when_the_step_stayed(runtime, demo_api, frozen):
    workflow_id = create(demo_api, body(phone=NEW_PHONE))
    to_confirmation(runtime, workflow_id)  # confirmed; its submission not yet run
    first = data_of(ok(demo_api.get(f"{WORKFLOWS}/{workflow_id}")), "move-money")
    assert first["transactionStatus"] == "PENDING"
    run(runtime)
    assert data_of(ok(demo_api.get(f"{WORKFLOWS}/{workflow_id}")), "move-money")["transactionStatus"] == "APPROVED"
    frozen.advance(seconds=10)
    run(runtime)
    assert data_of(ok(demo_api.get(f"{WORKFLOWS}/{workflow_id}")), "move-money")["transactionStatus"] == "SETTLED"


def test_lookup_steps_name_the_existing_customer_and_account(runtime, demo_api):
    workflow_id = create(demo_api, body(existing_account=CARD_ID, customer_id=CUSTOMER_ID))
    to_confirmation(runtime, workflow_id, confirm=False)
    workflow = ok(demo_api.get(f"{WORKFLOWS}/{workflow_id}"))
    assert data_of(workflow, "lookup-profile") == {"customerId": CUSTOMER_ID}
    assert data_of(workflow, "lookup-financial-account") == {
        "financialAccountId": CARD_ID, "maskedNumber": "************" + CARD_NUMBER[-4:], "type": "CARD",
        "subtype": "DEBIT", "brand": "VISA"}
    assert data_of(workflow, "move-money") == {}


def test_a_step_completed_before_the_masked_form_was_kept_reads_it_from_the_account(runtime, demo_api):
    workflow_id = create(demo_api, body(existing_account=CARD_ID, customer_id=CUSTOMER_ID))
    to_confirmation(runtime, workflow_id, confirm=False)
    step = steps_of(Workflow.get_by_id(workflow_id))[2]
    step.data = {"customerFinancialAccountId": CARD_ID}  # what the step kept before issue 13
    step.save()
    data = data_of(ok(demo_api.get(f"{WORKFLOWS}/{workflow_id}")), "lookup-financial-account")
    assert data == {"financialAccountId": CARD_ID, "maskedNumber": "************5556", "type": "CARD",
                    "subtype": "DEBIT", "brand": "VISA"}


def test_the_document_step_lists_each_document_with_its_version_and_time(runtime, demo_api, frozen):
    frozen.advance(seconds=245)
    response = demo_api.create({"title": "Accept our terms", "expireIn": 2, "parameters": {
        "channel": "SMS", "phoneNumber": NEW_PHONE, "introductoryMessage": "Please accept",
        "documents": [{"documentId": "privacy-policy"}, {"documentId": "communications-consent"}]},
        "steps": [{"name": "notification"}, {"name": "customer-account"}, {"name": "document-acceptance"}]})
    workflow_id = ok(response, 201)["id"]
    run(runtime)
    journey.submit(runtime, workflow_id, 1, "customer-account",
                   {"firstName": "Ann", "lastName": "Lee", "email": "ann@example.com"})
    journey.submit(runtime, workflow_id, 2, "document-acceptance",
                   {"accepted": ["privacy-policy", "communications-consent"]})
    data = data_of(ok(demo_api.get(f"{WORKFLOWS}/{workflow_id}")), "document-acceptance")
    assert data == {"accepted": [
        {"documentId": "privacy-policy", "title": "Privacy Policy", "version": "2026-01",
         "acceptedAt": "2026-03-03T15:04:05Z"},
        {"documentId": "communications-consent", "title": "Electronic Communications Consent", "version": "2026-01",
         "acceptedAt": "2026-03-03T15:04:05Z"}]}


def test_the_api_shows_what_the_kind_says_not_what_the_step_row_holds(runtime, demo_api, monkeypatch):
    workflow_id = create(demo_api, body(existing_account=CARD_ID, customer_id=CUSTOMER_ID))
    to_confirmation(runtime, workflow_id, confirm=False)
    kind = runtime.step_kinds["lookup-profile"]
    monkeypatch.setattr(type(kind), "outcome", lambda self, rt, workflow, step: {"said": "by the kind"})
    assert data_of(ok(demo_api.get(f"{WORKFLOWS}/{workflow_id}")), "lookup-profile") == {"said": "by the kind"}


@pytest.mark.parametrize("expiry, days", [({"expireIn": "2"}, 2), ({"expireIn": 7}, 7), ({"expireInHours": 36}, 2),
                                          ({"expireInHours": 24}, 1)])
def test_expire_in_is_the_whole_days_of_the_workflow(demo_api, expiry, days):
    raw = json.loads(seed_examples()[0])
    raw.pop("expireIn")
    raw.update(expiry)
    created = ok(demo_api.create(raw), 201)
    assert created["expireIn"] == days
    assert ok(demo_api.get(f"{WORKFLOWS}/{created['id']}"))["expireIn"] == days


def test_expire_in_follows_an_extension(demo_api):
    created = ok(demo_api.create(json.loads(seed_examples()[0])), 201)
    assert created["expireIn"] == 2
    extended = ok(demo_api.client.post(f"{WORKFLOWS}/{created['id']}/extend", json={"expireIn": 5},
                                       headers=demo_api.headers()))
    assert extended["expireIn"] == 5


# -- customers and their accounts ------------------------------------------------------------


def test_customers_are_listed_searched_and_paged(runtime, demo_api):
    settled_new_customer(runtime, demo_api)  # Jane Doe (journeys.CUSTOMER_FORM)
    everyone = ok(demo_api.get("/v2/customers"))
    assert everyone["totalElements"] == 2 and everyone["totalPages"] == 1
    names = {(c["firstName"], c["lastName"]) for c in everyone["content"]}
    assert names == {("John", "Doe"), ("Jane", "Doe")}
    for term, expected in (("jane", {"Jane"}), ("JOHN DOE", {"John"}), ("doe", {"John", "Jane"}),
                           ("4165550199", {"Jane"}), ("+16471234567", {"John"}), ("john.doe@example", {"John"}),
                           (CUSTOMER_ID, {"John"}), ("nobody", set()), ("%", set()), ("_", set())):
        found = ok(demo_api.get("/v2/customers", query_string={"search": term}))["content"]
        assert {c["firstName"] for c in found} == expected, term
    first = ok(demo_api.get("/v2/customers", query_string={"size": 1, "sort": "firstName,asc"}))
    second = ok(demo_api.get("/v2/customers", query_string={"size": 1, "page": 2, "sort": "firstName,asc"}))
    assert (first["content"][0]["firstName"], second["content"][0]["firstName"]) == ("Jane", "John")
    assert first["totalPages"] == 2


@pytest.mark.parametrize("query, path", [({"page": "0"}, "query.page"), ({"size": "x"}, "query.size"),
                                         ({"size": "100000"}, "query.size"), ({"status": "GONE"}, "query.status"),
                                         ({"sort": "phone"}, "query.sort"), ({"search": "a\nb"}, "query.search"),
                                         ({"search": "x" * 201}, "query.search"), ({"name": "x"}, "query.name")])
def test_a_bad_customer_query_is_400_with_its_path(demo_api, query, path):
    refused(demo_api.get("/v2/customers", query_string=query), 400, path)


def test_a_customer_and_its_accounts_masked(demo_api, rt):
    customer = ok(demo_api.get(f"/v2/customers/{CUSTOMER_ID}"))
    assert customer == {"id": CUSTOMER_ID, "status": "ACTIVE", "firstName": "John", "lastName": "Doe",
                        "phoneNumber": "+16471234567", "email": "john.doe@example.com", "dateOfBirth": None,
                        "addresses": [], "createdAt": customer["createdAt"], "erasedAt": None}
    accounts = ok(demo_api.get(f"/v2/customers/{CUSTOMER_ID}/financial-accounts"))["content"]
    assert [a["id"] for a in accounts] == [CARD_ID]
    card = ok(demo_api.get(f"/v2/financial-accounts/{CARD_ID}"))
    assert card == accounts[0]
    assert {k: card[k] for k in ("customerId", "type", "subtype", "status", "maskedNumber", "last4", "brand",
                                 "holderName", "expiry")} == {
        "customerId": CUSTOMER_ID, "type": "CARD", "subtype": "DEBIT", "status": "ACTIVE",
        "maskedNumber": "************5556", "last4": "5556", "brand": "VISA", "holderName": "John Doe",
        "expiry": "2030-12"}
    sealed = CustomerFinancialAccount.get_by_id(CARD_ID).sealed_number
    for text in (json.dumps(accounts), json.dumps(card)):
        assert CARD_NUMBER not in text and sealed not in text


def test_a_read_only_key_reads_customers_but_cannot_erase(rt, client, demo):
    reader = Api(client, issue_key(rt, demo[0], label="reader", read_only=True))
    assert ok(reader.get("/v2/customers"))["totalElements"] == 1
    assert ok(reader.get(f"/v2/customers/{CUSTOMER_ID}"))["firstName"] == "John"
    assert ok(reader.get(f"/v2/financial-accounts/{CARD_ID}"))["id"] == CARD_ID
    assert ok(reader.get("/v2/transactions"))["totalElements"] == 0
    body = refused(client.post(f"/v2/customers/{CUSTOMER_ID}/erase", headers=reader.headers()), 403)
    assert body["errorCode"] == "READ_ONLY_API_KEY"
    assert Customer.get_by_id(CUSTOMER_ID).first_name == "John"


# -- tenant isolation ------------------------------------------------------------------------

def _same(a, b):
    return {k: v for k, v in a.items() if k not in ("timestamp", "traceId")} == \
        {k: v for k, v in b.items() if k not in ("timestamp", "traceId")}


@pytest.mark.parametrize("method, template", [
    ("GET", "/v2/customers/{customer}"), ("GET", "/v2/customers/{customer}/financial-accounts"),
    ("GET", "/v2/financial-accounts/{card}"), ("POST", "/v2/customers/{customer}/erase")])
def test_another_business_ids_are_404_like_random_ones(demo_api, other, method, template):
    theirs = template.format(customer=other["customer"].id, card=other["card"].id)
    unknown = template.format(customer=uuid.uuid4(), card=uuid.uuid4())
    a = refused(demo_api.client.open(theirs, method=method, headers=demo_api.headers()), 404)
    b = refused(demo_api.client.open(unknown, method=method, headers=demo_api.headers()), 404)
    assert _same(a, b)
    assert str(other["customer"].id) not in json.dumps(a) and str(other["card"].id) not in json.dumps(a)
    assert Customer.get_by_id(other["customer"].id).status == "ACTIVE"
    assert Customer.get_by_id(other["customer"].id).first_name == "Olga"


def test_lists_never_show_another_business_data(runtime, demo_api, other_api, other):
    settled_new_customer(runtime, demo_api)
    for term in (None, "olga", "Other", "+14165550123", "olga@example.com", str(other["customer"].id)):
        page = ok(demo_api.get("/v2/customers", query_string={"search": term} if term else {}))
        assert str(other["customer"].id) not in json.dumps(page), term
    assert [c["id"] for c in ok(other_api.get("/v2/customers"))["content"]] == [str(other["customer"].id)]
    assert ok(other_api.get("/v2/transactions"))["totalElements"] == 0
    assert ok(demo_api.get("/v2/transactions"))["totalElements"] == 1
    for name, value in (("customerId", other["customer"].id), ("workflowId", uuid.uuid4())):
        assert ok(demo_api.get("/v2/transactions", query_string={name: str(value)}))["totalElements"] == 0


# -- the transaction list --------------------------------------------------------------------


def test_transactions_are_listed_and_filtered(runtime, demo_api, frozen):
    first = settled_new_customer(runtime, demo_api)
    frozen.advance(hours=1)
    pending = create(demo_api, body(phone=NEW_PHONE, amount="12.50"))
    to_confirmation(runtime, pending)  # PENDING: its submission not run
    everything = ok(demo_api.get("/v2/transactions"))
    assert everything["totalElements"] == 2
    assert [t["workflowId"] for t in everything["content"]] == [pending, first]  # newest first
    assert [t["amount"] for t in everything["content"]] == ["12.50", "256.25"]
    customer = str(Customer.get(Customer.phone_number == NEW_PHONE).id)
    cases = [({"workflowId": first}, [first]), ({"customerId": customer}, [pending, first]),
             ({"customerId": CUSTOMER_ID}, []), ({"status": "SETTLED"}, [first]), ({"status": "PENDING"}, [pending]),
             ({"type": "SEND"}, [pending, first]), ({"type": "REQUEST"}, []),
             ({"solution": "push-to-card"}, [pending, first]), ({"solution": "ach"}, []),
             ({"createdFrom": "2026-03-03T15:30:00Z"}, [pending]), ({"createdTo": "2026-03-03T15:30:00Z"}, [first]),
             ({"createdFrom": "2026-03-03T15:00:00Z", "createdTo": "2026-03-03T16:00:00Z"}, [first]),
             ({"createdFrom": "2026-03-03T10:30:00-05:00"}, [pending]),
             ({"sort": "amount,asc"}, [pending, first]), ({"sort": "amount,desc"}, [first, pending]),
             ({"size": 1, "page": 2}, [first])]
    for query, expected in cases:
        page = ok(demo_api.get("/v2/transactions", query_string=query))
        assert [t["workflowId"] for t in page["content"]] == expected, query


@pytest.mark.parametrize("query, path", [
    ({"workflowId": "nope"}, "query.workflowId"), ({"customerId": "123"}, "query.customerId"),
    ({"status": "DONE"}, "query.status"), ({"type": "REFUND"}, "query.type"), ({"solution": "carrier-pigeon"},
                                                                              "query.solution"),
    ({"createdFrom": "yesterday"}, "query.createdFrom"), ({"createdTo": "2026-13-01T00:00:00Z"}, "query.createdTo"),
    ({"createdFrom": "2026-03-02T00:00:00Z", "createdTo": "2026-03-01T00:00:00Z"}, "query.createdTo"),
    ({"page": "-1"}, "query.page"), ({"size": "0"}, "query.size"), ({"sort": "amount,up"}, "query.sort"),
    ({"workflow": "x"}, "query.workflow")])
def test_a_bad_transaction_filter_is_400_with_its_path(demo_api, query, path):
    refused(demo_api.get("/v2/transactions", query_string=query), 400, path)


# -- erasure ---------------------------------------------------------------------------------


def _erase(api, customer_id, **headers):
    return api.client.post(f"/v2/customers/{customer_id}/erase", headers=api.headers(headers))


def test_erasure_removes_personal_data_and_keeps_the_money_records(runtime, demo_api, rt):
    subscription = ok(demo_api.client.post("/v2/push-notifications", json={
        "url": "https://93.184.216.34/erased", "eventTypes": ["customer.erased"]}, headers=demo_api.headers()),
        201)
    paid = settled_new_customer(runtime, demo_api)
    customer = Customer.get(Customer.phone_number == NEW_PHONE)
    card = CustomerFinancialAccount.get(CustomerFinancialAccount.customer == customer.id)
    tx_before = ok(demo_api.get("/v2/transactions", query_string={"workflowId": paid}))["content"][0]
    raw = json.loads(body(phone=NEW_PHONE, existing_account=str(card.id), customer_id=str(customer.id)))
    raw["title"] = "Another rebate for Jane Doe"
    open_one = ok(demo_api.create(raw, headers={"Idempotency-Key": "erase-me-0001"}), 201)["id"]
    assert "Jane Doe" in IdempotencyRecord.get().response_body and NEW_PHONE in IdempotencyRecord.get().response_body

    erased = ok(_erase(demo_api, customer.id))
    assert erased == {"id": str(customer.id), "status": "ERASED", "firstName": None, "lastName": None,
                      "phoneNumber": None, "email": None, "dateOfBirth": None, "addresses": [],
                      "createdAt": erased["createdAt"], "erasedAt": erased["erasedAt"]}
    assert ok(demo_api.get(f"/v2/customers/{customer.id}")) == erased
    # the open workflow was cancelled through its lifecycle, with its event
    cancelled = ok(demo_api.get(f"{WORKFLOWS}/{open_one}"))
    assert cancelled["status"] == "CANCELLED"
    statuses = [e.data["status"] for e in Event.select().where(
        (Event.subject_id == uuid.UUID(open_one)) & (Event.type == "linx.workflow-status-changed"))]
    assert sorted(statuses) == ["CANCELLED", "CREATED"]
    # its contact and the name in its title are gone; so is the paid one's
    for workflow_id in (open_one, paid):
        shown = ok(demo_api.get(f"{WORKFLOWS}/{workflow_id}"))
        assert shown["phoneNumber"] is None and "phoneNumber" not in shown["parameters"]
        assert NEW_PHONE not in json.dumps(shown) and "Jane" not in json.dumps(shown)
    assert cancelled["title"] == "Another rebate for [erased]"
    # the account: masked number kept, the sealed number destroyed
    account = ok(demo_api.get(f"/v2/financial-accounts/{card.id}"))
    assert (account["status"], account["maskedNumber"], account["last4"], account["holderName"]) == (
        "ERASED", "************5556", "5556", None)
    row = CustomerFinancialAccount.get_by_id(card.id)
    assert row.sealed_number == "" and row.billing_address is None and row.fingerprint.startswith("erased:")
    # the money record keeps its amount, dates and masked number
    tx_after = ok(demo_api.get("/v2/transactions", query_string={"customerId": str(customer.id)}))["content"]
    assert tx_after == [tx_before]
    # the replay kept for the Idempotency-Key no longer holds the contact or the name
    kept = IdempotencyRecord.get().response_body
    assert NEW_PHONE not in kept and "Jane" not in kept
    replay = demo_api.create(raw, headers={"Idempotency-Key": "erase-me-0001"})
    assert replay.headers["Idempotent-Replayed"] == "true" and replay.get_json()["phoneNumber"] is None
    # the event, once, and its webhook
    [event] = Event.select().where(Event.type == "customer.erased")
    assert event.data == {"customerId": str(customer.id), "status": "ERASED", "erasedAt": erased["erasedAt"],
                          "cancelledWorkflowIds": [open_one], "financialAccountIds": [str(card.id)],
                          "workflowIds": [paid, open_one]}
    deliveries = [j for j in Job.select() if j.payload.get("eventId") == str(event.id)]
    assert len(deliveries) == 1 and deliveries[0].payload.get("subscriptionId") == subscription["id"]
    # idempotent: again is the same answer and no second event
    assert ok(_erase(demo_api, customer.id)) == erased
    assert Event.select().where(Event.type == "customer.erased").count() == 1
    # the erased customer cannot be named again
    again = json.loads(body(existing_account=str(card.id), customer_id=str(customer.id)))
    problems = refused(demo_api.create(again), 422)["errors"]
    assert {p["errorCode"] for p in problems} >= {"CUSTOMER_ERASED"}


def test_nothing_of_the_erased_customer_is_left_in_the_database(runtime, demo_api, rt):
    workflow_id = settled_new_customer(runtime, demo_api)
    customer = Customer.get(Customer.phone_number == NEW_PHONE)
    # a provider's refusal that quotes the number, in a message's history and in its event
    quoted = f"The 'To' number {NEW_PHONE} is not a valid phone number."
    note = models.Notification.get(models.Notification.workflow == workflow_id)
    models.Notification.update(reason=quoted).where(models.Notification.id == note.id).execute()
    event = Event.get((Event.type == "linx.notification-status-changed") & (Event.subject_id == note.workflow_id))
    Event.update(data=dict(event.data, reason=quoted)).where(Event.id == event.id).execute()
    ok(_erase(demo_api, customer.id))
    db = rt.database
    for model in models.MODELS:  # every table, every column
        table = model._meta.table_name
        rows = db.execute_sql(f'SELECT * FROM "{table}"').fetchall()
        text = json.dumps(rows, default=str)
        for secret in ("Jane", "jane.doe@example.com", NEW_PHONE, "4165550199", DEBIT_CARD):
            assert secret not in text, (table, secret)


def test_erasure_waits_for_a_payment_at_its_rail(runtime, demo_api):
    workflow_id = create(demo_api, body(phone=NEW_PHONE))
    tx = to_confirmation(runtime, workflow_id)
    Transaction.update(status="PROCESSING").where(Transaction.id == tx.id).execute()
    customer = Customer.get(Customer.phone_number == NEW_PHONE)
    body_ = refused(_erase(demo_api, customer.id), 409)
    assert body_["errorCode"] == "CUSTOMER_PAYMENT_IN_FLIGHT"
    assert Customer.get_by_id(customer.id).first_name == "Jane"
    assert Workflow.get_by_id(workflow_id).status == "ACTIVE"


def test_erasure_cancels_a_pending_payment_with_its_workflow(runtime, demo_api):
    workflow_id = create(demo_api, body(phone=NEW_PHONE))
    tx = to_confirmation(runtime, workflow_id)  # PENDING: not yet at its rail
    customer = Customer.get(Customer.phone_number == NEW_PHONE)
    ok(_erase(demo_api, customer.id))
    assert Transaction.get_by_id(tx.id).status == "CANCELLED"
    assert Workflow.get_by_id(workflow_id).status == "CANCELLED"
    run(runtime)  # the submit job finds the payment cancelled and sends nothing
    assert Transaction.get_by_id(tx.id).status == "CANCELLED"


def test_erasing_another_business_customer_changes_nothing(demo_api, other):
    refused(_erase(demo_api, other["customer"].id), 404)
    row = Customer.get_by_id(other["customer"].id)
    assert (row.status, row.first_name, row.phone_number) == ("ACTIVE", "Olga", "+14165550123")
    assert CustomerFinancialAccount.get_by_id(other["card"].id).sealed_number
    assert Event.select().where(Event.type == "customer.erased").count() == 0


def test_the_erased_event_type_is_registered_and_documented(demo_api):
    document = ok(demo_api.get("/v2/openapi.json"))
    assert "customer.erased" in document["components"]["schemas"]["Event"]["properties"]["type"]["enum"]
    for path in ("/v2/customers", "/v2/customers/{customerId}", "/v2/customers/{customerId}/financial-accounts",
                 "/v2/customers/{customerId}/erase", "/v2/financial-accounts/{financialAccountId}",
                 "/v2/transactions"):
        assert path in document["paths"], path
    assert "403" in document["paths"]["/v2/customers/{customerId}/erase"]["post"]["responses"]
    step = document["components"]["schemas"]["Step"]["properties"]
    assert step["data"]["type"] == "object"
    assert document["components"]["schemas"]["Workflow"]["properties"]["expireIn"]["type"] == "integer"


@pytest.mark.parametrize("method, path", [
    ("GET", "/v2/customers"), ("GET", f"/v2/customers/{CUSTOMER_ID}"),
    ("GET", f"/v2/customers/{CUSTOMER_ID}/financial-accounts"), ("GET", f"/v2/financial-accounts/{CARD_ID}"),
    ("POST", f"/v2/customers/{CUSTOMER_ID}/erase"), ("GET", "/v2/transactions")])
def test_without_a_key_nothing_is_read_or_erased(client, demo, method, path):
    body = refused(client.open(path, method=method), 401)
    assert "John" not in json.dumps(body)
    assert Customer.get_by_id(CUSTOMER_ID).status == "ACTIVE"


# -- erasure touches only the erased customer's workflows (cold review) ------------------------


def test_erasure_leaves_other_people_workflows_that_share_an_email(runtime, demo_api):
    settled_new_customer(runtime, demo_api)
    jane = Customer.get(Customer.phone_number == NEW_PHONE)
    # Bob shares Jane's mailbox (a couple, a family address): his own workflow, bound to him, still open
    bobs = create(demo_api, body(phone="+14165550177"))
    to_confirmation(runtime, bobs, customer_form={"firstName": "Bob", "lastName": "Roe",
                                                  "email": "jane.doe@example.com"}, confirm=False)
    bob = Customer.get(Customer.phone_number == "+14165550177")
    # an SMS workflow to a third number whose email is only a prefill, not yet bound to anyone
    raw = json.loads(body(phone="+14165550188"))
    raw["parameters"]["email"] = "jane.doe@example.com"
    prefilled = create(demo_api, json.dumps(raw))
    ok(_erase(demo_api, jane.id))
    for workflow_id, phone in ((bobs, "+14165550177"), (prefilled, "+14165550188")):
        row = Workflow.get_by_id(workflow_id)
        assert row.status in ("CREATED", "ACTIVE"), workflow_id  # not cancelled
        assert row.phone_number == phone and row.parameters["phoneNumber"] == phone
    assert Workflow.get_by_id(prefilled).parameters["email"] == "jane.doe@example.com"
    bob = Customer.get_by_id(bob.id)
    assert (bob.status, bob.first_name, bob.email) == ("ACTIVE", "Bob", "jane.doe@example.com")


def test_erasure_redacts_free_text_only_never_a_record_word_that_matches_the_name(runtime, demo_api, frozen):
    """Ms Money Card: her names are also words of the rules (push-to-card, move-money)."""
    raw = json.loads(body(phone=NEW_PHONE))
    raw["title"] = "Rebate for Money Card"
    raw["parameters"]["introductoryMessage"] = "Card rebate, Money"
    workflow_id = create(demo_api, json.dumps(raw))
    to_confirmation(runtime, workflow_id, customer_form={"firstName": "Money", "lastName": "Card",
                                                                "email": "mc@example.com"})
    run(runtime)
    frozen.advance(seconds=10)  # settled
    run(runtime)
    customer = Customer.get(Customer.phone_number == NEW_PHONE)
    events_before = {e.id: e.data for e in Event.select().where(Event.type == "linx.workflow-updated")}
    ok(_erase(demo_api, customer.id))
    shown = ok(demo_api.get(f"{WORKFLOWS}/{workflow_id}"))
    assert shown["parameters"]["solution"] == "push-to-card"
    assert shown["parameters"]["paymentReasonId"] == "payment-of-rebates"
    assert [s["name"] for s in shown["steps"]] == ["notification", "customer-account", "financial-account",
                                                   "move-money"]
    assert shown["title"] == "Rebate for [erased]"
    assert shown["parameters"]["introductoryMessage"] == "[erased] rebate, [erased]"
    assert Transaction.get(Transaction.workflow == uuid.UUID(workflow_id)).solution == "push-to-card"
    events_after = {e.id: e.data for e in Event.select().where(Event.type == "linx.workflow-updated")}
    assert events_after == events_before  # step names and statuses are not personal


def test_erasure_drops_the_personal_parameters_also_from_replays(runtime, demo_api):
    """The business's prefill (Janet Doe-Smith, janet@example.org) differs from what the customer saved (Jane
    Doe): both are the customer's, and both go."""
    raw = json.loads(body(phone=NEW_PHONE))
    raw["parameters"].update(firstName="Janet", lastName="Doe-Smith", email="janet@example.org")
    workflow_id = ok(demo_api.create(raw, headers={"Idempotency-Key": "prefill-0001"}), 201)["id"]
    to_confirmation(runtime, workflow_id, confirm=False)
    customer = Customer.get(Customer.phone_number == NEW_PHONE)
    assert "Janet" in IdempotencyRecord.get().response_body
    ok(_erase(demo_api, customer.id))
    params = Workflow.get_by_id(workflow_id).parameters
    assert not {"firstName", "lastName", "email", "phoneNumber"} & set(params), params
    kept = IdempotencyRecord.get().response_body
    for secret in ("Janet", "Doe-Smith", "janet@example.org", NEW_PHONE):
        assert secret not in kept, secret
    replayed = demo_api.create(raw, headers={"Idempotency-Key": "prefill-0001"}).get_json()
    assert replayed["parameters"]["firstName"] is None and replayed["parameters"]["solution"] == "push-to-card"


def test_erasure_records_the_state_of_each_account_and_the_customer(runtime, demo_api):
    settled_new_customer(runtime, demo_api)
    customer = Customer.get(Customer.phone_number == NEW_PHONE)
    card = CustomerFinancialAccount.get(CustomerFinancialAccount.customer == customer.id)
    ok(_erase(demo_api, customer.id))
    [account_event] = [e for e in Event.select().where((Event.type == "financial-account.state-updated")
                                                       & (Event.subject_id == card.id)) if e.data["state"] == "ERASED"]
    assert account_event.data == {"financialAccountId": str(card.id), "customerId": str(customer.id),
                                  "previousState": "ACTIVE", "state": "ERASED", "type": "CARD", "subtype": "DEBIT",
                                  "maskedNumber": card.masked_number, "workflowId": None}
    [status_event] = [e for e in Event.select().where((Event.type == "customer.status-updated")
                                                      & (Event.subject_id == customer.id))
                      if e.data["status"] == "ERASED"]
    assert status_event.data == {"customerId": str(customer.id), "previousStatus": "ACTIVE", "status": "ERASED",
                                 "workflowId": None}
    for event in (account_event, status_event):
        assert runtime.event_types[event.type].problems(event.data, strict=True) == {}
    ok(_erase(demo_api, customer.id))  # again: nothing more
    assert Event.select().where(Event.type == "customer.status-updated", Event.subject_id == customer.id).count() == 2


def test_nothing_of_the_erased_customer_is_left_even_with_a_shared_email_and_names_that_are_words(
        runtime, demo_api, rt, frozen):
    """Ms Money Card (her names are words of the rules: move-money, push-to-card) shares her mailbox with Bob; the
    business prefilled her as Monty Cardew. After her erasure no table and no inbox line holds any of it, and Bob's
    data is whole."""
    import re

    from linx_plugins.console import inbox_path, read_inbox

    shared = "family@example.com"
    raw = json.loads(body(phone=NEW_PHONE))
    raw["title"] = "Rebate for Money Card"
    raw["parameters"].update(firstName="Monty", lastName="Cardew", email=shared)
    mine = ok(demo_api.create(raw, headers={"Idempotency-Key": "money-card-0001"}), 201)["id"]
    to_confirmation(runtime, mine, customer_form={"firstName": "Money", "lastName": "Card", "email": shared})
    run(runtime)
    frozen.advance(seconds=10)
    run(runtime)
    bobs = create(demo_api, body(phone="+14165550177"))
    to_confirmation(runtime, bobs, customer_form={"firstName": "Bob", "lastName": "Roe", "email": shared},
                    confirm=False)
    bob = Customer.get(Customer.phone_number == "+14165550177")
    assert any(m.get("to") == NEW_PHONE for m in read_inbox(runtime))
    customer = Customer.get(Customer.phone_number == NEW_PHONE)
    ok(_erase(demo_api, customer.id))

    names = re.compile(r"(?<![\w-])(Money|Card|Monty|Cardew)(?![\w-])")  # as words, not inside move-money
    secrets = (NEW_PHONE, "4165550199", DEBIT_CARD, "Monty", "Cardew")
    for model in models.MODELS:
        table = model._meta.table_name
        for row in rt.database.execute_sql(f'SELECT * FROM "{table}"').fetchall():
            text = json.dumps(row, default=str)
            assert not [s for s in secrets if s in text], (table, text)
            assert not names.search(text), (table, text)
            if shared in text:  # the shared address stays where it is Bob's, and only there
                assert str(bob.id) in text or bobs in text or bob.id.hex in text or uuid.UUID(bobs).hex in text, \
                    (table, text)
    inbox = inbox_path(runtime).read_text()
    assert NEW_PHONE not in inbox and mine not in inbox and "Money" not in inbox
    assert "+14165550177" in inbox  # Bob's messages stay
    bob = Customer.get_by_id(bob.id)
    assert (bob.first_name, bob.email, bob.status) == ("Bob", shared, "ACTIVE")
    assert Workflow.get_by_id(bobs).status == "ACTIVE"


# -- lists read a page in a fixed number of queries ----------------------------------------------------


class QueryCounter:
    def __init__(self, database, monkeypatch):
        self.count = 0
        original = database.execute_sql

        def counted(sql, *args, **kwargs):
            self.count += 1
            return original(sql, *args, **kwargs)

        monkeypatch.setattr(database, "execute_sql", counted)

    def __call__(self, read):
        before = self.count
        read()
        return self.count - before


def test_the_transaction_and_workflow_lists_take_as_many_queries_for_many_rows_as_for_one(
        runtime, demo_api, rt, frozen, monkeypatch):
    settled_new_customer(runtime, demo_api)
    counter = QueryCounter(rt.database, monkeypatch)

    def reads():
        tx_list = ok(demo_api.get("/v2/transactions"))
        wf_list = ok(demo_api.get(WORKFLOWS, query_string={"status": "COMPLETED"}))
        return len(tx_list["content"]), len(wf_list["content"])

    counted = {}
    counted["tx1"] = counter(lambda: ok(demo_api.get("/v2/transactions")))
    counted["wf1"] = counter(lambda: ok(demo_api.get(WORKFLOWS, query_string={"status": "COMPLETED"})))
    for n in range(3):
        frozen.advance(minutes=1)
        settled_new_customer(runtime, demo_api, phone=f"+1416555020{n}")
    assert reads() == (4, 4)
    assert counter(lambda: ok(demo_api.get("/v2/transactions"))) == counted["tx1"]
    assert counter(lambda: ok(demo_api.get(WORKFLOWS, query_string={"status": "COMPLETED"}))) == counted["wf1"]


def test_one_uuid_parser_for_paths_queries_and_payloads():
    import inspect

    from gateway_app.api import paging as api_paging
    from gateway_app.api import transactions as api_transactions
    from linx_core import ids
    from linx_core.services import directory, event_log

    assert ids.as_uuid(f" {CUSTOMER_ID} ".strip()) == uuid.UUID(CUSTOMER_ID)
    assert [ids.as_uuid(v) for v in ("nope", None, 12, "")] == [None] * 4
    problems = []
    assert api_paging.query_uuid({"x": f" {CUSTOMER_ID} "}, "x", problems) == uuid.UUID(CUSTOMER_ID)
    assert api_paging.query_uuid({"x": "nope"}, "x", problems) is None
    assert [(p.path, p.code) for p in problems] == [("query.x", "INVALID_UUID")]
    for module in (directory, event_log, api_transactions):
        assert "uuid.UUID(" not in inspect.getsource(module), module.__name__


def test_the_type_filter_takes_every_type_a_transaction_may_have(runtime, demo_api, rt):
    workflow_id = settled_new_customer(runtime, demo_api)
    original = Transaction.get(Transaction.workflow == uuid.UUID(workflow_id))
    Transaction.update(type="REVERSAL").where(Transaction.id == original.id).execute()  # as a reversal is kept
    page = ok(demo_api.get("/v2/transactions", query_string={"type": "REVERSAL"}))
    assert [t["id"] for t in page["content"]] == [str(original.id)]
    document = ok(demo_api.get("/v2/openapi.json"))
    [param] = [p for p in document["paths"]["/v2/transactions"]["get"]["parameters"] if p["name"] == "type"]
    assert param["schema"]["enum"] == ["SEND", "REQUEST", "REVERSAL"]


def test_the_step_data_documentation_names_every_key_move_money_keeps(demo_api):
    step = ok(demo_api.get("/v2/openapi.json"))["components"]["schemas"]["Step"]["properties"]["data"]
    words = step["description"]
    move_money = words[words.index("(document-acceptance"):]
    for key in ("transactionId", "transactionStatus", "financialAccountId"):
        assert f"`{key}`" in move_money, key


def test_a_create_whose_customer_is_erased_meanwhile_is_refused_and_stores_nothing(runtime, demo_api, rt,
                                                                                   monkeypatch):
    """The create checks the customer, then an erasure commits, then the create writes: it reads the customer
    again inside its transaction (share-locked on PostgreSQL) and refuses."""
    from linx_core.services import erasure, workflows

    business = models.Business.get_by_id(Customer.get_by_id(CUSTOMER_ID).business_id)
    checked = workflows._check_data

    def check_then_erase(rt_, business_, params):
        found = checked(rt_, business_, params)
        erasure.erase_customer(runtime, business, CUSTOMER_ID)  # as if from another request, just now
        return found

    monkeypatch.setattr(workflows, "_check_data", check_then_erase)
    before = Workflow.select().count()
    body_ = refused(demo_api.create(None, raw=body(existing_account=CARD_ID, customer_id=CUSTOMER_ID)), 422,
                    "parameters.customerId")
    assert body_["errors"][0]["errorCode"] == "CUSTOMER_ERASED"
    assert Workflow.select().count() == before


def test_erasure_locks_the_customer_row_and_a_create_share_locks_it_on_postgresql(runtime, demo_api, rt,
                                                                                 monkeypatch):
    from linx_core.store import is_postgres

    if not is_postgres(rt.database):
        pytest.skip("SQLite has no row locks: its writers queue")
    seen = []
    original = rt.database.execute_sql
    monkeypatch.setattr(rt.database, "execute_sql",
                        lambda sql, *a, **k: (seen.append(sql), original(sql, *a, **k))[1])
    ok(demo_api.create(None, raw=body(existing_account=CARD_ID, customer_id=CUSTOMER_ID)), 201)
    assert any('FROM "customer"' in q and "FOR SHARE" in q for q in seen), seen
    seen.clear()
    ok(_erase(demo_api, CUSTOMER_ID))
    assert any('FROM "customer"' in q and "FOR UPDATE" in q for q in seen), seen
