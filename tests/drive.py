"""Driving a workflow the way a customer would, through the services (no browser)."""
import json
import re
from decimal import Decimal

from linx_core.services import journey
from linx_core.store.models import Notification
from linx_core.worker import Worker
from linx_plugins.console import read_inbox  # the console channel's inbox: where links arrive in tests

from .conftest import seed_examples


def seed(index, **parameters):
    body = json.loads(seed_examples()[index], parse_float=Decimal)
    body["parameters"].update(parameters)
    return body


def created(api, body):
    response = api.create(body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def link_token(rt, workflow_id):
    """Send due messages, then read the newest link sent for ``workflow_id`` from the console inbox."""
    Worker(rt).run_until_idle()
    for message in read_inbox(rt):
        if message["workflowId"] == str(workflow_id):
            found = re.search(r"/l/([A-Za-z0-9_-]+)", message["text"])
            if found:
                return found.group(1)
    raise AssertionError(f"no link was sent for {workflow_id}: {Notification.select().count()} notifications")


__all__ = ["seed", "created", "link_token", "journey"]


def ready_to_confirm(api, rt, **parameters):
    """A workflow of the fourth seed example, its link opened, profile and card confirmed: next comes confirm."""
    wf = created(api, seed(3, **parameters))
    link_token(rt, wf["id"])
    journey.submit(rt, wf["id"], 1, "lookup-profile", {})
    journey.submit(rt, wf["id"], 2, "lookup-financial-account", {})
    return wf
