"""The shape of the rule files themselves, as marshmallow schemas.

A fault found here is reported with its file, line and dotted place.
"""
import string
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from .fields import PARAMETER_TYPES

NAME = validate.Regexp(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$", error="must be a name of letters, digits, - and _")


class Strict(Schema):
    class Meta:
        unknown = RAISE


class DecimalString(fields.Field):
    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None,
                     **kwargs: Any) -> Decimal:
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise ValidationError("must be a decimal written as a string, like \"0.01\"")
        try:
            result = Decimal(str(value))
        except InvalidOperation:
            raise ValidationError(f"{value!r} is not a decimal number") from None
        if not result.is_finite() or result <= 0:
            raise ValidationError("must be a positive decimal")
        return result


def _boolean(value: Any) -> bool:
    """A YAML true or false only (marshmallow's Boolean takes 1, "yes" and "on" too)."""
    if not isinstance(value, bool):
        raise ValidationError("must be true or false")
    return True


class ParameterSpec(Strict):
    type = fields.String(required=True, validate=validate.OneOf(PARAMETER_TYPES))
    description = fields.String()
    values = fields.String()
    minLength = fields.Integer(strict=True, validate=validate.Range(min=0))
    maxLength = fields.Integer(strict=True, validate=validate.Range(min=1, max=100_000))
    minItems = fields.Integer(strict=True, validate=validate.Range(min=0))
    maxItems = fields.Integer(strict=True, validate=validate.Range(min=1, max=10_000))
    currency = fields.String()
    items = fields.Nested(lambda: ParameterSpec())
    fields_ = fields.Dict(keys=fields.String(validate=NAME), values=fields.Nested(lambda: FieldSpec()),
                          data_key="fields")
    required = fields.Boolean()
    #: says who the customer is (a name, a contact): erasure drops it (linx_core/services/erasure.py)
    personal = fields.Raw(validate=lambda value: _boolean(value))

    @validates_schema
    def _by_type(self, data: dict[str, Any], **kwargs: Any) -> None:
        kind = data.get("type")
        if kind in ("phone", "email") and data.get("personal") is False:
            raise ValidationError("a phone or email parameter is always personal: leave `personal` out or true",
                                  "personal")
        if kind == "enum" and "values" not in data:
            raise ValidationError("an enum names its catalog list in `values`", "values")
        if kind == "list" and "items" not in data:
            raise ValidationError("a list describes its `items`", "items")
        if kind == "object" and "fields_" not in data:
            raise ValidationError("an object lists its `fields`", "fields")
        if kind == "money" and "currency" not in data:
            raise ValidationError("money names the parameter holding its `currency`", "currency")
        if data.get("minLength", 0) > data.get("maxLength", 10**9):
            raise ValidationError("minLength is greater than maxLength", "minLength")
        if data.get("minItems", 0) > data.get("maxItems", 10**9):
            raise ValidationError("minItems is greater than maxItems", "minItems")


class FieldSpec(ParameterSpec):
    pass


class StepParameters(Strict):
    required = fields.List(fields.String(), load_default=list)
    optional = fields.List(fields.String(), load_default=list)
    bySolution = fields.List(fields.String(), load_default=list)


class Condition(Strict):
    id = fields.String(required=True, validate=NAME)
    when = fields.Dict(keys=fields.String(), values=fields.List(fields.String(), validate=validate.Length(min=1)),
                       required=True, validate=validate.Length(min=1))
    require = fields.List(fields.String(), load_default=list)
    forbid = fields.List(fields.String(), load_default=list)
    allow = fields.Dict(keys=fields.String(), values=fields.List(fields.String()), load_default=dict)
    message = fields.String()

    @validates_schema
    def _does_something(self, data: dict[str, Any], **kwargs: Any) -> None:
        if not (data.get("require") or data.get("forbid") or data.get("allow")):
            raise ValidationError("a condition must require, forbid or allow something", "require")


PROFILE_FORM_FIELDS = ("firstName", "lastName", "email", "dateOfBirth", "street", "city", "state", "postalCode",
                       "country")


class StepForm(Strict):
    required = fields.List(fields.String(validate=validate.OneOf(PROFILE_FORM_FIELDS)), load_default=list)
    optional = fields.List(fields.String(validate=validate.OneOf(PROFILE_FORM_FIELDS)), load_default=list)


class StepSpec(Strict):
    order = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=1000))
    displayName = fields.String(required=True, validate=validate.Length(min=1, max=80))
    description = fields.String(load_default="")
    parameters = fields.Nested(StepParameters, load_default=lambda: StepParameters().load({}))
    conditions = fields.List(fields.Nested(Condition), load_default=list)
    form = fields.Nested(StepForm)


class Limit(Strict):
    min = DecimalString(required=True)
    max = DecimalString(required=True)

    @validates_schema
    def _ordered(self, data: dict[str, Any], **kwargs: Any) -> None:
        if "min" in data and "max" in data and data["min"] > data["max"]:
            raise ValidationError("min is greater than max", "min")


class SolutionParameters(Strict):
    required = fields.List(fields.String(), load_default=list)
    optional = fields.List(fields.String(), load_default=list)


class SolutionSpec(Strict):
    displayName = fields.String(required=True)
    description = fields.String(load_default="")
    transactionTypes = fields.List(fields.String(), required=True, validate=validate.Length(min=1))
    financialAccountSubTypes = fields.List(fields.String(), required=True, validate=validate.Length(min=1))
    priorities = fields.List(fields.String(), required=True, validate=validate.Length(min=1))
    parameters = fields.Nested(SolutionParameters, load_default=lambda: SolutionParameters().load({}))
    limits = fields.Dict(keys=fields.String(), values=fields.Nested(Limit), required=True,
                         validate=validate.Length(min=1))
    billingAddress = fields.String(validate=validate.OneOf(["required", "optional", "none"]), load_default="none")


class TextBounds(Strict):
    minLength = fields.Integer(strict=True, validate=validate.Range(min=0), load_default=0)
    maxLength = fields.Integer(strict=True, validate=validate.Range(min=1, max=100_000), required=True)

    @validates_schema
    def _ordered(self, data: dict[str, Any], **kwargs: Any) -> None:
        if "maxLength" in data and data.get("minLength", 0) > data["maxLength"]:
            raise ValidationError("minLength is greater than maxLength", "minLength")


class Expiry(Strict):
    defaultHours = fields.Integer(strict=True, required=True, validate=validate.Range(min=1))
    minHours = fields.Integer(strict=True, required=True, validate=validate.Range(min=1))
    maxHours = fields.Integer(strict=True, required=True, validate=validate.Range(min=1, max=24 * 366 * 5))

    @validates_schema
    def _ordered(self, data: dict[str, Any], **kwargs: Any) -> None:
        if set(data) >= {"defaultHours", "minHours", "maxHours"} and not (
            data["minHours"] <= data["defaultHours"] <= data["maxHours"]
        ):
            raise ValidationError("must satisfy minHours <= defaultHours <= maxHours", "defaultHours")


class Passcode(Strict):
    digits = fields.Integer(strict=True, validate=validate.Range(min=4, max=12), load_default=6)
    maxAttempts = fields.Integer(strict=True, validate=validate.Range(min=1, max=100), load_default=5)


class RecoverySpec(Strict):
    """``workflow.recovery``: whether a customer may recover an expired workflow from its link (the default for
    every business; ``linx business settings NAME --self-service-recovery on|off`` sets one business's own)."""

    selfService = fields.Boolean(truthy={True}, falsy={False}, load_default=False)
    #: how many self-service recoveries may follow one another in a chain of workflows (1: a workflow that a
    #: customer's press made is not offered the button again)
    maxSelfService = fields.Integer(strict=True, validate=validate.Range(min=1, max=10), load_default=1)


class WorkflowSpec(Strict):
    title = fields.Nested(TextBounds, required=True)
    customerMemo = fields.Nested(TextBounds, required=True)
    expiry = fields.Nested(Expiry, required=True)
    passcode = fields.Nested(Passcode, load_default=lambda: Passcode().load({}))
    maxSteps = fields.Integer(strict=True, validate=validate.Range(min=1, max=100), load_default=10)
    recovery = fields.Nested(RecoverySpec, load_default=lambda: RecoverySpec().load({}))


class Combination(Strict):
    id = fields.String(required=True, validate=NAME)
    first = fields.String()
    unique = fields.Boolean(validate=validate.Equal(True))
    ordered = fields.Boolean(validate=validate.Equal(True))
    exactlyOne = fields.List(fields.String(), validate=validate.Length(min=2))
    atMostOne = fields.List(fields.String(), validate=validate.Length(min=2))
    ifPresent = fields.String()
    requireOneOf = fields.List(fields.String(), validate=validate.Length(min=1))
    message = fields.String()

    KINDS = ("first", "unique", "ordered", "exactlyOne", "atMostOne", "ifPresent")

    @validates_schema
    def _one_kind(self, data: dict[str, Any], **kwargs: Any) -> None:
        kinds = [k for k in self.KINDS if k in data]
        if len(kinds) != 1:
            raise ValidationError(f"a combination rule has exactly one of {', '.join(self.KINDS)}", "id")
        if ("ifPresent" in data) != ("requireOneOf" in data):
            raise ValidationError("ifPresent goes with requireOneOf", "requireOneOf")


def _regex(value: str) -> None:
    import re

    try:
        re.compile(value)
    except (re.error, TypeError, ValueError) as exc:
        raise ValidationError(f"is not a valid regular expression: {exc}") from None
    if len(value) > 200:
        raise ValidationError("is longer than 200 characters")


CATALOG_ATTRIBUTES: dict[str, dict[str, fields.Field]] = {
    "currencies": {"minorUnits": fields.Integer(strict=True, required=True, validate=validate.Range(min=0, max=4))},
    "financialAccountSubTypes": {"kind": fields.String(required=True, validate=validate.OneOf(["CARD", "BANK"]))},
    "channels": {"contact": fields.String(required=True)},
    "documents": {
        "title": fields.String(required=True, validate=validate.Length(min=1, max=120)),
        "version": fields.String(required=True, validate=validate.Length(min=1, max=32)),
        "group": fields.String(load_default=""),
        "url": fields.String(),
        "kind": fields.String(validate=validate.OneOf(["debit-authorization"]), metadata={
            "description": "debit-authorization: accepting it on a workflow with a bank account keeps an "
                           "authorization record (GET /v2/authorizations)."}),
    },
    "countries": {"postalCode": fields.String(required=True, validate=_regex), "stateCodes": fields.Boolean()},
    "profileForm": {
        "maxLength": fields.Integer(strict=True, required=True, validate=validate.Range(min=1, max=1000)),
        "pattern": fields.String(validate=_regex),
    },
}


def catalog_entry_schema(section: str) -> Schema:
    """The schema of one entry of a catalog section (``currencies``, ``documents``...)."""
    attrs = CATALOG_ATTRIBUTES.get(section)
    if attrs is None:
        return Schema.from_dict(
            {"description": fields.String(), "label": fields.String()}, name=f"Catalog_{section}"
        )(unknown=RAISE)
    return Schema.from_dict(dict(attrs, description=fields.String(), label=fields.String()),
                            name=f"Catalog_{section}")(unknown=RAISE)


SECTION_SCHEMAS = {
    "parameters": ParameterSpec,
    "steps": StepSpec,
    "solutions": SolutionSpec,
}


PLACEHOLDERS = ("business", "title", "intro", "link", "expires", "amount", "currency", "account")
#: messages a rule folder may leave out (a copy of the rules made before they existed must load after an
#: upgrade): the shipped rules/messages.yaml's templates serve for the ones it does not have
#: (:func:`linx_core.rules.book.shipped_messages`)
OPTIONAL_MESSAGES = ("FAILURE_SEND", "FAILURE_REQUEST", "REVERSAL_SEND", "REVERSAL_REQUEST")
MESSAGE_ORIGINS = ("INITIAL", "MANUAL", "REMINDER", "EXPIRY", "COMPLETION", "COMPLETION_SEND", "COMPLETION_REQUEST",
                   *OPTIONAL_MESSAGES)


def _template(value: str) -> None:
    try:
        names = [name for _, name, spec, conv in string.Formatter().parse(value) if name is not None]
    except ValueError as exc:
        raise ValidationError(f"is not a valid template: {exc}") from None
    unknown = [n for n in names if n not in PLACEHOLDERS]
    if unknown:
        raise ValidationError(f"unknown placeholder {{{unknown[0]}}} (known: {', '.join(PLACEHOLDERS)})")


class MessageSpec(Strict):
    sms = fields.String(required=True, validate=[validate.Length(min=1, max=1600), _template])
    subject = fields.String(required=True, validate=[validate.Length(min=1, max=200), _template])
    text = fields.String(required=True, validate=[validate.Length(min=1, max=10_000), _template])


class Reminders(Strict):
    everyHours = fields.Integer(strict=True, required=True, validate=validate.Range(min=1, max=24 * 30))
    max = fields.Integer(strict=True, required=True, validate=validate.Range(min=0, max=100))


class SmsLimits(Strict):
    maxSegments = fields.Integer(strict=True, required=True, validate=validate.Range(min=1, max=10))


class SendRate(Strict):
    """How fast one sender of a channel may send (:mod:`linx_core.services.throttle`)."""

    perSecond = fields.Float(required=True, allow_nan=False, validate=validate.Range(min=0.001, max=10_000))


#: a long code's 1 SMS a second; an SMTP account's modest 10 a second
DEFAULT_RATES = {"SMS": {"perSecond": 1.0}, "EMAIL": {"perSecond": 10.0}}


class QuietHours(Strict):
    """No SMS that LinX starts between ``start`` and ``end`` in the customer's time (``HH:MM``)."""

    start = fields.String(required=True, validate=validate.Regexp(r"^([01][0-9]|2[0-3]):[0-5][0-9]$"))
    end = fields.String(required=True, validate=validate.Regexp(r"^([01][0-9]|2[0-3]):[0-5][0-9]$"))


class NotificationsSpec(Strict):
    reminders = fields.Nested(Reminders, required=True)
    sms = fields.Nested(SmsLimits, load_default=lambda: {"maxSegments": 2})
    rates = fields.Dict(keys=fields.String(validate=validate.Length(min=1, max=32)), values=fields.Nested(SendRate),
                        load_default=lambda: {k: dict(v) for k, v in DEFAULT_RATES.items()})
    quietHours = fields.Nested(QuietHours, load_default=lambda: {"start": "21:00", "end": "08:00"})


class NachaSpec(Strict):
    """The ACH rail's NACHA files: they carry full account numbers (the format requires them), so they are
    sealed at rest and purged ``retentionDays`` after their window's day. The default keeps a file through
    the 60 days in which a consumer may still dispute a debit (returns R05, R07, R10)."""

    retentionDays = fields.Integer(strict=True, validate=validate.Range(min=1, max=3660), load_default=90)


SECTION_SCHEMAS["messages"] = MessageSpec


MAX_MESSAGE_LIMIT = 10_000_000
#: the shipped rules/limits.yaml, for rule folders made before the section existed (copies of the rules kept
#: in LINX_RULES_DIR must load after an upgrade): the section, and each of its parts, is optional
DEFAULT_MESSAGE_LIMITS: dict[str, dict[str, int]] = {"recipient": {"perHour": 20, "perDay": 50},
                                                     "business": {"perDay": 25_000}}


class RecipientLimits(Strict):
    """Messages to one phone number or email address, across all of one business's workflows."""

    perHour = fields.Integer(strict=True, required=True, validate=validate.Range(min=1, max=MAX_MESSAGE_LIMIT))
    perDay = fields.Integer(strict=True, required=True, validate=validate.Range(min=1, max=MAX_MESSAGE_LIMIT))

    @validates_schema
    def _ordered(self, data: dict[str, Any], **kwargs: Any) -> None:
        if "perHour" in data and "perDay" in data and data["perHour"] > data["perDay"]:
            raise ValidationError("perHour is greater than perDay (a day holds the hour)", "perHour")


class BusinessLimits(Strict):
    perDay = fields.Integer(strict=True, required=True, validate=validate.Range(min=1, max=MAX_MESSAGE_LIMIT))


class MessageLimitsSpec(Strict):
    """The ``messageLimits`` section: what creates and resends may send (:mod:`linx_core.services.limits`)."""

    recipient = fields.Nested(RecipientLimits, load_default=lambda: dict(DEFAULT_MESSAGE_LIMITS["recipient"]))
    business = fields.Nested(BusinessLimits, load_default=lambda: dict(DEFAULT_MESSAGE_LIMITS["business"]))
