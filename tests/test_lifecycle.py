"""Workflow lifecycle: legal and illegal moves, the API operations, reminders, expiry, races."""
import datetime as dt
import json
import threading

import pytest
import requests

from linx_core import clock
from linx_core.clock import FrozenClock
from linx_core.lifecycle import ENDED, STEPS, TRANSACTIONS, WORKFLOW, WORKFLOWS, IllegalTransition, Lifecycle
from linx_core.store.models import Event, Notification, Workflow
from linx_core.worker import Worker

from .conftest import seed_examples


@pytest.fixture
def frozen():
    c = FrozenClock()
    clock.set_clock(c)
    yield c
    clock.set_clock(None)


def _create(api, index=3, **changes):
    body = json.loads(seed_examples()[index])
    body.update(changes)
    response = api.create(body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _post(api, path, body=None):
    return api.client.post(path, data=json.dumps(body) if body is not None else None,
                           content_type="application/json", headers=api.headers())


def _statuses(workflow_id):
    return [e.data["status"] for e in Event.select().where(
        (Event.subject_id == workflow_id) & (Event.type == "linx.workflow-status-changed")).order_by(Event.created_at)]


# -- the machines ----------------------------------------------------------------------------

@pytest.mark.parametrize("state", WORKFLOW["states"])
@pytest.mark.parametrize("trigger", sorted({t["trigger"] for t in WORKFLOW["transitions"]}))
def test_every_workflow_move_follows_the_declared_table(state, trigger):
    declared = [t for t in WORKFLOW["transitions"] if t["trigger"] == trigger and (
        t["source"] == state or (isinstance(t["source"], list) and state in t["source"]))]
    if declared:
        assert WORKFLOWS.next_state(state, trigger) == (declared[0]["dest"] or state)
    else:
        with pytest.raises(IllegalTransition) as info:
            WORKFLOWS.next_state(state, trigger)
        assert info.value.status == 409 and info.value.code == f"WORKFLOW_{state}"


def test_ended_workflows_cannot_be_moved_back():
    for state in ENDED:
        for trigger in ("activate", "complete", "cancel", "extend", "resend"):
            assert not WORKFLOWS.allowed(state, trigger)


def test_steps_move_forward_only():
    assert STEPS.next_state("CREATED", "start") == "ACTIVE"
    assert STEPS.next_state("ACTIVE", "complete") == "COMPLETED"
    with pytest.raises(IllegalTransition):
        STEPS.next_state("COMPLETED", "start")


@pytest.mark.parametrize("lifecycle", [WORKFLOWS, STEPS, TRANSACTIONS], ids=lambda lc: lc.kind)
def test_open_and_final_states_split_the_lifecycle_where_an_ending_move_leads(lifecycle):
    assert set(lifecycle.open_states) | set(lifecycle.final_states) == set(lifecycle.states)
    assert not set(lifecycle.open_states) & set(lifecycle.final_states)
    assert lifecycle.open_states[0] == lifecycle.states[0]
    for state in lifecycle.final_states:  # nothing leads from an end back to an open state
        for trigger in lifecycle.triggers:
            if lifecycle.allowed(state, trigger):
                assert lifecycle.next_state(state, trigger) in lifecycle.final_states


def test_the_open_and_final_states_of_each_lifecycle():
    assert WORKFLOWS.open_states == ("CREATED", "ACTIVE") == STEPS.open_states
    assert ENDED == WORKFLOWS.final_states == ("COMPLETED", "DECLINED", "EXPIRED", "CANCELLED", "ARCHIVED", "FAILED")
    assert TRANSACTIONS.open_states == ("NEW", "PENDING", "PROCESSING", "APPROVED")
    assert TRANSACTIONS.final_states == ("SETTLED", "CLEARED", "DECLINED", "CANCELLED", "ERROR", "REVERSED")


def test_a_lifecycle_without_an_ending_move_is_refused():
    with pytest.raises(ValueError, match="no transition"):
        Lifecycle("loop", {"states": ["A", "B"], "transitions": [{"trigger": "go", "source": "A", "dest": "B"}]})


def test_the_machine_keeps_no_models():
    for _ in range(100):
        WORKFLOWS.next_state("CREATED", "activate")
    assert WORKFLOWS.machine.models == []


# -- the API ---------------------------------------------------------------------------------

def test_cancel_then_cancel_again_is_409(api):
    wf = _create(api)
    first = _post(api, f"/v2/linx/workflows/{wf['id']}/cancel")
    assert first.status_code == 200 and first.get_json()["status"] == "CANCELLED"
    again = _post(api, f"/v2/linx/workflows/{wf['id']}/cancel")
    assert again.status_code == 409 and again.get_json()["errorCode"] == "WORKFLOW_CANCELLED"
    assert _statuses(wf["id"]) == ["CREATED", "CANCELLED"]


def test_archive_only_an_ended_workflow(api):
    wf = _create(api)
    refused = _post(api, f"/v2/linx/workflows/{wf['id']}/archive")
    assert refused.status_code == 409 and refused.get_json()["errorCode"] == "WORKFLOW_CREATED"
    _post(api, f"/v2/linx/workflows/{wf['id']}/cancel")
    archived = _post(api, f"/v2/linx/workflows/{wf['id']}/archive")
    assert archived.status_code == 200 and archived.get_json()["status"] == "ARCHIVED"


def test_operations_on_another_business_workflow_are_404(api, client, other):
    wf = _create(api)
    for op in ("cancel", "archive", "resend", "extend"):
        response = client.post(f"/v2/linx/workflows/{wf['id']}/{op}", data=json.dumps({"expireIn": 3}),
                               content_type="application/json", headers={"Authorization": f"Bearer {other['key']}"})
        assert response.status_code == 404, op
    history = client.get(f"/v2/linx/workflows/{wf['id']}/notifications/history",
                         headers={"Authorization": f"Bearer {other['key']}"})
    assert history.status_code == 404
    assert Workflow.get_by_id(wf["id"]).status == "CREATED"


def test_extend_moves_expiry_and_reminders_together(api, rt, frozen):
    wf = _create(api)
    Worker(rt).run_until_idle()
    row = Workflow.get_by_id(wf["id"])
    assert row.status == "ACTIVE" and row.next_notification_at == frozen.now() + dt.timedelta(hours=24)
    frozen.advance(hours=10)
    response = _post(api, f"/v2/linx/workflows/{wf['id']}/extend", {"expireIn": 5})
    assert response.status_code == 200
    body = response.get_json()
    row = Workflow.get_by_id(wf["id"])
    assert row.expire_at == frozen.now() + dt.timedelta(days=5)
    assert row.next_notification_at == frozen.now() + dt.timedelta(hours=24)
    assert body["nextNotificationAt"] == row.next_notification_at.isoformat().replace("+00:00", "Z")
    # the reminder scheduled before the extension is stale and sends nothing
    frozen.advance(hours=14, seconds=1)
    Worker(rt).run_until_idle()
    assert [n.origin for n in Notification.select().order_by(Notification.serial)] == ["INITIAL"]
    # the old expiry passes without effect
    frozen.advance(hours=30)
    Worker(rt).run_until_idle()
    assert Workflow.get_by_id(wf["id"]).status == "ACTIVE"


@pytest.mark.parametrize("body, status, path", [
    ({"expireInHours": 0}, 422, "expireInHours"),
    ({"expireIn": 91}, 422, "expireIn"),
    ({"expireIn": "abc"}, 400, "expireIn"),
    ({"expireIn": 2, "expireInHours": 3}, 400, "expireInHours"),
    ({}, 400, "expireIn"),
    ({"bogus": 1}, 400, "bogus"),
])
def test_extend_refuses_bad_bodies(api, body, status, path):
    wf = _create(api)
    response = _post(api, f"/v2/linx/workflows/{wf['id']}/extend", body)
    assert response.status_code == status
    assert path in [e["path"] for e in response.get_json()["errors"]]


def test_an_expired_workflow_cannot_be_extended_or_resent(api, rt, frozen):
    wf = _create(api, 0)
    frozen.advance(days=3)
    Worker(rt).run_until_idle()
    assert Workflow.get_by_id(wf["id"]).status == "EXPIRED"
    for op, body in (("extend", {"expireIn": 2}), ("resend", None), ("cancel", None)):
        response = _post(api, f"/v2/linx/workflows/{wf['id']}/{op}", body)
        assert response.status_code == 409 and response.get_json()["errorCode"] == "WORKFLOW_EXPIRED", op


def test_resend_issues_a_new_passcode_unlocks_and_sends_again(api, rt, frozen):
    wf = _create(api)
    Worker(rt).run_until_idle()
    Workflow.update(locked_at=frozen.now(), passcode_attempts=5).where(Workflow.id == wf["id"]).execute()
    response = _post(api, f"/v2/linx/workflows/{wf['id']}/resend")
    assert response.status_code == 200
    body = response.get_json()
    assert body["passcode"] and body["passcode"] != wf["passcode"]
    row = Workflow.get_by_id(wf["id"])
    assert row.locked_at is None and row.passcode_attempts == 0
    Worker(rt).run_until_idle()
    history = api.get(f"/v2/linx/workflows/{wf['id']}/notifications/history").get_json()["content"]
    assert [(h["serial"], h["origin"], h["status"]) for h in history] == [
        (0, "INITIAL", "DELIVERED"), (1, "MANUAL", "DELIVERED")]
    assert all(h["notifiedAt"] for h in history)
    resent = Event.get((Event.subject_id == wf["id"]) & (Event.type == "linx.workflow-resent"))
    assert resent.data["unlocked"] is True and "passcode" not in json.dumps(resent.data).lower().replace(
        "newpasscode", "")


def test_resend_is_rate_limited(api, frozen):
    wf = _create(api, 0)
    answers = []
    for _ in range(6):
        answers.append(_post(api, f"/v2/linx/workflows/{wf['id']}/resend"))
        frozen.advance(seconds=30)
    assert [a.status_code for a in answers] == [200] * 5 + [429]
    assert answers[-1].get_json()["errorCode"] == "RESEND_RATE_LIMITED"
    assert answers[-1].headers["Retry-After"] == str(10 * 60 - 5 * 30)  # when the first resend leaves the window


# -- reminders and expiry --------------------------------------------------------------------

def test_reminders_every_24_hours_then_expiry_notice(api, rt, frozen):
    wf = _create(api, 0)  # expires in 2 days
    Worker(rt).run_until_idle()
    for _ in range(4):
        frozen.advance(hours=12)
        Worker(rt).run_until_idle()
    history = [(n.origin, n.status) for n in Notification.select().order_by(Notification.serial)]
    assert history == [("INITIAL", "DELIVERED"), ("REMINDER", "DELIVERED"), ("EXPIRY", "DELIVERED")]
    row = Workflow.get_by_id(wf["id"])
    assert row.status == "EXPIRED" and row.next_notification_at is None
    assert _statuses(wf["id"]) == ["CREATED", "ACTIVE", "EXPIRED"]
    frozen.advance(days=5)
    assert Worker(rt).run_until_idle() == 0


def test_no_reminder_after_cancel(api, rt, frozen):
    wf = _create(api, 0)
    Worker(rt).run_until_idle()
    _post(api, f"/v2/linx/workflows/{wf['id']}/cancel")
    frozen.advance(days=3)
    Worker(rt).run_until_idle()
    assert [n.origin for n in Notification.select()] == ["INITIAL"]
    assert Workflow.get_by_id(wf["id"]).status == "CANCELLED"


def test_a_notification_queued_before_cancel_is_skipped(api, rt):
    wf = _create(api, 0)
    _post(api, f"/v2/linx/workflows/{wf['id']}/cancel")
    Worker(rt).run_until_idle()
    note = Notification.get(Notification.workflow == wf["id"])
    assert note.status == "SKIPPED" and "CANCELLED" in note.reason


# -- races -----------------------------------------------------------------------------------

def test_concurrent_cancels_have_one_winner(live_server, demo, rt):
    key = demo[1]
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    created = requests.post(f"{live_server}/v2/linx/workflows", data=seed_examples()[0], headers=headers,
                            timeout=30).json()
    barrier = threading.Barrier(8)
    results = []

    def cancel():
        barrier.wait()
        r = requests.post(f"{live_server}/v2/linx/workflows/{created['id']}/cancel", headers=headers, timeout=30)
        results.append((r.status_code, r.json().get("errorCode")))

    threads = [threading.Thread(target=cancel) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(s for s, _ in results).count(200) == 1, results
    assert all(code in ("WORKFLOW_CANCELLED", "CONCURRENT_UPDATE") for s, code in results if s != 200)
    assert _statuses(created["id"]) == ["CREATED", "CANCELLED"]


def test_concurrent_workers_send_each_notification_once(api, rt):
    for i in range(6):
        _create(api, i % 4)
    workers = [Worker(rt, concurrency=2) for _ in range(3)]
    threads = [threading.Thread(target=w.run_until_idle) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    notes = list(Notification.select())
    assert len(notes) == 6 and {n.status for n in notes} == {"DELIVERED"}
    sent_events = Event.select().where(Event.type == "linx.notification-status-changed").count()
    assert sent_events == 6


def test_the_first_message_completes_the_notification_step(api, rt):
    wf = _create(api)
    Worker(rt).run_until_idle()
    body = api.get(f"/v2/linx/workflows/{wf['id']}").get_json()
    assert body["currentStep"] == 1
    assert [s["status"] for s in body["steps"]] == ["COMPLETED", "ACTIVE", "CREATED", "CREATED"]
    updated = Event.get((Event.subject_id == wf["id"]) & (Event.type == "linx.workflow-updated"))
    assert updated.data["previousStep"] == {"name": "notification", "previousStatus": "CREATED",
                                            "status": "COMPLETED"}
    assert updated.data["nextStep"] == {"name": "lookup-profile", "status": "ACTIVE"}
    assert updated.data["currentStep"] == 1
    # a second message (resend) does not move the steps again
    _post(api, f"/v2/linx/workflows/{wf['id']}/resend")
    Worker(rt).run_until_idle()
    assert Event.select().where((Event.subject_id == wf["id"]) & (Event.type == "linx.workflow-updated")).count() == 1


def test_a_sped_up_clock_runs_faster_than_real_time():
    import time

    fast = clock.ScaledClock(3600)
    start = fast.now()
    time.sleep(0.05)
    assert (fast.now() - start).total_seconds() >= 150


def test_extend_never_brings_the_expiry_forward(api):
    created = api.create(None, raw=seed_examples()[0]).get_json()  # 2 days
    response = api.client.post(f"/v2/linx/workflows/{created['id']}/extend", data=json.dumps({"expireInHours": 1}),
                               content_type="application/json", headers=api.headers())
    assert response.status_code == 422 and response.get_json()["errors"][0]["errorCode"] == "WOULD_SHORTEN"
