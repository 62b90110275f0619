"""Recovery of an ended workflow through the API (issue 13, section 2), on SQLite and PostgreSQL.

``POST /v2/linx/workflows/{id}/recover``: a new workflow with the same parameters and steps, a step that already
made the customer or an account replaced by its lookup (as the step kinds say), sent as a create sends it.
"""
import datetime as dt
import json
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from linx_core import clock
from linx_core.clock import FrozenClock
from linx_core.services import journey, recovery
from linx_core.store.models import Event, Job, Notification, Workflow
from linx_plugins.console import read_inbox

from .conftest import Api
from .drive import link_token, seed
from .journeys import api_for, body, create, rail_runtime, run, to_confirmation, transaction_of

PHONE = "+16475550177"


@pytest.fixture
def frozen():
    c = FrozenClock()
    clock.set_clock(c)
    yield c
    clock.set_clock(None)


def make(api, index=0, passcode=True, **parameters):
    data = seed(index, **{"phoneNumber": PHONE, **parameters})
    data["passcode"] = passcode
    response = api.create(data)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def recover(api, wid, payload=None, key=None, raw=None):
    headers = api.headers({"Idempotency-Key": key} if key else {})
    if raw is not None:
        return api.client.post(f"/v2/linx/workflows/{wid}/recover", data=raw, headers=headers,
                               content_type="application/json")
    if payload is None:
        return api.client.post(f"/v2/linx/workflows/{wid}/recover", headers=headers)
    return api.client.post(f"/v2/linx/workflows/{wid}/recover", json=payload, headers=headers)


def post(api, wid, action):
    response = api.client.post(f"/v2/linx/workflows/{wid}/{action}", headers=api.headers())
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def expired(rt, api, frozen, **kwargs):
    wf = make(api, **kwargs)
    link_token(rt, wf["id"])
    frozen.advance(days=3)
    run(rt)
    assert Workflow.get_by_id(wf["id"]).status == "EXPIRED"
    return wf


def declined(rt, api):
    wf = make(api)
    link_token(rt, wf["id"])
    journey.decline(rt, wf["id"], next(iter(rt.rules.catalog["declineReasons"])))
    return wf


# -- each ended status ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("status", ["EXPIRED", "CANCELLED", "DECLINED"])
def test_an_ended_workflow_is_recovered_by_a_new_one_with_the_same_request_sent_as_a_create(rt, api, frozen, status):
    if status == "EXPIRED":
        old = expired(rt, api, frozen)
    elif status == "CANCELLED":
        old = make(api)
        post(api, old["id"], "cancel")
    else:
        old = declined(rt, api)
    assert Workflow.get_by_id(old["id"]).status == status
    before = [e.id for e in Event.select(Event.id)]  # the clock is frozen: times cannot tell old from new

    response = recover(api, old["id"])
    assert response.status_code == 201, response.get_json()
    new = response.get_json()
    assert response.headers["Location"].endswith(f"/v2/linx/workflows/{new['id']}")
    assert new["id"] != old["id"] and new["status"] == "CREATED" and new["recoveredFrom"] == old["id"]
    assert new["recoveredBy"] is None
    for same in ("title", "channel", "phoneNumber", "email", "parameters", "customerMemo", "passcodeRequired"):
        assert new[same] == old[same], same
    assert [s["name"] for s in new["steps"]] == [s["name"] for s in old["steps"]]
    # a new passcode, shown this once
    assert new["passcode"] and new["passcode"].isdigit()
    # as long as the old one ran (2 days in the seed example)
    created = dt.datetime.fromisoformat(new["createdAt"])
    assert dt.datetime.fromisoformat(new["expireAt"]) - created == dt.timedelta(days=2)
    shown = api.get(f"/v2/linx/workflows/{old['id']}").get_json()
    assert shown["recoveredBy"] == new["id"] and shown["status"] == status and shown["recoveredFrom"] is None
    assert api.get(f"/v2/linx/workflows/{new['id']}").get_json()["recoveredFrom"] == old["id"]

    # the events of a create, and one on the old workflow
    added = list(Event.select().where(Event.id.not_in(before)))
    assert {(e.type, str(e.subject_id)) for e in added} == {
        ("linx.workflow-status-changed", new["id"]), ("linx.workflow-recovered", old["id"])}
    [event] = [e for e in added if e.type == "linx.workflow-recovered"]
    assert event.data == {"workflowId": old["id"], "recoveredBy": new["id"], "status": status,
                          "requestedBy": "BUSINESS"}
    # the first message goes as for any new workflow, to the same number, with a link that opens the new one
    [first] = Notification.select().where(Notification.workflow == new["id"])
    assert (first.origin, first.status) == ("INITIAL", "QUEUED")  # queued with the create, sent by the worker
    token = link_token(rt, new["id"])
    assert journey.open_link(rt, token).id == uuid.UUID(new["id"])
    [message] = [m for m in read_inbox(rt) if m["workflowId"] == new["id"]]
    assert message["to"] == PHONE
    assert Workflow.get_by_id(new["id"]).status == "ACTIVE"


def test_a_failed_payment_is_recovered_with_the_customer_and_card_it_made_looked_up(rt, demo, tmp_path):
    """The customer made their profile and card, then the payment failed: the recovery looks both up (lookup-profile
    with the new customerId, lookup-financial-account with the card's id) and the customer only confirms."""
    runtime = rail_runtime(rt, tmp_path)
    api = api_for(runtime, demo[1])
    wid = create(api, body(phone=PHONE))
    tx = to_confirmation(runtime, wid)
    cancelled = api.client.post(f"/v2/transactions/{tx.id}/cancel", headers=api.headers())
    assert cancelled.status_code == 200, cancelled.get_json()
    old = Workflow.get_by_id(wid)
    assert old.status == "FAILED" and old.customer_id and old.customer_account_id

    response = recover(api, wid, {"expireIn": 5})
    assert response.status_code == 201, response.get_json()
    new = response.get_json()
    assert [s["name"] for s in new["steps"]] == ["notification", "lookup-profile", "lookup-financial-account",
                                                 "move-money"]
    params = new["parameters"]
    assert params["customerId"] == str(old.customer_id) == new["customerId"]
    assert params["customerFinancialAccountId"] == str(old.customer_account_id)
    assert "financialAccountSubType" not in params  # only financial-account used it
    assert {k: v for k, v in params.items() if k not in ("customerId", "customerFinancialAccountId")} == {
        k: v for k, v in old.parameters.items() if k != "financialAccountSubType"}
    assert new["passcodeRequired"] is (old.passcode_hash is not None) and bool(new.get("passcode")) is \
        new["passcodeRequired"]
    expire_at = dt.datetime.fromisoformat(new["expireAt"])
    assert expire_at - dt.datetime.fromisoformat(new["createdAt"]) == dt.timedelta(days=5)

    # the customer goes straight through: no profile, no card number typed again
    second = to_confirmation(runtime, new["id"])
    assert second.customer_account_id == old.customer_account_id and second.customer_id == old.customer_id
    assert transaction_of(new["id"]).id != tx.id


def test_only_an_ended_workflow_can_be_recovered(rt, api, frozen):
    created = make(api)
    refused = recover(api, created["id"])
    assert refused.status_code == 409 and refused.get_json()["errorCode"] == "WORKFLOW_CREATED"
    link_token(rt, created["id"])
    refused = recover(api, created["id"])
    assert refused.status_code == 409 and refused.get_json()["errorCode"] == "WORKFLOW_ACTIVE"
    assert refused.get_json()["message"]
    wf = make(api, 3, phoneNumber="+16471234567")
    link_token(rt, wf["id"])
    journey.submit(rt, wf["id"], 1, "lookup-profile", {})
    journey.submit(rt, wf["id"], 2, "lookup-financial-account", {})
    journey.submit(rt, wf["id"], 3, "move-money", {})
    Workflow.update(status="COMPLETED").where(Workflow.id == wf["id"]).execute()  # as the settled payment would
    refused = recover(api, wf["id"])
    assert refused.status_code == 409 and refused.get_json()["errorCode"] == "WORKFLOW_COMPLETED"
    archived = make(api)
    post(api, archived["id"], "cancel")
    post(api, archived["id"], "archive")
    assert recover(api, archived["id"]).get_json()["errorCode"] == "WORKFLOW_ARCHIVED"
    assert Workflow.select().where(Workflow.recovered_from.is_null(False)).count() == 0


def test_a_workflow_is_recovered_once_and_a_replay_of_the_same_key_answers_the_same(rt, api):
    old = make(api)
    post(api, old["id"], "cancel")
    first = recover(api, old["id"], key="recover-0001")
    assert first.status_code == 201
    replay = recover(api, old["id"], key="recover-0001")
    assert replay.status_code == 201 and replay.headers["Idempotent-Replayed"] == "true"
    assert replay.headers["Idempotent-Withheld"] == "passcode"
    assert replay.get_json() == {**first.get_json(), "passcode": None}
    assert replay.headers["Location"] == first.headers["Location"] and first.get_json()["id"] in first.headers[
        "Location"]
    for key in ("recover-0002", None):
        again = recover(api, old["id"], key=key)
        assert again.status_code == 409 and again.get_json()["errorCode"] == "WORKFLOW_ALREADY_RECOVERED"
        assert first.get_json()["id"] in again.get_json()["message"]
    # the new one is not ended: it cannot be recovered in turn until it ends
    assert recover(api, first.get_json()["id"]).get_json()["errorCode"] == "WORKFLOW_CREATED"
    assert Workflow.select().where(Workflow.recovered_from == old["id"]).count() == 1
    assert Event.select().where(Event.type == "linx.workflow-recovered").count() == 1


def test_another_business_gets_404_for_the_workflow_and_its_recovery(rt, api, other):
    old = make(api)
    post(api, old["id"], "cancel")
    theirs = Api(api.client, other["key"])
    for wid in (old["id"], str(uuid.uuid4()), "not-a-uuid"):
        response = recover(theirs, wid)
        assert response.status_code == 404 and response.get_json()["errorCode"] == "WORKFLOW_NOT_FOUND", wid
    assert Workflow.get_by_id(old["id"]).recovered_by is None
    new = recover(api, old["id"]).get_json()
    assert theirs.get(f"/v2/linx/workflows/{new['id']}").status_code == 404


def test_the_body_is_checked_as_on_create_and_a_refusal_keeps_nothing(rt, api):
    old = make(api)
    post(api, old["id"], "cancel")
    cases = [({"expireIn": 0}, 422, "EXPIRY_OUT_OF_RANGE"), ({"expireIn": 1000}, 422, "EXPIRY_OUT_OF_RANGE"),
             ({"expireIn": "two"}, 400, None), ({"expireIn": 2, "expireInHours": 5}, 400, "EXPIRY_TWICE"),
             ({"title": "x"}, 400, "UNKNOWN_FIELD"), ([2], 400, "INVALID_TYPE")]
    for payload, status, code in cases:
        response = recover(api, old["id"], payload)
        assert response.status_code == status, (payload, response.get_json())
        if code:
            assert code in [e["errorCode"] for e in response.get_json()["errors"]], response.get_json()
    assert recover(api, old["id"], raw="{bad").status_code == 400
    null = recover(api, old["id"], raw="null")  # OpenAPI says an object
    assert null.status_code == 400 and null.get_json()["errors"][0]["errorCode"] == "INVALID_TYPE", null.get_json()
    wrong_type = api.client.post(f"/v2/linx/workflows/{old['id']}/recover", data="expireIn=2",
                                 content_type="text/plain", headers=api.headers())
    assert wrong_type.status_code == 400 and wrong_type.get_json()["errorCode"] == "UNSUPPORTED_CONTENT_TYPE"
    assert Workflow.select().count() == 1 and Workflow.get_by_id(old["id"]).recovered_by is None
    hours = recover(api, old["id"], {"expireInHours": 5}).get_json()
    assert dt.datetime.fromisoformat(hours["expireAt"]) - dt.datetime.fromisoformat(hours["createdAt"]) == \
        dt.timedelta(hours=5)


def test_a_recovery_past_the_recipient_limit_is_429_and_keeps_nothing(rt, api, monkeypatch):
    monkeypatch.setitem(rt.rules.message_limits["recipient"], "perHour", 2)
    old = make(api)
    post(api, old["id"], "cancel")
    make(api)  # the second message to this number in the hour
    before = (Workflow.select().count(), Event.select().count(), Job.select().count(), Notification.select().count())
    response = recover(api, old["id"])
    assert response.status_code == 429 and response.get_json()["errorCode"] == "RECIPIENT_LIMIT"
    assert int(response.headers["Retry-After"]) >= 1
    assert (Workflow.select().count(), Event.select().count(), Job.select().count(),
            Notification.select().count()) == before
    assert Workflow.get_by_id(old["id"]).recovered_by is None


def test_a_recovery_that_no_longer_passes_the_data_checks_is_422(rt, api, demo):
    old = make(api, 3, phoneNumber="+16471234567")
    post(api, old["id"], "cancel")
    # the card the business named was closed since
    from linx_core.store.models import CustomerFinancialAccount

    CustomerFinancialAccount.update(state="CLOSED").execute()
    response = recover(api, old["id"])
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["errors"][0]["path"] == "parameters.customerFinancialAccountId"
    assert Workflow.get_by_id(old["id"]).recovered_by is None


def test_the_openapi_document_describes_recover(api):
    spec = api.client.get("/v2/openapi.json").get_json()
    operation = spec["paths"]["/v2/linx/workflows/{workflowId}/recover"]["post"]
    assert {"201", "400", "401", "403", "404", "409", "422", "429"} <= set(operation["responses"])
    assert operation["requestBody"]["required"] is False
    extend = spec["paths"]["/v2/linx/workflows/{workflowId}/extend"]["post"]
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    assert body == extend["requestBody"]["content"]["application/json"]["schema"]  # one schema for both
    assert "WorkflowRecoverRequest" not in spec["components"]["schemas"]
    workflow = spec["components"]["schemas"]["Workflow"]["properties"]
    assert {"recoveredFrom", "recoveredBy"} <= set(workflow)
    assert "linx.workflow-recovered" in json.dumps(spec)


def test_four_recovers_at_once_make_one_workflow(rt, api, app):
    old = make(api)
    post(api, old["id"], "cancel")
    barrier = threading.Barrier(4)

    def press(_):
        client = app.test_client()
        barrier.wait()
        return client.post(f"/v2/linx/workflows/{old['id']}/recover", headers=api.headers())

    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(press, range(4)))
    rt.bind()
    codes = sorted(a.status_code for a in answers)
    assert codes == [201, 409, 409, 409], [a.get_json() for a in answers]
    assert {a.get_json()["errorCode"] for a in answers if a.status_code == 409} == {"WORKFLOW_ALREADY_RECOVERED"}
    assert Workflow.select().where(Workflow.recovered_from == old["id"]).count() == 1
    assert Event.select().where(Event.type == "linx.workflow-recovered").count() == 1


def test_an_expiry_after_the_profile_only_looks_up_the_customer_and_asks_for_the_card_again(rt, api, frozen):
    old = make(api, 2, phoneNumber="+14165550100", passcode=False)
    link_token(rt, old["id"])
    journey.submit(rt, old["id"], 1, "customer-account",
                   {"firstName": "Jane", "lastName": "Roe", "email": "jane.roe@example.com"})
    frozen.advance(days=3)
    run(rt)
    stored = Workflow.get_by_id(old["id"])
    assert stored.status == "EXPIRED" and stored.customer_id is not None
    new = recover(api, old["id"]).get_json()
    assert [s["name"] for s in new["steps"]] == ["notification", "lookup-profile", "financial-account", "move-money"]
    assert new["parameters"]["customerId"] == str(stored.customer_id)
    assert new["parameters"]["financialAccountSubType"] == old["parameters"]["financialAccountSubType"]
    assert "customerFinancialAccountId" not in new["parameters"] and "passcode" not in new


def test_a_workflow_whose_time_is_up_is_expired_by_the_recover_before_its_job_runs(rt, api, frozen):
    old = make(api, passcode=False)
    link_token(rt, old["id"])
    frozen.advance(days=3)  # no worker: its expire job has not run
    assert Workflow.get_by_id(old["id"]).status == "ACTIVE"
    response = recover(api, old["id"])
    assert response.status_code == 201, response.get_json()
    assert Workflow.get_by_id(old["id"]).status == "EXPIRED"
    assert Workflow.get_by_id(old["id"]).recovered_by == uuid.UUID(response.get_json()["id"])
    moves = [e.data["status"] for e in Event.select().where((Event.type == "linx.workflow-status-changed")
                                                             & (Event.subject_id == old["id"]))]
    assert moves.count("EXPIRED") == 1
    assert Notification.select().where((Notification.workflow == old["id"])
                                       & (Notification.origin == "EXPIRY")).count() == 0  # the new link is the news
    run(rt)  # the expire job, now due, finds it ended
    assert Workflow.get_by_id(old["id"]).status == "EXPIRED"
    assert Workflow.select().where(Workflow.recovered_from == old["id"]).count() == 1


def test_a_recover_body_is_checked_as_an_extend_body_is(rt, api):
    old = make(api)
    post(api, old["id"], "cancel")
    for payload in ({"expireIn": "two"}, {"expireIn": 0}, {"expireInHours": 100000}, {"title": "x"},
                    {"expireIn": 2, "expireInHours": 5}, [2], "2"):
        answers = [api.client.post(f"/v2/linx/workflows/{old['id']}/{action}", json=payload, headers=api.headers())
                   for action in ("recover", "extend")]
        (recovered, extended) = [(a.status_code, a.get_json()["errorCode"],
                                  [(e["path"], e["errorCode"]) for e in a.get_json().get("errors") or []])
                                 for a in answers]
        assert recovered == extended and recovered[0] in (400, 422), (payload, recovered, extended)
    assert Workflow.get_by_id(old["id"]).recovered_by is None


def test_a_parameter_a_kept_step_names_only_in_its_conditions_is_kept(rt, api, frozen, monkeypatch):
    old = make(api, 2, phoneNumber="+14165550100", passcode=False, firstName="Jane")
    link_token(rt, old["id"])
    journey.submit(rt, old["id"], 1, "customer-account",
                   {"firstName": "Jane", "lastName": "Roe", "email": "jane.roe@example.com"})
    stored = Workflow.get_by_id(old["id"])
    assert "firstName" not in recovery.request_for(rt, stored)["parameters"]  # only the replaced step used it
    monkeypatch.setitem(rt.rules.steps["financial-account"], "conditions", [
        {"id": "named-by-first-name", "when": {"firstName": ["Jane"]}, "require": ["financialAccountSubType"],
         "forbid": [], "allow": {}}])
    assert recovery.request_for(rt, stored)["parameters"]["firstName"] == "Jane"
