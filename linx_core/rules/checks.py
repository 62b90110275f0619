"""Cross-step checks: combinations, per-step parameters, conditions, money.

Each check is driven by the rule book; each fault is a :class:`Problem` whose
``code`` is the rule's id in upper snake case, so an integrator can tell rules apart.
"""
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..errors import Problem

if TYPE_CHECKING:
    from .book import RuleBook

Params = Mapping[str, Any]


def rule_code(rule_id: str) -> str:
    return rule_id.upper().replace("-", "_")


def check_workflow(book: "RuleBook", steps: Sequence[str], params: Params) -> list[Problem]:
    problems = _combinations(book, steps)
    if problems:
        return problems
    problems += _parameters(book, steps, params)
    problems += _conditions(book, steps, params)
    problems += _money(book, params)
    return _dedupe(problems)


def _combinations(book: "RuleBook", steps: Sequence[str]) -> list[Problem]:
    out: list[Problem] = []
    present = set(steps)
    for rule in book.combinations:
        code = rule_code(rule["id"])
        message = rule.get("message")
        if "first" in rule and steps[0] != rule["first"]:
            out.append(Problem("steps[0]", message or f"The first step must be {rule['first']}.", code))
        elif "unique" in rule:
            seen: set[str] = set()
            for i, name in enumerate(steps):
                if name in seen:
                    out.append(Problem(f"steps[{i}]", message or f"Step {name} appears more than once.", code))
                seen.add(name)
        elif "ordered" in rule:
            for i in range(1, len(steps)):
                before, after = book.steps[steps[i - 1]]["order"], book.steps[steps[i]]["order"]
                if after < before:
                    out.append(Problem(f"steps[{i}]", message or
                                       f"Step {steps[i]} must come before {steps[i - 1]} "
                                       f"(the order is: {_order_text(book)}).", code))
                    break
        elif "exactlyOne" in rule:
            found = [s for s in rule["exactlyOne"] if s in present]
            if len(found) != 1:
                which = "both" if len(found) > 1 else "neither"
                out.append(Problem("steps", message or f"Exactly one of {' and '.join(rule['exactlyOne'])} is "
                                   f"required ({which} given).", code))
        elif "atMostOne" in rule:
            found = [s for s in rule["atMostOne"] if s in present]
            if len(found) > 1:
                out.append(Problem("steps", message or f"At most one of {', '.join(rule['atMostOne'])} is allowed.",
                                   code))
        elif "ifPresent" in rule and rule["ifPresent"] in present and not present & set(rule["requireOneOf"]):
            out.append(Problem("steps", message or f"Step {rule['ifPresent']} requires "
                               f"{' or '.join(rule['requireOneOf'])}.", code))
    return out


def _order_text(book: "RuleBook") -> str:
    groups: dict[int, list[str]] = {}
    for name, spec in book.steps.items():
        groups.setdefault(spec["order"], []).append(name)
    return ", ".join(" | ".join(names) for _, names in sorted(groups.items()))


def _parameters(book: "RuleBook", steps: Sequence[str], params: Params) -> list[Problem]:
    out: list[Problem] = []
    used: dict[str, str] = {}
    for name in steps:
        p = book.steps[name]["parameters"]
        for pname in p["required"] + p["optional"] + p["bySolution"]:
            used.setdefault(pname, name)
        for pname in p["required"]:
            if pname not in params:
                out.append(Problem(f"parameters.{pname}", f"Is required by step {name}.", "REQUIRED_PARAMETER"))
    for pname in params:
        if pname not in used:
            owners = [s for s, spec in book.steps.items()
                      if pname in sum(spec["parameters"].values(), [])]
            out.append(Problem(f"parameters.{pname}",
                               f"Is not used by any step of this workflow (it belongs to {', '.join(owners)}).",
                               "PARAMETER_NOT_USED"))
    return out


def _conditions(book: "RuleBook", steps: Sequence[str], params: Params) -> list[Problem]:
    out: list[Problem] = []
    for name in steps:
        for cond in book.conditions[name]:
            if not all(params.get(k) in values for k, values in cond["when"].items()):
                continue
            code = rule_code(cond["id"])
            because = " and ".join(f"{k} is {params[k]}" for k in cond["when"])
            for pname in cond["require"]:
                if pname not in params:
                    out.append(Problem(f"parameters.{pname}", cond.get("message") or f"Is required when {because}.",
                                       code))
            for pname in cond["forbid"]:
                if pname in params:
                    out.append(Problem(f"parameters.{pname}",
                                       cond.get("message") or f"Is not allowed when {because}.", code))
            for pname, values in cond["allow"].items():
                if pname in params and params[pname] not in values:
                    out.append(Problem(f"parameters.{pname}", cond.get("message") or
                                       f"Must be one of {', '.join(values)} when {because}.", code))
            limits = cond.get("limits") or {}
            for pname, currency in _amounts(book, params):
                if currency in limits:
                    low, high = limits[currency]["min"], limits[currency]["max"]
                    if not low <= params[pname] <= high:
                        out.append(Problem(f"parameters.{pname}", f"Must be between {low} and {high} {currency} "
                                           f"when {because}.", "AMOUNT_OUT_OF_LIMITS"))
    return out


def _amounts(book: "RuleBook", params: Params) -> Iterator[tuple[str, Any]]:
    """``(parameter, currency)`` for each money parameter given, whatever the rule files name them."""
    for pname, spec in book.parameters.items():
        if spec["type"] == "money" and pname in params:
            yield pname, params.get(spec["currency"])


def _money(book: "RuleBook", params: Params) -> list[Problem]:
    out: list[Problem] = []
    for pname, currency in _amounts(book, params):
        if currency not in book.catalog["currencies"]:
            continue
        places = book.decimals(currency)
        exponent = params[pname].normalize().as_tuple().exponent
        if -exponent > places:
            out.append(Problem(f"parameters.{pname}", f"Has more than {places} decimals for {currency}.",
                               "TOO_MANY_DECIMALS"))
    return out


def _dedupe(problems: list[Problem]) -> list[Problem]:
    seen: set[tuple[str, str]] = set()
    out: list[Problem] = []
    for p in problems:
        if (p.path, p.code) not in seen:
            seen.add((p.path, p.code))
            out.append(p)
    return out


def describe_parameter(book: "RuleBook", name: str) -> str:
    """The parameter's description plus where it is used and when it is required, for OpenAPI."""
    spec = book.parameters[name]
    parts = [spec.get("description", "").rstrip(".") + "." if spec.get("description") else ""]
    users = [s for s, st in book.steps.items() if name in sum(st["parameters"].values(), [])]
    required_by = [s for s, st in book.steps.items() if name in st["parameters"]["required"]]
    if users:
        parts.append(f"Used by: {', '.join(users)}.")
    if required_by:
        parts.append(f"Required by: {', '.join(required_by)}.")
    for conds in book.conditions.values():
        for cond in conds:
            when = " and ".join(f"{k} is {'/'.join(v)}" for k, v in cond["when"].items())
            if name in cond["require"]:
                parts.append(f"Required when {when}.")
            if name in cond["forbid"]:
                parts.append(f"Not allowed when {when}.")
            if name in cond["allow"]:
                parts.append(f"When {when}: one of {', '.join(cond['allow'][name])}.")
    return " ".join(p for p in parts if p)
