"""Behaviour fixed after review: at-most-once sends, lease renewal, housekeeping, limits on input."""
import datetime as dt
import json
import threading
import time

import pytest

from linx_core import clock, hookimpl, jobs
from linx_core.clock import FrozenClock
from linx_core.services import idempotency
from linx_core.store.models import Event, IdempotencyRecord, Job, Notification, Workflow
from linx_core.worker import Worker
from linx_plugins.console import read_inbox

from .conftest import seed_examples


def test_a_notification_left_sending_by_a_dead_worker_is_not_sent_again(api, rt):
    created = api.create(None, raw=seed_examples()[0]).get_json()
    Notification.update(status="SENDING").where(Notification.workflow == created["id"]).execute()
    Worker(rt).run_until_idle()
    note = Notification.get(Notification.workflow == created["id"])
    assert (note.status, note.error_code) == ("UNKNOWN", "INTERRUPTED")
    assert [m for m in read_inbox(rt) if m["workflowId"] == created["id"]] == []
    assert Workflow.get_by_id(created["id"]).status == "ACTIVE"  # the link may have reached the customer
    assert Event.select().where((Event.type == "linx.notification-status-changed")
                                & (Event.subject_id == created["id"])).get().data["status"] == "UNKNOWN"


class Slow:
    def __init__(self, seconds):
        self.seconds = seconds
        self.runs = 0

    @hookimpl
    def linx_job_handlers(self, rt):
        return {"test.slow": self.run}

    def run(self, rt, job):
        self.runs += 1
        time.sleep(self.seconds)


def test_a_running_job_keeps_its_lease_past_the_lease_time(rt):
    plugin = Slow(2.5)
    rt.plugins.register(plugin)
    try:
        job = jobs.enqueue("test.slow", {})
        worker = Worker(rt, lease_seconds=1, poll_seconds=0.1)
        thread = threading.Thread(target=worker.run_forever, daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while Job.get_by_id(job.id).status != "RUNNING" and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1.6)  # past the first lease: renewed, so nobody else may take the job
        assert jobs.claim("someone-else", 5, lease_seconds=30) == []
        while Job.get_by_id(job.id).status != "DONE" and time.monotonic() < deadline:
            time.sleep(0.05)
        worker.stop()
        thread.join(5)
        assert Job.get_by_id(job.id).status == "DONE" and plugin.runs == 1
    finally:
        rt.plugins.unregister(plugin)


def test_housekeeping_purges_expired_keys_and_old_finished_jobs(rt, demo):
    frozen = FrozenClock()
    clock.set_clock(frozen)
    done = jobs.enqueue("notify", {"notificationId": "00000000-0000-0000-0000-000000000000"})
    Job.update(status="DONE", updated_at=frozen.now()).where(Job.id == done.id).execute()
    due = jobs.enqueue("expire", {"workflowId": "x", "expireAt": "x"}, run_at=frozen.now() + dt.timedelta(days=30))
    reservation = idempotency.reserve(rt, demo[0], "housekeeping", "h")
    idempotency.complete(reservation, 201, "{}")
    frozen.advance(days=rt.settings.job_retention_days, hours=1)
    Worker(rt).maintain()
    assert Job.get_or_none(Job.id == done.id) is None and Job.get_or_none(Job.id == due.id) is not None
    assert IdempotencyRecord.select().count() == 0


def test_a_first_sms_longer_than_two_segments_is_refused(api):
    body = json.loads(seed_examples()[0])
    body["parameters"]["introductoryMessage"] = "Ünïcödé makes every character count double. " * 3
    response = api.create(body)
    assert response.status_code == 422
    assert ("parameters.introductoryMessage", "SMS_TOO_LONG") in {
        (e["path"], e["errorCode"]) for e in response.get_json()["errors"]}
    body["parameters"]["channel"] = "EMAIL"
    body["parameters"]["email"] = "john.doe@example.com"
    assert api.create(body).status_code == 201  # email has no segments


def test_amounts_read_back_in_the_currency_form(api):
    body = json.loads(seed_examples()[3])
    raw = json.dumps(body).replace("256.25", "256.2500000")
    assert api.create(None, raw=raw).get_json()["parameters"]["amount"] == "256.25"


def test_extend_never_brings_the_expiry_forward(api):
    created = api.create(None, raw=seed_examples()[0]).get_json()  # 2 days
    response = api.client.post(f"/v2/linx/workflows/{created['id']}/extend", data=json.dumps({"expireInHours": 1}),
                               content_type="application/json", headers=api.headers())
    assert response.status_code == 422 and response.get_json()["errors"][0]["errorCode"] == "WOULD_SHORTEN"


@pytest.mark.parametrize("since", ["0001-01-01T00:00:00+23:59", "9999-12-31T23:59:59-23:59"])
def test_event_times_out_of_range_are_400(api, since):
    response = api.client.get("/v2/events", query_string={"since": since}, headers=api.headers())
    assert response.status_code == 400 and response.get_json()["errors"][0]["path"] == "query.since"


def test_the_clock_can_be_sped_up_only_for_demos():
    from linx_core.config import Settings
    from linx_core.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="LINX_CLOCK_SPEED"):
        Settings.load(environ={}, env="production", clock_speed=60, secret_key="k", data_key="x")


# -- second review: money and the Gateway ------------------------------------------------------------

def _ready_to_confirm(api, rt, **parameters):
    from linx_core.services import journey

    from .drive import created, link_token, seed

    wf = created(api, seed(3, **parameters))
    link_token(rt, wf["id"])
    journey.submit(rt, wf["id"], 1, "lookup-profile", {})
    journey.submit(rt, wf["id"], 2, "lookup-financial-account", {})
    return wf


def test_cancelling_the_payment_and_its_workflow_at_once_never_deadlocks(api, rt, demo):
    from linx_core.errors import LinxError
    from linx_core.services import journey, payments, workflows

    for _ in range(5):
        wf = _ready_to_confirm(api, rt)
        tx = journey.submit(rt, wf["id"], 3, "move-money", {})
        barrier = threading.Barrier(2)
        errors = []

        def run(action):
            rt.bind()
            with rt.database.connection_context():
                barrier.wait()
                try:
                    action()
                except LinxError:
                    pass  # one of them may find the other's result: a clean refusal is fine
                except Exception as exc:  # noqa: BLE001 - a deadlock or any database error is the bug
                    errors.append(repr(exc))

        threads = [threading.Thread(target=run, args=(lambda: payments.cancel(rt, demo[0], tx.id),)),
                   threading.Thread(target=run, args=(lambda: workflows.cancel(rt, demo[0], wf["id"]),))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert errors == []


def test_one_phone_number_makes_one_customer_even_at_once(api, rt):
    from linx_core.services import journey
    from linx_core.store.models import Customer

    from .drive import created, link_token, seed

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


def test_digits_other_than_ascii_and_names_nacha_cannot_carry_are_refused(api, rt):
    from linx_core.errors import RuleViolation
    from linx_core.services import journey

    from .drive import created, link_token, seed

    body = seed(1, financialAccountSubType="CHECKING")
    wf = created(api, body)
    link_token(rt, wf["id"])
    journey.submit(rt, wf["id"], 1, "lookup-profile", {})
    with pytest.raises(RuleViolation) as digits:
        journey.submit(rt, wf["id"], 2, "financial-account", {"holderName": "John Doe", "routingNumber": "011000015",
                                              "accountNumber": "٠٠٠١٢٣٤٥٦٧٨٩"})
    assert [p.path for p in digits.value.problems] == ["accountNumber"]
    ach = rt.solution("ach")
    from linx_core.payments import AccountDetails

    cyrillic = AccountDetails(kind="BANK", subtype="CHECKING", number="000123456789", holder_name="Иван Петров",
                              routing_number="011000015", last4="6789")
    assert "Latin" in ach.can_pay(cyrillic)


def test_the_completion_message_names_the_account(api, rt):
    from linx_core.services import journey

    frozen = FrozenClock()
    clock.set_clock(frozen)
    wf = _ready_to_confirm(api, rt, amount=20)
    journey.submit(rt, wf["id"], 3, "move-money", {})
    for _ in range(4):
        Worker(rt).run_until_idle()
        frozen.advance(seconds=30)
    texts = [m["text"] for m in read_inbox(rt) if m["workflowId"] == wf["id"] and m["origin"] == "COMPLETION_SEND"]
    assert texts == ["Demo Co: 20.00 USD is on its way to your Visa card ending 5556."]


def test_a_declined_step_is_announced_like_any_step_change(api, rt):
    from linx_core.services import journey

    from .drive import created, link_token, seed

    wf = created(api, seed(3))
    link_token(rt, wf["id"])
    journey.decline(rt, wf["id"], "WRONG_PERSON")
    updates = [e.data for e in Event.select().where((Event.subject_id == wf["id"])
                                                    & (Event.type == "linx.workflow-updated"))]
    assert {"name": "lookup-profile", "previousStatus": "ACTIVE", "status": "DECLINED"} in [
        u["previousStep"] for u in updates]


def test_a_finished_workflow_shows_no_amount_to_someone_without_the_passcode(api, rt, app):
    from linx_core.services import journey

    from .drive import link_token

    frozen = FrozenClock()
    clock.set_clock(frozen)
    wf = _ready_to_confirm(api, rt, amount=21)
    token = link_token(rt, wf["id"])
    journey.submit(rt, wf["id"], 3, "move-money", {})
    for _ in range(4):
        Worker(rt).run_until_idle()
        frozen.advance(seconds=30)
    assert Workflow.get_by_id(wf["id"]).status == "COMPLETED"
    stranger = app.test_client()
    page = stranger.get(f"/l/{token}", follow_redirects=True)
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "21.00" not in text and "5556" not in text


def test_a_rail_can_report_status_by_callback(api, rt):
    from linx_core.errors import NotFound
    from linx_core.payments import RailStatus
    from linx_core.services import journey, payments
    from linx_core.store.models import Transaction

    frozen = FrozenClock()
    clock.set_clock(frozen)
    wf = _ready_to_confirm(api, rt, amount=22)
    tx = journey.submit(rt, wf["id"], 3, "move-money", {})
    Worker(rt).run_until_idle()  # submitted: APPROVED, settling later
    tx = Transaction.get_by_id(tx.id)
    assert tx.status == "APPROVED" and tx.rail_reference
    payments.report(rt, "push-to-card", tx.rail_reference, RailStatus("SETTLED", tx.rail_reference, "Paid."))
    assert Transaction.get_by_id(tx.id).status == "SETTLED"
    assert Workflow.get_by_id(wf["id"]).status == "COMPLETED"
    payments.report(rt, "push-to-card", tx.rail_reference, RailStatus("APPROVED", tx.rail_reference))  # stale
    assert Transaction.get_by_id(tx.id).status == "SETTLED"
    with pytest.raises(NotFound):
        payments.report(rt, "push-to-card", "no-such-reference", RailStatus("SETTLED"))


def test_behind_a_trusted_proxy_the_client_address_is_the_forwarded_one(rt):
    from flask import request

    from gateway_app import create_app
    from linx_core.runtime import Runtime

    from .conftest import test_settings

    seen = []
    for hops in (0, 1):
        app = create_app(runtime=Runtime(test_settings(database_url=rt.settings.database_url, proxy_hops=hops),
                                         database=rt.database))
        app.before_request(lambda: seen.append(request.remote_addr))
        app.test_client().get("/v2/openapi.json", headers={"X-Forwarded-For": "203.0.113.9"})
    rt.bind()
    assert seen == ["127.0.0.1", "203.0.113.9"]
