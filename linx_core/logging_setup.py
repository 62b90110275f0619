"""Logging for ``linx serve`` and ``linx worker``: text or JSON lines, each carrying the request's trace id.

:func:`configure` installs one handler on the root logger. With ``LINX_LOG_FORMAT=json``
every record is one line holding one JSON object::

    {"time": "2026-01-01T12:00:00.123Z", "level": "ERROR", "logger": "linx.http",
     "message": "...", "traceId": "4bf92f3577b34da6a3ce929d0e0e4736", "exc": "Traceback ..."}

``traceId`` is there while a request is being served: the web layer puts the request's
trace id (the one it answers in ``X-Trace-Id``) in :data:`trace_id` and a filter on the
handler copies it onto every record, whichever logger wrote it. This module imports
no Flask: anything that runs a unit of work (a request, a job) can set :data:`trace_id`.

A line is one record, whatever the record holds: a caller's text that reaches a message (a title written
before the API refused control characters, a provider's answer) could otherwise start a line that looks
like LinX's own. The text format writes the message's control characters as escapes (``\n``, ``\x1b``,
``\u202e``: :func:`linx_core.text.escape_controls`); the JSON format escapes, besides what JSON must,
the characters JSON allows raw that some readers take as a line break or a change of direction. A
traceback, which is lines by nature, stays as Python writes it after its record's line.
"""
import contextvars
import datetime as dt
import json
import logging
import re
import sys
from typing import IO, Any

from .errors import ConfigurationError
from .text import CONTROL, escape_controls

FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

#: The trace id of the unit of work this context is doing (a request), or ``None``.
trace_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("linx_trace_id", default=None)

# The attributes every LogRecord has; anything else on a record came from ``extra=``.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "trace_id"}


def set_trace_id(value: str | None) -> contextvars.Token[str | None]:
    """Make ``value`` the current trace id; returns the token for :func:`reset_trace_id`."""
    return trace_id.set(value or None)


def reset_trace_id(token: contextvars.Token[str | None] | None = None) -> None:
    """Undo :func:`set_trace_id` (or forget the trace id when the token belongs to another context)."""
    if token is not None:
        try:
            trace_id.reset(token)
            return
        except ValueError:  # the token was made in another context
            pass
    trace_id.set(None)


class TraceIdFilter(logging.Filter):
    """Puts the current trace id on each record as ``record.trace_id`` (``None`` outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "trace_id", None) is None:
            record.trace_id = trace_id.get()
        return True


class TextFormatter(logging.Formatter):
    """The classic one-line format, with ``trace=<id>`` at the end of a request's lines."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def formatMessage(self, record: logging.LogRecord) -> str:
        """The record's line, its control characters escaped (the traceback, if any, follows as it is)."""
        return escape_controls(super().formatMessage(record))

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        trace = getattr(record, "trace_id", None)
        if trace:
            first, sep, rest = text.partition("\n")
            text = f"{first} trace={trace}{sep}{rest}"
        return text


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line (newlines inside values are escaped by JSON)."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC)
                      .isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        trace = getattr(record, "trace_id", None)
        if trace:
            data["traceId"] = trace
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            data["exc"] = record.exc_text
        if record.stack_info:
            data["stack"] = self.formatStack(record.stack_info)
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_") and key not in data:
                data[key] = value
        # json.dumps escapes U+0000-U+001F; DEL, the C1 controls, U+2028/U+2029 and the direction overrides it
        # writes raw, and only inside strings, where \uXXXX means the same character
        return CONTROL.sub(_json_escape, json.dumps(data, default=str, ensure_ascii=False))


def _json_escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


class LinxHandler(logging.StreamHandler):
    """The handler :func:`configure` installs: ``_linx`` tells it from a test runner's or an application's."""

    _linx = True


def configure(settings: object = None, *, log_format: str | None = None, level: int = logging.INFO,
              stream: IO[str] | None = None) -> logging.Handler:
    """Send log records to ``stream`` (stderr) in ``settings.log_format`` (``LINX_LOG_FORMAT``: text or json).

    ``log_format`` overrides the setting. Calling it again replaces the handler it installed before
    (and never touches other handlers, such as a test runner's). Returns the handler.
    """
    chosen = (log_format or getattr(settings, "log_format", None) or "text").strip().lower()
    if chosen not in FORMATS:
        raise ConfigurationError(f"LINX_LOG_FORMAT={chosen!r}: use text or json.")
    handler = LinxHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonFormatter() if chosen == "json" else TextFormatter())
    handler.addFilter(TraceIdFilter())
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_linx", False)]:
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(level)
    return handler


def unconfigure() -> None:
    """Remove the handler :func:`configure` installed (for tests)."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_linx", False)]:
        root.removeHandler(old)
