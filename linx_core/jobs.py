"""The transactional outbox: effects are job rows written with their cause.

:func:`enqueue` is called inside the transaction of the state change, so a job
exists exactly when its cause was committed. :mod:`linx_core.worker` claims due
jobs under a lease, runs their handlers and retries failures with exponential
backoff and jitter; a job that keeps failing is PARKED for an operator
(``linx jobs list|show|retry``).
"""
import datetime as dt
import logging
import random
import uuid
from collections.abc import Callable, Iterable
from typing import Any, cast

import peewee
from peewee import fn

from . import clock
from .errors import Conflict, NotFound
from .store import Prepared, for_update
from .store.models import Job

log = logging.getLogger("linx.worker")

DEFAULT_MAX_ATTEMPTS = 10
BACKOFF_BASE_SECONDS = 5
BACKOFF_CAP_SECONDS = 3600


class RetryLater(Exception):
    """Raised by a handler: run me again at ``at`` (or after the usual backoff)."""

    def __init__(self, reason: str, at: dt.datetime | None = None, max_attempts: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.at = at
        self.max_attempts = max_attempts


class Deferred(Exception):
    """Raised by a handler: not now, and not a failure: run me at ``at`` with ``payload`` (no attempt counted)."""

    def __init__(self, reason: str, at: dt.datetime, payload: dict[str, Any] | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.at = at
        self.payload = payload


def defer(job: Job, at: dt.datetime, payload: dict[str, Any] | None = None) -> int:
    """Put ``job`` back to run at ``at`` (its payload replaced when given), the attempt it had given back."""
    changes: dict[Any, Any] = {Job.status: "DUE", Job.run_at: at, Job.lease_until: None,
                               Job.attempts: Job.attempts - 1, Job.updated_at: clock.now()}
    if payload is not None:
        changes[Job.payload] = payload
    return Job.update(changes).where(_mine_where(job.id, job.locked_by)).execute()


def enqueue(kind: str, payload: dict[str, Any], business_id: object = None, run_at: dt.datetime | None = None) -> Job:
    return Job.create(kind=kind, payload=payload, business=business_id, run_at=run_at or clock.now())


def backoff(attempts: int, rng: Any = random) -> float:
    """Seconds before attempt ``attempts + 1``: exponential, capped, with full jitter on the upper half."""
    ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(attempts - 1, 0))
    return ceiling / 2 + rng.random() * ceiling / 2


def _locked(query: "peewee.ModelSelect[Job]") -> "peewee.ModelSelect[Job]":
    return for_update(query, skip_locked=True)


def _take(waiting: Callable[[dt.datetime], peewee.Expression]) -> Prepared:
    """One statement that takes the oldest ``limit`` jobs matching ``waiting(now)`` and returns them as taken."""
    def build(lease: Any, worker: Any, now: Any, limit: Any) -> peewee.ModelUpdate:
        oldest = _locked(Job.select(Job.id).where(waiting(now)).order_by(Job.run_at).limit(limit))
        return (Job.update(status="RUNNING", lease_until=lease, attempts=Job.attempts + 1, locked_by=worker,
                           updated_at=now)
                .where(Job.id.in_(oldest)).returning(*Job._meta.sorted_fields))
    return Prepared(build, Job.lease_until, Job.locked_by, Job.updated_at, None)


# The worker's statements, their SQL text built once (they run for every job). A claim is one UPDATE of the
# oldest due jobs, RETURNING them: atomic on its own (SKIP LOCKED on PostgreSQL; SQLite's write lock), so it
# needs no transaction around a select and an update per job. Each walks the (status, run_at) index in order
# and stops at ``limit``: one statement with an OR of due and expired would gather every due job and sort
# them all on each claim, a cost that grows with the backlog.
_TAKE_DUE = _take(lambda now: (Job.status == "DUE") & (Job.run_at <= now))
_TAKE_EXPIRED = _take(lambda now: (Job.status == "RUNNING") & (Job.lease_until < now))


def _mine_where(id_: Any, worker: Any) -> peewee.Expression:
    return (Job.id == id_) & (Job.status == "RUNNING") & (Job.locked_by == worker)


_FINISH = Prepared(lambda now, id_, worker: Job.update(
    status="DONE", lease_until=None, last_error=None, updated_at=now).where(_mine_where(id_, worker)),
    Job.updated_at, Job.id, Job.locked_by)
_PARK = Prepared(lambda error, now, id_, worker: Job.update(
    status="PARKED", lease_until=None, last_error=error, updated_at=now).where(_mine_where(id_, worker)),
    Job.last_error, Job.updated_at, Job.id, Job.locked_by)
_AGAIN = Prepared(lambda run_at, error, now, id_, worker: Job.update(
    status="DUE", run_at=run_at, lease_until=None, last_error=error, updated_at=now).where(
    _mine_where(id_, worker)), Job.run_at, Job.last_error, Job.updated_at, Job.id, Job.locked_by)
_RENEW = Prepared(lambda until, id_, worker: Job.update(lease_until=until).where(_mine_where(id_, worker)),
                  Job.lease_until, Job.id, Job.locked_by)


def claim(worker_id: str, limit: int, lease_seconds: float, expired: bool = True) -> list[Job]:
    """Take up to ``limit`` due jobs for ``worker_id``, oldest first; with ``expired``, first the jobs whose
    lease ran out (their worker died): a worker need not look for those on every claim."""
    now = clock.now()
    lease = now + dt.timedelta(seconds=lease_seconds)
    # a dead worker's jobs first when looking for them; else due jobs, and with room to spare, look anyway
    looks = (_TAKE_EXPIRED, _TAKE_DUE) if expired else (_TAKE_DUE, _TAKE_EXPIRED)
    taken: list[Job] = []
    for look in looks:
        if len(taken) >= limit:
            break
        try:  # each look commits on its own: what one took is this worker's, even if the next one fails
            taken += look.rows(lease, worker_id, now, limit - len(taken))
        except (peewee.DatabaseError, peewee.InterfaceError) as exc:
            if not taken:
                raise
            # run what is taken (its lease renewed while it runs) rather than strand it for a whole lease
            log.warning("claim by %s: %s; running the %s job(s) already taken", worker_id, exc, len(taken))
            break
    return sorted(taken, key=lambda job: job.run_at)


def renew(running: Iterable[Job], lease_seconds: float) -> None:
    """Extend the leases of ``running`` jobs that are still this worker's."""
    until = clock.now() + dt.timedelta(seconds=lease_seconds)
    for job in running:
        _RENEW.execute(until, job.id, job.locked_by)


def purge_done(days: int) -> int:
    """Delete DONE jobs last changed more than ``days`` ago; returns how many."""
    return Job.delete().where((Job.status == "DONE")
                              & (Job.updated_at < clock.now() - dt.timedelta(days=days))).execute()


def finish(job: Job) -> int:
    """Mark ``job`` DONE, unless its lease was lost to another worker meanwhile."""
    return _FINISH.execute(clock.now(), job.id, job.locked_by)


def failed(job: Job, reason: str, at: dt.datetime | None = None, max_attempts: int | None = None) -> int:
    """Schedule the next attempt, or park the job once it has had ``max_attempts``."""
    now = clock.now()
    limit = max_attempts or DEFAULT_MAX_ATTEMPTS
    if job.attempts >= limit:
        return _PARK.execute(reason[:2000], now, job.id, job.locked_by)
    run_at = at or now + dt.timedelta(seconds=backoff(job.attempts))
    return _AGAIN.execute(run_at, reason[:2000], now, job.id, job.locked_by)


def list_jobs(status: str | None = None, kind: str | None = None, limit: int = 50) -> list[Job]:
    query = Job.select().order_by(Job.updated_at.desc()).limit(limit)
    if status:
        query = query.where(Job.status == status)
    if kind:
        query = query.where(Job.kind == kind)
    return list(query)


def get(job_id: object) -> Job:
    try:
        job = Job.get_or_none(Job.id == uuid.UUID(str(job_id)))
    except ValueError:
        job = None
    if job is None:
        raise NotFound(f"No job {job_id}.", "JOB_NOT_FOUND")
    return job


def retry(job_id: object) -> Job:
    """Put a PARKED (or DUE) job back in line now, with a fresh set of attempts."""
    job = get(job_id)
    if job.status not in ("PARKED", "DUE"):
        raise Conflict(f"Job {job.id} is {job.status}; only a PARKED or DUE job can be retried.", "JOB_NOT_RETRYABLE")
    Job.update(status="DUE", run_at=clock.now(), attempts=0, updated_at=clock.now()).where(Job.id == job.id).execute()
    return get(job_id)


def counts() -> dict[str, int]:
    rows = Job.select(Job.status, fn.COUNT(Job.id)).group_by(Job.status).tuples()
    return dict(cast(Iterable[tuple[str, int]], rows))
