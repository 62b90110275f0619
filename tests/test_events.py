"""The event type registry: each type registered once with its payload schema, and everything reads it."""
import uuid

import pytest
from marshmallow import Schema, fields

from gateway_app import create_app
from linx_core import events, hookimpl
from linx_core.events import CORE_EVENT_TYPES, EventType, EventTypes, UnknownEventType
from linx_core.plugins import make_manager
from linx_core.runtime import Runtime
from linx_core.services import businesses, journey
from linx_core.store import db
from linx_core.store.models import Customer, Event

from .conftest import Api
from .drive import created, link_token, seed
from .journeys import BANK_FORM, api_for, body, create, rail_runtime, run, to_confirmation
from .test_templates import template_body


class ScoreChanged(Schema):
    score = fields.Integer(required=True)


SCORE = EventType("acme.score-changed", "A customer's score changed.", ScoreChanged)


class ScorePlugin:
    @hookimpl
    def linx_event_types(self):
        return [SCORE]

    @hookimpl
    def linx_openapi(self, spec, errors):
        spec.path(path="/v2/acme/scores", operations={"get": {"summary": "Scores", "responses": errors(401)}})


def test_recording_an_unregistered_type_is_refused_and_writes_nothing(rt, demo):
    before = Event.select().count()
    with pytest.raises(UnknownEventType, match="acme.nothing"):
        with db.atomic():
            events.record(rt, demo[0].id, "acme.nothing", uuid.uuid4(), {})
    assert Event.select().count() == before


def test_a_payload_whose_fields_do_not_match_the_schema_is_refused_under_tests(rt, demo):
    with pytest.raises(ValueError, match="attempts"):
        with db.atomic():
            events.record(rt, demo[0].id, "linx.workflow-locked", uuid.uuid4(),
                          {"workflowId": str(uuid.uuid4()), "attempts": "five", "status": "ACTIVE"})


def test_a_name_registered_twice_differently_is_refused():
    registry = EventTypes(CORE_EVENT_TYPES)
    registry.register(CORE_EVENT_TYPES[0])  # the same registration again is harmless
    with pytest.raises(ValueError, match="twice"):
        registry.register(EventType(CORE_EVENT_TYPES[0].name, "Something else.", ScoreChanged))


def test_a_plugin_registers_its_event_type_and_documents_its_paths_and_the_api_accepts_the_type(rt, demo):
    plugins = make_manager(load_entrypoints=False, extra=[ScorePlugin()])
    runtime = Runtime(rt.settings, rules=rt.rules, database=rt.database, plugins=plugins)
    assert runtime.event_types.names[-1] == "acme.score-changed"
    assert "acme.score-changed" not in rt.event_types
    client = create_app(runtime=runtime).test_client()
    api = Api(client, demo[1])
    with db.atomic():
        recorded = events.record(runtime, demo[0].id, "acme.score-changed", uuid.uuid4(), {"score": 7})
    listed = api.get("/v2/events", query_string={"type": "acme.score-changed"}).get_json()
    assert [e["id"] for e in listed["content"]] == [str(recorded.id)]
    subscribed = client.post("/v2/push-notifications", headers=api.headers(), json={
        "url": "https://93.184.216.34/hook", "eventTypes": ["acme.score-changed"]})
    assert subscribed.status_code in (201, 422), subscribed.get_json()
    if subscribed.status_code == 422:  # only the URL may be refused here, never the type
        assert {e["path"] for e in subscribed.get_json()["errors"]} == {"url"}
    document = client.get("/v2/openapi.json").get_json()
    assert document["paths"]["/v2/acme/scores"]["get"]["responses"]["401"]["content"]  # linx_openapi's addition
    assert "acme.score-changed" in document["components"]["schemas"]["Event"]["properties"]["type"]["enum"]
    assert "acme.score-changed" in document["components"]["schemas"]["PushNotificationCreateRequest"][
        "properties"]["eventTypes"]["description"]
    refused = create_app(runtime=rt).test_client().get(
        "/v2/events", query_string={"type": "acme.score-changed"}, headers=api.headers())
    assert refused.status_code == 400


def test_every_event_a_journey_records_matches_its_schema_strictly(rt, api, demo, tmp_path):
    """Real flows (create, each step, confirm, settle, extend, resend, lockout, cancel, recover) against the declared
    payloads."""
    runtime = rail_runtime(rt, tmp_path)
    to_confirmation(runtime, create(api_for(runtime, demo[1]), body()))
    to_confirmation(runtime, created(api, seed(2, phoneNumber="+14165550199"))["id"])  # a new customer, a new card
    run(runtime)
    locked = created(api, seed(0))
    for _ in range(5):
        journey.check_passcode(rt, locked["id"], "wrong")
    api.client.post(f"/v2/linx/workflows/{locked['id']}/extend", json={"expireInHours": 48}, headers=api.headers())
    api.client.post(f"/v2/linx/workflows/{locked['id']}/resend", headers=api.headers())
    link_token(rt, locked["id"])
    api.client.post(f"/v2/linx/workflows/{locked['id']}/cancel", headers=api.headers())
    api.client.post(f"/v2/linx/workflows/{locked['id']}/recover", headers=api.headers())
    enhance = seed(1, profileFields=["dateOfBirth"], firstName="Jonathan", lastName="Doe")
    enhance["parameters"].pop("financialAccountSubType", None)
    enhance["steps"] = [{"name": n} for n in ("notification", "lookup-profile", "enhance-profile")]
    enhanced = created(api, enhance)["id"]
    run(runtime)
    journey.submit(runtime, uuid.UUID(enhanced), 1, "lookup-profile", {})
    journey.submit(runtime, uuid.UUID(enhanced), 2, "enhance-profile", {
        "firstName": "Jonathan", "lastName": "Doe", "dateOfBirth": "1990-01-31"})  # customer.updated
    businesses.issue_key(rt, demo[0], "ci", read_only=True)
    businesses.revoke_key(rt, demo[0], "ci")
    quiet = Customer.create(business=demo[0], first_name="Quinn", last_name="Quiet", phone_number="+14165550111")
    created(api, seed(0, phoneNumber="+14165550111"))  # open: cancelled by the erasure
    erased = api.client.post(f"/v2/customers/{quiet.id}/erase", headers=api.headers())
    assert erased.status_code == 200, erased.get_json()
    debit = created(api, seed(0, phoneNumber="+14165550122", financialAccountSubType="CHECKING",
                              documents=[{"documentId": "ach-debit-authorization"}]) | {"steps": [
        {"name": s} for s in ("notification", "customer-account", "financial-account", "document-acceptance")]})
    to_confirmation(rt, debit["id"], account_form=BANK_FORM)
    [authorization] = api.get(f"/v2/authorizations?workflowId={debit['id']}").get_json()["content"]
    assert api.client.post(f"/v2/authorizations/{authorization['id']}/revoke",
                           headers=api.headers()).status_code == 200
    made = api.client.post("/v2/linx/templates", json=template_body(), headers=api.headers()).get_json()
    api.client.post("/v2/linx/batches", json={"templateId": made["id"], "entries": [
        {"parameters": {"phoneNumber": "+16475550177", "amount": "5"}}]},
        headers=api.headers({"Idempotency-Key": "events-batch"}))
    run(runtime)
    api.client.post(f"/v2/linx/templates/{made['id']}/suspend", headers=api.headers())
    seen = {}
    for event in Event.select():
        assert event.type in rt.event_types
        assert rt.event_types[event.type].problems(event.data, strict=True) == {}, (event.type, event.data)
        seen[event.type] = seen.get(event.type, 0) + 1
    assert set(seen) >= {t.name for t in CORE_EVENT_TYPES}, set(seen)
