"""``GET /v2/events``: the event log, oldest first, filtered by type and time, paginated, per business."""
import datetime as dt
import json
import uuid
from decimal import Decimal

import pytest

from gateway_app import create_app
from linx_core import clock, events
from linx_core.store import db

from .conftest import Api, seed_examples

EVENTS = "/v2/events"
ERROR_KEYS = {"timestamp", "traceId", "message", "errorCode", "errors"}


@pytest.fixture
def app(rt):
    app = create_app(runtime=rt)
    app.config["TESTING"] = True
    return app


@pytest.fixture
def clk(rt):
    frozen = clock.FrozenClock(dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC))
    clock.set_clock(frozen)
    return frozen


@pytest.fixture
def other_api(client, other):
    return Api(client, other["key"])


def record(rt, business, type="customer.status-updated", data=None):
    with db.atomic():
        return events.record(rt, business.id, type, uuid.uuid4(), data or {"status": "ACTIVE"})


def listing(api, **query):
    response = api.get(EVENTS, query_string=query)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def ids(page):
    return [e["id"] for e in page["content"]]


def assert_error(response, status, path, code=None):
    assert response.status_code == status, response.get_json()
    body = response.get_json()
    assert set(body) == ERROR_KEYS
    assert path in [e["path"] for e in body["errors"]], body
    if code:
        assert code in [e["errorCode"] for e in body["errors"]], body
    return body


def iso(value):
    return value.isoformat().replace("+00:00", "Z")


def test_lists_the_business_events_oldest_first_as_webhook_envelopes(rt, api, demo, clk):
    created = api.create(json.loads(seed_examples()[0], parse_float=Decimal))
    assert created.status_code == 201
    clk.advance(minutes=1)
    account = record(rt, demo[0], "financial-account.state-updated", {"state": "ACTIVE", "last4": "5556"})
    clk.advance(minutes=1)
    customer = record(rt, demo[0])

    page = listing(api)
    assert {k: page[k] for k in ("page", "size", "totalElements", "totalPages")} == {
        "page": 1, "size": 20, "totalElements": 3, "totalPages": 1}
    first, second, third = page["content"]
    assert set(first) == {"id", "type", "createdAt", "data"}
    assert first["type"] == "linx.workflow-status-changed"
    assert first["data"]["workflowId"] == created.get_json()["id"] and first["data"]["status"] == "CREATED"
    assert first["createdAt"] == "2026-03-01T09:00:00Z"
    assert second == {"id": str(account.id), "type": "financial-account.state-updated",
                      "createdAt": "2026-03-01T09:01:00Z", "data": {"state": "ACTIVE", "last4": "5556"}}
    assert third["id"] == str(customer.id)


def test_pages_hold_every_event_once_in_order(rt, api, demo, clk):
    made = []
    for _ in range(25):
        made.append(str(record(rt, demo[0]).id))
        clk.advance(seconds=30)
    pages = [listing(api, size=10, page=n) for n in (1, 2, 3)]
    assert [len(p["content"]) for p in pages] == [10, 10, 5]
    assert all(p["totalElements"] == 25 and p["totalPages"] == 3 and p["size"] == 10 for p in pages)
    assert [p["page"] for p in pages] == [1, 2, 3]
    assert sum((ids(p) for p in pages), []) == made
    beyond = listing(api, size=10, page=4)
    assert beyond["content"] == [] and beyond["totalElements"] == 25
    assert ids(listing(api)) == made[:20]
    assert ids(listing(api, size=rt.settings.page_size_max)) == made


def test_events_at_the_same_instant_page_deterministically(rt, api, demo, clk):
    made = {str(record(rt, demo[0]).id) for _ in range(5)}  # the frozen clock gives them one createdAt
    seen = sum((ids(listing(api, size=2, page=n)) for n in (1, 2, 3)), [])
    assert len(seen) == 5 and set(seen) == made
    assert seen == sum((ids(listing(api, size=2, page=n)) for n in (1, 2, 3)), [])


def test_filter_by_type(rt, api, demo, clk):
    status = record(rt, demo[0], "linx.workflow-status-changed", {"status": "ACTIVE"})
    account = record(rt, demo[0], "financial-account.state-updated")
    clk.advance(seconds=1)
    customer = record(rt, demo[0], "customer.status-updated")
    assert ids(listing(api, type="financial-account.state-updated")) == [str(account.id)]
    both = listing(api, type="customer.status-updated,linx.workflow-status-changed")
    assert set(ids(both)) == {str(status.id), str(customer.id)} and both["totalElements"] == 2
    repeated = api.get(EVENTS, query_string=[("type", "customer.status-updated"),
                                             ("type", "financial-account.state-updated")]).get_json()
    assert set(ids(repeated)) == {str(account.id), str(customer.id)}
    assert listing(api, type="transactions.status-changed")["content"] == []
    assert_error(api.get(EVENTS, query_string={"type": "linx.nope"}), 400, "query.type", "NOT_ALLOWED")


def test_since_is_inclusive_and_until_exclusive(rt, api, demo, clk):
    start = clock.now()
    made = []
    for _ in range(5):
        made.append(str(record(rt, demo[0]).id))
        clk.advance(minutes=1)
    t1, t3 = start + dt.timedelta(minutes=1), start + dt.timedelta(minutes=3)
    assert ids(listing(api, since=iso(t1), until=iso(t3))) == made[1:3]
    assert ids(listing(api, since=iso(t3))) == made[3:]
    assert ids(listing(api, until=iso(t1))) == made[:1]
    # the same instants written with an offset, with an unescaped "+", and without an offset (UTC)
    assert ids(listing(api, since="2026-03-01T11:01:00+02:00")) == made[1:]
    assert ids(api.get(EVENTS + "?since=2026-03-01T11:01:00+02:00").get_json()) == made[1:]
    assert ids(listing(api, since="2026-03-01T09:01:00")) == made[1:]
    assert listing(api, since=iso(t3), until=iso(t1))["content"] == []


def test_catching_up_after_downtime_with_since_misses_nothing(rt, api, demo, clk):
    made = []
    for i in range(7):
        made.append(str(record(rt, demo[0]).id))
        if i % 2:
            clk.advance(seconds=10)
    seen, since = [], None
    for _ in range(20):
        query = {"size": 3}
        if since:
            query["since"] = since
        page = listing(api, **query)
        fresh = [e for e in page["content"] if e["id"] not in seen]
        if not fresh:
            break
        seen += [e["id"] for e in fresh]
        since = page["content"][-1]["createdAt"]
    assert sorted(seen) == sorted(made) and len(seen) == len(set(seen))


@pytest.mark.parametrize("query,path,code", [
    ({"since": "yesterday"}, "query.since", "INVALID_DATE_TIME"),
    ({"until": "2026-13-01T00:00:00Z"}, "query.until", "INVALID_DATE_TIME"),
    ({"page": "0"}, "query.page", "OUT_OF_RANGE"),
    ({"page": "abc"}, "query.page", "INVALID_TYPE"),
    ({"size": "0"}, "query.size", "OUT_OF_RANGE"),
    ({"size": "101"}, "query.size", "OUT_OF_RANGE"),
    ({"size": "-1"}, "query.size", "INVALID_TYPE"),
    ({"sort": "createdAt"}, "query.sort", "UNKNOWN_FIELD"),
])
def test_bad_queries_are_400_with_the_path(api, query, path, code):
    assert_error(api.get(EVENTS, query_string=query), 400, path, code)


def test_needs_an_api_key(client, demo):
    response = client.get(EVENTS)
    assert response.status_code == 401 and set(response.get_json()) == ERROR_KEYS


def test_another_business_events_are_never_listed(rt, api, other_api, demo, other, clk):
    mine = record(rt, demo[0])
    theirs = record(rt, other["business"])
    clk.advance(seconds=1)
    their_account = record(rt, other["business"], "financial-account.state-updated")
    assert ids(listing(api)) == [str(mine.id)]
    assert listing(api, type="financial-account.state-updated")["content"] == []
    assert listing(api, since=iso(clock.now()))["content"] == []
    listed = [e["id"] for e in listing(other_api)["content"] if not e["type"].startswith("linx.api-key-")]
    assert listed == [str(theirs.id), str(their_account.id)]  # (its first key's issue is its own event too)


@pytest.mark.parametrize("since", ["0001-01-01T00:00:00+23:59", "9999-12-31T23:59:59-23:59"])
def test_event_times_out_of_range_are_400(api, since):
    response = api.client.get("/v2/events", query_string={"since": since}, headers=api.headers())
    assert response.status_code == 400 and response.get_json()["errors"][0]["path"] == "query.since"
