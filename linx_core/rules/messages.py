"""Validation messages that carry their error code and HTTP status.

marshmallow keeps message objects as they are raised, so a :class:`Coded`
message raised by a rule-driven validator reaches the error body with its code.
Plain marshmallow messages are structural faults (400).
"""
from collections.abc import Mapping, Sequence
from typing import Any

from marshmallow import ValidationError, validate

from ..errors import Problem


class Coded(str):
    """A message with its error code and the HTTP status its fault deserves."""

    code: str
    status: int

    def __new__(cls, text: str, code: str, status: int = 422) -> "Coded":
        obj = str.__new__(cls, text)
        obj.code = code
        obj.status = status
        return obj

    def format(self, *args: Any, **kwargs: Any) -> "Coded":
        return Coded(str.format(self, *args, **kwargs), self.code, self.status)


_STRUCTURAL = {
    "Unknown field.": "UNKNOWN_FIELD",
    "Missing data for required field.": "REQUIRED_FIELD",
    "Field may not be null.": "NULL_VALUE",
    "Invalid input type.": "INVALID_TYPE",
}


def classify(message: object) -> tuple[str, int]:
    """(code, status) of a marshmallow message."""
    if isinstance(message, Coded):
        return message.code, message.status
    text = str(message)
    if text in _STRUCTURAL:
        return _STRUCTURAL[text], 400
    if text.startswith("Not a valid") or text.startswith("Special numeric"):
        return "INVALID_TYPE", 400
    return "INVALID_VALUE", 400


def flatten(messages: Any, prefix: str = "") -> list[Problem]:
    """marshmallow's nested error dict as a list of :class:`Problem`."""
    out: list[Problem] = []
    if isinstance(messages, dict):
        for key, value in messages.items():
            if key == "_schema":
                out += flatten(value, prefix)
                continue
            if isinstance(key, int):
                path = f"{prefix}[{key}]"
            else:
                path = f"{prefix}.{key}" if prefix else str(key)
            out += flatten(value, path)
    elif isinstance(messages, (list, tuple)):
        for message in messages:
            if isinstance(message, (dict, list)):
                out += flatten(message, prefix)
            else:
                code, _ = classify(message)
                out.append(Problem(prefix or "$", str(message), code))
    else:
        code, _ = classify(messages)
        out.append(Problem(prefix or "$", str(messages), code))
    return out


def worst_status(messages: Mapping[Any, Any] | Sequence[Any] | str) -> int:
    """400 if any message is structural, else 422."""
    statuses: list[int] = []

    def walk(m: object) -> None:
        if isinstance(m, dict):
            for v in m.values():
                walk(v)
        elif isinstance(m, (list, tuple)):
            for v in m:
                walk(v)
        else:
            statuses.append(classify(m)[1])

    walk(messages)
    return 400 if 400 in statuses or not statuses else 422


def _coded(base: type[validate.Validator], code: str) -> Any:
    """A subclass of the marshmallow validator ``base`` whose failure is a rule fault (422).

    Subclassing (not wrapping) keeps apispec able to read enums and lengths.
    """

    def __call__(self: Any, value: Any) -> Any:
        try:
            return base.__call__(self, value)
        except ValidationError as exc:
            raise ValidationError(Coded(exc.messages[0], code)) from None

    return type("Rule" + base.__name__, (base,), {"__call__": __call__})


RuleOneOf = _coded(validate.OneOf, "NOT_ALLOWED")
RuleLength = _coded(validate.Length, "LENGTH")
RuleRange = _coded(validate.Range, "OUT_OF_RANGE")
RuleEmail = _coded(validate.Email, "INVALID_EMAIL")
RuleRegexp = _coded(validate.Regexp, "INVALID_FORMAT")
