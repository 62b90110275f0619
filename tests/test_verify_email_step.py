"""The sample third-party step (``tests/verify_email_step``), found by its entry point, keeps the step-kind
contract and works through the core services with nothing in LinX naming it."""
import re
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from linx_core import clock
from linx_core.errors import RuleViolation
from linx_core.plugins import make_manager
from linx_core.rules import load_rules, step_entries
from linx_core.services import journey
from linx_core.store.models import Job, Workflow, WorkflowStep
from linx_core.testing.steps import StepKindContract
from linx_core.worker import Worker
from linx_plugins.console import read_inbox

ROOT = Path(__file__).resolve().parent.parent


def plugin():
    """The plugin module, loaded from its entry point as the plugin manager loads third-party plugins."""
    found = [e for e in entry_points(group="linx") if e.name == "verify_email"]
    assert found, "tests/verify_email_step is not installed (make install)"
    return found[0].load()


VERIFY = plugin()
PROFILE = {"firstName": "Jane", "lastName": "Roe", "email": "jane@example.com"}
BODY = {"title": "Check your email", "expireIn": "2",
        "parameters": {"channel": "SMS", "phoneNumber": "+16475550177", "email": "jane@example.com"},
        "steps": [{"name": "notification"}, {"name": "customer-account"}, {"name": "verify-email"}]}


class TestVerifyEmail(StepKindContract):
    kind = VERIFY.VerifyEmail()
    plugins = (VERIFY,)
    workflow = BODY
    forms = {"customer-account": PROFILE}

    def before_good_form(self, rt, workflow_id):
        self.post(rt, workflow_id, {"action": "send"})

    def good_post(self, rt, workflow_id):
        return {"code": VERIFY.code_for(rt, workflow_id, 1)}


    # the code's journey through the services: sent by a job on the EMAIL channel, tries counted

    def test_a_wrong_code_is_counted_and_the_right_one_completes(self, rt, at_step):
        self.post(rt, at_step, {"action": "send"})
        assert Job.select().where(Job.kind == "verify-email.send").count() == 1
        Worker(rt).run_until_idle()
        sent = [m for m in read_inbox(rt) if m["workflowId"] == str(at_step) and m["channel"] == "EMAIL"]
        assert len(sent) == 1 and sent[0]["to"] == "jane@example.com"
        code = re.search(r"\b(\d{6})\b", sent[0]["text"]).group(1)
        assert code == VERIFY.code_for(rt, at_step, 1)
        wrong = "000000" if code != "000000" else "111111"
        self.post(rt, at_step, {"code": wrong})
        step = WorkflowStep.get((WorkflowStep.workflow == at_step) & (WorkflowStep.name == "verify-email"))
        assert step.status == "ACTIVE" and step.data["tries"] == 1 and step.data["wrong"] is True
        assert "code" not in str(step.data).lower().replace("tries", "")  # no code is stored
        with pytest.raises(RuleViolation):
            self.post(rt, at_step, {"code": "12ab"})
        self.post(rt, at_step, {"code": code})
        step = WorkflowStep.get_by_id(step.id)
        assert step.status == "COMPLETED" and step.data["verified"] == "jane@example.com"

    def test_a_code_expires_and_a_code_in_other_digits_is_refused_not_a_crash(self, rt, at_step):
        frozen = clock.FrozenClock(clock.now())
        clock.set_clock(frozen)
        try:
            self.post(rt, at_step, {"action": "send"})
            with pytest.raises(RuleViolation) as other_digits:  # "١٢٣٤٥٦" are digits, not ASCII ones
                self.post(rt, at_step, {"code": "١٢٣٤٥٦"})
            assert other_digits.value.problems[0].code == "INVALID_CODE"
            frozen.advance(minutes=VERIFY.VALID_MINUTES, seconds=1)
            with pytest.raises(RuleViolation) as expired:
                self.post(rt, at_step, {"code": VERIFY.code_for(rt, at_step, 1)})
            assert expired.value.problems[0].code == "CODE_EXPIRED"
        finally:
            clock.set_clock(None)

    def test_five_wrong_codes_need_a_new_one(self, rt, at_step):
        self.post(rt, at_step, {"action": "send"})
        for _ in range(VERIFY.MAX_TRIES):
            self.post(rt, at_step, {"code": "999999" if VERIFY.code_for(rt, at_step, 1) != "999999" else "888888"})
        with pytest.raises(RuleViolation) as refused:
            self.post(rt, at_step, {"code": VERIFY.code_for(rt, at_step, 1)})
        assert refused.value.problems[0].code == "CODE_NEEDED"
        self.post(rt, at_step, {"action": "send"})
        self.post(rt, at_step, {"code": VERIFY.code_for(rt, at_step, 2)})
        assert journey.availability(Workflow.get_by_id(at_step)) == "COMPLETED"


def test_nothing_in_linx_names_the_step():
    for folder in ("linx_core", "gateway_app", "plugins", "rules"):
        for path in (ROOT / folder).rglob("*"):
            if path.suffix in (".py", ".yaml", ".html", ".po"):
                assert "verify-email" not in path.read_text(encoding="utf-8"), path


def test_its_rule_entry_comes_through_the_hook():
    kinds = make_manager(load_entrypoints=False, extra=[VERIFY]).hook.linx_step_kinds(rt=None)
    book = load_rules(steps=step_entries([k for group in kinds for k in group]))
    assert book.steps["verify-email"]["parameters"]["required"] == ["email"]
    assert "verify-email" not in load_rules().steps  # without the plugin, the rules do not know it
