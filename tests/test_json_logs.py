"""Logs: one JSON object per line with LINX_LOG_FORMAT=json, and every line of a request carries its traceId."""
import io
import json
import logging
import types
from dataclasses import fields

import pytest

from linx_core import logging_setup
from linx_core.config import Settings
from linx_core.errors import ConfigurationError
from linx_core.services import workflows

from .conftest import make_app


@pytest.fixture
def logs():
    """Configure JSON logging into a buffer; yields a function returning the lines written so far."""
    buffer = io.StringIO()
    root = logging.getLogger()
    level = root.level
    logging_setup.configure(types.SimpleNamespace(log_format="json"), stream=buffer)

    def lines():
        return [line for line in buffer.getvalue().splitlines() if line.strip()]

    yield lines
    logging_setup.unconfigure()
    root.setLevel(level)


def parsed(lines):
    return [json.loads(line) for line in lines]


def test_a_failing_request_logs_json_lines_carrying_its_trace_id(api, logs, monkeypatch):
    def boom(*args, **kwargs):
        logging.getLogger("linx.test").info("about to fail\nwith a second line")
        raise RuntimeError("the disk caught fire")

    monkeypatch.setattr(workflows, "list_workflows", boom)
    response = api.get("/v2/linx/workflows")
    assert response.status_code == 500
    trace = response.headers["X-Trace-Id"]
    assert response.get_json()["traceId"] == trace

    lines = logs()
    records = parsed(lines)  # every line is one JSON object
    mine = [r for r in records if r.get("traceId") == trace]
    assert [r["logger"] for r in mine] == ["linx.test", "linx.http"]
    info, error = mine
    assert info["level"] == "INFO" and info["message"] == "about to fail\nwith a second line"
    assert error["level"] == "ERROR" and trace in error["message"]
    assert "RuntimeError: the disk caught fire" in error["exc"] and "Traceback" in error["exc"]
    for record in records:
        assert set(record) >= {"time", "level", "logger", "message"}
        assert record["time"].endswith("Z")
    # every line the request wrote carries its trace id
    assert all(r.get("traceId") == trace for r in records if r["logger"] in ("linx.test", "linx.http"))


def test_the_trace_id_is_the_callers_traceparent(api, logs, monkeypatch):
    monkeypatch.setattr(workflows, "list_workflows", lambda *a, **k: 1 / 0)
    response = api.client.get("/v2/linx/workflows", headers={
        **api.headers(), "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"})
    assert response.headers["X-Trace-Id"] == "4bf92f3577b34da6a3ce929d0e0e4736"
    errors = [r for r in parsed(logs()) if r["logger"] == "linx.http"]
    assert [r["traceId"] for r in errors] == ["4bf92f3577b34da6a3ce929d0e0e4736"]


def test_each_request_has_its_own_trace_id_and_lines_outside_a_request_have_none(api, logs, monkeypatch):
    monkeypatch.setattr(workflows, "list_workflows", lambda *a, **k: 1 / 0)
    first = api.get("/v2/linx/workflows").headers["X-Trace-Id"]
    second = api.get("/v2/linx/workflows").headers["X-Trace-Id"]
    assert first != second
    logging.getLogger("linx.test").warning("between requests")
    records = parsed(logs())
    assert [r["traceId"] for r in records if r["logger"] == "linx.http"] == [first, second]
    outside = [r for r in records if r["message"] == "between requests"]
    assert len(outside) == 1 and "traceId" not in outside[0]
    assert logging_setup.trace_id.get() is None  # the request's id does not outlive it


def test_readyz_logs_an_unreachable_database_with_the_trace_id(rt, tmp_path, logs):
    from linx_core.runtime import Runtime

    from .conftest import test_settings as make_settings

    bound = rt.database
    broken = Runtime(make_settings(database_url="postgresql://linx@127.0.0.1:1/linx"), rules=rt.rules)
    try:
        response = make_app(broken).test_client().get("/readyz")
    finally:
        rt.bind()
        assert rt.database is bound
    assert response.status_code == 503
    trace = response.headers["X-Trace-Id"]
    warnings = [r for r in parsed(logs()) if r["logger"] == "linx.ops"]
    assert warnings and all(r["traceId"] == trace and r["level"] == "WARNING" for r in warnings)


def test_extra_fields_are_kept_and_anything_serialises(logs):
    logging.getLogger("linx.test").info("job done", extra={"jobId": "j-1", "took": object()})
    record = parsed(logs())[-1]
    assert record["jobId"] == "j-1" and record["took"].startswith("<object")


def test_text_format_appends_the_trace_id(rt):
    buffer = io.StringIO()
    logging_setup.configure(types.SimpleNamespace(log_format="text"), stream=buffer)
    try:
        token = logging_setup.set_trace_id("abc123")
        logging.getLogger("linx.test").warning("inside")
        logging_setup.reset_trace_id(token)
        logging.getLogger("linx.test").warning("outside")
    finally:
        logging_setup.unconfigure()
    inside, outside = buffer.getvalue().splitlines()
    assert inside.endswith("WARNING linx.test: inside trace=abc123")
    assert outside.endswith("WARNING linx.test: outside")


def test_configure_replaces_its_own_handler_and_refuses_unknown_formats():
    root = logging.getLogger()
    level = root.level
    try:
        logging_setup.configure(types.SimpleNamespace(log_format="json"), stream=io.StringIO())
        logging_setup.configure(types.SimpleNamespace(log_format="JSON"), stream=io.StringIO())
        assert len([h for h in root.handlers if getattr(h, "_linx", False)]) == 1
        with pytest.raises(ConfigurationError, match="LINX_LOG_FORMAT"):
            logging_setup.configure(types.SimpleNamespace(log_format="xml"))
    finally:
        logging_setup.unconfigure()
        root.setLevel(level)
    assert not [h for h in root.handlers if getattr(h, "_linx", False)]


def test_the_format_comes_from_linx_log_format():
    if "log_format" not in {f.name for f in fields(Settings)}:
        pytest.skip("Settings has no log_format field yet")
    assert Settings.load(environ={}, secrets=False).log_format == "text"
    settings = Settings.load(environ={"LINX_LOG_FORMAT": "json"}, secrets=False)
    buffer = io.StringIO()
    try:
        logging_setup.configure(settings, stream=buffer)
        logging.getLogger("linx.test").warning("hello")
    finally:
        logging_setup.unconfigure()
    assert json.loads(buffer.getvalue().splitlines()[-1])["message"] == "hello"


def test_a_request_whose_database_is_down_logs_the_trace_id_it_answers(rt, logs):
    from linx_core.runtime import Runtime

    from .conftest import test_settings as make_settings

    broken = Runtime(make_settings(database_url="postgresql://linx@127.0.0.1:1/linx"), rules=rt.rules)
    try:
        response = make_app(broken).test_client().get("/v2/linx/workflows",
                                                      headers={"Authorization": "Bearer x"})
    finally:
        rt.bind()
    assert response.status_code == 503  # an outage, told apart from a defect: the client may retry
    assert response.json["errorCode"] == "DATABASE_UNAVAILABLE" and response.headers["Retry-After"]
    trace = response.headers["X-Trace-Id"]
    errors = [r for r in parsed(logs()) if r["logger"] == "linx.http"]
    assert [r["level"] for r in errors] == ["WARNING"]
    assert errors and [r.get("traceId") for r in errors] == [trace]
