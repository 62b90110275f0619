"""One error body for every failure: ``{timestamp, traceId, message, errorCode, errors}``."""
import logging

from flask import g, has_request_context, request
from werkzeug.exceptions import HTTPException

from linx_core import clock
from linx_core.errors import LinxError
from linx_core.store import unavailable

from .api.render import render
from .api.schemas import ErrorOut

log = logging.getLogger("linx.http")

HTTP_CODES = {
    400: "INVALID_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    429: "TOO_MANY_REQUESTS",
}
# A passing database outage (see linx_core.store.unavailable): 503, and when to try again.
OUTAGES = {
    "busy": ("The database is busy with other writes; nothing was done. Retry in a moment, with the same "
             "Idempotency-Key.", "DATABASE_BUSY", 1),
    "unreachable": ("The database cannot be reached for a moment. Retry in a moment, with the same "
                    "Idempotency-Key: a request that went through is then replayed, not done twice.",
                    "DATABASE_UNAVAILABLE", 2),
}


def error_response(status, message, code, problems=()):
    """The error body (the OpenAPI document's ``Error``) for ``problems`` (:class:`~linx_core.errors.Problem` s)."""
    return render(ErrorOut, {"timestamp": clock.now(), "trace_id": g.get("trace_id", ""), "message": message,
                             "code": code, "problems": list(problems)}, status)


def init_app(app):
    @app.errorhandler(LinxError)
    def _linx(exc):
        status = exc.status if exc.status < 500 else 500
        if status >= 500:
            log.error("trace %s: %s", g.get("trace_id"), exc)
        response = error_response(status, exc.message, exc.code, exc.problems)
        retry_after = getattr(exc, "retry_after", None)  # a limit reached (linx_core.services.limits): when to retry
        if retry_after:
            response.headers["Retry-After"] = str(int(retry_after))
        return response

    @app.errorhandler(HTTPException)
    def _http(exc):
        message = {404: "No such resource.", 405: "Method not allowed here.",
                   413: "The body is larger than the limit."}.get(exc.code, exc.description)
        if exc.code == 413:
            limit = request.max_content_length if has_request_context() else None  # a route may set its own
            message = f"The body is larger than {limit or app.config['MAX_CONTENT_LENGTH']} bytes."
        response = error_response(exc.code, message, HTTP_CODES.get(exc.code, "HTTP_ERROR"))
        if exc.code == 405 and getattr(exc, "valid_methods", None):
            response.headers["Allow"] = ", ".join(exc.valid_methods)
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc):
        outage = unavailable(exc)
        if outage:
            message, code, retry_after = OUTAGES[outage]
            log.warning("trace %s: database %s: %s", g.get("trace_id"), outage, exc)
            response = error_response(503, message, code)
            response.headers["Retry-After"] = str(retry_after)
            return response
        log.exception("trace %s: unexpected error", g.get("trace_id"))
        return error_response(500, "Something went wrong on our side; the trace id identifies it.",
                              "INTERNAL_ERROR")
