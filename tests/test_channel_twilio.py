"""The SMS channel through the real twilio SDK, against a fake Twilio API on loopback."""
import datetime as dt
import logging
import re

import pytest
from twilio.request_validator import RequestValidator

from gateway_app import create_app
from linx_core import clock
from linx_core.channels import ChannelError, Message
from linx_core.runtime import Runtime
from linx_core.secrets import token_hash
from linx_core.store.models import Event, Job, Link, Notification, OptOut, Workflow
from linx_core.testing.channels import ChannelContract
from linx_core.worker import Worker
from linx_plugins import twilio_sms

from .conftest import Api, seed_examples
from .conftest import test_settings as make_settings
from .fakes.twilio_api import FakeTwilioApi

SID = "AC" + "0" * 32
TOKEN = "secret"
FROM = "+15005550006"
PUBLIC = "https://linx.example.com"
PHONE = "+16471234567"


@pytest.fixture
def fake_twilio():
    api = FakeTwilioApi(SID, TOKEN).start()
    yield api
    api.stop()


def twilio_runtime(rt, tmp_path, **overrides):
    values = dict(database_url=rt.settings.database_url, twilio_account_sid=SID, twilio_auth_token=TOKEN,
                  twilio_from_number=FROM, public_url=PUBLIC, instance_path=str(tmp_path))
    values.update(overrides)
    return Runtime(make_settings(**values), database=rt.database)


@pytest.fixture
def twilio_rt(rt, fake_twilio, tmp_path):
    return twilio_runtime(rt, tmp_path, twilio_api_url=fake_twilio.url)


@pytest.fixture
def twilio_client(twilio_rt):
    app = create_app(runtime=twilio_rt)
    app.config["TESTING"] = True
    return app.test_client()


@pytest.fixture
def twilio_api(twilio_client, demo):
    return Api(twilio_client, demo[1])


@pytest.fixture
def frozen():
    frozen = clock.FrozenClock(clock.now())
    clock.set_clock(frozen)
    yield frozen
    clock.set_clock(None)


def create_sms_workflow(api, index=0):
    response = api.create(None, raw=seed_examples()[index])
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def notification_of(workflow_id):
    return Notification.get(Notification.workflow == workflow_id)


def status_events(workflow_id):
    return [e.data for e in Event.select().where((Event.subject_id == workflow_id)
                                                 & (Event.type == "linx.notification-status-changed"))
            .order_by(Event.created_at)]


# -- the contract ------------------------------------------------------------

class TestTwilioChannelContract(ChannelContract):
    channel_name = "SMS"

    @pytest.fixture
    def channel(self, twilio_rt):
        return twilio_rt.channel("SMS")

    @pytest.fixture
    def sent_messages(self, fake_twilio):
        return fake_twilio.received

    @pytest.fixture
    def refuse_next(self, fake_twilio):
        def refuse():
            fake_twilio.error(400, 21610, "Attempt to send to unsubscribed recipient")
            return "+15005550009"
        return refuse


# -- which channel serves SMS -----------------------------------------------

def test_twilio_serves_sms_only_when_configured(rt, tmp_path, fake_twilio):
    assert rt.channel("SMS").name == "console"
    assert twilio_runtime(rt, tmp_path).channel("SMS").name == "twilio"
    assert twilio_runtime(rt, tmp_path).channel("EMAIL").name == "console"
    assert twilio_runtime(rt, tmp_path, twilio_from_number="").channel("SMS").name == "console"
    assert twilio_runtime(rt, tmp_path, twilio_auth_token="").channel("SMS").name == "console"
    only_service = twilio_runtime(rt, tmp_path, twilio_from_number="", twilio_messaging_service_sid="MG" + "1" * 32)
    assert only_service.channel("SMS").name == "twilio"


def test_a_messaging_service_sid_is_sent_instead_of_a_from_number(rt, tmp_path, fake_twilio):
    service = "MG" + "1" * 32
    runtime = twilio_runtime(rt, tmp_path, twilio_api_url=fake_twilio.url, twilio_from_number="",
                             twilio_messaging_service_sid=service)
    runtime.channel("SMS").send(Message(channel="SMS", to=PHONE, text="Hello"))
    form = fake_twilio.requests[-1].form
    assert form["MessagingServiceSid"] == service and "From" not in form


@pytest.mark.parametrize("public_url, callback", [
    (PUBLIC, f"{PUBLIC}/callbacks/twilio/status"),
    ("https://linx.example.com/base/", "https://linx.example.com/base/callbacks/twilio/status"),
    ("http://127.0.0.1:8000", None),
    ("http://localhost:8000", None),
    ("http://192.168.1.20:8000", None),
])
def test_the_status_callback_is_asked_for_only_where_twilio_can_reach_it(rt, tmp_path, fake_twilio, public_url,
                                                                         callback):
    runtime = twilio_runtime(rt, tmp_path, twilio_api_url=fake_twilio.url, public_url=public_url)
    runtime.channel("SMS").send(Message(channel="SMS", to=PHONE, text="Hello"))
    assert fake_twilio.requests[-1].form.get("StatusCallback") == callback


# -- a workflow's SMS, end to end ---------------------------------------------

def test_the_initial_sms_reaches_twilio_with_the_link_and_activates_the_workflow(twilio_api, twilio_rt,
                                                                                fake_twilio, caplog):
    caplog.set_level(logging.INFO)  # ours and the SDK's logs (peewee's SQL debug log is not a log we ship)
    workflow_id = create_sms_workflow(twilio_api)
    assert Worker(twilio_rt).run_until_idle() >= 1

    [request] = fake_twilio.requests
    assert request.method == "POST"
    assert request.path == f"/2010-04-01/Accounts/{SID}/Messages.json"
    assert request.auth == (SID, TOKEN)
    assert request.headers["Authorization"].startswith("Basic ")
    form = request.form
    assert form["To"] == PHONE
    assert form["From"] == FROM
    assert form["StatusCallback"] == f"{PUBLIC}/callbacks/twilio/status"
    assert form["Body"].startswith("Demo Co: Create a new customer account.")
    [link] = re.findall(r"https://\S+", form["Body"])
    match = re.fullmatch(re.escape(PUBLIC) + r"/l/([A-Za-z0-9_-]+)", link)
    assert match, link
    assert Link.get_or_none(Link.token_hash == token_hash(match.group(1))) is not None

    note = notification_of(workflow_id)
    assert (note.status, note.provider, note.provider_id) == ("SENT", "twilio", fake_twilio.messages[0]["sid"])
    assert note.notified_at is not None
    assert Workflow.get_by_id(workflow_id).status == "ACTIVE"
    assert [e["status"] for e in status_events(workflow_id)] == ["SENT"]

    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert PHONE not in logged
    assert match.group(1) not in logged and link not in logged


def test_opted_out_recipient_fails_the_notification_with_the_reason_and_an_event(twilio_api, twilio_rt,
                                                                                  fake_twilio):
    fake_twilio.error(400, 21610, "Attempt to send to unsubscribed recipient")
    workflow_id = create_sms_workflow(twilio_api)
    Worker(twilio_rt).run_until_idle()

    assert len(fake_twilio.requests) == 1  # a permanent refusal is not retried
    note = notification_of(workflow_id)
    assert note.status == "FAILED"
    assert note.error_code == "21610"
    assert "unsubscribed" in note.reason
    assert note.provider == "twilio" and note.notified_at is None
    [event] = status_events(workflow_id)
    assert event["status"] == "FAILED" and event["errorCode"] == "21610" and "unsubscribed" in event["reason"]
    assert Workflow.get_by_id(workflow_id).status == "CREATED"  # never ACTIVE: the customer was not reached
    assert not Job.select().where((Job.kind == "notify") & (Job.status != "DONE")).exists()

    history = twilio_api.get(f"/v2/linx/workflows/{workflow_id}/notifications/history").get_json()["content"]
    assert [(h["status"], h["errorCode"]) for h in history] == [("FAILED", "21610")]


def test_invalid_number_fails_the_notification_without_keeping_the_number(twilio_api, twilio_rt, fake_twilio):
    fake_twilio.error(400, 21211, f"The 'To' number {PHONE} is not a valid phone number.")
    workflow_id = create_sms_workflow(twilio_api)
    Worker(twilio_rt).run_until_idle()

    note = notification_of(workflow_id)
    assert (note.status, note.error_code) == ("FAILED", "21211")
    assert "not a valid phone number" in note.reason and PHONE not in note.reason
    assert PHONE not in str(status_events(workflow_id))
    assert Workflow.get_by_id(workflow_id).status == "CREATED"


def test_500_then_429_then_201_is_sent_after_retries_honouring_retry_after(twilio_api, twilio_rt, fake_twilio,
                                                                           frozen):
    fake_twilio.reply(500).reply(429, retry_after=30).reply(201)
    workflow_id = create_sms_workflow(twilio_api)
    worker = Worker(twilio_rt)

    worker.run_until_idle()
    assert len(fake_twilio.requests) == 1
    job = Job.get(Job.kind == "notify")
    assert job.status == "DUE" and job.attempts == 1
    assert clock.now() < job.run_at <= clock.now() + dt.timedelta(seconds=5)  # backoff after a 5xx
    assert notification_of(workflow_id).status not in ("SENT", "FAILED")

    frozen.advance(seconds=5)
    worker.run_until_idle()
    assert len(fake_twilio.requests) == 2  # the 429
    assert Job.get(Job.kind == "notify").run_at == clock.now() + dt.timedelta(seconds=30)

    frozen.advance(seconds=29)
    assert worker.run_until_idle() == 0  # not before Retry-After
    assert len(fake_twilio.requests) == 2

    frozen.advance(seconds=1)
    worker.run_until_idle()
    assert len(fake_twilio.requests) == 3
    assert len(fake_twilio.messages) == 1  # the refused attempts made no message: one text, not three
    note = notification_of(workflow_id)
    assert (note.status, note.provider_id) == ("SENT", fake_twilio.messages[0]["sid"])
    assert Job.get(Job.kind == "notify").status == "DONE"
    assert Workflow.get_by_id(workflow_id).status == "ACTIVE"
    assert [e["status"] for e in status_events(workflow_id)] == ["SENT"]


def test_twilio_unreachable_is_a_temporary_error(rt, tmp_path, fake_twilio):
    url = fake_twilio.url
    fake_twilio.stop()
    channel = twilio_runtime(rt, tmp_path, twilio_api_url=url).channel("SMS")
    with pytest.raises(ChannelError) as caught:
        channel.send(Message(channel="SMS", to=PHONE, text="Hello"))
    assert caught.value.permanent is False and caught.value.code == "NETWORK"


@pytest.mark.parametrize("status, permanent", [(400, True), (401, False), (403, True), (404, True), (408, False),
                                               (429, False), (500, False), (503, False)])
def test_http_statuses_map_to_permanent_or_temporary(twilio_rt, fake_twilio, status, permanent):
    fake_twilio.reply(status, {"code": 20000 + status, "message": "scripted", "more_info": "", "status": status},
                      retry_after=7 if status in (429, 503) else None)
    with pytest.raises(ChannelError) as caught:
        twilio_rt.channel("SMS").send(Message(channel="SMS", to=PHONE, text="Hello"))
    assert caught.value.permanent is permanent
    assert caught.value.code == str(20000 + status)
    assert caught.value.retry_after == (7 if status in (429, 503) else None)


def test_retry_after_reads_seconds_and_http_dates(frozen):
    assert twilio_sms.retry_after({"Retry-After": "30"}) == 30
    assert twilio_sms.retry_after({"retry-after": " 0 "}) == 0
    later = clock.now() + dt.timedelta(seconds=90)
    assert twilio_sms.retry_after({"Retry-After": later.strftime("%a, %d %b %Y %H:%M:%S GMT")}) in (90, 91)
    assert twilio_sms.retry_after({"Retry-After": "soon"}) is None
    assert twilio_sms.retry_after({}) is None
    assert twilio_sms.retry_after({"Retry-After": "99999999"}) == 24 * 3600


# -- the status callback -------------------------------------------------------

def sign(path, params, token=TOKEN):
    return RequestValidator(token).compute_signature(PUBLIC + path, params)


def callback(client, params, signature):
    headers = {"X-Twilio-Signature": signature} if signature is not None else {}
    return client.post("/callbacks/twilio/status", data=params, headers=headers)


@pytest.fixture
def sent_sms(twilio_api, twilio_rt, fake_twilio):
    workflow_id = create_sms_workflow(twilio_api)
    Worker(twilio_rt).run_until_idle()
    note = notification_of(workflow_id)
    assert note.status == "SENT"
    return note


def report(note, status, **extra):
    params = {"MessageSid": note.provider_id, "SmsSid": note.provider_id, "MessageStatus": status,
              "SmsStatus": status, "AccountSid": SID, "From": FROM, "To": PHONE, "ApiVersion": "2010-04-01"}
    params.update(extra)
    return params


def test_a_signed_delivered_callback_marks_the_notification_delivered(twilio_client, sent_sms):
    params = report(sent_sms, "delivered")
    response = callback(twilio_client, params, sign("/callbacks/twilio/status", params))
    assert response.status_code == 204
    note = Notification.get_by_id(sent_sms.id)
    assert note.status == "DELIVERED"
    assert [e["status"] for e in status_events(sent_sms.workflow_id)] == ["SENT", "DELIVERED"]


def test_undelivered_and_failed_reports_keep_the_error_code(twilio_client, sent_sms):
    params = report(sent_sms, "undelivered", ErrorCode="30003")
    assert callback(twilio_client, params, sign("/callbacks/twilio/status", params)).status_code == 204
    note = Notification.get_by_id(sent_sms.id)
    assert (note.status, note.error_code) == ("UNDELIVERED", "30003")
    params = report(sent_sms, "failed", ErrorCode="30008")
    assert callback(twilio_client, params, sign("/callbacks/twilio/status", params)).status_code == 204
    assert Notification.get_by_id(sent_sms.id).status == "FAILED"


@pytest.mark.parametrize("status", ["queued", "sending", "sent"])
def test_interim_statuses_are_acknowledged_and_ignored(twilio_client, sent_sms, status):
    params = report(sent_sms, status)
    assert callback(twilio_client, params, sign("/callbacks/twilio/status", params)).status_code == 204
    assert Notification.get_by_id(sent_sms.id).status == "SENT"
    assert [e["status"] for e in status_events(sent_sms.workflow_id)] == ["SENT"]


@pytest.mark.parametrize("signature", [None, "", "bm90IGEgc2lnbmF0dXJl", "other-token", "tampered"])
def test_a_bad_or_missing_signature_is_403_and_changes_nothing(twilio_client, sent_sms, signature):
    params = report(sent_sms, "delivered")
    if signature == "other-token":
        signature = sign("/callbacks/twilio/status", params, token="not-the-token")
    elif signature == "tampered":
        signature = sign("/callbacks/twilio/status", params)
        params = dict(params, MessageStatus="failed")
    response = callback(twilio_client, params, signature)
    assert response.status_code == 403
    body = response.get_json()
    assert body["errorCode"] == "TWILIO_SIGNATURE_INVALID" and body["traceId"]
    assert Notification.get_by_id(sent_sms.id).status == "SENT"
    assert [e["status"] for e in status_events(sent_sms.workflow_id)] == ["SENT"]


def test_a_report_for_an_unknown_message_is_acknowledged(twilio_client, sent_sms):
    params = report(sent_sms, "delivered", MessageSid="SM" + "f" * 32, SmsSid="SM" + "f" * 32)
    assert callback(twilio_client, params, sign("/callbacks/twilio/status", params)).status_code == 204
    assert Notification.get_by_id(sent_sms.id).status == "SENT"


def test_the_callback_exists_only_with_twilio_credentials(client):
    response = client.post("/callbacks/twilio/status", data={"MessageStatus": "delivered"})
    assert response.status_code == 404


def test_wrong_credentials_are_retried_not_failed(rt, tmp_path, fake_twilio):
    channel = twilio_runtime(rt, tmp_path, twilio_api_url=fake_twilio.url, twilio_auth_token="wrong").channel("SMS")
    with pytest.raises(ChannelError) as caught:
        channel.send(Message(channel="SMS", to=PHONE, text="Hello"))
    assert (caught.value.code, caught.value.permanent) == ("20003", False)
    assert fake_twilio.requests[-1].auth == (SID, "wrong") and fake_twilio.messages == []


# -- opt-outs: a STOP reply or Twilio's 21610, then nothing more from that business ------------------------------

def reply(client, body, number=PHONE):
    params = {"MessageSid": "SM" + "1" * 32, "AccountSid": SID, "From": number, "To": FROM, "Body": body}
    return client.post("/callbacks/twilio/inbound", data=params,
                       headers={"X-Twilio-Signature": sign("/callbacks/twilio/inbound", params)})


def test_a_stop_reply_opts_the_number_out_and_the_next_message_is_not_sent(twilio_api, twilio_client, twilio_rt,
                                                                            fake_twilio):
    first = create_sms_workflow(twilio_api)
    Worker(twilio_rt).run_until_idle()
    assert notification_of(first).status == "SENT" and len(fake_twilio.requests) == 1
    answer = reply(twilio_client, " stop ")
    assert answer.status_code == 200 and answer.mimetype == "text/xml"
    assert OptOut.select().count() == 1
    second = create_sms_workflow(twilio_api, 3)
    Worker(twilio_rt).run_until_idle()
    note = notification_of(second)
    assert (note.status, note.error_code) == ("FAILED", "OPTED_OUT")
    assert len(fake_twilio.requests) == 1  # no provider call
    assert reply(twilio_client, "START").status_code == 200
    assert OptOut.select().count() == 0


def test_twilios_21610_records_the_opt_out(twilio_api, twilio_rt, fake_twilio):
    fake_twilio.error(400, 21610, "Attempt to send to unsubscribed recipient")
    first = create_sms_workflow(twilio_api)
    Worker(twilio_rt).run_until_idle()
    assert (notification_of(first).status, notification_of(first).error_code) == ("FAILED", "21610")
    assert [(o.channel, o.contact) for o in OptOut.select()] == [("SMS", PHONE)]
    second = create_sms_workflow(twilio_api, 3)
    Worker(twilio_rt).run_until_idle()
    assert notification_of(second).error_code == "OPTED_OUT" and len(fake_twilio.requests) == 1


def test_an_unsigned_reply_changes_nothing_and_an_opt_out_is_per_business(twilio_client, twilio_api, twilio_rt,
                                                                          demo, other):
    create_sms_workflow(twilio_api)
    params = {"From": PHONE, "To": FROM, "Body": "STOP"}
    assert twilio_client.post("/callbacks/twilio/inbound", data=params).status_code == 403
    assert OptOut.select().count() == 0
    reply(twilio_client, "STOP")
    assert [o.business_id for o in OptOut.select()] == [demo[0].id]  # Other Co never wrote to this number
    assert not OptOut.select().where(OptOut.business == other["business"].id).exists()
    reply(twilio_client, "hello")  # not a keyword: nothing changes
    assert OptOut.select().count() == 1 and Notification.select().count() == 1
