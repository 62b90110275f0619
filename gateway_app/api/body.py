"""Reading a JSON body strictly: exact decimals, no duplicate keys, clear faults."""
import json
from decimal import Decimal

from flask import request

from linx_core.errors import InvalidRequest, Problem


class _Duplicate(ValueError):
    pass


def _pairs(pairs):
    out = {}
    for key, value in pairs:
        if key in out:
            raise _Duplicate(key)
        out[key] = value
    return out


def _constant(name):
    raise ValueError(f"{name} is not a JSON number")


def json_body():
    """The request's JSON body with numbers as ``Decimal``/``int``, or :class:`InvalidRequest`."""
    mimetype = request.mimetype
    if mimetype != "application/json" and not (mimetype.startswith("application/") and mimetype.endswith("+json")):
        raise InvalidRequest("The body must be JSON.", [Problem(
            "header.Content-Type", f"Must be application/json, not {mimetype or 'missing'}.",
            "UNSUPPORTED_CONTENT_TYPE")], code="UNSUPPORTED_CONTENT_TYPE")
    raw = request.get_data(cache=True)
    return parse_json(raw)


def _check_strings(value, path):
    """Refuse strings that cannot be stored: lone surrogates (from \\ud800 escapes) and NUL."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
            bad = "\x00" in value
        except UnicodeEncodeError:
            bad = True
        if bad:
            raise InvalidRequest("The body holds a string that is not valid text.", [Problem(
                path.removeprefix("$."), "Holds a NUL character or a lone surrogate escape.", "INVALID_TEXT")],
                code="INVALID_TEXT")
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_strings(key, path)
            _check_strings(item, f"{path}.{key}" if path != "$" else key)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_strings(item, f"{path}[{i}]")


def parse_json(raw):
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidRequest("The body is not UTF-8.", [Problem("$", f"Byte {exc.start} is not UTF-8.",
                                                                 "INVALID_ENCODING")], code="MALFORMED_JSON") from None
    if not text.strip():
        raise InvalidRequest("The body is empty.", [Problem("$", "A JSON object is required.", "EMPTY_BODY")],
                             code="MALFORMED_JSON")
    try:
        data = json.loads(text, parse_float=Decimal, parse_constant=_constant, object_pairs_hook=_pairs)
        _check_strings(data, "$")
        return data
    except _Duplicate as exc:
        raise InvalidRequest("The JSON has a duplicate key.",
                             [Problem("$", f"The key {exc} appears twice.", "DUPLICATE_KEY")],
                             code="MALFORMED_JSON") from None
    except json.JSONDecodeError as exc:
        raise InvalidRequest("The body is not valid JSON.",
                             [Problem("$", f"Line {exc.lineno}, column {exc.colno}: {exc.msg}.", "MALFORMED_JSON")],
                             code="MALFORMED_JSON") from None
    except RecursionError:
        raise InvalidRequest("The body is nested too deeply.", [Problem("$", "Too deeply nested.", "MALFORMED_JSON")],
                             code="MALFORMED_JSON") from None
    except ValueError as exc:
        raise InvalidRequest("The body is not valid JSON.", [Problem("$", str(exc)[:200], "MALFORMED_JSON")],
                             code="MALFORMED_JSON") from None
