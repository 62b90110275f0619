"""marshmallow fields for the parameter types a rule file can name."""
import re
import uuid
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

import phonenumbers
from marshmallow import ValidationError, fields

from ..text import CONTROL_PATTERN, has_controls
from .messages import Coded, RuleEmail, RuleLength, RuleOneOf, RuleRange

PARAMETER_TYPES = ("string", "enum", "phone", "email", "uuid", "money", "list", "object", "boolean")


def control_characters() -> Coded:
    """The refusal of a string holding a control character (400: like a wrong type, it is no text of any rule)."""
    return Coded("Must not contain control characters (line breaks, tabs, escapes, NUL) or direction "
                 "overrides.", "CONTROL_CHARACTER", 400)


class PlainText(fields.String):
    """A string with no control character (:mod:`linx_core.text`): a caller's free text, which reaches messages,
    pages and logs. The OpenAPI document shows the rule as a ``pattern``, unless the field states a pattern or a
    format of its own (a phone number, a UUID) or its values (``show_pattern=False``, an enum), none of which
    holds a control character."""

    def __init__(self, *, show_pattern: bool = True, **kwargs: Any) -> None:
        metadata = dict(kwargs.get("metadata") or {})
        if show_pattern and "pattern" not in metadata and "format" not in metadata:
            metadata["pattern"] = CONTROL_PATTERN
        super().__init__(**dict(kwargs, metadata=metadata))

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None,
                     **kwargs: Any) -> str:
        value = super()._deserialize(value, attr, data, **kwargs)
        if has_controls(value):  # before any trimming: the pattern speaks of the text as sent
            raise ValidationError(control_characters())
        return value


class Text(PlainText):
    """A plain string; blank strings are refused and surrounding space is trimmed."""

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None,
                     **kwargs: Any) -> str:
        value = super()._deserialize(value, attr, data, **kwargs).strip()
        if not value:
            raise ValidationError(Coded("Must not be blank.", "BLANK"))
        return value


class Phone(Text):
    """An E.164 phone number: a known country code and a possible length for it.

    Possible, not "valid": the seeds' +16471234567 has an exchange (123) that is
    not assignable in North America, and the carrier is the judge of that (Twilio
    answers 21211, handled by the SMS channel).
    """

    #: a North American number already in E.164 form, whose area code does not begin with 1 (nor 0): libphonenumber
    #: would find it possible (ten national digits) and write it back unchanged, no national prefix to strip; the
    #: test suite checks that against libphonenumber for every such area code
    NANP_E164 = re.compile(r"\+1[2-9][0-9]{9}")

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None,
                     **kwargs: Any) -> str:
        value = super()._deserialize(value, attr, data, **kwargs)
        if self.NANP_E164.fullmatch(value):
            return value
        try:
            number = phonenumbers.parse(value, None)
        except phonenumbers.NumberParseException:
            number = None
        if number is None or not phonenumbers.is_possible_number(number):
            raise ValidationError(Coded("Not a valid phone number in E.164 form (like +16471234567).",
                                        "INVALID_PHONE"))
        formatted = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        if formatted != value:
            raise ValidationError(Coded(f"Use E.164 form: {formatted}.", "INVALID_PHONE"))
        return formatted


class Uuid(Text):
    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None,
                     **kwargs: Any) -> str:
        value = super()._deserialize(value, attr, data, **kwargs)
        try:
            return str(uuid.UUID(value))
        except ValueError:
            raise ValidationError(Coded("Not a valid UUID.", "INVALID_ID")) from None


class Money(fields.Decimal):
    """A decimal amount given as a JSON number or a numeric string; never a float, never a bool."""

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None,
                     **kwargs: Any) -> Decimal:
        if isinstance(value, (bool, float)):
            # Floats cannot reach here through the API (JSON numbers parse as Decimal);
            # refusing them keeps a caller in Python from slipping binary fractions in.
            raise self.make_error("invalid")
        if isinstance(value, str) and len(value) > 40:
            raise self.make_error("invalid")
        result = super()._deserialize(value, attr, data, **kwargs)
        if result <= 0:
            raise ValidationError(Coded("Must be greater than 0.", "NOT_POSITIVE"))
        if result.adjusted() > 15:
            raise ValidationError(Coded("Is too large.", "OUT_OF_RANGE"))
        # 1E+2 and "1e2" are 100: keep the plain form, which is how the amount reads back. Only a positive exponent
        # changes in that form (and is at most 15 here); "1e-999999999" written out would be a gigabyte of zeros.
        exponent = result.as_tuple().exponent
        return Decimal(format(result, "f")) if isinstance(exponent, int) and exponent > 0 else result


class WholeNumber(fields.Field):
    """A whole number given as a JSON integer or a string of digits (the seeds send "2")."""

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None,
                     **kwargs: Any) -> int:
        if isinstance(value, bool):
            raise ValidationError("Not a valid whole number.")
        if isinstance(value, int):
            return value
        if isinstance(value, Decimal) and value == value.to_integral_value() and value.is_finite():
            return int(value)
        if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit() and len(value) < 12:
            return int(value.strip())
        raise ValidationError("Not a valid whole number.")


class StrictBoolean(fields.Boolean):
    """true or false, nothing else."""

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None,
                     **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


def field_for(spec: Mapping[str, Any], catalog: Mapping[str, Any], required: bool = False,
              build_object: Callable[[Mapping[str, Any]], Any] | None = None) -> fields.Field:
    """The marshmallow field for a parameter spec from a rule file."""
    kind = spec["type"]
    meta: dict[str, Any] = {"description": spec.get("description", "")}
    common: dict[str, Any] = {"required": required, "metadata": meta}
    if kind == "string":
        return Text(validate=RuleLength(min=spec.get("minLength", 1), max=spec.get("maxLength")), **common)
    if kind == "enum":
        return Text(validate=RuleOneOf(list(catalog[spec["values"]])), show_pattern=False, **common)
    if kind == "phone":
        meta.update(example="+16471234567", pattern=r"^\+[1-9]\d{1,14}$")
        return Phone(**common)
    if kind == "email":
        return Text(validate=[RuleEmail(), RuleLength(max=spec.get("maxLength", 254))], **common)
    if kind == "uuid":
        meta["format"] = "uuid"
        return Uuid(**common)
    if kind == "money":
        meta["example"] = "256.25"
        return Money(allow_nan=False, **common)
    if kind == "boolean":
        return StrictBoolean(**common)
    if kind == "list":
        inner = field_for(spec["items"], catalog, True, build_object)
        return fields.List(inner, validate=RuleLength(min=spec.get("minItems"), max=spec.get("maxItems")),
                           **common)
    if kind == "object":
        if build_object is None:
            raise ValueError("an object parameter needs build_object")
        return fields.Nested(build_object(spec), **common)
    raise ValueError(kind)


__all__ = ["field_for", "PARAMETER_TYPES", "WholeNumber", "StrictBoolean", "PlainText", "Text", "Money", "RuleRange",
           "control_characters"]
