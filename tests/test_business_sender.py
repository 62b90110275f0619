"""A business's own SMS sender (``linx business sender``): its messages leave from it, through the real Twilio SDK
against the fake Twilio API, paced by that sender's own bucket, apart from the installation's and other
businesses'."""
import datetime as dt

import pytest

from linx_core.services import throttle
from linx_core.services.businesses import own_sms_sender, set_sms_sender
from linx_core.store.models import Job, Notification, SendBucket
from linx_core.worker import Worker

from .fakes.twilio_api import FakeTwilioApi
from .journeys import api_for, freeze, rail_runtime
from .test_cli import linx, ok, ok_json, refused  # noqa: F401 - the fixture

SID, TOKEN = "AC" + "1" * 32, "secret"
INSTALLATION = "+15005550006"
DEMO_FROM = "+14165550000"
OTHER_SERVICE = "MG" + "ab" * 16
START = dt.datetime(2026, 11, 2, 15, 0, tzinfo=dt.UTC)


@pytest.fixture
def fake_twilio():
    api = FakeTwilioApi(SID, TOKEN).start()
    yield api
    api.stop()


def _runtime(rt, tmp_path, fake_twilio):
    return rail_runtime(rt, tmp_path, send_pacing="on", twilio_account_sid=SID, twilio_auth_token=TOKEN,
                        twilio_from_number=INSTALLATION, twilio_api_url=fake_twilio.url)


def _create(api, phone):
    response = api.create({
        "title": "Hello", "expireIn": "3",
        "parameters": {"channel": "SMS", "phoneNumber": phone, "introductoryMessage": "Open your account"},
        "steps": [{"name": "notification"}, {"name": "customer-account"}]})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def _from(message):
    return message["messaging_service_sid"] or message["from"]


def test_two_businesses_send_from_their_own_senders_paced_by_separate_buckets(rt, demo, other, tmp_path,
                                                                                fake_twilio):
    runtime = _runtime(rt, tmp_path, fake_twilio)
    frozen = freeze(START)
    set_sms_sender(demo[0], DEMO_FROM, None)
    set_sms_sender(other["business"], None, OTHER_SERVICE)
    demo_api, other_api = api_for(runtime, demo[1]), api_for(runtime, other["key"])
    for i in range(3):
        _create(demo_api, f"+1647555{i:04d}")
        _create(other_api, f"+1647556{i:04d}")
    Worker(runtime).run_until_idle()
    # each sender's first slot is now: one message of each business left at once, not two of one
    assert sorted(_from(m) for m in fake_twilio.messages) == sorted([DEMO_FROM, OTHER_SERVICE])
    waiting = sorted(j.run_at for j in Job.select().where((Job.kind == "notify") & (Job.status == "DUE")))
    second = START + dt.timedelta(seconds=1)
    assert waiting == [second, second, second + dt.timedelta(seconds=1), second + dt.timedelta(seconds=1)]
    for _ in range(2):
        frozen.advance(seconds=1)
        Worker(runtime).run_until_idle()
    sent = fake_twilio.messages
    assert len(sent) == 6 and Notification.select().where(Notification.status == "SENT").count() == 6
    # each message from its business's own sender only: a number alone, or a messaging service alone
    by_to = {m["to"]: m for m in sent}
    for i in range(3):
        assert (by_to[f"+1647555{i:04d}"]["from"], by_to[f"+1647555{i:04d}"]["messaging_service_sid"]) == (
            DEMO_FROM, None)
        assert (by_to[f"+1647556{i:04d}"]["from"], by_to[f"+1647556{i:04d}"]["messaging_service_sid"]) == (
            None, OTHER_SERVICE)
    assert {b.key for b in SendBucket.select()} == {"SMS:" + DEMO_FROM, "SMS:" + OTHER_SERVICE}
    assert INSTALLATION not in {_from(m) for m in sent}


def test_back_to_the_installations_sender(rt, demo, tmp_path, fake_twilio):
    runtime = _runtime(rt, tmp_path, fake_twilio)
    freeze(START)
    set_sms_sender(demo[0], DEMO_FROM, None)
    set_sms_sender(demo[0], None, None)
    assert own_sms_sender(demo[0]) == {}
    _create(api_for(runtime, demo[1]), "+16475550001")
    Worker(runtime).run_until_idle()
    assert [m["from"] for m in fake_twilio.messages] == [INSTALLATION]
    assert throttle.sender_key("SMS", runtime.channel("SMS")) == "SMS:" + INSTALLATION
    assert [b.key for b in SendBucket.select()] == ["SMS:" + INSTALLATION]


def test_the_cli_sets_shows_and_resets_a_business_sender_and_refuses_a_bad_one(linx):  # noqa: F811
    ok(linx("init"))
    ok(linx("business", "create", "Acme"))
    assert "the installation's" in ok(linx("business", "sender", "Acme"))
    shown = ok_json(linx("business", "sender", "Acme", "--sms-service", OTHER_SERVICE, "--json"))
    assert shown["sms"] == {"messagingServiceSid": OTHER_SERVICE}
    assert ok_json(linx("business", "sender", "Acme", "--json"))["sms"] == {"messagingServiceSid": OTHER_SERVICE}
    both = ok_json(linx("business", "sender", "Acme", "--sms-from", DEMO_FROM, "--sms-service", OTHER_SERVICE,
                        "--json"))
    assert both["sms"] == {"from": DEMO_FROM, "messagingServiceSid": OTHER_SERVICE}
    refused(linx("business", "sender", "Acme", "--sms-from", "12345"), "E.164")
    refused(linx("business", "sender", "Acme", "--sms-service", "XX1"), "Messaging Service SID")
    refused(linx("business", "sender", "Acme", "--installation", "--sms-from", DEMO_FROM), "--installation")
    refused(linx("business", "sender", "Nobody"))
    assert ok_json(linx("business", "sender", "Acme", "--json"))["sms"] == {"from": DEMO_FROM,
                                                                           "messagingServiceSid": OTHER_SERVICE}
    assert ok_json(linx("business", "sender", "Acme", "--installation", "--json"))["sms"] is None
