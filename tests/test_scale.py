"""The multi-process proof, on PostgreSQL: 2 web processes and 3 worker processes, 300 workflows driven end to end
over HTTP at once, and a worker SIGKILLed every few seconds (and replaced) while they run.

Everything is real: ``linx serve --workers 2 --no-worker`` (gunicorn's master and 2 processes) and ``linx worker``
processes, the twilio SDK in the workers talking to a fake Twilio API on loopback (the customers' phones), the
customers' browsers as ``requests`` sessions posting the Gateway's own forms (each customer on an address of its
own in 127.0.0.0/8, as customers are: the Gateway's rate limits count per address), the push-to-card sandbox
rail's ledger (a SQLite file under the instance folder the workers share) and a webhook receiver on loopback that
checks each delivery's Standard Webhooks signature.

Messages are sent at most once: a worker killed inside the provider call leaves the notification UNKNOWN and
maybe no link on the phone. LinX says so by webhook (the notification UNKNOWN) and the business resends, as a real
one would; the test counts the resends and prints them with its summary line, with the CPU time each side used.
"""
import http.cookiejar
import json
import logging
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
import requests
from requests.adapters import HTTPAdapter
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from urllib3.util.retry import Retry
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from linx_core import clock, store
from linx_core.demo import init_demo
from linx_core.runtime import Runtime
from linx_core.store.models import Event, Job, Notification, Transaction, TransactionStatus, Workflow
from linx_core.testing.postgres import temporary_database
from linx_plugins.push_to_card import PushToCardSandbox

from .conftest import DATA_KEY, SECRET_KEY, postgres_or_skip
from .conftest import test_settings as make_settings
from .fakes.twilio_api import FakeTwilioApi
from .journeys import body
from .test_gateway import Parsed, card, profile
from .test_serve import _free_port

pytestmark = pytest.mark.system  # real processes, servers or a browser: `make test-fast` skips them

LINX = str(Path(sys.executable).parent / "linx")
WORKFLOWS = 300
DRIVERS = 50  # customers (and their business's API calls) at once
WEB_PROCESSES = 2
WEB_THREADS = 8
WORKERS = 3
WORKER_CONCURRENCY = 4
LEASE_SECONDS = 5  # a killed worker's jobs come back this soon
KILL_EVERY = (2.0, 4.0)
LINK_WAIT_SECONDS = 120  # a link that neither arrives nor is reported lost by then is a failure
QUIET_WAIT_SECONDS = 150
SID, TOKEN, FROM = "AC" + "1" * 32, "scale-token", "+15005550006"
EXPECTED_HISTORY = ["NEW", "PENDING", "PROCESSING", "APPROVED", "SETTLED"]


# -- the database, the phones, the receiver ----------------------------------------------------------

@pytest.fixture
def scale_url():
    """A PostgreSQL database of this test's own (the workers must find no other test's jobs), dropped after."""
    admin = postgres_or_skip("the multi-process proof needs PostgreSQL, which")
    try:
        with temporary_database("linx_scale", admin) as (url, _, _):
            yield url
    finally:
        admin.close()


class Phones(FakeTwilioApi):
    """The fake Twilio API, with each accepted message also put in its recipient's inbox."""

    def __init__(self):
        super().__init__(SID, TOKEN)
        self.inbox = defaultdict(list)
        self.arrived = defaultdict(threading.Event)

    def handle(self, request):
        response = super().handle(request)
        if response.status_code == 201:
            message = json.loads(response.get_data())
            with self._lock:
                self.inbox[message["to"]].append(message["body"])
                arrived = self.arrived[message["to"]]
            arrived.set()
        return response

    def wait_link(self, phone, seen, timeout):
        """A link from a message to ``phone`` past the first ``seen`` ones, or None after ``timeout`` seconds."""
        with self._lock:
            arrived = self.arrived[phone]
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                messages = list(self.inbox[phone][seen:])
                arrived.clear()
            links = [word for text in messages for word in text.split() if "/l/" in word]
            if links:
                return links[-1].rstrip(".")
            left = deadline - time.monotonic()
            if left <= 0 or not arrived.wait(left):
                return None


class Receiver:
    """A webhook receiver on loopback: checks each delivery's signature, keeps what it got."""

    def __init__(self):
        self.secret = None
        self.deliveries = []  # (webhook-id, envelope) of each verified delivery
        self.refused = []
        self.lost = defaultdict(set)
        self._lock = threading.Lock()
        self._server = make_server("127.0.0.1", 0, self.wsgi, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self._server.server_port}/hook"

    def wsgi(self, environ, start_response):
        request = Request(environ)
        payload = request.get_data()
        try:
            envelope = Webhook(self.secret).verify(payload, dict(request.headers))
        except (WebhookVerificationError, TypeError, ValueError) as exc:
            with self._lock:
                self.refused.append(f"{request.headers.get('webhook-id')}: {exc}")
            return Response("bad signature", 400)(environ, start_response)
        data = envelope["data"]
        with self._lock:
            self.deliveries.append((request.headers["webhook-id"], envelope))
            if envelope["type"] == "linx.notification-status-changed" and data["status"] in ("UNKNOWN", "FAILED"):
                self.lost[data["workflowId"]].add(data["notificationId"])
        return Response("ok")(environ, start_response)

    def lost_messages(self, workflow_id):
        """The workflow's notifications LinX reported UNKNOWN or FAILED: the business learns it by webhook."""
        with self._lock:
            return set(self.lost[workflow_id])

    def ids(self):
        with self._lock:
            return {webhook_id for webhook_id, _ in self.deliveries}

    def stop(self):
        self._server.shutdown()
        self._server.server_close()


# -- the processes -----------------------------------------------------------------------------------

class Fleet:
    """The web server and the workers as subprocesses, each writing its output to a file of its own."""

    def __init__(self, env, folder):
        self.env, self.folder = env, folder
        self.workers = []
        self.kills = 0
        self.started = 0
        self._lock = threading.Lock()
        self.server = None

    def _start(self, args, name):
        with open(self.folder / f"{name}.log", "wb") as log:
            return subprocess.Popen([LINX, *args], env=self.env, cwd=self.folder, stdout=log,
                                    stderr=subprocess.STDOUT)

    def serve(self, port):
        self.server = self._start(["serve", "--port", str(port), "--workers", str(WEB_PROCESSES), "--threads",
                                   str(WEB_THREADS), "--no-worker"], "serve")

    def start_worker(self):
        """Start a worker and wait until it runs (its SIGTERM handler in place) before the next kill or the stop:
        a process still importing when the stop's SIGTERM comes dies of it instead of stopping."""
        with self._lock:
            self.started += 1
            log = self.folder / f"worker-{self.started}.log"
            process = self._start(["worker", "--concurrency", str(WORKER_CONCURRENCY)], log.stem)
            self.workers.append(process)
        running = wait_for(
            lambda: process.poll() is not None or "started (concurrency" in log.read_text(errors="replace"),
            60, step=0.05)
        assert running and process.poll() is None, f"{log.name}: {log.read_text(errors='replace')[-2000:]}"

    def kill_one(self, rng):
        """SIGKILL a random worker, then start its replacement."""
        with self._lock:
            victim = rng.choice(self.workers)
            self.workers.remove(victim)
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)
        self.kills += 1
        self.start_worker()

    def stop(self):
        """SIGTERM to everything (a graceful stop); the output of any that did not stop is kept in its file."""
        processes = [p for p in [*self.workers, self.server] if p is not None]
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
        return [(p.args[1], p.returncode) for p in processes]

    def output(self):
        return {path.name: path.read_text(errors="replace") for path in sorted(self.folder.glob("*.log"))}


def killer(fleet, stop, rng):
    while not stop.wait(rng.uniform(*KILL_EVERY)):
        fleet.kill_one(rng)


# -- the customers and the business ------------------------------------------------------------------

class LoopbackIsSecure(http.cookiejar.DefaultCookiePolicy):
    """As browsers do, count http://127.0.0.1 as a secure origin: the Gateway's session cookie is ``Secure``."""

    def return_ok_secure(self, cookie, request):
        return urlsplit(request.get_full_url()).hostname == "127.0.0.1" or super().return_ok_secure(cookie, request)


def retrying(**kwargs):
    """An adapter that sends a request again on a kept-alive connection the server closed meanwhile (as browsers
    do; the business's POSTs carry an Idempotency-Key, which makes that safe)."""
    return HTTPAdapter(max_retries=Retry(total=2, allowed_methods=None, status_forcelist=(), redirect=False),
                       **kwargs)


class FromAddress(HTTPAdapter):
    """Connections from one loopback address: one customer's device, retrying as :func:`retrying` does."""

    def __init__(self, address):
        self.address = address
        super().__init__(max_retries=retrying().max_retries)

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


class Browser(requests.Session):
    """One customer's browser, on an address of its own, sending its cookies as a browser does on loopback.

    (``requests`` sends a request's cookies from a fresh jar with the default policy, which withholds
    ``Secure`` cookies from http URLs: the request is given this session's own jar instead.)
    """

    def __init__(self, index):
        super().__init__()
        self.reloads = 0
        self.cookies.set_policy(LoopbackIsSecure())
        self.mount("http://", FromAddress(f"127.0.{1 + index // 250}.{1 + index % 250}"))

    def until_ready(self, page):
        """Reload "Almost ready" as the page says, should a step page ever answer it (opening the link activates
        a workflow whose first send was not recorded yet, even when the worker that sent it was killed)."""
        deadline = time.monotonic() + LINK_WAIT_SECONDS
        while page.status_code == 409 and "Almost ready" in page.text and time.monotonic() < deadline:
            time.sleep(1)
            self.reloads += 1
            page = self.get(page.url, timeout=30)
        assert page.status_code == 200, f"{page.url}: {page.status_code} {page.text[:500]}"
        return page

    def prepare_request(self, request):
        prepared = super().prepare_request(request)
        prepared.headers.pop("Cookie", None)
        prepared.prepare_cookies(self.cookies)
        return prepared


class Business:
    """The business's side: its API calls, with its key."""

    def __init__(self, base, key):
        self.base = base
        self.http = requests.Session()
        self.http.mount("http://", retrying(pool_maxsize=DRIVERS))
        self.http.headers["Authorization"] = f"Bearer {key}"

    def call(self, method, path, expect, **kwargs):
        response = self.http.request(method, self.base + path, timeout=30, **kwargs)
        assert response.status_code == expect, f"{method} {path}: {response.status_code} {response.text[:500]}"
        return response.json()


def drive(index, base, business, phones, receiver):
    """One workflow, end to end: created by the business, its link read on the phone, the Gateway's forms posted
    by the customer. Returns ``(workflow id, resends, reloads of a page not ready yet)``."""
    phone = f"+1647555{1000 + index:04d}"
    created = business.call("POST", "/v2/linx/workflows", 201, data=body(phone=phone),
                            headers={"Content-Type": "application/json", "Idempotency-Key": f"scale-{index}"})
    workflow_id, passcode = created["id"], created["passcode"]
    seen, resends, handled = 0, 0, set()
    deadline = time.monotonic() + LINK_WAIT_SECONDS
    link = None
    while link is None:
        assert time.monotonic() < deadline, f"workflow {workflow_id}: no link and no lost message reported"
        link = phones.wait_link(phone, seen, 1)
        lost = receiver.lost_messages(workflow_id) - handled
        if link is None and lost:  # LinX said the message may not have gone: send the link again
            handled |= lost
            with phones._lock:
                seen = len(phones.inbox[phone])  # a late message of the lost send would carry a link too
            passcode = business.call("POST", f"/v2/linx/workflows/{workflow_id}/resend", 200,
                                     headers={"Idempotency-Key": f"scale-{index}-resend-{resends}"})["passcode"]
            resends += 1
    assert link.startswith(base + "/l/"), link
    customer = Browser(index)
    page = customer.get(link, timeout=30)
    page = post_form(customer, page, "Continue", passcode=passcode)
    for _ in range(4):
        if urlsplit(page.url).path == f"/g/{workflow_id}/done":
            assert "Processing" in page.text, page.text[:500]
            return workflow_id, resends, customer.reloads
        h1 = " ".join(Parsed(page.text).h1.split())
        if h1 == "About you":
            page = post_form(customer, page, "Continue", **profile(email=f"customer{index}@example.com"))
        elif h1 == "Add your debit card":
            page = post_form(customer, page, "Continue", **card())
        elif h1 == "Confirm the payment":
            page = post_form(customer, page, "Confirm")
        else:
            raise AssertionError(f"workflow {workflow_id}: unexpected page {h1!r} at {page.url}")
    raise AssertionError(f"workflow {workflow_id}: not done after every step: {page.url}")


def post_form(customer, page, button, **values):
    """Post the form of ``page`` that has ``button``, with its own fields (CSRF token) and ``values``."""
    assert page.status_code == 200, f"{page.url}: {page.status_code} {page.text[:500]}"
    form = next((f for f in Parsed(page.text).forms if button in f["buttons"]), None)
    assert form is not None, f"{page.url}: no {button!r} form"
    answer = customer.post(urljoin(page.url, form["action"]), data={**form["fields"], **values}, timeout=30)
    return customer.until_ready(answer)


# -- the proof ---------------------------------------------------------------------------------------

def wait_for(condition, seconds, step=0.5):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return condition()


def test_300_workflows_on_2_web_and_3_worker_processes_with_workers_killed(scale_url, tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="werkzeug")  # not a line per webhook and SMS received
    started = time.monotonic()
    rng = random.Random(6)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    phones = Phones().start()
    receiver = Receiver()
    env = dict(os.environ, LINX_ENV="production", LINX_DATABASE_URL=scale_url, LINX_SECRET_KEY=SECRET_KEY,
               LINX_DATA_KEY=DATA_KEY, LINX_INSTANCE_PATH=str(tmp_path / "instance"), LINX_PUBLIC_URL=base,
               LINX_JOB_LEASE_SECONDS=str(LEASE_SECONDS), LINX_WORKER_POLL_SECONDS="0.2",
               LINX_WEBHOOK_ALLOW_PRIVATE="true", LINX_TWILIO_ACCOUNT_SID=SID, LINX_TWILIO_AUTH_TOKEN=TOKEN,
               LINX_TWILIO_FROM_NUMBER=FROM, LINX_TWILIO_API_URL=phones.url,
               LINX_SEND_PACING="off",  # 300 SMS at one number's 1 a second would take 5 minutes (test_throttle)
               LINX_QUIET_HOURS="off")  # whatever the hour in Toronto when the suite runs
    init = subprocess.run([LINX, "init"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert init.returncode == 0, init.stderr
    bound = store.db.obj  # the runtime below points the models at this test's database: put them back after
    rt = Runtime(make_settings(database_url=scale_url))  # the test's own view of the database
    with rt.database.connection_context():  # the demo data set (`linx init --demo` is for development only)
        business = Business(base, init_demo(rt)[1])
    fleet = Fleet(env, tmp_path)
    stop_killing = threading.Event()
    kills = threading.Thread(target=killer, args=(fleet, stop_killing, rng), daemon=True)
    try:
        fleet.serve(port)
        assert wait_for(lambda: _ready(base), 60), fleet.output()
        with rt.database.connection_context():
            before = {e.id for e in Event.select(Event.id)}  # the demo set's own events, before any subscription
        secret = business.call("POST", "/v2/push-notifications", 201,
                               json={"url": receiver.url, "eventTypes": ["*"]})["secret"]
        receiver.secret = secret
        for _ in range(WORKERS):
            fleet.start_worker()
        kills.start()

        with ThreadPoolExecutor(DRIVERS, thread_name_prefix="customer") as pool:
            outcomes = list(pool.map(lambda i: drive(i, base, business, phones, receiver), range(WORKFLOWS)))
        driven = time.monotonic() - started
        with rt.database.connection_context():
            assert wait_for(lambda: _count(Workflow, Workflow.status == "COMPLETED") == WORKFLOWS,
                            QUIET_WAIT_SECONDS), _statuses(Workflow)
        stop_killing.set()
        kills.join(30)
        with rt.database.connection_context():
            def undelivered():
                return {str(e.id) for e in Event.select(Event.id) if e.id not in before} - receiver.ids()

            quiet = wait_for(lambda: not _due_now() and not undelivered(), QUIET_WAIT_SECONDS)
            assert quiet, f"{len(undelivered())} events not delivered; {_due_now()} jobs due now"
            emitted = {str(e.id): e for e in Event.select() if e.id not in before}
            check_the_outcome(rt, tmp_path, [o[0] for o in outcomes], emitted, receiver)
            unknown = _count(Notification, Notification.status == "UNKNOWN")
        resends, reloads = sum(o[1] for o in outcomes), sum(o[2] for o in outcomes)
        deliveries = len(receiver.deliveries)
        summary = (f"scale: {WORKFLOWS} workflows COMPLETED on {WEB_PROCESSES} web and {WORKERS} worker processes; "
                   f"{fleet.kills} workers SIGKILLed; {unknown} notifications UNKNOWN; {resends} resends; "
                   f"{reloads} reloads of a page not ready yet; {len(emitted)} events, {deliveries} deliveries "
                   f"({deliveries - len(receiver.ids())} duplicates); driven in {driven:.0f} s, "
                   f"quiet after {time.monotonic() - started:.0f} s")
    finally:
        stop_killing.set()
        codes = fleet.stop()
        phones.stop()
        receiver.stop()
        if not rt.database.is_closed():
            rt.database.close()
        rt.database.close_all()
        if bound is not None:
            store.bind(bound)
    cpu = os.times()
    print(f"\n{summary}; CPU: {cpu.user + cpu.system:.0f} s in the test, "
          f"{cpu.children_user + cpu.children_system:.0f} s in the LinX processes")
    output = fleet.output()
    assert all(code == 0 for _, code in codes), (codes, output["serve.log"][-3000:])
    assert "Traceback" not in output["serve.log"], output["serve.log"][-3000:]


def check_the_outcome(rt, folder, workflow_ids, emitted, receiver):
    """The issue's expectations, and what they rest on: each transaction's history once, each event once."""
    assert len(set(workflow_ids)) == WORKFLOWS
    workflows = {str(w.id): w.status for w in Workflow.select()}
    assert set(workflows) == set(workflow_ids) and set(workflows.values()) == {"COMPLETED"}, _statuses(Workflow)

    transactions = list(Transaction.select())
    assert len(transactions) == WORKFLOWS and {str(t.workflow_id) for t in transactions} == set(workflow_ids)
    assert {t.status for t in transactions} == {"SETTLED"}, _statuses(Transaction)
    histories = defaultdict(list)
    for row in TransactionStatus.select().order_by(TransactionStatus.seq):
        histories[row.transaction_id].append(row.status)
    assert all(histories[t.id] == EXPECTED_HISTORY for t in transactions), Counter(
        tuple(h) for h in histories.values())

    transfers = PushToCardSandbox(folder / "instance" / "rails" / "push-to-card").ledger.transfers()
    assert len(transfers) == WORKFLOWS
    assert sorted(t["key"] for t in transfers) == sorted(str(t.id) for t in transactions)
    assert {t.rail_reference for t in transactions} == {t["reference"] for t in transfers}

    changes = Counter(str(e.subject_id) for e in emitted.values() if e.type == "transactions.status-changed")
    assert set(changes.values()) == {len(EXPECTED_HISTORY) - 1}, "one event per change from NEW on, never two"

    assert not receiver.refused, receiver.refused[:5]
    assert receiver.ids() <= set(emitted), "the receiver got an event id LinX did not emit"
    for webhook_id, envelope in receiver.deliveries:
        event = emitted[webhook_id]
        assert (envelope["id"], envelope["type"]) == (webhook_id, event.type)
        assert envelope["data"] == json.loads(json.dumps(event.data))

    now = clock.now()
    assert _count(Job, Job.status == "PARKED") == 0, list(Job.select().where(Job.status == "PARKED").dicts())[:3]
    assert not _due_now()
    later = list(Job.select().where(Job.status == "DUE"))
    # what waits is each workflow's reminder and expiry, due in hours or days: nothing for a COMPLETED workflow
    assert {j.kind for j in later} <= {"remind", "expire"} and all(j.run_at > now for j in later)
    assert {j.payload["workflowId"] for j in later} <= set(workflow_ids)


def _ready(base):
    try:
        return requests.get(base + "/readyz", timeout=2).status_code == 200
    except (requests.ConnectionError, requests.Timeout):
        return False


def _count(model, where):
    return model.select().where(where).count()


def _statuses(model):
    return dict(Counter(row.status for row in model.select(model.status)))


def _due_now():
    """Jobs whose time has come but that are not done: due, or held by a worker."""
    return _count(Job, ((Job.status == "DUE") & (Job.run_at <= clock.now())) | (Job.status == "RUNNING"))
