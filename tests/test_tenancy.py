"""Tenant isolation on every endpoint, authentication, and the error body for 401, 404 and 405.

Demo Co and Other Co each have a customer, a card and a bank account. Neither can
see nor name the other's: another business's ids look exactly like ids that do not exist.
"""
import base64
import datetime as dt
import json
import re
import uuid
from decimal import Decimal

import pytest

from linx_core.store import models

from .conftest import Api, seed_examples

ERROR_KEYS = {"timestamp", "traceId", "message", "errorCode", "errors"}
PROBLEM_KEYS = {"path", "message", "errorCode"}
WORKFLOWS = "/v2/linx/workflows"
EX1, EX2, EX3, EX4 = 0, 1, 2, 3


def seed_body(index):
    return json.loads(seed_examples()[index], parse_float=Decimal)


def assert_error_body(response, status):
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:2000])
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == ERROR_KEYS, body
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["errorCode"], str) and re.fullmatch(r"[A-Z][A-Z0-9_]*", body["errorCode"])
    assert isinstance(body["traceId"], str) and body["traceId"]
    assert response.headers["X-Trace-Id"] == body["traceId"]
    assert dt.datetime.fromisoformat(body["timestamp"].replace("Z", "+00:00")).tzinfo is not None
    assert isinstance(body["errors"], list)
    for problem in body["errors"]:
        assert set(problem) == PROBLEM_KEYS, problem
        assert all(isinstance(problem[k], str) and problem[k] for k in PROBLEM_KEYS), problem
    return body


def same_error(body):
    """What must not tell two errors apart: all but the timestamp and the trace id."""
    return {k: v for k, v in body.items() if k not in ("timestamp", "traceId")}


@pytest.fixture
def demo_api(api):
    return api


@pytest.fixture
def other_api(client, other):
    return Api(client, other["key"])


def other_workflow_body(other):
    """Seed example 4 naming Other Co's own customer, card and bank account."""
    body = seed_body(EX4)
    body["parameters"].update(customerId=str(other["customer"].id),
                              customerFinancialAccountId=str(other["card"].id),
                              baFinancialAccountId=str(other["ba"].id))
    body["title"] = "Other Co pays Olga"
    body["parameters"]["phoneNumber"] = "+14165550123"
    return body


@pytest.fixture
def other_workflow(other_api, other):
    response = other_api.create(other_workflow_body(other))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


@pytest.fixture
def demo_workflow(demo_api):
    response = demo_api.create(None, raw=seed_examples()[EX4])
    assert response.status_code == 201, response.get_json()
    return response.get_json()


# -- reading one workflow -------------------------------------------------------------------


def test_other_business_can_read_its_own_workflow(other_api, other_workflow):
    response = other_api.get(f"{WORKFLOWS}/{other_workflow['id']}")
    assert response.status_code == 200
    assert response.get_json()["id"] == other_workflow["id"]


def test_get_another_business_workflow_is_404_like_a_random_uuid(demo_api, other_workflow):
    theirs = demo_api.get(f"{WORKFLOWS}/{other_workflow['id']}")
    unknown = demo_api.get(f"{WORKFLOWS}/{uuid.uuid4()}")
    theirs_body = assert_error_body(theirs, 404)
    unknown_body = assert_error_body(unknown, 404)
    assert same_error(theirs_body) == same_error(unknown_body)
    assert theirs_body["errorCode"] == "WORKFLOW_NOT_FOUND"
    assert other_workflow["id"] not in theirs.get_data(as_text=True)


def test_isolation_holds_in_both_directions(other_api, demo_workflow, other_workflow):
    theirs = other_api.get(f"{WORKFLOWS}/{demo_workflow['id']}")
    unknown = other_api.get(f"{WORKFLOWS}/{uuid.uuid4()}")
    assert same_error(assert_error_body(theirs, 404)) == same_error(assert_error_body(unknown, 404))


def test_get_with_uppercase_id_of_another_business_is_still_404(demo_api, other_workflow):
    response = demo_api.get(f"{WORKFLOWS}/{other_workflow['id'].upper()}")
    assert_error_body(response, 404)


# -- listing and searching ------------------------------------------------------------------


def test_list_never_shows_another_business_workflows(demo_api, other_api, demo_workflow, other_workflow):
    page = demo_api.get(WORKFLOWS).get_json()
    assert [w["id"] for w in page["content"]] == [demo_workflow["id"]]
    assert page["totalElements"] == 1 and page["totalPages"] == 1
    page = other_api.get(WORKFLOWS).get_json()
    assert [w["id"] for w in page["content"]] == [other_workflow["id"]]
    assert page["totalElements"] == 1


@pytest.mark.parametrize("term", ["id", "Other Co pays", "olga", "Other", "+14165550123", "4165550123"])
def test_search_never_finds_another_business_workflows(demo_api, other_workflow, term):
    search = other_workflow["id"] if term == "id" else term
    for status in (None, "CREATED"):
        query = {"search": search}
        if status:
            query["status"] = status
        response = demo_api.get(WORKFLOWS, query_string=query)
        assert response.status_code == 200
        page = response.get_json()
        assert page["content"] == [] and page["totalElements"] == 0 and page["totalPages"] == 0


def test_search_terms_do_find_the_owner_own_workflow(other_api, other_workflow):
    """The terms the isolation test uses do match, for the business that owns the workflow."""
    for term in (other_workflow["id"], "Other Co pays", "olga", "+14165550123"):
        page = other_api.get(WORKFLOWS, query_string={"search": term}).get_json()
        assert [w["id"] for w in page["content"]] == [other_workflow["id"]], term


# -- the lifecycle endpoints -----------------------------------------------------------------

LIFECYCLE = [
    ("POST", "cancel", None),
    ("POST", "archive", None),
    ("POST", "extend", {"expireIn": 3}),
    ("POST", "extend", {"expireIn": "not a number"}),
    ("POST", "resend", None),
    ("GET", "notifications/history", None),
    ("POST", "recover", None),
    ("POST", "recover", {"expireIn": 3}),
    ("POST", "recover", {"expireIn": "not a number", "title": "x"}),
]
LIFECYCLE_IDS = ["cancel", "archive", "extend", "extend-bad-body", "resend", "notification-history", "recover",
                 "recover-expiry", "recover-bad-body"]


def _lifecycle(client, key, method, workflow_id, op, body):
    kwargs = {"headers": {"Authorization": f"Bearer {key}"} if key else {}}
    if method == "POST":
        kwargs.update(data=json.dumps(body) if body is not None else None, content_type="application/json")
    return client.open(f"{WORKFLOWS}/{workflow_id}/{op}", method=method, **kwargs)


@pytest.mark.parametrize("method, op, body", LIFECYCLE, ids=LIFECYCLE_IDS)
def test_lifecycle_on_another_business_workflow_is_404_like_a_random_uuid(client, demo, other_workflow,
                                                                          method, op, body):
    before = models.Workflow.get_by_id(other_workflow["id"])
    notifications_before = models.Job.select().count()
    theirs = _lifecycle(client, demo[1], method, other_workflow["id"], op, body)
    unknown = _lifecycle(client, demo[1], method, uuid.uuid4(), op, body)
    assert same_error(assert_error_body(theirs, 404)) == same_error(assert_error_body(unknown, 404))
    after = models.Workflow.get_by_id(other_workflow["id"])
    assert (after.status, after.expire_at, after.updated_at, after.passcode_hash) == (
        before.status, before.expire_at, before.updated_at, before.passcode_hash)
    assert models.Job.select().count() == notifications_before


@pytest.mark.parametrize("method, op, body", LIFECYCLE, ids=LIFECYCLE_IDS)
def test_lifecycle_without_a_key_is_401(client, demo, demo_workflow, method, op, body):
    response = _lifecycle(client, None, method, demo_workflow["id"], op, body)
    assert_error_body(response, 401)
    assert models.Workflow.get_by_id(demo_workflow["id"]).status == "CREATED"


@pytest.mark.parametrize("method, op, body", LIFECYCLE, ids=LIFECYCLE_IDS)
def test_lifecycle_with_another_business_key_on_an_unknown_path_shape_is_404(client, other, method, op, body):
    response = _lifecycle(client, other["key"], method, "not-a-uuid", op, body)
    assert_error_body(response, 404)


# -- naming another business's data in a new workflow ---------------------------------------


def _create_error(api, index, **params):
    body = seed_body(index)
    body["parameters"].update(params)
    response = api.create(body)
    return assert_error_body(response, 422)


@pytest.mark.parametrize("index, param, path, key", [
    (EX2, "customerId", "parameters.customerId", "customer"),
    (EX4, "customerId", "parameters.customerId", "customer"),
    (EX4, "customerFinancialAccountId", "parameters.customerFinancialAccountId", "card"),
    (EX3, "baFinancialAccountId", "parameters.baFinancialAccountId", "ba"),
    (EX4, "baFinancialAccountId", "parameters.baFinancialAccountId", "ba"),
], ids=["customer-lookup-profile", "customer-move-money", "customer-card", "business-account-new-card",
        "business-account-existing-card"])
def test_naming_another_business_id_is_422_like_a_random_uuid(demo_api, other, index, param, path, key):
    theirs = _create_error(demo_api, index, **{param: str(other[key].id)})
    unknown = _create_error(demo_api, index, **{param: str(uuid.uuid4())})
    assert same_error(theirs) == same_error(unknown)
    assert theirs["errorCode"] == "RULE_VIOLATION"
    assert [p["path"] for p in theirs["errors"]] == [path]
    assert str(other[key].id) not in json.dumps(theirs)


def test_naming_all_of_another_business_ids_is_like_naming_random_ones(demo_api, other):
    theirs = _create_error(demo_api, EX4, customerId=str(other["customer"].id),
                           customerFinancialAccountId=str(other["card"].id), baFinancialAccountId=str(other["ba"].id))
    unknown = _create_error(demo_api, EX4, customerId=str(uuid.uuid4()),
                            customerFinancialAccountId=str(uuid.uuid4()), baFinancialAccountId=str(uuid.uuid4()))
    assert same_error(theirs) == same_error(unknown)
    assert {p["path"] for p in theirs["errors"]} >= {"parameters.customerId", "parameters.baFinancialAccountId"}


def test_other_business_ids_are_valid_for_their_owner(other_api, other):
    """The ids refused above are real: Other Co itself may use them."""
    response = other_api.create(other_workflow_body(other))
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["customerId"] == str(other["customer"].id)


def test_demo_card_with_other_business_customer_is_refused(other_api, other):
    """Other Co naming its own customer with Demo Co's card: the card is not found."""
    body = other_workflow_body(other)
    body["parameters"]["customerFinancialAccountId"] = "bbbf2fbf-81d4-4f2d-8f80-201bcca921d4"
    theirs = assert_error_body(other_api.create(body), 422)
    body["parameters"]["customerFinancialAccountId"] = str(uuid.uuid4())
    unknown = assert_error_body(other_api.create(body), 422)
    assert same_error(theirs) == same_error(unknown)
    assert [p["path"] for p in theirs["errors"]] == ["parameters.customerFinancialAccountId"]


def test_refused_creates_store_no_workflow(demo_api, other):
    for index, param, key in ((EX2, "customerId", "customer"), (EX4, "customerFinancialAccountId", "card"),
                              (EX3, "baFinancialAccountId", "ba")):
        body = seed_body(index)
        body["parameters"][param] = str(other[key].id)
        assert demo_api.create(body).status_code == 422
    assert models.Workflow.select().count() == 0


# -- idempotency keys are per business ------------------------------------------------------


def test_same_idempotency_key_in_two_businesses_does_not_replay_the_other(demo_api, other_api):
    key = {"Idempotency-Key": "shared-key-123456"}
    first = demo_api.create(None, raw=seed_examples()[EX1], headers=key)
    second = other_api.create(None, raw=seed_examples()[EX1], headers=key)
    assert first.status_code == 201 and second.status_code == 201
    assert "Idempotent-Replayed" not in second.headers
    assert first.get_json()["id"] != second.get_json()["id"]
    assert other_api.get(f"{WORKFLOWS}/{second.get_json()['id']}").status_code == 200
    assert other_api.get(f"{WORKFLOWS}/{first.get_json()['id']}").status_code == 404
    replay = other_api.create(None, raw=seed_examples()[EX1], headers=key)
    assert replay.headers.get("Idempotent-Replayed") == "true"
    assert replay.get_json()["id"] == second.get_json()["id"]


# -- authentication -------------------------------------------------------------------------

ENDPOINTS = [
    ("POST", WORKFLOWS),
    ("GET", WORKFLOWS),
    ("GET", WORKFLOWS + "/{id}"),
    ("GET", WORKFLOWS + "/not-a-uuid"),
]


def _bad_headers(key):
    basic = base64.b64encode(f"{key}:".encode()).decode()
    return {
        "missing": {},
        "empty": {"Authorization": ""},
        "bearer-without-key": {"Authorization": "Bearer"},
        "bearer-with-blank-key": {"Authorization": "Bearer    "},
        "key-without-scheme": {"Authorization": key},
        "basic-scheme": {"Authorization": f"Basic {basic}"},
        "basic-scheme-raw-key": {"Authorization": f"Basic {key}"},
        "token-scheme": {"Authorization": f"Token {key}"},
        "wrong-key": {"Authorization": "Bearer lx_live_" + "0" * 40},
        "truncated-key": {"Authorization": f"Bearer {key[:-1]}"},
        "key-with-suffix": {"Authorization": f"Bearer {key}x"},
        "very-long-key": {"Authorization": "Bearer " + "k" * 5000},
        "non-ascii-key": {"Authorization": "Bearer cl\u00e9"},
        "key-in-other-header": {"X-Api-Key": key},
    }


BAD_AUTH = list(_bad_headers("k"))


@pytest.mark.parametrize("method, path", ENDPOINTS, ids=["create", "list", "get", "get-non-uuid"])
@pytest.mark.parametrize("variant", BAD_AUTH)
def test_requests_without_a_valid_api_key_get_401(client, demo, demo_workflow, method, path, variant):
    headers = _bad_headers(demo[1])[variant]
    url = path.format(id=demo_workflow["id"])
    kwargs = {"headers": headers}
    if method == "POST":
        kwargs.update(data=seed_examples()[EX1], content_type="application/json")
    response = client.open(url, method=method, **kwargs)
    body = assert_error_body(response, 401)
    assert body["errorCode"] in ("MISSING_API_KEY", "INVALID_API_KEY", "UNAUTHORIZED")
    assert demo_workflow["id"] not in response.get_data(as_text=True)


def test_401_comes_before_404_and_422(client, demo):
    """Without a key, nothing is revealed: not whether a workflow exists, not whether the body is valid."""
    unknown = client.get(f"{WORKFLOWS}/{uuid.uuid4()}")
    assert_error_body(unknown, 401)
    bad_body = client.post(WORKFLOWS, data="{", content_type="application/json")
    assert_error_body(bad_body, 401)


def test_unauthorised_create_stores_nothing(client, demo):
    for headers in _bad_headers(demo[1]).values():
        client.post(WORKFLOWS, data=seed_examples()[EX1], content_type="application/json", headers=headers)
    assert models.Workflow.select().count() == 0


def test_bearer_scheme_is_case_insensitive_and_the_key_works(client, demo):
    for scheme in ("Bearer", "bearer", "BEARER"):
        response = client.get(WORKFLOWS, headers={"Authorization": f"{scheme} {demo[1]}"})
        assert response.status_code == 200, scheme


def test_revoked_key_gets_401(client, demo):
    models.ApiKey.update(revoked_at=dt.datetime.now(dt.UTC)).execute()
    response = client.get(WORKFLOWS, headers={"Authorization": f"Bearer {demo[1]}"})
    assert_error_body(response, 401)


def test_each_business_key_sees_only_its_own_business(client, demo, other, demo_workflow, other_workflow):
    for key, mine, theirs in ((demo[1], demo_workflow, other_workflow), (other["key"], other_workflow, demo_workflow)):
        headers = {"Authorization": f"Bearer {key}"}
        assert client.get(f"{WORKFLOWS}/{mine['id']}", headers=headers).status_code == 200
        assert client.get(f"{WORKFLOWS}/{theirs['id']}", headers=headers).status_code == 404


# -- unknown paths and wrong methods --------------------------------------------------------


@pytest.mark.parametrize("path", ["/nope", "/v2", "/v2/linx", "/v2/linx/nope", "/v2/linx/workflows/x/steps",
                                  "/v1/linx/workflows", "/v2/linx/workflows/"])
def test_unknown_path_is_404_with_the_error_body(client, demo, path):
    response = client.get(path, headers={"Authorization": f"Bearer {demo[1]}"})
    body = assert_error_body(response, 404)
    assert body["errorCode"] == "NOT_FOUND"


def test_the_root_is_a_page_not_a_404(client):
    """``GET /`` answers a small HTML page (``tests/test_docs.py``); a POST there is still refused."""
    response = client.get("/")
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert client.post("/", data="{}", content_type="application/json").status_code == 405


def test_unknown_path_without_a_key_is_404_with_the_error_body(client):
    body = assert_error_body(client.post("/v2/linx/nothing-here", data="{}", content_type="application/json"), 404)
    assert body["errors"] == []


@pytest.mark.parametrize("method, path, allowed", [
    ("PUT", WORKFLOWS, {"GET", "POST"}),
    ("PATCH", WORKFLOWS, {"GET", "POST"}),
    ("DELETE", WORKFLOWS, {"GET", "POST"}),
    ("POST", WORKFLOWS + "/{id}", {"GET"}),
    ("PUT", WORKFLOWS + "/{id}", {"GET"}),
    ("DELETE", WORKFLOWS + "/{id}", {"GET"}),
    ("PATCH", WORKFLOWS + "/{id}", {"GET"}),
    ("POST", "/v2/openapi.json", {"GET"}),
])
@pytest.mark.parametrize("authorised", [True, False], ids=["with-key", "without-key"])
def test_wrong_method_is_405_with_the_error_body_and_allow(client, demo, demo_workflow, method, path, allowed,
                                                           authorised):
    headers = {"Authorization": f"Bearer {demo[1]}"} if authorised else {}
    response = client.open(path.format(id=demo_workflow["id"]), method=method, headers=headers,
                           data="{}", content_type="application/json")
    body = assert_error_body(response, 405)
    assert body["errorCode"] == "METHOD_NOT_ALLOWED"
    allow = {m.strip() for m in response.headers["Allow"].split(",")}
    assert allowed <= allow and method not in allow


def test_wrong_method_on_another_business_workflow_is_the_same_405(client, demo, other_workflow):
    headers = {"Authorization": f"Bearer {demo[1]}"}
    theirs = client.delete(f"{WORKFLOWS}/{other_workflow['id']}", headers=headers)
    unknown = client.delete(f"{WORKFLOWS}/{uuid.uuid4()}", headers=headers)
    assert same_error(assert_error_body(theirs, 405)) == same_error(assert_error_body(unknown, 405))
    assert models.Workflow.get_by_id(other_workflow["id"]).status == "CREATED"
