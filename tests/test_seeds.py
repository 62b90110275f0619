"""The four example requests of the seed document are accepted verbatim."""
import json
import re

import pytest

from linx_core import secrets
from linx_core.store.models import Event, Job, Notification, Workflow, WorkflowStep

from .conftest import ROOT, SECRET_KEY, seed_examples

SHARED_SEEDS = ROOT.parent / "shared" / "seeds"


def test_the_copied_seed_document_is_the_original():
    original = SHARED_SEEDS / "001_e0fc4bc0fd522db8.txt"
    if not original.exists():
        pytest.skip("shared/seeds is not beside this checkout")
    assert (ROOT / "tests/fixtures/seeds/001_e0fc4bc0fd522db8.txt").read_bytes() == original.read_bytes()


@pytest.mark.parametrize("index", range(4))
def test_seed_example_is_accepted_verbatim(api, index):
    raw = seed_examples()[index]
    response = api.create(None, raw=raw)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    sent = json.loads(raw)
    assert body["status"] == "CREATED"
    assert body["title"] == sent["title"]
    assert [s["name"] for s in body["steps"]] == [s["name"] for s in sent["steps"]]
    assert all(s["status"] == "CREATED" for s in body["steps"])
    assert body["currentStep"] == 0
    assert body["phoneNumber"] == "+16471234567"
    assert response.headers["Location"].endswith(body["id"])
    if "amount" in sent["parameters"]:
        assert body["parameters"]["amount"] == "256.25"


def test_created_workflow_stores_secrets_only_as_hashes(api, rt):
    response = api.create(None, raw=seed_examples()[3])
    body = response.get_json()
    passcode = body["passcode"]
    assert re.fullmatch(r"\d{6}", passcode)
    row = Workflow.get_by_id(body["id"])
    assert row.passcode_hash != passcode and passcode not in row.passcode_hash
    assert secrets.passcode_matches(SECRET_KEY, row.id, passcode, row.passcode_hash)
    assert not secrets.passcode_matches(SECRET_KEY, row.id, "000000" if passcode != "000000" else "111111",
                                        row.passcode_hash)
    # no link token waits in the store: links are made (and hashed) when a message is sent
    assert not hasattr(row, "token_hash")
    # the passcode is shown once: reading the workflow back does not return it
    again = api.get(f"/v2/linx/workflows/{body['id']}").get_json()
    assert "passcode" not in again and again["passcodeRequired"] is True


def test_create_writes_steps_event_and_notify_job_in_one_go(api, rt):
    body = api.create(None, raw=seed_examples()[2]).get_json()
    steps = list(WorkflowStep.select().where(WorkflowStep.workflow == body["id"]).order_by(WorkflowStep.position))
    assert [s.name for s in steps] == ["notification", "customer-account", "financial-account", "move-money"]
    events = list(Event.select().where(Event.subject_id == body["id"]))
    assert [(e.type, e.data["status"]) for e in events] == [("linx.workflow-status-changed", "CREATED")]
    notes = list(Notification.select().where(Notification.workflow == body["id"]))
    assert [(n.serial, n.origin, n.status, n.channel) for n in notes] == [(0, "INITIAL", "QUEUED", "SMS")]
    jobs = {j.kind: j for j in Job.select()}
    assert set(jobs) == {"notify", "expire"}
    assert jobs["notify"].payload == {"notificationId": str(notes[0].id)}
    assert jobs["expire"].run_at == Workflow.get_by_id(body["id"]).expire_at


def test_passcode_can_be_switched_off_per_request(api):
    body = json.loads(seed_examples()[0])
    body["passcode"] = False
    created = api.create(body).get_json()
    assert "passcode" not in created and created["passcodeRequired"] is False


def test_expire_in_days_sets_expire_at(api, rt):
    created = api.create(None, raw=seed_examples()[0]).get_json()
    row = Workflow.get_by_id(created["id"])
    assert (row.expire_at - row.created_at).total_seconds() == 2 * 24 * 3600
