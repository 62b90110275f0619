"""Step kinds: what a workflow step collects from the customer and what completing it does.

Every step a workflow can name (``notification``, ``customer-account``, ``move-money``...) is a
:class:`StepKind` provided by a plugin through the ``linx_step_kinds`` hook. The Gateway only
dispatches: it asks the current step's kind for its words (:meth:`StepKind.describe`) and its page
(:meth:`StepKind.page`), hands a post to :meth:`StepKind.collect`, then to the core's
:func:`linx_core.services.journey.submit`, which locks the workflow, checks that the step is still
the current one and calls :meth:`StepKind.complete` inside that one transaction.

A kind speaks to the customer only through the :class:`StepView` the Gateway gives it: its ``_``
translates with the kind's own catalog (``translations_dir``/``translation_domain``), so a kind
from another distribution brings its words with it, and its page's ``template`` may come from its own
``templates_dir``. A kind's rule entry (:meth:`StepKind.rule_entry`) is the base of its entry in
the rules' ``steps`` section, as a solution's ``rule_fragment()`` is for ``solutions``.

This module imports nothing of the web layer: a view is plain data and callables.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import Problem, RuleViolation

if TYPE_CHECKING:  # pragma: no cover
    from .runtime import Runtime
    from .store.models import Business, Workflow, WorkflowStep

#: characters no form field should hold (the Gateway refuses them before any service sees them)
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u2028\u2029]")
#: the longest text any step's form field takes
TEXT_MAX = 254
#: the template values the Gateway sets on every step page: a page's ``extra`` cannot replace them
RESERVED = frozenset({"workflow", "business", "heading", "fields", "errors", "step_name", "position", "progress",
                      "action", "decline_url", "brand_name", "brand_css", "logo_url"})


@dataclass
class Field:
    """One form field of a step's page."""

    name: str
    label: str
    kind: str = "text"  # text, email, date, tel, select, checkbox
    value: str = ""
    error: str = ""
    required: bool = False
    autocomplete: str = ""
    inputmode: str = ""
    maxlength: int = 0
    hint: str = ""
    options: list = field(default_factory=list)
    checked: bool = False
    notice: str = ""  # set by the Gateway: a secret field to type again (:meth:`StepKind.retype`)

    @property
    def id(self) -> str:
        return "f-" + re.sub(r"[^A-Za-z0-9_-]", "-", self.name)


class Page:
    """What a step's page needs: its template, heading, fields (and field groups) and extra values.

    ``template`` is a Jinja template name: one of the Gateway's layouts (``gateway/form.html``,
    ``gateway/welcome.html``, ``gateway/account.html``, ``gateway/documents.html``,
    ``gateway/move_money.html``) or one from the kind's own ``templates_dir``. ``extra`` reaches the
    template as variables (but for the :data:`RESERVED` names, which are the Gateway's);
    ``groups`` (``[{"legend": ..., "fields": [Field, ...]}]``) are fieldsets.
    """

    def __init__(self, template: str, heading: str, fields: Any = (), **extra: Any) -> None:
        self.template = template
        self.heading = heading
        self.fields = list(fields)
        self.extra = extra

    def all_fields(self) -> list[Field]:
        return self.fields + [f for group in self.extra.get("groups", []) for f in group["fields"]]


@dataclass
class StepView:
    """What a kind sees of the request when it builds a page or reads a post (built by the Gateway).

    ``_(msgid, **values)`` translates with the kind's catalog into ``lang`` (``en`` or ``fr``);
    ``url(**query)`` is the address of the current step's page; ``args`` the query string;
    ``words`` the Gateway's shared formatting (``money(workflow)``, ``account(account)``,
    ``subtype(subtype)``, ``subtype_title``, ``country``, ``phone``, ``label``, ``document_url``,
    ``arrival(workflow)``, ``move_sentence(workflow, account, business)``, ``document_text(document_id)``:
    a document's full text in ``lang``, exactly as the Gateway shows it, or None).
    ``client`` is what the Gateway knows of the customer's session: ``ipAddress`` (as the app sees it behind
    ``LINX_PROXY_HOPS``) and ``userAgent``.
    """

    rt: Runtime
    workflow: Workflow
    business: Business
    lang: str
    _: Callable[..., str]
    url: Callable[..., str]
    args: Mapping[str, str] = field(default_factory=dict)
    words: Any = None
    show_amount: bool = True
    client: Mapping[str, str] = field(default_factory=dict)

    @property
    def parameters(self) -> dict:
        return self.workflow.parameters or {}


@dataclass
class StepAct:
    """The step being completed, inside the transaction that holds the workflow's lock.

    ``workflow`` is the locked row, ``steps`` all its steps, ``position`` the current one.
    ``data(**values)`` merges values into the step's ``data`` (its outcome, read by the API);
    ``save(**changes)`` writes columns of the workflow (``customer``, ``customer_account``) under its
    version; ``stay()`` keeps the step current when the transaction commits. A step that stays for a
    transaction puts its id in its data (``transactionId``): the transaction's outcome then completes
    (or fails) that step and the workflow.
    """

    rt: Runtime
    workflow: Workflow
    steps: list
    position: int
    data: Callable[..., object]
    save: Callable[..., object]
    staying: bool = False

    def stay(self) -> None:
        self.staying = True

    @property
    def step(self) -> WorkflowStep:
        return self.steps[self.position]

    @property
    def parameters(self) -> dict:
        return self.workflow.parameters or {}


@dataclass(frozen=True)
class Replacement:
    """What a step that already did its work becomes when its workflow is recovered: the step ``name`` (its
    lookup), with ``parameters`` set on the new workflow (the ids of what the step made)."""

    name: str
    parameters: dict[str, Any] = field(default_factory=dict)


class StepKind:
    """The contract of a step kind. Subclass it and return instances from ``linx_step_kinds``.

    Class attributes:

    - ``name``: the step's name in the rule files and the API (``id-check``);
    - ``has_page``: False for a step the customer never sees (``notification``);
    - ``templates_dir``: a folder of Jinja templates this kind brings, or None;
    - ``translations_dir`` and ``translation_domain``: the kind's gettext catalogs
      (``<dir>/fr_CA/LC_MESSAGES/<domain>.po`` or ``.mo``), or None for the Gateway's own catalog;
    - ``secret_fields``: the form fields never written back into a page (a card or account number).
    """

    name: str = ""
    has_page: bool = True
    templates_dir: Path | None = None
    translations_dir: Path | None = None
    translation_domain: str = "messages"
    secret_fields: tuple[str, ...] = ()

    def rule_entry(self) -> dict | None:
        """The kind's entry for the rules' ``steps`` section (``order``, ``displayName``,
        ``description``, ``parameters``, ``conditions``, ``form``), merged under the rule files' entry
        of the same name (the admin's say wins); ``None`` when the rule files carry the whole entry."""
        return None

    def describe(self, view: StepView) -> str:
        """The step in plain words for the landing page, in ``view.lang``."""
        spec = view.rt.rules.steps.get(self.name, {})
        return spec.get("displayName") or self.name

    def page(self, view: StepView, values: Mapping[str, str]) -> Page:
        """The page for the current step. ``values`` are what the customer posted (to show again
        after a refusal; never a card or account number)."""
        raise NotImplementedError

    def retype(self, view: StepView, name: str) -> str:
        """What the page says next to the secret field ``name`` (one of ``secret_fields``) when a post was
        refused for another field: its value is never written back, so the customer must type it again."""
        return view._("For your security, type this again.")

    def collect(self, view: StepView, form: Mapping[str, str]) -> dict:
        """The values of a post, cleaned, or :class:`~linx_core.errors.RuleViolation` with a
        :class:`~linx_core.errors.Problem` per field (its ``path`` is the field's name). Only form
        checks here: rules that need the store are :meth:`complete`'s."""
        return {}

    def skip(self, act: StepAct) -> dict | None:
        """The values that complete the step with nothing asked of the customer, or None (the default) when the
        customer has something to do on its page.

        After the passcode, :func:`linx_core.services.journey.advance` asks the current step's kind, inside the
        transaction that holds the workflow, and completes the step through :meth:`complete` with these values
        while the answer is not None and a later step has a page: an existing customer whom the business
        named (``lookup-profile``) and whose named account the rail can pay (``lookup-financial-account``)
        goes straight to the confirm page.
        """
        return None

    def complete(self, act: StepAct, values: dict) -> Any:
        """Do what the step does to the store, inside the transaction that holds the workflow.

        Raise :class:`~linx_core.errors.RuleViolation` to refuse (nothing is kept); call
        ``act.stay()`` to keep the step current (its outcome is still to come), else the core
        completes the step and moves the workflow on. The return value (the customer, the account,
        the transaction) is handed back to the caller of :func:`~linx_core.services.journey.submit`.
        """
        return None

    def recovered(self, step: WorkflowStep, workflow: Workflow) -> Replacement | None:
        """What this step becomes in the workflow that recovers ``workflow`` (an ended one:
        :mod:`linx_core.services.recovery`). ``None`` (the default): the same step, asked again. A step that
        already made something the customer should not make twice returns the :class:`Replacement` that looks
        it up instead (``customer-account`` that created a customer becomes ``lookup-profile`` with its id).
        The parameters that only the replaced step used are dropped from the new workflow."""
        return None

    def outcome(self, rt: Runtime, workflow: Workflow, step: WorkflowStep) -> dict[str, Any]:
        """The step's outcome as the business reads it (the API's ``steps[].data``): what
        :meth:`complete` kept with ``act.data``, by default. Override to add what the store knows
        now (a transaction's status); JSON values only, never a full card or account number."""
        return dict(step.data or {})

    def outcomes(self, rt: Runtime, steps: Sequence[tuple[Workflow, WorkflowStep]]) -> list[dict[str, Any]]:
        """The outcomes of many steps of this kind at once, in order (a page of workflows: ``GET
        /v2/linx/workflows``): :meth:`outcome` of each, by default. A kind whose outcome reads the store
        overrides this to read it for all the steps in one query (``move-money`` reads their transactions'
        statuses together), so that a page takes as many queries for many rows as for one."""
        return [self.outcome(rt, workflow, step) for workflow, step in steps]

    def forget(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """The step's ``data`` once its customer's personal data is erased
        (:func:`linx_core.services.erasure.erase_customer`): ids, versions and times may stay; what
        the customer typed about themselves must go. By default everything stays: a kind whose
        ``act.data`` holds personal values overrides this."""
        return dict(data)


def N_(msgid: str) -> str:
    """Marks a message for the catalogs (``pybabel extract -k N_``) where it is translated later, by name."""
    return msgid


def kinds_by_name(groups: Any) -> dict[str, StepKind]:
    """``{name: kind}`` from the ``linx_step_kinds`` hook's answers, the first answer for a name winning."""
    found: dict[str, StepKind] = {}
    for group in groups:
        for kind in group or []:
            found.setdefault(kind.name, kind)
    return found


def clean(form: Mapping[str, str], names: Any, _: Callable[..., str] = lambda m, **v: m.format(**v)) -> dict:
    """The named fields of ``form``, or :class:`RuleViolation` for text that no field should hold
    (control characters, more than :data:`TEXT_MAX` characters), before any rule sees it."""
    values, problems = {}, []
    for name in names:
        raw = form.get(name, "") or ""
        if CONTROL.search(raw):
            problems.append(Problem(name, _("Remove the special characters."), "INVALID_TEXT"))
        elif len(raw.strip()) > TEXT_MAX:
            problems.append(Problem(name, _("At most {n} characters.", n=TEXT_MAX), "LENGTH"))
        values[name] = raw
    if problems:
        raise RuleViolation("Some fields need attention.", problems)
    return values


def refuse(problems: list[Problem]) -> None:
    """Raise :class:`RuleViolation` for ``problems``, if any."""
    if problems:
        raise RuleViolation("Some fields need attention.", problems)


__all__ = ["N_", "kinds_by_name", "StepKind", "Replacement", "StepView", "StepAct", "Page", "Field", "clean",
           "refuse", "CONTROL", "TEXT_MAX", "RESERVED"]
