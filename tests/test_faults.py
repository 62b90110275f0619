"""Faults: each ends without loss, without duplication, and with LinX recovering on its own.

The five faults of the operating requirements, and where each is shown:

- the webhook receiver is down for several attempts, then comes back:
  ``tests/test_webhooks.py::test_receiver_down_then_up_every_event_arrives_signed_and_duplicates_share_webhook_id``
  (every event arrives, signed; a repeated delivery has the same ``webhook-id`` and body);
- the fake Twilio API answers 500, then 429 with ``Retry-After``, then 201:
  ``tests/test_channel_twilio.py::test_500_then_429_then_201_is_sent_after_retries_honouring_retry_after``
  (one message, sent on the third request, not before ``Retry-After``);
- the rail times out after accepting, the PostgreSQL connections are terminated mid-run, and the SQLite
  database is busy under concurrent writers: here, with real ``linx serve`` and ``linx worker``
  processes, real HTTP on loopback and the real databases.
"""
import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import zlib
from pathlib import Path

import pytest
import requests

from linx_core import clock
from linx_core.errors import ConfigurationError
from linx_core.runtime import Runtime
from linx_core.sandbox import RESPONSE_DELAY_ENV
from linx_core.services.transactions import history
from linx_core.store import is_postgres, open_database
from linx_core.store.models import Job, Notification, Workflow
from linx_core.testing.postgres import temporary_database
from linx_core.worker import Worker
from linx_plugins.push_to_card import PushToCardSandbox

from .conftest import seed_examples
from .conftest import test_settings as make_settings
from .journeys import api_for, body, create, freeze, rail_runtime, reload, to_confirmation
from .test_serve import _children

pytestmark = pytest.mark.system  # real processes, servers or a browser: `make test-fast` skips them

LINX = str(Path(sys.executable).parent / "linx")
TUESDAY = dt.datetime(2026, 2, 3, 15, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def real_clock_afterwards():
    yield
    clock.set_clock(None)


def _wait(condition, seconds=60, step=0.2):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(step)
    return condition()


# -- the rail times out after accepting ----------------------------------------------------------------


def test_a_rail_that_accepts_and_never_answers_is_asked_again_with_the_same_key(rt, demo, tmp_path, monkeypatch):
    runtime = rail_runtime(rt, tmp_path, rail_timeout_seconds=1)
    frozen = freeze(TUESDAY)
    workflow_id = create(api_for(runtime, demo[1]), body(phone="+16475550611"))
    tx = to_confirmation(runtime, workflow_id)  # PENDING, its submit job due now
    rail = PushToCardSandbox(tmp_path / "rails" / "push-to-card")  # the rail's side, read by the test
    monkeypatch.setenv(RESPONSE_DELAY_ENV, "600")  # the rail records the transfer, then its answer never comes
    worker = Worker(runtime)

    assert worker.run_until_idle() == 1  # the submit gives up after the deadline instead of hanging
    assert _wait(lambda: len(rail.ledger.transfers()) == 1, seconds=30)  # the rail did accept it
    row = reload(tx)
    assert (row.status, row.rail_reference) == ("PROCESSING", None)  # LinX does not know the outcome
    submit = Job.get(Job.kind == "transaction.submit")
    assert submit.status == "DUE" and submit.attempts == 1 and "RAIL_TIMEOUT" in submit.last_error

    frozen.advance(seconds=10)  # past the retry's backoff and the transfer's settlement
    worker.run_until_idle()
    frozen.advance(seconds=10)
    worker.run_until_idle()

    row = reload(tx)
    transfers = rail.ledger.transfers()
    assert len(transfers) == 1 and transfers[0]["key"] == str(tx.id)  # the retry found the first transfer
    assert (row.status, row.rail_reference) == ("SETTLED", transfers[0]["reference"])
    assert [h.status for h in history(row)] == ["NEW", "PENDING", "PROCESSING", "APPROVED", "SETTLED"]
    assert (Job.get_by_id(submit.id).status, Job.get_by_id(submit.id).attempts) == ("DONE", 2)
    assert Workflow.get_by_id(workflow_id).status == "COMPLETED"
    assert Job.select().where(Job.kind.startswith("transaction.") & (Job.status != "DONE")).count() == 0
    assert Job.select().where(Job.status == "PARKED").count() == 0


def test_a_rail_error_within_the_deadline_is_the_rails_own(rt, demo, tmp_path):
    """The deadline changes nothing for a rail that answers: a permanent refusal still ends in ERROR."""
    runtime = rail_runtime(rt, tmp_path, rail_timeout_seconds=30)
    freeze(TUESDAY)
    form = {"holderName": "Jane Doe", "cardNumber": "4000000000000127", "expiry": "12/30", "postalCode": "10001"}
    workflow_id = create(api_for(runtime, demo[1]), body(phone="+16475550612"))
    tx = to_confirmation(runtime, workflow_id, account_form=form)
    Worker(runtime).run_until_idle()
    row = reload(tx)
    assert row.status == "ERROR" and [h.status for h in history(row)][-1] == "ERROR"
    assert "INVALID_ACCOUNT" in history(row)[-1].message


# -- real processes ------------------------------------------------------------------------------------


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Linx:
    """``linx`` commands and long-running ``linx serve`` / ``linx worker`` processes on one database."""

    def __init__(self, folder, database_url):
        self.folder = folder
        self.env = dict(os.environ, LINX_ENV="development", LINX_DATABASE_URL=database_url,
                        LINX_INSTANCE_PATH=str(folder / "instance"), LINX_WORKER_POLL_SECONDS="0.2",
                        LINX_JOB_LEASE_SECONDS="5")
        for name in ("LINX_SECRET_KEY", "LINX_DATA_KEY", RESPONSE_DELAY_ENV):
            self.env.pop(name, None)
        self.processes = []

    def init_demo(self):
        done = subprocess.run([LINX, "init", "--demo", "--json"], env=self.env, cwd=self.folder, capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)["apiKey"]

    def start(self, *args, **env):
        log = self.folder / f"{args[0]}-{len(self.processes)}.log"
        handle = open(log, "w")  # noqa: SIM115 - the process writes to it until stop() closes it
        process = subprocess.Popen([LINX, *args], env=dict(self.env, **env), cwd=self.folder, stdout=handle,
                                   stderr=subprocess.STDOUT, text=True)
        self.processes.append((process, handle, log))
        return process

    def work(self, concurrency=2):
        """A ``linx worker`` process, once it runs its loop."""
        process = self.start("worker", "--concurrency", str(concurrency))
        log = self.processes[-1][2]
        assert _wait(lambda: " started (concurrency" in log.read_text() or process.poll() is not None)
        assert process.poll() is None, log.read_text()
        return process

    def serve(self, **env):
        port = _free_port()
        self.start("serve", "--no-worker", "--port", str(port), **env)
        base = f"http://127.0.0.1:{port}"

        def up():
            try:
                return requests.get(f"{base}/healthz", timeout=2).status_code == 200
            except requests.ConnectionError:
                return False

        assert _wait(up), "the server did not come up"
        return base

    def stop(self):
        """Stop every process; returns {log name: output}."""
        outputs = {}
        for process, handle, log in self.processes:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(10)
            handle.close()
            outputs[log.name] = log.read_text()
        return outputs


@pytest.fixture
def linx_processes():
    started = []

    def make(folder, url):
        linx = Linx(folder, url)
        started.append(linx)
        return linx

    yield make
    for linx in started:
        linx.stop()


class Client:
    """Creates workflows over HTTP as a careful business does: an Idempotency-Key each, retried on 503."""

    def __init__(self, base, key):
        self.base = base
        self.headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        self.answers = []  # (status, errorCode, Retry-After) of every response
        self.troubles = []  # anything but a 201 or a clean 503
        self.created = {}  # Idempotency-Key -> workflow id
        self.lock = threading.Lock()

    def post(self, idempotency_key):
        """Seed example 3 (a rebate to a new customer's new card) to a number of this key's own: the recipient limits
        (20 an hour) never refuse it (example 4 names John Doe, whose own number alone it may go to)."""
        body = json.loads(seed_examples()[2])
        body["parameters"]["phoneNumber"] = f"+1647555{zlib.crc32(idempotency_key.encode()) % 10_000:04d}"
        response = requests.post(f"{self.base}/v2/linx/workflows", data=json.dumps(body), timeout=60,
                                 headers=dict(self.headers, **{"Idempotency-Key": idempotency_key}))
        code = response.json().get("errorCode") if response.status_code >= 400 else None
        with self.lock:
            self.answers.append((response.status_code, code, response.headers.get("Retry-After")))
        return response

    def create(self, idempotency_key, attempts=30):
        for _ in range(attempts):
            try:
                response = self.post(idempotency_key)
            except requests.RequestException as exc:
                self.troubles.append((idempotency_key, repr(exc)))
                return None
            if response.status_code == 201:
                with self.lock:
                    self.created[idempotency_key] = response.json()["id"]
                return response.json()["id"]
            body = response.json()
            if response.status_code != 503 or not response.headers.get("Retry-After") or not body.get("traceId"):
                self.troubles.append((idempotency_key, response.status_code, body))
                return None
            time.sleep(float(response.headers["Retry-After"]))
        self.troubles.append((idempotency_key, "still 503 after every attempt"))
        return None

    def create_many(self, keys, threads=4):
        def run(share):
            for key in share:
                self.create(key)

        workers = [threading.Thread(target=run, args=(keys[i::threads],)) for i in range(threads)]
        for thread in workers:
            thread.start()
        for thread in workers:
            thread.join(300)


def _check_store(runtime, client, keys):
    """Every key made exactly one workflow; every job due is done; every workflow's link went out once."""
    runtime.bind()
    with runtime.database.connection_context():
        assert client.troubles == []
        assert sorted(client.created) == sorted(keys)
        ids = set(client.created.values())
        assert len(ids) == len(keys)  # no two keys share a workflow
        assert {str(w.id) for w in Workflow.select()} == ids  # none lost, none made twice

        def pending():  # running, or due: now, or later when a cut made it retry (only reminders and expiry
            waiting = Job.kind.in_(("remind", "expire"))  # are meant to wait for their time)
            return list(Job.select().where((Job.status == "RUNNING") | (
                (Job.status == "DUE") & ((Job.run_at <= clock.now()) | ~waiting))))

        assert _wait(lambda: not pending(), seconds=120), [(j.kind, j.status, j.last_error) for j in pending()]
        assert Job.select().where(Job.status == "PARKED").count() == 0
        notes = list(Notification.select())
        assert sorted(str(n.workflow_id) for n in notes) == sorted(ids)  # one link message per workflow
        # DELIVERED (the console channel's answer); UNKNOWN when a cut fell between the send and its record:
        # at most once, the message is not sent again
        assert {(n.status, n.error_code) for n in notes} <= {("DELIVERED", None), ("UNKNOWN", "INTERRUPTED")}
        assert {w.status for w in Workflow.select()} == {"ACTIVE"}
    inbox = [json.loads(line) for line in (Path(runtime.settings.instance_path) / "dev-messages.jsonl").open()]
    assert sorted(m["workflowId"] for m in inbox) == sorted(ids)  # every link went out, and once


def _no_tracebacks(outputs):
    for name, text in outputs.items():
        assert "Traceback" not in text, f"{name}:\n{text[-4000:]}"


# -- PostgreSQL connections terminated mid-run -------------------------------------------------------------


@pytest.fixture
def own_postgres(postgres_url):
    """A database of this test's own on the test server: its connections are the test's to terminate."""
    with temporary_database("linx_faults") as own:
        yield own


def _terminate(admin, name):
    """Terminate every connection to ``name`` but the admin's own; returns how many."""
    with admin.cursor() as cur:
        cur.execute("SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = %s AND pid <> pg_backend_pid()", (name,))
        return cur.fetchone()[0]


def test_postgres_connections_terminated_mid_run_web_and_worker_recover_without_a_restart(
        own_postgres, linx_processes, tmp_path):
    url, name, admin = own_postgres
    linx = linx_processes(tmp_path, url)
    key = linx.init_demo()
    base = linx.serve()
    worker = linx.work()
    client = Client(base, key)
    assert client.create("warm-up-0001")  # both processes hold pooled connections from here on

    # connections cut again and again while creates come in and the worker sends their links
    keys = [f"during-cuts-{i:04d}" for i in range(32)]
    terminated = []

    def cut():
        for _ in range(8):
            time.sleep(0.3)
            terminated.append(_terminate(admin, name))

    cutter = threading.Thread(target=cut)
    cutter.start()
    client.create_many(keys)
    cutter.join(60)
    assert sum(terminated) >= 8  # the cuts did hit LinX's connections

    # the database refuses every connection for a while: a clean 503, never a 500
    with admin.cursor() as cur:
        cur.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')
    _terminate(admin, name)  # whatever LinX still holds goes too (the last cut may have left it none)
    refused = client.post("while-down-0001")
    assert refused.status_code == 503 and refused.headers["Retry-After"] == "2"
    assert refused.json()["errorCode"] == "DATABASE_UNAVAILABLE" and refused.json()["traceId"]
    assert refused.headers["X-Trace-Id"] == refused.json()["traceId"]
    listed = requests.get(f"{base}/v2/linx/workflows", headers=client.headers, timeout=30)
    assert listed.status_code == 503 and listed.json()["errorCode"] == "DATABASE_UNAVAILABLE"
    page = requests.get(f"{base}/l/{'x' * 43}", timeout=30)  # the customer's side: a page that says try again
    assert page.status_code == 503 and page.headers["Retry-After"] == "2" and "Try again later" in page.text
    with admin.cursor() as cur:
        cur.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true')

    # the same processes carry on: the refused create goes through on its retry, and every job gets done
    assert client.create("while-down-0001")
    assert client.create("after-0001")
    assert {status for status, _, _ in client.answers} <= {201, 503}
    assert {code for status, code, _ in client.answers if status == 503} == {"DATABASE_UNAVAILABLE"}
    alive = [p.poll() is None for p, _, _ in linx.processes]
    assert alive == [True, True] and worker.poll() is None

    runtime = Runtime(make_settings(database_url=url, instance_path=str(tmp_path / "instance")))
    try:
        _check_store(runtime, client, ["warm-up-0001", *keys, "while-down-0001", "after-0001"])
    finally:
        runtime.database.close_all()
    _no_tracebacks(linx.stop())


@pytest.mark.parametrize("idempotency_key", [None, "lost-at-commit-1"])
def test_a_connection_lost_at_a_creates_commit_answers_503_and_keeps_nothing(rt, api, monkeypatch, idempotency_key):
    """The create's last inserts travel with its COMMIT (write_behind): when that is what the cut hits, the client
    hears 503 DATABASE_UNAVAILABLE (retry), never 500, and the server kept nothing of it."""
    if not is_postgres(rt.database):
        pytest.skip("a PostgreSQL connection to terminate")
    from linx_core.services import workflows
    from linx_core.testing.postgres import admin_connection

    schedule = workflows._schedule_expiry

    def then_cut(workflow):  # the transaction's last write, held back to go with the COMMIT; then the cut
        schedule(workflow)
        pid = rt.database.connection().get_backend_pid()
        admin = admin_connection()
        try:
            with admin.cursor() as cur:
                cur.execute("SELECT pg_terminate_backend(%s)", (pid,))
        finally:
            admin.close()

    monkeypatch.setattr(workflows, "_schedule_expiry", then_cut)
    headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
    answer = api.create(None, raw=seed_examples()[3], headers=headers)
    assert answer.status_code == 503, answer.get_json()
    assert answer.get_json()["errorCode"] == "DATABASE_UNAVAILABLE" and answer.headers["Retry-After"]
    rt.bind()
    assert Workflow.select().count() == 0 and Job.select().count() == 0
    monkeypatch.setattr(workflows, "_schedule_expiry", schedule)
    again = api.create(None, raw=seed_examples()[3], headers=headers)  # the same process goes on; the key is free
    assert again.status_code == 201, again.get_json()
    assert Workflow.select().count() == 1


def test_processes_started_while_postgresql_refuses_connections_wait_for_it(own_postgres, linx_processes, tmp_path):
    """A compose file or a reboot starts LinX before its database: ``linx serve`` and ``linx worker`` wait for it,
    saying so, and come up when it does; a SIGTERM while they wait stops them cleanly."""
    url, name, admin = own_postgres
    linx = linx_processes(tmp_path, url)
    key = linx.init_demo()
    with admin.cursor() as cur:
        cur.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')
    port = _free_port()
    server = linx.start("serve", "--no-worker", "--port", str(port))
    worker = linx.start("worker", "--concurrency", "1")
    given_up = linx.start("worker")
    logs = {process: log for process, _, log in linx.processes}

    def waiting(process):
        return _wait(lambda: logs[process].read_text().count("the database cannot be reached") >= 2
                     or process.poll() is not None, seconds=30)

    assert all(waiting(p) for p in (server, worker, given_up)), {p.args[1]: logs[p].read_text() for p in logs}
    assert [p.poll() for p in (server, worker, given_up)] == [None, None, None]
    assert f'database "{name}" is not currently accepting connections' in logs[worker].read_text()  # says why
    assert "Traceback" not in logs[worker].read_text() and "Traceback" not in logs[server].read_text()
    given_up.send_signal(signal.SIGTERM)  # a supervisor changing its mind: a clean exit, no job taken
    assert given_up.wait(20) == 0, logs[given_up].read_text()

    with admin.cursor() as cur:
        cur.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true')
    base = f"http://127.0.0.1:{port}"
    assert _wait(lambda: "LinX is serving" in logs[server].read_text() or server.poll() is not None), \
        logs[server].read_text()
    assert _wait(lambda: " started (concurrency" in logs[worker].read_text() or worker.poll() is not None), \
        logs[worker].read_text()
    client = Client(base, key)
    assert _wait(lambda: _ready(base)), logs[server].read_text()
    assert client.create("after-the-wait-0001") and client.create("after-the-wait-0002")
    runtime = Runtime(make_settings(database_url=url, instance_path=str(tmp_path / "instance")))
    try:
        _check_store(runtime, client, ["after-the-wait-0001", "after-the-wait-0002"])  # the worker sent both links
    finally:
        runtime.database.close_all()
    _no_tracebacks(linx.stop())


def test_a_database_that_refuses_for_good_or_is_not_set_up_is_refused_at_once(own_postgres, tmp_path):
    """Waiting is for a database on its way; a wrong URL (no such database or role) or one `linx init` has not
    set up is an exit 2 that says so, at once, and never shows the URL's password."""
    url, name, _ = own_postgres  # an empty database: not set up
    secret = url.replace("postgres@", "postgres:pw-not-for-logs@", 1)  # trust auth: the password is not checked
    cases = {secret: "not set up", url.rsplit("/", 1)[0] + "/linx_no_such_database": "does not exist",
             url.replace("postgres@", "linx_no_such_role@", 1): "does not exist"}
    for database_url, reason in cases.items():
        env = dict(os.environ, LINX_ENV="development", LINX_DATABASE_URL=database_url,
                   LINX_INSTANCE_PATH=str(tmp_path / "instance"))
        for command in (["worker"], ["serve", "--port", str(_free_port())]):
            done = subprocess.run([LINX, *command], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
            said = done.stdout + done.stderr
            assert done.returncode == 2 and reason in said and "Traceback" not in said, (command, database_url, said)
            assert "pw-not-for-logs" not in said and "cannot be reached" not in said


def test_a_web_process_gunicorn_replaces_during_an_outage_serves_503s_until_the_database_is_back(
        own_postgres, linx_processes, tmp_path):
    """``linx serve --workers 2``: a process that dies while PostgreSQL refuses connections is replaced by one
    that boots anyway and answers 503 (retry), instead of failing to boot and taking gunicorn down with it."""
    url, name, admin = own_postgres
    linx = linx_processes(tmp_path, url)
    key = linx.init_demo()
    port = _free_port()
    server = linx.start("serve", "--no-worker", "--port", str(port), "--workers", "2")
    base = f"http://127.0.0.1:{port}"
    log = linx.processes[-1][2]

    def children():
        return _children(server.pid)

    assert _wait(lambda: _ready(base) and len(children()) == 2), log.read_text()
    client = Client(base, key)
    assert client.create("before-the-outage")
    with admin.cursor() as cur:
        cur.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')
    _terminate(admin, name)
    first = children()
    for pid in first:
        os.kill(pid, signal.SIGKILL)
    assert _wait(lambda: len(children()) == 2 and not children() & first or server.poll() is not None), log.read_text()
    assert server.poll() is None, log.read_text()[-3000:]
    refused = client.post("during-the-outage")
    assert refused.status_code == 503 and refused.json()["errorCode"] == "DATABASE_UNAVAILABLE"
    with admin.cursor() as cur:
        cur.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true')
    assert client.create("during-the-outage") and client.create("after-the-outage")
    assert server.poll() is None and children() and not children() & first
    assert "answering 503 until it can" in log.read_text()
    _no_tracebacks(linx.stop())


def _ready(base):
    try:
        return requests.get(f"{base}/readyz", timeout=2).status_code == 200
    except requests.ConnectionError:
        return False


# -- SQLite busy under concurrent writers ----------------------------------------------------------------

HOLDER = r"""
import sqlite3, sys, time
path, hold, times, gap = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
conn = sqlite3.connect(path, timeout=60, isolation_level=None)
conn.execute("CREATE TABLE IF NOT EXISTS fault_writer (id INTEGER PRIMARY KEY, at REAL)")
for i in range(times):
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("INSERT INTO fault_writer (at) VALUES (?)", (time.time(),))
    print("holding", flush=True)
    time.sleep(hold)
    conn.execute("COMMIT")
    time.sleep(gap)
print("done", flush=True)
"""


@pytest.mark.parametrize("timeout, waits_ms", [(None, 10_000), ("0.5", 500), ("30", 30_000)])
def test_the_sqlite_busy_timeout_comes_from_the_url(tmp_path, timeout, waits_ms):
    url = f"sqlite:///{tmp_path}/x.db" + (f"?timeout={timeout}" if timeout else "")
    database = open_database(url)
    with database.connection_context():
        assert database.execute_sql("PRAGMA busy_timeout").fetchone()[0] == waits_ms


@pytest.mark.parametrize("timeout", ["soon", "-1"])
def test_a_bad_sqlite_busy_timeout_is_a_configuration_error_that_names_it(tmp_path, timeout):
    with pytest.raises(ConfigurationError, match=r"LINX_DATABASE_URL=.*timeout must"):
        open_database(f"sqlite:///{tmp_path}/x.db?timeout={timeout}")


def _holder(path, hold, times, gap):
    """Another process that takes SQLite's write lock ``times`` times, ``hold`` seconds each."""
    return subprocess.Popen([sys.executable, "-c", HOLDER, str(path), str(hold), str(times), str(gap)],
                            stdout=subprocess.PIPE, text=True)


def test_sqlite_busy_under_concurrent_writers_waits_then_answers_503_and_a_retry_makes_one_workflow(
        linx_processes, tmp_path):
    path = tmp_path / "linx.db"
    linx = linx_processes(tmp_path, f"sqlite:///{path}")
    key = linx.init_demo()
    base = linx.serve()  # the default busy timeout: 10 seconds
    linx.work()
    client = Client(base, key)

    # a writer holds the lock 1.5 s at a time, far longer than a request's transaction, while four clients
    # create workflows and the worker sends their links: everyone waits their turn, nobody fails
    holder = _holder(path, hold=1.5, times=6, gap=0.05)
    assert holder.stdout.readline().strip() == "holding"
    keys = [f"busy-{i:04d}" for i in range(24)]
    client.create_many(keys)
    assert holder.wait(60) == 0
    assert {status for status, _, _ in client.answers} == {201}  # not one "database is locked"

    # a second server on the same file gives up after 1 second; the writer holds the lock for 6
    impatient = linx.serve(LINX_DATABASE_URL=f"sqlite:///{path}?timeout=1")
    hurried = Client(impatient, key)
    holder = _holder(path, hold=6, times=1, gap=0)
    assert holder.stdout.readline().strip() == "holding"
    refused = hurried.post("held-too-long-0001")
    assert refused.status_code == 503 and refused.headers["Retry-After"] == "1"
    assert refused.json()["errorCode"] == "DATABASE_BUSY" and "Idempotency-Key" in refused.json()["message"]
    assert holder.wait(60) == 0
    assert hurried.create("held-too-long-0001")  # the same key, once the lock is free: one workflow
    assert hurried.post("held-too-long-0001").headers.get("Idempotent-Replayed") == "true"
    client.created.update(hurried.created)

    runtime = Runtime(make_settings(database_url=f"sqlite:///{path}", instance_path=str(tmp_path / "instance")))
    _check_store(runtime, client, [*keys, "held-too-long-0001"])
    _no_tracebacks(linx.stop())


@pytest.mark.parametrize("raw", ["-1", "-0.5", "soon"])
def test_a_rail_deadline_that_is_not_a_number_of_seconds_is_refused_by_name(raw):
    with pytest.raises(ConfigurationError, match="LINX_RAIL_TIMEOUT_SECONDS"):
        from linx_core.config import Settings

        Settings.load(environ={"LINX_RAIL_TIMEOUT_SECONDS": raw}, secrets=False)
