"""``/v2/authorizations``: the debit authorizations customers gave (the records NACHA asks the business to
keep), read and revoked (:mod:`linx_core.services.authorizations`)."""
from flask import Blueprint, current_app, g, request
from marshmallow import fields

from linx_core.errors import InvalidRequest, Problem
from linx_core.services import authorizations

from .auth import idempotent, require_business
from .paging import query_int
from .render import render
from .schemas import Out, PageOut, Timestamp

bp = Blueprint("authorizations", __name__)
bp.before_request(require_business)

LIST_QUERY = (*authorizations.FILTERS, "page", "size")


@bp.get("/authorizations")
def index():
    rt = current_app.extensions["linx"]
    args = request.args
    problems = [Problem(f"query.{k}", "Unknown query parameter.", "UNKNOWN_FIELD") for k in args if k not in LIST_QUERY]
    page = query_int(args, "page", 1, problems)
    size = query_int(args, "size", 20, problems)
    if problems:
        raise InvalidRequest("The query is not valid.", problems)
    filters = {k: args[k] for k in authorizations.FILTERS if k in args}
    return render(AuthorizationPageOut, authorizations.search(rt, g.business, filters, page=page, size=size))


@bp.get("/authorizations/<authorization_id>")
def show(authorization_id):
    return render(AuthorizationOut, authorizations.get(g.business, authorization_id))


@bp.post("/authorizations/<authorization_id>/revoke")
@idempotent
def revoke(authorization_id):
    rt = current_app.extensions["linx"]
    return render(AuthorizationOut, authorizations.revoke(rt, g.business, authorization_id))


class Whole(fields.Nested):
    """A nested object read from the same row (the record's document, its account)."""

    def get_value(self, obj, attr, accessor=None, default=None):
        return obj


class DocumentRefOut(Out):
    id = fields.String(attribute="document_id")
    version = fields.String(attribute="document_version")
    title = fields.String(attribute="document_title")
    language = fields.String(metadata={"description": "The language of the text shown: en or fr."})
    sha256 = fields.String(attribute="text_sha256", metadata={
        "description": "The SHA-256 (hex) of the document's text exactly as shown to the customer (UTF-8)."})


class AccountRefOut(Out):
    id = fields.UUID(attribute="financial_account_id")
    maskedNumber = fields.String(attribute="masked_number", metadata={"description": "Never the number."})
    type = fields.String(attribute="account_type")
    subtype = fields.String(attribute="account_subtype")


class AuthorizationOut(Out):
    id = fields.UUID()
    status = fields.String(metadata={"enum": list(authorizations.STATUSES)})
    customerId = fields.UUID(attribute="customer_id")
    workflowId = fields.UUID(attribute="workflow_id", allow_none=True)
    document = Whole(DocumentRefOut, metadata={"description": "Id, version, title, language and sha256 of the "
                                                             "text the customer accepted."})
    financialAccount = Whole(AccountRefOut, metadata={
        "description": "The bank account the customer authorized debits from (id, masked number, type, subtype)."})
    ipAddress = fields.String(attribute="ip_address", allow_none=True, metadata={
        "description": "The Gateway session's IP address (behind LINX_PROXY_HOPS proxies, the client's); null once "
                       "the customer's personal data was erased."})
    userAgent = fields.String(attribute="user_agent", allow_none=True, metadata={
        "description": "The Gateway session's browser (User-Agent); null once the customer was erased."})
    acceptedAt = Timestamp(attribute="accepted_at")
    revokedAt = Timestamp(attribute="revoked_at", allow_none=True)
    retainUntil = Timestamp(attribute="retain_until", allow_none=True, metadata={
        "description": "Kept at least until then: two years after the revocation (null while ACTIVE)."})
    personalDataErasedAt = Timestamp(attribute="personal_data_erased_at", allow_none=True)


class AuthorizationPageOut(PageOut):
    content = fields.List(fields.Nested(AuthorizationOut), attribute="items")


def add_paths(spec, errors, page_size_max):
    """Document ``/v2/authorizations`` on ``spec`` (an apispec ``APISpec``)."""
    for name, schema in (("AuthorizationDocument", DocumentRefOut), ("AuthorizationAccount", AccountRefOut),
                         ("Authorization", AuthorizationOut), ("AuthorizationPage", AuthorizationPageOut)):
        if name not in spec.components.schemas:
            spec.components.schema(name, schema=schema)
    secured = {"security": [{"bearer": []}]}
    uuid_schema = {"type": "string", "format": "uuid"}
    param = {"name": "authorizationId", "in": "path", "required": True, "schema": uuid_schema}
    idem = {"name": "Idempotency-Key", "in": "header", "required": False,
            "schema": {"type": "string", "minLength": 6, "maxLength": 255},
            "description": "Repeat a request safely: the same key and body replay the first success."}

    def ok(description, schema):
        return {"200": {"description": description, "content": {"application/json": {"schema": schema}}}}

    spec.path(path="/v2/authorizations", operations={"get": {
        "summary": "List debit authorizations", **secured,
        "description": "The debit authorizations the business's customers gave, newest first: one per debit "
                       "authorization document (catalog `kind: debit-authorization`) accepted with a bank account.",
        "parameters": [
            {"name": "customerId", "in": "query", "schema": uuid_schema},
            {"name": "workflowId", "in": "query", "schema": uuid_schema},
            {"name": "batchId", "in": "query", "schema": uuid_schema,
             "description": "Only those given on the workflows of this batch (`POST /v2/linx/batches`)."},
            {"name": "status", "in": "query", "schema": {"type": "string", "enum": list(authorizations.STATUSES)}},
            {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "default": 1}},
            {"name": "size", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": page_size_max,
                                                       "default": 20}},
        ],
        "responses": {**ok("One page, newest first.", "AuthorizationPage"), **errors(400, 401)},
    }})
    spec.path(path="/v2/authorizations/{authorizationId}", operations={"get": {
        "summary": "Get a debit authorization", **secured, "parameters": [param],
        "responses": {**ok("The authorization record.", "Authorization"), **errors(401, 404)},
    }})
    spec.path(path="/v2/authorizations/{authorizationId}/revoke", operations={"post": {
        "summary": "Revoke a debit authorization", **secured, "parameters": [param, idem],
        "description": "The customer withdrew the authorization: REVOKED for good, with an `authorization.revoked` "
                       "event; the record stays (`retainUntil`: two years on). Revoking again answers the same. 409 "
                       "`IDEMPOTENCY_KEY_REUSED` for an Idempotency-Key sent before with another request.",
        "responses": {**ok("The revoked authorization.", "Authorization"), **errors(401, 404, 409)},
    }})
