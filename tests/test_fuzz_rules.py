"""Random rule files never crash the rules compiler: each loads, or is refused naming the file and the place.

Two sources of rule folders, each a copy of the shipped ``rules/`` with something changed:

- mutations of the shipped files. Structural ones parse a file, change the data and write it back:
  a key dropped, renamed or repeated, a value replaced by a random scalar, list or mapping, a number
  made huge or negative, a min and its max swapped, a name replaced by another known or unknown one
  (steps in combinations and conditions, parameters, catalog values), an admin override of an
  installed rail (the rails' fragments are merged in, and an override may only narrow them).
  Textual ones break what a parser sees: YAML syntax, a repeated line, an empty file, bytes that are
  not UTF-8, alias bombs (billion laughs), recursive aliases, tags such as ``!!python/object``, deep
  nesting, numbers of thousands of digits, a file over the size limit;
- entries generated from the meta-schemas (``linx_core/rules/meta.py``): a parameter, a step, a
  condition, a combination, a solution, the workflow or notifications section, a catalog value,
  built from the marshmallow fields that check them, so that many load and reach the compiler.

Each folder is loaded as ``linx rules check`` loads it (the installed rails' fragments merged in).
It either loads, and then the request schema compiles to OpenAPI and the four seed requests and
random bodies are accepted or refused with a path (never anything else), or it raises
:class:`RuleFileError` whose every problem names a rule file (``file``, ``file:line``, with a dotted
place when there is one), a plugin, or the folder itself for a section no file defines.

Derandomized, so CI sees the same examples every run; ``LINX_FUZZ_RANDOM=1`` draws new ones and
``LINX_FUZZ_RULE_EXAMPLES`` (default 60 per test) draws more. The defects the first runs found are
the explicit examples and the plain tests at the end.
"""
import copy
import json
import os
import re
import subprocess
import sys
import tempfile
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from marshmallow import fields, validate

from linx_core.errors import InvalidRequest, RuleFileError, RuleViolation
from linx_core.rules import installed_fragments, load_rules, meta

from .conftest import ROOT, seed_examples
from .test_fuzz_validation import json_values, mutated_seed

RULES = ROOT / "rules"
TEXTS = {p.name: p.read_text() for p in sorted(RULES.glob("*.yaml"))}
DATA = {name: yaml.safe_load(text) for name, text in TEXTS.items()}
FRAGMENTS = installed_fragments()
SHIPPED = load_rules(RULES, FRAGMENTS)
SEEDS = [json.loads(raw, parse_float=Decimal) for raw in seed_examples()]

EXAMPLES = int(os.environ.get("LINX_FUZZ_RULE_EXAMPLES", "60"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None,
                derandomize=os.environ.get("LINX_FUZZ_RANDOM") != "1", print_blob=True,
                phases=[Phase.explicit, Phase.generate] + ([] if os.environ.get("LINX_FUZZ_SHRINK") == "0"
                                                          else [Phase.shrink]),
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# -- what the rule files name: most generated names are known ones, so cross-references often hold ----

KNOWN_NAMES = sorted({*SHIPPED.steps, *SHIPPED.parameters, *SHIPPED.solutions, *SHIPPED.catalog,
                      *(v for values in SHIPPED.catalog.values() for v in values), *meta.PARAMETER_TYPES,
                      *meta.MESSAGE_ORIGINS, "solutions", "required", "optional", "bySolution"})
names = st.one_of(st.sampled_from(KNOWN_NAMES), st.sampled_from(["bogus", "x", "", " ", "-a", "a" * 70]),
                  st.text(max_size=8))
huge = st.sampled_from([10**30, -10**30, 2**63, -1, 0, 10**6, "1e999999", "-0.01", "0.001", "NaN", "Infinity",
                        ".inf", 1.5, float("inf")])
scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 5000), huge, names,
                    st.decimals(allow_nan=False, allow_infinity=False, places=3).map(str))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                        st.dictionaries(names, inner, max_size=4)), max_leaves=10)


def paths(data, prefix=()):
    """Every path into ``data`` (mapping keys and list indexes), the root excluded."""
    out = []
    if isinstance(data, dict):
        for key, value in data.items():
            out.append(prefix + (key,))
            out += paths(value, prefix + (key,))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            out.append(prefix + (i,))
            out += paths(value, prefix + (i,))
    return out


def parent_of(data, path):
    for part in path[:-1]:
        data = data[part]
    return data


# -- structural mutations -----------------------------------------------------------------------


@st.composite
def structural(draw):
    """``{file: text}``: one or more shipped files, parsed, changed and dumped again."""
    data = copy.deepcopy(DATA)
    for _ in range(draw(st.integers(1, 3))):
        name = draw(st.sampled_from(sorted(data)))
        doc = data[name]
        action = draw(st.sampled_from(["drop", "replace", "rename", "number", "swap", "name", "override"]))
        if action == "override":
            data["solutions.yaml"] = {"solutions": draw(overrides())}
            continue
        if not isinstance(doc, (dict, list)) or not paths(doc):
            data[name] = draw(values)
            continue
        path = draw(st.sampled_from(paths(doc)))
        parent, last = parent_of(doc, path), path[-1]
        if action == "drop":
            del parent[last]
        elif action == "replace":
            parent[last] = draw(values)
        elif action == "rename" and isinstance(parent, dict):
            parent[draw(names)] = parent.pop(last)
        elif action == "number":
            parent[last] = draw(huge)
        elif action == "swap" and isinstance(parent, dict) and {"min", "max"} <= set(parent):
            parent["min"], parent["max"] = parent["max"], parent["min"]
        elif action == "swap" and isinstance(parent, dict) and {"minLength", "maxLength"} <= set(parent):
            parent["minLength"], parent["maxLength"] = parent["maxLength"], parent["minLength"]
        else:
            parent[last] = draw(names)
    return {name: yaml.safe_dump(doc, sort_keys=False, allow_unicode=True) for name, doc in data.items()}


@st.composite
def overrides(draw):
    """An admin's override of one installed rail: its own entry, changed, or random values."""
    origin, rail, entry = draw(st.sampled_from(FRAGMENTS))
    entry = json.loads(json.dumps(entry, default=str))
    if draw(st.booleans()) and paths(entry):
        path = draw(st.sampled_from(paths(entry)))
        parent_of(entry, path)[path[-1]] = draw(st.one_of(values, names, huge))
    else:
        entry = draw(st.dictionaries(st.sampled_from(sorted(entry) + ["bogus"]), values, max_size=4))
    return {rail: entry}


# -- textual mutations ----------------------------------------------------------------------------

NASTY = [
    "", "\n", "---\n", "--- a\n--- b\n", "[", "{", "]", ": :", "- a\nb: c\n", "key: 'open", 'key: "open',
    "\t", "\x00", "\x07", "\ufeff", "\x85", "\u2028", "&a", "*nope", "!", "%YAML 1.1\n", "@", "`", "? [a, b]\n: c\n",
    "!!python/object/apply:os.system [echo pwned]", "!!python/name:os.system", "!!python/object:object {}",
    "!!binary aGVsbG8=", "!!set {a, b}", "!!omap [a: 1]", "!!timestamp 2026-01-01", "!!float .nan", "!custom x",
    "0x" + "f" * 5000, "9" * 5000, "1e99999", "-" + "9" * 30, "&r [*r]", "&m {k: *m}",
    "[" * 2000 + "]" * 2000, "{a: " * 2000 + "1" + "}" * 2000,
]


@st.composite
def textual(draw):
    """``{file: text or bytes}``: one shipped file with its text broken."""
    files = dict(TEXTS)
    name = draw(st.sampled_from(sorted(files)))
    text = files[name]
    action = draw(st.sampled_from(["cut", "insert", "repeat", "empty", "bytes", "bomb", "section"]))
    at = draw(st.integers(0, len(text)))
    if action == "cut":
        files[name] = text[:at]
    elif action == "insert":
        files[name] = text[:at] + draw(st.one_of(st.sampled_from(NASTY), st.text(max_size=6))) + text[at:]
    elif action == "repeat":
        lines = text.splitlines(keepends=True)
        i = draw(st.integers(0, len(lines) - 1))
        files[name] = "".join(lines[:i + 1] + [lines[i]] + lines[i + 1:])
    elif action == "empty":
        files[name] = draw(st.sampled_from(["", "# nothing\n", "~\n", "null\n", "[]\n", "{}\n", "0\n"]))
    elif action == "bytes":
        files[name] = draw(st.sampled_from([text.encode("utf-16"), b"\xff\xfe" + text.encode(),
                                            text.encode()[:at] + b"\xc3\x28" + text.encode()[at:],
                                            "caf\u00e9: 1\n".encode("latin-1")]))
    elif action == "bomb":
        section = draw(st.sampled_from(["steps", "parameters", "combinations", "workflow", "bogus"]))
        files["bomb.yaml"] = _bomb(section, draw(st.sampled_from(["steps", "list", "deep"])))
    else:
        files["extra.yaml"] = draw(st.sampled_from(NASTY))
    return files


def _bomb(section, where):
    """A file whose anchors expand to 9**9 leaves; the aliases sit where the loader must walk them."""

    def anchors(indent):
        return "".join(f"{indent}- &b{i} [{', '.join([f'*b{i - 1}' if i else 'lol'] * 9)}]\n" for i in range(10))

    if where == "steps":
        return f"steps:\n  bomb:\n    order: 1\n    displayName: Bomb\n    x-anchors:\n{anchors('      ')}" \
               f"    parameters: {{required: *b9}}\n"
    if where == "list":
        return f"combinations:\n  - id: bomb\n    x-anchors:\n{anchors('      ')}    exactlyOne: *b9\n"
    return f"{section}:\n  x-anchors:\n{anchors('    ')}  bomb: *b9\n"


# -- entries generated from the meta-schemas -------------------------------------------------------


def from_field(field, depth):
    """Values for one marshmallow field of a meta-schema: mostly valid, sometimes not."""
    choices = [v.choices for v in field.validators if isinstance(v, validate.OneOf)]
    ranges = [v for v in field.validators if isinstance(v, validate.Range)]
    if choices:
        good = st.sampled_from(list(choices[0]))
    elif isinstance(field, meta.DecimalString):
        good = st.one_of(st.decimals(min_value=Decimal("0.01"), max_value=Decimal("100000"), places=2).map(str),
                         st.integers(1, 10**6))
    elif isinstance(field, fields.Integer):
        low = ranges[0].min if ranges and ranges[0].min is not None else -3
        high = ranges[0].max if ranges and ranges[0].max is not None else low + 500
        good = st.integers(low, high)
    elif isinstance(field, fields.Boolean):
        good = st.booleans()
    elif isinstance(field, fields.Nested):
        good = from_schema(field.schema, depth + 1) if depth < 3 else st.just({})
    elif isinstance(field, fields.List):
        good = st.lists(from_field(field.inner, depth + 1), max_size=3)
    elif isinstance(field, fields.Dict):
        good = st.dictionaries(from_field(field.key_field, 0) if field.key_field else names,
                               from_field(field.value_field, depth + 1) if field.value_field else values,
                               max_size=3)
    else:
        good = names
    return rarely(values, good) if depth else good


def rarely(odd, usual):
    """``odd`` one time in twenty, else ``usual``: enough faults to test, few enough that many entries load."""
    return st.integers(0, 19).flatmap(lambda n: odd if n == 0 else usual)


def from_schema(schema, depth=0):
    """A mapping for ``schema``: its required fields nearly always, each optional one half of the time."""
    entries = {}
    for name, field in schema.fields.items():
        key = field.data_key or name
        entries[key] = rarely(st.none(), from_field(field, depth)) if field.required else \
            st.one_of(st.none(), from_field(field, depth))
    return st.fixed_dictionaries(entries).map(lambda d: {k: v for k, v in d.items() if v is not None})


def message_templates():
    placeholders = st.sampled_from([f"{{{p}}}" for p in meta.PLACEHOLDERS] + ["{bogus}", "{", "}", "{0}", "{!r}"])
    return st.lists(st.one_of(placeholders, st.text(max_size=5)), min_size=1, max_size=6).map("".join)


SECTION_SCHEMAS = {
    "parameters": meta.ParameterSpec(), "steps": meta.StepSpec(), "solutions": meta.SolutionSpec(),
}


@st.composite
def generated(draw):
    """``{file: text}``: the shipped files and ``generated.yaml``, or one section replaced by a generated one."""
    data = copy.deepcopy(DATA)
    kind = draw(st.sampled_from(["parameters", "steps", "solutions", "condition", "combination", "workflow",
                                 "notifications", "catalog", "messages"]))
    key = draw(st.sampled_from(["gen", "gen-2", "x_y"]))
    extra = {}
    if kind in SECTION_SCHEMAS:
        extra = {kind: {key: draw(from_schema(SECTION_SCHEMAS[kind]))}}
    elif kind == "condition":
        step = draw(st.sampled_from(sorted(data["steps.yaml"]["steps"])))
        data["steps.yaml"]["steps"][step].setdefault("conditions", []).append(draw(from_schema(meta.Condition())))
    elif kind == "combination":
        data["workflow.yaml"]["combinations"].append(draw(from_schema(meta.Combination())))
    elif kind == "workflow":
        data["workflow.yaml"]["workflow"] = draw(from_schema(meta.WorkflowSpec()))
    elif kind == "notifications":
        data["messages.yaml"]["notifications"] = draw(from_schema(meta.NotificationsSpec()))
    elif kind == "catalog":
        section = draw(st.sampled_from(sorted(SHIPPED.catalog)))
        entry = draw(from_schema(meta.catalog_entry_schema(section)))
        extra = {section: {draw(names) or "GEN": entry}}
    else:
        origin = draw(st.sampled_from(meta.MESSAGE_ORIGINS))
        data["messages.yaml"]["messages"][origin] = draw(st.fixed_dictionaries(
            {"sms": message_templates(), "subject": message_templates(), "text": message_templates()}))
    files = {name: yaml.safe_dump(doc, sort_keys=False, allow_unicode=True) for name, doc in data.items()}
    if extra:
        files["generated.yaml"] = yaml.safe_dump(json.loads(json.dumps(extra, default=str)), sort_keys=False)
    return files


# -- the property -----------------------------------------------------------------------------------

PLACE = re.compile(r"^(?P<file>[^:/\\]+\.ya?ml)(:(?P<line>\d+))?(: (?P<dotted>\S.*))?$")


def write(folder, files):
    for name, content in files.items():
        target = folder / name
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8")


def assert_located(problem, folder, files):
    """A problem names a rule file of the folder (with its line or dotted place when it has one),
    a plugin, or the folder for a section no file defines."""
    assert problem.message and problem.code, problem
    if problem.path.startswith("plugin "):
        assert ": solutions." in problem.path, problem
        return
    if problem.path == str(folder):
        assert problem.code in ("RULE_FILE_MISSING_SECTION", "RULES_MISSING"), problem
        return
    match = PLACE.match(problem.path)
    assert match and match["file"] in files, f"{problem} names no rule file of {sorted(files)}"
    if not (match["line"] or match["dotted"]):
        assert problem.code in ("RULE_FILE_YAML", "RULE_FILE_UNREADABLE", "RULE_FILE_SHAPE"), problem


def assert_refusal(exc):
    assert exc.problems, "a refusal names at least one place"
    for problem in exc.problems:
        assert problem.path and problem.message and problem.code, problem


def check_rule_folder(files, bodies=()):
    """Load ``files`` as a rule folder: a rule book that works, or a refusal naming the places."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "rules"
        folder.mkdir()
        write(folder, files)
        try:
            book = load_rules(folder, FRAGMENTS)
        except RuleFileError as exc:
            assert exc.problems
            for problem in exc.problems:
                assert_located(problem, folder, files)
            assert str(exc)  # what `linx rules check` prints
            return None
    spec = APISpec(title="t", version="1", openapi_version="3.0.3", plugins=[MarshmallowPlugin()])
    spec.components.schema("WorkflowCreateRequest", schema=book.request_schema)
    json.dumps(spec.to_dict())
    for body in [*SEEDS, *bodies]:
        try:
            book.validate_workflow(copy.deepcopy(body))
        except (InvalidRequest, RuleViolation) as exc:
            assert_refusal(exc)
    for body in ({"expireIn": 2}, {"expireInHours": "5"}, {}, *bodies[:1]):
        try:
            book.expiry_hours(body)
        except (InvalidRequest, RuleViolation) as exc:
            assert_refusal(exc)
    return book


random_bodies = st.lists(st.one_of(mutated_seed(), json_values), max_size=3)


@pytest.mark.system  # a fuzzing campaign: minutes, not seconds
@FUZZ
@given(files=structural(), bodies=random_bodies)
def test_structural_mutations_load_or_are_refused_with_a_place(files, bodies):
    check_rule_folder(files, bodies)


@pytest.mark.system  # a fuzzing campaign: minutes, not seconds
@FUZZ
@given(files=textual())
def test_textual_mutations_load_or_are_refused_with_a_place(files):
    check_rule_folder(files)


@pytest.mark.system  # a fuzzing campaign: minutes, not seconds
@FUZZ
@given(files=generated(), bodies=random_bodies)
def test_entries_generated_from_the_meta_schemas_load_or_are_refused_with_a_place(files, bodies):
    check_rule_folder(files, bodies)


@pytest.mark.system  # a fuzzing campaign: minutes, not seconds
def test_the_generator_reaches_the_compiler():
    """Not every generated folder is refused: a share load and are validated against (about one in six
    over 200 examples; the rest are refused, mostly for a name or a bound drawn out of its range)."""
    loaded = []

    @settings(max_examples=30, deadline=None, database=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow])
    @given(files=generated())
    def run(files):
        loaded.append(check_rule_folder(files) is not None)

    run()
    assert sum(loaded) >= len(loaded) // 10, f"only {sum(loaded)} of {len(loaded)} generated folders loaded"


# -- the CLI on broken folders ----------------------------------------------------------------------


@pytest.mark.system
@pytest.mark.parametrize("name, content, fragment", [
    ("steps.yaml", "steps: [\n", "steps.yaml:2"),
    ("bomb.yaml", _bomb("steps", "steps"), "bomb.yaml:"),
    ("evil.yaml", "x: !!python/object/apply:os.system [echo pwned]\n", "evil.yaml:1"),
    ("latin.yaml", "caf\u00e9: 1\n".encode("latin-1"), "latin.yaml"),
])
def test_linx_rules_check_prints_the_place_and_no_traceback(tmp_path, name, content, fragment):
    folder = tmp_path / "rules"
    folder.mkdir()
    write(folder, {**TEXTS, name: content})
    result = subprocess.run([str(Path(sys.executable).parent / "linx"), "rules", "check", str(folder)],
                            capture_output=True, text=True, timeout=120,
                            env={k: v for k, v in os.environ.items() if not k.startswith("LINX_")})
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stderr.startswith("error: ") and fragment in result.stderr, result.stderr
    assert "pwned" not in result.stdout


# -- the defects the first runs found, fixed in linx_core/rules/: each fails on the code before ------


def refusal(files):
    """The problems of a folder that must be refused, as ``[(path, message)]``."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "rules"
        folder.mkdir()
        write(folder, files)
        with pytest.raises(RuleFileError) as caught:
            load_rules(folder, FRAGMENTS)
        for problem in caught.value.problems:
            assert_located(problem, folder, files)
        return [(p.path, p.message) for p in caught.value.problems]


@pytest.mark.parametrize("where", ["steps", "list", "deep"])
def test_an_alias_bomb_is_refused_at_its_line(where):
    """Ten lines of anchors expand to 9**9 values; walking them for repeated keys never ended."""
    text = _bomb("steps", where)
    line = next(i for i, row in enumerate(text.splitlines(), 1) if "&b5" in row)  # 9**6 values: past 100000
    assert refusal({**TEXTS, "bomb.yaml": text}) == [
        (f"bomb.yaml:{line}", "expands to more than 100000 values through its aliases")]


@pytest.mark.parametrize("text, line", [("steps: &r [*r]\n", 1), ("parameters:\n  p: &p\n    type: list\n"
                                                                   "    items: *p\n", 4)])
def test_a_value_containing_itself_is_refused(text, line):
    """A recursive alias made every walk of the tree recurse until Python gave up (RecursionError)."""
    assert refusal({**TEXTS, "self.yaml": text}) == [
        (f"self.yaml:{line}", f"the alias *{text.split('&')[1][0]} refers to a value that contains it")]


@pytest.mark.parametrize("text", ["[" * 2000 + "]" * 2000, "{a: " * 2000 + "1" + "}" * 2000,
                                  "steps:\n" + "".join("  " * i + f"k{i}:\n" for i in range(1, 40))])
def test_deep_nesting_is_refused_at_its_line(text):
    """The YAML composer recursed past Python's limit (RecursionError) on a few kilobytes of brackets."""
    [(path, message)] = refusal({**TEXTS, "deep.yaml": text})
    assert path.startswith("deep.yaml:") and message == "nests deeper than 32 levels"


def test_a_moderate_use_of_anchors_still_loads():
    shared = "transactionTypes: &types [SEND, REQUEST]\n"
    book = check_rule_folder({**TEXTS, "solutions.yaml": "solutions:\n  gift:\n    displayName: Gift\n"
                              "    " + shared + "    financialAccountSubTypes: [DEBIT]\n    priorities: [IMMEDIATE]\n"
                              "    limits: {USD: {min: \"1.00\", max: \"50.00\"}}\n"
                              "  gift-2:\n    displayName: Gift 2\n    transactionTypes: *types\n"
                              "    financialAccountSubTypes: [DEBIT]\n    priorities: [IMMEDIATE]\n"
                              "    limits: {USD: {min: \"1.00\", max: \"50.00\"}}\n"})
    assert book.solutions["gift-2"]["transactionTypes"] == ["SEND", "REQUEST"]


@pytest.mark.parametrize("override, place, message", [
    ("ach:\n    transactionTypes: [[SEND]]\n", "transactionTypes[0]", "Not a valid string."),
    ("ach:\n    priorities: [{a: 1}]\n", "priorities[0]", "Not a valid string."),
    ("ach:\n    parameters: {required: [[priority]]}\n", "parameters.required[0]", "Not a valid string."),
    ("ach:\n    parameters: {optional: 5}\n", "parameters.optional", "Not a valid list."),
])
def test_an_override_of_the_wrong_shape_is_refused_with_its_place(override, place, message):
    """The narrowing check hashed list items (TypeError: unhashable type) before the schemas saw them."""
    problems = refusal({**TEXTS, "solutions.yaml": "solutions:\n  " + override})
    assert [(path.split(": ", 1)[1], text) for path, text in problems] == [(f"solutions.ach.{place}", message)]


@pytest.mark.parametrize("rail, override, place, message", [
    ("wire", "billingAddress: null", "billingAddress", "the wire rail needs the billing address"),
    ("ach", "parameters: null", "parameters.required", "the ach rail needs 'priority': it must stay required"),
    ("ach", "parameters: {required: null}", "parameters.required",
     "the ach rail needs 'priority': it must stay required"),
])
def test_an_override_cannot_widen_a_rail_by_removing_a_key(rail, override, place, message):
    """``null`` removes a key from the rail's entry: it let an admin drop the billing address a rail needs."""
    problems = refusal({**TEXTS, "solutions.yaml": f"solutions:\n  {rail}:\n    {override}\n"})
    assert [(path.split(": ", 1)[1], text) for path, text in problems] == [(f"solutions.{rail}.{place}", message)]


def test_a_fault_in_an_empty_section_names_the_file_and_line():
    """``workflow: {}`` reported ``workflow.title`` with no file at all."""
    text = TEXTS["workflow.yaml"]
    start, end = text.index("workflow:\n"), text.index("\n# Each combination")
    problems = refusal({**TEXTS, "workflow.yaml": text[:start] + "workflow: {}\n" + text[end:]})
    line = next(i for i, row in enumerate(text[:start].splitlines() + ["workflow: {}"], 1) if row == "workflow: {}")
    assert (f"workflow.yaml:{line}: workflow.title", "Missing data for required field.") in problems


def test_an_odd_section_name_is_quoted():
    """An unknown section named `" "` was reported as ``catalog.yaml:N:  `` (a blank place)."""
    [(path, message)] = refusal({**TEXTS, "odd.yaml": "' ': 1\n"})
    assert path == "odd.yaml:1: ' '" and message.startswith("is not a rule section")


@pytest.mark.parametrize("spec", ["{minLength: 5, maxLength: 3}", "{maxLength: 3, minLength: 4}"])
def test_a_title_whose_minimum_exceeds_its_maximum_is_refused(spec):
    """Refused no title at all (every request 422) instead of refusing the rule file."""
    text = TEXTS["workflow.yaml"].replace("title: {minLength: 1, maxLength: 200}", f"title: {spec}")
    [(path, message)] = refusal({**TEXTS, "workflow.yaml": text})
    assert path.endswith(": workflow.title.minLength") and message == "minLength is greater than maxLength"


def test_a_list_whose_min_items_exceeds_its_max_items_is_refused():
    text = TEXTS["parameters.yaml"].replace("    minItems: 1\n    maxItems: 10\n",
                                            "    minItems: 11\n    maxItems: 10\n")
    [(path, message)] = refusal({**TEXTS, "parameters.yaml": text})
    assert path.endswith(": parameters.documents.minItems") and message == "minItems is greater than maxItems"


def test_a_rail_limit_applies_to_the_money_parameter_whatever_its_name():
    """The limit check read ``amount`` and ``currency`` by name: renamed, a string ``amount`` met a Decimal
    limit (TypeError) and the real money parameter went unchecked."""
    parameters = TEXTS["parameters.yaml"].replace("  amount:\n    type: money", "  total:\n    type: money") \
        .replace("    description: ISO 4217 currency code.\n", "    description: ISO 4217 currency code.\n"
                 "  amount:\n    type: string\n")
    steps = TEXTS["steps.yaml"].replace("currency, amount, paymentReasonId]", "currency, total, paymentReasonId]")
    book = check_rule_folder({**TEXTS, "parameters.yaml": parameters, "steps.yaml": steps},
                             [{**SEEDS[3], "parameters": {**SEEDS[3]["parameters"], "amount": "7"}}])
    body = json.loads(json.dumps(SEEDS[3], default=str))
    body["parameters"]["total"] = body["parameters"].pop("amount")
    assert book.validate_workflow(body).parameters["total"] == Decimal("256.25")
    body["parameters"]["total"] = "99999999"
    with pytest.raises(RuleViolation) as caught:
        book.validate_workflow(body)
    assert [(p.path, p.code) for p in caught.value.problems] == [("parameters.total", "AMOUNT_OUT_OF_LIMITS")]
