"""The hooks a LinX plugin can implement. Each docstring is the contract.

Hooks are called with keyword arguments; an implementation may take any subset
of them, so a spec can grow without breaking plugins. Built-in fallbacks are
``trylast`` so that installed plugins get the first say.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:  # pragma: no cover
    from wsgiref.types import WSGIApplication

    from apispec import APISpec

    from .channels import Channel
    from .events import EventType
    from .payments import Solution
    from .runtime import JobHandler, Runtime
    from .steps import StepKind
    from .store.models import Event

hookspec = pluggy.HookspecMarker("linx")


@hookspec(firstresult=True)
def linx_channel(name: str, rt: Runtime) -> Channel | None:
    """Return the channel that delivers messages for the workflow channel ``name``.

    A channel object has a ``name`` and ``send(message)``, which returns a
    :class:`linx_core.channels.Sent` or raises :class:`linx_core.channels.ChannelError`
    (temporary errors are retried, permanent ones fail the notification). Return
    ``None`` for a name this plugin does not serve, or when it is not configured
    (say, no Twilio credentials): the console channel is the ``trylast`` fallback.
    Stops at first non-None result.

    :param name: the workflow's channel, as in the rule files (``SMS``, ``EMAIL``).
    :param rt: the :class:`linx_core.runtime.Runtime` (settings, rules, vault).
    :returns: a channel, or ``None``.
    """


@hookspec
def linx_job_handlers(rt: Runtime) -> Mapping[str, JobHandler]:
    """Return a mapping of job kind to handler for the jobs this plugin runs.

    A handler is called as ``handler(rt, job)`` by the worker, outside any
    transaction. It must be idempotent: a job whose worker died is run again.
    It raises :class:`linx_core.jobs.RetryLater` to be retried at a given time,
    any other exception to be retried with backoff, and returns normally when done.

    :param rt: the runtime.
    :returns: ``{kind: handler}``.
    """


@hookspec
def linx_event_recorded(rt: Runtime, event: Event) -> None:
    """An event was appended; called inside the transaction that records it.

    Event sinks (webhook delivery, say) enqueue their jobs here, so that the
    jobs commit or roll back with the event. Must not do I/O.

    :param rt: the runtime.
    :param event: the :class:`linx_core.store.models.Event` row.
    """


@hookspec
def linx_event_types() -> list[EventType]:
    """Return the event types this plugin records, each a :class:`linx_core.events.EventType`.

    An event type is registered once, with its name, a one-line description and the
    marshmallow schema of its ``data``; :func:`linx_core.events.record` refuses a type
    that nobody registered. Registered types can be filtered on in ``GET /v2/events``,
    subscribed to by webhooks and are listed in the OpenAPI document. Called without
    the runtime: the registry is built before anything else needs it. A name the core
    (or another plugin) registered already must not be registered differently.

    :returns: a list of event types.
    """


@hookspec
def linx_register_blueprints(rt: Runtime, web: Any) -> list[Any]:
    """Return Flask blueprints (or ``(blueprint, url_prefix)`` pairs) to mount on the app.

    A blueprint that serves the business API uses ``web``'s helpers rather than
    importing the web layer: ``require_business`` (a ``before_request`` that sets
    ``g.business`` from the Bearer API key, or answers 401), ``idempotent`` (a view
    decorator honouring ``Idempotency-Key``), ``json_body()`` and ``parse_json(raw)``
    (strict JSON: exact decimals, no duplicate keys), ``query_int(args, name, default,
    problems)`` and ``page_dict(page, render)``. A :class:`linx_core.errors.LinxError`
    raised by a view is answered with the API's error body.

    :param rt: the runtime.
    :param web: the web layer's helpers for API blueprints (``gateway_app.api.kit``).
    :returns: a list.
    """


@hookspec(firstresult=True)
def linx_web_app(rt: Runtime) -> WSGIApplication | None:
    """Return the WSGI application that ``linx serve`` serves (and each of its gunicorn processes).

    The Gateway (``gateway_app.wsgi``) is the ``trylast`` fallback; it is registered only in the
    processes that serve HTTP (``linx_core.plugins.WEB_PLUGINS``), so the core never imports the web
    layer. A plugin may answer with an app of its own, or wrap the Gateway's with a ``wrapper`` hook
    implementation (middleware). Stops at first non-None result.

    :param rt: the runtime this web process serves.
    :returns: a WSGI application, or ``None``.
    """


@hookspec
def linx_openapi(rt: Runtime, spec: APISpec, errors: Callable[..., dict[str, Any]]) -> None:
    """Add this plugin's paths and component schemas to the API's OpenAPI document.

    Called once per app while the document is built, after the workflow paths and
    before ``/v2/events`` and the transactions. Register schemas with
    ``spec.components.schema(name, schema=...)`` (marshmallow schemas are converted)
    and paths with ``spec.path(path=..., operations=...)``. Security scheme ``bearer``
    and the ``Error`` schema exist already. The document is served as it is built,
    so what is added here is what integrators and the fuzz tests read.

    :param rt: the runtime (``rt.event_types``, ``rt.settings``).
    :param spec: the ``apispec.APISpec`` being built.
    :param errors: ``errors(*codes)`` gives the documented error responses, e.g. ``errors(401, 404)``.
    """


@hookspec
def linx_solutions(rt: Runtime | None) -> list[Solution]:
    """Return the payment solutions (rails) this plugin provides.

    Each is a :class:`linx_core.payments.Solution`: its ``name`` (the value of the
    ``solution`` parameter), the transaction types, account kinds and priorities it
    takes, ``rule_fragment()`` (its entry in the rules' ``solutions`` section, merged
    with the rule files so the API validates against it), ``can_pay(account)``,
    ``submit(transfer, idempotency_key)``, ``status(reference)`` and ``cancel(reference)``.
    Every solution should pass the contract suite in ``linx_core.testing.solutions``.
    The hook is also called with ``rt=None`` when only the rule fragments are wanted
    (``linx rules check``): a solution must not need the runtime to be built.

    :param rt: the runtime, or ``None``.
    :returns: a list of solutions.
    """


@hookspec(firstresult=True)
def linx_card_funding(number: str) -> str | None:
    """Return a card's funding type, ``DEBIT``, ``PREPAID`` or ``CREDIT``, when this plugin knows it (a BIN
    table, a card network's or a processor's lookup), else None to let another plugin answer.

    LinX asks on the account form: where the business asked for a DEBIT (or PREPAID) card, a card known to be a
    CREDIT one is refused next to its number. When no plugin knows the number the answer is None: the card is not
    refused, and the customer's choice stands until the rail says otherwise. The sandbox's push-to-card rail
    knows the card networks' test numbers. Called inside a request: answer from memory or a fast local lookup,
    and never log the number.

    :param number: the card number, digits only.
    :returns: ``"DEBIT"``, ``"PREPAID"``, ``"CREDIT"`` or None.
    """


@hookspec
def linx_step_kinds(rt: Runtime | None) -> list[StepKind]:
    """Return the step kinds this plugin provides.

    Each is a :class:`linx_core.steps.StepKind`: its ``name`` (the step's name in the rule files and the
    API), ``rule_entry()`` (its entry in the rules' ``steps`` section, under the rule files' entry of the
    same name), ``describe(view)`` (its words on the landing page), ``page(view, values)`` (its page:
    a template and fields), ``collect(view, form)`` (a post's values, or a refusal per field) and
    ``complete(act, values)`` (what it does to the store, inside the transaction that completes it), with
    its own templates (``templates_dir``) and translations (``translations_dir``). The first plugin to
    name a kind wins. Every kind should pass the contract suite in ``linx_core.testing.steps``. The hook
    is also called with ``rt=None`` when only the rule entries are wanted (``linx rules check``).

    :param rt: the runtime, or ``None``.
    :returns: a list of step kinds.
    """
