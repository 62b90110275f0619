"""The worker: claims due jobs, runs their handlers, retries, parks.

``linx worker [--concurrency N]`` runs one in its own process; ``linx serve``
runs one in a thread. Any number of workers may run at once, on any hosts:
claiming is a database transaction (``FOR UPDATE SKIP LOCKED`` on PostgreSQL,
``BEGIN IMMEDIATE`` on SQLite), and a lease makes a dead worker's job due again.
"""
import logging
import os
import socket
import threading
import traceback
import uuid
from concurrent.futures import ThreadPoolExecutor

import peewee

from . import jobs

log = logging.getLogger("linx.worker")


class Worker:
    def __init__(self, rt, concurrency=1, lease_seconds=None, poll_seconds=None):
        self.rt = rt
        self.concurrency = max(1, int(concurrency))
        self.lease_seconds = lease_seconds or rt.settings.job_lease_seconds
        self.poll_seconds = poll_seconds if poll_seconds is not None else rt.settings.worker_poll_seconds
        self.id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.handlers = rt.job_handlers()
        self.stopping = threading.Event()
        self.wakeup = threading.Event()
        self.running = {}  # job id -> job, while its handler runs: their leases are renewed
        self._running_lock = threading.Lock()
        self._last_maintenance = None

    def run_once(self):
        """Claim and run one batch; returns how many jobs ran."""
        self.rt.bind()
        with self.rt.database.connection_context():
            batch = jobs.claim(self.id, self.concurrency, self.lease_seconds)
        if not batch:
            return 0
        if self.concurrency == 1:
            for job in batch:
                self._run(job)
        else:
            with ThreadPoolExecutor(self.concurrency, thread_name_prefix="linx-job") as pool:
                list(pool.map(self._run, batch))
        return len(batch)

    def run_until_idle(self, max_batches=1000):
        """Run batches until nothing is due (for tests and the CLI's ``--once``)."""
        total = 0
        for _ in range(max_batches):
            ran = self.run_once()
            total += ran
            if not ran:
                break
        return total

    def run_forever(self):
        log.info("worker %s started (concurrency %s)", self.id, self.concurrency)
        heartbeat = threading.Thread(target=self._renew_leases, name="linx-lease", daemon=True)
        heartbeat.start()
        while not self.stopping.is_set():
            try:
                self.maintain()
                ran = self.run_once()
            except peewee.DatabaseError as exc:  # the database is away or refused: wait and try again
                log.warning("worker %s: database error: %s", self.id, exc)
                ran = 0
            except Exception:  # noqa: BLE001 - the loop must outlive any one failure
                log.exception("worker %s: unexpected error; going on", self.id)
                ran = 0
            if not ran:
                self.wakeup.wait(self.poll_seconds)
                self.wakeup.clear()
        log.info("worker %s stopped", self.id)

    def _renew_leases(self):
        """Every third of a lease, extend the leases of the jobs this worker is running."""
        while not self.stopping.wait(max(self.lease_seconds / 3, 0.2)):
            with self._running_lock:
                running = list(self.running.values())
            if not running:
                continue
            try:
                self.rt.bind()
                with self.rt.database.connection_context():
                    jobs.renew(running, self.lease_seconds)
            except Exception:  # noqa: BLE001 - a missed renewal only risks a second run, which handlers bear
                log.warning("worker %s: could not renew leases", self.id, exc_info=True)

    def maintain(self, every_seconds=3600):
        """Hourly: drop expired idempotency records and old finished jobs."""
        from . import clock
        from .services import idempotency

        now = clock.now()
        if self._last_maintenance is not None and (now - self._last_maintenance).total_seconds() < every_seconds:
            return
        self._last_maintenance = now
        self.rt.bind()
        with self.rt.database.connection_context():
            purged = idempotency.purge_expired()
            done = jobs.purge_done(self.rt.settings.job_retention_days)
        if purged or done:
            log.info("worker %s: purged %s idempotency record(s) and %s finished job(s)", self.id, purged, done)

    def stop(self):
        self.stopping.set()
        self.wakeup.set()

    def _run(self, job):
        self.rt.bind()
        with self.rt.database.connection_context():
            handler = self.handlers.get(job.kind)
            if handler is None:
                jobs.failed(job, f"no handler for job kind {job.kind!r}", max_attempts=1)
                log.error("job %s: no handler for %s; parked", job.id, job.kind)
                return
            with self._running_lock:
                self.running[job.id] = job
            try:
                handler(self.rt, job)
            except jobs.RetryLater as exc:
                jobs.failed(job, exc.reason, at=exc.at, max_attempts=exc.max_attempts)
                log.info("job %s (%s) attempt %s: retry later: %s", job.id, job.kind, job.attempts, exc.reason)
                return
            except Exception as exc:  # noqa: BLE001 - a handler's failure must never stop the worker
                reason = f"{type(exc).__name__}: {exc}"
                jobs.failed(job, reason + "\n" + traceback.format_exc(limit=5))
                log.warning("job %s (%s) attempt %s failed: %s", job.id, job.kind, job.attempts, reason)
                return
            finally:
                with self._running_lock:
                    self.running.pop(job.id, None)
            jobs.finish(job)


def start_thread(rt, concurrency=1):
    """A worker in a daemon thread of this process (``linx serve``)."""
    worker = Worker(rt, concurrency)
    thread = threading.Thread(target=worker.run_forever, name="linx-worker", daemon=True)
    thread.start()
    return worker, thread
