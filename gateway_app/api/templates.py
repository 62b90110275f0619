"""``/v2/linx/templates``: versioned workflow templates and their lifecycle."""
from flask import Blueprint, current_app, g, request, url_for
from marshmallow import fields

from linx_core.errors import InvalidRequest, Problem
from linx_core.lifecycle import TEMPLATES
from linx_core.services import templates

from .auth import idempotent, require_business
from .body import json_body
from .paging import query_int
from .render import View, render
from .schemas import Out, PageOut, Timestamp

bp = Blueprint("templates", __name__)
bp.before_request(require_business)

LIST_QUERY = ("search", "name", "status", "page", "size")
MOVES = ("suspend", "activate", "archive")


def _rt():
    return current_app.extensions["linx"]


class StepNameOut(Out):
    name = fields.String()


class StepNames(fields.List):
    """A version's step names as the request gave them: ``[{"name": ...}]``."""

    def _serialize(self, value, attr, obj, **kwargs):
        return [{"name": name} for name in value or []]


class TemplateVersionOut(Out):
    """One version of a template (read from a ``TemplateVersion`` row)."""

    version = fields.Integer(attribute="number")
    title = fields.String()
    description = fields.String(allow_none=True)
    steps = StepNames(fields.Nested(StepNameOut))
    parameters = fields.Dict(metadata={"description": "The preset parameters; amounts as decimal strings."})
    overridable = fields.List(fields.String(), metadata={
        "description": "Presets a workflow made from the template may still change."})
    expireIn = fields.Integer(attribute="expire_in", allow_none=True, metadata={"description": "Days."})
    passcode = fields.Boolean(allow_none=True, metadata={
        "description": "Whether its workflows ask for a passcode (null: the business's setting)."})
    customerMemo = fields.String(attribute="customer_memo", allow_none=True)
    createdAt = Timestamp(attribute="created_at")


class TemplateOut(TemplateVersionOut):
    """A template with its latest version: a :class:`View` of the ``Template`` with ``current`` (the version)."""

    id = fields.UUID()
    name = fields.String()
    status = fields.String(metadata={"enum": list(TEMPLATES.states)})
    version = fields.Integer(attribute="latest", metadata={"description": "The latest version's number."})
    updatedAt = Timestamp(attribute="updated_at")


class TemplatePageOut(PageOut):
    content = fields.List(fields.Nested(TemplateOut), attribute="items")


class TemplateVersionsOut(Out):
    content = fields.List(fields.Nested(TemplateVersionOut))


def _view(template, version):
    """The template's row with its latest version's content (the row's own id, name, status and times win)."""
    content = {name: getattr(version, name) for name in ("title", "description", "steps", "parameters",
                                                         "overridable", "expire_in", "passcode", "customer_memo")}
    return View(template, **content)


@bp.post("/templates")
@idempotent
def create():
    template, version = templates.create(_rt(), g.business, json_body())
    response = render(TemplateOut, _view(template, version), 201)
    response.headers["Location"] = url_for("templates.show", template_id=template.id)
    return response


@bp.get("/templates/<template_id>")
def show(template_id):
    template = templates.get(g.business, template_id)
    return render(TemplateOut, _view(template, templates.version_of(template)))


@bp.put("/templates/<template_id>")
@idempotent
def revise(template_id):
    template, version = templates.revise(_rt(), g.business, template_id, json_body())
    return render(TemplateOut, _view(template, version))


@bp.delete("/templates/<template_id>")
@idempotent
def delete(template_id):
    template = templates.move(_rt(), g.business, template_id, "delete")
    return render(TemplateOut, _view(template, templates.version_of(template)))


def _move(trigger):
    def view(template_id):
        template = templates.move(_rt(), g.business, template_id, trigger)
        return render(TemplateOut, _view(template, templates.version_of(template)))
    view.__name__ = trigger
    return view


for _trigger in MOVES:
    bp.add_url_rule(f"/templates/<template_id>/{_trigger}", _trigger, idempotent(_move(_trigger)), methods=["POST"])


@bp.get("/templates/<template_id>/versions")
def versions(template_id):
    template = templates.get(g.business, template_id)
    return render(TemplateVersionsOut, {"content": templates.versions(template)})


@bp.get("/templates/<template_id>/versions/<number>")
def version(template_id, number):
    template = templates.get(g.business, template_id)
    return render(TemplateVersionOut, templates.version_of(template, number))


@bp.get("/templates")
def index():
    args = request.args
    problems = [Problem(f"query.{k}", "Unknown query parameter.", "UNKNOWN_FIELD") for k in args if k not in LIST_QUERY]
    page = query_int(args, "page", 1, problems)
    size = query_int(args, "size", 20, problems)
    if problems:
        raise InvalidRequest("The query is not valid.", problems)
    result = templates.list_templates(_rt(), g.business, search=args.get("search"), name=args.get("name"),
                                      status=args.get("status"), page=page, size=size)
    items = [_view(t, t.current) for t in result.items]
    return render(TemplatePageOut, View(result, items=items))


# -- OpenAPI ---------------------------------------------------------------------------------------------------

def add_paths(spec, errors, idem):
    """The templates' paths and schemas in the OpenAPI document."""
    spec.components.schema("Template", schema=TemplateOut)
    spec.components.schema("TemplateVersion", schema=TemplateVersionOut)
    spec.components.schema("TemplatePage", schema=TemplatePageOut)
    spec.components.schema("TemplateVersions", schema=TemplateVersionsOut)
    spec.components.schema("TemplateRequest", {
        "type": "object", "additionalProperties": False, "required": ["name", "title", "steps"],
        "description": "A workflow's shared part, checked by the workflow rules except the per-customer "
                       "parameters still missing. phoneNumber, email, customerId and customerFinancialAccountId "
                       "may not be preset.",
        "properties": {
            "name": {"type": "string", "pattern": templates.NAME.pattern,
                     "description": "Unique among the business's templates not deleted; kept by every version."},
            "title": {"type": "string"}, "description": {"type": "string", "maxLength": templates.DESCRIPTION_MAX},
            "steps": {"type": "array", "items": {"type": "object", "properties": {"name": {"type": "string"}}}},
            "parameters": {"type": "object", "description": "Preset workflow parameters."},
            "overridable": {"type": "array", "items": {"type": "string"},
                            "description": "Presets a workflow may still change."},
            "expireIn": {"oneOf": [{"type": "integer"}, {"type": "string", "pattern": "^[0-9]+$"}]},
            "passcode": {"type": "boolean"}, "customerMemo": {"type": "string"}}})
    spec.components.schema("WorkflowFromTemplateRequest", {
        "type": "object", "additionalProperties": False,
        "description": "A workflow from the latest version of an ACTIVE template: templateId or templateName, "
                       "and the per-customer part. A preset the template does not list in overridable may not "
                       "be given (422 NOT_OVERRIDABLE).",
        "properties": {"templateId": {"type": "string", "format": "uuid"}, "templateName": {"type": "string"},
                       "title": {"type": "string"}, "parameters": {"type": "object"},
                       "customerMemo": {"type": "string"}}})
    bearer = [{"bearer": []}]
    template_id = {"name": "templateId", "in": "path", "required": True, "schema": {"type": "string", "format": "uuid"}}
    one = {"content": {"application/json": {"schema": "Template"}}}
    body = {"required": True, "content": {"application/json": {"schema": "TemplateRequest"}}}
    spec.path(path="/v2/linx/templates", operations={
        "post": {"summary": "Create a template (version 1, ACTIVE)", "security": bearer, "parameters": [idem],
                 "requestBody": body,
                 "responses": {"201": {"description": "Created.", **one}, **errors(400, 401, 409, 413, 422)}},
        "get": {"summary": "List and search templates", "security": bearer, "parameters": [
            {"name": "search", "in": "query", "schema": {"type": "string", "maxLength": 200},
             "description": "Matches the name or the title."},
            {"name": "name", "in": "query", "schema": {"type": "string"}},
            {"name": "status", "in": "query", "schema": {"type": "string", "enum": list(TEMPLATES.states)},
             "description": "Without it, every template but the DELETED ones."},
            {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "default": 1}},
            {"name": "size", "in": "query", "schema": {"type": "integer", "minimum": 1, "default": 20}}],
            "responses": {"200": {"description": "One page, newest first.",
                                  "content": {"application/json": {"schema": "TemplatePage"}}},
                          **errors(400, 401)}},
    })
    spec.path(path="/v2/linx/templates/{templateId}", operations={
        "get": {"summary": "Get a template (its latest version)", "security": bearer, "parameters": [template_id],
                "responses": {"200": {"description": "The template.", **one}, **errors(401, 404)}},
        "put": {"summary": "Write a new version of a template", "security": bearer, "parameters": [template_id, idem],
                "requestBody": body,
                "responses": {"200": {"description": "The template at its new version.", **one},
                              **errors(400, 401, 404, 409, 413, 422)}},
        "delete": {"summary": "Delete a template (its name may be reused)", "security": bearer,
                   "parameters": [template_id, idem],
                   "responses": {"200": {"description": "The template, DELETED.", **one}, **errors(401, 404, 409)}},
    })
    for trigger in MOVES:
        spec.path(path=f"/v2/linx/templates/{{templateId}}/{trigger}", operations={"post": {
            "summary": f"{trigger.capitalize()} a template", "security": bearer, "parameters": [template_id, idem],
            "responses": {"200": {"description": "The template.", **one}, **errors(401, 404, 409)}}})
    spec.path(path="/v2/linx/templates/{templateId}/versions", operations={"get": {
        "summary": "Every version of a template", "security": bearer, "parameters": [template_id],
        "responses": {"200": {"description": "Oldest first.",
                              "content": {"application/json": {"schema": "TemplateVersions"}}}, **errors(401, 404)}}})
    spec.path(path="/v2/linx/templates/{templateId}/versions/{version}", operations={"get": {
        "summary": "One version of a template", "security": bearer,
        "parameters": [template_id, {"name": "version", "in": "path", "required": True,
                                     "schema": {"type": "integer", "minimum": 1}}],
        "responses": {"200": {"description": "The version.",
                              "content": {"application/json": {"schema": "TemplateVersion"}}},
                      **errors(401, 404)}}})
