"""``/v2/events``: the business's event log, oldest first, so an integrator can catch up after downtime.

Each item is exactly the envelope a push notification carries (``{id, type,
createdAt, data}``), so one handler serves both.
"""
import datetime as dt

from flask import Blueprint, current_app, g, jsonify, request
from marshmallow import fields

from linx_core import events
from linx_core.errors import InvalidRequest, Problem
from linx_core.services import event_log

from .auth import require_business
from .paging import literal, page_dict, query_int
from .schemas import Out

bp = Blueprint("events", __name__)
bp.before_request(require_business)

QUERY = ("type", "since", "until", "page", "size")


class EventOut(Out):
    id = fields.UUID(metadata={"description": "The event id; push notifications carry it as `webhook-id`."})
    type = fields.String()  # its enum is the runtime's registered types: see add_paths
    createdAt = fields.String(metadata={"format": "date-time"})
    data = fields.Dict(metadata={"description": "What changed: ids, statuses, masked numbers; never a full number."})


class EventPageOut(Out):
    content = fields.List(fields.Nested(EventOut))
    page = fields.Integer()
    size = fields.Integer()
    totalElements = fields.Integer()
    totalPages = fields.Integer()


def _rt():
    return current_app.extensions["linx"]


@bp.get("/events")
def index():
    rt = _rt()
    args = request.args
    problems = [Problem(f"query.{k}", "Unknown query parameter.", "UNKNOWN_FIELD") for k in args if k not in QUERY]
    page = query_int(args, "page", 1, problems)
    size = query_int(args, "size", 20, problems)
    since = query_time(args, "since", problems)
    until = query_time(args, "until", problems)
    types = query_types(args, problems)
    if problems:
        raise InvalidRequest("The query is not valid.", problems)
    result = event_log.list_events(rt, g.business, types=types, since=since, until=until, page=page, size=size)
    return jsonify(page_dict(result, events.envelope))


def query_types(args, problems):
    """The event types asked for (``type`` repeated or comma-separated), or None for all.

    Present, ``type`` must name a type each time: an empty ``type=`` or ``a,,b`` is a fault, not
    "all types", so that a filter built from an empty variable cannot quietly list everything.
    """
    if "type" not in args:
        return None
    types = [t.strip() for raw in args.getlist("type") for t in raw.split(",")]
    if not all(types):
        problems.append(Problem("query.type", "Must name an event type; leave `type` out to list every type.",
                                "BLANK"))
    return [t for t in types if t]


def types_pattern(names):
    """The regular expression of ``type``'s value in the OpenAPI document: known types, comma-separated."""
    one = "|".join(map(literal, names))
    return rf"^({one})(,({one}))*$"


def query_time(args, name, problems):
    """An ISO 8601 date-time (``2026-01-01T12:00:00Z``); without an offset it is UTC."""
    raw = args.get(name)
    if raw is None:
        return None
    text = raw.strip().replace(" ", "+")  # an unescaped "+hh:mm" arrives as a space
    try:
        value = dt.datetime.fromisoformat(text.replace("z", "Z").replace("Z", "+00:00"))
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
    except (ValueError, OverflowError):
        problems.append(Problem(f"query.{name}", "Must be an ISO 8601 date-time, like 2026-01-01T12:00:00Z.",
                                "INVALID_DATE_TIME"))
        return None


def add_paths(spec, errors, event_types=None):
    """Document ``/v2/events`` on ``spec`` (an apispec ``APISpec``); ``errors(*codes)`` gives error responses.

    ``event_types`` is the runtime's registry (the core's types when left out): the ``type`` enum,
    the filter's pattern and its description are read from it.
    """
    names = (event_types if event_types is not None else events.registry()).names
    if "EventPage" not in spec.components.schemas:
        spec.components.schema("EventPage", schema=EventPageOut)
        spec.components.schemas["Event"]["properties"]["type"]["enum"] = list(names)
    spec.path(path="/v2/events", operations={
        "get": {
            "summary": "List events (the event log)",
            "description": "The business's events, oldest first, in the same envelope as push notifications. "
                           "After downtime, page through with `since` set to the last `createdAt` you handled "
                           "(inclusive: skip ids you have seen).",
            "security": [{"bearer": []}],
            "parameters": [
                {"name": "type", "in": "query", "schema": {"type": "string", "pattern": types_pattern(names)},
                 "description": f"Only events of these types ({', '.join(names)}); repeat it or "
                                f"separate types with commas for several. Leave it out for every type: an empty "
                                f"value is refused (400)."},
                {"name": "since", "in": "query", "schema": {"type": "string", "format": "date-time"},
                 "description": "Events created at or after this time (UTC when no offset is given)."},
                {"name": "until", "in": "query", "schema": {"type": "string", "format": "date-time"},
                 "description": "Events created before this time."},
                {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "default": 1}},
                {"name": "size", "in": "query", "schema": {"type": "integer", "minimum": 1, "default": 20},
                 "description": "Page size."},
            ],
            "responses": {"200": {"description": "One page, oldest first.",
                                  "content": {"application/json": {"schema": "EventPage"}}},
                          **errors(400, 401)},
        },
    })
