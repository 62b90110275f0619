"""Message limits (issue 12, item 2) and the database's rate counters (item 11), on both backends.

Per recipient (a phone number or an email address, across all of one business's workflows) in an hour and a
day, and per business in a day, from the rule files' ``messageLimits``; only accepted creates and resends
count; a request over a limit gets 429, ``Retry-After`` and an errorCode, and nothing is stored. The counters
are rows every process shares: two apps on one database (two web processes) count as one.
"""
import json
import threading

import pytest
import requests

from linx_core import clock
from linx_core.clock import FrozenClock
from linx_core.services import limits
from linx_core.services.businesses import create_business
from linx_core.store.models import Event, Job, Notification, RateCounter, Workflow

from .conftest import Api, make_app, seed_examples

PHONE = "+16471234567"  # the seeds' number


@pytest.fixture
def frozen():
    c = FrozenClock()
    clock.set_clock(c)
    yield c
    clock.set_clock(None)


@pytest.fixture
def small(rt, monkeypatch):
    """Smaller limits than the shipped ones (3 an hour, 5 a day per recipient; 8 a day per business), as an
    admin would write them in rules/limits.yaml."""
    rules = rt.rules.message_limits
    monkeypatch.setitem(rules["recipient"], "perHour", 3)
    monkeypatch.setitem(rules["recipient"], "perDay", 5)
    monkeypatch.setitem(rules["business"], "perDay", 8)
    return rules


def body(index=0, **parameters):
    data = json.loads(seed_examples()[index])
    data["parameters"].update(parameters)
    data["parameters"] = {k: v for k, v in data["parameters"].items() if v is not None}
    return data


def stored():
    """What the creates and resends left: workflows, notifications, events, jobs."""
    return (Workflow.select().count(), Notification.select().count(), Event.select().count(), Job.select().count())


def refused(response, code):
    assert response.status_code == 429, response.get_json()
    data = response.get_json()
    assert data["errorCode"] == code and data["message"]
    wait = int(response.headers["Retry-After"])
    assert wait >= 1
    return wait


# -- per recipient -----------------------------------------------------------------------------------------

def test_the_shipped_limit_lets_20_messages_an_hour_reach_one_number_and_refuses_the_21st(rt, api, frozen):
    assert rt.rules.message_limits == {"recipient": {"perHour": 20, "perDay": 50}, "business": {"perDay": 25000}}
    for _ in range(20):
        assert api.create(body()).status_code == 201
    before = stored()
    wait = refused(api.create(body()), "RECIPIENT_LIMIT")
    assert wait == 3600  # the hour from the first message (the clock stands still)
    assert stored() == before  # nothing stored
    assert api.create(body(phoneNumber="+16471234568")).status_code == 201  # another number is another count


def test_the_hour_then_the_day_limit_a_recipient(api, small, frozen):
    for _ in range(3):
        assert api.create(body()).status_code == 201
    assert refused(api.create(body()), "RECIPIENT_LIMIT") == 3600
    frozen.advance(minutes=59)
    assert refused(api.create(body()), "RECIPIENT_LIMIT") == 60
    frozen.advance(minutes=1)  # a new hour: 2 more make the day's 5
    assert [api.create(body()).status_code for _ in range(3)] == [201, 201, 429]
    frozen.advance(hours=1)
    response = api.create(body())
    assert refused(response, "RECIPIENT_LIMIT") == 22 * 3600  # the day from the first message
    assert "day" in response.get_json()["message"]
    frozen.advance(hours=22)
    assert api.create(body()).status_code == 201
    assert Workflow.select().where(Workflow.phone_number == PHONE).count() == 6


def test_a_refused_or_invalid_request_does_not_count(api, small, frozen):
    assert api.create(dict(body(), title="")).status_code == 422  # refused by the rules: not a message
    for _ in range(3):
        assert api.create(body()).status_code == 201
    for _ in range(3):
        refused(api.create(body()), "RECIPIENT_LIMIT")
    counts = {c.key.rsplit(":", 1)[1]: c.count for c in RateCounter.select() if c.key.startswith("recipient:")}
    assert counts == {"3600": 3, "86400": 3}  # the refusals rolled their counts back


def test_resends_count_against_the_recipient_across_the_businesss_workflows(api, small, frozen):
    first = api.create(body()).get_json()
    second = api.create(body()).get_json()
    resend = f"/v2/linx/workflows/{first['id']}/resend"
    assert api.client.post(resend, headers=api.headers()).status_code == 200  # the third message this hour
    passcode_hash = Workflow.get_by_id(second["id"]).passcode_hash
    before = stored()
    wait = refused(api.client.post(f"/v2/linx/workflows/{second['id']}/resend", headers=api.headers()),
                   "RECIPIENT_LIMIT")
    assert wait == 3600
    assert stored() == before and Workflow.get_by_id(second["id"]).passcode_hash == passcode_hash  # nothing done


def test_another_business_counts_apart(rt, api, small, frozen):
    for _ in range(3):
        assert api.create(body()).status_code == 201
    refused(api.create(body()), "RECIPIENT_LIMIT")
    _, key = create_business(rt, "Other Co")
    other = Api(api.client, key)
    assert other.create(body()).status_code == 201


def test_an_email_address_is_one_recipient_whatever_its_case(api, small, frozen):
    for email in ("jane@example.com", "Jane@Example.com", "JANE@EXAMPLE.COM"):
        created = api.create(body(channel="EMAIL", phoneNumber=None, email=email))
        assert created.status_code == 201, created.get_json()
    refused(api.create(body(channel="EMAIL", phoneNumber=None, email="jane@example.COM")), "RECIPIENT_LIMIT")
    assert api.create(body(channel="EMAIL", phoneNumber=None, email="john@example.com")).status_code == 201


# -- per business -------------------------------------------------------------------------------------------

def test_an_email_address_is_one_recipient_whatever_its_tag_or_the_form_of_its_domain(api, small, frozen):
    """``jane+1@`` and ``jane+2@`` reach one inbox, as do the Unicode and the punycode forms of one domain."""
    for email in ("jane+1@bücher.example", "jane+2@xn--bcher-kva.example", "Jane@B\u00fccher.example"):
        created = api.create(body(channel="EMAIL", phoneNumber=None, email=email))
        assert created.status_code == 201, created.get_json()
    refused(api.create(body(channel="EMAIL", phoneNumber=None, email="jane+news@xn--bcher-kva.example")),
            "RECIPIENT_LIMIT")
    assert Workflow.get(Workflow.email == "jane+1@bücher.example")  # what is sent to is stored as given
    assert api.create(body(channel="EMAIL", phoneNumber=None, email="jane@bucher.example")).status_code == 201


def test_the_recipient_is_the_contact_the_catalog_names_for_the_channel(rt, api, small, frozen, monkeypatch):
    """Not a hard-coded SMS -> phone: a catalog whose SMS contact were another parameter counts that one."""
    monkeypatch.setitem(rt.rules.catalog["channels"]["SMS"], "contact", "email")
    for index in range(3):  # one email address, three phone numbers
        created = api.create(body(email="same@example.com", phoneNumber=f"+1647123456{index}"))
        assert created.status_code == 201, created.get_json()
    refused(api.create(body(email="same@example.com", phoneNumber="+16471234569")), "RECIPIENT_LIMIT")


def test_the_business_daily_cap_counts_every_recipient(api, small, frozen):
    for n in range(8):
        assert api.create(body(phoneNumber=f"+1647555{n:04d}")).status_code == 201
    before = stored()
    response = api.create(body(phoneNumber="+16475559999"))
    assert refused(response, "BUSINESS_MESSAGE_LIMIT") == 24 * 3600
    assert stored() == before
    frozen.advance(hours=24)
    assert api.create(body(phoneNumber="+16475559999")).status_code == 201


# -- at once -------------------------------------------------------------------------------------------------

def test_concurrent_creates_to_one_number_never_pass_the_limit(rt, demo, live_server, small):
    """12 creates at once to one number, with 3 allowed an hour: exactly 3 pass (the counter's row is locked
    by the first upsert until its transaction ends; on SQLite the write lock serialises them)."""
    barrier = threading.Barrier(12)
    statuses = []

    def send():
        barrier.wait()
        answer = requests.post(f"{live_server}/v2/linx/workflows", data=seed_examples()[0], timeout=60, headers={
            "Authorization": f"Bearer {demo[1]}", "Content-Type": "application/json"})
        statuses.append(answer.status_code)

    threads = [threading.Thread(target=send) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    assert sorted(statuses) == [201] * 3 + [429] * 9, statuses
    assert Workflow.select().count() == 3


# -- the counters -------------------------------------------------------------------------------------------

def test_two_apps_on_one_database_share_the_counters(rt, demo):
    """Two web processes are two apps on one database: a limit counts their requests together."""
    apps = [Api(make_app(rt).test_client(), demo[1]) for _ in range(2)]
    statuses = [apps[n % 2].create(body()).status_code for n in range(24)]
    assert statuses == [201] * 20 + [429] * 4


def test_a_window_restarts_after_it_ends_and_ended_ones_are_purged(rt, frozen):
    for _ in range(2):
        assert limits.allow("test:a", 2, 60) == (True, 0)
    assert limits.allow("test:a", 2, 60) == (False, 60)
    frozen.advance(seconds=45)
    assert limits.allow("test:a", 2, 60) == (False, 15)
    assert limits.allow("test:b", 1, 3600) == (True, 0)
    frozen.advance(seconds=15)
    assert limits.purge_expired() == 1 and [c.key for c in RateCounter.select()] == ["test:b"]
    assert limits.allow("test:a", 2, 60) == (True, 0)  # a new window
    frozen.advance(hours=1)
    assert limits.allow("test:b", 1, 3600) == (True, 0)  # ended, not yet purged: the next hit starts the next one
    assert RateCounter.get(RateCounter.key == "test:b").count == 1
