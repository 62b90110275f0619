"""Random bodies never crash the validator or the API: each is accepted or refused with a path."""
import json
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from linx_core.errors import InvalidRequest, RuleViolation
from linx_core.rules import load_rules

from .conftest import seed_examples

BOOK = load_rules()
SEEDS = [json.loads(raw, parse_float=Decimal) for raw in seed_examples()]

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-10**20, max_value=10**20),
    st.decimals(allow_nan=False, allow_infinity=False, places=4),
    st.text(max_size=40), st.sampled_from(["SMS", "EMAIL", "ach", "wire", "push-to-card", "USD", "CAD", "DEBIT",
                                           "IMMEDIATE", "SAME_DAY", "+16471234567", "2", "-1", "1e9"]),
)
json_values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)), max_leaves=12)
keys = st.sampled_from(["title", "expireIn", "expireInHours", "customerMemo", "passcode", "parameters", "steps",
                        "bogus"])
param_keys = st.sampled_from(sorted(BOOK.parameters) + ["bogus"])
step_names = st.sampled_from(list(BOOK.steps) + ["bogus"])


@st.composite
def mutated_seed(draw):
    body = json.loads(json.dumps(draw(st.sampled_from(SEEDS)), default=str), parse_float=Decimal)
    for _ in range(draw(st.integers(1, 4))):
        action = draw(st.sampled_from(["top", "param", "delparam", "steps", "deltop"]))
        if action == "top":
            body[draw(keys)] = draw(json_values)
        elif action == "deltop" and body:
            body.pop(draw(st.sampled_from(sorted(body))), None)
        elif action == "param" and isinstance(body.get("parameters"), dict):
            body["parameters"][draw(param_keys)] = draw(json_values)
        elif action == "delparam" and isinstance(body.get("parameters"), dict) and body["parameters"]:
            body["parameters"].pop(draw(st.sampled_from(sorted(body["parameters"]))))
        elif action == "steps":
            body["steps"] = [{"name": n} for n in draw(st.lists(step_names, max_size=8))]
    return body


def _check(body):
    try:
        BOOK.validate_workflow(body)
    except (InvalidRequest, RuleViolation) as exc:
        assert exc.problems, "a refusal names at least one place"
        for problem in exc.problems:
            assert problem.path and problem.message and problem.code


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_seed())
def test_mutated_seed_bodies_are_accepted_or_refused_with_a_path(body):
    _check(body)


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_arbitrary_json_is_refused_cleanly(body):
    _check(body)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=mutated_seed())
def test_the_api_never_answers_5xx_to_a_mutated_body(api, body):
    response = api.create(body)
    assert response.status_code < 500, response.get_json()
    payload = response.get_json()
    if response.status_code >= 400:
        assert set(payload) == {"timestamp", "traceId", "message", "errorCode", "errors"}

