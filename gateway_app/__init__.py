"""The HTTP edge: the business API, the customer Gateway, the operations endpoints and plugins' blueprints.

``create_app(test_config=None)`` as in Flask's tutorial: settings from defaults,
then ``LINX_*`` environment variables, then ``test_config``. The web layer is
thin: parse, call a service, render.
"""
import uuid

import peewee
from flask import Flask, g, request

from linx_core.config import Settings
from linx_core.runtime import Runtime

from . import errors


def create_app(test_config=None, runtime=None):
    app = Flask(__name__)
    if runtime is None:
        runtime = Runtime(Settings.load(**(test_config or {})))
    settings = runtime.settings
    app.config.update(
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
        SECRET_KEY=settings.secret_key,
        JSON_SORT_KEYS=False,
    )
    app.json.sort_keys = False
    app.extensions["linx"] = runtime
    if settings.proxy_hops:  # behind a reverse proxy: the client's address (rate limits) and scheme
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = settings.proxy_hops
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    @app.before_request
    def _open():
        g.trace_id = g.get("trace_id") or _trace_id()
        runtime.bind()
        runtime.database.connect(reuse_if_open=True)

    # SQLite: a serving thread keeps its connection from request to request. Opening one runs the pragmas
    # again, and closing the last one open checkpoints the WAL: together half of a small request's time.
    # PostgreSQL's pool keeps its connections already; close() hands one back.
    keep_open = isinstance(runtime.database, peewee.SqliteDatabase)

    @app.teardown_request
    def _close(exc):
        database = runtime.database
        if database.is_closed():
            return
        if keep_open and exc is None and not database.in_transaction():
            return
        database.close()

    from .gateway.security import SECURITY_HEADERS

    @app.after_request
    def _headers(response):
        response.headers["X-Trace-Id"] = g.get("trace_id", "")
        # the Gateway's headers on every page, so that a page outside it (the developer inbox, /v2/docs, a
        # plugin's) cannot be framed, run a script from elsewhere or leak its URL; a view may set its own
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    errors.init_app(app)
    from . import forms, gateway, home, i18n, ops
    from .api import (
        audit_events,
        authorizations,
        batches,
        customers,
        events,
        kit,
        openapi,
        templates,
        transactions,
        workflows,
    )

    i18n.init_app(app)  # the customer's language (Accept-Language), the gettext catalogs

    app.register_blueprint(workflows.bp, url_prefix="/v2/linx")
    app.register_blueprint(templates.bp, url_prefix="/v2/linx")
    app.register_blueprint(batches.bp, url_prefix="/v2/linx")
    app.register_blueprint(events.bp, url_prefix="/v2")
    app.register_blueprint(audit_events.bp, url_prefix="/v2")
    app.register_blueprint(transactions.bp, url_prefix="/v2")
    app.register_blueprint(customers.bp, url_prefix="/v2")
    app.register_blueprint(authorizations.bp, url_prefix="/v2")
    app.register_blueprint(openapi.bp, url_prefix="/v2")
    app.register_blueprint(home.bp)  # GET /: a small page (links in development; name and version elsewhere)
    gateway.init_app(app)  # the customer Gateway: /l/<token>, /g/...; its cookies, limits and headers
    from . import portal

    portal.init_app(app)  # the Portal: /portal, for a business's people (sign-in, roles, pages)
    ops.init_app(app)  # /healthz, /readyz, /metrics; request timing; the traceId in every log line
    # CSRF on every form a browser posts; the API (Bearer keys) and plugins' callbacks (signed) are exempt
    forms.init_app(app, exempt_blueprints=(workflows.bp, events.bp, audit_events.bp, transactions.bp, customers.bp,
                                           authorizations.bp, openapi.bp, templates.bp, batches.bp))
    for blueprints in runtime.plugins.hook.linx_register_blueprints(rt=runtime, web=kit):
        for item in blueprints or []:
            blueprint, prefix = item if isinstance(item, tuple) else (item, None)
            app.register_blueprint(blueprint, url_prefix=prefix)
            if getattr(blueprint, "csrf_exempt", False):  # for machines: a provider callback, an API with keys
                forms.exempt(app, blueprint)
    return app


def _trace_id():
    """The W3C ``traceparent`` trace id when the caller sent one, else a new one."""
    parent = request.headers.get("traceparent", "")
    parts = parent.split("-")
    if len(parts) == 4 and len(parts[1]) == 32 and all(c in "0123456789abcdef" for c in parts[1]):
        return parts[1]
    return uuid.uuid4().hex
