"""The shipped reverse-proxy configuration, deploy/nginx/linx.conf, run by a real nginx in front of
``linx serve --workers 2`` (production settings, PostgreSQL, LINX_PROXY_HOPS=1, a public https URL).

nginx runs unprivileged (``master_process off``, no daemon; as ``nobody`` when the suite runs as root) with a
prefix, a pid file, logs and temp folders of its own, on free high ports, with a self-signed certificate made
here with ``cryptography``. Of the two web units the file lists, one runs and the other is down, as while it
restarts during an upgrade: nginx passes what it cannot connect to on to the running one. Only what a
deployment fills in is changed in the file (the host name, the ports, the certificate and log paths): each
replacement is asserted to take place, so the test follows the file.

Through nginx, over https (``requests`` verifying against that certificate): the Gateway's cookies are
``Secure``; the Gateway's per-address rate limit counts each customer's real address (two addresses behind the
one proxy are counted apart, and a forged ``X-Forwarded-For`` changes nothing); a Twilio status callback signed
for the public https URL is taken (and one signed for LinX's own address is not); a webhook subscription, a create
and a customer's Gateway journey work end to end. Without nginx the test skips; with LINX_TEST_REQUIRE_NGINX=1
(set by ``.ci/run``, which installs Debian's nginx) that is a failure.
"""
import datetime as dt
import ipaddress
import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urljoin, urlsplit

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from requests.adapters import HTTPAdapter
from standardwebhooks.webhooks import Webhook
from twilio.request_validator import RequestValidator
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from linx_core.config import generate_secrets
from linx_core.testing.postgres import temporary_database

from .conftest import ROOT, postgres_or_skip
from .fakes.twilio_api import FakeTwilioApi
from .journeys import BA_ACCOUNT_ID, body
from .test_gateway import Parsed, card, profile
from .test_serve import _free_port, _wait

pytestmark = [pytest.mark.system, pytest.mark.postgres]

LINX = str(Path(sys.executable).parent / "linx")
CONF = ROOT / "deploy" / "nginx" / "linx.conf"
SID, TOKEN, FROM = "AC" + "4" * 32, "nginx-test-auth-token", "+15005550006"
LINK_LIMIT = 30  # link openings per client address per minute (gateway_app.gateway.security.DEFAULTS)
HOST = "127.0.0.1"


def nginx_or_skip():
    found = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.access(p, os.X_OK)), None)
    if found:
        return found
    if os.environ.get("LINX_TEST_REQUIRE_NGINX") == "1":
        pytest.fail("nginx is required (LINX_TEST_REQUIRE_NGINX=1) but not installed: apt-get install nginx")
    pytest.skip("nginx is not installed (apt-get install nginx; .ci/run installs it)")


def self_signed(folder):
    """A certificate for 127.0.0.1 (and localhost) and its key, as PEM files: ``(cert, key)``."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "linx test")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(HOST)),
                                                        x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_path.chmod(0o600)
    return cert_path, key_path


def site_config(folder, linx_port, https_port, http_port, cert, key):
    """deploy/nginx/linx.conf with what a deployment fills in filled in for this test."""
    text = CONF.read_text()
    replacements = [
        ("server 127.0.0.1:8000 ", f"server 127.0.0.1:{linx_port} "),
        ("server 127.0.0.1:8001 ", f"server 127.0.0.1:{_free_port()} "),  # the other web unit, down (restarting)
        ("listen 443 ssl http2;", f"listen {HOST}:{https_port} ssl http2;"),
        ("listen 80;", f"listen {HOST}:{http_port};"),
        ("/etc/letsencrypt/live/pay.example.com/fullchain.pem", str(cert)),
        ("/etc/letsencrypt/live/pay.example.com/privkey.pem", str(key)),
        ("/var/log/nginx/", f"{folder}/"),
        ("root /var/www/html;", f"root {folder}/acme;"),
        ("server_name pay.example.com;", "server_name localhost 127.0.0.1;"),
    ]
    for old, new in replacements:
        assert old in text, f"{CONF} no longer holds {old!r}: update this test with it"
        text = text.replace(old, new)
    ipv6 = [line for line in text.splitlines() if "[::]" in line]
    assert len(ipv6) == 2, ipv6  # the IPv6 listeners: this test listens on 127.0.0.1 alone
    text = "\n".join(line for line in text.splitlines() if "[::]" not in line)
    directives = "\n".join(line.split("#")[0] for line in text.splitlines())
    assert "/etc/" not in directives and "/var/" not in directives, "a path the test did not replace"
    return text


def unprivileged_folder(tmp_path):
    """nginx's folder, and how to run it unprivileged: as the suite's own user, or as ``nobody`` in a folder of its
    own when the suite runs as root (pytest's folders are root's alone then)."""
    if os.geteuid() != 0:
        folder = tmp_path / "nginx"
        folder.mkdir()
        return folder, {}
    nobody = pwd.getpwnam("nobody")
    return Path(tempfile.mkdtemp(prefix="linx-nginx-")), {"user": nobody.pw_uid, "group": nobody.pw_gid,
                                                          "extra_groups": []}


def hand_over(folder, as_user):
    """Give ``folder`` and all in it to the user nginx runs as."""
    if as_user:
        for path in [folder, *folder.rglob("*")]:
            os.chown(path, as_user["user"], as_user["group"])


def nginx_config(folder, site):
    """A whole nginx.conf around the site: everything under ``folder``, one process, in the foreground."""
    for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (folder / name).mkdir()
    (folder / "linx.conf").write_text(site)
    (folder / "nginx.conf").write_text(f"""
daemon off;
master_process off;
pid {folder}/nginx.pid;
error_log {folder}/error.log info;
events {{ worker_connections 256; }}
http {{
    access_log {folder}/access.log;
    client_body_temp_path {folder}/client_body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    include {folder}/linx.conf;
}}
""")
    return folder / "nginx.conf"


class Receiver:
    """A webhook receiver on loopback that verifies each delivery's signature."""

    def __init__(self):
        self.secret = None
        self.events, self.refused = [], []
        self._lock = threading.Lock()
        self._server = make_server("127.0.0.1", 0, self.wsgi, threaded=True)
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self._server.server_port}/hook"

    def wsgi(self, environ, start_response):
        request = Request(environ)
        try:
            envelope = Webhook(self.secret).verify(request.get_data(), dict(request.headers))
        except Exception as exc:  # noqa: BLE001 - any failure to verify is a refusal, recorded
            with self._lock:
                self.refused.append(str(exc))
            return Response("bad signature", 400)(environ, start_response)
        with self._lock:
            self.events.append(envelope)
        return Response("ok")(environ, start_response)

    def types(self):
        with self._lock:
            return [e["type"] for e in self.events]

    def stop(self):
        self._server.shutdown()
        self._server.server_close()


class FromAddress(HTTPAdapter):
    """Connections from one loopback address: one customer's device."""

    def __init__(self, address):
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


def https(cert, address=None):
    """A session that trusts ``cert`` alone (not REQUESTS_CA_BUNDLE from the environment, which would win over
    a session's ``verify``), from ``address`` when given."""
    session = requests.Session()
    session.trust_env = False
    session.verify = str(cert)
    if address:
        session.mount("https://", FromAddress(address))
    return session


@pytest.fixture
def stack(tmp_path):
    """PostgreSQL, a business, ``linx serve --workers 2`` in production behind nginx with TLS: a namespace with
    ``base`` (the public https URL), ``cert``, ``key`` (the business's API key), ``twilio``, ``receiver``, ``http``
    (nginx's plain-http address), ``inside`` (LinX's own address behind nginx), ``nginx_errors`` (its error log)."""
    nginx = nginx_or_skip()
    admin = postgres_or_skip("the deployment test needs PostgreSQL, which")
    twilio = FakeTwilioApi(SID, TOKEN).start()
    receiver = Receiver()
    processes, cleanups = [], []
    try:
        with temporary_database("linx_nginx", admin) as (url, _, _):
            linx_port, https_port, http_port = _free_port(), _free_port(), _free_port()
            base = f"https://{HOST}:{https_port}"
            env = {k: v for k, v in os.environ.items() if not k.startswith("LINX_")}
            env.update(generate_secrets(), LINX_ENV="production", LINX_DATABASE_URL=url, LINX_PUBLIC_URL=base,
                       LINX_PROXY_HOPS="1", LINX_INSTANCE_PATH=str(tmp_path / "instance"),
                       LINX_TWILIO_ACCOUNT_SID=SID, LINX_TWILIO_AUTH_TOKEN=TOKEN, LINX_TWILIO_FROM_NUMBER=FROM,
                       LINX_TWILIO_API_URL=twilio.url, LINX_WEBHOOK_ALLOW_PRIVATE="true",  # the receiver: loopback
                       LINX_WORKER_POLL_SECONDS="0.2", LINX_LOG_FORMAT="json",
                       LINX_QUIET_HOURS="off")  # production holds SMS at the customer's night: the test runs any hour

            def linx(*args):
                done = subprocess.run([LINX, *args], env=env, cwd=tmp_path, capture_output=True, text=True,
                                      timeout=120)
                assert done.returncode == 0, done.stderr
                return done.stdout

            linx("migrate")
            key = json.loads(linx("business", "create", "Acme", "--json"))["apiKey"]
            linx("business", "account", "Acme", "--id", BA_ACCOUNT_ID, "--number", "000123456789")
            log = open(tmp_path / "linx.log", "w")  # noqa: SIM115 - closed with the processes below
            processes.append((subprocess.Popen(
                [LINX, "serve", "--workers", "2", "--port", str(linx_port)], env=env, cwd=tmp_path,
                stdout=log, stderr=subprocess.STDOUT), log))
            nginx_dir, as_user = unprivileged_folder(tmp_path)
            cleanups.append(lambda: shutil.rmtree(nginx_dir, ignore_errors=True))
            cert, pem_key = self_signed(nginx_dir)
            conf = nginx_config(nginx_dir, site_config(nginx_dir, linx_port, https_port, http_port, cert, pem_key))
            (nginx_dir / "acme" / ".well-known" / "acme-challenge").mkdir(parents=True)
            (nginx_dir / "acme" / ".well-known" / "acme-challenge" / "token-1").write_text("token-1.thumbprint")
            hand_over(nginx_dir, as_user)
            test = subprocess.run([nginx, "-t", "-p", str(nginx_dir), "-c", str(conf), "-e", str(nginx_dir / "err")],
                                  capture_output=True, text=True, timeout=30, **as_user)
            assert test.returncode == 0, test.stderr
            nginx_log = open(nginx_dir / "stdout.log", "w")  # noqa: SIM115
            processes.append((subprocess.Popen([nginx, "-p", str(nginx_dir), "-c", str(conf), "-e",
                                                str(nginx_dir / "err")], stdout=nginx_log,
                                               stderr=subprocess.STDOUT, **as_user), nginx_log))

            def up():
                try:
                    return requests.get(f"{base}/readyz", verify=str(cert), timeout=3).status_code == 200
                except (requests.ConnectionError, requests.Timeout):
                    return False

            assert _wait(up, 60), (tmp_path / "linx.log").read_text()[-3000:]
            if as_user:  # nginx runs as nobody, not as the suite's root
                assert os.stat(f"/proc/{processes[-1][0].pid}").st_uid == as_user["user"]

            yield SimpleNamespace(base=base, cert=cert, key=key, twilio=twilio, receiver=receiver,
                                  http=f"http://{HOST}:{http_port}", inside=f"http://127.0.0.1:{linx_port}",
                                  nginx_errors=nginx_dir / "linx.error.log")
    finally:
        for process, log in reversed(processes):
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            log.close()
        receiver.stop()
        twilio.stop()
        admin.close()
        for cleanup in cleanups:
            cleanup()


def test_linx_behind_nginx_with_tls(stack):
    business = https(stack.cert)
    business.headers["Authorization"] = f"Bearer {stack.key}"

    # plain http only redirects, but for certbot's challenges; https answers with HSTS and LinX's own headers
    redirect = requests.get(f"{stack.http}/v2/openapi.json", allow_redirects=False, timeout=10)
    assert redirect.status_code == 301 and redirect.headers["Location"].startswith("https://")
    challenge = requests.get(f"{stack.http}/.well-known/acme-challenge/token-1", allow_redirects=False, timeout=10)
    assert (challenge.status_code, challenge.text) == (200, "token-1.thumbprint")
    ready = requests.get(f"{stack.base}/readyz", verify=str(stack.cert), timeout=10)
    assert ready.headers["Strict-Transport-Security"] == "max-age=63072000"
    assert ready.headers["X-Frame-Options"] == "DENY"
    # nginx refuses a body over LINX_MAX_BODY_BYTES before LinX reads it
    assert business.post(f"{stack.base}/v2/linx/workflows", data=b"x" * (2 << 20), timeout=30,
                         headers={"Content-Type": "application/json"}).status_code == 413

    # a webhook subscription, then a create
    subscription = business.post(f"{stack.base}/v2/push-notifications", timeout=30,
                                 json={"url": stack.receiver.url, "eventTypes": ["*"]})
    assert subscription.status_code == 201, subscription.text
    stack.receiver.secret = subscription.json()["secret"]
    created = business.post(f"{stack.base}/v2/linx/workflows", data=body(phone="+16475550199"), timeout=30,
                            headers={"Content-Type": "application/json", "Idempotency-Key": "nginx-test-0001"})
    assert created.status_code == 201, created.text
    workflow_id, passcode = created.json()["id"], created.json()["passcode"]

    # the SMS the worker sent through the twilio SDK carries a link on the public https URL
    sent = _wait(lambda: stack.twilio.messages, 30)
    assert sent, "no SMS was sent"
    link = next(word for word in sent[0]["body"].split() if "/l/" in word).rstrip(".")
    assert link.startswith(f"{stack.base}/l/"), link

    # a Twilio status callback, signed for the public URL, through nginx (once the worker has recorded the send:
    # Twilio's message id is written when its API answers, a moment after the message reached it)
    history_url = f"{stack.base}/v2/linx/workflows/{workflow_id}/notifications/history"

    def statuses():
        return [n["status"] for n in business.get(history_url, timeout=10).json()["content"]]

    assert _wait(lambda: statuses() == ["SENT"], 30), statuses()
    callback = f"{stack.base}/callbacks/twilio/status"
    form = {"MessageSid": sent[0]["sid"], "MessageStatus": "delivered", "AccountSid": SID, "To": "+16475550199"}
    signed = RequestValidator(TOKEN).compute_signature(callback, form)
    plain = RequestValidator(TOKEN).compute_signature(callback.replace("https://", "http://"), form)
    inside = RequestValidator(TOKEN).compute_signature(f"{stack.inside}/callbacks/twilio/status", form)
    for signature, expected in ((inside, 403), (plain, 403), ("forged", 403), (signed, 204)):
        answer = requests.post(callback, data=form, headers={"X-Twilio-Signature": signature},
                               verify=str(stack.cert), timeout=10)
        assert answer.status_code == expected, (signature, answer.text)
    assert statuses() == ["DELIVERED"]

    # the customer's journey over https; every cookie the Gateway sets is Secure and HttpOnly
    customer = https(stack.cert, "127.0.0.10")
    page = customer.get(link, timeout=30)
    assert page.status_code == 200, page.text[:500]
    set_cookies = [r.headers.get("Set-Cookie") for r in [*page.history, page] if r.headers.get("Set-Cookie")]
    page = post_form(customer, page, "Continue", passcode=passcode)
    for _ in range(4):
        if urlsplit(page.url).path == f"/g/{workflow_id}/done":
            break
        set_cookies += [r.headers.get("Set-Cookie") for r in [*page.history, page] if r.headers.get("Set-Cookie")]
        h1 = " ".join(Parsed(page.text).h1.split())
        values = {"About you": profile, "Add your debit card": card}.get(h1, dict)()
        page = post_form(customer, page, "Confirm" if h1 == "Confirm the payment" else "Continue", **values)
    assert urlsplit(page.url).path == f"/g/{workflow_id}/done", page.url
    assert page.url.startswith(stack.base)  # every redirect stayed on the public https address
    assert set_cookies, "the Gateway set no cookie"
    for header in set_cookies:
        attributes = [a.strip().lower() for a in header.split(";")]
        assert "secure" in attributes and "httponly" in attributes, header
    assert all(c.secure for c in customer.cookies)

    # the business hears of it by signed webhooks, delivered by the worker
    assert _wait(lambda: "transactions.status-changed" in stack.receiver.types(), 60), stack.receiver.types()
    assert "linx.workflow-status-changed" in stack.receiver.types() and not stack.receiver.refused
    # all the while the other web unit was down: nginx tried it, and passed the request on
    assert "Connection refused) while connecting to upstream" in stack.nginx_errors.read_text()


def test_rate_limits_count_each_customer_behind_the_proxy(stack):
    """Two customers behind the one nginx: the first runs out of link openings, the second still has all of his;
    a forged X-Forwarded-For (the client's own claim, before nginx's entry) changes nothing."""
    first, second = https(stack.cert, "127.0.0.2"), https(stack.cert, "127.0.0.3")
    statuses = [first.get(f"{stack.base}/l/no-such-token", timeout=10,
                          headers={"X-Forwarded-For": f"203.0.113.{n}"}).status_code for n in range(LINK_LIMIT + 2)]
    assert statuses[:LINK_LIMIT] == [410] * LINK_LIMIT and statuses[LINK_LIMIT:] == [429, 429], statuses
    assert [second.get(f"{stack.base}/l/no-such-token", timeout=10).status_code for _ in range(3)] == [410] * 3
    assert first.get(f"{stack.base}/l/no-such-token", timeout=10).status_code == 429


def post_form(customer, page, button, **values):
    """Post the form of ``page`` that has ``button``, with its own fields (CSRF token) and ``values``."""
    assert page.status_code == 200, f"{page.url}: {page.status_code} {page.text[:500]}"
    form = next((f for f in Parsed(page.text).forms if button in f["buttons"]), None)
    assert form is not None, f"{page.url}: no {button!r} form in {page.text[:800]}"
    return customer.post(urljoin(page.url, form["action"]), data={**form["fields"], **values}, timeout=30)
