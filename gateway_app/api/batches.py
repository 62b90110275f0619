"""``/v2/linx/batches``: one request (JSON or CSV) for up to 10,000 workflows from a template."""
import hashlib
import io

from flask import Blueprint, current_app, g, request, url_for
from marshmallow import fields

from linx_core.errors import InvalidRequest, Problem
from linx_core.lifecycle import BATCHES, WORKFLOWS
from linx_core.services import batches

from .auth import require_business
from .body import parse_json
from .paging import page_query
from .render import View, render
from .schemas import Out, PageOut, Timestamp

bp = Blueprint("batches", __name__)
bp.before_request(require_business)

LIST_QUERY = ("status", "page", "size")
READ_BLOCK = 64 * 1024


def _rt():
    return current_app.extensions["linx"]


class CountsOut(Out):
    total = fields.Integer()
    valid = fields.Integer(metadata={"description": "Entries that passed their checks."})
    invalid = fields.Integer(metadata={"description": "Entries refused, each with its errors."})
    created = fields.Integer(metadata={"description": "Workflows made."})
    pending = fields.Integer(metadata={"description": "Entries not yet expanded."})
    workflows = fields.Dict(keys=fields.String(), values=fields.Integer(), metadata={
        "description": f"The batch's workflows by their status now ({', '.join(WORKFLOWS.states)})."})


class BatchOut(Out):
    """A :class:`View` of a ``Batch`` row with its ``counts``."""

    id = fields.UUID()
    status = fields.String(metadata={"enum": list(BATCHES.states)})
    templateId = fields.UUID(attribute="template_id")
    templateVersion = fields.Integer(attribute="template_version", metadata={
        "description": "The template's version current when the batch was accepted: every workflow uses it."})
    source = fields.String(metadata={"enum": ["JSON", "CSV"]})
    counts = fields.Nested(CountsOut)
    expandedAt = Timestamp(attribute="expanded_at", allow_none=True)
    createdAt = Timestamp(attribute="created_at")
    updatedAt = Timestamp(attribute="updated_at")


class BatchPageOut(PageOut):
    content = fields.List(fields.Nested(BatchOut), attribute="items")


class EntryProblemOut(Out):
    path = fields.String()
    message = fields.String()
    errorCode = fields.String()


class BatchEntryOut(Out):
    index = fields.Integer(attribute="position", metadata={
        "description": "The entry's index in `entries` (from 0), or its row number in the CSV (the header is 1)."})
    status = fields.String(metadata={"enum": list(batches.ENTRY_STATUSES)})
    externalId = fields.String(attribute="external_id", allow_none=True)
    workflowId = fields.UUID(attribute="workflow_id", allow_none=True)
    errors = fields.List(fields.Nested(EntryProblemOut), allow_none=True)


class BatchEntryPageOut(PageOut):
    content = fields.List(fields.Nested(BatchEntryOut), attribute="items")


def _show(batch, status=200):
    return render(BatchOut, View(batch, counts=batches.counts(batch)), status)


class _Hashing(io.RawIOBase):
    """A stream that hashes what is read through it (the CSV body, read once)."""

    def __init__(self, stream, digest):
        self.stream, self.digest = stream, digest

    def readable(self):
        return True

    def readinto(self, buffer):
        data = self.stream.read(len(buffer))
        self.digest.update(data)
        buffer[:len(data)] = data
        return len(data)


@bp.post("/batches")
def create():
    rt = _rt()
    key = request.headers.get("Idempotency-Key")
    if key is None or not 6 <= len(key) <= 255 or not key.isascii() or not key.isprintable():
        raise InvalidRequest("A batch needs an Idempotency-Key.", [Problem(
            "header.Idempotency-Key", "Required: 6 to 255 printable ASCII characters.", "INVALID_IDEMPOTENCY_KEY")])
    request.max_content_length = batches.MAX_BODY_BYTES  # this route only
    mimetype = request.mimetype
    digest = hashlib.sha256(f"POST {request.path}?{request.query_string.decode('latin-1')}\n{mimetype}\n".encode())
    allowed = ("templateName",) if mimetype == "text/csv" else ()
    unknown = [Problem(f"query.{k}", "Unknown query parameter.", "UNKNOWN_FIELD") for k in request.args
               if k not in allowed]
    if unknown:
        raise InvalidRequest("The query is not valid.", unknown)
    if mimetype == "text/csv":
        lines = io.TextIOWrapper(io.BufferedReader(_Hashing(request.stream, digest), READ_BLOCK), encoding="utf-8-sig",
                                 newline="")
        ref, entries = batches.entries_from_csv(rt, lines, request.args.get("templateName"))
        source = "CSV"
    elif mimetype == "application/json":
        raw = request.get_data(cache=False)
        digest.update(raw)
        body = parse_json(raw)
        del raw
        ref, entries = batches.entries_from_json(body)
        del body
        source = "JSON"
    else:
        raise InvalidRequest("The body must be JSON or CSV.", [Problem(
            "header.Content-Type", f"Must be application/json or text/csv, not {mimetype or 'missing'}.",
            "UNSUPPORTED_CONTENT_TYPE")], code="UNSUPPORTED_CONTENT_TYPE")
    batch, replayed = batches.submit(rt, g.business, key, digest.hexdigest(), source, ref, entries)
    response = _show(batch, 202)
    response.headers["Location"] = url_for("batches.show", batch_id=batch.id)
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


@bp.get("/batches/<batch_id>")
def show(batch_id):
    return _show(batches.get(g.business, batch_id))


@bp.get("/batches")
def index():
    args = request.args
    page, size = page_query(args, LIST_QUERY)
    result = batches.list_batches(_rt(), g.business, status=args.get("status"), page=page, size=size)
    items = [View(b, counts=batches.counts(b)) for b in result.items]
    return render(BatchPageOut, View(result, items=items))


@bp.get("/batches/<batch_id>/entries")
def entries(batch_id):
    batch = batches.get(g.business, batch_id)
    args = request.args
    page, size = page_query(args, LIST_QUERY)
    return render(BatchEntryPageOut, batches.entries(_rt(), batch, status=args.get("status"), page=page, size=size))


@bp.post("/batches/<batch_id>/cancel")
def cancel(batch_id):
    return _show(batches.cancel(_rt(), g.business, batch_id))


@bp.get("/batches/<batch_id>/passcodes")
def passcodes(batch_id):
    text = batches.take_passcodes(_rt(), g.business, batch_id)
    response = current_app.response_class(text, mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="batch-{batch_id}-passcodes.csv"'
    return response


# -- OpenAPI ---------------------------------------------------------------------------------------------------

def add_paths(spec, errors):
    """The batches' paths and schemas in the OpenAPI document."""
    spec.components.schema("Batch", schema=BatchOut)
    spec.components.schema("BatchPage", schema=BatchPageOut)
    spec.components.schema("BatchEntryPage", schema=BatchEntryPageOut)
    spec.components.schema("BatchRequest", {
        "type": "object", "additionalProperties": False, "required": ["entries"],
        "description": "templateId or templateName (an ACTIVE template), and 1 to 10,000 entries.",
        "properties": {
            "templateId": {"type": "string", "format": "uuid"}, "templateName": {"type": "string"},
            "entries": {"type": "array", "minItems": 1, "maxItems": batches.MAX_ENTRIES, "items": {
                "type": "object", "additionalProperties": False, "properties": {
                    "externalId": {"type": "string", "minLength": 1, "maxLength": batches.EXTERNAL_ID_MAX,
                                   "description": "Yours; unique in the batch (a repeat makes its entry INVALID)."},
                    "title": {"type": "string"},
                    "parameters": {"type": "object", "description": "The per-customer parameters."}}}}}})
    bearer = [{"bearer": []}]
    batch_id = {"name": "batchId", "in": "path", "required": True, "schema": {"type": "string", "format": "uuid"}}
    one = {"content": {"application/json": {"schema": "Batch"}}}
    paging = [{"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "default": 1}},
              {"name": "size", "in": "query", "schema": {"type": "integer", "minimum": 1, "default": 20}}]
    spec.path(path="/v2/linx/batches", operations={
        "post": {
            "summary": "Send a template to up to 10,000 customers",
            "description": "Checked as a whole (400, 413 or 422: nothing stored), stored, and answered 202 at once; "
                           "the worker expands it into workflows, checking each entry. Bodies up to 16 MiB. As CSV "
                           "(`text/csv` with `?templateName=`): a header row of parameter names, `externalId` and "
                           "`title`, one entry per row.",
            "security": bearer,
            "parameters": [
                {"name": "Idempotency-Key", "in": "header", "required": True,
                 "schema": {"type": "string", "minLength": 6, "maxLength": 255, "pattern": "^[ -~]+$"},
                 "description": "Required: the same key and body answer the same batch."},
                {"name": "templateName", "in": "query", "schema": {"type": "string"},
                 "description": "With a CSV body: the template's name."}],
            "requestBody": {"required": True, "content": {
                "application/json": {"schema": "BatchRequest"},
                "text/csv": {"schema": {"type": "string"}}}},
            "responses": {"202": {"description": "Accepted: the batch, NEW (or as it is now, on a replay).", **one},
                          **errors(400, 401, 409, 413, 422)}},
        "get": {"summary": "List batches", "security": bearer, "parameters": [
            {"name": "status", "in": "query", "schema": {"type": "string", "enum": list(BATCHES.states)}}, *paging],
            "responses": {"200": {"description": "One page, newest first.",
                                  "content": {"application/json": {"schema": "BatchPage"}}}, **errors(400, 401)}},
    })
    spec.path(path="/v2/linx/batches/{batchId}", operations={"get": {
        "summary": "Get a batch and its counts", "security": bearer, "parameters": [batch_id],
        "responses": {"200": {"description": "The batch.", **one}, **errors(401, 404)}}})
    spec.path(path="/v2/linx/batches/{batchId}/entries", operations={"get": {
        "summary": "A batch's entries: index, externalId, workflowId or errors", "security": bearer,
        "parameters": [batch_id, {"name": "status", "in": "query",
                                  "schema": {"type": "string", "enum": list(batches.ENTRY_STATUSES)}}, *paging],
        "responses": {"200": {"description": "One page, in the entries' order.",
                              "content": {"application/json": {"schema": "BatchEntryPage"}}},
                      **errors(400, 401, 404)}}})
    spec.path(path="/v2/linx/batches/{batchId}/cancel", operations={"post": {
        "summary": "Cancel a batch: CANCELLING, then each of its workflows not yet ended is cancelled",
        "security": bearer, "parameters": [batch_id],
        "responses": {"200": {"description": "The batch, CANCELLING.", **one}, **errors(401, 404, 409)}}})
    spec.path(path="/v2/linx/batches/{batchId}/passcodes", operations={"get": {
        "summary": "Download the batch's passcodes once (CSV: index, externalId, workflowId, passcode)",
        "security": bearer, "parameters": [batch_id],
        "responses": {"200": {"description": "The passcodes, this once.",
                              "content": {"text/csv": {"schema": {"type": "string"}}}},
                      "410": {"description": "Downloaded already, or 24 hours after the expansion: gone.",
                              "content": {"application/json": {"schema": "Error"}}},
                      **errors(401, 404, 409)}}})
