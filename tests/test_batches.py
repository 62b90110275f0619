"""Batches: one request for many workflows from a template, stored at once, expanded by the worker."""
import csv
import datetime as dt
import io
import json

import pytest

from linx_core import clock, jobs
from linx_core.store.models import (
    Batch,
    BatchEntry,
    Event,
    Job,
    Notification,
    TemplateVersion,
    Workflow,
    WorkflowStep,
)
from linx_core.worker import Worker

from .conftest import Api
from .test_templates import make, post


def send(api, body, key="batch-key-0001", content_type="application/json", query=""):
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    headers = api.headers({"Idempotency-Key": key} if key is not None else {})
    return api.client.post(f"/v2/linx/batches{query}", data=data, content_type=content_type, headers=headers)


def entries(n, start=0, **params):
    return [{"externalId": f"cust-{i}", "parameters": {"phoneNumber": f"+1647555{i:04d}", "amount": "10", **params}}
            for i in range(start, start + n)]


def expand(rt):
    """Run only the batch jobs (expansion, cancel), as the worker would."""
    worker = Worker(rt)
    while True:
        due = [job for job in Job.select().where(Job.kind.startswith("batch.") & (Job.status == "DUE")
                                                 & (Job.run_at <= clock.now()))]
        if not due:
            return
        for job in due:
            Job.update(status="RUNNING", attempts=Job.attempts + 1, locked_by="test").where(Job.id == job.id).execute()
            job = Job.get_by_id(job.id)
            worker._run(job)


def errors(response):
    return {(e["path"], e["errorCode"]) for e in response.get_json()["errors"]}


@pytest.fixture
def template(api):
    return make(api)


def test_a_batch_is_stored_at_once_then_expanded_into_workflows(rt, api, template):
    response = send(api, {"templateName": "rebate-payout", "entries": entries(3)})
    assert response.status_code == 202, response.get_json()
    batch = response.get_json()
    assert (batch["status"], batch["templateVersion"], batch["counts"]["total"]) == ("NEW", 1, 3)
    assert response.headers["Location"].endswith(f"/v2/linx/batches/{batch['id']}")
    assert Workflow.select().count() == 0
    expand(rt)
    shown = api.get(f"/v2/linx/batches/{batch['id']}").get_json()
    assert shown["status"] == "COMPLETED" and shown["expandedAt"]
    assert {k: shown["counts"][k] for k in ("total", "valid", "invalid", "created", "pending")} == {
        "total": 3, "valid": 3, "invalid": 0, "created": 3, "pending": 0}
    assert shown["counts"]["workflows"]["CREATED"] == 3
    made = api.get(f"/v2/linx/workflows?batchId={batch['id']}").get_json()
    assert made["totalElements"] == 3
    one = made["content"][0]
    assert (one["batchId"], one["templateId"], one["templateVersion"]) == (batch["id"], template["id"], 1)
    assert WorkflowStep.select().count() == 12 and Notification.select().count() == 3
    assert Job.select().where(Job.kind == "notify").count() == 3
    listed = api.get(f"/v2/linx/batches/{batch['id']}/entries").get_json()["content"]
    assert [(e["index"], e["externalId"], e["status"]) for e in listed] == [
        (0, "cust-0", "CREATED"), (1, "cust-1", "CREATED"), (2, "cust-2", "CREATED")]
    assert {e["workflowId"] for e in listed} == {w["id"] for w in made["content"]}
    statuses = [(e.data["previousStatus"], e.data["status"]) for e in
                Event.select().where(Event.type == "linx.batch-updated").order_by(Event.created_at)]
    assert statuses == [(None, "NEW"), ("NEW", "QUEUED"), ("QUEUED", "COMPLETED")]
    # the first message goes out, and the expiry counts from then, not from the batch's 202
    clock.set_clock(clock.FrozenClock(dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)))
    Worker(rt).run_until_idle()
    workflow = Workflow.get_by_id(one["id"])
    assert workflow.status == "ACTIVE"
    assert workflow.expire_at - workflow.created_at > dt.timedelta(days=3, hours=1)
    assert api.get(f"/v2/linx/batches/{batch['id']}").get_json()["counts"]["workflows"]["ACTIVE"] == 3


def test_invalid_entries_are_recorded_with_their_errors_and_the_rest_are_made(rt, api, template):
    batch = send(api, {"templateName": "rebate-payout", "entries": [
        {"externalId": "a", "parameters": {"phoneNumber": "+16475550001", "amount": "10"}},
        {"externalId": "a", "parameters": {"phoneNumber": "+16475550002", "amount": "10"}},  # duplicate externalId
        {"externalId": "b", "parameters": {"phoneNumber": "not a phone", "amount": "10"}},
        {"externalId": "c", "parameters": {"phoneNumber": "+16475550003", "amount": "10", "currency": "CAD"}},
        {"externalId": "d", "parameters": {"amount": "10"}},  # no phone for an SMS
        {"externalId": "e", "parameters": {"phoneNumber": "+16475550004", "amount": "0.001"}},
    ]}).get_json()
    expand(rt)
    shown = api.get(f"/v2/linx/batches/{batch['id']}").get_json()
    assert shown["status"] == "COMPLETED"
    assert (shown["counts"]["valid"], shown["counts"]["invalid"], shown["counts"]["created"]) == (1, 5, 1)
    bad = api.get(f"/v2/linx/batches/{batch['id']}/entries?status=INVALID").get_json()["content"]
    by_index = {e["index"]: {(p["path"], p["errorCode"]) for p in e["errors"]} for e in bad}
    assert by_index[1] == {("externalId", "DUPLICATE_EXTERNAL_ID")}
    assert "parameters.phoneNumber" in {p for p, _ in by_index[2]}
    assert by_index[3] == {("parameters.currency", "NOT_OVERRIDABLE")}
    assert "parameters.phoneNumber" in {p for p, _ in by_index[4]}
    assert "parameters.amount" in {p for p, _ in by_index[5]}
    assert all(e["workflowId"] is None for e in bad)
    assert Workflow.select().count() == 1


def test_a_batch_with_no_valid_entry_is_invalid(rt, api, template):
    batch = send(api, {"templateName": "rebate-payout", "entries": [{"parameters": {}}]}).get_json()
    expand(rt)
    assert api.get(f"/v2/linx/batches/{batch['id']}").get_json()["status"] == "INVALID"


def test_an_entry_over_the_per_recipient_limit_is_invalid(rt, api, template):
    perhour = rt.rules.message_limits["recipient"]["perHour"]
    same = [{"parameters": {"phoneNumber": "+16475550009", "amount": "10"}} for _ in range(perhour + 2)]
    batch = send(api, {"templateName": "rebate-payout", "entries": same}).get_json()
    expand(rt)
    shown = api.get(f"/v2/linx/batches/{batch['id']}").get_json()
    assert (shown["counts"]["created"], shown["counts"]["invalid"]) == (perhour, 2)
    bad = api.get(f"/v2/linx/batches/{batch['id']}/entries?status=INVALID").get_json()["content"]
    assert [e["index"] for e in bad] == [perhour, perhour + 1]
    assert bad[0]["errors"][0]["errorCode"] == "RECIPIENT_LIMIT"
    # the counter holds what was sent, not what was asked: the next create to this number is refused too
    over = api.create({"templateName": "rebate-payout", "parameters": {"phoneNumber": "+16475550009", "amount": 1}})
    assert over.status_code == 429


def test_a_csv_batch_has_one_entry_per_row_with_its_row_number(rt, api, template):
    text = "externalId,phoneNumber,amount,title\nx1,+16475550011,12.50,For Ann\nx2,+16475550012,7,\n"
    response = send(api, text, content_type="text/csv", query="?templateName=rebate-payout")
    assert response.status_code == 202, response.get_json()
    expand(rt)
    listed = api.get(f"/v2/linx/batches/{response.get_json()['id']}/entries").get_json()["content"]
    assert [(e["index"], e["externalId"], e["status"]) for e in listed] == [(2, "x1", "CREATED"), (3, "x2", "CREATED")]
    titles = {w.title for w in Workflow.select()}
    assert titles == {"For Ann", "Your rebate"}


@pytest.mark.parametrize("text, code", [
    ("externalId,phoneNumber,shoeSize\nx,+16475550011,9\n", "UNKNOWN_COLUMN"),
    ("phoneNumber,amount\n+16475550011\n", "ROW_LENGTH"),
    ("phoneNumber,amount\n", "INVALID_ENTRIES"),
    ("phoneNumber,phoneNumber\n+1,+2\n", "DUPLICATE_COLUMN"),
    ('phoneNumber,amount\n"+1647,5\n', "MALFORMED_CSV"),
    (b"phoneNumber,amount\n\xff\xfe,1\n", "INVALID_ENCODING"),
])
def test_a_malformed_csv_is_refused_whole(rt, api, template, text, code):
    response = send(api, text, content_type="text/csv", query="?templateName=rebate-payout")
    assert response.status_code == 400, response.get_json()
    assert code in {c for _, c in errors(response)}
    assert Batch.select().count() == 0 and BatchEntry.select().count() == 0


def test_a_malformed_request_is_refused_whole_and_nothing_is_stored(rt, api, template):
    assert send(api, {"templateName": "rebate-payout", "entries": entries(1)}, key=None).status_code == 400
    assert send(api, {"templateName": "rebate-payout", "entries": entries(1)}, key="short").status_code == 400
    assert send(api, {"templateName": "rebate-payout", "entries": []}).status_code == 400
    assert send(api, {"templateName": "rebate-payout", "entries": [{"parameters": [], "x": 1}]}).status_code == 400
    assert send(api, {"entries": entries(1)}).status_code == 400
    assert send(api, "{", ).status_code == 400
    assert send(api, "a,b", content_type="text/plain").status_code == 400
    unknown = send(api, {"templateName": "nope", "entries": entries(1)})
    assert unknown.status_code == 422 and errors(unknown) == {("templateName", "TEMPLATE_NOT_FOUND")}
    post(api, f"/v2/linx/templates/{make(api, name='other')['id']}/suspend")
    suspended = send(api, {"templateName": "other", "entries": entries(1)})
    assert suspended.status_code == 422 and errors(suspended) == {("templateName", "TEMPLATE_SUSPENDED")}
    too_many = send(api, {"templateName": "rebate-payout", "entries": [{"parameters": {}}] * 10_001})
    assert too_many.status_code == 413
    assert Batch.select().count() == 0 and BatchEntry.select().count() == 0


def test_a_body_over_16_mib_is_413_and_one_over_the_usual_limit_is_accepted_here_only(rt, api, template):
    padding = "x" * 200
    many = [{"externalId": f"{i}-{padding}"[:128], "parameters": {"phoneNumber": "+16475550011", "amount": "1"}}
            for i in range(8000)]
    big = json.dumps({"templateName": "rebate-payout", "entries": many})
    assert len(big) > rt.settings.max_body_bytes
    assert send(api, big).status_code == 202
    huge = "phoneNumber\n" + "+16475550011\n" * (17 * 1024 * 1024 // 13)
    assert send(api, huge, content_type="text/csv", query="?templateName=rebate-payout",
                key="batch-key-huge").status_code == 413
    assert Batch.select().count() == 1


def test_the_same_key_and_body_replay_the_batch_and_another_body_conflicts(rt, api, template):
    body = {"templateName": "rebate-payout", "entries": entries(2)}
    first = send(api, body)
    expand(rt)
    again = send(api, body)
    assert again.status_code == 202 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["id"] == first.get_json()["id"] and again.get_json()["status"] == "COMPLETED"
    other = send(api, {"templateName": "rebate-payout", "entries": entries(3)})
    assert other.status_code == 409 and other.get_json()["errorCode"] == "IDEMPOTENCY_KEY_REUSED"
    assert Batch.select().count() == 1 and Workflow.select().count() == 2


def test_cancel_stops_the_expansion_and_cancels_each_open_workflow(rt, api, template):
    first = send(api, {"templateName": "rebate-payout", "entries": entries(3)}).get_json()
    expand(rt)
    response = post(api, f"/v2/linx/batches/{first['id']}/cancel")
    assert response.status_code == 200 and response.get_json()["status"] == "CANCELLING"
    expand(rt)
    shown = api.get(f"/v2/linx/batches/{first['id']}").get_json()
    assert shown["status"] == "CANCELLED" and shown["counts"]["workflows"]["CANCELLED"] == 3
    Worker(rt).run_until_idle()
    assert {(n.status, n.error_code) for n in Notification.select()} == {("FAILED", "BATCH_CANCELLED")}  # none left
    assert post(api, f"/v2/linx/batches/{first['id']}/cancel").status_code == 409
    # a batch cancelled before its expansion makes nothing
    second = send(api, {"templateName": "rebate-payout", "entries": entries(2, start=10)}, key="batch-key-0002")
    post(api, f"/v2/linx/batches/{second.get_json()['id']}/cancel")
    expand(rt)
    assert Workflow.select().where(Workflow.batch_id == second.get_json()["id"]).count() == 0
    cancelled = api.get(f"/v2/linx/batches/{second.get_json()['id']}/entries?status=CANCELLED").get_json()
    assert cancelled["totalElements"] == 2


def test_passcodes_are_downloaded_once_within_24_hours(rt, api):
    make(api, passcode=True)
    batch = send(api, {"templateName": "rebate-payout", "entries": entries(2)}).get_json()
    early = api.get(f"/v2/linx/batches/{batch['id']}/passcodes")
    assert early.status_code == 409
    expand(rt)
    response = api.get(f"/v2/linx/batches/{batch['id']}/passcodes")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [(r["index"], r["externalId"]) for r in rows] == [("0", "cust-0"), ("1", "cust-1")]
    assert all(len(r["passcode"]) == rt.rules.workflow["passcode"]["digits"] for r in rows)
    from linx_core.secrets import passcode_matches

    workflow = Workflow.get_by_id(rows[0]["workflowId"])
    assert passcode_matches(rt.settings.secret_key, workflow.id, rows[0]["passcode"], workflow.passcode_hash)
    assert BatchEntry.select().where(BatchEntry.sealed_passcode.is_null(False)).count() == 0
    again = api.get(f"/v2/linx/batches/{batch['id']}/passcodes")
    assert again.status_code == 410 and again.get_json()["errorCode"] == "PASSCODES_GONE"


def test_passcodes_not_taken_are_gone_after_24_hours(rt, api):
    make(api, passcode=True)
    batch = send(api, {"templateName": "rebate-payout", "entries": entries(2)}).get_json()
    expand(rt)
    clock.set_clock(clock.FrozenClock(dt.datetime.now(dt.UTC) + dt.timedelta(hours=25)))
    expand(rt)  # the forget-passcodes job is due
    assert BatchEntry.select().where(BatchEntry.sealed_passcode.is_null(False)).count() == 0
    assert api.get(f"/v2/linx/batches/{batch['id']}/passcodes").status_code == 410


def test_another_business_never_sees_or_touches_a_batch(rt, api, client, other, template):
    batch = send(api, {"templateName": "rebate-payout", "entries": entries(1)}).get_json()
    them = Api(client, other["key"])
    for path in (f"/v2/linx/batches/{batch['id']}", f"/v2/linx/batches/{batch['id']}/entries",
                 f"/v2/linx/batches/{batch['id']}/passcodes"):
        assert them.get(path).status_code == 404
    assert post(them, f"/v2/linx/batches/{batch['id']}/cancel").status_code == 404
    assert them.get("/v2/linx/batches").get_json()["totalElements"] == 0
    theirs = send(them, {"templateId": template["id"], "entries": entries(1)})
    assert theirs.status_code == 422
    assert them.get("/v2/linx/workflows?batchId=" + batch["id"]).get_json()["totalElements"] == 0
    assert api.get("/v2/linx/batches").get_json()["totalElements"] == 1


def test_the_openapi_document_shows_the_batch_routes(client):
    paths = client.get("/v2/openapi.json").get_json()["paths"]
    for path in ("/v2/linx/batches", "/v2/linx/batches/{batchId}", "/v2/linx/batches/{batchId}/entries",
                 "/v2/linx/batches/{batchId}/cancel", "/v2/linx/batches/{batchId}/passcodes"):
        assert path in paths


def test_an_expansion_that_keeps_failing_parks_its_job_and_the_batch_is_failed(rt, api, template):
    batch = send(api, {"templateName": "rebate-payout", "entries": entries(2)}).get_json()
    TemplateVersion.delete().execute()  # what the expansion needs is gone: every attempt fails
    Job.update(attempts=jobs.DEFAULT_MAX_ATTEMPTS - 1).where(Job.kind == "batch.expand").execute()
    Worker(rt).run_until_idle()
    assert Job.get(Job.kind == "batch.expand").status == "PARKED"
    shown = api.get(f"/v2/linx/batches/{batch['id']}").get_json()
    assert shown["status"] == "FAILED" and shown["counts"]["created"] == 0
    assert Event.select().where(Event.type == "linx.batch-updated").order_by(Event.created_at.desc()).first() \
        .data["status"] == "FAILED"


def test_a_batch_workflow_whose_first_message_never_leaves_expires_a_day_after_its_expiry(rt, api, template):
    batch = send(api, {"templateName": "rebate-payout", "entries": entries(1)}).get_json()
    expand(rt)
    workflow = Workflow.get(Workflow.batch_id == batch["id"])
    Notification.update(status="FAILED").execute()  # refused for good: the workflow never becomes ACTIVE
    clock.set_clock(clock.FrozenClock(workflow.expire_at + dt.timedelta(hours=2)))
    Worker(rt).run_until_idle()
    assert Workflow.get_by_id(workflow.id).status == "CREATED"  # not yet: a day of grace
    clock.set_clock(clock.FrozenClock(workflow.expire_at + dt.timedelta(days=1, minutes=1)))
    Worker(rt).run_until_idle()
    assert Workflow.get_by_id(workflow.id).status == "EXPIRED"
