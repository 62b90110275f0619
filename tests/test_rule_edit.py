"""An admin edits the rule files; the API follows, with no code change.

Each test copies ``rules/`` to a temporary folder, builds an app on the copy, edits
the YAML there (load, change, dump), builds a second app on the edited copy, and
shows the same request treated differently. Both apps share the ``rt`` fixture's
database (SQLite and PostgreSQL) and its demo data.
"""
import json
import shutil

import pytest
import yaml

from gateway_app import create_app
from linx_core.runtime import Runtime

from .conftest import ROOT, Api, seed_examples
from .conftest import test_settings as make_settings


@pytest.fixture
def rules_copy(tmp_path):
    target = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


@pytest.fixture
def api_on(rt, demo):
    """``api_on(rules_dir)``: an :class:`Api` as Demo Co, on an app whose rules are read from ``rules_dir``."""

    def build(rules_dir):
        settings = make_settings(database_url=rt.settings.database_url, rules_dir=str(rules_dir))
        app = create_app(runtime=Runtime(settings, database=rt.database))
        app.config["TESTING"] = True
        return Api(app.test_client(), demo[1])

    return build


def edit(directory, filename, change):
    """Load ``filename`` from ``directory``, let ``change`` mutate it, and write it back."""
    path = directory / filename
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))


def seed(index):
    return json.loads(seed_examples()[index])


def error_paths(response):
    return [e["path"] for e in response.get_json()["errors"]]


def test_a_copy_of_the_rules_behaves_like_the_shipped_ones(api_on, rules_copy):
    api = api_on(rules_copy)
    for index in range(4):
        response = api.create(None, raw=seed_examples()[index])
        assert response.status_code == 201, response.get_json()


def test_making_introductory_message_required(api_on, rules_copy):
    without_message = seed(0)
    del without_message["parameters"]["introductoryMessage"]
    before = api_on(rules_copy)
    assert before.create(without_message).status_code == 201

    def require_message(data):
        notification = data["steps"]["notification"]["parameters"]
        notification["optional"].remove("introductoryMessage")
        notification["required"].append("introductoryMessage")

    edit(rules_copy, "steps.yaml", require_message)
    after = api_on(rules_copy)
    response = after.create(without_message)
    assert response.status_code == 422, response.get_json()
    assert error_paths(response) == ["parameters.introductoryMessage"]
    assert response.get_json()["errors"][0]["errorCode"] == "REQUIRED_PARAMETER"
    # the seed example, which has the message, is still accepted
    assert after.create(None, raw=seed_examples()[0]).status_code == 201
    # the app built before the edit keeps the rules it started with
    assert before.create(without_message).status_code == 201


def test_adding_a_payment_reason(api_on, rules_copy):
    gift = seed(3)
    gift["parameters"]["paymentReasonId"] = "gift-cards"
    before = api_on(rules_copy)
    response = before.create(gift)
    assert response.status_code == 422, response.get_json()
    assert error_paths(response) == ["parameters.paymentReasonId"]

    edit(rules_copy, "catalog.yaml",
         lambda data: data["paymentReasons"].update({"gift-cards": {"description": "Gift card payouts"}}))
    response = api_on(rules_copy).create(gift)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["parameters"]["paymentReasonId"] == "gift-cards"


def _resolve(spec, schema):
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = spec["components"]["schemas"][name]
    return schema


def payment_reasons_in_openapi(api):
    response = api.client.get("/v2/openapi.json")
    assert response.status_code == 200
    spec = response.get_json()
    request = spec["paths"]["/v2/linx/workflows"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    request = request["oneOf"][0] if "oneOf" in request else request  # the steps' form, not the template's
    parameters = _resolve(spec, _resolve(spec, request)["properties"]["parameters"])
    return _resolve(spec, parameters["properties"]["paymentReasonId"])["enum"]


def test_the_openapi_document_lists_a_new_payment_reason(api_on, rules_copy):
    before = payment_reasons_in_openapi(api_on(rules_copy))
    assert "payment-of-rebates" in before and "gift-cards" not in before

    edit(rules_copy, "catalog.yaml",
         lambda data: data["paymentReasons"].update({"gift-cards": {"description": "Gift card payouts"}}))
    after = payment_reasons_in_openapi(api_on(rules_copy))
    assert after == before + ["gift-cards"]


def test_lowering_a_solution_limit(api_on, rules_copy):
    before = api_on(rules_copy)
    assert before.create(None, raw=seed_examples()[3]).status_code == 201

    # the limit comes from the push-to-card plugin; the admin's override in solutions.yaml lowers it
    (rules_copy / "solutions.yaml").write_text(yaml.safe_dump(
        {"solutions": {"push-to-card": {"limits": {"USD": {"max": "100.00"}}}}}))
    after = api_on(rules_copy)
    response = after.create(None, raw=seed_examples()[3])
    assert response.status_code == 422, response.get_json()
    assert error_paths(response) == ["parameters.amount"]
    error = response.get_json()["errors"][0]
    assert error["errorCode"] == "AMOUNT_OUT_OF_LIMITS"
    assert "100.00" in error["message"]
    # an amount within the new limit still goes through
    small = seed(3)
    small["parameters"]["amount"] = 99.99
    assert after.create(small).status_code == 201
