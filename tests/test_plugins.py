"""The plugin contract: every hook documented and tested; third-party plugins found by entry point."""
import inspect
import json
import re

import pytest

from linx_core import hookspecs
from linx_core.plugins import DEFAULT_PLUGINS, make_manager
from linx_core.store.models import Notification
from linx_core.worker import Worker

from .conftest import ROOT, seed_examples

HOOKS = [name for name, fn in inspect.getmembers(hookspecs, inspect.isfunction) if name.startswith("linx_")]


def test_there_are_hooks():
    assert {"linx_channel", "linx_job_handlers", "linx_event_recorded", "linx_register_blueprints"} <= set(HOOKS)


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_is_documented_with_its_signature(hook):
    docs = (ROOT / "docs" / "plugins.md").read_text()
    signature = f"{hook}({', '.join(inspect.signature(getattr(hookspecs, hook)).parameters)})"
    assert f"### `{signature}`" in docs


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_has_a_docstring_contract(hook):
    doc = inspect.getdoc(getattr(hookspecs, hook))
    assert doc and len(doc.split()) > 15
    for param in inspect.signature(getattr(hookspecs, hook)).parameters:
        assert f":param {param}:" in doc


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_has_a_test(hook):
    tests = "".join(p.read_text() for p in (ROOT / "tests").rglob("test_*.py") if p.name != "test_plugins.py")
    plugin_sources = "".join(p.read_text() for p in (ROOT / "tests").rglob("*.py"))
    assert re.search(rf"\b{hook}\b", tests + plugin_sources), f"no test exercises {hook}"


def test_built_in_plugins_are_registered_by_module_name():
    pm = make_manager(load_entrypoints=False)
    assert [name for name in DEFAULT_PLUGINS if pm.get_plugin(name) is None] == []
    assert pm.list_name_plugin()  # the manager is usable


def test_entry_points_are_skipped_under_tests_unless_asked():
    assert make_manager().get_plugin("sample") is None
    assert make_manager(load_entrypoints=True).get_plugin("sample") is not None


def test_a_third_party_channel_found_by_entry_point_delivers_sms(api, rt, tmp_path, monkeypatch):
    monkeypatch.setenv("LINX_SAMPLE_OUTBOX", str(tmp_path / "outbox"))
    monkeypatch.setitem(rt.__dict__, "plugins", make_manager(load_entrypoints=True))
    assert rt.channel("SMS").name == "sample-outbox"
    assert rt.channel("EMAIL").name == "console"
    created = api.create(None, raw=seed_examples()[0]).get_json()
    Worker(rt).run_until_idle()
    files = list((tmp_path / "outbox").glob("*.json"))
    assert len(files) == 1
    sent = json.loads(files[0].read_text())
    assert sent["to"] == "+16471234567" and "/l/" in sent["text"]
    note = Notification.get(Notification.workflow == created["id"])
    assert (note.provider, note.provider_id, note.status) == ("sample-outbox", sent["id"], "SENT")


def test_a_third_party_channel_refusal_fails_the_notification(api, rt, tmp_path, monkeypatch):
    monkeypatch.setenv("LINX_SAMPLE_OUTBOX", str(tmp_path / "outbox"))
    monkeypatch.setitem(rt.__dict__, "plugins", make_manager(load_entrypoints=True))
    body = json.loads(seed_examples()[0])
    body["parameters"]["phoneNumber"] = "+16475550000"
    created = api.create(body).get_json()
    Worker(rt).run_until_idle()
    note = Notification.get(Notification.workflow == created["id"])
    assert (note.status, note.error_code) == ("FAILED", "SAMPLE_REFUSED")


def test_plugins_do_not_import_the_web_layer_or_each_other():
    for path in (ROOT / "plugins").rglob("*.py"):
        source = path.read_text()
        assert "gateway_app" not in source, path
        assert not re.search(r"^\s*(from|import)\s+linx_plugins", source, re.M), path


def test_the_core_imports_no_flask_and_no_plugin():
    for path in (ROOT / "linx_core").rglob("*.py"):
        if path.name == "cli.py":
            continue  # the command line is the composition root: `linx serve` starts the web app
        source = path.read_text()
        assert not re.search(r"^\s*(from|import)\s+(flask|gateway_app|linx_plugins)\b", source, re.M), path


def test_a_solution_plugin_is_found_and_decides_which_accounts_it_can_pay(api, rt, monkeypatch):
    from linx_core import hookimpl
    from linx_core.errors import RuleViolation
    from linx_core.payments import Solution
    from linx_core.services import journey

    from .drive import created, link_token, seed

    class PickyRail(Solution):
        name = "push-to-card"
        transaction_types = ("SEND",)
        account_kinds = ("CARD",)
        priorities = ("IMMEDIATE",)

        def can_pay(self, account):
            return "This card cannot receive instant payments." if account.last4 == "4242" else None

    class Plugin:
        @hookimpl
        def linx_solutions(self, rt):
            return [PickyRail()]

    monkeypatch.setitem(rt.__dict__, "plugins", make_manager(load_entrypoints=False, extra=[Plugin()]))
    rt.__dict__.pop("solutions", None)
    try:
        assert isinstance(rt.solution("push-to-card"), PickyRail)
        wf = created(api, seed(2, phoneNumber="+14165550199"))
        link_token(rt, wf["id"])
        journey.submit(rt, wf["id"], 1, "customer-account", {"firstName": "Jane", "lastName": "Roe",
                                                  "email": "jane@example.com"})
        card = {"holderName": "Jane Roe", "expiry": "12/30", "postalCode": "10001"}
        with pytest.raises(RuleViolation) as refused:
            journey.submit(rt, wf["id"], 2, "financial-account", dict(card, cardNumber="4242424242424242"))
        assert [(p.path, p.code) for p in refused.value.problems] == [("cardNumber", "ACCOUNT_NOT_PAYABLE")]
        account = journey.submit(rt, wf["id"], 2, "financial-account", dict(card, cardNumber="4000056655665556"))
        assert account.last4 == "5556"
    finally:
        rt.__dict__.pop("solutions", None)
