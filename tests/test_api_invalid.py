"""Invalid POST /v2/linx/workflows requests: each gets the right status, error body and path.

Every case starts from a seed example that is accepted verbatim (see test_seeds.py)
and breaks one thing. Structure faults (JSON, types, unknown or missing fields)
are 400; rule faults (rules/*.yaml and the data checks) are 422. No input is a 5xx.
"""
import copy
import datetime as dt
import json
import re
import uuid
from decimal import Decimal

import pytest

from linx_core.store import models

from .conftest import seed_examples

ERROR_KEYS = {"timestamp", "traceId", "message", "errorCode", "errors"}
PROBLEM_KEYS = {"path", "message", "errorCode"}
DROP = object()  # a parameter value meaning "remove this parameter"
JSON = "application/json"
ONE_MIB = 1_048_576


# -- building requests ----------------------------------------------------------------------


def seed_body(index):
    """Seed example ``index`` (0-based) as a dict, its decimals exact."""
    return json.loads(seed_examples()[index], parse_float=Decimal)


def dumps(body):
    """JSON text with every Decimal written as a JSON number, digit for digit."""
    text = json.dumps(body, default=lambda obj: f"@@DEC{obj}@@" if isinstance(obj, Decimal) else _fail(obj))
    return re.sub(r'"@@DEC([^@"]*)@@"', r"\1", text)


def _fail(obj):
    raise TypeError(obj)


def edit(index, steps=None, top=None, **params):
    """A builder: seed example ``index`` with parameters, steps and top-level fields changed.

    A value of DROP removes the key. A callable value is called with the context
    (the fixture's extra data) to give the value.
    """

    def build(ctx):
        body = seed_body(index)
        for name, value in params.items():
            _put(body["parameters"], name, value, ctx)
        for name, value in (top or {}).items():
            _put(body, name, value, ctx)
        if steps is not None:
            body["steps"] = [s if isinstance(s, dict) else {"name": s} for s in steps]
        return dumps(body), JSON, {}

    return build


def _put(target, name, value, ctx):
    if value is DROP:
        target.pop(name, None)
    else:
        target[name] = value(ctx) if callable(value) else copy.deepcopy(value)


def raw(text, content_type=JSON, headers=None):
    """A builder that sends ``text`` as it is."""
    return lambda ctx: (text, content_type, headers or {})


def with_headers(builder, headers):
    def build(ctx):
        data, content_type, extra = builder(ctx)
        return data, content_type, dict(extra, **headers)

    return build


def seed_text(index, old, new):
    """Seed example ``index`` as written, with one piece of text replaced (for raw JSON faults)."""
    text = seed_examples()[index]
    assert old in text
    return raw(text.replace(old, new, 1))


# -- the cases ------------------------------------------------------------------------------

EX1, EX2, EX3, EX4 = 0, 1, 2, 3  # the seed examples, as numbered in the seed document
ACH = dict(solution="ach", priority="SAME_DAY", financialAccountSubType="CHECKING")
WIRE = dict(solution="wire", priority="SAME_DAY", financialAccountSubType="CHECKING", description="Invoice 42")
EX4_STEPS = ["notification", "lookup-profile", "lookup-financial-account", "move-money"]


def case(case_id, builder, status, path, code=None, marks=()):
    return pytest.param(builder, status, path, code, id=case_id, marks=marks)


CASES = [
    # --- order and combination of steps (rules/workflow.yaml: combinations) ---
    case("notification-not-first", edit(EX1, steps=["customer-account", "notification"]),
         422, "steps[0]", "NOTIFICATION_FIRST"),
    case("notification-missing", edit(EX1, steps=["customer-account"]), 422, "steps[0]", "NOTIFICATION_FIRST"),
    case("both-customer-account-and-lookup-profile",
         edit(EX2, steps=["notification", "customer-account", "lookup-profile", "financial-account"]),
         422, "steps", "ONE_CUSTOMER_STEP"),
    case("neither-customer-account-nor-lookup-profile", edit(EX1, steps=["notification"]),
         422, "steps", "ONE_CUSTOMER_STEP"),
    case("neither-customer-step-with-an-account-step",
         edit(EX3, steps=["notification", "financial-account", "move-money"]), 422, "steps", "ONE_CUSTOMER_STEP"),
    case("both-financial-account-and-lookup-financial-account",
         edit(EX4, financialAccountSubType="DEBIT",
              steps=["notification", "lookup-profile", "financial-account", "lookup-financial-account", "move-money"]),
         422, "steps", "AT_MOST_ONE_ACCOUNT_STEP"),
    case("move-money-without-an-account-step",
         edit(EX4, customerFinancialAccountId=DROP, steps=["notification", "lookup-profile", "move-money"]),
         422, "steps", "MOVE_MONEY_NEEDS_AN_ACCOUNT"),
    case("lookup-financial-account-without-lookup-profile",
         edit(EX4, customerId=DROP,
              steps=["notification", "customer-account", "lookup-financial-account", "move-money"]),
         422, "steps", "ACCOUNT_LOOKUP_NEEDS_PROFILE_LOOKUP"),
    case("steps-out-of-order",
         edit(EX4, steps=["notification", "lookup-profile", "move-money", "lookup-financial-account"]),
         422, "steps[3]", "STEPS_IN_ORDER"),
    case("customer-step-before-notification-is-out-of-order",
         edit(EX1, steps=["customer-account", "notification"]), 422, "steps[1]", "STEPS_IN_ORDER"),
    case("duplicated-step", edit(EX1, steps=["notification", "customer-account", "customer-account"]),
         422, "steps[2]", "NO_DUPLICATE_STEPS"),
    case("duplicated-notification", edit(EX1, steps=["notification", "notification", "customer-account"]),
         422, "steps[1]", "NO_DUPLICATE_STEPS"),
    case("unknown-step", edit(EX1, steps=["notification", "customer-account", "teleport"]),
         422, "steps[2].name", "NOT_ALLOWED"),
    case("more-steps-than-allowed", edit(EX1, steps=["notification"] * 11), 422, "steps", "LENGTH"),
    case("step-entry-with-unknown-field",
         edit(EX1, steps=["notification", {"name": "customer-account", "order": 2}]),
         400, "steps[1].order", "UNKNOWN_FIELD"),
    case("step-entry-without-name", edit(EX1, steps=["notification", {}]), 400, "steps[1].name", "REQUIRED_FIELD"),
    case("step-entry-as-a-string", edit(EX1, top={"steps": ["notification", "customer-account"]}),
         400, "steps[0]", "INVALID_TYPE"),
    case("enhance-profile-without-profile-fields",
         edit(EX2, steps=["notification", "lookup-profile", "enhance-profile", "financial-account"]),
         422, "parameters.profileFields", "REQUIRED_PARAMETER"),
    case("enhance-profile-with-unknown-profile-field",
         edit(EX2, profileFields=["shoeSize"],
              steps=["notification", "lookup-profile", "enhance-profile", "financial-account"]),
         422, "parameters.profileFields[0]", "NOT_ALLOWED"),
    case("document-acceptance-with-unknown-document",
         edit(EX1, documents=[{"documentId": "secret-pact"}],
              steps=["notification", "customer-account", "document-acceptance"]),
         422, "parameters.documents[0].documentId", "NOT_ALLOWED"),
    case("document-acceptance-with-no-documents",
         edit(EX1, documents=[], steps=["notification", "customer-account", "document-acceptance"]),
         422, "parameters.documents", "LENGTH"),

    # --- parameters the steps require, and the solution conditions (rules/solutions.yaml) ---
    case("lookup-profile-without-customer-id", edit(EX2, customerId=DROP),
         422, "parameters.customerId", "REQUIRED_PARAMETER"),
    case("financial-account-without-subtype", edit(EX2, financialAccountSubType=DROP),
         422, "parameters.financialAccountSubType", "REQUIRED_PARAMETER"),
    case("move-money-without-amount", edit(EX3, amount=DROP), 422, "parameters.amount", "REQUIRED_PARAMETER"),
    case("move-money-without-payment-reason", edit(EX3, paymentReasonId=DROP),
         422, "parameters.paymentReasonId", "REQUIRED_PARAMETER"),
    case("notification-without-channel", edit(EX1, channel=DROP), 422, "parameters.channel", "REQUIRED_PARAMETER"),
    case("ach-without-priority", edit(EX3, **dict(ACH, priority=DROP)), 422, "parameters.priority", "SOLUTION_ACH"),
    case("wire-without-priority", edit(EX3, **dict(WIRE, priority=DROP)),
         422, "parameters.priority", "SOLUTION_WIRE"),
    case("wire-without-description", edit(EX3, **dict(WIRE, description=DROP)),
         422, "parameters.description", "SOLUTION_WIRE"),
    case("wire-description-over-100-characters", edit(EX3, **dict(WIRE, description="x" * 101)),
         422, "parameters.description", "LENGTH"),
    case("description-refused-for-push-to-card", edit(EX3, description="For you"),
         422, "parameters.description", "SOLUTION_PUSH_TO_CARD"),
    case("memo-refused-for-push-to-card", edit(EX3, memo="Thanks"), 422, "parameters.memo", "SOLUTION_PUSH_TO_CARD"),
    case("memo-refused-for-ach", edit(EX3, memo="Thanks", **ACH), 422, "parameters.memo", "SOLUTION_ACH"),
    case("push-to-card-with-same-day-priority", edit(EX3, priority="SAME_DAY"),
         422, "parameters.priority", "SOLUTION_PUSH_TO_CARD"),
    case("push-to-card-with-next-day-priority", edit(EX4, priority="NEXT_DAY"),
         422, "parameters.priority", "SOLUTION_PUSH_TO_CARD"),
    case("push-to-card-with-checking-subtype", edit(EX3, financialAccountSubType="CHECKING"),
         422, "parameters.financialAccountSubType", "SOLUTION_PUSH_TO_CARD"),
    case("push-to-card-with-credit-subtype", edit(EX3, financialAccountSubType="CREDIT"),
         422, "parameters.financialAccountSubType", "SOLUTION_PUSH_TO_CARD"),
    case("ach-with-debit-subtype", edit(EX3, **dict(ACH, financialAccountSubType="DEBIT")),
         422, "parameters.financialAccountSubType", "SOLUTION_ACH"),
    case("wire-with-debit-subtype", edit(EX3, **dict(WIRE, financialAccountSubType="DEBIT")),
         422, "parameters.financialAccountSubType", "SOLUTION_WIRE"),
    case("ach-to-an-existing-debit-card", edit(EX4, solution="ach", priority="SAME_DAY"),
         422, "parameters.customerFinancialAccountId", "ACCOUNT_NOT_SUITABLE"),
    case("request-with-push-to-card", edit(EX3, transactionType="REQUEST"),
         422, "parameters.transactionType", "SOLUTION_PUSH_TO_CARD"),
    case("request-with-wire", edit(EX3, transactionType="REQUEST", **WIRE),
         422, "parameters.transactionType", "SOLUTION_WIRE"),
    case("cad-with-ach", edit(EX3, currency="CAD", **ACH), 422, "parameters.currency", "SOLUTION_ACH"),
    case("sms-without-phone-number", edit(EX1, phoneNumber=DROP),
         422, "parameters.phoneNumber", "SMS_NEEDS_PHONE_NUMBER"),
    case("email-without-email", edit(EX1, channel="EMAIL", phoneNumber=DROP),
         422, "parameters.email", "EMAIL_NEEDS_EMAIL"),
    case("phone-number-without-plus", edit(EX1, phoneNumber="6471234567"),
         422, "parameters.phoneNumber", "INVALID_PHONE"),
    case("phone-number-with-spaces", edit(EX1, phoneNumber="+1 647 123 4567"),
         422, "parameters.phoneNumber", "INVALID_PHONE"),
    case("phone-number-too-short", edit(EX1, phoneNumber="+1647"), 422, "parameters.phoneNumber", "INVALID_PHONE"),
    case("phone-number-letters", edit(EX1, phoneNumber="+1647CALLNOW"),
         422, "parameters.phoneNumber", "INVALID_PHONE"),
    case("bad-email", edit(EX1, channel="EMAIL", email="john.doe@"), 422, "parameters.email", "INVALID_EMAIL"),
    case("email-without-at", edit(EX1, channel="EMAIL", email="john.doe.example.com"),
         422, "parameters.email", "INVALID_EMAIL"),
    case("introductory-message-too-long", edit(EX1, introductoryMessage="x" * 321),
         422, "parameters.introductoryMessage", "LENGTH"),

    # --- allowed values (rules/catalog.yaml, rules/solutions.yaml) ---
    case("unknown-channel", edit(EX1, channel="PIGEON"), 422, "parameters.channel", "NOT_ALLOWED"),
    case("lowercase-channel", edit(EX1, channel="sms"), 422, "parameters.channel", "NOT_ALLOWED"),
    case("unknown-currency", edit(EX3, currency="EUR"), 422, "parameters.currency", "NOT_ALLOWED"),
    case("unknown-solution", edit(EX3, solution="carrier-pigeon"), 422, "parameters.solution", "NOT_ALLOWED"),
    case("unknown-transaction-type", edit(EX3, transactionType="GIFT"),
         422, "parameters.transactionType", "NOT_ALLOWED"),
    case("unknown-payment-reason", edit(EX3, paymentReasonId="bribes"),
         422, "parameters.paymentReasonId", "NOT_ALLOWED"),
    case("unknown-priority", edit(EX3, priority="URGENT"), 422, "parameters.priority", "NOT_ALLOWED"),
    case("unknown-financial-account-subtype", edit(EX2, financialAccountSubType="BROKERAGE"),
         422, "parameters.financialAccountSubType", "NOT_ALLOWED"),

    # --- amounts (limits per solution, positive, minor units of the currency) ---
    case("amount-over-push-to-card-limit", edit(EX3, amount=Decimal("25000.01")),
         422, "parameters.amount", "AMOUNT_OUT_OF_LIMITS"),
    case("amount-under-wire-minimum", edit(EX3, amount=Decimal("0.99"), **WIRE),
         422, "parameters.amount", "AMOUNT_OUT_OF_LIMITS"),
    case("amount-over-ach-limit", edit(EX3, amount=Decimal("1000000.01"), **ACH),
         422, "parameters.amount", "AMOUNT_OUT_OF_LIMITS"),
    case("zero-amount", edit(EX3, amount=0), 422, "parameters.amount", "NOT_POSITIVE"),
    case("zero-amount-with-decimals", edit(EX3, amount=Decimal("0.00")), 422, "parameters.amount", "NOT_POSITIVE"),
    case("negative-amount", edit(EX3, amount=Decimal("-256.25")), 422, "parameters.amount", "NOT_POSITIVE"),
    case("negative-amount-as-string", edit(EX4, amount="-1"), 422, "parameters.amount", "NOT_POSITIVE"),
    case("three-decimals-in-usd", edit(EX3, amount=Decimal("256.255")),
         422, "parameters.amount", "TOO_MANY_DECIMALS"),
    case("three-decimals-in-usd-as-string", edit(EX4, amount="1.001"), 422, "parameters.amount", "TOO_MANY_DECIMALS"),
    case("absurdly-large-amount", edit(EX3, amount=Decimal("1E+400")), 422, "parameters.amount", None),
    case("amount-as-object", edit(EX3, amount={"value": 256.25}), 400, "parameters.amount", "INVALID_TYPE"),
    case("amount-as-list", edit(EX3, amount=[Decimal("256.25")]), 400, "parameters.amount", "INVALID_TYPE"),
    case("amount-as-bool", edit(EX3, amount=True), 400, "parameters.amount", "INVALID_TYPE"),
    case("amount-as-word", edit(EX3, amount="abc"), 400, "parameters.amount", "INVALID_TYPE"),
    case("amount-null", edit(EX3, amount=None), 400, "parameters.amount", "NULL_VALUE"),
    case("amount-nan-string", edit(EX3, amount="NaN"), 400, "parameters.amount", "INVALID_TYPE"),
    case("amount-infinity-string", edit(EX3, amount="Infinity"), 400, "parameters.amount", "INVALID_TYPE"),

    # --- types and the shape of the body ---
    case("steps-as-a-string", edit(EX1, top={"steps": "notification,customer-account"}),
         400, "steps", "INVALID_TYPE"),
    case("steps-as-an-object", edit(EX1, top={"steps": {"name": "notification"}}), 400, "steps", "INVALID_TYPE"),
    case("parameters-as-a-list", edit(EX1, top={"parameters": [["channel", "SMS"]]}),
         400, "parameters", "INVALID_TYPE"),
    case("parameters-null", edit(EX1, top={"parameters": None}), 400, "parameters", "NULL_VALUE"),
    case("title-as-a-number", edit(EX1, top={"title": 42}), 400, "title", "INVALID_TYPE"),
    case("channel-as-a-number", edit(EX1, channel=1), 400, "parameters.channel", "INVALID_TYPE"),
    case("passcode-as-a-string", edit(EX1, top={"passcode": "yes"}), 400, "passcode", "INVALID_TYPE"),
    case("unknown-top-level-field", edit(EX1, top={"colour": "blue"}), 400, "colour", "UNKNOWN_FIELD"),
    case("unknown-parameter", edit(EX1, favouriteColour="blue"), 400, "parameters.favouriteColour", "UNKNOWN_FIELD"),
    case("parameter-not-used-by-any-step", edit(EX3, customerId="8c8cab63-4e53-4acf-9efa-e7324816aa36"),
         422, "parameters.customerId", "PARAMETER_NOT_USED"),
    case("money-parameters-without-move-money", edit(EX2, amount=Decimal("10.00"), currency="USD"),
         422, "parameters.amount", "PARAMETER_NOT_USED"),
    case("missing-title", edit(EX1, top={"title": DROP}), 400, "title", "REQUIRED_FIELD"),
    case("missing-parameters", edit(EX1, top={"parameters": DROP}), 400, "parameters", "REQUIRED_FIELD"),
    case("missing-steps", edit(EX1, top={"steps": DROP}), 400, "steps", "REQUIRED_FIELD"),
    case("blank-title", edit(EX1, top={"title": "   "}), 422, "title", "BLANK"),
    case("title-over-200-characters", edit(EX1, top={"title": "t" * 201}), 422, "title", "LENGTH"),
    case("customer-memo-over-500-characters", edit(EX1, top={"customerMemo": "m" * 501}),
         422, "customerMemo", "LENGTH"),

    # --- expiry (rules/workflow.yaml: expiry) ---
    case("expire-in-not-a-number", edit(EX1, top={"expireIn": "abc"}), 400, "expireIn", "INVALID_TYPE"),
    case("expire-in-fraction-string", edit(EX1, top={"expireIn": "2.5"}), 400, "expireIn", "INVALID_TYPE"),
    case("expire-in-as-list", edit(EX1, top={"expireIn": ["2"]}), 400, "expireIn", "INVALID_TYPE"),
    case("expire-in-as-bool", edit(EX1, top={"expireIn": True}), 400, "expireIn", "INVALID_TYPE"),
    case("expire-in-zero-days", edit(EX1, top={"expireIn": 0}), 422, "expireIn", "EXPIRY_OUT_OF_RANGE"),
    case("expire-in-zero-days-as-string", edit(EX1, top={"expireIn": "0"}), 422, "expireIn", "EXPIRY_OUT_OF_RANGE"),
    case("expire-in-91-days", edit(EX1, top={"expireIn": 91}), 422, "expireIn", "EXPIRY_OUT_OF_RANGE"),
    case("expire-in-91-days-as-string", edit(EX1, top={"expireIn": "91"}), 422, "expireIn", "EXPIRY_OUT_OF_RANGE"),
    case("expire-in-hours-zero", edit(EX1, top={"expireIn": DROP, "expireInHours": 0}),
         422, "expireInHours", "EXPIRY_OUT_OF_RANGE"),
    case("expire-in-hours-over-90-days", edit(EX1, top={"expireIn": DROP, "expireInHours": 2161}),
         422, "expireInHours", "EXPIRY_OUT_OF_RANGE"),
    case("both-expire-in-and-expire-in-hours", edit(EX1, top={"expireInHours": 48}),
         400, "expireInHours", "EXPIRY_TWICE"),

    # --- the JSON itself, the content type, the size ---
    case("bad-json", raw('{"title": "Create", "parameters": {'), 400, "$", "MALFORMED_JSON"),
    case("bad-json-trailing-comma", seed_text(EX1, '"name": "customer-account"\n}', '"name": "customer-account"\n},'),
         400, "$", "MALFORMED_JSON"),
    case("json-list-not-object", raw(json.dumps([json.loads(seed_examples()[EX1])])), 400, "$", "INVALID_TYPE"),
    case("json-string-not-object", raw('"hello"'), 400, "$", "INVALID_TYPE"),
    case("json-null-not-object", raw("null"), 400, "$", "INVALID_TYPE"),
    case("wrong-content-type-text-plain", raw(seed_examples()[EX1], content_type="text/plain"),
         400, "header.Content-Type", "UNSUPPORTED_CONTENT_TYPE"),
    case("form-content-type", raw("title=x", content_type="application/x-www-form-urlencoded"),
         400, "header.Content-Type", "UNSUPPORTED_CONTENT_TYPE"),
    case("empty-body", raw(""), 400, "$", "EMPTY_BODY"),
    case("whitespace-body", raw("  \n "), 400, "$", "EMPTY_BODY"),
    case("duplicate-json-key", seed_text(EX1, '"expireIn": "2",', '"expireIn": "2",\n"expireIn": "3",'),
         400, "$", "DUPLICATE_KEY"),
    case("duplicate-json-key-in-parameters",
         seed_text(EX1, '"channel": "SMS",', '"channel": "SMS",\n"channel": "EMAIL",'),
         400, "$", "DUPLICATE_KEY"),
    case("nan-literal", seed_text(EX3, "256.25", "NaN"), 400, "$", "MALFORMED_JSON"),
    case("infinity-literal", seed_text(EX3, "256.25", "-Infinity"), 400, "$", "MALFORMED_JSON"),
    case("not-utf-8", raw(seed_examples()[EX1].replace("John Doe", "Jos\u00e9").encode("latin-1")),
         400, "$", "INVALID_ENCODING"),
    case("title-with-lone-surrogate-escape",
         seed_text(EX1, '"Create a new Customer Account for John Doe"', '"Create \\ud800 account"'),
         400, "title", None),
    case("customer-memo-with-lone-surrogate-escape",
         seed_text(EX1, '"expireIn": "2",', '"expireIn": "2",\n"customerMemo": "memo \\udfff",'),
         400, "customerMemo", None),
    case("deeply-nested-json", raw("[" * 100_000 + "]" * 100_000), 400, "$", "MALFORMED_JSON"),
    case("body-over-one-mebibyte", edit(EX1, introductoryMessage="x" * (ONE_MIB + 1)),
         413, None, None),
    case("idempotency-key-too-short", with_headers(edit(EX1), {"Idempotency-Key": "abc"}),
         400, "header.Idempotency-Key", "INVALID_IDEMPOTENCY_KEY"),

    # --- checks against the business's data (422) ---
    case("customer-id-that-does-not-exist", edit(EX2, customerId=str(uuid.UUID(int=1))),
         422, "parameters.customerId", "CUSTOMER_NOT_FOUND"),
    case("customer-id-not-a-uuid", edit(EX2, customerId="john-doe"), 422, "parameters.customerId", "INVALID_ID"),
    case("customer-financial-account-of-another-customer",
         edit(EX4, customerFinancialAccountId=lambda c: c["jane_card"]),
         422, "parameters.customerFinancialAccountId", "FINANCIAL_ACCOUNT_NOT_FOUND"),
    case("customer-financial-account-that-does-not-exist", edit(EX4, customerFinancialAccountId=str(uuid.uuid4())),
         422, "parameters.customerFinancialAccountId", "FINANCIAL_ACCOUNT_NOT_FOUND"),
    case("customer-financial-account-that-is-closed", edit(EX4, customerFinancialAccountId=lambda c: c["closed_card"]),
         422, "parameters.customerFinancialAccountId", "ACCOUNT_NOT_ACTIVE"),
    case("ba-financial-account-that-does-not-exist", edit(EX3, baFinancialAccountId=str(uuid.uuid4())),
         422, "parameters.baFinancialAccountId", "BUSINESS_ACCOUNT_NOT_FOUND"),
    case("ba-financial-account-is-a-customer-card",
         edit(EX3, baFinancialAccountId="bbbf2fbf-81d4-4f2d-8f80-201bcca921d4"),
         422, "parameters.baFinancialAccountId", "BUSINESS_ACCOUNT_NOT_FOUND"),
    case("cad-against-usd-business-account", edit(EX3, currency="CAD"),
         422, "parameters.currency", "CURRENCY_MISMATCH"),
    case("cad-against-usd-card", edit(EX4, currency="CAD"),
         422, "parameters.customerFinancialAccountId", "CURRENCY_MISMATCH"),
]


# -- fixtures and assertions ----------------------------------------------------------------


@pytest.fixture
def ctx(rt, demo):
    """Demo Co plus a second customer (Jane Roe, with a card) and a closed card of John Doe."""
    business = demo[0]
    jane = models.Customer.create(business=business, first_name="Jane", last_name="Roe",
                                  phone_number="+16475550100", email="jane@example.com")

    def card(customer, number, state="ACTIVE"):
        sealed = rt.vault.seal(number)
        return models.CustomerFinancialAccount.create(
            business=business, customer=customer, type="CARD", subtype="DEBIT", state=state,
            holder_name=f"{customer.first_name} {customer.last_name}", sealed_number=sealed.sealed,
            last4=sealed.last4, masked_number=sealed.masked, fingerprint=sealed.fingerprint, brand="VISA",
            expiry="2030-01", currency="USD")

    john = models.Customer.get_by_id("8c8cab63-4e53-4acf-9efa-e7324816aa36")
    return {"jane_card": str(card(jane, "4000056655665556").id),
            "closed_card": str(card(john, "5200828282828210", state="CLOSED").id)}


def assert_error_body(response, status):
    """The one error body: {timestamp, traceId, message, errorCode, errors: [{path, message, errorCode}]}."""
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:2000])
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == ERROR_KEYS, body
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["errorCode"], str) and re.fullmatch(r"[A-Z][A-Z0-9_]*", body["errorCode"])
    assert isinstance(body["traceId"], str) and body["traceId"]
    assert response.headers["X-Trace-Id"] == body["traceId"]
    stamp = dt.datetime.fromisoformat(body["timestamp"].replace("Z", "+00:00"))
    assert stamp.tzinfo is not None
    assert isinstance(body["errors"], list)
    for problem in body["errors"]:
        assert set(problem) == PROBLEM_KEYS, problem
        assert all(isinstance(problem[k], str) and problem[k] for k in PROBLEM_KEYS), problem
    return body


def send(client, key, build, ctx):
    data, content_type, headers = build(ctx)
    headers = dict({"Authorization": f"Bearer {key}"}, **headers)
    return client.post("/v2/linx/workflows", data=data, content_type=content_type, headers=headers)


@pytest.mark.parametrize("build, status, path, code", CASES)
def test_invalid_workflow_request_is_refused_with_status_and_path(client, demo, ctx, build, status, path, code):
    response = send(client, demo[1], build, ctx)
    assert response.status_code < 500, response.get_data(as_text=True)[:2000]
    body = assert_error_body(response, status)
    if path is None:
        return
    assert body["errors"], body
    found = [(p["path"], p["errorCode"]) for p in body["errors"]]
    if code is None:
        assert path in [p for p, _ in found], found
    else:
        assert (path, code) in found, found
    if status == 422:
        assert body["errorCode"] == "RULE_VIOLATION"
    else:
        assert body["errorCode"] != "RULE_VIOLATION"


def test_invalid_requests_create_nothing(client, demo, ctx, rt):
    """Every case of the matrix is a 4xx and stores nothing."""
    statuses = {param.id: send(client, demo[1], param.values[0], ctx).status_code
                for param in CASES if not param.marks}
    assert all(400 <= s < 500 for s in statuses.values()), statuses
    assert models.Workflow.select().count() == 0
    assert models.WorkflowStep.select().count() == 0
    assert models.Job.select().count() == 0


def test_the_case_matrix_covers_enough_distinct_requests():
    assert len(CASES) >= 30
    assert len({p.id for p in CASES}) == len(CASES)


def test_each_base_example_of_the_matrix_is_valid(api):
    """The mutations start from bodies that are accepted, so each case fails for its own reason."""
    for index in (EX1, EX2, EX3, EX4):
        response = api.create(None, raw=dumps(seed_body(index)))
        assert response.status_code == 201, response.get_json()


@pytest.mark.parametrize("solution", [ACH, WIRE], ids=["ach", "wire"])
def test_solution_variants_the_matrix_starts_from_are_accepted(api, solution):
    """The ach and wire bodies the cases break are valid as they stand."""
    body = seed_body(EX3)
    body["parameters"].update(solution)
    response = api.create(None, raw=dumps(body))
    assert response.status_code == 201, response.get_json()


@pytest.mark.parametrize("text", [
    '{"title": 1e999999999}',
    '{"title": "x", "expireIn": 1e400, "parameters": {}, "steps": []}',
    ('{"title": "x", "expireInHours": 99999999999999999999999, "parameters": {"channel": "SMS"}'
     ', "steps": [{"name": "notification"}]}'),
    '{"title": "x", "parameters": {"channel": "SMS"}, "steps": [null]}',
    '{"title": "x", "parameters": {"channel": "SMS"}, "steps": [[]]}',
    '{"title": "x", "parameters": {"channel": "SMS"}, "steps": [{"name": null}]}',
    '{"title": "x", "parameters": {"channel": "SMS"}, "steps": [{"name": ["notification"]}]}',
    ('{"title": "x\\u0000y", "parameters": {"channel": "SMS", "phoneNumber": "+16471234567"}'
     ', "steps": [{"name": "notification"}, {"name": "customer-account"}]}'),
    ('{"title": "x", "parameters": {"channel": "SMS", "phoneNumber": "\\ud800"}'
     ', "steps": [{"name": "notification"}, {"name": "customer-account"}]}'),
    '{"title": "x", "parameters": {"documents": [null, 1, {"documentId": 3}]}, "steps": [{"name": "notification"}]}',
    '{"title": "x", "parameters": {"profileFields": "dateOfBirth"}, "steps": [{"name": "notification"}]}',
    '{"title": "x", "parameters": {"amount": "1e-999999999", "currency": "USD"}, "steps": [{"name": "notification"}]}',
    ('{"title": "x", "parameters": {"amount": "' + "9" * 40 + '", "currency": "USD"}'
     ', "steps": [{"name": "notification"}]}'),
    ('{"title": "x", "parameters": {"amount": "' + "9" * 41 + '", "currency": "USD"}'
     ', "steps": [{"name": "notification"}]}'),
    ('{"title": "x", "parameters": {"amount": 0.000000000000000000001, "currency": "XXX"}'
     ', "steps": [{"name": "notification"}]}'),
    ('{"title": "x", "parameters": {"customerId": "00000000-0000-0000-0000-000000000000"}'
     ', "steps": [{"name": "notification"}, {"name": "lookup-profile"}]}'),
    '{"": 1}',
    '{}',
    '[]',
    '0',
    'true',
])
def test_odd_bodies_get_a_4xx_error_body_never_a_5xx(client, demo, text):
    response = client.post("/v2/linx/workflows", data=text, content_type=JSON,
                           headers={"Authorization": f"Bearer {demo[1]}"})
    assert 400 <= response.status_code < 500, response.get_data(as_text=True)[:2000]
    assert_error_body(response, response.status_code)
