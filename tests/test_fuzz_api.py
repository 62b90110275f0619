"""Schemathesis against the app's own ``/v2/openapi.json``: every operation, positive and negative cases.

Each documented operation is a test per generation mode, run in process on the Flask app
(schemathesis's WSGI integration: no network) as Demo Co, on a database seeded with real
workflows (one with a settled transaction, one with a PENDING one), subscriptions, deliveries
and events, so that positive cases reach real resources half of the time and their answers are
checked too. The checks: no 5xx, and every answer matches the document (status code, content
type, body schema).

Inputs are derandomized, so CI sees the same cases on every run; ``LINX_FUZZ_RANDOM=1`` draws
new ones and ``LINX_FUZZ_EXAMPLES`` (default 50 per operation and mode) draws more.

The defects the first runs found (five routes missing from the document, an undocumented 400 for a
bad Idempotency-Key, a replayed ``secret: null`` the schema did not allow) are fixed; their
reproductions stay as tests at the end, and no failure is forgiven in the fuzz run. So are the gaps
in what the document stated (no maximum page size, no pattern for ``sort`` or the Idempotency-Key,
``type=`` on ``/v2/events`` silently meaning every type): the last tests check, value by value, that
the document and the server agree.
"""
import json
import os
import re
import socket
import uuid

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from gateway_app import create_app
from linx_core import store
from linx_core.runtime import Runtime
from linx_core.store.models import (
    Authorization,
    Customer,
    CustomerFinancialAccount,
    Event,
    Transaction,
    WebhookDelivery,
    Workflow,
)

from .conftest import Api, seed_examples
from .conftest import test_settings as make_settings
from .journeys import BANK_FORM, body, create, rail_runtime, run, to_confirmation

EXAMPLES = int(os.environ.get("LINX_FUZZ_EXAMPLES", "50"))  # per operation and mode
MIN_CASES = 1000  # per database
DERANDOMIZE = os.environ.get("LINX_FUZZ_RANDOM") != "1"
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
MODES = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
PUBLIC_IP = "93.184.216.34"  # what every receiver host "resolves" to here: no DNS query leaves the test


API_BLUEPRINTS = ("workflows", "push_notifications", "events", "transactions", "customers", "authorizations",
                  "templates", "batches", "audit_events")


def _operations():
    """The documented operations, read from the document the app serves, and the business API's routes
    as ``METHOD /path/{}`` (at collection time)."""
    bound = store.db.obj
    runtime = Runtime(make_settings(database_url="sqlite:///:memory:"))
    try:
        app = create_app(runtime=runtime)
        document = app.test_client().get("/v2/openapi.json").get_json()
    finally:
        if bound is not None:
            store.bind(bound)
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint.split(".")[0] in API_BLUEPRINTS:
            path = re.sub(r"<[^>]+>", "{}", rule.rule)
            routes |= {f"{method} {path}" for method in rule.methods - {"HEAD", "OPTIONS"}}
    operations = [f"{method.upper()} {path}" for path, item in document["paths"].items() for method in item
                  if method in ("get", "post", "put", "patch", "delete")]
    return operations, routes


OPERATIONS, API_ROUTES = _operations()


# -- defects the fuzzing found (fixed); their reproductions are the tests at the end ----------------

# Operations that read an Idempotency-Key but do not document the 400 a malformed key gets.
IDEMPOTENT_WITHOUT_400 = {
    "POST /v2/push-notifications/{subscriptionId}/suspend",
    "POST /v2/push-notifications/{subscriptionId}/unsuspend",
    "POST /v2/push-notifications/{subscriptionId}/rotate-secret",
    "POST /v2/push-notifications/{subscriptionId}/events/{eventId}/redeliver",
    "POST /v2/transactions/{transactionId}/cancel",
}
# Operations whose answer shows a signing secret once, and null on an Idempotency-Key replay.
SECRET_ONCE = {
    "POST /v2/push-notifications",
    "POST /v2/push-notifications/{subscriptionId}/rotate-secret",
}
KNOWN = {
    "undocumented-400-idempotency-key": "a malformed Idempotency-Key gets 400, which the operation does not document",
    "secret-null-on-replay": "an Idempotency-Key replay answers \"secret\": null, which the document types as a "
                             "string",
}


def known_defect(label, failure, response):
    """No failure is forgiven: the defects the first runs found are fixed (their tests stay below)."""
    return None


def _error_paths(response):
    try:
        return [e.get("path") for e in json.loads(response.text).get("errors", [])]
    except (ValueError, AttributeError):
        return None


# -- the app and its data -------------------------------------------------------------------------


@pytest.fixture
def resolver(monkeypatch):
    """Receiver URLs resolve without DNS: IP literals as themselves, `.invalid` hosts not at all,
    any other name to a public address."""
    real = socket.getaddrinfo

    def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
        if isinstance(host, bytes):
            host = host.decode("ascii", "replace")
        try:
            return real(host, port, family, type, proto, flags | socket.AI_NUMERICHOST)
        except (socket.gaierror, UnicodeError, ValueError, TypeError):
            pass
        if not host or str(host).rstrip(".").endswith(".invalid"):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (PUBLIC_IP, port if isinstance(port, int) else 443))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.fixture
def world(rt, demo, tmp_path, resolver):
    """Demo Co's data on the fuzzed app: ``(app, headers, ids by path parameter name)``."""
    runtime = rail_runtime(rt, tmp_path)
    app = create_app(runtime=runtime)
    app.config["TESTING"] = True
    api = Api(app.test_client(), demo[1])

    workflows = [create(api, raw) for raw in seed_examples()]
    assert api.client.post(f"/v2/linx/workflows/{workflows[0]}/cancel", headers=api.headers()).status_code == 200
    assert api.client.post(f"/v2/linx/workflows/{workflows[0]}/archive", headers=api.headers()).status_code == 200
    settled = create(api, body(phone="+14165550188"))  # a second customer, with a card of her own
    to_confirmation(runtime, settled)
    run(runtime)
    pending = create(api, body(amount="12.5"))
    to_confirmation(runtime, pending)  # confirmed, its submission not yet run: PENDING, cancellable
    workflows += [settled, pending]

    subscriptions = []
    for url in ("https://hooks.example.com/linx", "https://other.example.com/hooks"):
        response = api.client.post("/v2/push-notifications", json={"url": url, "eventTypes": ["*"]},
                                   headers=api.headers())
        assert response.status_code == 201, response.get_json()
        subscriptions.append(response.get_json()["id"])
    assert api.client.post(f"/v2/push-notifications/{subscriptions[1]}/suspend",
                           headers=api.headers()).status_code == 200
    events = [str(e.id) for e in Event.select().where(Event.business == demo[0].id).limit(20)]
    for n, (event, outcome, status) in enumerate([(events[0], "FAILED", 500), (events[0], "SUCCEEDED", 200),
                                                  (events[1], "FAILED", None)], 1):
        WebhookDelivery.create(subscription=subscriptions[0], event=event, attempt=n, outcome=outcome,
                               http_status=status, error=None if status == 200 else "refused", duration_ms=12)
    transactions = [str(t.id) for t in Transaction.select().where(Transaction.business == demo[0].id)]
    assert len(transactions) == 2 and {t.status for t in Transaction.select()} >= {"PENDING"}
    assert Workflow.select().count() == 6
    authorizations = []
    for phone in ("+14165550177", "+14165550166"):  # two debit authorizations: one stays ACTIVE, one is REVOKED
        debit = dict(json.loads(seed_examples()[0]), steps=[{"name": s} for s in (
            "notification", "customer-account", "financial-account", "document-acceptance")])
        debit["parameters"].update(phoneNumber=phone, financialAccountSubType="CHECKING",
                                   documents=[{"documentId": "ach-debit-authorization"}])
        debit_id = create(api, json.dumps(debit))
        to_confirmation(runtime, debit_id, account_form=BANK_FORM)
        authorizations.append(str(Authorization.get(Authorization.workflow == debit_id).id))
    assert api.client.post(f"/v2/authorizations/{authorizations[1]}/revoke", headers=api.headers()).status_code == 200
    customers = [str(c.id) for c in Customer.select().where(Customer.business == demo[0].id)]
    accounts = [str(a.id) for a in CustomerFinancialAccount.select().where(
        CustomerFinancialAccount.business == demo[0].id)]
    assert len(customers) >= 1 and len(accounts) >= 2
    ids = {"workflowId": workflows, "subscriptionId": subscriptions, "eventId": events,
           "transactionId": transactions, "customerId": customers, "financialAccountId": accounts,
           "authorizationId": authorizations}
    return app, {"Authorization": f"Bearer {demo[1]}"}, ids


# -- the fuzz run ---------------------------------------------------------------------------------


def _fuzz_settings():
    return settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=DERANDOMIZE,
                    phases=[Phase.explicit, Phase.generate, Phase.shrink], print_blob=False,
                    suppress_health_check=list(HealthCheck))


@pytest.mark.system
@pytest.mark.parametrize("mode", MODES, ids=lambda m: m.value)
@pytest.mark.parametrize("label", OPERATIONS)
def test_fuzz(world, label, mode):
    app, headers, ids = world
    schema = schemathesis.openapi.from_wsgi("/v2/openapi.json", app)
    operation = schema.find_operation_by_label(label)
    assert operation is not None, label
    ran = []

    @_fuzz_settings()
    @given(case=operation.as_strategy(generation_mode=mode), pick=st.integers(min_value=-1, max_value=20))
    def check(case, pick):
        if mode is GenerationMode.POSITIVE and pick >= 0:  # half of the valid cases aim at a real resource
            for name in list(case.path_parameters or {}):
                if ids.get(name):
                    case.path_parameters[name] = ids[name][pick % len(ids[name])]
        case.headers = case.headers or {}
        case.headers.update(headers)
        response = case.call()
        ran.append(response.status_code)
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except FailureGroup as group:
            left = [f for f in group.exceptions if known_defect(label, f, response) is None]
            if left:
                raise FailureGroup(left, str(group)) from None

    check()
    TALLY[(world[0].extensions["linx"].settings.database_url.split(":")[0], label, mode.value)] = len(ran)
    # each test's floor adds up to MIN_CASES on each database (unless LINX_FUZZ_EXAMPLES asks for fewer)
    floor = min(EXAMPLES, -(-MIN_CASES // (len(OPERATIONS) * len(MODES))))
    assert len(ran) >= floor, f"{label} {mode.value}: only {len(ran)} cases ran"
    assert not [s for s in ran if s >= 500]


TALLY = {}


class _Summary:
    """Prints how many cases ran, per database, in pytest's closing summary."""

    def pytest_terminal_summary(self, terminalreporter):
        totals = {}
        for (database, _, _), count in TALLY.items():
            totals[database] = totals.get(database, 0) + count
        if totals:
            terminalreporter.write_line("schemathesis: " + ", ".join(
                f"{n} cases on {db}" for db, n in sorted(totals.items())))


@pytest.fixture(scope="module", autouse=True)
def _summary(request):
    manager = request.config.pluginmanager
    if not manager.has_plugin("linx-fuzz-summary"):
        manager.register(_Summary(), "linx-fuzz-summary")


@pytest.mark.system
@pytest.mark.parametrize("index", range(4))
def test_the_seed_examples_and_their_replays_answer_the_documented_schema(world, index):
    """Random bodies seldom pass the rules' cross-step checks, so the 201 is checked on the seeds themselves."""
    app, headers, _ = world
    operation = schemathesis.openapi.from_wsgi("/v2/openapi.json", app).find_operation_by_label(
        "POST /v2/linx/workflows")
    key = {"Idempotency-Key": "seed-" + uuid.uuid4().hex}
    for replay in (False, True):
        case = operation.Case(body=json.loads(seed_examples()[index]), headers={**headers, **key},
                              media_type="application/json")
        response = case.call()
        assert response.status_code == 201, response.text
        assert (response.headers.get("idempotent-replayed") == ["true"]) is replay
        case.validate_response(response, checks=CHECKS, headers=headers)


def _blank(label):
    return re.sub(r"\{[^}]+\}", "{}", label)


UNDOCUMENTED = set()


def test_every_documented_operation_exists():
    assert {_blank(label) for label in OPERATIONS} <= API_ROUTES


def test_the_routes_left_out_of_the_document_are_only_the_known_ones():
    assert API_ROUTES - {_blank(label) for label in OPERATIONS} == UNDOCUMENTED


def test_every_api_route_is_documented():
    assert {_blank(label) for label in OPERATIONS} == API_ROUTES


# -- the defects the fuzzing found, reproduced: fix one, then delete its test and its KNOWN entry ---


@pytest.mark.system
@pytest.mark.parametrize("label", sorted(IDEMPOTENT_WITHOUT_400))
def test_a_malformed_idempotency_key_gets_a_documented_answer(world, label):
    app, headers, ids = world
    operation = schemathesis.openapi.from_wsgi("/v2/openapi.json", app).find_operation_by_label(label)
    names = [name for name in ("subscriptionId", "eventId", "transactionId") if "{" + name + "}" in label]
    case = operation.Case(path_parameters={name: ids[name][0] for name in names},
                          headers={**headers, "Idempotency-Key": "bad\tkey"})
    response = case.call()
    assert response.status_code == 400
    case.validate_response(response, checks=CHECKS, headers=headers)


@pytest.mark.system
@pytest.mark.parametrize("label", sorted(SECRET_ONCE))
def test_an_idempotent_replay_matches_the_documented_schema(world, label):
    app, headers, ids = world
    operation = schemathesis.openapi.from_wsgi("/v2/openapi.json", app).find_operation_by_label(label)
    kwargs = {"headers": {**headers, "Idempotency-Key": "replay-" + uuid.uuid4().hex}}
    if "{subscriptionId}" in label:
        kwargs["path_parameters"] = {"subscriptionId": ids["subscriptionId"][0]}
    else:
        kwargs["body"] = {"url": "https://replay.example.com/hook", "eventTypes": ["*"]}
    first = operation.Case(**kwargs).call()
    assert first.status_code in (200, 201) and json.loads(first.text)["secret"].startswith("whsec_")
    case = operation.Case(**kwargs)
    replay = case.call()
    assert replay.headers.get("idempotent-replayed") == ["true"]
    case.validate_response(replay, checks=CHECKS, headers=headers)


# -- what the document states about its parameters is what the server enforces ---------------------


def _parameter(document, path, method, name):
    [found] = [p for p in document["paths"][path][method]["parameters"] if p["name"] == name]
    return found


def _agrees(schema, value):
    """Whether ``value`` satisfies a string ``schema``'s length and pattern, read as the document states them."""
    return (schema.get("minLength", 0) <= len(value) <= schema.get("maxLength", len(value))
            and re.fullmatch(schema.get("pattern", ".*"), value, re.DOTALL) is not None)


LISTS = ("/v2/linx/workflows", "/v2/push-notifications", "/v2/events",
         "/v2/push-notifications/{subscriptionId}/deliveries", "/v2/customers", "/v2/transactions",
         "/v2/authorizations")


def test_every_page_size_states_the_configured_maximum_and_the_server_holds_to_it(api, rt, resolver):
    document = api.client.get("/v2/openapi.json").get_json()
    maximum = rt.settings.page_size_max
    subscription = api.client.post("/v2/push-notifications", json={"url": "https://hooks.example.com/x",
                                                                    "eventTypes": ["*"]}, headers=api.headers())
    assert subscription.status_code == 201, subscription.get_json()
    for path in LISTS:
        schema = _parameter(document, path, "get", "size")["schema"]
        assert (schema["minimum"], schema["maximum"]) == (1, maximum), path
        url = path.replace("{subscriptionId}", subscription.get_json()["id"])
        assert api.get(url, query_string={"size": maximum}).status_code == 200, path
        refused = api.get(url, query_string={"size": maximum + 1})
        assert refused.status_code == 400 and refused.get_json()["errors"][0]["path"] == "query.size", path


@pytest.mark.parametrize("value", ["createdAt", "createdAt,asc", "title,desc", "status", "updatedAt,desc",
                                   "expireAt,asc", "", "createdAt,", ",desc", "title,up", "bogus", "title,asc,desc",
                                   "title,desc\n", "TITLE", " title"])
def test_the_sort_pattern_is_what_the_server_accepts(api, value):
    schema = _parameter(api.client.get("/v2/openapi.json").get_json(), "/v2/linx/workflows", "get",
                        "sort")["schema"]
    response = api.get("/v2/linx/workflows", query_string={"sort": value})
    assert response.status_code == (200 if _agrees(schema, value) else 400), response.get_json()
    if response.status_code == 400:
        assert [e["path"] for e in response.get_json()["errors"]] == ["query.sort"]


@pytest.mark.parametrize("key", ["abcdef", "a" * 255, "rebate-2026-0001", " ~!{}|", "key with spaces",
                                 "abcde", "a" * 256, "bad\tkey", "caf\u00e9-key", "line\x7fdel", ""])
def test_the_idempotency_key_schema_is_what_the_server_accepts(api, key):
    document = api.client.get("/v2/openapi.json").get_json()
    schemas = {json.dumps(p["schema"], sort_keys=True) for item in document["paths"].values()
               for operation in item.values() for p in operation.get("parameters", [])
               if p["name"] == "Idempotency-Key"}
    assert len(schemas) == 1, schemas  # one statement for every operation that takes a key
    schema = json.loads(schemas.pop())
    assert (schema["minLength"], schema["maxLength"]) == (6, 255)
    response = api.create(json.loads(seed_examples()[0]), headers={"Idempotency-Key": key})
    assert response.status_code == (201 if _agrees(schema, key) else 400), response.get_json()
    if response.status_code == 400:
        assert [e["path"] for e in response.get_json()["errors"]] == ["header.Idempotency-Key"]


@pytest.mark.parametrize("value", ["customer.status-updated", "customer.status-updated,transactions.status-changed",
                                   "", ",", "customer.status-updated,", "customer.status-updated,,linx.workflow-resent",
                                   "bogus", "customer.status-updatedX"])
def test_an_events_type_is_a_known_type_or_a_400_never_all_types(api, value):
    """``type=`` (empty) used to list every type; an empty filter is refused, as the document says."""
    parameter = _parameter(api.client.get("/v2/openapi.json").get_json(), "/v2/events", "get", "type")
    assert "empty value is refused" in parameter["description"]
    response = api.get("/v2/events", query_string={"type": value})
    assert response.status_code == (200 if _agrees(parameter["schema"], value) else 400), response.get_json()
    if response.status_code == 400:
        assert [e["path"] for e in response.get_json()["errors"]] == ["query.type"]
