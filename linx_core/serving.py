"""Serving HTTP: ``linx serve`` in one process (waitress) or several (gunicorn), the app from a plugin.

The core does not know the web layer: the WSGI app comes from the ``linx_web_app`` hook, which the
Gateway (``gateway_app.wsgi``, one of :data:`linx_core.plugins.WEB_PLUGINS`) answers. Only a process
that serves HTTP builds its runtime with the web plugins (:func:`web_runtime`), so ``linx worker``
and the other commands never import Flask.

With ``--workers N``, gunicorn's master forks N processes; each one builds its own
:class:`~linx_core.runtime.Runtime` after the fork (gunicorn loads the app in the worker process, not
in the master), so no database connection, pooled or not, is ever shared across a fork. Each process
serves requests on a pool of threads (the ``gthread`` worker class). SIGTERM to the master is a
graceful stop: the processes finish the requests they hold, then exit.
"""
import threading
from typing import Any
from wsgiref.types import WSGIApplication

from gunicorn.app.base import BaseApplication

from . import boot
from .errors import ConfigurationError
from .logging_setup import configure
from .runtime import Runtime
from .worker import Worker, start_thread

#: gunicorn's settings that ``linx serve`` always uses
FIXED_OPTIONS = {
    "worker_class": "gthread",
    "proc_name": "linx",
    # LINX_PROXY_HOPS alone decides which X-Forwarded-* headers to trust (gunicorn trusts loopback's by default)
    "forwarded_allow_ips": "",
    # no control socket: its default path is per user, and two servers on one host would share it
    "control_socket_disable": True,
}


def web_runtime() -> Runtime:
    """This web process's runtime: from the ``LINX_*`` environment, with the web plugins, logging set up as
    ``LINX_LOG_FORMAT`` says; the database checked as ``linx serve`` checks it, but booting while it cannot be
    reached (:func:`linx_core.boot.set_up_unless_away`)."""
    rt = boot.runtime(migrated=False, web=True)
    configure(rt.settings)
    boot.set_up_unless_away(rt)
    return rt


def web_app(rt: Runtime) -> WSGIApplication:
    """The WSGI app for ``rt``, from the first plugin that answers ``linx_web_app``."""
    app = rt.plugins.hook.linx_web_app(rt=rt)
    if app is None:
        raise ConfigurationError("No plugin provides the web app (linx_web_app): is gateway_app installed?")
    return app


def serve(app: WSGIApplication, host: str, port: int, threads: int) -> None:
    """Serve ``app`` (:func:`web_app`'s) in this process with waitress until it is stopped."""
    import waitress  # only for one process: gunicorn's processes do without it

    # waitress would strip X-Forwarded-* before the app sees them: LINX_PROXY_HOPS alone decides what to trust
    waitress.serve(app, host=host, port=port, threads=threads, ident="linx",
                   clear_untrusted_proxy_headers=False)


class LinxServer(BaseApplication):
    """Gunicorn's arbiter with LinX's app: ``workers`` processes of ``threads`` threads on ``host:port``.

    With ``job_worker``, each process also runs a job worker thread, as a single ``linx serve`` does; it is
    stopped when gunicorn stops the process (a job it was running when killed comes back when its lease ends).
    """

    def __init__(self, host: str, port: int, workers: int, threads: int, job_worker: bool = False,
                 graceful_timeout: int = 30) -> None:
        self.options = dict(FIXED_OPTIONS, bind=f"{host}:{port}", workers=workers, threads=threads,
                            graceful_timeout=graceful_timeout, worker_exit=self._worker_exit)
        self.job_worker = job_worker
        self._worker: tuple[Worker, threading.Thread] | None = None  # this process's job worker and thread, once loaded
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> WSGIApplication:
        rt = web_runtime()
        app = web_app(rt)
        if self.job_worker:
            self._worker = start_thread(rt)
        return app

    def _worker_exit(self, server: Any, worker: Any) -> None:
        """Gunicorn's hook as a process stops: let its job worker finish the job in hand (for a while)."""
        if self._worker is not None:
            job_worker, thread = self._worker
            job_worker.stop()
            thread.join(10)
