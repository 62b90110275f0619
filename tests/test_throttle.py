"""The senders' pace: messages leave one interval apart per sender, shared by every worker, and a provider's
Retry-After holds the sender back."""
import datetime as dt
import itertools
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from linx_core import jobs
from linx_core.errors import ConfigurationError
from linx_core.services import quiet_hours, throttle
from linx_core.store.models import Job, Notification
from linx_core.worker import Worker

from . import conftest
from .fakes.twilio_api import FakeTwilioApi, Scripted
from .journeys import api_for, body, create, freeze, rail_runtime

SID, TOKEN = "AC" + "0" * 32, "secret"
START = dt.datetime(2026, 11, 2, 15, 0, tzinfo=dt.UTC)


def _sent():
    return sorted((n.notified_at, n.workflow_id) for n in Notification.select()
                  if n.status in ("SENT", "DELIVERED"))


def test_messages_queued_at_once_leave_one_interval_apart(rt, demo, tmp_path):
    runtime = rail_runtime(rt, tmp_path, send_pacing="on")
    frozen = freeze(START)
    api = api_for(runtime, demo[1])
    made = [create(api, body(phone=f"+1647555{i:04d}")) for i in range(5)]
    Worker(runtime).run_until_idle()
    assert len(_sent()) == 1  # the first slot is now; the others wait for theirs
    waiting = sorted(j.run_at for j in Job.select().where((Job.kind == "notify") & (Job.status == "DUE")))
    assert waiting == [START + dt.timedelta(seconds=i) for i in range(1, 5)]
    assert all(j.attempts == 0 for j in Job.select().where((Job.kind == "notify") & (Job.status == "DUE")))
    for _ in range(4):
        frozen.advance(seconds=1)
        Worker(runtime).run_until_idle()
    sent = _sent()
    assert [at for at, _ in sent] == [START + dt.timedelta(seconds=i) for i in range(5)]
    assert {w for _, w in sent} == {uuid.UUID(m) for m in made}


def test_two_reservations_at_once_get_two_slots(rt):
    freeze(START)
    step = dt.timedelta(milliseconds=500)
    slots = [throttle.reserve("SMS:+15005550006", step) for _ in range(3)]
    assert slots == [START, START + step, START + 2 * step]
    assert throttle.reserve("SMS:+15005550007", step) == START  # another sender keeps its own pace


def test_a_providers_retry_after_holds_the_sender_back(rt):
    frozen = freeze(START)
    step = dt.timedelta(seconds=1)
    throttle.hold_off("SMS:+15005550006", START + dt.timedelta(seconds=30))
    assert throttle.reserve("SMS:+15005550006", step) == START + dt.timedelta(seconds=30)
    throttle.hold_off("SMS:+15005550006", START + dt.timedelta(seconds=5))  # never moves the pace back
    assert throttle.reserve("SMS:+15005550006", step) == START + dt.timedelta(seconds=31)
    frozen.advance(minutes=5)
    assert throttle.reserve("SMS:+15005550006", step) == START + dt.timedelta(minutes=5)


def _notify_jobs():
    return Job.select().where((Job.kind == "notify") & (Job.status == "DUE"))


def test_a_hold_moves_the_slots_already_reserved_and_keeps_their_order(rt, demo, tmp_path):
    runtime = rail_runtime(rt, tmp_path, send_pacing="on")
    frozen = freeze(START)
    api = api_for(runtime, demo[1])
    made = [uuid.UUID(create(api, body(phone=f"+1647555{i:04d}"))) for i in range(5)]
    Worker(runtime).run_until_idle()  # the first leaves; the others hold slots 1 to 4 seconds on
    key = throttle.sender_key("SMS", runtime.channel("SMS"))
    throttle.hold_off(key, START + dt.timedelta(seconds=30))  # the provider's Retry-After
    for _ in range(29):
        frozen.advance(seconds=1)
        Worker(runtime).run_until_idle()
    assert len(_sent()) == 1  # nothing left during the hold, not even the slots reserved before it
    for _ in range(10):
        frozen.advance(seconds=1)
        Worker(runtime).run_until_idle()
    sent = _sent()
    assert [w for _, w in sent] == made  # in order
    assert [at for at, _ in sent][1:] == [START + dt.timedelta(seconds=30 + i) for i in range(1, 5)]


def test_a_backlog_after_a_restart_reserves_fresh_slots_in_order_and_wakes_about_twice(rt, demo, tmp_path,
                                                                                        monkeypatch):
    runtime = rail_runtime(rt, tmp_path, send_pacing="on")
    frozen = freeze(START)
    api = api_for(runtime, demo[1])
    count = 30
    made = [uuid.UUID(create(api, body(phone=f"+1647555{i:04d}"))) for i in range(count)]
    Worker(runtime).run_until_idle()
    runs = []
    real = jobs.defer
    monkeypatch.setattr(jobs, "defer", lambda job, at, payload=None: (runs.append(job.id), real(job, at, payload))[1])
    frozen.advance(hours=1)  # the workers were down: every slot is long past
    for _ in range(count + 5):
        Worker(runtime).run_until_idle()
        frozen.advance(seconds=1)
    sent = _sent()
    assert [w for _, w in sent] == made and len(sent) == count
    assert len(runs) <= 2 * count  # each waiting message deferred about once, not once a second
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(sent[1:])]
    assert all(gap >= dt.timedelta(seconds=1) for gap in gaps)


def test_a_message_held_by_quiet_hours_drops_its_slot(rt, demo, tmp_path):
    runtime = rail_runtime(rt, tmp_path, send_pacing="on", quiet_hours="on")
    frozen = freeze(dt.datetime(2026, 11, 3, 1, 59, 58, tzinfo=dt.UTC))  # 20:59:58 in Toronto
    api = api_for(runtime, demo[1])
    for i in range(5):
        create(api, body(phone=f"+1647555{i:04d}"))
    Worker(runtime).run_until_idle()  # one leaves, four hold slots
    frozen.advance(seconds=5)
    Worker(runtime).run_until_idle()
    waiting = list(_notify_jobs())
    assert len(waiting) == 4 and all(j.run_at == dt.datetime(2026, 11, 3, 13, 0, tzinfo=dt.UTC) for j in waiting)
    assert all("slotAt" not in j.payload for j in waiting)  # each reserves a fresh slot in the morning


def test_a_deferral_gives_its_attempt_back(rt, demo):
    freeze(START)
    job = jobs.enqueue("notify", {"notificationId": "x"}, demo[0].id)
    taken, = jobs.claim("w1", 1, 60)
    assert taken.attempts == 1
    jobs.defer(taken, START + dt.timedelta(seconds=9), {"notificationId": "x", "slotAt": "later"})
    row = Job.get_by_id(job.id)
    assert (row.status, row.attempts, row.run_at, row.payload["slotAt"]) == (
        "DUE", 0, START + dt.timedelta(seconds=9), "later")


def test_pacing_is_on_in_production_unless_switched_and_a_bad_value_is_refused():
    assert not conftest.test_settings().pacing and conftest.test_settings(send_pacing="on").pacing
    assert conftest.test_settings(env="production", send_pacing="auto").pacing
    assert not conftest.test_settings(env="development").pacing
    with pytest.raises(ConfigurationError):
        conftest.test_settings(send_pacing="sometimes")


class RateLimitedTwilio(FakeTwilioApi):
    """The fake Twilio API, refusing (429, Retry-After) a message past ``most`` in any sliding second, as a
    provider would; ``tolerance``: the seconds of network jitter forgiven (the window is that much shorter).
    It notes when each message arrived."""

    def __init__(self, most, tolerance=0.1):
        super().__init__(SID, TOKEN)
        self.most, self.tolerance, self.arrived, self.refused = most, tolerance, [], 0

    def handle(self, request):
        now = time.monotonic()
        with self._lock:
            recent = [t for t in self.arrived if now - t < 1.0 - self.tolerance]
            if request.path.endswith("/Messages.json") and len(recent) >= self.most:
                self.refused += 1
                self._script.append(Scripted(429, {"code": 20429, "message": "Too Many Requests", "status": 429},
                                             {"Retry-After": "1"}))
        response = super().handle(request)
        if response.status_code == 201:
            with self._lock:
                self.arrived.append(now)
        return response


@pytest.mark.system
def test_three_workers_keep_one_senders_pace_and_the_provider_never_refuses(rt, api, backend_url, tmp_path):
    rate, count = 4, 16
    rules = tmp_path / "rules"
    shutil.copytree(Path(__file__).resolve().parents[1] / "rules", rules, ignore=shutil.ignore_patterns("__pycache__"))
    text = (rules / "messages.yaml").read_text()
    (rules / "messages.yaml").write_text(text.replace("SMS: {perSecond: 1}", f"SMS: {{perSecond: {rate}}}"))
    for i in range(count):
        create(api, body(phone=f"+1647555{i:04d}"))
    twilio = RateLimitedTwilio(most=rate).start()  # never more than the rate in any second
    env = dict(os.environ, LINX_DATABASE_URL=backend_url, LINX_SECRET_KEY=conftest.SECRET_KEY,
               LINX_DATA_KEY=conftest.DATA_KEY, LINX_ENV="test", LINX_SEND_PACING="on", LINX_RULES_DIR=str(rules),
               LINX_WORKER_POLL_SECONDS="0.1", LINX_INSTANCE_PATH=str(tmp_path), LINX_TWILIO_ACCOUNT_SID=SID,
               LINX_TWILIO_AUTH_TOKEN=TOKEN, LINX_TWILIO_FROM_NUMBER="+15005550006",
               LINX_TWILIO_API_URL=twilio.url)
    workers = [subprocess.Popen([str(Path(sys.executable).parent / "linx"), "worker"], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(3)]
    try:
        deadline = time.monotonic() + 120
        while len(twilio.arrived) < count and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            worker.wait(30)
        twilio.stop()
    arrived = sorted(twilio.arrived)
    assert len(arrived) == count and twilio.refused == 0
    window = 1.0 - twilio.tolerance
    assert max(sum(1 for t in arrived if start <= t < start + window) for start in arrived) <= rate
    assert arrived[-1] - arrived[0] >= (count - 1) / rate - 0.5  # they trickled out; not all at once


# -- quiet hours -----------------------------------------------------------------------------------------------

def quiet_runtime(rt, tmp_path):
    return rail_runtime(rt, tmp_path, quiet_hours="on")


@pytest.mark.parametrize("utc, number, wakes", [
    ("2026-11-03T03:30", "+16475550100", "2026-11-03T13:00"),  # 22:30 in Toronto: its 08:00 (EST)
    ("2026-11-03T14:00", "+16475550100", None),               # 09:00 in Toronto
    ("2026-11-03T12:59", "+16475550100", "2026-11-03T13:00"),  # 07:59
    ("2026-11-03T05:30", "+16045550100", "2026-11-03T16:00"),  # 21:30 in Vancouver
    ("2026-07-03T12:30", "+33612345678", None),               # 14:30 in Paris
    ("2026-07-03T20:30", "+33612345678", "2026-07-04T06:00"),  # 22:30 in Paris (CEST)
    ("2026-11-03T03:30", "not a number", None),
])
def test_quiet_hours_hold_a_message_until_the_customers_morning(rt, tmp_path, utc, number, wakes):
    runtime = quiet_runtime(rt, tmp_path)
    at = dt.datetime.fromisoformat(utc).replace(tzinfo=dt.UTC)
    expected = dt.datetime.fromisoformat(wakes).replace(tzinfo=dt.UTC) if wakes else None
    assert quiet_hours.morning(runtime, number, at) == expected


def test_a_first_sms_due_at_night_waits_for_the_morning(rt, demo, tmp_path):
    runtime = quiet_runtime(rt, tmp_path)
    frozen = freeze(dt.datetime(2026, 11, 3, 3, 30, tzinfo=dt.UTC))  # 22:30 in Toronto
    create(api_for(runtime, demo[1]), body(phone="+16475550100"))
    Worker(runtime).run_until_idle()
    assert Notification.get().status == "QUEUED"
    job = Job.get(Job.kind == "notify")
    assert (job.status, job.run_at, job.attempts) == ("DUE", dt.datetime(2026, 11, 3, 13, 0, tzinfo=dt.UTC), 0)
    frozen.advance(hours=9, minutes=30)
    Worker(runtime).run_until_idle()
    assert Notification.get().status in ("SENT", "DELIVERED")
    assert Notification.get().notified_at == dt.datetime(2026, 11, 3, 13, 0, tzinfo=dt.UTC)


def test_quiet_hours_are_on_in_production_only_by_default():
    assert not conftest.test_settings().quiet and not conftest.test_settings(env="development").quiet
    assert conftest.test_settings(quiet_hours="on").quiet
    with pytest.raises(ConfigurationError):
        conftest.test_settings(quiet_hours="never")
