"""Events: every state change appends one, in the transaction that made it.

An event is the audit trail and the source of webhooks. ``data`` is what a
webhook would carry: ids, statuses and masked numbers, never a full number.

Each event type is registered once, here or by a plugin (``linx_event_types``),
as an :class:`EventType`: its name, what it means, and the marshmallow schema of
its ``data``. The webhook subscriptions, the ``/v2/events`` filter and the
OpenAPI document read the runtime's registry (``rt.event_types``), so a type
that is recorded is a type that can be asked for. :func:`record` refuses a type
nobody registered; in development and under tests it also checks the payload's
declared fields against the schema (a production write is not slowed by it).
"""
from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from .lifecycle import BATCHES, STEPS, TEMPLATES, TRANSACTIONS, WORKFLOWS, Lifecycle
from .store.models import Event

if TYPE_CHECKING:  # pragma: no cover
    import pluggy

    from .runtime import Runtime


@dataclass(frozen=True)
class EventType:
    """One event type: ``name`` (``linx.workflow-locked``), a one-line ``description``, the ``schema`` of ``data``."""

    name: str
    description: str
    schema: type[Schema]

    def problems(self, data: object, strict: bool = False) -> dict[str, Any] | list[Any]:
        """What is wrong with ``data`` as this type's payload (marshmallow's messages; empty when nothing).

        Lenient by default: only the fields present are checked, and fields the schema does not
        name are let through. ``strict`` also asks for every required field and refuses others.
        """
        if not isinstance(data, dict):
            return {"_schema": ["The payload must be an object."]}
        schema = _schema_instance(self.schema)
        if strict:
            return schema.validate(data)
        try:
            schema.load(data, partial=True, unknown=EXCLUDE)
        except ValidationError as exc:
            return exc.messages
        return {}


_SCHEMAS = threading.local()  # one instance of each payload schema per thread: building one deep-copies its fields


def _schema_instance(schema: type[Schema]) -> Schema:
    made: dict[type[Schema], Schema] | None = getattr(_SCHEMAS, "made", None)
    if made is None:
        made = _SCHEMAS.made = {}
    found = made.get(schema)
    if found is None:
        found = made[schema] = schema()
    return found


class EventTypes(Mapping[str, EventType]):
    """The registered event types by name, in the order they were registered."""

    def __init__(self, types: Iterable[EventType] = ()) -> None:
        self._types: dict[str, EventType] = {}
        for event_type in types:
            self.register(event_type)

    def register(self, event_type: EventType) -> EventType:
        """Add ``event_type``; a name registered twice must be the same registration."""
        known = self._types.get(event_type.name)
        if known is not None and known != event_type:
            raise ValueError(f"the event type {event_type.name!r} is registered twice, differently")
        self._types[event_type.name] = event_type
        return event_type

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._types)

    def __getitem__(self, name: str) -> EventType:
        return self._types[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._types)

    def __len__(self) -> int:
        return len(self._types)


CHECKED_ENVS = ("development", "test")  # where record() checks payloads against their schemas


class UnknownEventType(LookupError):
    """An event of a type that no one registered: a programming error, never a client's."""


# -- the core's event types --------------------------------------------------------------------------

class Payload(Schema):
    class Meta:
        ordered = True


def _status(lifecycle: Lifecycle, **kwargs: Any) -> fields.String:
    return fields.String(validate=validate.OneOf(lifecycle.states), **kwargs)


class WorkflowStatusChanged(Payload):
    workflowId = fields.UUID(required=True)
    previousStatus = _status(WORKFLOWS, required=True, allow_none=True)
    status = _status(WORKFLOWS, required=True)
    currentStep = fields.Integer(required=True)


class StepMove(Payload):
    name = fields.String(required=True)
    previousStatus = _status(STEPS, allow_none=True)
    status = _status(STEPS, required=True)


class WorkflowUpdated(Payload):
    workflowId = fields.UUID(required=True)
    status = _status(WORKFLOWS, required=True)
    currentStep = fields.Integer(required=True)
    previousStep = fields.Nested(StepMove, required=True)
    nextStep = fields.Nested(StepMove, required=True, allow_none=True)
    steps = fields.List(fields.Nested(StepMove), required=True)


class WorkflowExpiryChanged(Payload):
    workflowId = fields.UUID(required=True)
    expireAt = fields.DateTime(required=True)
    status = _status(WORKFLOWS, required=True)


class WorkflowResent(Payload):
    workflowId = fields.UUID(required=True)
    unlocked = fields.Boolean(required=True, metadata={"description": "The resend lifted a passcode lockout."})
    newPasscode = fields.Boolean(required=True)


class WorkflowLocked(Payload):
    workflowId = fields.UUID(required=True)
    attempts = fields.Integer(required=True, metadata={"description": "Wrong passcodes typed."})
    status = _status(WORKFLOWS, required=True)


class WorkflowRecovered(Payload):
    workflowId = fields.UUID(required=True, metadata={"description": "The ended workflow that was recovered."})
    recoveredBy = fields.UUID(required=True, metadata={"description": "The new workflow that replaces it."})
    status = _status(WORKFLOWS, required=True)
    requestedBy = fields.String(required=True, validate=validate.OneOf(["BUSINESS", "CUSTOMER"]), metadata={
        "description": "BUSINESS (the API) or CUSTOMER (\"Send me a new link\" on the expired link's page)."})


class ApiKeyChanged(Payload):
    apiKeyId = fields.UUID(required=True)
    prefix = fields.String(required=True, metadata={"description": "The key's first characters, as listed."})
    label = fields.String(required=True, allow_none=True)
    readOnly = fields.Boolean(required=True)


class NotificationStatusChanged(Payload):
    workflowId = fields.UUID(required=True)
    notificationId = fields.UUID(required=True)
    serial = fields.Integer(required=True)
    channel = fields.String(required=True)
    origin = fields.String(required=True)
    status = fields.String(required=True)
    errorCode = fields.String(required=True, allow_none=True)
    reason = fields.String(required=True, allow_none=True)


class CustomerStatusUpdated(Payload):
    customerId = fields.UUID(required=True)
    previousStatus = fields.String(required=True, allow_none=True)
    status = fields.String(required=True)
    workflowId = fields.UUID(required=True, allow_none=True, metadata={
        "description": "The workflow that made the change; null for an erasure (POST /v2/customers/{id}/erase)."})


class CustomerUpdated(Payload):
    customerId = fields.UUID(required=True)
    workflowId = fields.UUID(required=True)
    fields_ = fields.List(fields.String(), required=True, data_key="fields", metadata={
        "description": "The profile fields that changed (firstName, lastName, email, dateOfBirth, addresses): their "
                       "names only; GET /v2/customers/{id} reads the values."})


class CustomerErased(Payload):
    customerId = fields.UUID(required=True)
    status = fields.String(required=True, validate=validate.Equal("ERASED"))
    erasedAt = fields.DateTime(required=True)
    cancelledWorkflowIds = fields.List(fields.UUID(), required=True, metadata={
        "description": "The customer's open workflows, cancelled first."})
    financialAccountIds = fields.List(fields.UUID(), required=True, metadata={
        "description": "The customer's accounts: masked numbers kept, sealed numbers destroyed."})
    workflowIds = fields.List(fields.UUID(), required=True, metadata={
        "description": "Every workflow of the customer whose personal data went (a channel's own records of "
                       "their messages, a development inbox say, forget them too)."})


class FinancialAccountStateUpdated(Payload):
    financialAccountId = fields.UUID(required=True)
    customerId = fields.UUID(required=True)
    previousState = fields.String(required=True, allow_none=True)
    state = fields.String(required=True)
    type = fields.String(required=True)
    subtype = fields.String(required=True)
    maskedNumber = fields.String(required=True)
    workflowId = fields.UUID(required=True, allow_none=True, metadata={
        "description": "The workflow that made the change; null for an erasure (POST /v2/customers/{id}/erase)."})


class CustomerAccountRef(Payload):
    id = fields.UUID(required=True)
    maskedNumber = fields.String(required=True)
    type = fields.String(required=True)
    subtype = fields.String(required=True)


class BusinessAccountRef(Payload):
    id = fields.UUID(required=True)
    maskedNumber = fields.String(required=True)


class TransactionStatusChanged(Payload):
    transactionId = fields.UUID(required=True)
    workflowId = fields.UUID(required=True, allow_none=True)
    type = fields.String(required=True)
    solution = fields.String(required=True)
    amount = fields.String(required=True, metadata={"description": "A decimal as a string: exact."})
    currency = fields.String(required=True)
    previousStatus = _status(TRANSACTIONS, required=True, allow_none=True)
    status = _status(TRANSACTIONS, required=True)
    returnCode = fields.String(required=True, allow_none=True)
    customerFinancialAccount = fields.Nested(CustomerAccountRef, required=True)
    businessFinancialAccount = fields.Nested(BusinessAccountRef, required=True)


class AuthorizationChanged(Payload):
    authorizationId = fields.UUID(required=True)
    status = fields.String(required=True, validate=validate.OneOf(["ACTIVE", "REVOKED"]))
    customerId = fields.UUID(required=True)
    workflowId = fields.UUID(required=True, allow_none=True)
    financialAccountId = fields.UUID(required=True)
    maskedNumber = fields.String(required=True)
    documentId = fields.String(required=True)
    documentVersion = fields.String(required=True)
    acceptedAt = fields.DateTime(required=True)
    revokedAt = fields.DateTime(required=True, allow_none=True)


class TemplateUpdated(Payload):
    templateId = fields.UUID(required=True)
    name = fields.String(required=True)
    version = fields.Integer(required=True, metadata={"description": "The template's latest version."})
    previousStatus = _status(TEMPLATES, required=True, allow_none=True)
    status = _status(TEMPLATES, required=True)


class BatchUpdated(Payload):
    batchId = fields.UUID(required=True)
    templateId = fields.UUID(required=True)
    previousStatus = _status(BATCHES, required=True, allow_none=True)
    status = _status(BATCHES, required=True)
    counts = fields.Dict(keys=fields.String(), values=fields.Raw(), required=True, metadata={
        "description": "total, valid, invalid, created, and the workflows by status."})


CORE_EVENT_TYPES = (
    EventType("linx.workflow-status-changed", "A workflow moved to another status.", WorkflowStatusChanged),
    EventType("linx.workflow-updated", "A step of a workflow moved; every step's status.", WorkflowUpdated),
    EventType("linx.workflow-expiry-changed", "A workflow's expiry moved.", WorkflowExpiryChanged),
    EventType("linx.workflow-resent", "A workflow's link was sent again.", WorkflowResent),
    EventType("linx.workflow-locked", "Too many wrong passcodes: the link is locked until a resend.", WorkflowLocked),
    EventType("linx.workflow-recovered", "An ended workflow was recovered: a new one replaces it.", WorkflowRecovered),
    EventType("linx.notification-status-changed", "A message to the customer was sent, delivered or failed.",
              NotificationStatusChanged),
    EventType("customer.status-updated", "A customer was created or changed status.", CustomerStatusUpdated),
    EventType("customer.updated", "A customer confirmed or corrected their profile (which fields changed).",
              CustomerUpdated),
    EventType("customer.erased", "A customer's personal data was erased; money records keep amounts, dates and "
              "masked numbers.", CustomerErased),
    EventType("financial-account.state-updated", "A customer's financial account was added or changed state.",
              FinancialAccountStateUpdated),
    EventType("transactions.status-changed", "A transaction moved to another status.", TransactionStatusChanged),
    EventType("authorization.created", "A customer accepted a debit authorization: its record was kept.",
              AuthorizationChanged),
    EventType("authorization.revoked", "A debit authorization was revoked (its record is kept).",
              AuthorizationChanged),
    EventType("linx.api-key-issued", "An API key of the business was issued (never the key itself).", ApiKeyChanged),
    EventType("linx.api-key-revoked", "An API key of the business was revoked: it is refused from now on.",
              ApiKeyChanged),
    EventType("linx.template-updated", "A template was created, given a new version, or changed status.",
              TemplateUpdated),
    EventType("linx.batch-updated", "A batch changed status; its counts.", BatchUpdated),
)


def registry(plugins: pluggy.PluginManager | None = None) -> EventTypes:
    """The core's event types, then those of ``plugins`` (a plugin manager) through ``linx_event_types``."""
    found = EventTypes(CORE_EVENT_TYPES)
    if plugins is not None:
        for group in plugins.hook.linx_event_types():
            for event_type in group or []:
                found.register(event_type)
    return found


def record_many(rt: Runtime, business_id: object, type: str, items: list[tuple[object, dict[str, Any]]]) -> None:
    """:func:`record` for many events of one type at once (one INSERT): ``items`` are ``(subject_id, data)``.

    The event sinks hear of each event as with :func:`record`. Inside the change's transaction.
    """
    event_type = rt.event_types.get(type)
    if event_type is None:
        raise UnknownEventType(f"the event type {type!r} is not registered (see linx_core.events)")
    if rt.settings.env in CHECKED_ENVS and items:
        problems = event_type.problems(items[0][1])
        if problems:
            raise ValueError(f"the payload of a {type} event does not match its schema: {problems}")
    rows = [Event(business=business_id, type=type, subject_id=subject, data=data) for subject, data in items]
    Event.bulk_create(rows)
    hook = rt.plugins.hook.linx_event_recorded
    for event in rows:
        hook(rt=rt, event=event)


def iso(value: dt.datetime | None) -> str | None:
    """An aware time as ISO 8601 with ``Z`` for UTC, as the API and webhooks write times."""
    return value.isoformat().replace("+00:00", "Z") if value else None


def envelope(event: Event) -> dict[str, Any]:
    """What a webhook receiver gets, and what ``GET /v2/events`` lists: ``{id, type, createdAt, data}``."""
    return {"id": str(event.id), "type": event.type, "createdAt": iso(event.created_at), "data": event.data}


def record(rt: Runtime, business_id: object, type: str, subject_id: object, data: dict[str, Any]) -> Event:
    """Append an event and let event sinks queue their jobs; call inside the change's transaction.

    Raises :class:`UnknownEventType` for a type not in ``rt.event_types``, and, in development and
    under tests, ``ValueError`` for a payload whose fields do not match the type's schema.
    """
    event_type = rt.event_types.get(type)
    if event_type is None:
        raise UnknownEventType(f"the event type {type!r} is not registered (see linx_core.events)")
    if rt.settings.env in CHECKED_ENVS:
        problems = event_type.problems(data)
        if problems:
            raise ValueError(f"the payload of a {type} event does not match its schema: {problems}")
    event = Event.create(business=business_id, type=type, subject_id=subject_id, data=data)
    rt.plugins.hook.linx_event_recorded(rt=rt, event=event)
    return event

