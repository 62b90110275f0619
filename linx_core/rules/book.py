"""The rule book: the checked rule files, compiled into a request schema and checks."""
import functools
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml
from marshmallow import Schema, ValidationError, fields

from ..errors import InvalidRequest, Problem, RuleFileError, RuleViolation
from . import checks
from .fields import StrictBoolean, Text, WholeNumber, field_for
from .loader import RuleDocument
from .messages import Coded, RuleLength, RuleOneOf, flatten, worst_status
from .meta import (
    MESSAGE_ORIGINS,
    NAME,
    OPTIONAL_MESSAGES,
    SECTION_SCHEMAS,
    Combination,
    MessageLimitsSpec,
    NachaSpec,
    NotificationsSpec,
    Strict,
    WorkflowSpec,
    catalog_entry_schema,
)

PART_LOADERS = 256  # the title-and-parameters schemas kept per thread (one per set of parameter names)
REQUIRED_SECTIONS = ("parameters", "steps", "solutions", "workflow", "combinations", "currencies",
                     "financialAccountSubTypes", "messages", "notifications")
# sections checked as one whole (the others are maps of named entries, each checked alone)
WHOLE_SECTIONS: dict[str, type[Schema]] = {"workflow": WorkflowSpec, "notifications": NotificationsSpec,
                                           "messageLimits": MessageLimitsSpec, "nacha": NachaSpec}


@functools.cache
def _shipped_messages() -> dict[str, dict[str, str]]:
    return yaml.safe_load((resources.files("linx_rules") / "messages.yaml").read_text(encoding="utf-8"))["messages"]


def shipped_messages(origins: Iterable[str]) -> dict[str, dict[str, str]]:
    """The templates of ``origins`` as the shipped rules/messages.yaml writes them (one text, not two)."""
    return {origin: dict(_shipped_messages()[origin]) for origin in origins}


@dataclass(frozen=True)
class WorkflowRequest:
    """A workflow request that passed the rules (data checks against the store come after)."""

    title: str
    steps: tuple[str, ...]
    parameters: dict[str, Any]
    expire_hours: int
    customer_memo: str | None
    passcode: bool | None


class RuleBook:
    """The checked rule files: their sections as data, the request schema, and the checks built from them."""

    def __init__(self, doc: RuleDocument, data: dict[str, Any]) -> None:
        self.directory = doc.directory
        self.catalog = data["catalog"]
        self.parameters = data["parameters"]
        self.steps = dict(sorted(data["steps"].items(), key=lambda kv: kv[1]["order"]))
        self.solutions = data["solutions"]
        self.workflow = data["workflow"]
        self.combinations = data["combinations"]
        #: the templates, with the shipped ones for the optional messages a rule folder leaves out
        self.messages = {**shipped_messages(OPTIONAL_MESSAGES), **data["messages"]}
        self.notifications = data["notifications"]
        #: the NACHA files' retention (``retentionDays``); optional in the rule files, defaults from the meta-schema
        self.nacha = data["nacha"] or NachaSpec().load({})
        #: what creates and resends may send; optional in the rule files (older copies of the rules have none),
        #: defaults from the meta-schema (the shipped rules/limits.yaml)
        self.message_limits = data["messageLimits"] or MessageLimitsSpec().load({})
        self.conditions = self._compile_conditions()
        self.request_schema = self._compile_request_schema()
        self._loaders = threading.local()  # one schema instance per thread, made on its first request

    # -- building ---------------------------------------------------------------------------

    @classmethod
    def build(cls, doc: RuleDocument) -> "RuleBook":
        """Check each section of ``doc`` against its meta-schema, and the names across files; refuse with every
        fault at once (:class:`RuleFileError`)."""
        problems: list[Problem] = []
        data: dict[str, Any] = {"catalog": {}, "parameters": {}, "steps": {}, "solutions": {}, "workflow": {},
                                "combinations": [], "messages": {}, "notifications": {},
                                "nacha": {}, "messageLimits": {}}
        for section in REQUIRED_SECTIONS:
            if section not in doc.data:
                problems.append(Problem(str(doc.directory), f"no rule file defines the section `{section}`",
                                        "RULE_FILE_MISSING_SECTION"))

        def load(schema: Schema, value: Any, path: tuple[Any, ...]) -> Any:
            try:
                return schema.load(value)
            except ValidationError as exc:
                for sub, message in _paths(exc.messages):
                    problems.append(doc.problem(path + sub, message))
            return None

        for section, entries in doc.data.items():
            if section == "combinations":
                for i, item in enumerate(entries):
                    loaded = load(Combination(), item, ("combinations", i))
                    if loaded:
                        data["combinations"].append(loaded)
            elif section in WHOLE_SECTIONS:
                spec: Schema = WHOLE_SECTIONS[section]()
                data[section] = load(spec, entries, (section,)) or {}
            elif section in SECTION_SCHEMAS:
                for key, value in entries.items():
                    if NAME.regex.match(key) is None:
                        problems.append(doc.problem((section, key), "is not a valid name (letters, digits, - and _)"))
                        continue
                    loaded = load(SECTION_SCHEMAS[section](), value, (section, key))
                    if loaded is not None:
                        data[section][key] = loaded
            else:
                schema = catalog_entry_schema(section)
                values = data["catalog"].setdefault(section, {})
                for key, attrs in entries.items():
                    loaded = load(schema, attrs, (section, key))
                    if loaded is not None:
                        values[key] = loaded
        if not problems:
            problems += _cross_references(doc, data)
        if problems:
            raise RuleFileError(problems)
        return cls(doc, data)

    def _compile_conditions(self) -> dict[str, list[dict[str, Any]]]:
        """Every condition, per step: the steps' own, plus those each solution implies."""
        by_step = {name: list(spec["conditions"]) for name, spec in self.steps.items()}
        scoped = {p for spec in self.steps.values() for p in spec["parameters"]["bySolution"]}
        for name, spec in self.steps.items():
            if "solution" not in _step_parameters(spec):
                continue
            for solution, sol in self.solutions.items():
                allowed = set(sol["parameters"]["required"]) | set(sol["parameters"]["optional"])
                allow = {"transactionType": sol["transactionTypes"], "priority": sol["priorities"],
                         "financialAccountSubType": sol["financialAccountSubTypes"],
                         "currency": list(sol["limits"])}
                by_step[name].append({
                    "id": f"solution-{solution}",
                    "when": {"solution": [solution]},
                    "require": list(sol["parameters"]["required"]),
                    "forbid": sorted(scoped - allowed),
                    "allow": {k: v for k, v in allow.items() if k in self.parameters},
                    "limits": sol["limits"],
                })
        return by_step

    def _compile_request_schema(self) -> type[Schema]:
        catalog = dict(self.catalog, solutions=self.solutions)

        def builder(owner: str, spec: Mapping[str, Any]) -> Callable[[Mapping[str, Any]], type[Schema]]:
            """Builds the schema of an object parameter (or of a list's object items), named after where it sits,
            so the OpenAPI document names it for what it is (``WorkflowDocumentsItem``), not by a counter."""
            name = "Workflow" + _pascal(owner) + ("Item" if spec.get("type") == "list" else "")

            def build_object(inner: Mapping[str, Any]) -> type[Schema]:
                attrs = {n: field_for(s, catalog, s.get("required", False), builder(f"{name[len('Workflow'):]}-{n}", s))
                         for n, s in inner["fields_"].items()}
                return Strict.from_dict(attrs, name=name)
            return build_object

        param_fields: dict[str, fields.Field] = {}
        for name, spec in self.parameters.items():
            field = param_fields[name] = field_for(spec, catalog, False, builder(name, spec))
            field.metadata = {**field.metadata, "description": checks.describe_parameter(self, name)}
        parameters = Strict.from_dict(param_fields, name="WorkflowParameters")
        step_entry = Strict.from_dict(
            {"name": Text(required=True, validate=RuleOneOf(list(self.steps)), show_pattern=False,
                          metadata={"description": "The step's name."})},
            name="WorkflowStepRequest",
        )
        wf = self.workflow
        expiry = wf["expiry"]
        top = {
            "title": Text(required=True,
                          validate=RuleLength(min=max(1, wf["title"]["minLength"]), max=wf["title"]["maxLength"]),
                          metadata={"description": "What the customer is asked to do."}),
            "expireIn": WholeNumber(metadata={
                "description": f"Days until the link expires (a number or a numeric string); "
                               f"default {expiry['defaultHours']} hours, at most {expiry['maxHours'] // 24} days.",
                "oneOf": [{"type": "integer"}, {"type": "string", "pattern": "^[0-9]+$"}]}),
            "expireInHours": WholeNumber(metadata={
                "description": f"Hours until the link expires, {expiry['minHours']} to {expiry['maxHours']}.",
                "oneOf": [{"type": "integer"}, {"type": "string", "pattern": "^[0-9]+$"}]}),
            "customerMemo": Text(validate=RuleLength(max=wf["customerMemo"]["maxLength"]),
                                 metadata={"description": "A note shown to the customer."}),
            "passcode": StrictBoolean(metadata={"description": "Whether the customer must enter a passcode; "
                                                               "defaults to the business's setting."}),
            "parameters": fields.Nested(parameters, required=True),
            "steps": fields.List(fields.Nested(step_entry), required=True,
                                 validate=RuleLength(min=1, max=wf["maxSteps"])),
        }
        return Strict.from_dict(top, name="WorkflowCreateRequest")

    # -- using -----------------------------------------------------------------------------

    def validate_workflow(self, body: object, absent_ok: bool = False) -> WorkflowRequest:
        """A :class:`WorkflowRequest`, or :class:`InvalidRequest` (400) / :class:`RuleViolation` (422).

        ``absent_ok``: a parameter that is not there is not a fault (a template, whose workflows add the rest):
        only a requirement can fault an absent parameter, so the faults at an absent parameter's path are dropped.
        """
        if not isinstance(body, dict):
            raise InvalidRequest("The body must be a JSON object.",
                                 [Problem("$", "Must be a JSON object.", "INVALID_TYPE")])
        try:
            data = self._request_loader().load(body)
        except ValidationError as exc:
            problems = flatten(exc.messages)
            if worst_status(exc.messages) == 400:
                raise InvalidRequest("The request is malformed.", problems) from None
            raise RuleViolation("The request breaks the rules.", problems) from None
        steps = tuple(s["name"] for s in data["steps"])
        params = data["parameters"]
        problems = checks.check_workflow(self, steps, params)
        if absent_ok:
            problems = [p for p in problems if not (p.path.startswith("parameters.")
                                                    and p.path.removeprefix("parameters.") not in params)]
        hours, expiry_problem = self._expiry_hours(data)
        if expiry_problem:
            if expiry_problem.code == "EXPIRY_TWICE":
                raise InvalidRequest("The request is malformed.", [expiry_problem])
            problems.insert(0, expiry_problem)
        if problems:
            raise RuleViolation("The request breaks the rules.", problems)
        assert hours is not None  # (no expiry problem)
        return WorkflowRequest(data["title"], steps, params, hours, data.get("customerMemo"), data.get("passcode"))

    def complete_workflow(self, base: WorkflowRequest, title: object, params: object) -> WorkflowRequest:
        """``base`` (a template's request, checked with ``absent_ok``) completed by one workflow's ``title`` (None:
        the base's) and ``params`` (merged over the base's), checked as :meth:`validate_workflow` checks a whole
        request: the same fields for what is new, the same cross-step checks on the whole. For a batch, whose
        entries share everything else: loading the shared part once per entry was most of an entry's cost.
        """
        try:
            loader = self._part_loader(params)
            loaded = loader.load({"parameters": params, **({"title": title} if title is not None else {})},
                                 partial=("title",))
        except ValidationError as exc:
            problems = flatten(exc.messages)
            if worst_status(exc.messages) == 400:
                raise InvalidRequest("The request is malformed.", problems) from None
            raise RuleViolation("The request breaks the rules.", problems) from None
        merged = {**base.parameters, **loaded["parameters"]}
        problems = checks.check_workflow(self, base.steps, merged)
        if problems:
            raise RuleViolation("The request breaks the rules.", problems)
        return WorkflowRequest(loaded.get("title", base.title), base.steps, merged, base.expire_hours,
                               base.customer_memo, base.passcode)

    def _part_loader(self, params: object) -> Schema:
        """The schema of a title and of the parameters ``params`` names (one per set of names, kept per thread in
        an LRU of :data:`PART_LOADERS`): the parameters' own fields, without walking every other parameter's for
        each entry of a batch."""
        names = frozenset(params) if isinstance(params, dict) and set(params) <= set(self.parameters) else None
        made = getattr(self._loaders, "parts", None)
        if made is None:
            made = self._loaders.parts = functools.lru_cache(maxsize=PART_LOADERS)(self._new_part_loader)
        return made(names)

    def _new_part_loader(self, names: frozenset[str] | None) -> Schema:
        declared = self.request_schema._declared_fields
        nested: Any = declared["parameters"].nested  # type: ignore[attr-defined]  # (a Nested field)
        if names is not None and isinstance(nested, type):
            shared: Any = nested
            nested = Strict.from_dict({k: shared._declared_fields[k] for k in names}, name="WorkflowPartParameters")
        parameters = fields.Nested(nested, required=True)
        return Strict.from_dict({"title": declared["title"], "parameters": parameters}, name="WorkflowPart")()

    def _request_loader(self) -> Schema:
        loader = getattr(self._loaders, "request", None)
        if loader is None:
            loader = self._loaders.request = self.request_schema()
        return loader

    def _expiry_hours(self, data: Mapping[str, Any]) -> tuple[int | None, Problem | None]:
        expiry = self.workflow["expiry"]
        if "expireIn" in data and "expireInHours" in data:
            return None, Problem("expireInHours", "Give expireIn (days) or expireInHours, not both.", "EXPIRY_TWICE")
        if "expireIn" in data:
            path, hours = "expireIn", data["expireIn"] * 24
        elif "expireInHours" in data:
            path, hours = "expireInHours", data["expireInHours"]
        else:
            return expiry["defaultHours"], None
        if not expiry["minHours"] <= hours <= expiry["maxHours"]:
            unit = "days" if path == "expireIn" else "hours"
            low, high = ((expiry["minHours"] + 23) // 24, expiry["maxHours"] // 24) if unit == "days" else (
                expiry["minHours"], expiry["maxHours"])
            return None, Problem(path, f"Must be between {low} and {high} {unit}.", "EXPIRY_OUT_OF_RANGE")
        return hours, None

    def expiry_hours(self, body: object) -> int:
        """Hours from an extend body (``expireIn`` days or ``expireInHours``), or a 400/422."""
        hours = self.optional_expiry_hours(body)
        if hours is None:
            raise InvalidRequest("Give expireIn (days) or expireInHours.", [
                Problem("expireIn", "Missing data for required field.", "REQUIRED_FIELD")])
        return hours

    def optional_expiry_hours(self, body: object) -> int | None:
        """Hours from a body that may give ``expireIn`` (days) or ``expireInHours`` and nothing else (an extend's, a
        recover's), None when it gives neither; a 400 for anything but such an object, a 422 out of the bounds."""
        if not isinstance(body, dict):
            raise InvalidRequest("The body must be a JSON object.",
                                 [Problem("$", "Must be a JSON object.", "INVALID_TYPE")])
        declared = self.request_schema._declared_fields
        schema = Strict.from_dict({k: declared[k] for k in ("expireIn", "expireInHours")}, name="ExtendRequest")
        try:
            data = schema().load(body)
        except ValidationError as exc:
            problems = flatten(exc.messages)
            if worst_status(exc.messages) == 400:
                raise InvalidRequest("The request is malformed.", problems) from None
            raise RuleViolation("The request breaks the rules.", problems) from None
        if not data:
            return None
        hours, problem = self._expiry_hours(data)
        if problem:
            if problem.code == "EXPIRY_TWICE":
                raise InvalidRequest("The request is malformed.", [problem])
            raise RuleViolation("The request breaks the rules.", [problem])
        assert hours is not None  # (no expiry problem)
        return hours

    def decimals(self, currency: str) -> int:
        """The minor units of ``currency`` (2 for USD)."""
        return self.catalog["currencies"][currency]["minorUnits"]

    def account_kind(self, subtype: str) -> str:
        """CARD or BANK for a financial account subtype."""
        return self.catalog["financialAccountSubTypes"][subtype]["kind"]


def _step_parameters(spec: Mapping[str, Any]) -> set[str]:
    p = spec["parameters"]
    return set(p["required"]) | set(p["optional"]) | set(p["bySolution"])


def _paths(messages: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], str]]:
    if isinstance(messages, dict):
        for key, value in messages.items():
            yield from _paths(value, prefix if key in ("_schema", "key", "value") else prefix + (key,))
    elif isinstance(messages, (list, tuple)):
        for m in messages:
            if isinstance(m, (dict, list)):
                yield from _paths(m, prefix)
            else:
                yield prefix, str(m)
    else:
        yield prefix, str(messages)


def _cross_references(doc: RuleDocument, data: dict[str, Any]) -> list[Problem]:
    """Faults between files: a name used in one place that is not defined in another."""
    out: list[Problem] = []
    catalog = data["catalog"]
    params = data["parameters"]
    steps = data["steps"]
    solutions = data["solutions"]
    lists = dict(catalog, solutions=solutions)

    def need(value: Any, known: Mapping[Any, Any], path: tuple[Any, ...], what: str) -> bool:
        if value not in known:
            hint = ", ".join(sorted(map(str, known))[:12])
            out.append(doc.problem(path, f"names unknown {what} {value!r} (known: {hint})"))
            return False
        return True

    def check_param_spec(spec: Mapping[str, Any], path: tuple[Any, ...]) -> None:
        if spec["type"] == "enum":
            need(spec["values"], lists, path + ("values",), "value list")
        if spec["type"] == "money":
            cur = spec["currency"]
            if need(cur, params, path + ("currency",), "parameter") and params[cur].get("values") != "currencies":
                out.append(doc.problem(path + ("currency",), f"{cur!r} must be an enum over `currencies`"))
        if spec["type"] == "list":
            check_param_spec(spec["items"], path + ("items",))
        for name, sub in spec.get("fields_", {}).items():
            check_param_spec(sub, path + ("fields", name))

    for name, spec in params.items():
        check_param_spec(spec, ("parameters", name))

    by_solution: set[str] = set()
    for name, spec in steps.items():
        p = spec["parameters"]
        by_solution |= set(p["bySolution"])
        for kind in ("required", "optional", "bySolution"):
            for i, pname in enumerate(p[kind]):
                need(pname, params, ("steps", name, "parameters", kind, i), "parameter")
        for i, cond in enumerate(spec["conditions"]):
            base: tuple[Any, ...] = ("steps", name, "conditions", i)
            for pname, values in cond["when"].items():
                if need(pname, params, base + ("when", pname), "parameter"):
                    _check_values(doc, out, lists, params[pname], values, base + ("when", pname))
            for kind in ("require", "forbid"):
                for j, pname in enumerate(cond[kind]):
                    need(pname, params, base + (kind, j), "parameter")
            for pname, values in cond["allow"].items():
                if need(pname, params, base + ("allow", pname), "parameter"):
                    _check_values(doc, out, lists, params[pname], values, base + ("allow", pname))
    for name, sol in solutions.items():
        base = ("solutions", name)
        for key, section in (("transactionTypes", "transactionTypes"), ("priorities", "priorities"),
                             ("financialAccountSubTypes", "financialAccountSubTypes")):
            for i, value in enumerate(sol[key]):
                what = section[:-1] if section.endswith("s") else section
                need(value, catalog.get(section, {}), base + (key, i), what)
        for kind in ("required", "optional"):
            for i, pname in enumerate(sol["parameters"][kind]):
                if pname not in by_solution:
                    out.append(doc.problem(base + ("parameters", kind, i),
                                           f"{pname!r} is not in any step's bySolution list"))
        for cur, limit in sol["limits"].items():
            if need(cur, catalog.get("currencies", {}), base + ("limits", cur), "currency"):
                places = catalog["currencies"][cur]["minorUnits"]
                for end in ("min", "max"):
                    if -limit[end].as_tuple().exponent > places:
                        out.append(doc.problem(base + ("limits", cur, end),
                                               f"has more than {places} decimals for {cur}"))
    for section, values in (("channels", catalog.get("channels", {})),):
        for value, attrs in values.items():
            need(attrs["contact"], params, (section, value, "contact"), "parameter")
    for i, rule in enumerate(data["combinations"]):
        base = ("combinations", i)
        for key in ("first", "ifPresent"):
            if key in rule:
                need(rule[key], steps, base + (key,), "step")
        for key in ("exactlyOne", "atMostOne", "requireOneOf"):
            for j, step in enumerate(rule.get(key, [])):
                need(step, steps, base + (key, j), "step")
    for origin in MESSAGE_ORIGINS:
        if origin not in data["messages"] and origin not in OPTIONAL_MESSAGES:
            out.append(doc.problem(("messages",), f"has no template for {origin}"))
    for origin in data["messages"]:
        if origin not in MESSAGE_ORIGINS:
            out.append(doc.problem(("messages", origin), f"is not a message origin ({', '.join(MESSAGE_ORIGINS)})"))
    ids = [r["id"] for r in data["combinations"]]
    for i, rid in enumerate(ids):
        if ids.index(rid) != i:
            out.append(doc.problem(("combinations", i, "id"), f"the id {rid!r} is used twice"))
    return out


def _check_values(doc: RuleDocument, out: list[Problem], lists: Mapping[str, Any], spec: Mapping[str, Any],
                  values: list[Any], path: tuple[Any, ...]) -> None:
    if spec["type"] != "enum":
        return
    known = lists.get(spec["values"], {})
    for j, value in enumerate(values):
        if value not in known:
            out.append(doc.problem(path + (j,), f"{value!r} is not one of {spec['values']}"))


__all__ = ["RuleBook", "WorkflowRequest", "Coded"]


def _pascal(name: str) -> str:
    """``documents`` -> ``Documents``, ``home-address`` -> ``HomeAddress``, ``bankAccount`` -> ``BankAccount``."""
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[-_\s]+", name) if part)
