"""The OpenAPI document, generated from the same schemas that validate, and a docs page."""
from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, current_app, jsonify, render_template

from linx_core import __version__
from linx_core.services.workflows import SORTS
from linx_core.text import CONTROL_PATTERN

from . import batches, events, schemas, templates, transactions
from .paging import sort_pattern

bp = Blueprint("openapi", __name__)

ERRORS = {
    400: "The request is malformed: bad JSON, wrong content type, wrong types, unknown or missing fields, or "
         "control characters in text; each error names its fault in errorCode (e.g. MALFORMED_JSON, "
         "DUPLICATE_KEY, UNSUPPORTED_CONTENT_TYPE, INVALID_IDEMPOTENCY_KEY, CONTROL_CHARACTER for a line break, "
         "tab, escape, NUL or direction override in a text field).",
    401: "No API key, or a key that is not valid (or revoked).",
    403: "The API key is read-only (errorCode READ_ONLY_API_KEY): it may only GET.",
    404: "No such resource (another business's resources look the same).",
    409: "A conflict: an Idempotency-Key reused with another body or still in flight, or a move the state "
         "does not allow (errorCode names the state, e.g. WORKFLOW_COMPLETED, TRANSACTION_PROCESSING).",
    413: "The body is larger than the limit.",
    422: "The request breaks a rule (each error names the rule in errorCode and the field in path).",
}

# What gateway_app.api.auth.idempotent accepts: 6 to 255 printable ASCII characters (space to tilde).
IDEMPOTENCY_KEY = {"type": "string", "minLength": 6, "maxLength": 255, "pattern": "^[ -~]+$"}


# a create or resend past a message limit (rules/limits.yaml) or a workflow's resend cap
LIMITED = {"description": "A limit is reached (`RECIPIENT_LIMIT`, `BUSINESS_MESSAGE_LIMIT`, `RESEND_RATE_LIMITED`); "
                          "nothing was done. Retry after the seconds in `Retry-After`.",
           "headers": {"Retry-After": {"schema": {"type": "integer", "minimum": 1}}},
           "content": {"application/json": {"schema": "Error"}}}

def build_spec(rt):
    spec = APISpec(
        title="LinX API", version=__version__, openapi_version="3.0.3",
        plugins=[MarshmallowPlugin(schema_name_resolver=_schema_name)],
        info={"description": "Do it by link: one call texts the customer a secure link; the customer finishes "
                             "on the Gateway. Step rules and allowed values come from the rule files."},
    )
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer",
                                                "description": "Your business API key."})
    spec.components.schema("Error", schema=schemas.ErrorOut)
    spec.components.schema("WorkflowCreateRequest", schema=rt.rules.request_schema)
    spec.components.schema("Workflow", schema=schemas.WorkflowOut)
    spec.components.schema("WorkflowCreated", schema=schemas.WorkflowCreatedOut)
    spec.components.schema("WorkflowPage", schema=schemas.WorkflowPageOut)
    spec.components.schema("NotificationHistory", schema=schemas.NotificationHistoryOut)
    spec.components.schema("WorkflowExtendRequest", {
        "type": "object", "additionalProperties": False,
        "description": "One of expireIn (days) or expireInHours, counted from now; the expiry never moves earlier.",
        "properties": {"expireIn": {"oneOf": [{"type": "integer"}, {"type": "string", "pattern": "^[0-9]+$"}]},
                       "expireInHours": {"oneOf": [{"type": "integer"}, {"type": "string", "pattern": "^[0-9]+$"}]}}})
    idem = {"name": "Idempotency-Key", "in": "header", "required": False, "schema": dict(IDEMPOTENCY_KEY),
            "description": "Repeat a request safely: the same key and body replay the first success."}

    def errors(*codes):
        return {str(c): {"description": ERRORS[c], "content": {"application/json": {"schema": "Error"}}}
                for c in codes}

    spec.path(path="/v2/linx/workflows", operations={
        "post": {
            "summary": "Create a workflow",
            "description": "Validates the request against the rule files and the business's data, stores the "
                           "workflow, and queues the first notification.",
            "security": [{"bearer": []}],
            "parameters": [idem],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {"oneOf": [
                {"$ref": "#/components/schemas/WorkflowCreateRequest"},
                {"$ref": "#/components/schemas/WorkflowFromTemplateRequest"}]}}}},
            "responses": {"201": {"description": "Created. `passcode` appears this once.",
                                  "content": {"application/json": {"schema": "WorkflowCreated"}}},
                          **errors(400, 401, 409, 413, 422), "429": LIMITED},
        },
        "get": {
            "summary": "Search workflows",
            "security": [{"bearer": []}],
            "parameters": [
                {"name": "search", "in": "query", "schema": {"type": "string", "maxLength": 200,
                                                             "pattern": CONTROL_PATTERN},
                 "description": "Matches the id, title, phone, email or customer name."},
                {"name": "status", "in": "query", "schema": {"type": "string", "enum": list(
                    schemas.WorkflowOut._declared_fields["status"].metadata["enum"])}},
                {"name": "templateId", "in": "query", "schema": {"type": "string", "format": "uuid"},
                 "description": "Only the workflows made from this template."},
                {"name": "batchId", "in": "query", "schema": {"type": "string", "format": "uuid"},
                 "description": "Only the workflows made by this batch."},
                {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "default": 1}},
                {"name": "size", "in": "query", "schema": {"type": "integer", "minimum": 1,
                                                           "maximum": rt.settings.page_size_max, "default": 20}},
                {"name": "sort", "in": "query", "schema": {"type": "string", "default": "createdAt,desc",
                                                           "pattern": sort_pattern(SORTS)},
                 "description": f"FIELD[,asc|desc]; FIELD is {', '.join(SORTS)}; the direction defaults to asc."},
            ],
            "responses": {"200": {"description": "One page, newest first by default.",
                                  "content": {"application/json": {"schema": "WorkflowPage"}}},
                          **errors(400, 401)},
        },
    })
    spec.path(path="/v2/linx/workflows/{workflowId}", operations={
        "get": {
            "summary": "Get a workflow",
            "security": [{"bearer": []}],
            "parameters": [{"name": "workflowId", "in": "path", "required": True,
                            "schema": {"type": "string", "format": "uuid"}}],
            "responses": {"200": {"description": "The workflow.",
                                  "content": {"application/json": {"schema": "Workflow"}}},
                          **errors(401, 404)},
        },
    })
    workflow_id = {"name": "workflowId", "in": "path", "required": True, "schema": {"type": "string", "format": "uuid"}}
    for action, summary, body in (
            ("cancel", "Cancel a waiting workflow (and its payment, if not yet sent)", None),
            ("archive", "Archive a workflow that has ended", None),
            ("extend", "Move the expiry (and the reminders with it)", "WorkflowExtendRequest"),
            ("resend", "Send the link again; unlocks, and issues a new passcode once", None)):
        operation = {
            "summary": summary, "security": [{"bearer": []}], "parameters": [workflow_id, idem],
            "responses": {"200": {"description": "The workflow." + (" `passcode` appears when a new one was made."
                                                                    if action == "resend" else ""),
                                  "content": {"application/json": {"schema": "WorkflowCreated"}}},
                          **errors(400, 401, 404, 409, 422)},
        }
        if action == "resend":
            operation["responses"]["429"] = LIMITED
        if body:
            operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
        spec.path(path=f"/v2/linx/workflows/{{workflowId}}/{action}", operations={"post": operation})
    spec.path(path="/v2/linx/workflows/{workflowId}/notifications/history", operations={"get": {
        "summary": "The messages sent for a workflow", "security": [{"bearer": []}], "parameters": [workflow_id],
        "responses": {"200": {"description": "Serial, channel, origin, delivery status, when.",
                              "content": {"application/json": {"schema": "NotificationHistory"}}},
                      **errors(401, 404)},
    }})
    rt.plugins.hook.linx_openapi(rt=rt, spec=spec, errors=errors)  # webhooks' /v2/push-notifications, say
    events.add_paths(spec, errors, rt.event_types)
    transactions.add_paths(spec, errors)
    templates.add_paths(spec, errors, idem)
    batches.add_paths(spec, errors)
    document = spec.to_dict()
    for operations in document["paths"].values():
        for method, operation in operations.items():
            _state_the_limits(operation, rt.settings)
            _refused_to_read_only_keys(method, operation)
    return document


def _refused_to_read_only_keys(method, operation):
    """Every operation a key must be allowed to write for answers 403 to a read-only key
    (:func:`gateway_app.api.auth.require_business`), whichever module declared it."""
    if method.lower() not in ("get", "head", "options") and operation.get("security") and isinstance(operation, dict):
        operation.setdefault("responses", {}).setdefault("403", {"description": ERRORS[403], "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})


def _state_the_limits(operation, settings):
    """What the server enforces on the parameters every module declares alike, stated once for all:
    a page's size is at most ``page_size_max``; an Idempotency-Key has its length and characters, and
    a malformed one is answered 400."""
    for parameter in operation.get("parameters", []):
        if parameter.get("in") == "query" and parameter.get("name") == "size":
            parameter["schema"]["maximum"] = settings.page_size_max
        if parameter.get("in") == "header" and parameter.get("name") == "Idempotency-Key":
            parameter["schema"] = dict(IDEMPOTENCY_KEY)
            if "400" not in operation["responses"]:
                operation["responses"]["400"] = {"description": ERRORS[400], "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _schema_name(schema):
    cls = schema if isinstance(schema, type) else type(schema)
    return cls.__name__.removesuffix("Out") or cls.__name__


def _spec():
    ext = current_app.extensions
    if "linx.openapi" not in ext:
        ext["linx.openapi"] = build_spec(ext["linx"])
    return ext["linx.openapi"]


@bp.get("/openapi.json")
def openapi_json():
    return jsonify(_spec())


@bp.get("/docs")
def docs():
    return render_template("docs.html", spec=_spec())
