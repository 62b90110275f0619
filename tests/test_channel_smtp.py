"""The EMAIL channel through smtplib, against a real SMTP server on loopback (aiosmtpd)."""
import datetime as dt
import email
import email.policy
import email.utils
import ipaddress
import logging
import re
import socket
import ssl

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from gateway_app import create_app
from linx_core.channels import ChannelError, Message
from linx_core.runtime import Runtime
from linx_core.store.models import Event, Job, Notification, Workflow
from linx_core.testing.channels import ChannelContract, Received
from linx_core.worker import Worker

from .conftest import Api
from .conftest import test_settings as make_settings

PUBLIC = "https://linx.example.com"
FROM = "Demo Co via LinX <linx@notify.example.com>"
CUSTOMER = "jane.doe@example.org"


class Recorder:
    """An aiosmtpd handler: keeps what it receives; refuses the recipients it is told to."""

    def __init__(self):
        self.envelopes = []
        self.refuse_rcpt = {}   # address -> SMTP reply
        self.refuse_data = []   # replies to the next DATA commands
        self.logins = {}        # id(session) -> the login that succeeded

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        ok = auth_data.login == b"linx" and auth_data.password == b"s3cret"
        if ok:
            self.logins[id(session)] = auth_data.login.decode()
        return AuthResult(success=ok, handled=False)  # handled=False: the server answers 535 itself

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = self.refuse_rcpt.get(address)
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.refuse_data:
            return self.refuse_data.pop(0)
        self.envelopes.append({
            "mail_from": envelope.mail_from, "rcpt_tos": list(envelope.rcpt_tos),
            "message": email.message_from_bytes(envelope.original_content, policy=email.policy.default),
            "tls": session.ssl is not None, "login": self.logins.get(id(session)),
        })
        return "250 Message accepted for delivery"

    def received(self):
        out = []
        for item in self.envelopes:
            text = item["message"].get_body(("plain",)).get_content()
            out.extend(Received(to=rcpt, text=text) for rcpt in item["rcpt_tos"])
        return out


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SmtpServer:
    def __init__(self, with_login=False, **kwargs):
        self.handler = Recorder()
        self.port = free_port()
        if with_login:
            kwargs["authenticator"] = self.handler.authenticate
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port,
                                     server_hostname="mx.test", **kwargs)

    def __enter__(self):
        self.controller.start()
        return self

    def __exit__(self, *exc):
        self.controller.stop()


@pytest.fixture
def smtpd():
    with SmtpServer() as server:
        yield server


def smtp_runtime(rt, tmp_path, port, **overrides):
    values = dict(database_url=rt.settings.database_url, smtp_host="127.0.0.1", smtp_port=port,
                  smtp_starttls=False, smtp_from=FROM, public_url=PUBLIC, instance_path=str(tmp_path))
    values.update(overrides)
    return Runtime(make_settings(**values), database=rt.database)


@pytest.fixture
def smtp_rt(rt, tmp_path, smtpd):
    return smtp_runtime(rt, tmp_path, smtpd.port)


def message(to=CUSTOMER, **overrides):
    values = dict(channel="EMAIL", to=to, subject="Demo Co: hello", text="Hello.\n\nContinue: https://x.test/l/abc",
                  html='<p>Hello.</p><p>Continue: <a href="https://x.test/l/abc">https://x.test/l/abc</a></p>',
                  business="Demo Co")
    values.update(overrides)
    return Message(**values)


# -- the contract ------------------------------------------------------------

class TestSmtpChannelContract(ChannelContract):
    channel_name = "EMAIL"

    @pytest.fixture
    def channel(self, smtp_rt):
        return smtp_rt.channel("EMAIL")

    @pytest.fixture
    def sent_messages(self, smtpd):
        return smtpd.handler.received

    @pytest.fixture
    def refuse_next(self, smtpd):
        def refuse():
            smtpd.handler.refuse_rcpt["gone@example.org"] = "550 5.1.1 No such user here"
            return "gone@example.org"
        return refuse


# -- which channel serves EMAIL ----------------------------------------------

def test_smtp_serves_email_only_when_configured(rt, tmp_path):
    assert rt.channel("EMAIL").name == "console"
    assert smtp_runtime(rt, tmp_path, 2525).channel("EMAIL").name == "smtp"
    assert smtp_runtime(rt, tmp_path, 2525).channel("SMS").name == "console"
    assert smtp_runtime(rt, tmp_path, 2525, smtp_from="").channel("EMAIL").name == "console"
    assert smtp_runtime(rt, tmp_path, 2525, smtp_host="").channel("EMAIL").name == "console"


# -- a workflow's email, end to end ------------------------------------------

EMAIL_WORKFLOW = {
    "title": "Create a new Customer Account for Jane Doe",
    "expireIn": "2",
    "parameters": {"channel": "EMAIL", "email": CUSTOMER, "introductoryMessage": "Create a new customer account"},
    "steps": [{"name": "notification"}, {"name": "customer-account"}],
}


def test_an_email_workflow_reaches_the_smtp_server_as_text_and_html_with_the_link(rt, smtp_rt, smtpd, demo,
                                                                                  caplog):
    caplog.set_level(logging.INFO)
    app = create_app(runtime=smtp_rt)
    api = Api(app.test_client(), demo[1])
    created = api.create(EMAIL_WORKFLOW)
    assert created.status_code == 201, created.get_json()
    workflow_id = created.get_json()["id"]
    Worker(smtp_rt).run_until_idle()

    [received] = smtpd.handler.envelopes
    assert received["rcpt_tos"] == [CUSTOMER]
    assert received["mail_from"] == "linx@notify.example.com"
    assert received["tls"] is False
    msg = received["message"]
    assert msg["To"] == CUSTOMER
    assert msg["From"] == FROM
    assert msg["Subject"] == "Demo Co: Create a new Customer Account for Jane Doe"
    assert msg.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in msg.iter_parts()] == ["text/plain", "text/html"]
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    [link] = re.findall(r"https://\S+/l/[A-Za-z0-9_-]+", text)
    assert link.startswith(f"{PUBLIC}/l/")
    assert "Create a new customer account." in text
    assert f'href="{link}"' in html and "Create a new customer account." in html
    assert email.utils.parsedate_to_datetime(msg["Date"]) is not None

    note = Notification.get(Notification.workflow == workflow_id)
    assert (note.status, note.provider, note.provider_id) == ("SENT", "smtp", msg["Message-ID"])
    assert Workflow.get_by_id(workflow_id).status == "ACTIVE"

    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("linx"))
    assert "email" in ours and CUSTOMER not in ours and link not in ours


def test_a_refused_mailbox_fails_the_notification(rt, smtp_rt, smtpd, demo):
    smtpd.handler.refuse_rcpt[CUSTOMER] = "550 5.1.1 No such user here"
    api = Api(create_app(runtime=smtp_rt).test_client(), demo[1])
    workflow_id = api.create(EMAIL_WORKFLOW).get_json()["id"]
    Worker(smtp_rt).run_until_idle()

    note = Notification.get(Notification.workflow == workflow_id)
    assert (note.status, note.error_code) == ("FAILED", "SMTP_550")
    assert "No such user" in note.reason
    [event] = [e.data for e in Event.select().where(Event.type == "linx.notification-status-changed")]
    assert event["status"] == "FAILED"
    assert Workflow.get_by_id(workflow_id).status == "CREATED"
    assert smtpd.handler.envelopes == []


def test_a_greylisted_mailbox_is_retried(rt, smtp_rt, smtpd, demo):
    smtpd.handler.refuse_rcpt[CUSTOMER] = "450 4.2.0 Greylisted, try again later"
    api = Api(create_app(runtime=smtp_rt).test_client(), demo[1])
    workflow_id = api.create(EMAIL_WORKFLOW).get_json()["id"]
    Worker(smtp_rt).run_until_idle()

    job = Job.get(Job.kind == "notify")
    assert job.status == "DUE" and job.attempts == 1 and "450" in job.last_error
    assert Notification.get(Notification.workflow == workflow_id).status not in ("SENT", "FAILED")


@pytest.mark.parametrize("reply, permanent", [("554 5.7.1 Message rejected as spam", True),
                                              ("451 4.3.0 Local error in processing", False),
                                              ("421 4.3.2 Service shutting down", False)])
def test_data_replies_map_to_permanent_or_temporary(smtp_rt, smtpd, reply, permanent):
    smtpd.handler.refuse_data.append(reply)
    with pytest.raises(ChannelError) as caught:
        smtp_rt.channel("EMAIL").send(message())
    assert caught.value.permanent is permanent
    assert caught.value.code == "SMTP_" + reply[:3]


def test_a_server_that_is_down_is_a_temporary_error(rt, tmp_path):
    channel = smtp_runtime(rt, tmp_path, free_port()).channel("EMAIL")
    with pytest.raises(ChannelError) as caught:
        channel.send(message())
    assert caught.value.permanent is False


def test_starttls_asked_of_a_server_without_it_is_a_temporary_error(rt, tmp_path, smtpd):
    channel = smtp_runtime(rt, tmp_path, smtpd.port, smtp_starttls=True).channel("EMAIL")
    with pytest.raises(ChannelError) as caught:
        channel.send(message())
    assert caught.value.permanent is False and caught.value.code == "SMTP_NOT_SUPPORTED"
    assert smtpd.handler.envelopes == []


def test_an_address_that_cannot_be_a_header_is_refused_for_good(smtp_rt, smtpd):
    with pytest.raises(ChannelError) as caught:
        smtp_rt.channel("EMAIL").send(message(to="a@example.org\r\nBcc: b@example.org"))
    assert caught.value.permanent is True
    assert smtpd.handler.envelopes == []


def test_a_text_only_message_is_a_single_part(smtp_rt, smtpd):
    smtp_rt.channel("EMAIL").send(message(html=""))
    msg = smtpd.handler.envelopes[0]["message"]
    assert msg.get_content_type() == "text/plain"


# -- STARTTLS and login --------------------------------------------------------

@pytest.fixture
def tls_files(tmp_path):
    """A self-signed certificate for 127.0.0.1, and its key."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(hours=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def test_starttls_with_login_against_a_tls_server(rt, tmp_path, tls_files, monkeypatch):
    cert_path, key_path = tls_files
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert_path, key_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert_path))  # the client trusts the test certificate
    with SmtpServer(tls_context=server_tls, require_starttls=True, with_login=True) as server:
        channel = smtp_runtime(rt, tmp_path, server.port, smtp_starttls=True, smtp_username="linx",
                               smtp_password="s3cret").channel("EMAIL")
        sent = channel.send(message())
        [received] = server.handler.envelopes
        assert received["tls"] is True and received["login"] == "linx"
        assert received["message"]["Message-ID"] == sent.provider_id

        bad = smtp_runtime(rt, tmp_path, server.port, smtp_starttls=True, smtp_username="linx",
                           smtp_password="wrong").channel("EMAIL")
        with pytest.raises(ChannelError) as caught:
            bad.send(message())
        assert caught.value.permanent is False and caught.value.code == "SMTP_535"


def test_an_untrusted_certificate_is_a_temporary_error(rt, tmp_path, tls_files):
    cert_path, key_path = tls_files
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert_path, key_path)
    with SmtpServer(tls_context=server_tls, require_starttls=True) as server:
        channel = smtp_runtime(rt, tmp_path, server.port, smtp_starttls=True).channel("EMAIL")
        with pytest.raises(ChannelError) as caught:
            channel.send(message())
        assert caught.value.permanent is False
        assert server.handler.envelopes == []
