"""The Portal (issue 15): where a business's people see and run LinX, at ``/portal``, server-rendered.

It has no logic of its own: every page reads, and every button calls, the services the API uses. Its modules:
:mod:`.auth` (sign-in, sessions, roles), :mod:`.pages` (Home, Workflows, Customers, Transactions, API keys, Audit
log), :mod:`.chart` (the server-drawn SVG), :mod:`.export` (CSV).
"""
from .blueprint import bp


def init_app(app):
    """Register the Portal on ``app`` (after the Gateway: it uses its security headers and CSRF)."""
    from . import auth, pages  # noqa: F401 - their routes register on bp

    app.config.setdefault("LINX_PORTAL_IDLE_SECONDS", 30 * 60)
    app.register_blueprint(bp)
