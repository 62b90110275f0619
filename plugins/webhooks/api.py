"""``/v2/push-notifications``: webhook subscriptions, their delivery log and manual redelivery.

The schemas and the OpenAPI paths are module-level (:func:`add_paths`); the routes are
made by :func:`blueprint` from the web layer's helpers that ``linx_register_blueprints``
hands to plugins (``web``: API keys, ``Idempotency-Key``, strict JSON bodies, paging), so
this plugin imports nothing from the web layer.
"""
import functools

from flask import Blueprint, current_app, g, jsonify, request, url_for
from marshmallow import Schema, ValidationError, fields

from linx_core import events
from linx_core.errors import InvalidRequest, LinxError, Problem, RuleViolation
from linx_core.rules.fields import PlainText
from linx_core.rules.messages import RuleLength, flatten, worst_status
from linx_core.rules.meta import Strict

from . import delivery, guard, subscriptions
from .signing import iso

STATUSES = list(subscriptions.STATUSES)


class Out(Schema):
    class Meta:
        ordered = True


# -- request bodies --------------------------------------------------------------------------------


@functools.lru_cache(maxsize=8)
def request_schemas(names):
    """``(create, update)`` request schemas for the registered event type ``names`` (a tuple)."""
    types_doc = f"Event types to receive: any of {', '.join(names)}, or `{subscriptions.ALL_TYPES}` for all."

    class SubscriptionUpdateIn(Strict):
        # free text, like a workflow's: no control character (400 CONTROL_CHARACTER, a pattern in OpenAPI)
        description = PlainText(validate=RuleLength(max=subscriptions.MAX_DESCRIPTION_LENGTH),
                                    metadata={"description": "A note for you, at most 200 characters."})
        url = PlainText(metadata={
            "description": "The receiver: http(s), no credentials, at most 2000 characters, reachable on the "
                           "internet (private and loopback addresses are refused).",
            "maxLength": guard.MAX_URL_LENGTH})
        eventTypes = fields.List(PlainText(), validate=RuleLength(min=1, max=len(names) + 1),
                                 metadata={"description": types_doc})

    class SubscriptionCreateIn(SubscriptionUpdateIn):
        url = PlainText(required=True, metadata=SubscriptionUpdateIn._declared_fields["url"].metadata)
        eventTypes = fields.List(PlainText(), required=True, validate=RuleLength(min=1, max=len(names) + 1),
                                 metadata={"description": types_doc})

    return SubscriptionCreateIn, SubscriptionUpdateIn


def _load(web, schema):
    body = web.json_body()
    if not isinstance(body, dict):
        raise InvalidRequest("The body must be a JSON object.",
                             [Problem("$", "Must be a JSON object.", "INVALID_TYPE")])
    try:
        return schema().load(body)
    except ValidationError as exc:
        problems = flatten(exc.messages)
        if worst_status(exc.messages) == 400:
            raise InvalidRequest("The request is malformed.", problems) from None
        raise RuleViolation("The request breaks the rules.", problems) from None


# -- responses -------------------------------------------------------------------------------------


class SubscriptionOut(Out):
    id = fields.UUID()
    description = fields.String()
    url = fields.String()
    eventTypes = fields.List(fields.String())
    status = fields.String(metadata={
        "enum": STATUSES, "description": "ACTIVE receives events; SUSPENDED by you; DISABLED after the receiver "
                                         "answered 410 Gone. Unsuspend makes either ACTIVE again."})
    previousSecretExpiresAt = fields.String(allow_none=True, metadata={
        "format": "date-time", "description": "During a secret rotation: when the previous secret stops signing."})
    createdAt = fields.String(metadata={"format": "date-time"})
    updatedAt = fields.String(metadata={"format": "date-time"})


class SubscriptionSecretOut(SubscriptionOut):
    secret = fields.String(allow_none=True, metadata={
        "description": "The signing secret (`whsec_...`), returned this once. Verify deliveries with any "
                       "Standard Webhooks library."})


class SubscriptionPageOut(Out):
    content = fields.List(fields.Nested(SubscriptionOut))
    page = fields.Integer()
    size = fields.Integer()
    totalElements = fields.Integer()
    totalPages = fields.Integer()


class DeliveryOut(Out):
    id = fields.UUID()
    subscriptionId = fields.UUID()
    eventId = fields.UUID()
    eventType = fields.String()
    attempt = fields.Integer(metadata={"description": "1 for the first attempt at this event, then counting up."})
    outcome = fields.String(metadata={"enum": ["SUCCEEDED", "FAILED"]})
    httpStatus = fields.Integer(allow_none=True, metadata={"description": "Absent when no answer came."})
    error = fields.String(allow_none=True)
    durationMs = fields.Integer()
    manual = fields.Boolean(metadata={"description": "Sent because of a manual redelivery."})
    createdAt = fields.String(metadata={"format": "date-time"})


class DeliveryPageOut(Out):
    content = fields.List(fields.Nested(DeliveryOut))
    page = fields.Integer()
    size = fields.Integer()
    totalElements = fields.Integer()
    totalPages = fields.Integer()


class RedeliveryOut(Out):
    subscriptionId = fields.UUID()
    eventId = fields.UUID()
    jobId = fields.UUID()
    status = fields.String(metadata={"enum": ["QUEUED"]})


def subscription_dict(subscription, secret=None):
    data = {
        "id": str(subscription.id),
        "description": subscription.description,
        "url": subscription.url,
        "eventTypes": list(subscription.event_types),
        "status": subscription.status,
        "previousSecretExpiresAt": iso(subscriptions.previous_secret_expires_at(subscription)),
        "createdAt": iso(subscription.created_at),
        "updatedAt": iso(subscription.updated_at),
    }
    if secret is not None:
        data["secret"] = secret
    return data


def delivery_dict(delivery):
    return {
        "id": str(delivery.id),
        "subscriptionId": str(delivery.subscription_id),
        "eventId": str(delivery.event_id),
        "eventType": delivery.event.type,
        "attempt": delivery.attempt,
        "outcome": delivery.outcome,
        "httpStatus": delivery.http_status,
        "error": delivery.error,
        "durationMs": delivery.duration_ms,
        "manual": delivery.manual,
        "createdAt": iso(delivery.created_at),
    }


def _rt():
    return current_app.extensions["linx"]


def _query(web, allowed):
    problems = [Problem(f"query.{k}", "Unknown query parameter.", "UNKNOWN_FIELD")
                for k in request.args if k not in allowed]
    page = web.query_int(request.args, "page", 1, problems)
    size = web.query_int(request.args, "size", 20, problems)
    if problems:
        raise InvalidRequest("The query is not valid.", problems)
    return page, size


# -- routes ----------------------------------------------------------------------------------------


def blueprint(web):
    """The ``push_notifications`` blueprint (mount it under ``/v2``), its views made with ``web``'s helpers."""
    bp = Blueprint("push_notifications", __name__)
    bp.csrf_exempt = True  # an API: each request carries its business's key, never a session cookie
    bp.before_request(web.require_business)
    idempotent = web.idempotent

    @bp.before_request
    def _check_url_early():
        """Check a receiver URL before the request's transaction opens, so no DNS lookup holds the write lock."""
        if request.method not in ("POST", "PATCH"):
            return None
        try:
            body = web.parse_json(request.get_data(cache=True))
            if isinstance(body, dict) and isinstance(body.get("url"), str) and len(body["url"]) <= 2000:
                guard.check_url(_rt(), body["url"])
        except LinxError:
            pass  # the view reports it, in its place among the body's faults
        return None

    def schemas():
        return request_schemas(_rt().event_types.names)

    @bp.post("/push-notifications")
    @idempotent
    def create():
        data = _load(web, schemas()[0])
        subscription, secret = subscriptions.create(_rt(), g.business, data["url"], data["eventTypes"],
                                                    data.get("description", ""))
        response = jsonify(subscription_dict(subscription, secret))
        response.status_code = 201
        response.headers["Location"] = url_for("push_notifications.show", subscription_id=subscription.id)
        return response

    @bp.get("/push-notifications")
    def index():
        page, size = _query(web, ("page", "size"))
        result = subscriptions.list_subscriptions(_rt(), g.business, page=page, size=size)
        return jsonify(web.page_dict(result, subscription_dict))

    @bp.get("/push-notifications/<subscription_id>")
    def show(subscription_id):
        return jsonify(subscription_dict(subscriptions.get(g.business, subscription_id)))

    @bp.patch("/push-notifications/<subscription_id>")
    def update(subscription_id):
        subscriptions.get(g.business, subscription_id)  # 404 before 400/422
        data = _load(web, schemas()[1])
        changes = {{"eventTypes": "event_types"}.get(k, k): v for k, v in data.items()}
        return jsonify(subscription_dict(subscriptions.update(_rt(), g.business, subscription_id, **changes)))

    @bp.delete("/push-notifications/<subscription_id>")
    def destroy(subscription_id):
        subscriptions.delete(g.business, subscription_id)
        return "", 204

    @bp.post("/push-notifications/<subscription_id>/suspend")
    @idempotent
    def suspend(subscription_id):
        return jsonify(subscription_dict(subscriptions.suspend(g.business, subscription_id)))

    @bp.post("/push-notifications/<subscription_id>/unsuspend")
    @idempotent
    def unsuspend(subscription_id):
        return jsonify(subscription_dict(subscriptions.unsuspend(g.business, subscription_id)))

    @bp.post("/push-notifications/<subscription_id>/rotate-secret")
    @idempotent
    def rotate_secret(subscription_id):
        subscription, secret = subscriptions.rotate_secret(_rt(), g.business, subscription_id)
        return jsonify(subscription_dict(subscription, secret))

    @bp.get("/push-notifications/<subscription_id>/deliveries")
    def deliveries(subscription_id):
        subscriptions.get(g.business, subscription_id)
        page, size = _query(web, ("page", "size", "eventId"))
        result = delivery.deliveries(_rt(), g.business, subscription_id, page=page, size=size,
                                     event_id=request.args.get("eventId"))
        return jsonify(web.page_dict(result, delivery_dict))

    @bp.post("/push-notifications/<subscription_id>/events/<event_id>/redeliver")
    @idempotent
    def redeliver(subscription_id, event_id):
        job = delivery.redeliver(_rt(), g.business, subscription_id, event_id)
        response = jsonify({"subscriptionId": job.payload["subscriptionId"], "eventId": job.payload["eventId"],
                            "jobId": str(job.id), "status": "QUEUED"})
        response.status_code = 202
        return response

    return bp


# -- OpenAPI ---------------------------------------------------------------------------------------

DELIVERY_DOC = (
    "Each event is POSTed to `url` as `{id, type, createdAt, data}` (compact JSON), signed per Standard Webhooks: "
    "`webhook-id` (the event id, the same on every retry: your dedupe key), `webhook-timestamp` (unix seconds) "
    "and `webhook-signature` (`v1,<base64 HMAC-SHA256 of \"{id}.{timestamp}.{body}\">` under the secret; during "
    "a rotation one signature per secret, space separated). Only 2xx is success; redirects are not followed; "
    "410 Gone disables the subscription. Failed attempts are retried after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, "
    "14 h, 20 h and 24 h (+-10%), or later when a 429/502/503/504 carries `Retry-After`. Timeout: 15 s. "
    "Missed events can be read back from `GET /v2/events`.")


def add_paths(spec, errors, event_types=None):
    """Document ``/v2/push-notifications`` on ``spec`` (an apispec ``APISpec``); ``errors(*codes)`` gives
    error responses; ``event_types`` is the runtime's registry (the core's types when left out)."""
    create_in, update_in = request_schemas((event_types if event_types is not None else events.registry()).names)
    for name, schema in (("PushNotificationCreateRequest", create_in),
                         ("PushNotificationUpdateRequest", update_in),
                         ("PushNotification", SubscriptionOut),
                         ("PushNotificationWithSecret", SubscriptionSecretOut),
                         ("PushNotificationPage", SubscriptionPageOut),
                         ("PushNotificationDeliveryPage", DeliveryPageOut),
                         ("PushNotificationRedelivery", RedeliveryOut)):
        if name not in spec.components.schemas:
            spec.components.schema(name, schema=schema)
    auth = [{"bearer": []}]
    idem = {"name": "Idempotency-Key", "in": "header", "required": False,
            "schema": {"type": "string", "minLength": 6, "maxLength": 255},
            "description": "Repeat a request safely: the same key and body replay the first success."}
    sid = {"name": "subscriptionId", "in": "path", "required": True, "schema": {"type": "string", "format": "uuid"}}
    paging = [{"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "default": 1}},
              {"name": "size", "in": "query", "schema": {"type": "integer", "minimum": 1, "default": 20}}]

    def body(name):
        return {"required": True, "content": {"application/json": {"schema": name}}}

    def ok(description, name, code="200"):
        return {code: {"description": description, "content": {"application/json": {"schema": name}}}}

    def action(summary, description):
        return {"post": {"summary": summary, "description": description, "security": auth, "parameters": [sid, idem],
                         "responses": {**ok("The subscription.", "PushNotification"), **errors(401, 404, 409)}}}

    base = "/v2/push-notifications"
    spec.path(path=base, operations={
        "post": {"summary": "Subscribe to push notifications", "description": DELIVERY_DOC, "security": auth,
                 "parameters": [idem], "requestBody": body("PushNotificationCreateRequest"),
                 "responses": {**ok("Created. `secret` appears this once.", "PushNotificationWithSecret", "201"),
                               **errors(400, 401, 409, 413, 422)}},
        "get": {"summary": "List subscriptions", "security": auth, "parameters": paging,
                "responses": {**ok("One page, oldest first.", "PushNotificationPage"), **errors(400, 401)}},
    })
    spec.path(path=base + "/{subscriptionId}", operations={
        "get": {"summary": "Get a subscription", "security": auth, "parameters": [sid],
                "responses": {**ok("The subscription.", "PushNotification"), **errors(401, 404)}},
        "patch": {"summary": "Change a subscription", "description": "Send only the fields to change.",
                  "security": auth, "parameters": [sid], "requestBody": body("PushNotificationUpdateRequest"),
                  "responses": {**ok("The subscription.", "PushNotification"), **errors(400, 401, 404, 413, 422)}},
        "delete": {"summary": "Delete a subscription", "description": "Its delivery log goes with it.",
                   "security": auth, "parameters": [sid],
                   "responses": {"204": {"description": "Deleted."}, **errors(401, 404)}},
    })
    spec.path(path=base + "/{subscriptionId}/suspend", operations=action(
        "Suspend a subscription", "No events are delivered while it is suspended (the event log keeps them)."))
    spec.path(path=base + "/{subscriptionId}/unsuspend", operations=action(
        "Unsuspend a subscription", "Delivery resumes with the next event; also re-enables a DISABLED one."))
    rotate = action("Rotate the signing secret",
                    "Issues a new secret, returned this once. For 24 hours the previous secret signs too "
                    "(two signatures in `webhook-signature`), so receivers can switch without losing a message.")
    rotate["post"]["responses"].update(ok("The subscription and its new secret.", "PushNotificationWithSecret"))
    spec.path(path=base + "/{subscriptionId}/rotate-secret", operations=rotate)
    spec.path(path=base + "/{subscriptionId}/deliveries", operations={
        "get": {"summary": "The delivery log", "description": "Every attempt, newest first.", "security": auth,
                "parameters": [sid, *paging, {"name": "eventId", "in": "query",
                                              "schema": {"type": "string", "format": "uuid"},
                                              "description": "Only the attempts at this event."}],
                "responses": {**ok("One page, newest first.", "PushNotificationDeliveryPage"),
                              **errors(400, 401, 404)}},
    })
    spec.path(path=base + "/{subscriptionId}/events/{eventId}/redeliver", operations={
        "post": {"summary": "Deliver an event again", "description": "Queues a fresh delivery now, with the same "
                                                                     "`webhook-id`; retried like any other.",
                 "security": auth,
                 "parameters": [sid, {"name": "eventId", "in": "path", "required": True,
                                      "schema": {"type": "string", "format": "uuid"}}, idem],
                 "responses": {**ok("Queued.", "PushNotificationRedelivery", "202"), **errors(401, 404, 409, 422)}},
    })
