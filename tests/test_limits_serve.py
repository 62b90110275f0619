"""The rate limits hold across web processes (issue 12, item 11): ``linx serve --workers 2`` on PostgreSQL.

Left to themselves, gunicorn's two processes split requests as the kernel wakes them (on a quiet machine
one often takes them all), so the test makes them alternate: before each request it pauses (SIGSTOP) every
process but the one whose turn it is, so only that one can accept the connection, and resumes them after the
answer. Each process's ``/metrics``, read the same way, confirms what it served. The total allowed equals the
limit: the per-address link limit (30 a minute), the per-address passcode-check limit (10 a minute), the
passcode's attempts per workflow (5, then locked) and the per-recipient message limit (20 an hour). With the
counters in each process's memory, twice as many would pass. The job worker runs as a process of its own
(``linx worker``), never paused.
"""
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import requests
from requests.adapters import HTTPAdapter

from linx_core.runtime import Runtime
from linx_core.store.models import Workflow
from linx_core.testing.postgres import temporary_database

from .conftest import postgres_or_skip, seed_examples
from .conftest import test_settings as make_settings
from .test_serve import _children, _free_port, _up, _wait

pytestmark = pytest.mark.system  # real processes, servers or a browser: `make test-fast` skips them

LINX = str(Path(sys.executable).parent / "linx")
LINK_LIMIT, PASSCODE_LIMIT, RECIPIENT_PER_HOUR, MAX_ATTEMPTS = 30, 10, 20, 5  # the shipped defaults
CLOSE = {"Connection": "close"}  # a new connection for every request, accepted by the process whose turn it is


class FromAddress(HTTPAdapter):
    """Connections from one loopback address: one client (the Gateway counts per address)."""

    def __init__(self, address):
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


def client(address):
    session = requests.Session()
    session.mount("http://", FromAddress(address))
    session.headers.update(CLOSE)
    return session


class Turns:
    """The web processes, serving in turn: :meth:`alternate` runs each call with only one of them awake."""

    def __init__(self, master):
        self.pids = sorted(_children(master))
        assert len(self.pids) == 2, self.pids
        self.served = Counter()

    @contextlib.contextmanager
    def only(self, pid):
        others = [p for p in self.pids if p != pid]
        for other in others:
            os.kill(other, signal.SIGSTOP)
        try:
            yield
        finally:
            for other in others:
                os.kill(other, signal.SIGCONT)

    def alternate(self, calls):
        """Run ``calls`` in order, the first with the first process, the next with the other, and so on."""
        results = []
        for n, call in enumerate(calls):
            pid = self.pids[n % len(self.pids)]
            with self.only(pid):
                results.append(call())
            self.served[pid] += 1
        return results

    def metrics(self, base, endpoint):
        """What each process says it served of ``endpoint``: ``{pid: {status: count}}`` (its own /metrics)."""
        pattern = re.compile(r"^linx_http_request_duration_seconds_count\{(?P<labels>[^}]*)\} (?P<n>[0-9.e+]+)$",
                             re.M)
        out = {}
        for pid in self.pids:
            with self.only(pid):
                text = requests.get(f"{base}/metrics", timeout=10, headers=CLOSE).text
            counts = Counter()
            for match in pattern.finditer(text):
                labels = dict(re.findall(r'(\w+)="([^"]*)"', match["labels"]))
                if labels.get("endpoint") == endpoint:
                    counts[labels["status"]] += int(float(match["n"]))
            out[pid] = dict(counts)
        return out


@pytest.fixture
def server(tmp_path):
    """``linx serve --workers 2 --no-worker`` and a ``linx worker``, on a PostgreSQL database of their own."""
    admin = postgres_or_skip("the multi-process limits need PostgreSQL, which")
    try:
        with temporary_database("linx_limits", admin) as (url, _, _):
            port = _free_port()
            env = dict(os.environ, LINX_ENV="development", LINX_DATABASE_URL=url,
                       LINX_INSTANCE_PATH=str(tmp_path / "instance"), LINX_PUBLIC_URL=f"http://127.0.0.1:{port}",
                       LINX_WORKER_POLL_SECONDS="0.2")
            env.pop("LINX_SECRET_KEY", None)
            env.pop("LINX_DATA_KEY", None)
            init = subprocess.run([LINX, "init", "--demo", "--json"], env=env, cwd=tmp_path, capture_output=True,
                                  text=True, timeout=120)
            assert init.returncode == 0, init.stderr
            web = subprocess.Popen([LINX, "serve", "--port", str(port), "--workers", "2", "--threads", "4",
                                    "--no-worker"], env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True)
            worker = subprocess.Popen([LINX, "worker"], env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, text=True)
            base = f"http://127.0.0.1:{port}"
            outputs = []
            try:
                assert _wait(lambda: _up(base) and len(_children(web.pid)) == 2, 60), "the server did not come up"
                yield base, json.loads(init.stdout)["apiKey"], url, Turns(web.pid)
            finally:
                for process in (web, worker):
                    process.terminate()
                    outputs.append(process.communicate(timeout=40)[0])
            assert not any("Traceback" in output for output in outputs), outputs
    finally:
        admin.close()


def create(base, key, phone):
    body = json.loads(seed_examples()[0])
    body["parameters"]["phoneNumber"] = phone
    return requests.post(f"{base}/v2/linx/workflows", data=json.dumps(body), timeout=30, headers={
        "Authorization": f"Bearer {key}", "Content-Type": "application/json", **CLOSE})


def link_of(base, workflow_id):
    """The link the worker sent (the console channel's inbox, shared through the instance folder)."""
    def sent():
        inbox = requests.get(f"{base}/dev/messages.json", timeout=5, headers=CLOSE).json()["messages"]
        texts = [m["text"] for m in inbox if m["workflowId"] == workflow_id]
        found = [word.rstrip(".") for text in texts for word in text.split() if "/l/" in word]
        return found[0] if found else None

    link = _wait(sent, 60)
    assert link, f"no message for {workflow_id}"
    return link


def passcode_form(session, link):
    """Open ``link``: the landing page's passcode form, as ``(action, fields)``."""
    page = session.get(link, timeout=30)
    assert page.status_code == 200, page.text[:500]
    action = re.search(r'<form[^>]*action="([^"]*/start)"', page.text).group(1)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text).group(1)
    return requests.compat.urljoin(link, action), {"csrf_token": token}


def test_the_rate_limits_hold_across_two_web_processes(server):
    base, key, url, turns = server

    # the per-recipient message limit: 30 creates to one number, the processes in turn
    answers = turns.alternate([lambda: create(base, key, "+16471234567")] * 30)
    assert [a.status_code for a in answers] == [201] * RECIPIENT_PER_HOUR + [429] * (30 - RECIPIENT_PER_HOUR)
    assert all(a.json()["errorCode"] == "RECIPIENT_LIMIT" and int(a.headers["Retry-After"]) > 3000
               for a in answers[RECIPIENT_PER_HOUR:])
    served = turns.metrics(base, "/v2/linx/workflows")
    assert sorted(served.values(), key=str) == [{"201": 10, "429": 5}] * 2, served  # each served half

    # the per-address link limit: 40 openings from one address
    opener = client("127.0.0.2")
    answers = turns.alternate([lambda: opener.get(f"{base}/l/{'D' * 43}", timeout=30)] * 40)
    assert [a.status_code for a in answers] == [410] * LINK_LIMIT + [429] * (40 - LINK_LIMIT)
    assert sorted(turns.metrics(base, "/l/<token>").values(), key=str) == [{"410": 15, "429": 5}] * 2

    # the per-address passcode-check limit: 3 workflows opened from one address, 4 wrong passcodes on each
    made = [create(base, key, f"+1647555{n:04d}") for n in range(4)]
    assert [m.status_code for m in made] == [201] * 4
    ids = [m.json()["id"] for m in made]
    links = [link_of(base, workflow_id) for workflow_id in ids]
    sessions = [client("127.0.0.3") for _ in range(3)]
    forms = [passcode_form(session, link) for session, link in zip(sessions, links[:3], strict=True)]

    def guess(n):
        action, fields = forms[n]
        return lambda: sessions[n].post(action, data=dict(fields, passcode="000000"), timeout=30,
                                        allow_redirects=False)

    answers = turns.alternate([guess(n % 3) for n in range(12)])
    assert [a.status_code for a in answers] == [422] * PASSCODE_LIMIT + [429] * (12 - PASSCODE_LIMIT)

    # the passcode's attempts on one workflow: 5, then locked, whichever process checks them
    guesser = client("127.0.0.4")
    action, fields = passcode_form(guesser, links[3])
    answers = turns.alternate([lambda: guesser.post(action, data=dict(fields, passcode="000000"), timeout=30,
                                                    allow_redirects=False)] * (MAX_ATTEMPTS + 2))
    assert [a.status_code for a in answers[:MAX_ATTEMPTS - 1]] == [422] * (MAX_ATTEMPTS - 1)
    rt = Runtime(make_settings(database_url=url))
    rt.bind()
    with rt.database.connection_context():
        locked = Workflow.get_by_id(ids[3])
        checked = [Workflow.get_by_id(i).passcode_attempts for i in ids[:3]]
    rt.database.close_all() if hasattr(rt.database, "close_all") else rt.database.close()
    assert locked.passcode_attempts == MAX_ATTEMPTS and locked.locked_at is not None
    assert sum(checked) == PASSCODE_LIMIT  # the limited checks never reached a passcode
