"""The worker's side of a batch: expanding it into workflows, cancelling it, forgetting its passcodes.

A batch is expanded in chunks, each one transaction: under the batch's lock, the next PENDING entries (in
order) are checked as a create checks its request (the template's version and the entry's part, the rules,
the data, the per-recipient message limits), and the chunk's workflows, steps, events, first-message jobs and
the entries' outcomes are written at once, with bulk inserts. A worker killed mid-chunk leaves nothing of
that chunk; the job's lease runs out, another worker takes it and starts again at the first entry still
PENDING: no entry is made twice and none is lost. A job that keeps failing is parked and the batch FAILED.

A cancel (CANCELLING) stops the expansion at its next chunk; the ``batch.cancel`` job then cancels each of
the batch's workflows not yet ended, marks the entries never expanded CANCELLED, and ends the batch CANCELLED.
"""
from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING, Any

from .. import clock, events, jobs
from ..errors import LinxError, Problem
from ..lifecycle import WORKFLOWS
from ..store import db, write_behind
from ..store.models import Batch, BatchEntry, Business, Job, Notification, TemplateVersion, Workflow, WorkflowStep
from . import batches, flow, limits, notifications, templates, workflows

if TYPE_CHECKING:  # pragma: no cover
    from ..runtime import Runtime

log = logging.getLogger("linx.batches")

CHUNK = 250
EXPIRY_BACKSTOP = dt.timedelta(days=1)
CANCEL_CHUNK = 100


def expand(rt: Runtime, job: Job) -> None:
    """The ``batch.expand`` job: every chunk until the batch is expanded, cancelled or gone."""
    batch_id = job.payload["batchId"]
    try:
        while _chunk(rt, batch_id):
            pass
    except Exception as exc:
        if job.attempts >= jobs.DEFAULT_MAX_ATTEMPTS:  # the worker parks the job: the batch cannot finish
            log.error("batch %s: expansion failed for good: %s", batch_id, exc)
            _fail(rt, batch_id)
        raise


def _chunk(rt: Runtime, batch_id: str) -> bool:
    """Expand the next chunk of the batch; False when there is nothing more to do.

    The entries are checked (rules, lookups, limits: reads only) before the write transaction opens, so a
    chunk holds SQLite's one writer only while it writes; inside, under the batch's lock, the batch must still
    be QUEUED and only the entries still PENDING are written.
    """
    batch = Batch.get_or_none(Batch.id == batch_id)
    if batch is not None and batch.status == "NEW":
        with db.atomic():
            batch = batches.locked(batch_id)
            if batch.status == "NEW":
                batches.move(rt, batch, "queue")
    if batch is None or batch.status != "QUEUED":
        return False
    chunk = list(BatchEntry.select().where((BatchEntry.batch == batch.id) & (BatchEntry.status == "PENDING"))
                 .order_by(BatchEntry.position).limit(CHUNK))
    made: list[tuple[BatchEntry, workflows.Created]] = []
    invalid: list[BatchEntry] = []
    if chunk:
        business = Business.get_by_id(batch.business_id)
        version = TemplateVersion.get((TemplateVersion.template == batch.template_id)
                                      & (TemplateVersion.number == batch.template_version))
        made, invalid = _check(rt, batch, business, version, chunk)
    with db.atomic(), write_behind():
        batch = batches.locked(batch_id)
        if batch.status != "QUEUED":
            return False
        if not chunk:
            if not BatchEntry.select().where((BatchEntry.batch == batch.id)
                                             & (BatchEntry.status == "PENDING")).exists():
                _finish(rt, batch)
                return False
            return True  # entries came back PENDING meanwhile: another round
        pending: Any = BatchEntry.select(BatchEntry.id).where(
            BatchEntry.id.in_([e.id for e in chunk]) & (BatchEntry.status == "PENDING")).tuples()
        still = {row[0] for row in pending}  # another worker may have written some since they were read
        _store(rt, batch, Business.get_by_id(batch.business_id), [(e, d) for e, d in made if e.id in still],
               [e for e in invalid if e.id in still])
    return True


def _check(rt: Runtime, batch: Batch, business: Business, version: TemplateVersion,
           chunk: list[BatchEntry]) -> tuple[list[tuple[BatchEntry, workflows.Created]], list[BatchEntry]]:
    """Each entry's workflow as a create would make it, or its errors."""
    invalid: list[BatchEntry] = []
    drafts: list[tuple[BatchEntry, workflows.Created]] = []
    named = [e.external_id for e in chunk if e.external_id is not None]
    earlier: Any = BatchEntry.select(BatchEntry.external_id).where(
        (BatchEntry.batch == batch.id) & (BatchEntry.position < chunk[0].position)
        & BatchEntry.external_id.in_(named)).tuples() if named else []
    seen: set[str] = {row[0] for row in earlier}
    now = clock.now()
    try:  # what every entry shares, checked once: the template's version under today's rules
        base = rt.rules.validate_workflow(templates.workflow_body(version, {})[0], absent_ok=True)
    except LinxError as exc:
        for entry in chunk:
            _invalid(entry, exc.problems or [Problem("$", exc.message, exc.code)], invalid)
        return [], invalid
    for entry in chunk:
        if entry.external_id is not None:
            if entry.external_id in seen:
                _invalid(entry, [Problem("externalId", "An earlier entry of the batch has this externalId.",
                                         "DUPLICATE_EXTERNAL_ID")], invalid)
                continue
            seen.add(entry.external_id)
        faults = templates.overrides(version, entry.parameters)
        if faults:
            _invalid(entry, faults, invalid)
            continue
        try:
            request = rt.rules.complete_workflow(base, entry.title, entry.parameters)
            drafts.append((entry, workflows.draft(rt, business, request, now, template_id=batch.template_id,
                                                  template_version=batch.template_version, batch_id=batch.id)))
        except LinxError as exc:
            _invalid(entry, exc.problems or [Problem("$", exc.message, exc.code)], invalid)
    refusals = limits.count_messages(rt, business, [d.workflow for _, d in drafts])
    made = []
    for (entry, draft), refusal in zip(drafts, refusals, strict=True):
        if refusal is not None:
            _invalid(entry, [refusal], invalid)
        else:
            made.append((entry, draft))
    return made, invalid


def _invalid(entry: BatchEntry, problems: list[Problem], into: list[BatchEntry]) -> None:
    entry.status = "INVALID"
    entry.errors = [p.as_dict() for p in problems]
    into.append(entry)


def _store(rt: Runtime, batch: Batch, business: Business, made: list[tuple[BatchEntry, workflows.Created]],
           invalid: list[BatchEntry]) -> None:
    """The chunk's rows, each kind in one INSERT; the entries' outcomes; the batch's counts."""
    if made:
        Workflow.bulk_create([d.workflow for _, d in made])
        WorkflowStep.bulk_create([step for _, d in made for step in d.steps])
        events.record_many(rt, business.id, flow.STATUS_EVENT,
                           [(d.workflow.id, flow.status_data(d.workflow, None)) for _, d in made])
        notes = [notifications.new(d.workflow, "INITIAL") for _, d in made]
        Notification.bulk_create(notes)
        now = clock.now()
        Job.bulk_create([notifications.send_job(n, now) for n in notes])
        # the expiry counts from the first message (flow.on_first_notification); should that message never leave
        # (refused, opted out), this backstop expires the workflow a day after its expiry counted from now
        Job.bulk_create([workflows.expiry_job(d.workflow, d.workflow.expire_at + EXPIRY_BACKSTOP) for _, d in made])
    for entry, draft in made:
        entry.status = "CREATED"
        entry.workflow_id = draft.workflow.id
        entry.sealed_passcode = rt.vault.seal_text(draft.passcode) if draft.passcode else None
    outcomes = [entry for entry, _ in made] + invalid
    # each entry's own outcome in two statements on every backend: the rows rewritten (their ids kept)
    BatchEntry.delete().where(BatchEntry.id.in_([entry.id for entry in outcomes])).execute()
    BatchEntry.bulk_create([BatchEntry(**entry.__data__) for entry in outcomes])
    Batch.update(valid=Batch.valid + len(made), created=Batch.created + len(made),
                 invalid=Batch.invalid + len(invalid), updated_at=clock.now()).where(Batch.id == batch.id).execute()
    batch.valid += len(made)
    batch.created += len(made)
    batch.invalid += len(invalid)


def _finish(rt: Runtime, batch: Batch) -> None:
    """Every entry handled: COMPLETED (INVALID when none was valid)."""
    _end(rt, batch, "complete" if batch.valid else "invalidate")


def _end(rt: Runtime, batch: Batch, trigger: str) -> None:
    """The expansion is over (COMPLETED, INVALID, CANCELLED, FAILED): the passcodes sealed so far are
    downloadable for 24 hours, then forgotten by a job queued with the end, whichever end it is."""
    expanded_at = batch.expanded_at or clock.now()
    batches.move(rt, batch, trigger, expanded_at=expanded_at)
    jobs.enqueue(batches.FORGET_PASSCODES, {"batchId": str(batch.id)}, batch.business_id,
                 run_at=expanded_at + batches.PASSCODES_FOR)


def _fail(rt: Runtime, batch_id: str) -> None:
    with db.atomic():
        batch = batches.locked(batch_id)
        if batch.status in ("NEW", "QUEUED"):
            _end(rt, batch, "fail")


def cancel(rt: Runtime, job: Job) -> None:
    """The ``batch.cancel`` job: cancel the batch's workflows not yet ended, then the batch is CANCELLED.

    Each workflow is cancelled as the API cancels one; one whose payment is already at its rail goes on.
    """
    batch_id = job.payload["batchId"]
    batch = Batch.get_or_none(Batch.id == batch_id)
    if batch is None or batch.status != "CANCELLING":
        return
    business = Business.get_by_id(batch.business_id)
    after = None
    while True:
        query = Workflow.select(Workflow.id).where((Workflow.batch_id == batch.id)
                                                  & Workflow.status.in_(WORKFLOWS.open_states))
        if after is not None:
            query = query.where(Workflow.id > after)
        found: Any = query.order_by(Workflow.id).limit(CANCEL_CHUNK).tuples()
        ids = [row[0] for row in found]
        if not ids:
            break
        for workflow_id in ids:
            try:
                workflows.cancel(rt, business, workflow_id)
            except LinxError as exc:  # ended meanwhile, or its payment is at the rail
                log.info("batch %s: workflow %s not cancelled: %s", batch.id, workflow_id, exc)
        after = ids[-1]
    with db.atomic():
        batch = batches.locked(batch_id)
        if batch.status != "CANCELLING":
            return
        BatchEntry.update(status="CANCELLED").where((BatchEntry.batch == batch.id)
                                                    & (BatchEntry.status == "PENDING")).execute()
        _end(rt, batch, "cancelled")


def forget_passcodes(rt: Runtime, job: Job) -> None:
    """The ``batch.forget-passcodes`` job, 24 hours after the expansion: the passcodes not taken are gone."""
    batches.forget_passcodes(job.payload["batchId"])
