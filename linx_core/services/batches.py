"""Batches: one request, up to 10,000 workflows from one template.

The request is checked as a whole (its shape, its columns, how many entries, the template ACTIVE) and
stored at once (NEW, with its entries and the ``batch.expand`` job, in one transaction): nothing is stored
for a request refused. The worker then expands it (:mod:`linx_core.services.batch_expansion`), checking each
entry's rules as a create would. The ``Idempotency-Key`` is required and kept on the batch itself: the same
key and body answer the same batch; the same key with another body is a conflict.

Passcodes, when the template uses them, are sealed on their entries until the business downloads them once
(CSV), or until 24 hours after the expansion: then they are gone, as a create's passcode is shown once.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import peewee

from .. import clock, events, jobs
from ..errors import Conflict, InvalidRequest, LinxError, NotFound, Problem
from ..lifecycle import BATCHES, WORKFLOWS, save_status
from ..store import db, for_update
from ..store.models import Batch, BatchEntry, Business, Workflow
from ..text import has_controls
from . import templates
from .paging import Page, check_paging

if TYPE_CHECKING:  # pragma: no cover
    from ..runtime import Runtime

MAX_ENTRIES = 10_000
MAX_BODY_BYTES = 16 * 1024 * 1024
ENTRY_FIELDS = ("externalId", "title", "parameters")
EXTERNAL_ID_MAX = 128
TITLE_MAX = 400  # the rules bound the title; this bounds what is stored until they are checked
PASSCODES_FOR = dt.timedelta(hours=24)
ENTRY_STATUSES = ("PENDING", "CREATED", "INVALID", "CANCELLED")
EXPAND = "batch.expand"
CANCEL = "batch.cancel"
FORGET_PASSCODES = "batch.forget-passcodes"
INSERT_ROWS = 500
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # what a spreadsheet may run as a formula


class TooLarge(LinxError):
    def __init__(self, message: str, problems: Iterable[Problem] = ()) -> None:
        super().__init__(message, "PAYLOAD_TOO_LARGE", 413, list(problems))


class Gone(LinxError):
    def __init__(self, message: str, code: str) -> None:
        super().__init__(message, code, 410)


@dataclass
class Entry:
    """One entry as asked: its index (CSV: its row number), externalId, title and parameters."""

    position: int
    external_id: str | None
    title: str | None
    parameters: dict[str, Any]


# -- reading a request -------------------------------------------------------------------------------------------

def entries_from_json(body: object) -> tuple[dict[str, Any], list[Entry]]:
    """``({templateId | templateName}, entries)`` from a JSON batch request, or 400/413 with every fault."""
    if not isinstance(body, dict):
        raise InvalidRequest("The body must be a JSON object.",
                             [Problem("$", "Must be a JSON object.", "INVALID_TYPE")])
    problems = [Problem(key, "Unknown field.", "UNKNOWN_FIELD") for key in body
                if key not in ("templateId", "templateName", "entries")]
    ref = _template_ref(body, problems)
    raw = body.get("entries")
    if not isinstance(raw, list) or not raw:
        problems.append(Problem("entries", f"Must be a list of 1 to {MAX_ENTRIES} entries.", "INVALID_ENTRIES"))
        raise InvalidRequest("The request is malformed.", problems)
    if len(raw) > MAX_ENTRIES:
        raise TooLarge(f"A batch holds at most {MAX_ENTRIES} entries.", [Problem(
            "entries", f"Has {len(raw)} entries; at most {MAX_ENTRIES} are allowed.", "TOO_MANY_ENTRIES")])
    entries = []
    for i, item in enumerate(raw):
        entry = _entry(i, item, f"entries[{i}]", problems)
        if entry is not None:
            entries.append(entry)
        if len(problems) >= 50:
            break
    if problems:
        raise InvalidRequest("The request is malformed.", problems)
    return ref, entries


def entries_from_csv(rt: Runtime, lines: Iterable[str], template_name: str | None) -> tuple[dict[str, Any],
                                                                                             list[Entry]]:
    """``({templateName}, entries)`` from CSV lines: a header row of parameter names, ``externalId`` and
    ``title``, then one entry per row (an empty cell: not given). 400/413 with every fault."""
    problems: list[Problem] = []
    ref = _template_ref({"templateName": template_name} if template_name is not None else {}, problems,
                        prefix="query.")
    reader = csv.reader(lines, strict=True)
    try:
        header = next(reader, None)
        if header is None:
            raise InvalidRequest("The CSV is empty.", [Problem("$", "A header row is required.", "EMPTY_BODY")])
        known = set(ENTRY_FIELDS[:2]) | set(rt.rules.parameters)
        for column, name in enumerate(header):
            if name not in known:
                problems.append(Problem(f"header[{column}]", f"Unknown column {name[:64]!r}: a workflow parameter "
                                                             "name, externalId or title.", "UNKNOWN_COLUMN"))
        if len(set(header)) != len(header):
            problems.append(Problem("header", "A column appears twice.", "DUPLICATE_COLUMN"))
        if problems:
            raise InvalidRequest("The CSV is malformed.", problems)
        entries = []
        while True:
            row_number = reader.line_num + 1  # the line the record starts on (a quoted cell may span lines)
            row = next(reader, None)
            if row is None:
                break
            if not any(cell.strip() for cell in row):
                continue  # a blank line
            if len(row) != len(header):
                problems.append(Problem(f"row[{row_number}]", f"Has {len(row)} cells; the header has {len(header)}.",
                                        "ROW_LENGTH"))
            else:
                cells = {name: value for name, value in zip(header, row, strict=True) if value != ""}
                item = {"externalId": cells.pop("externalId", None), "title": cells.pop("title", None),
                        "parameters": cells}
                problems += [Problem(f"row[{row_number}].{name}", "Holds a NUL character.", "INVALID_TEXT")
                             for name, value in cells.items() if "\x00" in value]  # as a JSON body's strings
                entry = _entry(row_number, {k: v for k, v in item.items() if v is not None}, f"row[{row_number}]",
                               problems)
                if entry is not None:
                    entries.append(entry)
            if len(entries) > MAX_ENTRIES:
                raise TooLarge(f"A batch holds at most {MAX_ENTRIES} entries.", [Problem(
                    "$", f"More than {MAX_ENTRIES} rows.", "TOO_MANY_ENTRIES")])
            if len(problems) >= 50:
                break
    except csv.Error as exc:
        raise InvalidRequest("The CSV is malformed.", [Problem(f"row[{reader.line_num}]", str(exc)[:200],
                                                               "MALFORMED_CSV")]) from None
    except UnicodeDecodeError:
        raise InvalidRequest("The CSV is not UTF-8.", [Problem("$", "The body must be UTF-8 text.",
                                                               "INVALID_ENCODING")]) from None
    if not entries and not problems:
        problems.append(Problem("$", f"Holds no entry: 1 to {MAX_ENTRIES} rows after the header.", "INVALID_ENTRIES"))
    if problems:
        raise InvalidRequest("The CSV is malformed.", problems)
    return ref, entries


def _template_ref(body: dict[str, Any], problems: list[Problem], prefix: str = "") -> dict[str, Any]:
    ids = [k for k in ("templateId", "templateName") if k in body]
    if len(ids) != 1:
        problems.append(Problem(f"{prefix}templateName", "Give templateId or templateName (one of them).",
                                "TEMPLATE_REQUIRED"))
        return {}
    value = body[ids[0]]
    if not isinstance(value, str) or not value or len(value) > 64 or has_controls(value):
        problems.append(Problem(f"{prefix}{ids[0]}", "Must be a template's id or name.", "INVALID_TYPE"))
        return {}
    return {ids[0]: value}


def _entry(position: int, item: object, path: str, problems: list[Problem]) -> Entry | None:
    """The entry's shape only: its rules are checked when it is expanded."""
    if not isinstance(item, dict):
        problems.append(Problem(path, "Must be an object {externalId?, title?, parameters}.", "INVALID_TYPE"))
        return None
    faults = [Problem(f"{path}.{key}", "Unknown field.", "UNKNOWN_FIELD") for key in item if key not in ENTRY_FIELDS]
    external_id, title, params = item.get("externalId"), item.get("title"), item.get("parameters", {})
    if external_id is not None and (not isinstance(external_id, str) or not 1 <= len(external_id) <= EXTERNAL_ID_MAX
                                    or has_controls(external_id)):
        faults.append(Problem(f"{path}.externalId", f"Must be text of 1 to {EXTERNAL_ID_MAX} characters.",
                              "INVALID_EXTERNAL_ID"))
    if title is not None and (not isinstance(title, str) or len(title) > TITLE_MAX or has_controls(title)):
        faults.append(Problem(f"{path}.title", f"Must be text of at most {TITLE_MAX} characters, on one line "
                                               "with no control character.", "INVALID_TYPE"))
    if not isinstance(params, dict):
        faults.append(Problem(f"{path}.parameters", "Must be an object.", "INVALID_TYPE"))
    problems += faults
    return None if faults else Entry(position, external_id, title, params)


# -- storing a batch ----------------------------------------------------------------------------------------------

def submit(rt: Runtime, business: Business, key: str, request_hash: str, source: str, ref: dict[str, Any],
           entries: list[Entry]) -> tuple[Batch, bool]:
    """Store the batch (NEW), its entries and its expansion job in one transaction; ``(batch, replayed)``.

    The same ``key`` with the same ``request_hash`` answers the batch it made (``replayed``); with another,
    409. The template must be ACTIVE (422); the batch pins its latest version.
    """
    found = _by_key(business, key)
    if found is not None:
        return _replay(found, request_hash), True
    used = templates.usable(business, ref.get("templateId"), ref.get("templateName"))
    now = clock.now()
    try:
        with db.atomic():
            batch = Batch.create(business=business, template=used.template.id, template_version=used.version.number,
                                 status="NEW", idempotency_key=key, request_hash=request_hash, source=source,
                                 total=len(entries), created_at=now, updated_at=now)
            for start in range(0, len(entries), INSERT_ROWS):
                BatchEntry.bulk_create([
                    BatchEntry(batch=batch.id, position=e.position, status="PENDING", external_id=e.external_id,
                               title=e.title, parameters=e.parameters, errors=None, workflow_id=None,
                               sealed_passcode=None) for e in entries[start:start + INSERT_ROWS]])
            status_event(rt, batch, None)
            jobs.enqueue(EXPAND, {"batchId": str(batch.id)}, business.id)
    except peewee.IntegrityError:  # the same key at the same moment: the first one made it
        found = _by_key(business, key)
        if found is None:
            raise
        return _replay(found, request_hash), True
    return batch, False


def _by_key(business: Business, key: str) -> Batch | None:
    return Batch.get_or_none((Batch.business == business) & (Batch.idempotency_key == key))


def _replay(batch: Batch, request_hash: str) -> Batch:
    if batch.request_hash != request_hash:
        raise Conflict("This Idempotency-Key was used for another batch request.", "IDEMPOTENCY_KEY_REUSED")
    return batch


def status_event(rt: Runtime, batch: Batch, previous: str | None) -> None:
    """``linx.batch-updated``: the batch's status went from ``previous`` (None: it was stored); its counts."""
    events.record(rt, batch.business_id, "linx.batch-updated", batch.id, {
        "batchId": str(batch.id), "templateId": str(batch.template_id), "previousStatus": previous,
        "status": batch.status, "counts": counts(batch)})


def move(rt: Runtime, batch: Batch, trigger: str, **changes: Any) -> Batch:
    """Apply ``trigger``, save with ``changes`` and record the event. Inside a transaction, ``batch`` locked."""
    previous = batch.status
    save_status(batch, BATCHES.next_state(previous, trigger), updated_at=clock.now(), **changes)
    status_event(rt, batch, previous)
    return batch


def locked(batch_id: object) -> Batch:
    return for_update(Batch.select().where(Batch.id == batch_id)).get()


# -- reading -----------------------------------------------------------------------------------------------------

def get(business: Business, batch_id: object) -> Batch:
    """The business's batch, or :class:`NotFound` (another's too)."""
    try:
        bid = uuid.UUID(str(batch_id))
    except ValueError:
        raise NotFound("No such batch.", "BATCH_NOT_FOUND") from None
    batch = Batch.get_or_none((Batch.id == bid) & (Batch.business == business))
    if batch is None:
        raise NotFound("No such batch.", "BATCH_NOT_FOUND")
    return batch


def counts(batch: Batch) -> dict[str, Any]:
    """``total, valid, invalid, created, pending`` entries, and ``workflows``: how many of its workflows are in
    each status now."""
    grouped: Any = (Workflow.select(Workflow.status, peewee.fn.COUNT(Workflow.id))
                    .where(Workflow.batch_id == batch.id).group_by(Workflow.status).tuples())
    by_status: dict[str, int] = dict(grouped)
    handled = batch.valid + batch.invalid
    return {"total": batch.total, "valid": batch.valid, "invalid": batch.invalid, "created": batch.created,
            "pending": max(0, batch.total - handled) if batch.status in ("NEW", "QUEUED") else 0,
            "workflows": {status: by_status.get(status, 0) for status in WORKFLOWS.states}}


def list_batches(rt: Runtime, business: Business, status: str | None = None, page: int = 1, size: int = 20) -> Page:
    problems = check_paging(rt, page, size)
    if status is not None and status not in BATCHES.states:
        problems.append(Problem("query.status", f"Must be one of {', '.join(BATCHES.states)}.", "NOT_ALLOWED"))
    if problems:
        raise InvalidRequest("The query is not valid.", problems)
    query = Batch.select().where(Batch.business == business)
    if status:
        query = query.where(Batch.status == status)
    total = query.count()
    return Page(list(query.order_by(Batch.created_at.desc(), Batch.id.desc()).paginate(page, size)), page, size, total)


def entries(rt: Runtime, batch: Batch, status: str | None = None, page: int = 1, size: int = 20) -> Page:
    """One page of the batch's entries in their order, of one ``status`` if given."""
    problems = check_paging(rt, page, size)
    if status is not None and status not in ENTRY_STATUSES:
        problems.append(Problem("query.status", f"Must be one of {', '.join(ENTRY_STATUSES)}.", "NOT_ALLOWED"))
    if problems:
        raise InvalidRequest("The query is not valid.", problems)
    query = BatchEntry.select().where(BatchEntry.batch == batch.id)
    if status:
        query = query.where(BatchEntry.status == status)
    total = query.count()
    return Page(list(query.order_by(BatchEntry.position).paginate(page, size)), page, size, total)


# -- cancelling ----------------------------------------------------------------------------------------------------

def cancel(rt: Runtime, business: Business, batch_id: object) -> Batch:
    """CANCELLING, and the job that cancels each of its workflows not yet ended, then makes it CANCELLED."""
    found = get(business, batch_id)
    with db.atomic():
        batch = locked(found.id)
        move(rt, batch, "cancel")
        jobs.enqueue(CANCEL, {"batchId": str(batch.id)}, business.id)
    return batch


# -- passcodes -------------------------------------------------------------------------------------------------------

def take_passcodes(rt: Runtime, business: Business, batch_id: object) -> str:
    """The batch's passcodes as CSV (index, externalId, workflowId, passcode), once: they are forgotten in the
    same transaction. 409 before the expansion ended, 410 after a download or 24 hours, 404 without any."""
    found = get(business, batch_id)
    with db.atomic():
        batch = locked(found.id)
        if batch.expanded_at is None:
            raise Conflict("The batch is still being expanded; its passcodes come when it is done.",
                           f"BATCH_{batch.status}")
        gone = batch.passcodes_taken_at is not None or clock.now() >= batch.expanded_at + PASSCODES_FOR
        rows: list[Any] = [] if gone else list(
            BatchEntry.select(BatchEntry.position, BatchEntry.external_id, BatchEntry.workflow_id,
                              BatchEntry.sealed_passcode)
            .where((BatchEntry.batch == batch.id) & BatchEntry.sealed_passcode.is_null(False))
            .order_by(BatchEntry.position).tuples())
        if rows:
            save_status(batch, batch.status, passcodes_taken_at=clock.now())
        forget_passcodes(batch.id)
    if gone:
        raise Gone("The passcodes were downloaded already, or their 24 hours are over.", "PASSCODES_GONE")
    if not rows:
        raise NotFound("This batch's workflows have no passcode.", "NO_PASSCODES")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["index", "externalId", "workflowId", "passcode"])
    for position, external_id, workflow_id, sealed in rows:
        writer.writerow([_inert(cell) for cell in (position, external_id or "", workflow_id, rt.vault.unseal(sealed))])
    return out.getvalue()


def _inert(cell: object) -> str:
    """A cell a spreadsheet shows as text, never runs as a formula (CSV injection): ``'`` before a leading
    ``= + - @``, TAB or CR (OWASP's advice)."""
    text = str(cell)
    return f"'{text}" if text[:1] in FORMULA_STARTS else text


def forget_passcodes(batch_id: object) -> int:
    return BatchEntry.update(sealed_passcode=None).where(
        (BatchEntry.batch == batch_id) & BatchEntry.sealed_passcode.is_null(False)).execute()
