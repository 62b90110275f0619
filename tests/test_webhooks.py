"""Push notifications: subscriptions, signed delivery per Standard Webhooks, retries, rotation, the log.

Deliveries go to a real HTTP receiver on loopback (werkzeug in a thread) and
every request it records is checked with the PyPI ``standardwebhooks`` package.
Time is driven with a FrozenClock and the worker with ``run_until_idle``.
"""
import base64
import dataclasses
import datetime as dt
import email.utils
import json
import socket
import threading
import time
import uuid
from collections import defaultdict
from decimal import Decimal

import pytest
from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.serving import make_server
from werkzeug.wrappers import Request

from gateway_app import create_app
from gateway_app.api import events as events_api
from gateway_app.api import openapi, schemas
from linx_core import clock, events, jobs
from linx_core.runtime import Runtime
from linx_core.services import journey
from linx_core.store import db
from linx_core.store.models import Event, Job, WebhookDelivery, WebhookSubscription
from linx_core.worker import Worker
from linx_plugins import webhooks
from linx_plugins.webhooks import api as push_notifications

from .conftest import Api, seed_examples
from .conftest import test_settings as make_settings

HOOKS = "/v2/push-notifications"
ERROR_KEYS = {"timestamp", "traceId", "message", "errorCode", "errors"}


# -- the receiver --------------------------------------------------------------------------------


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Receiver:
    """A webhook receiver on 127.0.0.1. Down (connection refused) until :meth:`up`."""

    def __init__(self):
        self.port = free_port()
        self.requests = []
        self.status, self.headers, self.delay = 200, {}, 0
        self._lock = threading.Lock()
        self._server = self._thread = None

    @property
    def base(self):
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self):
        return self.base + "/hook"

    def answer(self, status, headers=None, delay=0):
        self.status, self.headers, self.delay = status, dict(headers or {}), delay

    def up(self):
        if self._server is None:
            self._server = make_server("127.0.0.1", self.port, self._app, threaded=True)
            self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                            daemon=True)  # (shutdown waits up to one poll interval)
            self._thread.start()
        return self

    def down(self):
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(5)
            self._server = self._thread = None

    def received(self, path="/hook"):
        with self._lock:
            return [r for r in self.requests if r["path"] == path]

    def _app(self, environ, start_response):
        request = Request(environ)
        status, headers, delay = self.status, self.headers, self.delay
        with self._lock:
            self.requests.append({"path": request.path, "method": request.method, "headers": dict(request.headers),
                                  "body": request.get_data(), "status": status})
        if delay:
            time.sleep(delay)
        start_response(f"{status} {HTTP_STATUS_CODES.get(status, 'Unknown')}",
                       [("Content-Type", "text/plain"), *headers.items()])
        return [f"answered {status}".encode()]


@pytest.fixture
def receiver():
    receiver = Receiver()
    yield receiver
    receiver.down()


# -- runtime, app, clock -------------------------------------------------------------------------


def make_app(runtime):
    app = create_app(runtime=runtime)
    app.config["TESTING"] = True
    return app


@pytest.fixture(scope="module")
def loopback_runtime(session_runtime, tmp_path_factory):
    """A runtime on the test database that may deliver to loopback receivers (as tests must)."""
    settings = make_settings(database_url=session_runtime.settings.database_url, webhook_allow_private=True,
                             webhook_timeout_seconds=5, instance_path=str(tmp_path_factory.mktemp("instance")))
    return Runtime(settings, rules=session_runtime.rules, database=session_runtime.database)


@pytest.fixture
def wrt(rt, loopback_runtime):
    loopback_runtime.bind()
    return loopback_runtime


@pytest.fixture
def app(wrt):
    return make_app(wrt)


@pytest.fixture
def strict_api(rt, demo):
    """The API of a runtime with the production default: private and loopback receivers refused."""
    return Api(make_app(rt).test_client(), demo[1])


@pytest.fixture
def other_api(client, other):
    return Api(client, other["key"])


@pytest.fixture
def clk(rt):
    frozen = clock.FrozenClock(dt.datetime.now(dt.UTC).replace(microsecond=0))
    clock.set_clock(frozen)
    return frozen


def run(runtime):
    return Worker(runtime).run_until_idle()


def subscribe(api, url, event_types=("*",), description="Test receiver", status=201):
    response = api.client.post(HOOKS, json={"description": description, "url": url, "eventTypes": list(event_types)},
                               headers=api.headers())
    assert response.status_code == status, response.get_json()
    return response.get_json()


def post(api, path, **kwargs):
    return api.client.post(path, headers=api.headers(), **kwargs)


def record(runtime, business, type="customer.status-updated", data=None):
    with db.atomic():
        return events.record(runtime, business.id, type, uuid.uuid4(), data or {"status": "ACTIVE"})


def seed_body(index=0):
    return json.loads(seed_examples()[index], parse_float=Decimal)


def verify(secret, request):
    """The payload, if ``request`` carries a valid Standard Webhooks signature under ``secret``."""
    return Webhook(secret).verify(request["body"], request["headers"])


def delivery_jobs(status=None):
    query = Job.select().where(Job.kind == "webhook.deliver")
    if status:
        query = query.where(Job.status == status)
    return list(query)


def deliveries_of(event_id):
    return list(WebhookDelivery.select().where(WebhookDelivery.event == event_id).order_by(WebhookDelivery.attempt))


def seconds_until(job):
    return (Job.get_by_id(job.id).run_at - clock.now()).total_seconds()


# -- the required scenario -----------------------------------------------------------------------


def test_receiver_down_then_up_every_event_arrives_signed_and_duplicates_share_webhook_id(
        wrt, api, demo, receiver, clk):
    sub = subscribe(api, receiver.url)  # the receiver is down: nothing listens on its port
    created = [api.create(seed_body(0)) for _ in range(2)]
    assert [r.status_code for r in created] == [201, 201]

    run(wrt)  # notifications go out; every event's first attempt is refused
    business_events = list(Event.select().where(Event.business == demo[0].id))
    types = sorted(e.type for e in business_events)
    assert types == sorted(["linx.workflow-status-changed"] * 4 + ["linx.notification-status-changed"] * 2
                           + ["linx.workflow-updated"] * 2)
    assert len(delivery_jobs("DUE")) == len(business_events)
    for event in business_events:
        [first] = deliveries_of(event.id)
        assert first.outcome == "FAILED" and first.http_status is None and "refused" in first.error.lower()

    clk.advance(seconds=4)  # before the first retry (5 s - 10%): nothing is due
    assert run(wrt) == 0
    clk.advance(seconds=2)  # attempt 2: still down
    run(wrt)
    assert all(len(deliveries_of(e.id)) == 2 for e in business_events)
    assert receiver.requests == []

    receiver.up()
    receiver.answer(503)  # attempt 3 reaches the receiver, which fails: it will see each event again
    clk.advance(seconds=331)
    run(wrt)
    receiver.answer(200)
    clk.advance(seconds=1981)
    run(wrt)

    assert delivery_jobs("DUE") == [] and delivery_jobs("PARKED") == []
    received = receiver.received()
    by_id = defaultdict(list)
    for request in received:
        payload = verify(sub["secret"], request)  # raises unless correctly signed (and timely)
        assert request["headers"]["Webhook-Id"] == payload["id"]
        assert request["headers"]["Content-Type"] == "application/json"
        assert request["headers"]["User-Agent"].startswith("LinX")
        by_id[payload["id"]].append(request)
    assert set(by_id) == {str(e.id) for e in business_events}  # every event arrived
    for event in business_events:
        requests = by_id[str(event.id)]
        assert [r["status"] for r in requests] == [503, 200]
        assert len({r["body"] for r in requests}) == 1  # the duplicate is byte-identical, same webhook-id
        assert json.loads(requests[0]["body"]) == {
            "id": str(event.id), "type": event.type, "createdAt": webhooks.iso(event.created_at), "data": event.data}
        log = deliveries_of(event.id)
        assert [(d.attempt, d.outcome, d.http_status) for d in log] == [
            (1, "FAILED", None), (2, "FAILED", None), (3, "FAILED", 503), (4, "SUCCEEDED", 200)]
    # the event log offers exactly what the receiver got
    listed = api.get("/v2/events", query_string={"size": 100}).get_json()["content"]
    assert {e["id"]: e for e in listed} == {i: json.loads(r[-1]["body"]) for i, r in by_id.items()}


# -- answers -------------------------------------------------------------------------------------


def test_410_gone_disables_the_subscription(wrt, api, demo, receiver, clk):
    receiver.up().answer(410)
    sub = subscribe(api, receiver.url)
    event = record(wrt, demo[0])
    run(wrt)
    assert api.get(f"{HOOKS}/{sub['id']}").get_json()["status"] == "DISABLED"
    [delivery] = deliveries_of(event.id)
    assert delivery.outcome == "FAILED" and delivery.http_status == 410
    assert delivery_jobs("DUE") == [] and len(delivery_jobs("DONE")) == 1
    record(wrt, demo[0])  # a disabled subscription is not even queued for
    assert len(delivery_jobs()) == 1
    clk.advance(hours=1)
    run(wrt)
    assert len(receiver.received()) == 1
    assert post(api, f"{HOOKS}/{sub['id']}/unsuspend").get_json()["status"] == "ACTIVE"


def test_a_redirect_is_a_failure_and_is_not_followed(wrt, api, demo, receiver, clk):
    receiver.up().answer(302, {"Location": receiver.base + "/elsewhere"})
    subscribe(api, receiver.url)
    event = record(wrt, demo[0])
    run(wrt)
    assert len(receiver.received()) == 1
    assert receiver.received("/elsewhere") == []
    [delivery] = deliveries_of(event.id)
    assert delivery.outcome == "FAILED" and delivery.http_status == 302
    assert "not followed" in delivery.error
    [job] = delivery_jobs("DUE")
    assert 4.5 <= seconds_until(job) <= 5.5


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_in_seconds_is_honoured_when_later_than_the_schedule(wrt, api, demo, receiver, clk, status):
    receiver.up().answer(status, {"Retry-After": "7200"})
    sub = subscribe(api, receiver.url)
    record(wrt, demo[0])
    run(wrt)
    [job] = delivery_jobs("DUE")
    assert seconds_until(job) == 7200
    receiver.answer(200)
    clk.advance(seconds=6)
    assert run(wrt) == 0 and len(receiver.received()) == 1
    clk.advance(seconds=7200)
    run(wrt)
    assert [r["status"] for r in receiver.received()] == [status, 200]
    verify(sub["secret"], receiver.received()[-1])


def test_retry_after_as_an_http_date_is_honoured(wrt, api, demo, receiver, clk):
    when = clock.now() + dt.timedelta(minutes=42)
    receiver.up().answer(503, {"Retry-After": email.utils.format_datetime(when, usegmt=True)})
    subscribe(api, receiver.url)
    record(wrt, demo[0])
    run(wrt)
    [job] = delivery_jobs("DUE")
    assert Job.get_by_id(job.id).run_at == when


@pytest.mark.parametrize("status,retry_after", [(503, "1"), (500, "7200"), (429, "soon")])
def test_retry_after_earlier_ignored_or_unreadable_keeps_the_schedule(wrt, api, demo, receiver, clk, status,
                                                                      retry_after):
    receiver.up().answer(status, {"Retry-After": retry_after})
    subscribe(api, receiver.url)
    record(wrt, demo[0])
    run(wrt)
    [job] = delivery_jobs("DUE")
    assert 4.5 <= seconds_until(job) <= 5.5


def test_retry_after_is_capped_at_a_day(wrt, api, demo, receiver, clk):
    receiver.up().answer(429, {"Retry-After": "99999999999"})
    subscribe(api, receiver.url)
    record(wrt, demo[0])
    run(wrt)
    [job] = delivery_jobs("DUE")
    assert seconds_until(job) == 24 * 3600


def test_schedule_then_parked_then_jobs_retry_delivers(wrt, api, demo, receiver, clk):
    receiver.up().answer(500)
    sub = subscribe(api, receiver.url)
    event = record(wrt, demo[0])
    gaps = []
    for _ in range(webhooks.MAX_ATTEMPTS):
        run(wrt)
        [job] = delivery_jobs()
        job = Job.get_by_id(job.id)
        if job.status == "PARKED":
            break
        gaps.append((job.run_at - clock.now()).total_seconds())
        clk.advance(seconds=gaps[-1])
    assert job.status == "PARKED" and job.attempts == 10
    assert len(gaps) == 9
    for gap, step in zip(gaps, webhooks.RETRY_SCHEDULE, strict=True):
        assert step * 0.9 <= gap <= step * 1.1, (gap, step)
    assert len(deliveries_of(event.id)) == 10 and len(receiver.received()) == 10

    receiver.answer(200)
    jobs.retry(job.id)  # what `linx jobs retry` does
    run(wrt)
    assert Job.get_by_id(job.id).status == "DONE"
    log = deliveries_of(event.id)
    assert [d.attempt for d in log] == list(range(1, 12)) and log[-1].outcome == "SUCCEEDED"
    requests = receiver.received()
    assert len({r["headers"]["Webhook-Id"] for r in requests}) == 1
    verify(sub["secret"], requests[-1])


def test_a_receiver_that_does_not_answer_in_time_is_a_failure(wrt, rt, api, demo, receiver, clk):
    impatient = Runtime(dataclasses.replace(wrt.settings, webhook_timeout_seconds=0.3), rules=wrt.rules,
                        database=wrt.database)
    receiver.up().answer(200, delay=1.5)
    subscribe(api, receiver.url)
    event = record(wrt, demo[0])
    run(impatient)
    [delivery] = deliveries_of(event.id)
    assert delivery.outcome == "FAILED" and "no answer within 0.3 s" in delivery.error
    assert len(delivery_jobs("DUE")) == 1


# -- signatures and rotation ---------------------------------------------------------------------


def test_secret_is_whsec_and_32_random_bytes_shown_only_at_creation(wrt, api, demo, receiver):
    sub = subscribe(api, receiver.url)
    assert sub["secret"].startswith("whsec_")
    assert len(base64.b64decode(sub["secret"][len("whsec_"):])) == 32
    assert "secret" not in api.get(f"{HOOKS}/{sub['id']}").get_json()
    assert all("secret" not in s for s in api.get(HOOKS).get_json()["content"])
    row = WebhookSubscription.get_by_id(sub["id"])
    assert sub["secret"] not in row.sealed_secret
    assert sub["secret"][6:] not in row.sealed_secret
    assert wrt.vault.unseal(row.sealed_secret) == sub["secret"]
    assert subscribe(api, receiver.url)["secret"] != sub["secret"]


def test_rotation_signs_with_both_secrets_for_24_hours_then_only_the_new_one(wrt, api, demo, receiver, clk):
    receiver.up()
    sub = subscribe(api, receiver.url)
    old = sub["secret"]
    rotated = post(api, f"{HOOKS}/{sub['id']}/rotate-secret")
    assert rotated.status_code == 200
    new = rotated.get_json()["secret"]
    assert new != old and new.startswith("whsec_")
    expires = rotated.get_json()["previousSecretExpiresAt"]
    assert expires == webhooks.iso(clock.now() + dt.timedelta(hours=24))

    record(wrt, demo[0])
    run(wrt)
    [request] = receiver.received()
    signatures = request["headers"]["Webhook-Signature"].split(" ")
    assert len(signatures) == 2 and all(s.startswith("v1,") for s in signatures)
    for secret in (new, old):
        matching = []
        for signature in signatures:
            alone = dict(request["headers"], **{"Webhook-Signature": signature})
            try:
                verify(secret, {"body": request["body"], "headers": alone})
                matching.append(signature)
            except WebhookVerificationError:
                pass
        assert len(matching) == 1  # each secret verifies exactly its own signature
    assert signatures[0] == Webhook(new).sign(request["headers"]["Webhook-Id"], dt.datetime.fromtimestamp(
        int(request["headers"]["Webhook-Timestamp"]), dt.UTC), request["body"].decode())

    clk.advance(hours=24, seconds=1)
    assert api.get(f"{HOOKS}/{sub['id']}").get_json()["previousSecretExpiresAt"] is None
    record(wrt, demo[0])
    run(wrt)
    request = receiver.received()[-1]
    assert " " not in request["headers"]["Webhook-Signature"]
    verify(new, request)
    with pytest.raises(WebhookVerificationError):
        verify(old, request)


def test_rotating_twice_keeps_only_the_latest_previous_secret(wrt, api, demo, receiver, clk):
    receiver.up()
    sub = subscribe(api, receiver.url)
    second = post(api, f"{HOOKS}/{sub['id']}/rotate-secret").get_json()["secret"]
    third = post(api, f"{HOOKS}/{sub['id']}/rotate-secret").get_json()["secret"]
    record(wrt, demo[0])
    run(wrt)
    [request] = receiver.received()
    assert len(request["headers"]["Webhook-Signature"].split(" ")) == 2
    verify(third, request)
    verify(second, request)
    with pytest.raises(WebhookVerificationError):
        verify(sub["secret"], request)


# -- suspension, filters -------------------------------------------------------------------------


def test_suspended_subscription_gets_nothing_and_unsuspend_resumes(wrt, api, demo, receiver, clk):
    receiver.up()
    sub = subscribe(api, receiver.url)
    suspended = post(api, f"{HOOKS}/{sub['id']}/suspend")
    assert suspended.status_code == 200 and suspended.get_json()["status"] == "SUSPENDED"
    assert api.create(seed_body(0)).status_code == 201
    run(wrt)
    clk.advance(hours=1)
    run(wrt)
    assert receiver.requests == [] and delivery_jobs() == []

    assert post(api, f"{HOOKS}/{sub['id']}/unsuspend").get_json()["status"] == "ACTIVE"
    event = record(wrt, demo[0])
    run(wrt)
    [request] = receiver.received()
    assert verify(sub["secret"], request)["id"] == str(event.id)  # only what happened after unsuspending


def test_delivery_queued_before_a_suspension_is_not_sent(wrt, api, demo, receiver, clk):
    receiver.up()
    sub = subscribe(api, receiver.url)
    event = record(wrt, demo[0])
    post(api, f"{HOOKS}/{sub['id']}/suspend")
    run(wrt)
    assert receiver.requests == [] and deliveries_of(event.id) == []
    assert [j.status for j in delivery_jobs()] == ["DONE"]


def test_event_type_filter(wrt, api, demo, receiver, clk):
    receiver.up()
    only_status = subscribe(api, receiver.base + "/status", ["linx.workflow-status-changed"])
    everything = subscribe(api, receiver.base + "/all", ["*"])
    notifications = subscribe(api, receiver.base + "/notes",
                              ["linx.notification-status-changed", "linx.notification-status-changed"])
    assert notifications["eventTypes"] == ["linx.notification-status-changed"]  # deduplicated
    assert api.create(seed_body(0)).status_code == 201
    run(wrt)
    got = {path: [verify(sub["secret"], r)["type"] for r in receiver.received(path)]
           for path, sub in (("/status", only_status), ("/all", everything), ("/notes", notifications))}
    assert sorted(got["/status"]) == ["linx.workflow-status-changed"] * 2
    assert sorted(got["/all"]) == sorted(["linx.workflow-status-changed"] * 2 + ["linx.notification-status-changed"]
                                         + ["linx.workflow-updated"])
    assert got["/notes"] == ["linx.notification-status-changed"]


def test_a_passcode_lockout_is_a_subscribable_event_delivered_by_webhook_and_listed_by_type(wrt, api, demo,
                                                                                          receiver, clk):
    receiver.up()
    locked = subscribe(api, receiver.base + "/locked", ["linx.workflow-locked"])
    assert locked["eventTypes"] == ["linx.workflow-locked"]
    wf = api.create(seed_body(0)).get_json()
    run(wrt)
    assert receiver.received("/locked") == []
    for _ in range(5):
        journey.check_passcode(wrt, wf["id"], "wrong")
    run(wrt)
    [request] = receiver.received("/locked")
    delivered = verify(locked["secret"], request)
    assert delivered["type"] == "linx.workflow-locked"
    assert delivered["data"] == {"workflowId": wf["id"], "attempts": 5, "status": "ACTIVE"}
    listed = api.get("/v2/events", query_string={"type": "linx.workflow-locked"})
    assert listed.status_code == 200, listed.get_json()
    assert [e["id"] for e in listed.get_json()["content"]] == [delivered["id"]]


# -- receiver addresses --------------------------------------------------------------------------


def assert_error(response, status, path=None, code=None):
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:1000])
    body = response.get_json()
    assert set(body) == ERROR_KEYS
    if path is not None:
        assert path in [e["path"] for e in body["errors"]], body
    if code is not None:
        assert code in [e["errorCode"] for e in body["errors"]], body
    return body


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:8080/hook", "http://localhost/hook", "http://2130706433/hook", "http://[::1]/hook",
    "http://10.0.0.5/hook", "http://172.16.3.4/hook", "http://192.168.1.1/hook", "http://100.64.0.1/hook",
    "http://169.254.169.254/latest/meta-data", "http://[fe80::1]/hook", "http://[fd00::1]/hook",
    "http://0.0.0.0/hook", "http://[::ffff:10.0.0.1]/hook", "https://240.0.0.1/hook", "http://224.0.0.1/",
])
def test_private_loopback_and_reserved_receivers_are_refused(strict_api, url):
    body = assert_error(strict_api.client.post(HOOKS, json={"url": url, "eventTypes": ["*"]},
                                               headers=strict_api.headers()), 422, "url", "URL_PRIVATE_ADDRESS")
    assert WebhookSubscription.select().count() == 0
    assert body["errors"][0]["path"] == "url"


@pytest.mark.parametrize("url,code", [
    ("ftp://files.example.com/hook", "URL_SCHEME"),
    ("/relative/hook", "URL_SCHEME"),
    ("javascript:alert(1)", "URL_SCHEME"),
    ("https://user:secret@hooks.example.com/hook", "URL_CREDENTIALS"),
    ("https://hooks.example.com/" + "a" * 2000, "URL_TOO_LONG"),
    ("https://hooks.example.com/a b", "URL_INVALID"),
    ("https://", "URL_INVALID"),
    ("https://hooks.example.com:99999/", "URL_INVALID"),
    ("", "URL_INVALID"),
    ("https://no-such-host.invalid/hook", "URL_UNRESOLVABLE"),
])
def test_malformed_receiver_urls_are_refused_with_the_path(strict_api, url, code):
    assert_error(strict_api.client.post(HOOKS, json={"url": url, "eventTypes": ["*"]},
                                        headers=strict_api.headers()), 422, "url", code)


def test_a_public_receiver_is_accepted_and_patch_rechecks_the_url(strict_api, monkeypatch):
    real = socket.getaddrinfo

    def fake(host, port, *args, **kwargs):
        if host == "hooks.example.com":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    sub = subscribe(strict_api, "https://hooks.example.com/linx")
    assert sub["url"] == "https://hooks.example.com/linx"
    response = strict_api.client.patch(f"{HOOKS}/{sub['id']}", json={"url": "http://10.0.0.1/"},
                                       headers=strict_api.headers())
    assert_error(response, 422, "url", "URL_PRIVATE_ADDRESS")
    assert strict_api.get(f"{HOOKS}/{sub['id']}").get_json()["url"] == "https://hooks.example.com/linx"


def test_development_allows_loopback_but_not_private_addresses(rt, demo, tmp_path):
    dev = Runtime(make_settings(env="development", database_url=rt.settings.database_url,
                                instance_path=str(tmp_path)), rules=rt.rules, database=rt.database)
    api = Api(make_app(dev).test_client(), demo[1])
    subscribe(api, "http://127.0.0.1:9/hook")
    subscribe(api, "http://localhost:9/hook")
    assert_error(api.client.post(HOOKS, json={"url": "http://192.168.0.10/", "eventTypes": ["*"]},
                                 headers=api.headers()), 422, "url", "URL_PRIVATE_ADDRESS")


def test_delivery_rechecks_the_address_it_connects_to(wrt, rt, api, demo, receiver, clk, monkeypatch):
    """A host that resolved to a public address when subscribed and to loopback when delivering
    (DNS rebinding) gets nothing."""
    receiver.up()
    real = socket.getaddrinfo
    answer = {"ip": "93.184.216.34"}

    def fake(host, port, *args, **kwargs):
        if host == "hooks.example.com":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answer["ip"], port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    strict = Api(make_app(rt).test_client(), demo[1])
    subscribe(strict, f"http://hooks.example.com:{receiver.port}/hook")
    answer["ip"] = "127.0.0.1"
    event = record(rt, demo[0])
    run(rt)  # the production default: loopback is not allowed
    assert receiver.requests == []
    [delivery] = deliveries_of(event.id)
    assert delivery.outcome == "FAILED" and "127.0.0.1 (loopback)" in delivery.error
    assert len(delivery_jobs("DUE")) == 1

    run_later = Worker(wrt)  # where loopback is allowed, the same job goes through
    clk.advance(seconds=6)
    run_later.run_until_idle()
    assert len(receiver.received()) == 1


# -- request validation, management --------------------------------------------------------------


def test_create_returns_201_with_location_and_camel_case(api, receiver):
    response = api.client.post(HOOKS, json={"description": "  Orders  ", "url": receiver.url,
                                            "eventTypes": ["linx.workflow-updated", "*"]}, headers=api.headers())
    assert response.status_code == 201
    body = response.get_json()
    assert response.headers["Location"].endswith(f"{HOOKS}/{body['id']}")
    assert set(body) == {"id", "description", "url", "eventTypes", "status", "previousSecretExpiresAt",
                         "createdAt", "updatedAt", "secret"}
    assert body["description"] == "Orders" and body["status"] == "ACTIVE"
    assert body["eventTypes"] == ["linx.workflow-updated", "*"]
    assert body["previousSecretExpiresAt"] is None


@pytest.mark.parametrize("body,status,path,code", [
    ({"url": "http://127.0.0.1/h", "eventTypes": ["*"], "foo": 1}, 400, "foo", "UNKNOWN_FIELD"),
    ({"eventTypes": ["*"]}, 400, "url", "REQUIRED_FIELD"),
    ({"url": "http://127.0.0.1/h"}, 400, "eventTypes", "REQUIRED_FIELD"),
    ({"url": 7, "eventTypes": ["*"]}, 400, "url", "INVALID_TYPE"),
    ({"url": None, "eventTypes": ["*"]}, 400, "url", "NULL_VALUE"),
    ({"url": "http://127.0.0.1/h", "eventTypes": "*"}, 400, "eventTypes", "INVALID_TYPE"),
    ({"url": "http://127.0.0.1/h", "eventTypes": ["*", 3]}, 400, "eventTypes[1]", "INVALID_TYPE"),
    ({"url": "http://127.0.0.1/h", "eventTypes": []}, 422, "eventTypes", "LENGTH"),
    ({"url": "http://127.0.0.1/h", "eventTypes": ["linx.workflow-updated", "linx.nope"]}, 422, "eventTypes[1]",
     "UNKNOWN_EVENT_TYPE"),
    ({"url": "http://127.0.0.1/h", "eventTypes": ["*"], "description": "x" * 201}, 422, "description", "LENGTH"),
    ([{"url": "http://127.0.0.1/h"}], 400, "$", "INVALID_TYPE"),
])
def test_create_refuses_bad_bodies_with_the_path(api, body, status, path, code):
    response = api.client.post(HOOKS, data=json.dumps(body), content_type="application/json", headers=api.headers())
    assert_error(response, status, path, code)
    assert WebhookSubscription.select().count() == 0


def test_create_needs_json_and_a_key(client, api, receiver):
    assert_error(api.client.post(HOOKS, data="url=x", content_type="application/x-www-form-urlencoded",
                                 headers=api.headers()), 400, "header.Content-Type")
    assert_error(client.post(HOOKS, json={"url": receiver.url, "eventTypes": ["*"]}), 401)
    assert_error(client.get(HOOKS), 401)


def test_create_is_idempotent_and_a_replay_withholds_the_secret(api, receiver):
    from linx_core.store.models import IdempotencyRecord

    headers = api.headers({"Idempotency-Key": "create-hook-1"})
    body = {"url": receiver.url, "eventTypes": ["*"]}
    first = api.client.post(HOOKS, json=body, headers=headers)
    second = api.client.post(HOOKS, json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert second.headers.get("Idempotent-Withheld") == "secret"
    secret = first.get_json()["secret"]
    assert secret.startswith("whsec_") and second.get_json()["secret"] is None
    assert dict(first.get_json(), secret=None) == second.get_json()
    assert all(secret not in (r.response_body or "") for r in IdempotencyRecord.select())
    assert WebhookSubscription.select().count() == 1


def test_list_get_patch_and_delete(wrt, api, demo, receiver, clk):
    subs = []
    for i in range(3):
        subs.append(subscribe(api, receiver.url, description=f"hook {i}"))
        clk.advance(seconds=1)
    page = api.get(HOOKS, query_string={"size": 2}).get_json()
    assert page["totalElements"] == 3 and page["totalPages"] == 2 and page["size"] == 2 and page["page"] == 1
    assert [s["id"] for s in page["content"]] == [s["id"] for s in subs[:2]]
    assert [s["id"] for s in api.get(HOOKS, query_string={"page": 2, "size": 2}).get_json()["content"]] == [
        subs[2]["id"]]
    assert_error(api.get(HOOKS, query_string={"size": 0}), 400, "query.size")
    assert_error(api.get(HOOKS, query_string={"bogus": 1}), 400, "query.bogus", "UNKNOWN_FIELD")

    target = f"{HOOKS}/{subs[0]['id']}"
    clk.advance(minutes=1)
    patched = api.client.patch(target, json={"eventTypes": ["customer.status-updated"], "description": "renamed",
                                             "url": receiver.base + "/v2"}, headers=api.headers())
    assert patched.status_code == 200
    body = patched.get_json()
    assert body["eventTypes"] == ["customer.status-updated"] and body["description"] == "renamed"
    assert body["url"] == receiver.base + "/v2" and body["updatedAt"] > body["createdAt"]
    assert "secret" not in body
    assert api.get(target).get_json() == body
    assert_error(api.client.patch(target, json={"status": "ACTIVE"}, headers=api.headers()), 400, "status",
                 "UNKNOWN_FIELD")
    assert_error(api.client.patch(target, json={"eventTypes": ["bogus"]}, headers=api.headers()), 422,
                 "eventTypes[0]", "UNKNOWN_EVENT_TYPE")
    assert api.client.patch(target, json={}, headers=api.headers()).get_json() == body

    receiver.up()
    event = record(wrt, demo[0])  # queued for all three
    deleted = api.client.delete(target, headers=api.headers())
    assert deleted.status_code == 204 and deleted.get_data() == b""
    assert_error(api.get(target), 404)
    assert_error(api.client.delete(target, headers=api.headers()), 404)
    run(wrt)
    assert receiver.received("/v2") == []  # the deleted subscription's pending delivery is dropped
    assert len(receiver.received()) == 2
    assert [j.status for j in delivery_jobs()] == ["DONE"] * 3
    assert WebhookDelivery.select().where(WebhookDelivery.event == event.id).count() == 2


# -- the delivery log and manual redelivery ------------------------------------------------------


def test_deliveries_log_newest_first_and_manual_redelivery(wrt, api, demo, receiver, clk):
    sub = subscribe(api, receiver.url)
    first = record(wrt, demo[0])
    run(wrt)  # refused: the receiver is down
    receiver.up()
    clk.advance(seconds=6)
    run(wrt)
    clk.advance(seconds=1)
    second = record(wrt, demo[0], "financial-account.state-updated", {"state": "ACTIVE"})
    run(wrt)

    log = api.get(f"{HOOKS}/{sub['id']}/deliveries").get_json()
    assert log["totalElements"] == 3 and log["totalPages"] == 1
    rows = log["content"]
    assert [(r["eventId"], r["attempt"], r["outcome"]) for r in rows] == [
        (str(second.id), 1, "SUCCEEDED"), (str(first.id), 2, "SUCCEEDED"), (str(first.id), 1, "FAILED")]
    assert set(rows[0]) == {"id", "subscriptionId", "eventId", "eventType", "attempt", "outcome", "httpStatus",
                            "error", "durationMs", "manual", "createdAt"}
    assert rows[0]["eventType"] == "financial-account.state-updated" and rows[0]["httpStatus"] == 200
    assert rows[2]["httpStatus"] is None and "refused" in rows[2]["error"].lower()
    assert not any(r["manual"] for r in rows)
    paged = api.get(f"{HOOKS}/{sub['id']}/deliveries", query_string={"size": 1, "page": 3}).get_json()
    assert [r["id"] for r in paged["content"]] == [rows[2]["id"]] and paged["totalPages"] == 3
    only_first = api.get(f"{HOOKS}/{sub['id']}/deliveries", query_string={"eventId": str(first.id)}).get_json()
    assert [r["attempt"] for r in only_first["content"]] == [2, 1]
    assert_error(api.get(f"{HOOKS}/{sub['id']}/deliveries", query_string={"eventId": "nope"}), 400, "query.eventId")

    clk.advance(seconds=1)
    response = post(api, f"{HOOKS}/{sub['id']}/events/{first.id}/redeliver")
    assert response.status_code == 202
    assert response.get_json()["status"] == "QUEUED" and response.get_json()["eventId"] == str(first.id)
    run(wrt)
    again = receiver.received()[-1]
    assert verify(sub["secret"], again)["id"] == str(first.id)
    assert again["headers"]["Webhook-Id"] == str(first.id)
    newest = api.get(f"{HOOKS}/{sub['id']}/deliveries").get_json()["content"][0]
    assert newest["manual"] is True and newest["attempt"] == 3 and newest["outcome"] == "SUCCEEDED"


def test_redelivery_refusals(wrt, api, demo, receiver, clk):
    sub = subscribe(api, receiver.url, ["customer.status-updated"])
    event = record(wrt, demo[0])
    other_type = record(wrt, demo[0], "financial-account.state-updated")
    assert_error(post(api, f"{HOOKS}/{sub['id']}/events/{uuid.uuid4()}/redeliver"), 404, code=None)
    assert_error(post(api, f"{HOOKS}/{sub['id']}/events/{other_type.id}/redeliver"), 422, "eventId",
                 "EVENT_TYPE_NOT_SUBSCRIBED")
    post(api, f"{HOOKS}/{sub['id']}/suspend")
    body = assert_error(post(api, f"{HOOKS}/{sub['id']}/events/{event.id}/redeliver"), 409)
    assert body["errorCode"] == "PUSH_NOTIFICATION_NOT_ACTIVE"


# -- tenants -------------------------------------------------------------------------------------


def same_error(body):
    return {k: v for k, v in body.items() if k not in ("timestamp", "traceId")}


def test_another_business_subscription_is_404_like_a_random_id_everywhere(wrt, api, other_api, demo, receiver):
    theirs = subscribe(other_api, receiver.url)
    event = record(wrt, demo[0])
    for sid in (theirs["id"], str(uuid.uuid4()), "not-an-id"):
        base = f"{HOOKS}/{sid}"
        calls = [
            api.get(base),
            api.client.patch(base, json={"description": "mine now"}, headers=api.headers()),
            api.client.delete(base, headers=api.headers()),
            post(api, base + "/suspend"), post(api, base + "/unsuspend"), post(api, base + "/rotate-secret"),
            api.get(base + "/deliveries"),
            post(api, f"{base}/events/{event.id}/redeliver"),
        ]
        bodies = [same_error(assert_error(response, 404)) for response in calls]
        assert all(b["errorCode"] == "PUSH_NOTIFICATION_NOT_FOUND" for b in bodies)
        assert len({json.dumps(b) for b in bodies}) == 1
    mine = other_api.get(f"{HOOKS}/{theirs['id']}").get_json()
    assert mine["status"] == "ACTIVE" and mine["description"] == "Test receiver"
    assert api.get(HOOKS).get_json()["content"] == []


def test_events_of_another_business_are_never_delivered_nor_redeliverable(wrt, api, other_api, demo, other,
                                                                          receiver, clk):
    receiver.up()
    mine = subscribe(api, receiver.base + "/demo")
    theirs = subscribe(other_api, receiver.base + "/other")
    assert api.create(seed_body(0)).status_code == 201
    their_event = record(wrt, other["business"])
    run(wrt)
    demo_ids = {str(e.id) for e in Event.select().where(Event.business == demo[0].id)}
    assert {verify(mine["secret"], r)["id"] for r in receiver.received("/demo")} == demo_ids
    assert [verify(theirs["secret"], r)["id"] for r in receiver.received("/other")] == [str(their_event.id)]
    foreign = post(api, f"{HOOKS}/{mine['id']}/events/{their_event.id}/redeliver")
    unknown = post(api, f"{HOOKS}/{mine['id']}/events/{uuid.uuid4()}/redeliver")
    assert same_error(assert_error(foreign, 404)) == same_error(assert_error(unknown, 404))
    assert foreign.get_json()["errorCode"] == "EVENT_NOT_FOUND"


def test_a_subscription_row_of_another_business_never_gets_its_events(wrt, demo, other, receiver, clk):
    """Even a job naming another business's subscription (a bug elsewhere) sends nothing."""
    receiver.up()
    sub, _ = webhooks.create(wrt, other["business"], receiver.url, ["*"])
    event = record(wrt, demo[0])
    jobs.enqueue(webhooks.JOB_KIND, {"eventId": str(event.id), "subscriptionId": str(sub.id)}, demo[0].id)
    run(wrt)
    assert receiver.requests == []


# -- OpenAPI -------------------------------------------------------------------------------------


def test_openapi_paths_are_documented():
    spec = APISpec(title="LinX", version="test", openapi_version="3.0.3",
                   plugins=[MarshmallowPlugin(schema_name_resolver=openapi._schema_name)])
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    spec.components.schema("Error", schema=schemas.ErrorOut)

    def errors(*codes):
        return {str(c): {"description": openapi.ERRORS[c], "content": {"application/json": {"schema": "Error"}}}
                for c in codes}

    push_notifications.add_paths(spec, errors)
    events_api.add_paths(spec, errors)
    doc = spec.to_dict()
    paths = doc["paths"]
    assert set(paths) == {
        "/v2/push-notifications", "/v2/push-notifications/{subscriptionId}",
        "/v2/push-notifications/{subscriptionId}/suspend", "/v2/push-notifications/{subscriptionId}/unsuspend",
        "/v2/push-notifications/{subscriptionId}/rotate-secret",
        "/v2/push-notifications/{subscriptionId}/deliveries",
        "/v2/push-notifications/{subscriptionId}/events/{eventId}/redeliver", "/v2/events"}
    assert set(paths["/v2/push-notifications/{subscriptionId}"]) == {"get", "patch", "delete"}
    create = doc["components"]["schemas"]["PushNotificationCreateRequest"]
    assert set(create["required"]) == {"url", "eventTypes"}
    assert set(create["properties"]) == {"description", "url", "eventTypes"}
    assert "webhook-signature" in paths["/v2/push-notifications"]["post"]["description"]
    assert "Event" in doc["components"]["schemas"]
    json.dumps(doc)
