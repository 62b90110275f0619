"""The OpenAPI document, generated from the same schemas that validate, and ``/v2/docs``: Swagger UI.

Swagger UI comes from the ``swagger-ui-bundle`` distribution, which ships its built JavaScript and CSS: LinX
serves those files itself (``/v2/docs/assets/...``), so the page loads nothing from another host, under a
Content-Security-Policy of its own (:data:`DOCS_CSP`). Descriptions in the document are CommonMark, as OpenAPI
says, and Swagger UI renders them.
"""
from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, abort, current_app, jsonify, render_template, send_from_directory
from swagger_ui_bundle import swagger_ui_path

from linx_core import __version__
from linx_core.services.workflows import SORTS
from linx_core.text import CONTROL_PATTERN

from . import audit_events, authorizations, batches, customers, events, schemas, templates, transactions
from .examples import create_examples
from .paging import sort_pattern

bp = Blueprint("openapi", __name__)

#: what /v2/docs may load: its own scripts, styles and requests only; images also as data: URIs (Swagger UI's
#: stylesheet draws its icons so); Swagger UI sets element styles from its script (allowed: no inline markup)
DOCS_CSP = "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
#: the files of the Swagger UI build that the page uses (nothing else in that folder is served)
SWAGGER_ASSETS = ("swagger-ui.css", "swagger-ui-bundle.js", "favicon-32x32.png")

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
                             "on the Gateway. Step rules and allowed values come from the rule files.\n\n"
                             "Every operation takes a business API key as a **Bearer** token: press *Authorize* "
                             "and paste it (`make run` prints Demo Co's), then *Try it out*. The create "
                             "operation offers the product brief's four requests under *Examples*."},
    )
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer",
                                                "description": "Your business API key."})
    spec.components.schema("Error", schema=schemas.ErrorOut)
    spec.components.schema("WorkflowCreateRequest", schema=rt.rules.request_schema)
    spec.components.schema("Workflow", schema=schemas.WorkflowOut)
    spec.components.schema("WorkflowCreated", schema=schemas.WorkflowCreatedOut)
    spec.components.schema("WorkflowPage", schema=schemas.WorkflowPageOut)
    spec.components.schema("NotificationHistory", schema=schemas.NotificationHistoryOut)
    number = {"oneOf": [{"type": "integer"}, {"type": "string", "pattern": "^[0-9]+$"}]}
    spec.components.schema("WorkflowExpiryRequest", {  # an extend's body, and a recover's
        "type": "object", "additionalProperties": False,
        "description": "One of expireIn (days) or expireInHours, counted from now, within the rules' bounds.",
        "properties": {"expireIn": number, "expireInHours": number}})
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
                {"$ref": "#/components/schemas/WorkflowFromTemplateRequest"}]}, "examples": create_examples()}}},
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
            ("extend", "Move the expiry (and the reminders with it); it never moves earlier",
             "WorkflowExpiryRequest"),
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
    spec.path(path="/v2/linx/workflows/{workflowId}/recover", operations={"post": {
        "summary": "Recover an ended workflow (EXPIRED, CANCELLED, DECLINED or FAILED) with a new one",
        "description": "A new workflow with the same parameters and steps, sent as a create sends it (a new link, a "
                       "new passcode if the old one had one, the recipient limits). A step that already created "
                       "the customer or an account becomes its lookup (customer-account: lookup-profile with the "
                       "customerId; financial-account: lookup-financial-account with the account's id). The new "
                       "workflow shows `recoveredFrom`, the old one `recoveredBy`; a workflow is recovered once "
                       "(409 `WORKFLOW_ALREADY_RECOVERED`; a replay of the same Idempotency-Key answers as the "
                       "first time). 409 with the state (`WORKFLOW_ACTIVE`...) for a workflow that has not ended.",
        "security": [{"bearer": []}], "parameters": [workflow_id, idem],
        "requestBody": {"required": False, "description": "Optional: without it, the new workflow runs as long as "
                        "the old one did.", "content": {"application/json": {"schema": "WorkflowExpiryRequest"}}},
        "responses": {"201": {"description": "The new workflow. `passcode` appears this once.",
                              "headers": {"Location": {"schema": {"type": "string"}}},
                              "content": {"application/json": {"schema": "WorkflowCreated"}}},
                      **errors(400, 401, 404, 409, 413, 422), "429": LIMITED},
    }})
    spec.path(path="/v2/linx/workflows/{workflowId}/notifications/history", operations={"get": {
        "summary": "The messages sent for a workflow", "security": [{"bearer": []}], "parameters": [workflow_id],
        "responses": {"200": {"description": "Serial, channel, origin, delivery status, when.",
                              "content": {"application/json": {"schema": "NotificationHistory"}}},
                      **errors(401, 404)},
    }})
    rt.plugins.hook.linx_openapi(rt=rt, spec=spec, errors=errors)  # webhooks' /v2/push-notifications, say
    events.add_paths(spec, errors, rt.event_types)
    transactions.add_paths(spec, errors, solutions=list(rt.rules.solutions), page_size_max=rt.settings.page_size_max)
    customers.add_paths(spec, errors, rt.settings.page_size_max)
    authorizations.add_paths(spec, errors, rt.settings.page_size_max)
    audit_events.add_paths(spec, errors, rt.settings.page_size_max)
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
    response = current_app.make_response(render_template("swagger.html", version=__version__))
    response.headers["Content-Security-Policy"] = DOCS_CSP
    return response


@bp.get("/docs/assets/<name>")
def swagger_asset(name):
    if name not in SWAGGER_ASSETS:
        abort(404)
    response = send_from_directory(swagger_ui_path, name, max_age=3600)
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response
