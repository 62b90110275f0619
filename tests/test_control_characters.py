"""Control characters from a caller (issue 12, item 6): the API refuses them in every free-text field with 400, the
path and CONTROL_CHARACTER, the OpenAPI document says so with a pattern, and a log line writes what reaches it
anyway as escapes, so that no text can forge a line of the log."""
import copy
import io
import json
import logging
import re
import types
from decimal import Decimal

import pytest

from linx_core import logging_setup
from linx_core.channels import Message
from linx_core.store.models import Workflow
from linx_core.text import CONTROL, CONTROL_PATTERN, escape_controls
from linx_core.worker import Worker

from .conftest import seed_examples

#: what a forger sends: a line break (each kind), an escape sequence, a direction override, and their cousins
BAD = {
    "lf": "\n", "cr": "\r", "crlf": "\r\n", "esc": "\x1b[2J", "rlo": "\u202e", "nul": "\x00", "tab": "\t",
    "del": "\x7f", "nel": "\x85", "line-separator": "\u2028", "isolate": "\u2066",
}
FORGED = "2026-01-01 12:00:00,000 INFO linx.http: payment approved"


def _body():
    """Seed example 3 by wire, with every free-text field the API takes filled in (accepted: see the test below)."""
    body = json.loads(seed_examples()[2], parse_float=Decimal)
    body["customerMemo"] = "Thanks for your business"
    body["parameters"].update(solution="wire", priority="SAME_DAY", financialAccountSubType="CHECKING",
                              description="Spring rebate", memo="Rebate 2026-04")
    return body


# (path in the error, how to put a value there), for each free-text field and a few typed strings
FIELDS = {
    "title": lambda b, v: b.__setitem__("title", v),
    "customerMemo": lambda b, v: b.__setitem__("customerMemo", v),
    "parameters.introductoryMessage": lambda b, v: b["parameters"].__setitem__("introductoryMessage", v),
    "parameters.description": lambda b, v: b["parameters"].__setitem__("description", v),
    "parameters.memo": lambda b, v: b["parameters"].__setitem__("memo", v),
    "parameters.email": lambda b, v: b["parameters"].__setitem__("email", v),
    "parameters.documents[0].documentGroup": lambda b, v: b["parameters"].__setitem__(
        "documents", [{"documentId": "privacy-policy", "documentGroup": v}]),
    "parameters.channel": lambda b, v: b["parameters"].__setitem__("channel", v),
    "parameters.phoneNumber": lambda b, v: b["parameters"].__setitem__("phoneNumber", v),
    "steps[0].name": lambda b, v: b["steps"][0].__setitem__("name", v),
}
CLEAN = {"parameters.email": "john@example.com", "parameters.channel": "SMS", "parameters.phoneNumber": "+16471234567",
         "steps[0].name": "notification", "parameters.documents[0].documentGroup": "consent"}


def test_the_base_request_with_every_free_text_field_is_accepted(api):
    response = api.create(_body())
    assert response.status_code == 201, response.get_json()
    shown = api.get(f"/v2/linx/workflows/{response.get_json()['id']}").get_json()
    assert shown["customerMemo"] == "Thanks for your business"


@pytest.mark.parametrize("bad", BAD.values(), ids=BAD.keys())
@pytest.mark.parametrize("path", FIELDS)
def test_a_control_character_in_any_free_text_field_is_refused_with_its_path(api, rt, path, bad):
    for where in ("middle", "end"):  # at the end too: refused before the surrounding space is trimmed
        body = copy.deepcopy(_body())
        clean = CLEAN.get(path, "Fine text")
        FIELDS[path](body, f"{clean}{bad}{FORGED}" if where == "middle" else clean + bad)
        response = api.create(body)
        assert response.status_code == 400, (where, response.get_json())
        error = response.get_json()
        # NUL, which no database column can store, is refused as the body is read (INVALID_TEXT), before the rules
        code = "INVALID_TEXT" if bad == "\x00" else "CONTROL_CHARACTER"
        assert error["errorCode"] == ("INVALID_TEXT" if bad == "\x00" else "INVALID_REQUEST")
        assert [(p["path"], p["errorCode"]) for p in error["errors"]] == [(path, code)], where
    assert Workflow.select().count() == 0


@pytest.mark.parametrize("bad", ["\n", "\x1b", "\u202e", "\t"], ids=["lf", "esc", "rlo", "tab"])
def test_the_search_refuses_control_characters(api, bad):
    response = api.get("/v2/linx/workflows", query_string={"search": f"rebate{bad}"})
    assert response.status_code == 400
    assert [(p["path"], p["errorCode"]) for p in response.get_json()["errors"]] == [("query.search",
                                                                                      "CONTROL_CHARACTER")]
    assert api.get("/v2/linx/workflows", query_string={"search": " rebate "}).status_code == 200


@pytest.mark.parametrize("bad", ["\n", "\x1b", "\u202e"], ids=["lf", "esc", "rlo"])
@pytest.mark.parametrize("field, path", [("description", "description"), ("url", "url"),
                                         ("eventTypes", "eventTypes[0]")])
def test_a_webhook_subscription_refuses_control_characters_too(api, field, path, bad):
    body = {"url": "https://hooks.example.com/linx", "eventTypes": ["*"], "description": "Our receiver"}
    body[field] = [f"*{bad}"] if field == "eventTypes" else body[field] + bad + "x"
    response = api.client.post("/v2/push-notifications", json=body, headers=api.headers())
    assert response.status_code == 400, response.get_json()
    assert [(p["path"], p["errorCode"]) for p in response.get_json()["errors"]] == [(path, "CONTROL_CHARACTER")]


def test_what_is_accepted_is_in_the_openapi_document_as_a_pattern(client):
    document = client.get("/v2/openapi.json").get_json()
    schemas = document["components"]["schemas"]
    request, parameters = schemas["WorkflowCreateRequest"]["properties"], schemas["WorkflowParameters"]["properties"]
    for prop in (request["title"], request["customerMemo"], parameters["introductoryMessage"],
                 parameters["description"], parameters["memo"], parameters["email"]):
        assert prop["pattern"] == CONTROL_PATTERN
    pattern = re.compile(CONTROL_PATTERN)  # ECMA-262 and Python read it alike
    assert pattern.match("Ça va? 💸 ok — «rebate» 👩‍👩‍👧")
    assert pattern.match("\u200d\u200e\u200f")  # joiners and marks that scripts and emoji need
    for bad in BAD.values():
        assert not pattern.match(f"a{bad}b"), repr(bad)


# -- the logs ----------------------------------------------------------------------------------------


@pytest.fixture
def text_log():
    """LinX's text log into a buffer (as `linx serve` writes it); yields a function returning its text."""
    buffer = io.StringIO()
    level = logging.getLogger().level
    logging_setup.configure(types.SimpleNamespace(log_format="text"), stream=buffer)
    yield buffer.getvalue
    logging_setup.unconfigure()
    logging.getLogger().setLevel(level)


def _forging_title():
    return "Your rebate\n" + FORGED + "\r\x1b[1A\x1b[2K" + "\u202eevil\u202c\u2028" + FORGED


def test_a_message_from_before_the_refusal_cannot_forge_a_line_of_the_text_log(api, rt, text_log):
    """An introductory message stored before the API refused control characters reaches the SMS; the console
    channel's line keeps it on that one line, and no line of the log starts with the forged text."""
    created = api.create(json.loads(seed_examples()[0]))
    assert created.status_code == 201
    workflow = Workflow.get_by_id(created.get_json()["id"])
    Workflow.update(parameters=dict(workflow.parameters, introductoryMessage=_forging_title())).where(
        Workflow.id == workflow.id).execute()
    Worker(rt).run_until_idle()

    log = text_log()
    sent = [line for line in log.splitlines() if "linx.console" in line and "message console-" in line]
    assert len(sent) == 1, log
    assert "Your rebate\\n" + FORGED in sent[0] and "\\x1b[1A" in sent[0] and "\\u202eevil" in sent[0]
    assert not any(line.startswith(FORGED) for line in re.split(r"[\r\n\u2028]", log)), log
    assert not CONTROL.search(log.replace("\n", "")), repr(log)  # nothing raw but the lines' own ends


def test_any_logger_s_message_is_escaped_in_the_text_format_but_a_traceback_keeps_its_lines(text_log):
    logger = logging.getLogger("linx.test")
    logger.warning("refused: %s", _forging_title())
    try:
        raise ValueError("boom")
    except ValueError:
        logger.exception("failed\nhere")
    lines = text_log().splitlines()
    assert lines[0].endswith("linx.test: refused: " + escape_controls(_forging_title()))
    assert lines[1].endswith("linx.test: failed\\nhere") and lines[2] == "Traceback (most recent call last):"
    assert lines[-1] == "ValueError: boom"


def test_json_lines_escape_every_control_character():
    buffer = io.StringIO()
    level = logging.getLogger().level
    logging_setup.configure(types.SimpleNamespace(log_format="json"), stream=buffer)
    try:
        logging.getLogger("linx.test").warning("title: %s", _forging_title(), extra={"memo": "a\u2029b\x85c"})
    finally:
        logging_setup.unconfigure()
        logging.getLogger().setLevel(level)
    text = buffer.getvalue()
    assert text.count("\n") == 1 and text.endswith("\n")
    assert not CONTROL.search(text[:-1]), repr(text)  # not even the characters JSON allows raw
    record = json.loads(text)
    assert record["message"] == "title: " + _forging_title() and record["memo"] == "a\u2029b\x85c"


def test_the_console_channel_line_is_one_line_under_any_handler(rt, caplog):
    caplog.set_level(logging.INFO, logger="linx.console")
    rt.channel("SMS").send(Message(channel="SMS", to="+16471234567", text="Hello\n\n" + FORGED + "\x1b]0;x\x07"))
    [record] = [r for r in caplog.records if r.name == "linx.console"]
    assert not CONTROL.search(record.getMessage()) and "Hello\\n\\n" + FORGED + "\\x1b]0;x\\x07" in record.getMessage()


def test_the_openapi_document_names_control_character_among_the_400_codes(client):
    document = client.get("/v2/openapi.json").get_json()
    described = [op["responses"]["400"]["description"] for path in document["paths"].values()
                 for op in path.values() if isinstance(op, dict) and "400" in op.get("responses", {})]
    assert described and all("CONTROL_CHARACTER" in text and "MALFORMED_JSON" in text for text in described)
