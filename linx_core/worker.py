"""The worker: claims due jobs, runs their handlers, retries, parks.

``linx worker [--concurrency N]`` runs one in its own process; ``linx serve``
runs one in a thread. Any number of workers may run at once, on any hosts:
claiming is one ``UPDATE ... RETURNING`` statement (over ``FOR UPDATE SKIP LOCKED`` on
PostgreSQL; under SQLite's write lock), and a lease makes a dead worker's job due again.
"""
import datetime as dt
import logging
import os
import socket
import threading
import time
import traceback
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import peewee
from playhouse.pool import MaxConnectionsExceeded

from . import clock, jobs
from .services import idempotency, limits
from .store import unavailable
from .store.models import Job

if TYPE_CHECKING:
    from .runtime import Runtime

log = logging.getLogger("linx.worker")

EXPIRED_LOOK_SECONDS = 1.0  # how often a worker with a full batch still looks for a dead worker's jobs


class Worker:
    def __init__(self, rt: "Runtime", concurrency: int = 1, lease_seconds: float | None = None,
                 poll_seconds: float | None = None) -> None:
        self.rt = rt
        self.concurrency = max(1, int(concurrency))
        self.lease_seconds = lease_seconds or rt.settings.job_lease_seconds
        self.poll_seconds = poll_seconds if poll_seconds is not None else rt.settings.worker_poll_seconds
        self.id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.handlers = rt.job_handlers()
        self.stopping = threading.Event()
        self.wakeup = threading.Event()
        self.running: dict[Any, Job] = {}  # job id -> job, while its handler runs: their leases are renewed
        self._running_lock = threading.Lock()
        self._last_maintenance: dt.datetime | None = None
        self._held = threading.local()  # the connection a busy thread keeps between batches
        self._next_expired_look = 0.0

    def run_once(self) -> int:
        """Claim and run one batch; returns how many jobs ran.

        While jobs keep coming, the thread keeps its database connection from one batch to the next
        (and runs the batch's jobs on it): opening and closing one per job cost more than the outbox's
        own work (on SQLite the last connection to close checkpoints the WAL). When nothing is due, or
        anything fails, the connection is let go, so an idle or failing worker holds none.
        """
        self.rt.bind()
        self._hold_connection()
        try:
            expired = time.monotonic() >= self._next_expired_look  # a busy worker looks once a second
            if expired:
                self._next_expired_look = time.monotonic() + EXPIRED_LOOK_SECONDS
            batch = jobs.claim(self.id, self.concurrency, self.lease_seconds, expired=expired)
            if self.concurrency == 1:
                for job in batch:
                    self._run(job)
            elif batch:
                with ThreadPoolExecutor(self.concurrency, thread_name_prefix="linx-job") as pool:
                    list(pool.map(self._run, batch))
        except BaseException:
            self.let_go()
            raise
        if not batch or self.stopping.is_set():
            self.let_go()
        return len(batch)

    def _hold_connection(self) -> None:
        if getattr(self._held, "context", None) is None:
            context = self.rt.database.connection_context()
            context.__enter__()
            self._held.context = context

    def let_go(self) -> None:
        """Close the connection this thread kept between batches, if any."""
        context, self._held.context = getattr(self._held, "context", None), None
        if context is not None:
            context.__exit__(None, None, None)

    def run_until_idle(self, max_batches: int = 1000) -> int:
        """Run batches until nothing is due (for tests and the CLI's ``--once``)."""
        total = 0
        try:
            for _ in range(max_batches):
                ran = self.run_once()
                total += ran
                if not ran:
                    break
        finally:
            self.let_go()
        return total

    def run_forever(self) -> None:
        log.info("worker %s started (concurrency %s)", self.id, self.concurrency)
        heartbeat = threading.Thread(target=self._renew_leases, name="linx-lease", daemon=True)
        heartbeat.start()
        while not self.stopping.is_set():
            try:
                self.maintain()
                ran = self.run_once()
            except (peewee.DatabaseError, peewee.InterfaceError, MaxConnectionsExceeded) as exc:
                # the database is away, busy or refused: wait and try again (a lost connection is not reused)
                log.warning("worker %s: database error: %s", self.id, exc)
                ran = 0
            except Exception:  # noqa: BLE001 - the loop must outlive any one failure
                log.exception("worker %s: unexpected error; going on", self.id)
                ran = 0
            if not ran:
                self.wakeup.wait(self.poll_seconds)
                self.wakeup.clear()
        self.let_go()
        log.info("worker %s stopped", self.id)

    def _renew_leases(self) -> None:
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
            except Exception as exc:  # noqa: BLE001 - a missed renewal only risks a second run, which handlers bear
                log.warning("worker %s: could not renew leases: %s", self.id, exc, exc_info=not unavailable(exc))

    def maintain(self, every_seconds: float = 3600) -> None:
        """Hourly: drop expired idempotency records, old finished jobs and rate counters whose window ended."""
        now = clock.now()
        if self._last_maintenance is not None and (now - self._last_maintenance).total_seconds() < every_seconds:
            return
        self._last_maintenance = now
        self.rt.bind()
        with self.rt.database.connection_context():
            purged = idempotency.purge_expired()
            done = jobs.purge_done(self.rt.settings.job_retention_days)
            counters = limits.purge_expired()
        if purged or done or counters:
            log.info("worker %s: purged %s idempotency record(s), %s finished job(s) and %s rate counter(s)",
                     self.id, purged, done, counters)

    def stop(self) -> None:
        self.stopping.set()
        self.wakeup.set()

    def _run(self, job: Job) -> None:
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
            except jobs.Deferred as exc:
                jobs.defer(job, exc.at, exc.payload)
                log.debug("job %s (%s) deferred to %s: %s", job.id, job.kind, exc.at.isoformat(), exc.reason)
                return
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


def start_thread(rt: "Runtime", concurrency: int = 1) -> tuple[Worker, threading.Thread]:
    """A worker in a daemon thread of this process (``linx serve``)."""
    worker = Worker(rt, concurrency)
    thread = threading.Thread(target=worker.run_forever, name="linx-worker", daemon=True)
    thread.start()
    return worker, thread
