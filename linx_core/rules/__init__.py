"""The rule files: loaded, checked, and compiled into schemas and checks.

``load_rules(directory, fragments)`` returns a :class:`~linx_core.rules.book.RuleBook`, or
raises :class:`~linx_core.errors.RuleFileError` naming every fault with its file
and place. Nothing about steps, parameters or allowed values is written in
Python: it is all in the rule files, and in the payment solutions' rule fragments.

The ``solutions`` section is built from the installed solutions: each one's
``rule_fragment()`` is its entry (what the rail can do: transaction types,
account subtypes, priorities, parameters, limits). A rule file may still name a
solution: for an installed one, its entry is the admin's override, merged over
the fragment, and it may only narrow what the rail can do (fewer types,
subtypes or priorities, tighter limits, a parameter made required); for a
solution no plugin provides, it is a whole entry of its own.
"""
import copy
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from importlib import resources
from pathlib import Path
from typing import Any

from ..errors import Problem, RuleFileError
from ..steps import kinds_by_name
from .book import RuleBook
from .loader import RuleDocument, read_rule_files

NARROWED_LISTS = ("transactionTypes", "financialAccountSubTypes", "priorities")

#: ``(origin, solution name, entry)``: a solution's rule fragment, where it came from (``plugin <module>``)
Fragment = tuple[str, str, Any]


def default_rules_dir() -> Path:
    """The rule files installed with LinX."""
    return Path(str(resources.files("linx_rules")))


def solution_fragments(solutions: Iterable[Any]) -> list[Fragment]:
    """``[(origin, name, entry)]`` for solution objects: what :func:`load_rules` takes as ``fragments``."""
    out = []
    for solution in solutions:
        entry = solution.rule_fragment()
        if isinstance(entry, dict) and set(entry) == {"solutions"} and isinstance(entry["solutions"], dict) \
                and set(entry["solutions"]) == {solution.name}:
            entry = entry["solutions"][solution.name]  # tolerate a fragment written as a whole section
        out.append((f"plugin {type(solution).__module__}", solution.name, entry))
    return out


def installed_fragments() -> list[Fragment]:
    """The rule fragments of the solutions the plugin manager finds (entry points too, outside tests).

    Used when :func:`load_rules` is given no fragments (``linx rules check``, scripts). The hook is
    called with ``rt=None``: a solution built for its rule fragment alone is never asked to move money.
    """
    from ..plugins import make_manager

    found: dict[str, Any] = {}
    for group in make_manager().hook.linx_solutions(rt=None):
        for solution in group or []:
            found.setdefault(solution.name, solution)
    return solution_fragments(found.values())


def step_entries(kinds: Iterable[Any]) -> list[Fragment]:
    """``[(origin, name, entry)]`` for step kinds: what :func:`load_rules` takes as ``steps``."""
    return [(f"plugin {type(kind).__module__}", kind.name, kind.rule_entry()) for kind in kinds]


def installed_step_entries() -> list[Fragment]:
    """The step kinds' rule entries that the plugin manager finds (``rt=None``, as for the fragments)."""
    from ..plugins import make_manager

    return step_entries(kinds_by_name(make_manager().hook.linx_step_kinds(rt=None)).values())


def load_rules(directory: str | Path | None = None, fragments: Iterable[Fragment] | None = None, *,
               installed_only: bool = False, steps: Iterable[Fragment] | None = None) -> RuleBook:
    """The rule book of the rule files in ``directory`` (default: the installed ones) and the solutions' fragments.

    ``fragments``: ``[(origin, name, entry)]`` as :func:`solution_fragments` makes them; ``None`` for
    the installed solutions' (:func:`installed_fragments`), ``()`` for the rule files alone.
    ``installed_only``: refuse a solution or a step in the rule files that no plugin provides (the runtime
    does, so that a workflow can never name a rail or a step that is not there).
    ``steps``: ``[(origin, name, entry)]`` as :func:`step_entries` makes them; ``None`` for the installed
    step kinds'.
    """
    doc = read_rule_files(Path(directory) if directory else default_rules_dir())
    if fragments is None:
        fragments = installed_fragments()
    if steps is None:
        steps = installed_step_entries()
    merge_fragments(doc, fragments, installed_only=installed_only)
    merge_step_entries(doc, steps, installed_only=installed_only)
    return RuleBook.build(doc)


def merge_step_entries(doc: RuleDocument, entries: Iterable[Fragment],
                       installed_only: bool = False) -> RuleDocument:
    """Merge the step kinds' rule entries into ``doc``'s ``steps`` (in place): a rule file's entry of the same
    name is merged over the kind's (the admin's say wins); a kind whose entry is ``None`` relies on the rule
    files for it. With ``installed_only``, a step of the rule files that no kind provides is refused."""
    problems = []
    steps = doc.data.setdefault("steps", {})
    provided = set()
    for origin, name, entry in entries:
        provided.add(name)
        if entry is None:
            continue
        where = f"{origin}: steps.{name}"
        if not isinstance(entry, dict):
            problems.append(Problem(where, "rule_entry() must return a mapping (the step's entry) or None",
                                    "RULE_ENTRY_SHAPE"))
            continue
        override = steps.get(name)
        if override is None:
            steps[name] = copy.deepcopy(entry)
            doc.source.files[("steps", name)] = (origin, None)
        elif isinstance(override, dict):
            steps[name] = _deep_merge(copy.deepcopy(entry), override)
    if installed_only:
        for name in steps:
            if name not in provided:
                known = ", ".join(sorted(provided)) or "none"
                problems.append(doc.problem(("steps", name), f"no installed step kind is named {name!r} "
                                                              f"(installed: {known})", "RULE_STEP_NOT_INSTALLED"))
    if problems:
        raise RuleFileError(problems)
    return doc


def merge_fragments(doc: RuleDocument, fragments: Iterable[Fragment], installed_only: bool = False) -> RuleDocument:
    """Merge the solutions' fragments into the rule document ``doc`` (in place); rule-file entries override."""
    problems: list[Problem] = []
    overrides = doc.data.get("solutions", {})
    merged: dict[str, Any] = {}
    provided: dict[str, str] = {}
    for origin, name, entry in fragments:
        where = f"{origin}: solutions.{name}"
        if name in provided:
            problems.append(Problem(where, f"is provided by {provided[name]} already", "RULE_FRAGMENT_DUPLICATE"))
            continue
        provided[name] = origin
        if not isinstance(entry, dict):
            problems.append(Problem(where, "rule_fragment() must return a mapping (the solution's entry)",
                                    "RULE_FRAGMENT_SHAPE"))
            continue
        if name in overrides:
            override = overrides[name]
            if not isinstance(override, dict):
                problems.append(doc.problem(("solutions", name), "must be a mapping"))
                continue
            problems += _narrowing_problems(doc, name, entry, override, doc.data)
            merged[name] = _deep_merge(copy.deepcopy(entry), override)
        else:
            merged[name] = copy.deepcopy(entry)
            doc.source.files[("solutions", name)] = (origin, None)
    for name, entry in overrides.items():
        if name in merged:
            continue
        if installed_only:
            known = ", ".join(sorted(provided)) or "none"
            problems.append(doc.problem(("solutions", name),
                                        f"no installed payment solution is named {name!r} (installed: {known})",
                                        "RULE_SOLUTION_NOT_INSTALLED"))
            continue
        merged[name] = entry
    if problems:
        raise RuleFileError(problems)
    doc.data["solutions"] = merged
    return doc


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """``override`` over ``base``: mappings merge key by key, ``None`` removes a key, anything else replaces."""
    for key, value in override.items():
        if value is None:
            base.pop(key, None)
        elif isinstance(value, dict) and isinstance(base.get(key), dict):
            base[key] = _deep_merge(base[key], value)
        else:
            base[key] = copy.deepcopy(value)
    return base


def _decimal(value: object) -> Decimal | None:
    try:
        result = Decimal(str(value))
        return result if result.is_finite() else None
    except (InvalidOperation, ValueError):
        return None


def _names(value: object) -> list[str] | None:
    """``value`` if it is a list of names, else None: a fault of shape is the schemas' to report."""
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    return None


def _mapping(value: object) -> dict[Any, Any]:
    return value if isinstance(value, dict) else {}


def _narrowing_problems(doc: RuleDocument, name: str, rail: dict[str, Any], override: dict[str, Any],
                        data: dict[str, Any]) -> list[Problem]:
    """An override may only narrow what the rail can do; faults of shape are left to the schemas."""
    out: list[Problem] = []
    base: tuple[Any, ...] = ("solutions", name)
    for key in NARROWED_LISTS:
        values, supported = _names(override.get(key)), _names(rail.get(key))
        if values is None or supported is None:
            continue
        known = data.get(key, {})
        for i, value in enumerate(values):
            if value in known and value not in supported:
                out.append(doc.problem(base + (key, i), f"{value!r} is not one the {name} rail supports "
                                                        f"({', '.join(supported)})"))
    rail_limits = _mapping(rail.get("limits"))
    for currency, limit in _mapping(override.get("limits")).items():
        if not isinstance(limit, dict) or currency not in data.get("currencies", {}):
            continue
        if currency not in rail_limits:
            out.append(doc.problem(base + ("limits", currency),
                                   f"the {name} rail does not move {currency} "
                                   f"(it moves {', '.join(map(str, rail_limits))})"))
            continue
        rail_limit = _mapping(rail_limits[currency])
        low, high = _decimal(rail_limit.get("min")), _decimal(rail_limit.get("max"))
        new_low, new_high = _decimal(limit.get("min")), _decimal(limit.get("max"))
        if new_low is not None and low is not None and new_low < low:
            out.append(doc.problem(base + ("limits", currency, "min"),
                                   f"is below the {name} rail's minimum of {rail_limit['min']}"))
        if new_high is not None and high is not None and new_high > high:
            out.append(doc.problem(base + ("limits", currency, "max"),
                                   f"is above the {name} rail's maximum of {rail_limit['max']}"))
    params = {"required": None} if "parameters" in override and override["parameters"] is None else \
        _mapping(override.get("parameters"))  # null removes the rail's parameters: none stays required
    rail_params = _mapping(rail.get("parameters"))
    rail_required = set(_names(rail_params.get("required")) or [])
    rail_allowed = rail_required | set(_names(rail_params.get("optional")) or [])
    for kind in ("required", "optional"):
        for i, pname in enumerate(_names(params.get(kind)) or []):
            if pname not in rail_allowed:
                out.append(doc.problem(base + ("parameters", kind, i),
                                       f"the {name} rail does not take the parameter {pname!r}"))
    required = [] if "required" in params and params["required"] is None else _names(params.get("required"))
    if required is not None:
        for pname in sorted(rail_required - set(required)):
            out.append(doc.problem(base + ("parameters", "required"),
                                   f"the {name} rail needs {pname!r}: it must stay required"))
    if rail.get("billingAddress") == "required" and override.get("billingAddress", "required") != "required":
        out.append(doc.problem(base + ("billingAddress",), f"the {name} rail needs the billing address"))
    return out


__all__ = ["RuleBook", "load_rules", "default_rules_dir", "solution_fragments", "installed_fragments",
           "merge_fragments", "step_entries", "installed_step_entries", "merge_step_entries"]
