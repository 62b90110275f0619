"""Templates: versioned workflow definitions checked by the workflow rules, and workflows made from them."""
import json

from linx_core.demo import BA_ACCOUNT_ID
from linx_core.store.models import Event, Template, Workflow

from .conftest import Api


def template_body(**overrides):
    body = {
        "name": "rebate-payout", "title": "Your rebate", "description": "Pay a rebate to a new customer's card.",
        "steps": [{"name": n} for n in ("notification", "customer-account", "financial-account", "move-money")],
        "parameters": {"channel": "SMS", "introductoryMessage": "Your rebate", "financialAccountSubType": "DEBIT",
                       "transactionType": "SEND", "solution": "push-to-card", "baFinancialAccountId": BA_ACCOUNT_ID,
                       "currency": "USD", "priority": "IMMEDIATE", "paymentReasonId": "payment-of-rebates"},
        "overridable": ["introductoryMessage"],
        "expireIn": 3,
        "passcode": False,
    }
    body.update(overrides)
    return body


def post(api, path, body=None, method="post", headers=None):
    call = getattr(api.client, method)
    kwargs = {"headers": api.headers(headers)}
    if body is not None:
        kwargs.update(data=json.dumps(body), content_type="application/json")
    return call(path, **kwargs)


def make(api, **overrides):
    response = post(api, "/v2/linx/templates", template_body(**overrides))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def errors(response):
    return {(e["path"], e["errorCode"]) for e in response.get_json()["errors"]}


def test_a_template_is_created_active_at_version_1_with_its_presets(api):
    made = make(api)
    assert (made["name"], made["version"], made["status"]) == ("rebate-payout", 1, "ACTIVE")
    assert made["steps"][0] == {"name": "notification"} and made["expireIn"] == 3 and made["passcode"] is False
    assert made["parameters"]["channel"] == "SMS" and "phoneNumber" not in made["parameters"]
    shown = api.get(f"/v2/linx/templates/{made['id']}").get_json()
    assert shown == made
    event = Event.get(Event.type == "linx.template-updated")
    assert event.data["status"] == "ACTIVE" and event.data["previousStatus"] is None


def test_a_template_may_not_preset_a_per_customer_parameter(api):
    body = template_body()
    body["parameters"].update(phoneNumber="+16475550100", email="a@example.com")
    response = post(api, "/v2/linx/templates", body)
    assert response.status_code == 422
    assert {("parameters.phoneNumber", "PER_CUSTOMER_PARAMETER"),
            ("parameters.email", "PER_CUSTOMER_PARAMETER")} <= errors(response)
    assert Template.select().count() == 0


def test_a_preset_that_breaks_a_rule_is_refused_with_its_path(api):
    body = template_body()
    body["parameters"]["priority"] = "NEXT_DAY"  # push-to-card moves money immediately
    body["parameters"]["amount"] = "1.234"
    response = post(api, "/v2/linx/templates", body)
    assert response.status_code == 422
    paths = {path for path, _ in errors(response)}
    assert {"parameters.priority", "parameters.amount"} <= paths
    wrong_steps = post(api, "/v2/linx/templates", template_body(steps=[{"name": "move-money"}]))
    assert wrong_steps.status_code == 422 and ("steps[0]", "NOTIFICATION_FIRST") in errors(wrong_steps)


def test_missing_per_customer_parameters_do_not_fault_a_template_but_a_malformed_one_is_400(api):
    assert make(api, name="no-phone-yet")["status"] == "ACTIVE"  # channel SMS needs a phone: each workflow gives it
    bad = post(api, "/v2/linx/templates", template_body(name="Bad Name!", shoeSize=9))
    assert bad.status_code == 400 and ("shoeSize", "UNKNOWN_FIELD") in errors(bad)
    bad_name = post(api, "/v2/linx/templates", template_body(name="Bad Name!"))
    assert bad_name.status_code == 422 and ("name", "INVALID_NAME") in errors(bad_name)
    not_preset = post(api, "/v2/linx/templates", template_body(overridable=["amount"]))
    assert not_preset.status_code == 422 and ("overridable[0]", "NOT_A_PRESET") in errors(not_preset)
    assert post(api, "/v2/linx/templates", ["x"]).status_code == 400


def test_a_name_is_unique_until_its_template_is_deleted(api):
    first = make(api)
    again = post(api, "/v2/linx/templates", template_body())
    assert again.status_code == 409 and again.get_json()["errorCode"] == "TEMPLATE_NAME_TAKEN"
    deleted = post(api, f"/v2/linx/templates/{first['id']}", method="delete")
    assert deleted.status_code == 200 and deleted.get_json()["status"] == "DELETED"
    second = make(api)
    assert second["id"] != first["id"]
    listed = api.get("/v2/linx/templates").get_json()
    assert [t["id"] for t in listed["content"]] == [second["id"]]
    assert api.get("/v2/linx/templates?status=DELETED").get_json()["content"][0]["id"] == first["id"]


def test_put_writes_a_new_version_and_the_old_ones_stay_readable(api):
    made = make(api)
    revised = post(api, f"/v2/linx/templates/{made['id']}", template_body(title="Your rebate, v2"), method="put")
    assert revised.status_code == 200, revised.get_json()
    assert (revised.get_json()["version"], revised.get_json()["title"]) == (2, "Your rebate, v2")
    versions = api.get(f"/v2/linx/templates/{made['id']}/versions").get_json()["content"]
    assert [(v["version"], v["title"]) for v in versions] == [(1, "Your rebate"), (2, "Your rebate, v2")]
    assert api.get(f"/v2/linx/templates/{made['id']}/versions/1").get_json()["title"] == "Your rebate"
    assert api.get(f"/v2/linx/templates/{made['id']}/versions/3").status_code == 404
    assert api.get(f"/v2/linx/templates/{made['id']}/versions/x").status_code == 404
    renamed = post(api, f"/v2/linx/templates/{made['id']}", template_body(name="other"), method="put")
    assert renamed.status_code == 422 and ("name", "NAME_IMMUTABLE") in errors(renamed)


def test_the_status_moves_as_its_lifecycle_says(api):
    made = make(api)
    tid = made["id"]
    assert post(api, f"/v2/linx/templates/{tid}/suspend").get_json()["status"] == "SUSPENDED"
    assert post(api, f"/v2/linx/templates/{tid}/suspend").status_code == 409
    assert post(api, f"/v2/linx/templates/{tid}/archive").get_json()["status"] == "ARCHIVED"
    assert post(api, f"/v2/linx/templates/{tid}/activate").get_json()["status"] == "ACTIVE"
    assert post(api, f"/v2/linx/templates/{tid}", method="delete").get_json()["status"] == "DELETED"
    refused = post(api, f"/v2/linx/templates/{tid}/activate")
    assert refused.status_code == 409 and refused.get_json()["errorCode"] == "TEMPLATE_DELETED"
    statuses = [e.data["status"] for e in Event.select().where(Event.type == "linx.template-updated")
                .order_by(Event.created_at)]
    assert statuses == ["ACTIVE", "SUSPENDED", "ARCHIVED", "ACTIVE", "DELETED"]


def test_a_workflow_from_a_template_merges_the_presets_with_the_per_customer_part(api):
    made = make(api)
    response = api.create({"templateName": "rebate-payout",
                           "parameters": {"phoneNumber": "+16475550111", "amount": "25.5"}})
    assert response.status_code == 201, response.get_json()
    workflow = response.get_json()
    assert (workflow["templateId"], workflow["templateVersion"], workflow["batchId"]) == (made["id"], 1, None)
    assert workflow["title"] == "Your rebate" and workflow["parameters"]["amount"] == "25.50"
    assert workflow["parameters"]["solution"] == "push-to-card" and workflow["passcodeRequired"] is False
    assert [s["name"] for s in workflow["steps"]] == ["notification", "customer-account", "financial-account",
                                                      "move-money"]
    post(api, f"/v2/linx/templates/{made['id']}", template_body(title="Second"), method="put")
    by_id = api.create({"templateId": made["id"], "title": "For Jane",
                        "parameters": {"phoneNumber": "+16475550112", "amount": 10,
                                       "introductoryMessage": "Hello Jane"}})
    assert by_id.status_code == 201, by_id.get_json()
    assert (by_id.get_json()["templateVersion"], by_id.get_json()["title"]) == (2, "For Jane")
    found = api.get(f"/v2/linx/workflows?templateId={made['id']}").get_json()
    assert found["totalElements"] == 2
    assert api.get("/v2/linx/workflows?templateId=nope").status_code == 400


def test_a_workflow_may_not_override_a_preset_unless_it_is_overridable(api):
    make(api)
    response = api.create({"templateName": "rebate-payout",
                           "parameters": {"phoneNumber": "+16475550111", "amount": 5, "currency": "CAD"}})
    assert response.status_code == 422 and errors(response) == {("parameters.currency", "NOT_OVERRIDABLE")}
    assert Workflow.select().count() == 0
    missing = api.create({"templateName": "rebate-payout", "parameters": {"amount": 5}})
    assert missing.status_code == 422 and "parameters.phoneNumber" in {p for p, _ in errors(missing)}
    both = api.create({"templateName": "rebate-payout", "templateId": "x", "parameters": {}})
    assert both.status_code == 400
    with_steps = api.create({"templateName": "rebate-payout", "steps": [], "parameters": {}})
    assert with_steps.status_code == 400 and ("steps", "SET_BY_TEMPLATE") in errors(with_steps)


def test_only_an_active_template_makes_workflows(api):
    made = make(api)
    post(api, f"/v2/linx/templates/{made['id']}/suspend")
    body = {"templateId": made["id"], "parameters": {"phoneNumber": "+16475550111", "amount": 5}}
    response = api.create(body)
    assert response.status_code == 422 and errors(response) == {("templateId", "TEMPLATE_SUSPENDED")}
    unknown = api.create({"templateName": "nope", "parameters": {}})
    assert unknown.status_code == 422 and errors(unknown) == {("templateName", "TEMPLATE_NOT_FOUND")}


def test_another_business_never_sees_or_uses_a_template(api, client, other):
    made = make(api)
    them = Api(client, other["key"])
    for path in (f"/v2/linx/templates/{made['id']}", f"/v2/linx/templates/{made['id']}/versions",
                 f"/v2/linx/templates/{made['id']}/versions/1"):
        assert them.get(path).status_code == 404
    assert post(them, f"/v2/linx/templates/{made['id']}/suspend").status_code == 404
    assert post(them, f"/v2/linx/templates/{made['id']}", template_body(), method="put").status_code == 404
    assert post(them, f"/v2/linx/templates/{made['id']}", method="delete").status_code == 404
    assert them.get("/v2/linx/templates").get_json()["totalElements"] == 0
    used = them.create({"templateId": made["id"], "parameters": {"phoneNumber": "+16475550111", "amount": 5}})
    assert used.status_code == 422 and errors(used) == {("templateId", "TEMPLATE_NOT_FOUND")}
    assert make(them)["name"] == "rebate-payout"  # names are per business


def test_the_openapi_document_shows_the_template_routes(client):
    paths = client.get("/v2/openapi.json").get_json()["paths"]
    for path in ("/v2/linx/templates", "/v2/linx/templates/{templateId}", "/v2/linx/templates/{templateId}/suspend",
                 "/v2/linx/templates/{templateId}/versions/{version}"):
        assert path in paths
