"""The console channel: the fallback for every channel, and the developer inbox (development only)."""
import logging
import re

import pytest

from gateway_app import create_app
from linx_core.channels import ChannelError, Message
from linx_core.runtime import Runtime
from linx_core.store.models import Notification, Workflow
from linx_core.testing.channels import ChannelContract, Received
from linx_core.worker import Worker
from linx_plugins import console

from .conftest import Api, seed_examples
from .conftest import test_settings as make_settings

PUBLIC = "https://linx.example.com"


def console_runtime(rt, tmp_path, env="test"):
    return Runtime(make_settings(env=env, instance_path=str(tmp_path), database_url=rt.settings.database_url,
                                 public_url=PUBLIC), database=rt.database)


class TestConsoleChannelContract(ChannelContract):
    channel_name = "SMS"

    @pytest.fixture
    def console_rt(self, rt, tmp_path):
        return console_runtime(rt, tmp_path)

    @pytest.fixture
    def channel(self, console_rt):
        return console_rt.channel("SMS")

    @pytest.fixture
    def sent_messages(self, console_rt):
        return lambda: [Received(to=m["to"], text=m["text"]) for m in reversed(console.read_inbox(console_rt))]

    # refuse_next is left to the contract's default: the console never refuses a message, so that test skips


def test_console_is_the_default_for_every_channel_without_credentials(rt):
    assert rt.channel("SMS").name == "console"
    assert rt.channel("EMAIL").name == "console"
    assert rt.channel("PIGEON").name == "console"


@pytest.fixture
def dev(rt, tmp_path, demo):
    runtime = console_runtime(rt, tmp_path, env="development")
    app = create_app(runtime=runtime)
    app.config["TESTING"] = True
    return runtime, app.test_client(), Api(app.test_client(), demo[1])


def test_the_developer_inbox_shows_sent_messages_with_their_link(dev):
    runtime, client, api = dev
    created = api.create(None, raw=seed_examples()[0])
    assert created.status_code == 201
    workflow_id = created.get_json()["id"]
    Worker(runtime).run_until_idle()
    note = Notification.get(Notification.workflow == workflow_id)
    assert (note.status, note.provider) == ("DELIVERED", "console")
    assert Workflow.get_by_id(workflow_id).status == "ACTIVE"

    listing = client.get("/dev/messages.json")
    assert listing.status_code == 200
    [message] = listing.get_json()["messages"]
    assert message["to"] == "+16471234567" and message["channel"] == "SMS"
    assert message["workflowId"] == workflow_id and message["origin"] == "INITIAL"
    [link] = re.findall(rf"{re.escape(PUBLIC)}/l/[A-Za-z0-9_-]+", message["text"])

    page = client.get("/dev/messages")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert f'href="{link}"' in html
    assert 'href="/dev/messages.json"' in html


def test_the_inbox_is_empty_before_any_message(dev):
    _, client, _ = dev
    assert client.get("/dev/messages.json").get_json() == {"messages": []}
    assert "No messages yet" in client.get("/dev/messages").get_data(as_text=True)


@pytest.mark.parametrize("env", ["test", "production"])
def test_the_inbox_is_404_outside_development(rt, tmp_path, env):
    runtime = console_runtime(rt, tmp_path, env=env)
    try:
        runtime.channel("SMS").send(Message(channel="SMS", to="+16471234567", text="hello"))
    except ChannelError:
        assert env == "production"  # outside development and tests the console sends nothing
    client = create_app(runtime=runtime).test_client()
    assert client.get("/dev/messages").status_code == 404
    assert client.get("/dev/messages.json").status_code == 404


def test_outside_development_nothing_is_sent_and_the_failure_says_why(rt, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="linx.console")
    link = f"{PUBLIC}/l/abcDEF123_-xyz"
    runtime = console_runtime(rt, tmp_path, env="production")
    with pytest.raises(ChannelError) as refused:
        runtime.channel("SMS").send(Message(channel="SMS", to="+16471234567",
                                            text=f"Demo Co: hello. Continue securely: {link}"))
    assert refused.value.permanent and refused.value.code == "NO_CHANNEL_CONFIGURED"
    assert "LINX_TWILIO_" in refused.value.reason
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "not sent" in logged and link not in logged and "+16471234567" not in logged
    assert not console.inbox_path(runtime).exists()


# -- the pages outside the Gateway carry its security headers (issue 12, item 8) -----------------------------------

GATEWAY_HEADERS = {"Content-Security-Policy": "default-src 'self'", "X-Frame-Options": "DENY",
                   "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff"}


@pytest.mark.parametrize("path", ["/dev/messages", "/dev/messages.json", "/v2/docs", "/v2/openapi.json"])
def test_the_developer_inbox_and_the_api_docs_carry_the_gateways_security_headers(dev, path):
    _, client, _ = dev
    answer = client.get(path)
    assert answer.status_code == 200
    for name, value in GATEWAY_HEADERS.items():
        if path == "/v2/docs" and name == "Content-Security-Policy":  # its own, as strict (tests/test_docs.py)
            assert value in answer.headers[name] and "unsafe" not in answer.headers[name]
            continue
        assert answer.headers.get(name) == value, (path, name, answer.headers)


@pytest.mark.parametrize("path", ["/dev/messages", "/v2/docs"])
def test_the_api_docs_and_the_inbox_work_under_that_policy(dev, path):
    """default-src 'self': no inline script or style, nothing from another host; their stylesheets are served."""
    _, client, _ = dev
    html = client.get(path).get_data(as_text=True)
    assert not re.search(r"<script>|<style|\sstyle=|\son[a-z]+=|javascript:", html, re.I)
    sources = re.findall(r'(?:href|src)="([^"#]+)"', html)
    assert sources and not [s for s in sources if re.match(r"(https?:)?//", s)], sources
    stylesheets = re.findall(r'<link rel="stylesheet" href="([^"]+)"', html)
    assert stylesheets
    for stylesheet in stylesheets:
        assert client.get(stylesheet).status_code == 200
