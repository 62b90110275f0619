"""The API's response shapes (camelCase), used to render (``render.render``) and to document (OpenAPI).

Each schema reads the store's rows directly: a camelCase field names its snake_case column with
``attribute=``; the fields below say what a column alone does not (a timestamp's form, a step's words
from the rules, whether a passcode is set).
"""
import math

from marshmallow import Schema, fields

from linx_core.rules.meta import MESSAGE_ORIGINS

from .render import context


class Out(Schema):
    """A response shape. It reads a mapping by key and anything else (a row, a View) by attribute."""

    def get_attribute(self, obj, attr, default):
        # marshmallow's own accessor also follows dotted paths and probes for __getitem__ on every
        # field; responses need neither, and create is benchmarked
        if isinstance(obj, dict):
            return obj.get(attr, default)
        return getattr(obj, attr, default)


def iso(value):
    """A timestamp as the API writes it: ISO 8601 in UTC with a ``Z``."""
    return value.isoformat().replace("+00:00", "Z") if value else None


class Timestamp(fields.DateTime):
    """An aware datetime written as :func:`iso` writes it (documented as a date-time string)."""

    def _serialize(self, value, attr, obj, **kwargs):
        return iso(value)


class IsSet(fields.Boolean):
    """True when the attribute it reads has a value (``passcodeRequired`` from the passcode's hash).

    ``reads`` names that attribute when another field already reads it with ``attribute=`` (marshmallow
    refuses two fields with one ``attribute``): ``locked`` from ``locked_at``, which ``lockedAt`` shows.
    """

    def __init__(self, reads=None, **kwargs):
        super().__init__(**kwargs)
        self.reads = reads

    def get_value(self, obj, attr, accessor=None, default=None):
        return super().get_value(obj, self.reads or attr, accessor, default)

    def _serialize(self, value, attr, obj, **kwargs):
        return value is not None


class StepWord(fields.String):
    """What the rules call a step (``displayName`` or ``description``), read from the step's name."""

    def __init__(self, key, fallback_to_name=False, **kwargs):
        super().__init__(**kwargs)
        self.key = key
        self.fallback_to_name = fallback_to_name

    def get_value(self, obj, attr, accessor=None, default=None):
        return obj.name

    def _serialize(self, value, attr, obj, **kwargs):
        entry = context()["rules"].steps.get(value, {})
        return entry.get(self.key, value if self.fallback_to_name else "")


class ProblemOut(Out):
    path = fields.String(metadata={"description": "Where: a dotted path into the request (`parameters.amount`)."})
    message = fields.String()
    errorCode = fields.String(attribute="code")


class ErrorOut(Out):
    """Read from a mapping: ``timestamp`` (a datetime), ``trace_id``, ``message``, ``code``, ``problems``."""

    timestamp = Timestamp()
    traceId = fields.String(attribute="trace_id")
    message = fields.String()
    errorCode = fields.String(attribute="code")
    errors = fields.List(fields.Nested(ProblemOut), attribute="problems")


class StepOut(Out):
    id = fields.UUID()
    name = fields.String()
    displayName = StepWord("displayName", fallback_to_name=True)
    description = StepWord("description")
    status = fields.String(metadata={"enum": ["CREATED", "ACTIVE", "COMPLETED", "DECLINED", "FAILED"]})
    data = fields.Dict(metadata={"description": (
        "The step's outcome, as its step kind tells it (empty until the step is done): `customerId` "
        "(customer-account, lookup-profile), `financialAccountId` with `maskedNumber`, `type`, `subtype`, "
        "`brand` (financial-account, lookup-financial-account), `accepted` documents with `version` and "
        "`acceptedAt`, and `authorizationId` for a debit authorization accepted with a bank account "
        "(document-acceptance; `GET /v2/authorizations/{id}`), `transactionId` with `transactionStatus`, and "
        "`financialAccountId` when the customer chose or added the account on the confirm page "
        "(move-money).")})


class ExpireInDays(fields.Integer):
    """The workflow's lifetime in whole days, from its creation to ``expireAt``, rounded up."""

    def get_value(self, obj, attr, accessor=None, default=None):
        return obj

    def _serialize(self, value, attr, obj, **kwargs):
        seconds = (value.expire_at - value.created_at).total_seconds()
        return max(0, math.ceil(seconds / 86400))


class WorkflowOut(Out):
    """A workflow row with its ``steps`` (a :class:`~gateway_app.api.render.View`); needs ``rules`` in the context."""

    id = fields.UUID()
    status = fields.String(metadata={"enum": ["CREATED", "ACTIVE", "COMPLETED", "DECLINED", "EXPIRED",
                                              "CANCELLED", "ARCHIVED", "FAILED"]})
    title = fields.String()
    currentStep = fields.Integer(attribute="current_step",
                                 metadata={"description": "Index of the step the customer does next."})
    steps = fields.Nested(StepOut, many=True)
    channel = fields.String()
    phoneNumber = fields.String(attribute="phone_number", allow_none=True)
    email = fields.String(allow_none=True)
    customerId = fields.UUID(attribute="customer_id", allow_none=True)
    parameters = fields.Dict(metadata={"description": "The parameters as accepted; amounts as decimal strings."})
    customerMemo = fields.String(attribute="customer_memo", allow_none=True)
    passcodeRequired = IsSet(attribute="passcode_hash")
    locked = IsSet(reads="locked_at", metadata={
        "description": "Too many wrong passcodes: the link opens only a page saying so, until a resend."})
    lockedAt = Timestamp(attribute="locked_at", allow_none=True, metadata={
        "description": "When the passcode attempts ran out (null when not locked; a resend clears it)."})
    expireAt = Timestamp(attribute="expire_at")
    expireIn = ExpireInDays(metadata={"description": "Days from creation to `expireAt`, rounded up: the "
                                                     "`expireIn` asked for, moved by any extension."})
    nextNotificationAt = Timestamp(attribute="next_notification_at", allow_none=True)
    completedAt = Timestamp(attribute="completed_at", allow_none=True)
    declineReason = fields.String(attribute="decline_reason", allow_none=True)
    recoveredFrom = fields.UUID(attribute="recovered_from", allow_none=True, metadata={
        "description": "The ended workflow this one recovers (POST .../recover), or null."})
    recoveredBy = fields.UUID(attribute="recovered_by", allow_none=True, metadata={
        "description": "The workflow that recovered this one, or null: a workflow is recovered at most once."})
    createdAt = Timestamp(attribute="created_at")
    updatedAt = Timestamp(attribute="updated_at")
    templateId = fields.UUID(attribute="template_id", allow_none=True, metadata={
        "description": "The template the workflow was made from (null: none)."})
    templateVersion = fields.Integer(attribute="template_version", allow_none=True)
    batchId = fields.UUID(attribute="batch_id", allow_none=True, metadata={
        "description": "The batch that made the workflow (null: none)."})


class WorkflowCreatedOut(WorkflowOut):
    passcode = fields.String(allow_none=True, metadata={
        "description": "The passcode the customer must enter, returned this once and stored only as a hash."})


class NotificationOut(Out):
    id = fields.UUID()
    serial = fields.Integer()
    channel = fields.String()
    origin = fields.String(metadata={"enum": list(MESSAGE_ORIGINS)})
    status = fields.String(metadata={"enum": ["QUEUED", "SENDING", "SENT", "DELIVERED", "UNDELIVERED", "FAILED",
                                              "SKIPPED", "UNKNOWN"]})
    errorCode = fields.String(attribute="error_code", allow_none=True)
    reason = fields.String(allow_none=True)
    notifiedAt = Timestamp(attribute="notified_at", allow_none=True)
    createdAt = Timestamp(attribute="created_at")


class NotificationHistoryOut(Out):
    content = fields.List(fields.Nested(NotificationOut))


class PageOut(Out):
    """One page of a list, read from a :class:`linx_core.services.paging.Page`.

    A list's schema subclasses it and declares ``content`` as the list of its items
    (``fields.List(fields.Nested(ItemOut), attribute="items")``); ``content`` stays the first key.
    """

    content = fields.List(fields.Raw(), attribute="items")
    page = fields.Integer()
    size = fields.Integer()
    totalElements = fields.Integer(attribute="total")
    totalPages = fields.Integer(attribute="pages")


class WorkflowPageOut(PageOut):
    """Its items are :class:`~gateway_app.api.render.View` s of workflows with their ``steps``."""

    content = fields.List(fields.Nested(WorkflowOut), attribute="items")
