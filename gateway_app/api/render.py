"""Every JSON response of the API goes through the schema that the OpenAPI document shows for it.

``render(WorkflowOut, workflow)`` dumps the object with that schema: a value the schema does not
declare cannot be sent, and the document, generated from the same classes, cannot drift from what
is sent. The schemas read the store's rows themselves (``attribute=`` for snake_case columns, a few
fields of :mod:`gateway_app.api.schemas` for what a column alone does not say), so no response dict
is built by hand beside them.

What a schema needs from the runtime (the rules: a step's words, a currency's minor units) travels
in marshmallow's dump context: ``render(..., rules=rt.rules)``, read by a field with
:func:`context`. Values a row does not carry (a workflow's steps, a passcode shown once) are added
with :class:`View`.

One instance of each schema per thread: making a marshmallow schema costs more than dumping with
it, and ``create`` is benchmarked.
"""
import threading

import orjson
from flask import current_app
from flask.json.provider import DefaultJSONProvider
from marshmallow.experimental.context import Context

_local = threading.local()


def schema(cls):
    """This thread's instance of the schema class ``cls`` (made once)."""
    made = _local.__dict__.setdefault("schemas", {})
    instance = made.get(cls)
    if instance is None:
        instance = made[cls] = cls()
    return instance


def dump(cls, obj, **context):
    """``obj`` as the schema ``cls`` shows it: a dict of its declared fields only.

    ``context`` (e.g. ``rules=rt.rules``) is what the schema's fields read with :func:`context`.
    """
    with Context(context):
        return schema(cls).dump(obj)


def render(cls, obj, status=200, **context):
    """A JSON response of ``obj`` dumped by ``cls`` (see :func:`dump`), with ``status``."""
    response = json_response(dump(cls, obj, **context))
    response.status_code = status
    return response


#: what Flask's JSON provider writes, with orjson: keys in the provider's order; dates, Decimals and dataclasses
#: through Flask's own conversion (``default``), so the text means what Flask's would (orjson writes non-ASCII as
#: UTF-8, not as escapes)
_ORJSON = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def json_response(data):
    """``data`` as a JSON response, written by orjson (about ten times faster than the standard library); by
    Flask's provider when it is not Flask's default one, in debug (indented), or for what orjson cannot write
    (an integer past 64 bits)."""
    app = current_app
    provider = app.json
    if type(provider) is not DefaultJSONProvider or app.debug or provider.compact is False:
        return provider.response(data)
    try:
        text = orjson.dumps(data, default=provider.default,
                            option=_ORJSON | orjson.OPT_SORT_KEYS if provider.sort_keys else _ORJSON)
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return provider.response(data)
    return app.response_class(text + b"\n", mimetype=provider.mimetype)


def context():
    """The dump context :func:`dump` was given (for a field that needs the rules)."""
    return Context.get()


class View:
    """``obj`` with a few more attributes: what a schema reads that the row itself does not carry.

    ``View(workflow, steps=steps, passcode=passcode)`` reads ``steps`` and ``passcode`` from the
    keywords and everything else from ``workflow``. An attribute that neither has is left out of the
    dump (marshmallow skips a missing value), as a passcode is when none was made.
    """

    __slots__ = ("_obj", "_extra")

    def __init__(self, obj, **extra):
        self._obj = obj
        self._extra = extra

    def __getattr__(self, name):
        extra = self._extra
        if name in extra:
            return extra[name]
        return getattr(self._obj, name)
