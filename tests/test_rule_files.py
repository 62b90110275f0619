"""The rule files: the shipped ones load; a broken one is refused, naming the file, line and place.

Each case copies ``rules/`` to a temporary folder, breaks one thing, and checks the
single problem reported: ``file.yaml:LINE: dotted.path`` and what is wrong. Line
numbers are read from the edited copy, so the cases survive edits of the shipped files.
"""
import json
import shutil
from decimal import Decimal

import pytest
import yaml

from gateway_app import create_app
from linx_core.errors import RuleFileError, RuleViolation
from linx_core.rules import default_rules_dir, load_rules

from .conftest import DATA_KEY, ROOT, SECRET_KEY, seed_examples

RULES = ROOT / "rules"
RULE_FILES = {p.name for p in RULES.glob("*.yaml")}


@pytest.fixture
def rules_copy(tmp_path):
    target = tmp_path / "rules"
    shutil.copytree(RULES, target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


# -- helpers ------------------------------------------------------------------------------


def replace(path, old, new):
    text = path.read_text()
    assert text.count(old) == 1, f"{old!r} should occur once in {path.name}"
    path.write_text(text.replace(old, new))


def line_of(path, needle, occurrence=1):
    """The 1-based line of the ``occurrence``-th line of ``path`` that contains ``needle``."""
    hits = [i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line]
    assert len(hits) >= occurrence, f"{needle!r} is not in {path.name} {occurrence} time(s)"
    return hits[occurrence - 1]


def combination_index(directory, rule_id):
    rules = yaml.safe_load((directory / "workflow.yaml").read_text())["combinations"]
    return [r["id"] for r in rules].index(rule_id)


def refused(directory):
    with pytest.raises(RuleFileError) as caught:
        load_rules(directory)
    return caught.value


def assert_one_problem(directory, location, fragment):
    error = refused(directory)
    found = [(p.path, p.message) for p in error.problems]
    assert len(found) == 1, found
    path, message = found[0]
    assert path == location, found
    assert fragment in message, found
    # the CLI and the server print exactly this line
    assert f"{location}: " in str(error)
    return error.problems[0]


# -- the shipped rules --------------------------------------------------------------------


def test_the_shipped_rules_load():
    book = load_rules()
    assert list(book.steps) == ["notification", "customer-account", "lookup-profile", "enhance-profile",
                                "financial-account", "lookup-financial-account", "document-acceptance",
                                "move-money"]
    assert set(book.solutions) == {"push-to-card", "ach", "wire"}
    assert {"SEND", "REQUEST"} == set(book.catalog["transactionTypes"])
    assert {"DEBIT", "CREDIT", "CHECKING", "SAVING"} <= set(book.catalog["financialAccountSubTypes"])
    assert {c: v["minorUnits"] for c, v in book.catalog["currencies"].items()} == {"USD": 2, "CAD": 2}
    assert "payment-of-rebates" in book.catalog["paymentReasons"]
    assert {"SMS", "EMAIL"} == set(book.catalog["channels"])
    assert book.catalog["documents"]
    assert book.workflow["expiry"]["minHours"] <= book.workflow["expiry"]["defaultHours"] <= \
        book.workflow["expiry"]["maxHours"]


def test_the_default_rules_are_the_rules_folder():
    assert {"catalog.yaml", "parameters.yaml", "solutions.yaml", "steps.yaml", "workflow.yaml"} <= RULE_FILES
    assert {p.name for p in default_rules_dir().glob("*.yaml")} == RULE_FILES
    assert list(load_rules(RULES).steps) == list(load_rules().steps)


def test_an_unchanged_copy_loads(rules_copy):
    assert set(load_rules(rules_copy).solutions) == {"push-to-card", "ach", "wire"}


def test_a_copy_made_before_the_failure_and_reversal_messages_loads_with_the_shipped_words(rules_copy):
    messages = rules_copy / "messages.yaml"
    doc = yaml.safe_load(messages.read_text())
    shipped = dict(doc["messages"])
    for origin in ("FAILURE_SEND", "FAILURE_REQUEST", "REVERSAL_SEND", "REVERSAL_REQUEST"):
        del doc["messages"][origin]
    messages.write_text(yaml.safe_dump(doc, sort_keys=False))
    loaded = load_rules(rules_copy).messages
    for origin in ("FAILURE_SEND", "FAILURE_REQUEST", "REVERSAL_SEND", "REVERSAL_REQUEST"):
        assert loaded[origin] == shipped[origin], origin  # every string, from the one shipped text


# -- one fault per case -------------------------------------------------------------------


def test_invalid_yaml_names_the_file_and_line(rules_copy):
    steps = rules_copy / "steps.yaml"
    replace(steps, "    displayName: More about you\n", "    displayName: More: about you\n")
    line = line_of(steps, "More: about you")
    problem = assert_one_problem(rules_copy, f"steps.yaml:{line}", "is not valid YAML")
    assert "mapping values are not allowed" in problem.message
    assert problem.code == "RULE_FILE_YAML"


def test_a_file_that_is_a_list_is_refused(rules_copy):
    (rules_copy / "catalog.yaml").write_text("- SMS\n- EMAIL\n")
    problem = assert_one_problem(rules_copy, "catalog.yaml", "must be a mapping of sections")
    assert problem.code == "RULE_FILE_SHAPE"


def test_an_unknown_top_level_section_is_refused(rules_copy):
    workflow = rules_copy / "workflow.yaml"
    workflow.write_text(workflow.read_text() + "\nextras: {colour: blue}\n")
    line = line_of(workflow, "extras:")
    problem = assert_one_problem(rules_copy, f"workflow.yaml:{line}: extras", "is not a rule section")
    assert "paymentReasons" in problem.message  # it lists the known sections
    assert problem.code == "RULE_FILE_UNKNOWN_SECTION"


def test_an_unknown_block_section_is_reported_on_its_own_line(rules_copy):
    workflow = rules_copy / "workflow.yaml"
    workflow.write_text(workflow.read_text() + "\nextras:\n  colour: blue\n")
    line = line_of(workflow, "extras:")
    assert_one_problem(rules_copy, f"workflow.yaml:{line}: extras", "is not a rule section")


def test_a_step_requiring_an_unknown_parameter(rules_copy):
    steps = rules_copy / "steps.yaml"
    replace(steps, "required: [profileFields]", "required: [profileFields, nickname]")
    assert_one_problem(rules_copy, f"steps.yaml:{line_of(steps, 'nickname')}: "
                                   "steps.enhance-profile.parameters.required[1]",
                       "names unknown parameter 'nickname'")


def test_a_condition_on_an_unknown_parameter(rules_copy):
    steps = rules_copy / "steps.yaml"
    replace(steps, "when: {channel: [EMAIL]}", "when: {medium: [EMAIL]}")
    assert_one_problem(rules_copy, f"steps.yaml:{line_of(steps, 'medium')}: "
                                   "steps.notification.conditions[1].when.medium",
                       "names unknown parameter 'medium'")


def test_a_condition_allowing_a_value_not_in_the_enum(rules_copy):
    steps = rules_copy / "steps.yaml"
    replace(steps, "        require: [email]\n", "        require: [email]\n        allow: {channel: [EMAIL, FAX]}\n")
    assert_one_problem(rules_copy, f"steps.yaml:{line_of(steps, 'FAX')}: "
                                   "steps.notification.conditions[1].allow.channel[1]",
                       "'FAX' is not one of channels")


def override(directory, text):
    """Write the admin's override file ``solutions.yaml`` (the solutions themselves come from their plugins)."""
    path = directory / "solutions.yaml"
    path.write_text(text)
    return path


def test_a_solution_subtype_not_in_the_catalog(rules_copy):
    solutions = override(rules_copy, "solutions:\n  push-to-card:\n    financialAccountSubTypes: [DEBIT, GIFT]\n")
    assert_one_problem(rules_copy, f"solutions.yaml:{line_of(solutions, 'GIFT')}: "
                                   "solutions.push-to-card.financialAccountSubTypes[1]",
                       "names unknown financialAccountSubType 'GIFT'")


def test_a_solution_limit_in_an_unknown_currency(rules_copy):
    solutions = override(rules_copy, 'solutions:\n  push-to-card:\n    limits:\n'
                                     '      EUR: {min: "0.01", max: "25000.00"}\n')
    assert_one_problem(rules_copy, f"solutions.yaml:{line_of(solutions, 'EUR')}: solutions.push-to-card.limits.EUR",
                       "names unknown currency 'EUR'")


MIN_OVER_MAX = 'USD: {min: "5000.00", max: "100.00"}'


def test_a_limit_whose_min_exceeds_its_max(rules_copy):
    solutions = override(rules_copy, f"solutions:\n  ach:\n    limits:\n      {MIN_OVER_MAX}\n")
    error = refused(rules_copy)
    assert len(error.problems) == 1, error.problems
    problem = error.problems[0]
    assert problem.path.startswith(f"solutions.yaml:{line_of(solutions, MIN_OVER_MAX)}: solutions.ach.limits.USD")
    assert "min is greater than max" in problem.message


def test_a_limit_whose_min_exceeds_its_max_names_the_place_exactly(rules_copy):
    solutions = override(rules_copy, f"solutions:\n  ach:\n    limits:\n      {MIN_OVER_MAX}\n")
    assert_one_problem(rules_copy, f"solutions.yaml:{line_of(solutions, MIN_OVER_MAX)}: solutions.ach.limits.USD.min",
                       "min is greater than max")


def test_a_condition_on_no_value_names_the_place_exactly(rules_copy):
    steps = rules_copy / "steps.yaml"
    replace(steps, "when: {channel: [EMAIL]}", "when: {channel: []}")
    assert_one_problem(rules_copy, f"steps.yaml:{line_of(steps, 'channel: []')}: "
                                   "steps.notification.conditions[1].when.channel",
                       "Shorter than minimum length 1")


def test_a_limit_with_three_decimals_for_usd(rules_copy):
    solutions = override(rules_copy, 'solutions:\n  ach:\n    limits:\n      USD: {min: "1.001", max: "1000000.00"}\n')
    assert_one_problem(rules_copy, f"solutions.yaml:{line_of(solutions, '1.001')}: solutions.ach.limits.USD.min",
                       "has more than 2 decimals for USD")


def test_a_combination_naming_an_unknown_step(rules_copy):
    workflow = rules_copy / "workflow.yaml"
    replace(workflow, "exactlyOne: [customer-account, lookup-profile]", "exactlyOne: [customer-account, find-profile]")
    index = combination_index(rules_copy, "one-customer-step")
    assert_one_problem(rules_copy, f"workflow.yaml:{line_of(workflow, 'find-profile')}: "
                                   f"combinations[{index}].exactlyOne[1]",
                       "names unknown step 'find-profile'")


def test_a_combination_with_two_kinds(rules_copy):
    workflow = rules_copy / "workflow.yaml"
    replace(workflow, "    unique: true\n", "    unique: true\n    ordered: true\n")
    index = combination_index(rules_copy, "no-duplicate-steps")
    assert_one_problem(rules_copy, f"workflow.yaml:{line_of(workflow, 'id: no-duplicate-steps')}: "
                                   f"combinations[{index}].id",
                       "a combination rule has exactly one of")


def test_a_duplicate_combination_id(rules_copy):
    workflow = rules_copy / "workflow.yaml"
    replace(workflow, "- id: steps-in-order", "- id: no-duplicate-steps")
    ids = [r["id"] for r in yaml.safe_load(workflow.read_text())["combinations"]]
    second = ids.index("no-duplicate-steps", ids.index("no-duplicate-steps") + 1)
    assert_one_problem(rules_copy, f"workflow.yaml:{line_of(workflow, 'id: no-duplicate-steps', 2)}: "
                                   f"combinations[{second}].id",
                       "the id 'no-duplicate-steps' is used twice")


ACH_AGAIN = ("  ach: {displayName: ACH again, transactionTypes: [SEND], financialAccountSubTypes: [CHECKING], "
             "priorities: [SAME_DAY], limits: {USD: {min: '1.00', max: '2.00'}}}\n")
RTP = ("  rtp: {displayName: Real-time payments, transactionTypes: [SEND], financialAccountSubTypes: [CHECKING], "
       "priorities: [IMMEDIATE], limits: {USD: {min: '0.01', max: '500000.00'}}}\n")


def test_the_same_solution_in_two_files(rules_copy):
    # treasury.yaml is read after solutions.yaml, so the second definition is the one refused
    override(rules_copy, "solutions:\n  ach: {displayName: ACH transfers}\n")
    extra = rules_copy / "treasury.yaml"
    extra.write_text("solutions:\n" + ACH_AGAIN)
    problem = assert_one_problem(rules_copy, f"treasury.yaml:{line_of(extra, 'ach:')}: solutions.ach",
                                 "is defined in solutions.yaml already")
    assert problem.code == "RULE_FILE_DUPLICATE"


def test_the_same_solution_in_two_files_is_reported_on_its_own_line(rules_copy):
    override(rules_copy, "solutions:\n  ach: {displayName: ACH transfers}\n")
    extra = rules_copy / "treasury.yaml"
    extra.write_text("solutions:\n" + RTP + ACH_AGAIN)
    assert_one_problem(rules_copy, f"treasury.yaml:{line_of(extra, 'ach:')}: solutions.ach",
                       "is defined in solutions.yaml already")


def test_a_key_repeated_within_one_file_is_refused(rules_copy):
    catalog = rules_copy / "catalog.yaml"
    catalog.write_text(catalog.read_text() + "\npaymentReasons: [gift-cards]\n")
    error = refused(rules_copy)
    assert any(p.path.startswith(f"catalog.yaml:{line_of(catalog, 'paymentReasons:', 2)}") for p in error.problems), \
        error.problems


def test_a_missing_required_section(rules_copy):
    workflow = rules_copy / "workflow.yaml"
    text = workflow.read_text()
    workflow.write_text(text[text.index("combinations:"):])
    assert_one_problem(rules_copy, str(rules_copy), "no rule file defines the section `workflow`")


def test_an_enum_over_no_catalog_list(rules_copy):
    parameters = rules_copy / "parameters.yaml"
    replace(parameters, "values: priorities", "values: urgencies")
    assert_one_problem(rules_copy, f"parameters.yaml:{line_of(parameters, 'urgencies')}: parameters.priority.values",
                       "names unknown value list 'urgencies'")


def test_an_expiry_default_outside_its_bounds(rules_copy):
    workflow = rules_copy / "workflow.yaml"
    text = workflow.read_text()
    default = yaml.safe_load(text)["workflow"]["expiry"]["defaultHours"]
    replace(workflow, f"defaultHours: {default}", "defaultHours: 99999")
    assert_one_problem(rules_copy, f"workflow.yaml:{line_of(workflow, '99999')}: workflow.expiry.defaultHours",
                       "minHours <= defaultHours <= maxHours")


def test_an_empty_rules_folder(rules_copy):
    for path in rules_copy.glob("*.yaml"):
        path.unlink()
    problem = assert_one_problem(rules_copy, str(rules_copy), "holds no *.yaml rule file")
    assert problem.code == "RULES_MISSING"


def test_a_rules_folder_that_does_not_exist(tmp_path):
    assert_one_problem(tmp_path / "nowhere", str(tmp_path / "nowhere"), "is not a folder of rule files")


def test_every_fault_is_reported_at_once(rules_copy):
    steps, workflow = rules_copy / "steps.yaml", rules_copy / "workflow.yaml"
    replace(steps, "    displayName: More about you\n", "    displayName: More about you\n    colour: red\n")
    default = yaml.safe_load(workflow.read_text())["workflow"]["expiry"]["defaultHours"]
    replace(workflow, f"defaultHours: {default}", "defaultHours: 99999")
    error = refused(rules_copy)
    assert sorted(p.path for p in error.problems) == [
        f"steps.yaml:{line_of(steps, 'colour: red')}: steps.enhance-profile.colour",
        f"workflow.yaml:{line_of(workflow, '99999')}: workflow.expiry.defaultHours",
    ]


def test_the_server_refuses_to_start_on_bad_rules(rules_copy):
    replace(rules_copy / "parameters.yaml", "values: priorities", "values: urgencies")
    with pytest.raises(RuleFileError) as caught:
        create_app(test_config=dict(env="test", secret_key=SECRET_KEY, data_key=DATA_KEY,
                                    database_url="sqlite:///:memory:", rules_dir=str(rules_copy)))
    assert str(caught.value).startswith("parameters.yaml:")
    assert "parameters.priority.values: names unknown value list 'urgencies'" in str(caught.value)


# -- an extra file adds to the rules ------------------------------------------------------


def test_a_new_solution_in_an_extra_file_is_merged(rules_copy):
    extra = rules_copy / "rtp.yaml"
    extra.write_text(yaml.safe_dump({"solutions": {"rtp": {
        "displayName": "Real-time payments",
        "transactionTypes": ["SEND", "REQUEST"],
        "financialAccountSubTypes": ["CHECKING", "SAVING"],
        "priorities": ["IMMEDIATE"],
        "parameters": {"optional": ["priority"]},
        "limits": {"USD": {"min": "0.01", "max": "500000.00"}},
    }}}))
    book = load_rules(rules_copy)
    assert set(book.solutions) == {"push-to-card", "ach", "wire", "rtp"}
    assert book.solutions["rtp"]["limits"]["USD"] == {"min": Decimal("0.01"), "max": Decimal("500000.00")}

    body = json.loads(seed_examples()[3], parse_float=Decimal)  # as the API reads it
    body["parameters"].update(solution="rtp", customerFinancialAccountId="bbbf2fbf-81d4-4f2d-8f80-201bcca921d4")
    accepted = book.validate_workflow(body)
    assert accepted.parameters["solution"] == "rtp"
    with pytest.raises(RuleViolation) as caught:
        load_rules(RULES).validate_workflow(body)
    assert "parameters.solution" in [p.path for p in caught.value.problems]
    # the new solution's own rules apply: a same-day priority is not one it takes
    body["parameters"]["priority"] = "SAME_DAY"
    with pytest.raises(RuleViolation) as caught:
        book.validate_workflow(body)
    assert [p.path for p in caught.value.problems] == ["parameters.priority"]


# -- the solutions come from their plugins; the rule files may narrow them ----------------------


GIFT_CARD_RAIL = {"displayName": "Gift", "transactionTypes": ["SEND"], "financialAccountSubTypes": ["DEBIT", "GIFT"],
                  "priorities": ["IMMEDIATE"], "limits": {"USD": {"min": "0.01", "max": "100.00"}}}


def test_the_shipped_solutions_are_the_built_in_plugins_fragments():
    from linx_core.rules import installed_fragments

    origins = {name: origin for origin, name, _ in installed_fragments()}
    assert origins == {"push-to-card": "plugin linx_plugins.push_to_card", "ach": "plugin linx_plugins.ach",
                       "wire": "plugin linx_plugins.wire"}
    assert set(load_rules(RULES, fragments=()).solutions) == set()  # the rule files alone name none


def test_a_fault_in_a_plugins_fragment_names_the_plugin(rules_copy):
    with pytest.raises(RuleFileError) as caught:
        load_rules(rules_copy, fragments=[("plugin gift_rail", "gift", GIFT_CARD_RAIL)])
    assert [(p.path, p.message) for p in caught.value.problems] == [
        ("plugin gift_rail: solutions.gift.financialAccountSubTypes[1]",
         "names unknown financialAccountSubType 'GIFT' (known: CHECKING, CREDIT, DEBIT, PREPAID, SAVING)")]


def test_two_plugins_with_one_solution_name_are_refused(rules_copy):
    from linx_core.rules import installed_fragments

    fragments = installed_fragments()
    again = [("plugin other_ach", "ach", next(entry for _, name, entry in fragments if name == "ach"))]
    with pytest.raises(RuleFileError) as caught:
        load_rules(rules_copy, fragments=fragments + again)
    assert [p.path for p in caught.value.problems] == ["plugin other_ach: solutions.ach"]
    assert "is provided by plugin linx_plugins.ach already" in caught.value.problems[0].message


def test_an_override_narrows_a_solution(rules_copy):
    override(rules_copy, 'solutions:\n  push-to-card:\n    displayName: Instant payout\n'
                         '    limits:\n      USD: {max: "100.00"}\n      CAD: null\n'
                         '  wire:\n    parameters:\n      required: [priority, description, memo]\n')
    book = load_rules(rules_copy)
    card = book.solutions["push-to-card"]
    assert card["displayName"] == "Instant payout"
    assert card["limits"] == {"USD": {"min": Decimal("0.01"), "max": Decimal("100.00")}}
    assert card["transactionTypes"] == ["SEND"]  # the rest is the plugin's
    assert book.solutions["wire"]["parameters"]["required"] == ["priority", "description", "memo"]


@pytest.mark.parametrize("text, place, fragment", [
    ("push-to-card:\n    transactionTypes: [SEND, REQUEST]\n", "transactionTypes[1]",
     "'REQUEST' is not one the push-to-card rail supports (SEND)"),
    ('push-to-card:\n    limits:\n      USD: {min: "0.01", max: "30000.00"}\n', "limits.USD.max",
     "is above the push-to-card rail's maximum of 25000.00"),
    ('ach:\n    limits:\n      CAD: {min: "0.01", max: "10.00"}\n', "limits.CAD", "the ach rail does not move CAD"),
    ("ach:\n    parameters:\n      required: []\n", "parameters.required",
     "the ach rail needs 'priority': it must stay required"),
    ("ach:\n    parameters:\n      optional: [memo]\n", "parameters.optional[0]",
     "the ach rail does not take the parameter 'memo'"),
    ("wire:\n    billingAddress: optional\n", "billingAddress", "the wire rail needs the billing address"),
])
def test_an_override_cannot_widen_what_the_rail_does(rules_copy, text, place, fragment):
    solutions = override(rules_copy, "solutions:\n  " + text)
    name = text.split(":")[0]
    error = refused(rules_copy)
    assert len(error.problems) == 1, error.problems
    problem = error.problems[0]
    assert problem.path.startswith("solutions.yaml:") and problem.path.endswith(f": solutions.{name}.{place}")
    assert fragment in problem.message
    assert solutions.exists()


def test_the_runtime_refuses_a_solution_no_plugin_provides(rules_copy):
    (rules_copy / "rtp.yaml").write_text("solutions:\n" + RTP)
    assert "rtp" in load_rules(rules_copy).solutions  # a rule book alone may name it (linx rules check)
    with pytest.raises(RuleFileError) as caught:
        create_app(test_config=dict(env="test", secret_key=SECRET_KEY, data_key=DATA_KEY,
                                    database_url="sqlite:///:memory:", rules_dir=str(rules_copy)))
    problem = caught.value.problems[0]
    assert problem.path == f"rtp.yaml:{line_of(rules_copy / 'rtp.yaml', 'rtp:')}: solutions.rtp"
    assert "no installed payment solution is named 'rtp' (installed: ach, push-to-card, wire)" in problem.message


# -- the message limits (rules/limits.yaml) ----------------------------------------------------------------

@pytest.mark.parametrize("old, new, where, fragment", [
    ("perHour: 20", "perHour: 0", "messageLimits.recipient.perHour", "greater than or equal to 1"),
    ("perHour: 20", "perHour: twenty", "messageLimits.recipient.perHour", "Not a valid integer"),
    ("perHour: 20", "perHour: 60", "messageLimits.recipient.perHour", "perHour is greater than perDay"),
    ("perDay: 25000", "perDay: -1", "messageLimits.business.perDay", "greater than or equal to 1"),
    ("perDay: 25000", "perDay: 25000\n    perWeek: 99", "messageLimits.business.perWeek", "Unknown field"),
])
def test_a_bad_message_limit_is_refused_with_its_place(rules_copy, old, new, where, fragment):
    limits = rules_copy / "limits.yaml"
    replace(limits, old, new)
    line = line_of(limits, new.splitlines()[-1].strip())
    assert_one_problem(rules_copy, f"limits.yaml:{line}: {where}", fragment)


def test_a_rules_folder_without_message_limits_loads_with_the_shipped_defaults(rules_copy):
    """A copy of the rules made before limits.yaml existed (LINX_RULES_DIR) still loads after the upgrade."""
    shipped = load_rules(rules_copy).message_limits
    (rules_copy / "limits.yaml").unlink()
    limits = load_rules(rules_copy).message_limits
    assert limits == shipped == {"recipient": {"perHour": 20, "perDay": 50}, "business": {"perDay": 25_000}}


def test_a_message_limits_section_may_name_only_what_it_changes(rules_copy):
    (rules_copy / "limits.yaml").write_text("messageLimits:\n  business:\n    perDay: 100\n")
    limits = load_rules(rules_copy).message_limits
    assert limits == {"recipient": {"perHour": 20, "perDay": 50}, "business": {"perDay": 100}}


def test_an_admin_raises_a_message_limit_in_the_rule_file(rules_copy):
    replace(rules_copy / "limits.yaml", "perDay: 25000", "perDay: 100000")
    assert load_rules(rules_copy).message_limits["business"]["perDay"] == 100_000


def test_a_catalog_without_the_holder_name_or_any_postal_code_keeps_the_checks_from_before(rules_copy):
    """A custom catalog made before these entries existed: holder names up to 120 characters (not ``text``'s
    40), and a card's postal code still checked (3 to 10 letters, digits, spaces or hyphens)."""
    from types import SimpleNamespace

    from linx_core.services import customers

    catalog = rules_copy / "catalog.yaml"
    replace(catalog, "  anyPostalCode: {maxLength: 10, pattern: '[A-Za-z0-9 -]{3,10}'}\n", "")
    replace(catalog, "  holderName: {maxLength: 120}\n", "")
    rt = SimpleNamespace(rules=load_rules(rules_copy))
    assert "holderName" not in rt.rules.catalog["profileForm"]
    assert customers.max_length(rt, "holderName") == 120
    assert customers.max_length(rt, "anyPostalCode") == 10
    assert customers.matches(rt, "anyPostalCode", "K1A 0B1") and customers.matches(rt, "anyPostalCode", "90210")
    assert not customers.matches(rt, "anyPostalCode", "<script>") and not customers.matches(rt, "anyPostalCode", "1")
    assert customers.max_length(rt, "firstName") == 40


def test_the_shipped_personal_parameters_are_flagged():
    rules = load_rules(default_rules_dir())
    personal = {name for name, spec in rules.parameters.items() if spec.get("personal")}
    assert personal == {"phoneNumber", "email", "firstName", "lastName"}


@pytest.mark.parametrize("value, fragment", [("maybe", "true or false"), ("1", "true or false")])
def test_a_personal_flag_that_is_not_a_boolean(rules_copy, value, fragment):
    parameters = rules_copy / "parameters.yaml"
    replace(parameters, "  lastName:\n    type: string\n    personal: true\n",
            f"  lastName:\n    type: string\n    personal: {value}\n")
    assert_one_problem(rules_copy, f"parameters.yaml:{line_of(parameters, f'personal: {value}')}: "
                       "parameters.lastName.personal", fragment)


def test_a_contact_parameter_cannot_be_declared_not_personal(rules_copy):
    parameters = rules_copy / "parameters.yaml"
    replace(parameters, "  phoneNumber:\n    type: phone\n    personal: true\n",
            "  phoneNumber:\n    type: phone\n    personal: false\n")
    assert_one_problem(rules_copy, f"parameters.yaml:{line_of(parameters, 'personal: false')}: "
                       "parameters.phoneNumber.personal", "always personal")


def test_the_per_parameter_set_schemas_are_kept_in_a_bounded_cache():
    from itertools import combinations

    from linx_core.rules import book

    rules = load_rules(default_rules_dir())
    names = sorted(rules.parameters)[:12]
    sets = [dict.fromkeys(combo, "x") for size in (1, 2, 3) for combo in combinations(names, size)]
    assert len(sets) > book.PART_LOADERS
    for params in sets:
        rules._part_loader(params)
    assert rules._loaders.parts.cache_info().currsize == book.PART_LOADERS
    assert rules._part_loader(sets[-1]) is rules._part_loader(dict(sets[-1]))  # the same set: the same schema
