"""The outbox worker: backoff, parking, leases, housekeeping, retry from the CLI, and a worker killed mid-job."""

import datetime as dt
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from linx_core import clock, hookimpl, jobs
from linx_core.cli import main as cli
from linx_core.clock import FrozenClock
from linx_core.services import idempotency
from linx_core.store.models import IdempotencyRecord, Job
from linx_core.worker import Worker

from .conftest import DATA_KEY, SECRET_KEY


class Flaky:
    """A plugin whose job fails a set number of times, then succeeds."""

    def __init__(self, failures):
        self.failures = failures
        self.calls = 0

    @hookimpl
    def linx_job_handlers(self, rt):
        return {"test.flaky": self.run}

    def run(self, rt, job):
        self.calls += 1
        if self.calls <= self.failures:
            raise RuntimeError(f"failure {self.calls}")


@pytest.fixture
def flaky(rt):
    plugins = []

    def add(failures):
        plugin = Flaky(failures)
        rt.plugins.register(plugin)
        plugins.append(plugin)
        return plugin

    yield add
    for plugin in plugins:
        rt.plugins.unregister(plugin)


@pytest.fixture
def frozen():
    c = FrozenClock()
    clock.set_clock(c)
    yield c
    clock.set_clock(None)


def test_backoff_grows_exponentially_with_jitter_and_a_cap():
    rng = random.Random(7)
    for attempts in range(1, 15):
        ceiling = min(jobs.BACKOFF_CAP_SECONDS, jobs.BACKOFF_BASE_SECONDS * 2 ** (attempts - 1))
        values = {jobs.backoff(attempts, rng) for _ in range(50)}
        assert all(ceiling / 2 <= v <= ceiling for v in values)
        assert len(values) > 1


def test_a_failing_job_is_retried_then_succeeds(rt, flaky, frozen):
    plugin = flaky(2)
    job = jobs.enqueue("test.flaky", {})
    worker = Worker(rt)
    assert worker.run_until_idle() == 1
    row = Job.get_by_id(job.id)
    assert row.status == "DUE" and row.attempts == 1 and "failure 1" in row.last_error
    assert row.run_at > frozen.now()
    assert worker.run_until_idle() == 0  # not due yet
    frozen.advance(hours=2)
    worker.run_until_idle()
    frozen.advance(hours=2)
    worker.run_until_idle()
    row = Job.get_by_id(job.id)
    assert row.status == "DONE" and row.attempts == 3 and plugin.calls == 3


def test_a_job_that_keeps_failing_is_parked_and_retried_from_the_cli(rt, flaky, frozen, backend_url, tmp_path):
    flaky(10**6)
    job = jobs.enqueue("test.flaky", {})
    worker = Worker(rt)
    for _ in range(jobs.DEFAULT_MAX_ATTEMPTS + 2):
        worker.run_until_idle()
        frozen.advance(hours=2)
    row = Job.get_by_id(job.id)
    assert row.status == "PARKED" and row.attempts == jobs.DEFAULT_MAX_ATTEMPTS
    env = {"LINX_DATABASE_URL": backend_url, "LINX_SECRET_KEY": SECRET_KEY, "LINX_DATA_KEY": DATA_KEY}
    runner = CliRunner()
    listed = runner.invoke(cli, ["jobs", "list", "--status", "PARKED"], env=env)
    assert listed.exit_code == 0 and str(job.id) in listed.output and "failure" in listed.output
    shown = runner.invoke(cli, ["jobs", "show", str(job.id)], env=env)
    assert '"status": "PARKED"' in shown.output
    retried = runner.invoke(cli, ["jobs", "retry", str(job.id)], env=env)
    assert retried.exit_code == 0 and "DUE" in retried.output
    rt.bind()
    assert Job.get_by_id(job.id).status == "DUE" and Job.get_by_id(job.id).attempts == 0
    missing = runner.invoke(cli, ["jobs", "retry", "not-a-job"], env=env)
    assert missing.exit_code == 2 and "No job" in missing.output and "Traceback" not in missing.output
    rt.bind()


def test_a_job_without_a_handler_is_parked_at_once(rt):
    job = jobs.enqueue("nobody.handles.this", {})
    Worker(rt).run_until_idle()
    row = Job.get_by_id(job.id)
    assert row.status == "PARKED" and "no handler" in row.last_error


def test_a_lost_lease_is_taken_by_another_worker_and_the_late_finish_is_ignored(rt, flaky, frozen):
    flaky(0)
    job = jobs.enqueue("test.flaky", {})
    taken = jobs.claim("worker-a", 10, lease_seconds=30)
    assert [j.id for j in taken] == [job.id]
    assert jobs.claim("worker-b", 10, lease_seconds=30) == []  # leased
    frozen.advance(seconds=31)
    retaken = jobs.claim("worker-b", 10, lease_seconds=30)
    assert [j.id for j in retaken] == [job.id] and retaken[0].attempts == 2
    assert jobs.finish(taken[0]) == 0  # worker-a lost its lease: its finish changes nothing
    assert jobs.finish(retaken[0]) == 1
    assert Job.get_by_id(job.id).status == "DONE"


def test_a_claim_takes_the_oldest_jobs_as_taken_and_a_dead_workers_jobs_even_when_busy(rt, frozen):
    import datetime as dt

    start = clock.now()
    ids = [jobs.enqueue("test.order", {"i": i}, run_at=start - dt.timedelta(seconds=10 - i)).id for i in range(4)]
    first = jobs.claim("worker-a", 2, lease_seconds=30)
    assert [j.id for j in first] == ids[:2]  # oldest first
    assert all((j.status, j.attempts, j.locked_by) == ("RUNNING", 1, "worker-a") for j in first)
    assert all(j.lease_until == start + dt.timedelta(seconds=30) for j in first)  # the row as taken
    frozen.advance(seconds=31)  # worker-a died: its two leases ran out
    # a worker with a full batch of due jobs that is not looking for expired leases takes due jobs only
    assert [j.id for j in jobs.claim("worker-b", 2, lease_seconds=30, expired=False)] == ids[2:]
    # with room to spare it looks anyway; when it looks, a dead worker's jobs come first
    later = jobs.enqueue("test.order", {"i": 4}, run_at=clock.now() - dt.timedelta(seconds=1)).id
    again = jobs.claim("worker-c", 2, lease_seconds=30)
    assert [j.id for j in again] == ids[:2] and all(j.attempts == 2 for j in again)
    assert [j.id for j in jobs.claim("worker-c", 5, lease_seconds=30, expired=False)] == [later]
    assert Job.select().where(Job.status == "DUE").count() == 0


def test_jobs_a_claim_took_before_its_next_look_failed_are_run_not_stranded(rt, frozen, monkeypatch):
    """A claim's looks (a dead worker's jobs, then due ones) commit one by one: when the second fails (SQLite busy
    past its timeout, a lost connection), the jobs the first took are this worker's; it runs them at once
    instead of leaving them RUNNING, unrenewed, for a whole lease."""
    import datetime as dt

    import peewee

    orphan = jobs.enqueue("test.order", {"i": 0}, run_at=clock.now() - dt.timedelta(minutes=5))
    assert [j.id for j in jobs.claim("dead-worker", 1, lease_seconds=30)] == [orphan.id]
    frozen.advance(seconds=31)  # its worker died; its lease ran out
    due = jobs.enqueue("test.order", {"i": 1}, run_at=clock.now() - dt.timedelta(seconds=1))

    def busy(*values):
        raise peewee.OperationalError("database is locked")

    monkeypatch.setattr(jobs._TAKE_DUE, "rows", busy)
    worker = Worker(rt, concurrency=2)
    ran = []
    worker.handlers["test.order"] = lambda rt, job: ran.append(job.id)
    assert worker.run_once() == 1
    assert ran == [orphan.id]
    assert (Job.get_by_id(orphan.id).status, Job.get_by_id(orphan.id).attempts) == ("DONE", 2)
    assert Job.get_by_id(due.id).status == "DUE"  # left for the next claim
    with pytest.raises(peewee.OperationalError):  # a claim that took nothing fails as before: the loop waits
        worker.run_once()
    monkeypatch.undo()
    assert worker.run_once() == 1 and ran == [orphan.id, due.id]


def _start_worker(env):
    return subprocess.Popen([str(Path(sys.executable).parent / "linx"), "worker"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


@pytest.mark.system
@pytest.mark.parametrize("phase", ["before", "after"])
def test_a_worker_killed_mid_job_leaves_it_to_another_and_the_effect_happens_once(rt, backend_url, tmp_path, phase):
    effects = tmp_path / "effects.txt"
    payload = {"path": str(effects), "key": "effect-1",
               "sleepBefore": 30 if phase == "before" else 0, "sleepAfter": 30 if phase == "after" else 0}
    job = jobs.enqueue("sample.effect", payload)
    env = dict(os.environ, LINX_DATABASE_URL=backend_url, LINX_SECRET_KEY=SECRET_KEY, LINX_DATA_KEY=DATA_KEY,
               LINX_JOB_LEASE_SECONDS="2", LINX_WORKER_POLL_SECONDS="0.2", LINX_ENV="test",
               LINX_INSTANCE_PATH=str(tmp_path))
    first = _start_worker(env)
    try:
        deadline = time.monotonic() + 30
        while Job.get_by_id(job.id).status != "RUNNING" and time.monotonic() < deadline:
            time.sleep(0.1)
        assert Job.get_by_id(job.id).status == "RUNNING"
        if phase == "after":
            while not effects.exists() and time.monotonic() < deadline:
                time.sleep(0.1)
            assert effects.read_text() == "effect-1\n"
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
    # the second worker runs the same job without the pauses (a new payload would be a new job)
    Job.update(payload=dict(payload, sleepBefore=0, sleepAfter=0)).where(Job.id == job.id).execute()
    second = _start_worker(env)
    try:
        deadline = time.monotonic() + 30
        while Job.get_by_id(job.id).status != "DONE" and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        second.send_signal(signal.SIGTERM)
        out = second.communicate(timeout=20)[0].decode()
    row = Job.get_by_id(job.id)
    assert row.status == "DONE", out
    assert row.attempts == 2
    assert effects.read_text() == "effect-1\n"
    assert second.returncode == 0, out



# -- leases and housekeeping -----------------------------------------------------------

class Held:
    """A plugin whose job runs until the test lets it go."""

    def __init__(self):
        self.runs = 0
        self.release = threading.Event()

    @hookimpl
    def linx_job_handlers(self, rt):
        return {"test.held": self.run}

    def run(self, rt, job):
        self.runs += 1
        self.release.wait(30)


def _until(condition, seconds=30):
    """Wait for another thread to make ``condition`` true (not a clock wait: the time the tests read is frozen)."""
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)
    return condition()


def test_a_running_job_keeps_its_lease_past_the_lease_time(rt, frozen):
    plugin = Held()
    rt.plugins.register(plugin)
    worker = Worker(rt, lease_seconds=1, poll_seconds=0.1)
    thread = threading.Thread(target=worker.run_forever, daemon=True)
    try:
        job = jobs.enqueue("test.held", {})
        thread.start()
        assert _until(lambda: Job.get_by_id(job.id).status == "RUNNING")
        first_lease = Job.get_by_id(job.id).lease_until
        frozen.advance(seconds=0.9)
        assert _until(lambda: Job.get_by_id(job.id).lease_until > first_lease), "the lease was never renewed"
        frozen.advance(seconds=0.7)  # past the first lease: renewed, so nobody else may take the job
        assert jobs.claim("someone-else", 5, lease_seconds=30) == []
        plugin.release.set()
        assert _until(lambda: Job.get_by_id(job.id).status == "DONE")
        assert Job.get_by_id(job.id).status == "DONE" and plugin.runs == 1
    finally:
        plugin.release.set()
        worker.stop()
        thread.join(5)
        rt.plugins.unregister(plugin)


def test_housekeeping_purges_expired_keys_and_old_finished_jobs(rt, demo, frozen):
    done = jobs.enqueue("notify", {"notificationId": "00000000-0000-0000-0000-000000000000"})
    Job.update(status="DONE", updated_at=frozen.now()).where(Job.id == done.id).execute()
    due = jobs.enqueue("expire", {"workflowId": "x", "expireAt": "x"}, run_at=frozen.now() + dt.timedelta(days=30))
    reservation = idempotency.reserve(rt, demo[0], "housekeeping", "h")
    idempotency.complete(reservation, 201, "{}")
    frozen.advance(days=rt.settings.job_retention_days, hours=1)
    Worker(rt).maintain()
    assert Job.get_or_none(Job.id == done.id) is None and Job.get_or_none(Job.id == due.id) is not None
    assert IdempotencyRecord.select().count() == 0
