"""The transactional outbox: effects are job rows written with their cause.

``enqueue`` is called inside the transaction of the state change, so a job
exists exactly when its cause was committed. The worker that claims and runs
due jobs comes with the lifecycle work; the rows are already here.
"""
from . import clock
from .store.models import Job


def enqueue(kind, payload, business_id=None, run_at=None):
    return Job.create(kind=kind, payload=payload, business=business_id, run_at=run_at or clock.now())
