"""Batches: how they end (cancel, failure, passcodes forgotten) and what their workflows' messages say."""
import datetime as dt

from linx_core import clock, jobs
from linx_core.services import batch_expansion, batches, sending
from linx_core.store import db
from linx_core.store.models import Batch, BatchEntry, Job, Notification, TemplateVersion, Workflow
from linx_core.worker import Worker
from linx_plugins.console import read_inbox

from .test_batches import entries, expand, send
from .test_templates import make, post, template_body


def forget_jobs(batch_id):
    return sum(1 for job in Job.select().where(Job.kind == batches.FORGET_PASSCODES)
               if job.payload["batchId"] == batch_id)


def test_a_failed_batch_may_be_cancelled_and_every_end_queues_the_passcodes_forgetting(rt, api):
    make(api, passcode=True)
    failed = send(api, {"templateName": "rebate-payout", "entries": entries(2)}).get_json()["id"]
    saved = [v.__data__ for v in TemplateVersion.select()]
    TemplateVersion.delete().execute()  # every attempt fails
    Job.update(attempts=jobs.DEFAULT_MAX_ATTEMPTS - 1).where(Job.kind == "batch.expand").execute()
    Worker(rt).run_until_idle()
    assert Batch.get_by_id(failed).status == "FAILED" and forget_jobs(failed) == 1
    TemplateVersion.insert_many(saved).execute()
    response = post(api, f"/v2/linx/batches/{failed}/cancel")
    assert response.status_code == 200 and response.get_json()["status"] == "CANCELLING"
    expand(rt)
    assert Batch.get_by_id(failed).status == "CANCELLED"
    cancelled = send(api, {"templateName": "rebate-payout", "entries": entries(1)},
                     key="batch-key-0002").get_json()["id"]
    post(api, f"/v2/linx/batches/{cancelled}/cancel")
    expand(rt)
    assert Batch.get_by_id(cancelled).status == "CANCELLED" and forget_jobs(cancelled) == 1
    invalid = send(api, {"templateName": "rebate-payout", "entries": [{"parameters": {"phoneNumber": "nope"}}]},
                   key="batch-key-0003").get_json()["id"]
    expand(rt)
    assert Batch.get_by_id(invalid).status == "INVALID" and forget_jobs(invalid) == 1
    done = send(api, {"templateName": "rebate-payout", "entries": entries(1, start=5)}, key="batch-key-0004")
    expand(rt)
    assert forget_jobs(done.get_json()["id"]) == 1


def test_a_cancel_stops_the_batchs_messages_at_once(rt, api):
    make(api)
    batch = send(api, {"templateName": "rebate-payout", "entries": entries(3)}).get_json()
    expand(rt)
    assert post(api, f"/v2/linx/batches/{batch['id']}/cancel").get_json()["status"] == "CANCELLING"
    for job in Job.select().where(Job.kind == "notify"):  # before the cancel job reaches the workflows
        sending.send(rt, job)
    assert {(n.status, n.error_code) for n in Notification.select()} == {("FAILED", "BATCH_CANCELLED")}
    assert all("cancelled" in n.reason for n in Notification.select())
    assert [m for m in read_inbox(rt) if m["workflowId"] in {str(w.id) for w in Workflow.select()}] == []
    assert {w.status for w in Workflow.select()} == {"CREATED"}


def test_the_first_message_states_the_expiry_its_leaving_sets(rt, api):
    body = template_body()
    make(api, parameters={**body["parameters"], "channel": "EMAIL"})
    batch = send(api, {"templateName": "rebate-payout", "entries": [
        {"parameters": {"email": "ann@example.com", "amount": "10"}}]}).get_json()
    expand(rt)
    clock.set_clock(clock.FrozenClock(dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)))
    Worker(rt).run_until_idle()
    workflow = Workflow.get(Workflow.batch_id == batch["id"])
    assert workflow.status == "ACTIVE"
    message = next(m for m in read_inbox(rt) if m["workflowId"] == str(workflow.id))
    assert f"expires on {workflow.expire_at.strftime('%b %d, %Y %H:%M UTC')}" in message["text"]


def test_entries_are_checked_outside_the_write_transaction_and_written_only_if_still_pending(rt, api,
                                                                                              monkeypatch):
    make(api)
    batch = send(api, {"templateName": "rebate-payout", "entries": entries(3)}).get_json()
    real = batch_expansion._check
    seen = []

    def check(rt_, batch_, business, version, chunk):
        seen.append(db.obj.in_transaction())
        out = real(rt_, batch_, business, version, chunk)
        # meanwhile, another worker (an earlier lease) wrote the first entry
        BatchEntry.update(status="INVALID", errors=[]).where(BatchEntry.id == chunk[0].id).execute()
        return out

    monkeypatch.setattr(batch_expansion, "_check", check)
    expand(rt)
    assert seen == [False]
    assert [e.status for e in BatchEntry.select().order_by(BatchEntry.position)] == ["INVALID", "CREATED", "CREATED"]
    assert Workflow.select().count() == 2 and Batch.get_by_id(batch["id"]).created == 2
