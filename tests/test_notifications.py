"""Sending notifications: at most once, even when a worker dies mid-send."""
import datetime as dt
import re

import pytest

from linx_core import clock
from linx_core.services import sending
from linx_core.services.flow import steps_of
from linx_core.store.models import Event, Job, Notification, Workflow
from linx_core.worker import Worker
from linx_plugins.console import read_inbox

from .conftest import seed_examples
from .test_gateway import Visitor, create


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


class Killed(BaseException):
    """The worker's process dying (SIGKILL) right after the channel took the message: no handler runs after it."""


def test_a_link_sent_by_a_worker_killed_before_it_recorded_the_send_opens_at_once(api, rt, app, monkeypatch):
    """The SMS left, then the worker died before ``_finish``: the link works at once, not after the lease
    (it said "Almost ready" for up to a minute), and the worker that takes the job back sends nothing again."""
    wid, passcode = create(api, 2)

    def killed(*args, **kwargs):
        raise Killed()

    monkeypatch.setattr(sending, "_finish", killed)
    with pytest.raises(Killed):
        Worker(rt).run_until_idle()
    monkeypatch.undo()
    note = Notification.get(Notification.workflow == wid)
    job = Job.get(Job.kind == "notify")
    assert (note.status, job.status) == ("SENDING", "RUNNING")  # the crash: the send is not recorded
    assert job.lease_until > clock.now()
    assert Workflow.get_by_id(wid).status == "CREATED"
    [message] = [m for m in read_inbox(rt) if m["workflowId"] == wid]
    token = re.search(r"/l/([A-Za-z0-9_-]+)", message["text"]).group(1)

    visitor = Visitor(app)
    landing = visitor.get(f"/l/{token}")
    assert landing.status == 200, landing.html
    page = visitor.submit(landing, "Continue", passcode=passcode)
    assert page.status == 200 and "Almost ready" not in page.html, page.html
    assert visitor.get(f"/g/{wid}/step").status == 200
    workflow = Workflow.get_by_id(wid)
    assert workflow.status == "ACTIVE" and workflow.next_notification_at is not None  # reminders start too
    steps = {s.name: s.status for s in steps_of(workflow)}
    assert steps["notification"] == "COMPLETED"
    changed = [e.data for e in Event.select().where((Event.type == "linx.workflow-status-changed")
                                                    & (Event.subject_id == wid))]
    assert [d["status"] for d in changed] == ["CREATED", "ACTIVE"]  # activated once, with its event

    # the lease runs out: the job comes back, finds the notification SENDING, and does not send it again
    Job.update(lease_until=clock.now() - dt.timedelta(seconds=1)).where(Job.id == job.id).execute()
    Worker(rt).run_until_idle()
    note = Notification.get_by_id(note.id)
    assert (note.status, note.error_code) == ("UNKNOWN", "INTERRUPTED")
    assert len([m for m in read_inbox(rt) if m["workflowId"] == wid]) == 1
    assert Workflow.get_by_id(wid).status == "ACTIVE"
    assert Job.get_by_id(job.id).status == "DONE"


def test_a_link_revoked_while_it_is_being_opened_activates_nothing(api, rt, monkeypatch):
    """The link is read again under the workflow's lock before it activates the workflow: a resend or a cancel
    that revoked it in between wins (found by review: the activation read only the link read before)."""
    from linx_core.services import journey
    from linx_core.store.models import Link

    wid, _passcode = create(api, 2)
    monkeypatch.setattr(sending, "_finish", lambda *a, **k: (_ for _ in ()).throw(Killed()))
    with pytest.raises(Killed):
        Worker(rt).run_until_idle()
    monkeypatch.undo()
    [message] = [m for m in read_inbox(rt) if m["workflowId"] == wid]
    token = re.search(r"/l/([A-Za-z0-9_-]+)", message["text"]).group(1)
    real = journey.availability

    def revoked_meanwhile(workflow):  # a resend revokes the link between open_link's check and the activation
        Link.update(revoked_at=clock.now()).where(Link.workflow == workflow.id).execute()
        return real(workflow)

    monkeypatch.setattr(journey, "availability", revoked_meanwhile)
    with pytest.raises(journey.Unavailable):
        journey.open_link(rt, token)
    assert Workflow.get_by_id(wid).status == "CREATED"


def test_a_message_that_could_not_be_sent_leaves_no_live_link(api, rt, monkeypatch):
    """A permanent channel failure fails the notification and voids the link it would have carried."""
    from linx_core.channels import ChannelError
    from linx_core.store.models import Link
    from linx_plugins import console

    wid, _passcode = create(api, 2)

    def refused(self, message):
        raise ChannelError("BLOCKED", "the number refuses messages", permanent=True)

    monkeypatch.setattr(console.ConsoleChannel, "send", refused)
    Worker(rt).run_until_idle()
    assert Notification.get(Notification.workflow == wid).status == "FAILED"
    links = list(Link.select().where(Link.workflow == wid))
    assert links and all(link.revoked_at is not None for link in links)
