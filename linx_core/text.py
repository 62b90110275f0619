"""Characters no free text from a caller may hold, and how a log line writes those that reach it anyway.

A title, a message or a memo sent through the API ends up in an SMS, an email, a page, a bank's file and
the logs. A line break there forges a line of a log (``...\\n2026-01-01 12:00:00 INFO linx.console: ...``),
an escape sequence rewrites a terminal, and a bidirectional override (U+202E) shows text in another order
than it is stored. None of them has a use in a one-line field, so the API refuses them
(:data:`CONTROL_PATTERN`, which the OpenAPI document states), and the log formatters write what comes from
elsewhere (rows from before the refusal, a provider's answer) escaped (:func:`escape_controls`).

The set: the C0 controls (TAB, LF and CR included), DEL and the C1 controls, the line and paragraph
separators, and the bidirectional embeddings, overrides and isolates (the Trojan Source characters).
Joiners and marks that scripts and emoji need (U+200C, U+200D, U+200E, U+200F) stay allowed.
"""
import re

#: the refused characters, as a regular-expression class body that Python and ECMA-262 (JSON Schema) both read
CONTROL_CLASS = r"\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069"
#: what a caller's free text must match: no character of :data:`CONTROL_CLASS` (``pattern`` in OpenAPI)
CONTROL_PATTERN = rf"^[^{CONTROL_CLASS}]*$"
#: one refused character
CONTROL = re.compile(f"[{CONTROL_CLASS}]")

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def has_controls(text: str) -> bool:
    """Whether ``text`` holds a character the API refuses."""
    return CONTROL.search(text) is not None


def _escaped(match: re.Match[str]) -> str:
    char = match.group()
    return _NAMED.get(char) or (f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}")


def escape_controls(text: str) -> str:
    """``text`` with each refused character written as an escape (``\\n``, ``\\x1b``, ``\\u202e``): one line,
    shown in the order it is stored, whatever reads it."""
    return CONTROL.sub(_escaped, text)


__all__ = ["CONTROL", "CONTROL_CLASS", "CONTROL_PATTERN", "escape_controls", "has_controls"]
