"""Sending notifications: at most once, even when a worker dies mid-send."""
from linx_core.store.models import Event, Notification, Workflow
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
