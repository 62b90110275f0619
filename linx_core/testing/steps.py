"""The contract every step kind keeps, as a pytest class to subclass.

A step plugin proves it keeps the ``linx_step_kinds`` contract by running this suite against its kind,
with a store of its own (a fresh SQLite database) and no web server::

    from linx_core.testing.steps import StepKindContract

    class TestVerifyEmail(StepKindContract):
        kind = VerifyEmail()                  # the kind under test
        plugins = (my_plugin_module,)         # plugins to register besides the built-in ones
        workflow = {...}                      # a workflow body (as the API takes it) with the kind's step,
                                              # or a method workflow_body(rt, business) that makes the data
                                              # it names (a customer, a business account) and returns it
        forms = {"customer-account": {...}}   # posts that complete the steps before it, by step name
        good_form = {...}                     # a post that completes (or, with ``stays``, keeps) the step
                                              # (or a method good_post(rt, workflow_id) that returns it)
        stays = False                         # True when a good post keeps the step current (move-money)

        def before_good_form(self, rt, workflow_id):   # optional: what must happen first (a code sent...)
            ...

The contract: the kind has a name that the rule book knows, with a valid entry (its own
``rule_entry()`` or the rule files'); it describes itself in English and French (Canada), and a kind
that brings catalogs translates every message its module passes to ``_``; its page has a template and
fields with unique names; a post with control characters, or an empty post, is refused field by field
(paths among the page's fields) or completes, never crashes, and a refusal keeps nothing (no event, the
step still current); the good post completes the step (or keeps it, with ``stays``), and the same post
replayed is refused as not current; in a recovery (:meth:`StepKind.recovered`) a step not done is asked again,
and a done one names a step and parameters the rules know, and the recovery's create request passes the rules.
"""
import ast
import inspect
import json
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet

from ..config import Settings
from ..errors import Conflict, InvalidRequest, RuleViolation
from ..plugins import make_manager
from ..runtime import Runtime
from ..services import journey
from ..services.businesses import create_business
from ..services.flow import on_first_notification, steps_of
from ..services.recovery import request_for
from ..services.workflows import create_workflow
from ..steps import RESERVED, Page, Replacement, StepAct, StepKind, StepView
from ..store import db
from ..store.models import Business, CustomerFinancialAccount, Event, Workflow, WorkflowStep


class PlainWords:
    """The Gateway's formatting, plainly, in English: what a kind's ``view.words`` offers."""

    @staticmethod
    def money(workflow: Workflow) -> str:
        return f"{workflow.amount} {workflow.currency}"

    @staticmethod
    def account(account: CustomerFinancialAccount) -> str:
        return f"{account.subtype.lower()} ending {account.last4}"

    @staticmethod
    def subtype(subtype: str) -> str:
        return subtype.lower()

    subtype_title = subtype

    @staticmethod
    def country(code: str) -> str:
        return code

    @staticmethod
    def phone(number: str) -> str:
        return number

    @staticmethod
    def label(text: str) -> str:
        return text

    @staticmethod
    def document_url(workflow: Workflow, document_id: str) -> str:
        return f"/g/{workflow.id}/documents/{document_id}"

    @staticmethod
    def document_text(document_id: str) -> str | None:
        return f"The text of {document_id}."

    @staticmethod
    def arrival(workflow: Workflow) -> str:
        return "Expected arrival: soon."

    @staticmethod
    def move_sentence(workflow: Workflow, account: CustomerFinancialAccount, business: Business) -> str:
        return f"{business.display_name} moves {workflow.amount} {workflow.currency}"


def messages_of(kind: StepKind) -> set[str]:
    """The literal messages a kind's module passes to ``_`` or ``view._`` (what its catalogs must hold)."""
    source = Path(inspect.getsourcefile(type(kind)) or "")
    found: set[str] = set()
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str):
            func = node.func
            if ((isinstance(func, ast.Name) and func.id == "_")
                    or (isinstance(func, ast.Attribute) and func.attr == "_")):
                found.add(node.args[0].value)
    return found


def catalog_of(kind: StepKind, locale: str = "fr_CA") -> dict[Any, Any]:
    """``{msgid: translation}`` of a kind's own catalog (its ``.po`` file) for ``locale`` (a plural's are tuples)."""
    from babel.messages.pofile import read_po

    if kind.translations_dir is None:
        raise TypeError(f"the step kind {kind.name} brings no catalogs (its translations_dir is None)")
    path = Path(kind.translations_dir) / locale / "LC_MESSAGES" / f"{kind.translation_domain}.po"
    with path.open("rb") as handle:
        return {m.id: m.string for m in read_po(handle) if m.id and m.string and not m.fuzzy}


class StepKindContract:
    """Subclass it (as ``Test...``) and set the class attributes named in the module's docstring."""

    kind: StepKind
    plugins: tuple[object, ...] = ()
    workflow: dict[str, Any]
    forms: dict[str, dict[str, Any]] = {}
    good_form: dict[str, Any] = {}
    stays = False

    def workflow_body(self, rt: Runtime, business: Business) -> dict[str, Any]:
        """The workflow to create for ``business`` (``workflow`` by default)."""
        return self.workflow

    def before_good_form(self, rt: Runtime, workflow_id: uuid.UUID) -> None:
        """What must happen before the good post (a code sent, say). Nothing by default."""

    def good_post(self, rt: Runtime, workflow_id: uuid.UUID) -> dict[str, Any]:
        """The post that completes the step (``good_form`` by default)."""
        return self.good_form

    # -- fixtures --------------------------------------------------------------------------------

    @pytest.fixture
    def rt(self, tmp_path: Path) -> Iterator[Runtime]:
        settings = Settings.load(environ={}, env="test", secret_key="contract-" + uuid.uuid4().hex,
                                 data_key=Fernet.generate_key().decode(),
                                 database_url=f"sqlite:///{tmp_path / 'contract.db'}", instance_path=str(tmp_path))
        runtime = Runtime(settings, plugins=make_manager(load_entrypoints=False, extra=self.plugins))
        runtime.migrate()
        runtime.database.connect(reuse_if_open=True)
        yield runtime
        runtime.database.close()

    @pytest.fixture
    def at_step(self, rt: Runtime) -> uuid.UUID:
        """The id of a workflow whose current step is the kind's (the steps before it done)."""
        business, _key = create_business(rt, f"contract-{uuid.uuid4().hex[:8]}")
        created = create_workflow(rt, business, self.workflow_body(rt, business))
        workflow_id = created.workflow.id
        if created.steps[0].name != self.kind.name:  # the first message completes the first step
            with db.atomic():
                on_first_notification(rt, workflow_id)
        for _ in range(len(created.steps)):
            workflow = Workflow.get_by_id(workflow_id)
            step = steps_of(workflow)[workflow.current_step]
            if step.name == self.kind.name:
                return workflow_id
            journey.submit(rt, workflow_id, step.position, step.name, self.forms.get(step.name, {}))
        raise AssertionError(f"the workflow never reached {self.kind.name}: give `forms` for the steps before it")

    def translate(self, lang: str) -> Callable[..., str]:
        """The kind's ``_`` in ``lang``: its own catalog's French, English otherwise (as the Gateway's)."""
        french = catalog_of(self.kind) if lang == "fr" and self.kind.translations_dir is not None else {}

        def _(msgid: str, **values: Any) -> str:
            text = french.get(msgid) or msgid
            return text.format(**values) if values else text

        return _

    def view(self, rt: Runtime, workflow_id: uuid.UUID, lang: str = "en") -> StepView:
        workflow = Workflow.get_by_id(workflow_id)
        return StepView(rt=rt, workflow=workflow, business=Business.get_by_id(workflow.business_id), lang=lang,
                        _=self.translate(lang), url=lambda **query: f"/g/{workflow_id}/step", args={},
                        words=PlainWords(), client={"ipAddress": "192.0.2.10", "userAgent": "contract-test"})

    def snapshot(self, workflow_id: uuid.UUID) -> tuple[Any, ...]:
        """What a refused post must leave as it was: the events, the workflow's version, each step's data."""
        workflow = Workflow.get_by_id(workflow_id)
        return (Event.select().count(), workflow.version, workflow.current_step,
                [(s.status, s.data) for s in steps_of(workflow)])

    def current(self, workflow_id: uuid.UUID) -> tuple[Workflow, WorkflowStep]:
        workflow = Workflow.get_by_id(workflow_id)
        return workflow, steps_of(workflow)[workflow.current_step]

    def post(self, rt: Runtime, workflow_id: uuid.UUID, form: Mapping[str, str]) -> Any:
        """A post as the Gateway makes it: the kind's ``collect``, then :func:`journey.submit`."""
        workflow, step = self.current(workflow_id)
        values = self.kind.collect(self.view(rt, workflow_id), form)
        return journey.submit(rt, workflow_id, step.position, self.kind.name, values)

    # -- the contract ----------------------------------------------------------------------------

    def test_the_kind_is_named_and_the_rules_know_it(self, rt: Runtime) -> None:
        assert isinstance(self.kind, StepKind)
        assert self.kind.name and self.kind.name == self.kind.name.strip()
        assert rt.step_kinds.get(self.kind.name) is not None, "the kind is not installed by `plugins`"
        spec = rt.rules.steps.get(self.kind.name)
        assert spec is not None, f"the rules have no entry for {self.kind.name}"
        assert spec["displayName"] and isinstance(spec["order"], int)
        entry = self.kind.rule_entry()
        assert entry is None or isinstance(entry, dict)

    def test_it_describes_itself_in_english_and_french(self, rt: Runtime, at_step: uuid.UUID) -> None:
        english, french = (self.kind.describe(self.view(rt, at_step, lang)) for lang in ("en", "fr"))
        assert isinstance(english, str) and english.strip() and isinstance(french, str) and french.strip()
        if self.kind.translations_dir is not None:
            assert french != english or french in catalog_of(self.kind).values(), "not translated: " + french

    def test_a_kind_with_catalogs_translates_each_of_its_messages(self) -> None:
        if self.kind.translations_dir is None:
            pytest.skip("the kind uses the Gateway's catalog (checked by the Gateway's own tests)")
        catalog = catalog_of(self.kind)
        missing = sorted(m for m in messages_of(self.kind) if m not in catalog)
        assert not missing, f"no French for: {missing}"

    def test_its_page_has_a_template_and_named_fields(self, rt: Runtime, at_step: uuid.UUID) -> None:
        if not self.kind.has_page:
            pytest.skip("the customer never sees this step")
        page = self.kind.page(self.view(rt, at_step), {})
        assert isinstance(page, Page) and page.template.endswith(".html") and page.heading
        names = [f.name for f in page.all_fields()]
        assert len(names) == len(set(names)), f"two fields share a name: {names}"
        assert not RESERVED & set(page.extra), f"the Gateway's own template values: {RESERVED & set(page.extra)}"
        assert all(not f.value for f in page.all_fields() if f.name in self.kind.secret_fields)
        if self.kind.templates_dir is not None:
            assert (Path(self.kind.templates_dir) / page.template).is_file(), page.template

    def test_skip_answers_values_for_complete_or_none_and_asking_changes_nothing(self, rt: Runtime,
                                                                                  at_step: uuid.UUID) -> None:
        """``skip`` is asked past the passcode (``journey.advance``): it answers None (the page is needed) or the
        values ``complete`` takes, and only ``complete`` may change the store."""
        before = self.snapshot(at_step)
        calls: list[tuple[str, dict]] = []  # what skip asked of the act: nothing, or it did complete's work
        with db.atomic():
            workflow = Workflow.get_by_id(at_step)
            steps = steps_of(workflow)
            act = StepAct(rt, workflow, steps, workflow.current_step,
                          data=lambda **values: calls.append(("data", values)),
                          save=lambda **changes: calls.append(("save", changes)))
            answer = self.kind.skip(act)
        assert answer is None or isinstance(answer, dict), answer
        assert calls == [], f"skip called act.data or act.save (only complete may): {calls}"
        assert not act.staying, "skip called act.stay() (only complete may)"
        assert self.snapshot(at_step) == before, "asking skip changed the store"

    def test_a_bad_post_is_refused_field_by_field_and_keeps_nothing(self, rt: Runtime, at_step: uuid.UUID) -> None:
        if not self.kind.has_page:
            pytest.skip("the customer never sees this step")
        bad = ("\x1b[2J\u202e", "", "x" * 5000, "１２３", "١٢٣٤٥٦", "<script>")  # "١٢٣٤٥٦": digits, not ASCII
        names = None
        for junk in bad:  # each post is for the page shown: a kind may change its page as it goes (a code sent)
            workflow, step = self.current(at_step)
            shown = [f.name for f in self.kind.page(self.view(rt, at_step), {}).all_fields()]
            if step.name != self.kind.name or step.status != "ACTIVE" or shown == names:
                return  # the post before was all it needed, and its page is the same: the good post's test
            names = shown
            before = self.snapshot(at_step)
            try:
                self.post(rt, at_step, {name: junk for name in names})
            except RuleViolation as refused:
                assert refused.problems, "a refusal names what is wrong"
                assert {p.path for p in refused.problems} <= set(names) | {""}, refused.problems
                assert self.snapshot(at_step) == before, "a refused post changed the store"
                names = None  # refused: the same page is tried with the next junk

    def test_the_good_post_completes_the_step_once(self, rt: Runtime, at_step: uuid.UUID) -> None:
        self.before_good_form(rt, at_step)
        before, step = self.current(at_step)
        good = self.good_post(rt, at_step)
        self.post(rt, at_step, good)
        after = Workflow.get_by_id(at_step)
        done = steps_of(after)[step.position]
        if self.stays:
            assert done.status == "ACTIVE" and after.current_step == step.position
        else:
            assert done.status == "COMPLETED"
            assert after.current_step > step.position or after.status == "COMPLETED"
        assert Event.select().where(Event.subject_id == at_step).count() > 0
        events = Event.select().count()
        # replayed (a double click, the back button): refused, nothing more happens
        with pytest.raises(Conflict if self.stays else (journey.StepNotCurrent, journey.Unavailable)):
            journey.submit(rt, at_step, step.position, self.kind.name,
                           self.kind.collect(self.view(rt, at_step), good))
        assert Event.select().count() == events

    def test_in_a_recovery_it_is_asked_again_until_done_then_names_a_known_step(self, rt: Runtime,
                                                                                 at_step: uuid.UUID) -> None:
        workflow, step = self.current(at_step)
        assert self.kind.recovered(step, workflow) is None, "a step not done yet is asked again in a recovery"
        if self.stays:
            return
        self.before_good_form(rt, at_step)
        self.post(rt, at_step, self.good_post(rt, at_step))
        workflow = Workflow.get_by_id(at_step)
        replacement = self.kind.recovered(steps_of(workflow)[step.position], workflow)
        if replacement is not None:
            assert isinstance(replacement, Replacement)
            assert replacement.name in rt.step_kinds and replacement.name in rt.rules.steps, replacement.name
            unknown = set(replacement.parameters) - set(rt.rules.parameters)
            assert not unknown, f"parameters the rules do not know: {unknown}"
        # the create request the recovery makes of the workflow (with the replacement, if any) passes the rules
        try:
            rt.rules.validate_workflow(request_for(rt, workflow))
        except (InvalidRequest, RuleViolation) as exc:
            problems = [(p.path, p.message) for p in exc.problems]
            pytest.fail(f"the recovery's request does not pass the rules: {problems}")

    def test_its_outcome_is_json_the_api_can_show_and_erasure_can_forget(self, rt: Runtime,
                                                                           at_step: uuid.UUID) -> None:
        """``outcome`` (the API's ``steps[].data``) and ``forget`` answer a JSON object, before and after."""
        _, step = self.current(at_step)
        for _when in ("before", "after"):
            workflow = Workflow.get_by_id(at_step)
            row = steps_of(workflow)[step.position]
            for answer in (self.kind.outcome(rt, workflow, row), self.kind.forget(dict(row.data or {}))):
                assert isinstance(answer, dict), answer
                json.dumps(answer)  # JSON values only
            assert self.kind.outcomes(rt, [(workflow, row), (workflow, row)]) == \
                [self.kind.outcome(rt, workflow, row)] * 2, "outcomes (a page's) differs from outcome (one's)"
            if _when == "before" and self.kind.has_page:  # a kind without a page is completed by no post
                self.before_good_form(rt, at_step)
                self.post(rt, at_step, self.good_post(rt, at_step))


__all__ = ["StepKindContract", "PlainWords", "messages_of", "catalog_of"]
