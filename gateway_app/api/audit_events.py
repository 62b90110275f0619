"""``GET /v2/audit-events``: the business's audit log, newest first: every change its people made (issue 15)."""
from flask import Blueprint, current_app, g, jsonify, request
from marshmallow import fields

from linx_core.errors import InvalidRequest, Problem
from linx_core.services import audit

from .auth import require_business
from .events import query_time
from .paging import page_dict, query_int
from .schemas import Out

bp = Blueprint("audit_events", __name__)
bp.before_request(require_business)

QUERY = ("since", "until", "page", "size")


class AuditEventOut(Out):
    id = fields.UUID()
    createdAt = fields.String(metadata={"format": "date-time"})
    actor = fields.String(metadata={"description": "Who: the user's email, or `cli` for the command line."})
    userId = fields.UUID(allow_none=True)
    action = fields.String(metadata={"description": "What, like `workflow.cancel` or `user.created`."})
    objectType = fields.String()
    objectId = fields.String(allow_none=True)
    address = fields.String(allow_none=True, metadata={"description": "The client address, or `cli`."})
    details = fields.Dict()


class AuditEventPageOut(Out):
    content = fields.List(fields.Nested(AuditEventOut))
    page = fields.Integer()
    size = fields.Integer()
    totalElements = fields.Integer()
    totalPages = fields.Integer()


@bp.get("/audit-events")
def index():
    rt = current_app.extensions["linx"]
    args = request.args
    problems = [Problem(f"query.{k}", "Unknown query parameter.", "UNKNOWN_FIELD") for k in args if k not in QUERY]
    page = query_int(args, "page", 1, problems)
    size = query_int(args, "size", 20, problems)
    since = query_time(args, "since", problems)
    until = query_time(args, "until", problems)
    if problems:
        raise InvalidRequest("The query is not valid.", problems)
    result = audit.list_events(rt, g.business, since=since, until=until, page=page, size=size)
    return jsonify(AuditEventPageOut().dump(page_dict(result, audit.as_dict)))


def add_paths(spec, errors, page_size_max=100):
    if "AuditEventPage" not in spec.components.schemas:
        spec.components.schema("AuditEventPage", schema=AuditEventPageOut)
    spec.path(path="/v2/audit-events", operations={"get": {
        "summary": "List audit events (who changed what)",
        "description": "Every change the business's people made, in the Portal or with `linx`: who, what, which "
                       "object, when and from which address; newest first.",
        "security": [{"bearer": []}],
        "parameters": [
            {"name": "since", "in": "query", "schema": {"type": "string", "format": "date-time"}},
            {"name": "until", "in": "query", "schema": {"type": "string", "format": "date-time"}},
            {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "default": 1}},
            {"name": "size", "in": "query",
             "schema": {"type": "integer", "minimum": 1, "maximum": page_size_max, "default": 20}},
        ],
        "responses": {"200": {"description": "One page, newest first.",
                              "content": {"application/json": {"schema": "AuditEventPage"}}},
                      **errors(400, 401)},
    }})
