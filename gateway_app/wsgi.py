"""The Gateway as LinX's web app: the ``linx_web_app`` hook, and a factory for a plain gunicorn command line.

``linx serve`` (one process, or ``--workers N`` under gunicorn) finds the app through the hook, so the core
never imports the web layer; this module is one of :data:`linx_core.plugins.WEB_PLUGINS`, registered only in
the processes that serve HTTP (:func:`linx_core.serving.web_runtime`).

The same app serves a plain gunicorn command line (with the settings of
:data:`linx_core.serving.FIXED_OPTIONS`)::

    gunicorn --workers 4 --worker-class gthread --threads 8 --bind 0.0.0.0:8000 --forwarded-allow-ips '' \
        --no-control-socket 'gateway_app.wsgi:wsgi_app()'
"""
from linx_core import hookimpl
from linx_core.serving import web_app, web_runtime

from . import create_app


@hookimpl(trylast=True)
def linx_web_app(rt):
    """The Gateway and the business API; an installed plugin's app (or a wrapper) gets the first say."""
    return create_app(runtime=rt)


def wsgi_app():
    """This process's app, its runtime built from the ``LINX_*`` environment and checked as ``linx serve`` checks
    it. Gunicorn calls it in each worker process, after the fork."""
    return web_app(web_runtime())
