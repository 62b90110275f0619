"""``gateway_app.api.render``: a response is its schema's dump, so nothing the OpenAPI document does not show is
sent."""
import copy
import datetime as dt
import threading

import jsonschema_rs
import pytest
from marshmallow import fields

from gateway_app.api import render
from gateway_app.api.schemas import Out, WorkflowOut
from linx_core import clock

from .journeys import api_for, body, create, freeze, rail_runtime, run, to_confirmation

TUESDAY = dt.datetime(2026, 2, 3, 15, 0, tzinfo=dt.UTC)


class ThingOut(Out):
    name = fields.String()
    createdAt = fields.String(attribute="created_at")


@pytest.fixture(autouse=True)
def real_clock_afterwards():
    yield
    clock.set_clock(None)


# -- the helper ----------------------------------------------------------------------------------


def test_a_key_the_schema_does_not_declare_is_dropped():
    assert render.dump(ThingOut, {"name": "a", "created_at": "now", "secret": "s3cret", "createdAt": "x"}) == {
        "name": "a", "createdAt": "now"}


def test_a_view_adds_attributes_and_what_neither_has_is_left_out():
    class Row:
        name = "row"
        token_hash = "never sent"

    assert render.dump(ThingOut, render.View(Row(), created_at="then", secret="no")) == {
        "name": "row", "createdAt": "then"}
    assert render.dump(ThingOut, render.View(Row())) == {"name": "row"}


def test_a_schema_is_made_once_per_thread():
    mine = render.schema(ThingOut)
    assert render.schema(ThingOut) is mine
    theirs = []
    thread = threading.Thread(target=lambda: theirs.append(render.schema(ThingOut)))
    thread.start()
    thread.join()
    assert theirs[0] is not mine and isinstance(theirs[0], ThingOut)


def test_the_context_is_the_dumps_own():
    class Word(fields.String):
        def _serialize(self, value, attr, obj, **kwargs):
            return render.context()["word"]

    class WordOut(Out):
        name = Word()

    assert render.dump(WordOut, {"name": "x"}, word="one") == {"name": "one"}
    assert render.dump(WordOut, {"name": "x"}, word="two") == {"name": "two"}
    with pytest.raises(LookupError):
        render.context()


# -- every response agrees with the document, strictly ------------------------------------------


def strict(document, schema):
    """``schema`` from the OpenAPI document as a JSON Schema that refuses a property it does not declare."""
    if "$ref" in schema:
        return strict(document, document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]])
    schema = copy.deepcopy(schema)
    if schema.pop("nullable", False) and "type" in schema:
        schema["type"] = [schema["type"], "null"]
    if "properties" in schema:
        schema["properties"] = {k: strict(document, v) for k, v in schema["properties"].items()}
        schema["additionalProperties"] = False
    if "items" in schema:
        schema["items"] = strict(document, schema["items"])
    return schema


def response_schema(document, path, method, status):
    content = document["paths"][path][method]["responses"][str(status)]["content"]["application/json"]
    return strict(document, content["schema"])


def agrees(document, path, method, response):
    schema = response_schema(document, path, method, response.status_code)
    errors = [str(e) for e in jsonschema_rs.validator_for(schema).iter_errors(response.get_json())]
    assert not errors, (path, method, errors)


def test_the_check_itself_refuses_a_field_the_document_does_not_show(api):
    document = api.client.get("/v2/openapi.json").get_json()
    schema = response_schema(document, "/v2/linx/workflows/{workflowId}", "get", 200)
    assert schema["additionalProperties"] is False
    assert not jsonschema_rs.validator_for(schema).is_valid({"id": "x", "passcodeHash": "abc"})
    assert set(schema["properties"]) == set(WorkflowOut._declared_fields)


def test_every_workflow_transaction_and_error_response_is_what_the_document_shows(rt, demo, tmp_path):
    freeze(TUESDAY)
    runtime = rail_runtime(rt, tmp_path)
    api = api_for(runtime, demo[1])
    document = api.client.get("/v2/openapi.json").get_json()
    created = api.create(None, raw=body(phone="+16475550601"))
    assert created.status_code == 201, created.get_json()
    agrees(document, "/v2/linx/workflows", "post", created)
    workflow_id = created.get_json()["id"]
    for path in (f"/v2/linx/workflows/{workflow_id}", f"/v2/linx/workflows/{workflow_id}/notifications/history",
                 "/v2/linx/workflows"):
        response = api.get(path)
        assert response.status_code == 200
        agrees(document, path.replace(workflow_id, "{workflowId}"), "get", response)
    tx = to_confirmation(runtime, workflow_id)
    run(runtime)
    for path in (f"/v2/transactions/{tx.id}", f"/v2/transactions/{tx.id}/status"):
        response = api.get(path)
        assert response.status_code == 200
        agrees(document, path.replace(str(tx.id), "{transactionId}"), "get", response)
    other = create(api, body(phone="+16475550602"))
    cancelled = api.client.post(f"/v2/linx/workflows/{other}/cancel", headers=api.headers())
    assert cancelled.status_code == 200
    agrees(document, "/v2/linx/workflows/{workflowId}/cancel", "post", cancelled)
    refused = api.get("/v2/linx/workflows", query_string={"bogus": "1"})
    assert refused.status_code == 400
    agrees(document, "/v2/linx/workflows", "get", refused)
    again = api.client.post(f"/v2/linx/workflows/{other}/cancel", headers=api.headers())
    assert again.status_code == 409
    agrees(document, "/v2/linx/workflows/{workflowId}/cancel", "post", again)


# -- the JSON text (orjson) ----------------------------------------------------------------------


class Loose(Out):
    when = fields.Raw()
    amount = fields.Raw()
    name = fields.Raw()
    big = fields.Raw()


@pytest.mark.parametrize("debug", [False, True])
def test_the_json_text_means_what_flasks_provider_writes(app, debug):
    import decimal
    import json
    import uuid

    app.debug = debug
    data = {"when": dt.datetime(2026, 2, 3, 15, 0, tzinfo=dt.UTC), "amount": decimal.Decimal("256.25"),
            "name": {"z": "Zoë ✓", "a": [uuid.UUID(int=7), 1.5, None, True]}, "big": 2 ** 70}
    for sent in (data, dict(data, big=1)):
        with app.test_request_context():
            ours = render.render(Loose, sent, 201)
            flasks = app.json.response(render.dump(Loose, sent))
        assert ours.status_code == 201 and ours.mimetype == "application/json"
        assert json.loads(ours.get_data()) == json.loads(flasks.get_data())
        assert list(json.loads(ours.get_data())) == list(json.loads(flasks.get_data()))  # keys in Flask's order
        assert ours.get_data().endswith(b"\n")
        if debug:
            assert ours.get_data() == flasks.get_data()  # indented by Flask itself
