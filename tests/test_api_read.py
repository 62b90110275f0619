"""Reading workflows: GET one, and the list with search, status, pages and sort."""
import datetime as dt
import json
import re
import uuid
from decimal import Decimal

import pytest

from linx_core import clock
from linx_core.store import models

from .conftest import seed_examples

WORKFLOWS = "/v2/linx/workflows"
ERROR_KEYS = {"timestamp", "traceId", "message", "errorCode", "errors"}
PROBLEM_KEYS = {"path", "message", "errorCode"}
EX1, EX2, EX3, EX4 = 0, 1, 2, 3
JOHN = "8c8cab63-4e53-4acf-9efa-e7324816aa36"


def seed_body(index):
    return json.loads(seed_examples()[index], parse_float=Decimal)


def assert_error_body(response, status):
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:2000])
    body = response.get_json()
    assert set(body) == ERROR_KEYS, body
    assert isinstance(body["message"], str) and body["message"]
    assert re.fullmatch(r"[A-Z][A-Z0-9_]*", body["errorCode"])
    assert body["traceId"] and response.headers["X-Trace-Id"] == body["traceId"]
    assert dt.datetime.fromisoformat(body["timestamp"].replace("Z", "+00:00")).tzinfo is not None
    for problem in body["errors"]:
        assert set(problem) == PROBLEM_KEYS, problem
    return body


@pytest.fixture
def frozen(rt):
    frozen_clock = clock.FrozenClock()
    clock.set_clock(frozen_clock)
    yield frozen_clock
    clock.set_clock(None)


def create(api, index, title=None, **params):
    body = seed_body(index)
    if title is not None:
        body["title"] = title
    for name, value in params.items():
        if value is None:
            body["parameters"].pop(name, None)
        else:
            body["parameters"][name] = value
    response = api.create(body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def listed(api, **query):
    response = api.get(WORKFLOWS, query_string=query)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def ids(page):
    return [w["id"] for w in page["content"]]


# -- one workflow ---------------------------------------------------------------------------


def test_get_workflow_returns_what_was_created_without_the_passcode(api):
    created = create(api, EX4)
    response = api.get(f"{WORKFLOWS}/{created['id']}")
    assert response.status_code == 200
    body = response.get_json()
    assert "passcode" not in body
    assert {k: v for k, v in created.items() if k != "passcode"} == body
    assert body["title"] == "Send a rebate to an existing Financial Account for John Doe"
    assert body["customerId"] == JOHN
    assert body["parameters"]["amount"] == "256.25"
    assert [s["name"] for s in body["steps"]] == ["notification", "lookup-profile", "lookup-financial-account",
                                                   "move-money"]
    assert body["status"] == "CREATED" and body["currentStep"] == 0


def test_get_workflow_accepts_the_id_in_upper_case(api):
    created = create(api, EX1)
    response = api.get(f"{WORKFLOWS}/{created['id'].upper()}")
    assert response.status_code == 200
    assert response.get_json()["id"] == created["id"]


@pytest.mark.parametrize("workflow_id", ["not-a-uuid", "123", "x" * 300, "00000000-0000-0000-0000-00000000000g",
                                         "%00", "%F0%9F%98%80"])
def test_get_workflow_with_a_non_uuid_id_is_404(api, workflow_id):
    body = assert_error_body(api.get(f"{WORKFLOWS}/{workflow_id}"), 404)
    assert body["errorCode"] == "WORKFLOW_NOT_FOUND"


def test_get_unknown_workflow_is_404_like_a_non_uuid(api):
    unknown = assert_error_body(api.get(f"{WORKFLOWS}/{uuid.uuid4()}"), 404)
    malformed = assert_error_body(api.get(f"{WORKFLOWS}/not-a-uuid"), 404)
    assert (unknown["message"], unknown["errorCode"], unknown["errors"]) == (
        malformed["message"], malformed["errorCode"], malformed["errors"])


@pytest.mark.parametrize("written, value", [("256.25", "256.25"), ("100", "100"), ("2.5625E2", "256.25")])
def test_amount_reads_back_as_a_plain_decimal_string(api, written, value):
    raw = seed_examples()[EX3].replace("256.25", written)
    created = api.create(None, raw=raw).get_json()
    shown = api.get(f"{WORKFLOWS}/{created['id']}").get_json()["parameters"]["amount"]
    assert shown == created["parameters"]["amount"]
    assert re.fullmatch(r"\d+(\.\d{1,2})?", shown) and Decimal(shown) == Decimal(value), shown


@pytest.mark.parametrize("written", ["1E2", '"1e2"'])
def test_amount_with_an_exponent_reads_back_without_one(api, written):
    raw = seed_examples()[EX3].replace("256.25", written)
    created = api.create(None, raw=raw).get_json()
    shown = api.get(f"{WORKFLOWS}/{created['id']}").get_json()["parameters"]["amount"]
    assert re.fullmatch(r"\d+(\.\d{1,2})?", shown), shown
    assert Decimal(shown) == 100


# -- search ---------------------------------------------------------------------------------


@pytest.fixture
def library(api, frozen):
    """Four workflows with distinct titles and contacts; two name John Doe through lookup-profile."""
    made = {}
    made["welcome"] = create(api, EX1, title="Welcome aboard", phoneNumber="+16475550001")
    frozen.advance(minutes=1)
    # a workflow for an existing customer goes only to their own number: John Doe's is the one each names
    models.Customer.update(phone_number="+16475550002").where(models.Customer.id == JOHN).execute()
    made["card"] = create(api, EX2, title="Add a card", phoneNumber="+16475550002")
    frozen.advance(minutes=1)
    made["email"] = create(api, EX1, title="Quarterly rebate", channel="EMAIL", phoneNumber=None,
                           email="Pat.Smith@Example.org")
    frozen.advance(minutes=1)
    models.Customer.update(phone_number="+16475550004").where(models.Customer.id == JOHN).execute()
    made["rebate"] = create(api, EX4, title="Rebate for March", phoneNumber="+16475550004")
    return {k: v["id"] for k, v in made.items()}


@pytest.mark.parametrize("term, expected", [
    ("Welcome", ["welcome"]),
    ("welcome", ["welcome"]),
    ("ABOARD", ["welcome"]),
    ("rebate", ["rebate", "email"]),
    ("REBATE", ["rebate", "email"]),
    ("march", ["rebate"]),
    ("+16475550001", ["welcome"]),
    ("5550002", ["card"]),
    ("+1647555", ["rebate", "card", "welcome"]),
    ("pat.smith@example.org", ["email"]),
    ("PAT.SMITH@EXAMPLE.ORG", ["email"]),
    ("example.org", ["email"]),
    ("John Doe", ["rebate", "card"]),
    ("john doe", ["rebate", "card"]),
    ("JOHN", ["rebate", "card"]),
    ("doe", ["rebate", "card"]),
    ("  doe  ", ["rebate", "card"]),
    ("nothing like it", []),
])
def test_search_matches_title_phone_email_and_customer_name_case_insensitively(api, library, term, expected):
    page = listed(api, search=term)
    assert ids(page) == [library[k] for k in expected]
    assert page["totalElements"] == len(expected)


@pytest.mark.parametrize("upper", [False, True], ids=["lower", "upper"])
def test_search_by_id_finds_exactly_that_workflow(api, library, upper):
    wanted = library["card"]
    page = listed(api, search=wanted.upper() if upper else wanted)
    assert ids(page) == [wanted]


def test_blank_search_lists_everything(api, library):
    assert ids(listed(api, search="")) == ids(listed(api))
    assert ids(listed(api, search="   ")) == ids(listed(api))
    assert listed(api, search=" ")["totalElements"] == 4


def test_search_with_percent_and_underscore_is_literal(api, frozen):
    wanted = {}
    for title in ("100% rebate", "1000 rebate", "a_b payout", "axb payout", "back\\slash"):
        wanted[title] = create(api, EX1, title=title)["id"]
        frozen.advance(minutes=1)
    assert ids(listed(api, search="100%")) == [wanted["100% rebate"]]
    assert ids(listed(api, search="%")) == [wanted["100% rebate"]]
    assert ids(listed(api, search="a_b")) == [wanted["a_b payout"]]
    assert ids(listed(api, search="_")) == [wanted["a_b payout"]]
    assert ids(listed(api, search="\\")) == [wanted["back\\slash"]]
    assert ids(listed(api, search="%%")) == []
    assert ids(listed(api, search="1_00")) == []
    assert listed(api, search="100")["totalElements"] == 2


@pytest.mark.parametrize("term", ["\x00", "rebate\x00"])
def test_search_with_a_nul_character_is_refused_as_400(api, library, term):
    response = api.get(WORKFLOWS, query_string={"search": term})
    assert response.status_code < 500
    body = assert_error_body(response, 400)
    assert "query.search" in [p["path"] for p in body["errors"]]


# -- status filter --------------------------------------------------------------------------


def test_status_filter_lists_only_that_status(api, library):
    models.Workflow.update(status="CANCELLED").where(
        models.Workflow.id.in_([library["welcome"], library["rebate"]])).execute()
    assert ids(listed(api, status="CANCELLED")) == [library["rebate"], library["welcome"]]
    assert ids(listed(api, status="CREATED")) == [library["email"], library["card"]]
    assert ids(listed(api, status="EXPIRED")) == []
    assert listed(api, status="EXPIRED")["totalElements"] == 0
    page = listed(api, status="CANCELLED", search="rebate")
    assert ids(page) == [library["rebate"]] and page["totalElements"] == 1


# -- pages ----------------------------------------------------------------------------------


@pytest.fixture
def five(api, frozen):
    made = []
    for i in range(5):
        made.append(create(api, EX1, title=f"Workflow {i}")["id"])
        frozen.advance(seconds=30)
    return made


def test_pages_give_size_total_elements_and_total_pages(api, five):
    newest_first = list(reversed(five))
    seen = []
    for number, expected in ((1, newest_first[0:2]), (2, newest_first[2:4]), (3, newest_first[4:5])):
        page = listed(api, page=number, size=2)
        assert (page["page"], page["size"], page["totalElements"], page["totalPages"]) == (number, 2, 5, 3)
        assert ids(page) == expected
        seen += ids(page)
    assert seen == newest_first
    beyond = listed(api, page=4, size=2)
    assert beyond["content"] == [] and beyond["totalElements"] == 5 and beyond["totalPages"] == 3


def test_default_page_is_1_of_size_20(api, five):
    page = listed(api)
    assert (page["page"], page["size"], page["totalElements"], page["totalPages"]) == (1, 20, 5, 1)
    assert len(page["content"]) == 5


def test_page_size_at_its_bounds(api, five):
    assert listed(api, size=1)["totalPages"] == 5
    assert listed(api, size=5)["totalPages"] == 1
    page = listed(api, size=100)
    assert page["size"] == 100 and len(page["content"]) == 5


def test_empty_list_has_zero_pages(api):
    page = listed(api)
    assert page == {"content": [], "page": 1, "size": 20, "totalElements": 0, "totalPages": 0}


def test_list_items_have_the_same_shape_as_get(api, five):
    item = listed(api, size=1)["content"][0]
    assert item == api.get(f"{WORKFLOWS}/{item['id']}").get_json()
    assert "passcode" not in item


# -- sort -----------------------------------------------------------------------------------


def test_default_sort_is_newest_first(api, frozen):
    made = []
    for title in ("first", "second", "third", "fourth"):
        made.append(create(api, EX1, title=title)["id"])
        frozen.advance(minutes=5)
    assert ids(listed(api)) == list(reversed(made))
    assert ids(listed(api, sort="createdAt,desc")) == list(reversed(made))
    assert ids(listed(api, sort="createdAt,asc")) == made


def test_newest_first_holds_across_a_day_boundary(api, frozen):
    older = create(api, EX1, title="late in the day")["id"]
    frozen.advance(hours=20)
    newer = create(api, EX1, title="next morning")["id"]
    assert ids(listed(api)) == [newer, older]


def test_sort_by_title(api, frozen):
    made = {}
    for title in ("Bravo", "Charlie", "Alpha", "Delta"):
        made[title] = create(api, EX1, title=title)["id"]
        frozen.advance(minutes=1)
    assert ids(listed(api, sort="title,asc")) == [made[t] for t in ("Alpha", "Bravo", "Charlie", "Delta")]
    assert ids(listed(api, sort="title,desc")) == [made[t] for t in ("Delta", "Charlie", "Bravo", "Alpha")]
    page = listed(api, sort="title,asc", size=2, page=2)
    assert ids(page) == [made["Charlie"], made["Delta"]]


# -- bad query values -----------------------------------------------------------------------


@pytest.mark.parametrize("query, path", [
    ({"page": "0"}, "query.page"),
    ({"page": "-1"}, "query.page"),
    ({"page": "abc"}, "query.page"),
    ({"page": "1.5"}, "query.page"),
    ({"page": ""}, "query.page"),
    ({"page": "9999999999"}, "query.page"),
    ({"size": "0"}, "query.size"),
    ({"size": "101"}, "query.size"),
    ({"size": "1000"}, "query.size"),
    ({"size": "abc"}, "query.size"),
    ({"size": "\u0662"}, "query.size"),
    ({"sort": "nope"}, "query.sort"),
    ({"sort": "title,up"}, "query.sort"),
    ({"sort": "passcodeHash,asc"}, "query.sort"),
    ({"sort": "created_at"}, "query.sort"),
    ({"status": "BOGUS"}, "query.status"),
    ({"status": "created"}, "query.status"),
    ({"search": "x" * 201}, "query.search"),
    ({"unknown": "1"}, "query.unknown"),
    ({"pageSize": "10"}, "query.pageSize"),
])
def test_bad_query_value_is_400_naming_the_query_parameter(api, query, path):
    response = api.get(WORKFLOWS, query_string=query)
    body = assert_error_body(response, 400)
    assert path in [p["path"] for p in body["errors"]], body


def test_several_bad_query_values_give_one_400_naming_only_bad_ones(api):
    bad = {"page": "0", "size": "1000", "sort": "nope", "status": "BOGUS", "foo": "bar"}
    body = assert_error_body(api.get(WORKFLOWS, query_string=bad), 400)
    paths = {p["path"] for p in body["errors"]}
    assert paths and paths <= {f"query.{name}" for name in bad}, paths


def test_value_checks_report_every_bad_value_together(api):
    bad = {"page": "0", "size": "1000", "sort": "nope", "status": "BOGUS"}
    body = assert_error_body(api.get(WORKFLOWS, query_string=bad), 400)
    assert {p["path"] for p in body["errors"]} == {f"query.{name}" for name in bad}


def test_list_without_a_key_is_401(client, demo):
    assert_error_body(client.get(WORKFLOWS), 401)


def test_amounts_read_back_in_the_currency_form(api):
    body = json.loads(seed_examples()[3])
    raw = json.dumps(body).replace("256.25", "256.2500000")
    assert api.create(None, raw=raw).get_json()["parameters"]["amount"] == "256.25"
