"""Templates: a business's versioned workflow definitions, and workflows made from them.

A template holds what its workflows share (steps, preset parameters, expiry, passcode); each workflow adds
the per-customer part (the contact, the customer's ids, often the amount). A template is checked by the
same rules as a workflow (:meth:`RuleBook.validate_workflow`), less the faults of a per-customer parameter
that is simply not there yet: a parameter that is absent can only be missing (a rule that forbids or bounds
a value needs the value), so a fault at the path of an absent parameter is left for each workflow to fill.

Versions are rows: ``PUT`` writes version n + 1 and never changes an older one. Status is a lifecycle
(:data:`linx_core.lifecycle.TEMPLATE`); only an ACTIVE template makes workflows, always from its latest version.
"""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import peewee

from .. import clock, events
from ..errors import Conflict, InvalidRequest, NotFound, Problem, RuleViolation
from ..lifecycle import TEMPLATES, save_status
from ..store import db, for_update
from ..store.models import Business, Template, TemplateVersion
from ..text import has_controls
from .paging import Page, check_paging

if TYPE_CHECKING:  # pragma: no cover
    from ..runtime import Runtime

STATUSES = TEMPLATES.states
NAME = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
#: what only a workflow names: a template may not preset these
PER_CUSTOMER = ("phoneNumber", "email", "customerId", "customerFinancialAccountId")
FIELDS = ("name", "title", "description", "steps", "parameters", "expireIn", "passcode", "overridable",
          "customerMemo")
#: what a workflow made from a template may give besides the template's id or name
WORKFLOW_FIELDS = ("title", "parameters", "customerMemo")
SET_BY_TEMPLATE = ("steps", "expireIn", "expireInHours", "passcode")
DESCRIPTION_MAX = 1000


@dataclass(frozen=True)
class Used:
    """The template and version a workflow was made from."""

    template: Template
    version: TemplateVersion


def create(rt: Runtime, business: Business, body: object) -> tuple[Template, TemplateVersion]:
    """Check ``body`` and store the template with its version 1 (ACTIVE); 409 if the name is taken."""
    data = _check(rt, body, name_required=True)
    now = clock.now()
    try:
        with db.atomic():
            if _live(business, data["name"]) is not None:
                raise Conflict(f"A template named {data['name']!r} exists already.", "TEMPLATE_NAME_TAKEN")
            template = Template.create(business=business, name=data["name"], status="ACTIVE", latest=1,
                                       created_at=now, updated_at=now)
            version = _write_version(template, 1, data, now)
            _event(rt, template, None)
    except peewee.IntegrityError:  # the same name at the same moment
        raise Conflict(f"A template named {data['name']!r} exists already.", "TEMPLATE_NAME_TAKEN") from None
    return template, version


def revise(rt: Runtime, business: Business, template_id: object, body: object) -> tuple[Template, TemplateVersion]:
    """A new version (the latest + 1) of the template from ``body``; the older versions stay as they were."""
    found = get(business, template_id)
    data = _check(rt, body, name_required=False)
    if "name" in data and data["name"] != found.name:
        raise RuleViolation("A template keeps its name.", [Problem(
            "name", f"Is {found.name!r}; a template cannot be renamed (create another).", "NAME_IMMUTABLE")])
    now = clock.now()
    with db.atomic():
        template = _locked(found)
        TEMPLATES.next_state(template.status, "revise")
        save_status(template, template.status, latest=template.latest + 1, updated_at=now)
        version = _write_version(template, template.latest, data, now)
        _event(rt, template, template.status)
    return template, version


def move(rt: Runtime, business: Business, template_id: object, trigger: str) -> Template:
    """``suspend``, ``activate``, ``archive`` or ``delete`` the template, with its event."""
    found = get(business, template_id)
    with db.atomic():
        template = _locked(found)
        previous = template.status
        save_status(template, TEMPLATES.next_state(previous, trigger), updated_at=clock.now())
        _event(rt, template, previous)
    return template


def get(business: Business, template_id: object) -> Template:
    """The business's template, or :class:`NotFound` (another's too)."""
    try:
        tid = uuid.UUID(str(template_id))
    except ValueError:
        raise NotFound("No such template.", "TEMPLATE_NOT_FOUND") from None
    template = Template.get_or_none((Template.id == tid) & (Template.business == business))
    if template is None:
        raise NotFound("No such template.", "TEMPLATE_NOT_FOUND")
    return template


def version_of(template: Template, number: object = None) -> TemplateVersion:
    """Version ``number`` of ``template`` (its latest when None), or :class:`NotFound`."""
    if number is None:
        number = template.latest
    if isinstance(number, str):
        number = int(number) if number.isascii() and number.isdigit() and len(number) < 9 else -1
    found = TemplateVersion.get_or_none((TemplateVersion.template == template.id) & (TemplateVersion.number == number))
    if found is None:
        raise NotFound("No such version of this template.", "TEMPLATE_VERSION_NOT_FOUND")
    return found


def versions(template: Template) -> list[TemplateVersion]:
    return list(TemplateVersion.select().where(TemplateVersion.template == template.id)
                .order_by(TemplateVersion.number))


def list_templates(rt: Runtime, business: Business, search: str | None = None, name: str | None = None,
                   status: str | None = None, page: int = 1, size: int = 20) -> Page:
    """One page of the business's templates, newest first; DELETED ones only when asked for by ``status``."""
    problems = check_paging(rt, page, size)
    if status is not None and status not in STATUSES:
        problems.append(Problem("query.status", f"Must be one of {', '.join(STATUSES)}.", "NOT_ALLOWED"))
    for key, value in (("search", search), ("name", name)):
        if value is not None and (len(value) > 200 or has_controls(value)):
            problems.append(Problem(f"query.{key}", "Must be at most 200 characters, without control characters.",
                                    "NOT_ALLOWED"))
    if problems:
        raise InvalidRequest("The query is not valid.", problems)
    query = (Template.select(Template, TemplateVersion)
             .join(TemplateVersion, on=((TemplateVersion.template == Template.id)
                                        & (TemplateVersion.number == Template.latest)), attr="current")
             .where(Template.business == business))
    query = query.where(Template.status == status) if status else query.where(Template.status != "DELETED")
    if name:
        query = query.where(Template.name == name)
    if search and search.strip():
        term = search.strip()
        query = query.where(Template.name.contains(term) | TemplateVersion.title.contains(term))
    total = query.count()
    items = list(query.order_by(Template.created_at.desc(), Template.id.desc()).paginate(page, size))
    return Page(items, page, size, total)


def usable(business: Business, template_id: object = None, template_name: object = None,
           prefix: str = "") -> Used:
    """The ACTIVE template named by id or name, with its latest version; 422 otherwise (with its path)."""
    path = f"{prefix}templateId" if template_id is not None else f"{prefix}templateName"
    if template_id is not None:
        try:
            tid = uuid.UUID(str(template_id))
        except ValueError:
            tid = None
        template = Template.get_or_none((Template.id == tid) & (Template.business == business)) if tid else None
    else:
        template = _live(business, template_name) if isinstance(template_name, str) else None
    if template is None or template.status == "DELETED":
        raise RuleViolation("No such template.", [Problem(path, "No template of this business has it.",
                                                          "TEMPLATE_NOT_FOUND")])
    if not TEMPLATES.allowed(template.status, "use"):  # the lifecycle says which statuses make workflows
        raise RuleViolation(f"The template is {template.status}.", [Problem(
            path, f"The template is {template.status}: only an ACTIVE template makes workflows.",
            f"TEMPLATE_{template.status}")])
    return Used(template, version_of(template))


def workflow_body(version: TemplateVersion, part: dict[str, Any]) -> tuple[dict[str, Any], list[Problem]]:
    """The whole workflow request of ``version`` and a per-customer ``part`` (title?, parameters, customerMemo?),
    and the faults of ``part``: a preset it changes that the template does not list in ``overridable``."""
    params = part.get("parameters", {})
    presets = version.parameters or {}
    problems = overrides(version, params)
    body: dict[str, Any] = {"title": part.get("title") or version.title,
                            "steps": [{"name": name} for name in version.steps],
                            "parameters": {**presets, **params}}
    if version.expire_in is not None:
        body["expireIn"] = version.expire_in
    if version.passcode is not None:
        body["passcode"] = version.passcode
    memo = part.get("customerMemo", version.customer_memo)
    if memo is not None:
        body["customerMemo"] = memo
    return body, problems


def overrides(version: TemplateVersion, params: dict[str, Any]) -> list[Problem]:
    """The faults of per-customer ``params`` that change a preset the template does not list in ``overridable``."""
    presets = version.parameters or {}
    return [Problem(f"parameters.{pname}", "Is set by the template and may not be overridden.", "NOT_OVERRIDABLE")
            for pname in params if pname in presets and pname not in (version.overridable or [])]


def from_template(business: Business, body: dict[str, Any]) -> tuple[dict[str, Any], Used]:
    """A workflow create that names a template: the whole request, and the template used; 400/422 otherwise."""
    if "templateId" in body and "templateName" in body:
        raise InvalidRequest("Name the template by templateId or templateName, not both.", [Problem(
            "templateName", "Give templateId or templateName, not both.", "TEMPLATE_TWICE")])
    problems = [Problem(key, "Is set by the template.", "SET_BY_TEMPLATE") for key in SET_BY_TEMPLATE if key in body]
    problems += [Problem(key, "Unknown field.", "UNKNOWN_FIELD") for key in body
                 if key not in WORKFLOW_FIELDS + SET_BY_TEMPLATE + ("templateId", "templateName")]
    if not isinstance(body.get("parameters", {}), dict):
        problems.append(Problem("parameters", "Must be an object.", "INVALID_TYPE"))
    if problems:
        raise InvalidRequest("The request is malformed.", problems)
    used = usable(business, body.get("templateId"), body.get("templateName"))
    whole, faults = workflow_body(used.version, body)
    if faults:
        raise RuleViolation("The request changes what the template sets.", faults)
    return whole, used


# -- checking a template --------------------------------------------------------------------------------------

def _check(rt: Runtime, body: object, name_required: bool) -> dict[str, Any]:
    """The template request, checked: 400 for its shape, 422 for a rule it breaks (each fault with its path)."""
    if not isinstance(body, dict):
        raise InvalidRequest("The body must be a JSON object.",
                             [Problem("$", "Must be a JSON object.", "INVALID_TYPE")])
    problems = [Problem(key, "Unknown field.", "UNKNOWN_FIELD") for key in body if key not in FIELDS]
    name = body.get("name")
    if name is None and name_required:
        problems.append(Problem("name", "Missing data for required field.", "REQUIRED_FIELD"))
    elif name is not None and not isinstance(name, str):
        problems.append(Problem("name", "Must be a string.", "INVALID_TYPE"))
    description = body.get("description")
    if description is not None and not isinstance(description, str):
        problems.append(Problem("description", "Must be a string.", "INVALID_TYPE"))
    overridable = body.get("overridable", [])
    if not isinstance(overridable, list) or not all(isinstance(o, str) for o in overridable):
        problems.append(Problem("overridable", "Must be a list of parameter names.", "INVALID_TYPE"))
        overridable = []
    params = body.get("parameters", {})
    if not isinstance(params, dict):
        problems.append(Problem("parameters", "Must be an object.", "INVALID_TYPE"))
    if problems:
        raise InvalidRequest("The request is malformed.", problems)
    rules: list[Problem] = []
    if name is not None and not NAME.match(name):
        rules.append(Problem("name", "Must be 1 to 64 of a-z, 0-9 and -, starting and ending with a letter or digit.",
                             "INVALID_NAME"))
    if description is not None and (len(description) > DESCRIPTION_MAX or has_controls(description.replace("\n", ""))):
        rules.append(Problem("description", f"Must be at most {DESCRIPTION_MAX} characters, without control "
                                            "characters.", "LENGTH"))
    rules += [Problem(f"parameters.{p}", "Is given by each workflow; a template may not preset it.",
                      "PER_CUSTOMER_PARAMETER") for p in PER_CUSTOMER if p in params]
    for i, pname in enumerate(overridable):
        if pname not in params:
            rules.append(Problem(f"overridable[{i}]", f"{pname!r} is not a parameter the template presets.",
                                 "NOT_A_PRESET"))
    request = _as_workflow(rt, body, params, rules)
    if rules:
        raise RuleViolation("The template breaks the rules.", rules)
    data: dict[str, Any] = {"title": request.title, "steps": list(request.steps), "parameters": request.parameters,
                            "overridable": overridable, "description": description,
                            "expireIn": request.expire_hours // 24 if "expireIn" in body else None,
                            "passcode": request.passcode,
                            "customerMemo": request.customer_memo}
    if name is not None:
        data["name"] = name
    return data


def _as_workflow(rt: Runtime, body: dict[str, Any], params: dict[str, Any], rules: list[Problem]) -> Any:
    """The template through the workflow rules, less the faults of absent (per-customer) parameters."""
    whole = {k: v for k, v in body.items() if k in ("title", "steps", "parameters", "expireIn", "passcode",
                                                    "customerMemo")}
    try:
        return rt.rules.validate_workflow(whole, absent_ok=True)
    except RuleViolation as exc:
        raise RuleViolation("The template breaks the rules.", rules + exc.problems) from None


def _write_version(template: Template, number: int, data: dict[str, Any], now: Any) -> TemplateVersion:
    return TemplateVersion.create(
        template=template, number=number, title=data["title"], description=data.get("description"),
        steps=data["steps"], parameters=data["parameters"], overridable=data["overridable"],
        expire_in=data.get("expireIn"), passcode=data.get("passcode"), customer_memo=data.get("customerMemo"),
        created_at=now)


def _live(business: Business, name: str) -> Template | None:
    return Template.get_or_none((Template.business == business) & (Template.name == name)
                                & (Template.status != "DELETED"))


def _locked(template: Template) -> Template:
    return for_update(Template.select().where(Template.id == template.id)).get()


def _event(rt: Runtime, template: Template, previous: str | None) -> None:
    events.record(rt, template.business_id, "linx.template-updated", template.id, {
        "templateId": str(template.id), "name": template.name, "version": template.latest,
        "previousStatus": previous, "status": template.status})
