"""Bearer API keys and the ``Idempotency-Key`` header for the business API."""
import hashlib
import json
from functools import wraps

from flask import current_app, g, make_response, request

from linx_core.errors import InvalidRequest, Problem, Unauthorized
from linx_core.services import businesses, idempotency
from linx_core.store import db

from .body import parse_json


def require_business():
    """``before_request`` for API blueprints: sets ``g.business`` or answers 401 (403 for a read-only key
    asked to write: ``READ_ONLY_API_KEY``)."""
    header = request.headers.get("Authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise Unauthorized("Send your API key as `Authorization: Bearer <apiKey>`.", "MISSING_API_KEY")
    g.business = businesses.authenticate(key.strip(), method=request.method)


def idempotent(view):
    """Replays the first successful response for a repeated ``Idempotency-Key``."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        key = request.headers.get("Idempotency-Key")
        if key is None:
            return view(*args, **kwargs)
        if not 6 <= len(key) <= 255 or not key.isascii() or not key.isprintable():
            raise InvalidRequest("The Idempotency-Key is not valid.", [Problem(
                "header.Idempotency-Key", "Must be 6 to 255 printable ASCII characters.", "INVALID_IDEMPOTENCY_KEY")])
        rt = current_app.extensions["linx"]
        outcome = idempotency.reserve(rt, g.business, key, _request_hash())
        if isinstance(outcome, idempotency.Replay):
            body = json.loads(outcome.body) if outcome.body else {}
            withheld = body.pop("_withheld", None) if isinstance(body, dict) else None
            location = body.pop("_location", None) if isinstance(body, dict) else None
            response = current_app.response_class(json.dumps(body), status=outcome.status, mimetype="application/json")
            response.headers["Idempotent-Replayed"] = "true"
            if location:
                response.headers["Location"] = location
            if withheld:
                response.headers["Idempotent-Withheld"] = ", ".join(withheld)
            return response
        try:
            with db.atomic():
                response = make_response(view(*args, **kwargs))
                if 200 <= response.status_code < 300:
                    idempotency.complete(outcome, response.status_code, _without_secrets(response))
                else:
                    idempotency.release(outcome)
            return response
        except BaseException:
            idempotency.release(outcome)
            raise

    return wrapper


ONE_TIME_FIELDS = ("passcode", "secret")


def _without_secrets(response):
    """The body to keep for replays, less what is shown only once (a passcode, a signing secret), with the
    ``Location`` header (a create's, a recover's) kept beside it for the replay to answer again.

    A replay says which fields it left out in ``Idempotent-Withheld``; resend or rotate-secret issue new ones.
    """
    text = response.get_data(as_text=True)
    try:
        body = json.loads(text)
    except ValueError:
        return text
    if isinstance(body, dict):
        withheld = [k for k in ONE_TIME_FIELDS if body.get(k) is not None]
        for key in withheld:
            body[key] = None
        if withheld:
            body["_withheld"] = withheld
        if response.headers.get("Location"):
            body["_location"] = response.headers["Location"]
    return json.dumps(body)


def _request_hash():
    raw = request.get_data(cache=True)
    try:
        canonical = json.dumps(parse_json(raw), sort_keys=True, default=str).encode()
    except InvalidRequest:
        canonical = raw
    digest = hashlib.sha256()
    digest.update(f"{request.method} {request.path}\n".encode())
    digest.update(canonical)
    return digest.hexdigest()
