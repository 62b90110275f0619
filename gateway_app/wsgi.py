"""Several web processes: ``linx serve --workers N`` runs gunicorn through its application API.

Gunicorn's master forks N processes; each one builds its own :class:`~linx_core.runtime.Runtime`
after the fork (gunicorn loads the app in the worker process, not in the master), so no database
connection, pooled or not, is ever shared across a fork. Each process serves requests on a pool
of threads (the ``gthread`` worker class). SIGTERM to the master is a graceful stop: the processes
finish the requests they hold, then exit.

The same factory serves a plain gunicorn command line (with the settings of :data:`FIXED_OPTIONS`)::

    gunicorn --workers 4 --worker-class gthread --threads 8 --bind 0.0.0.0:8000 --forwarded-allow-ips '' \
        --no-control-socket 'gateway_app.wsgi:wsgi_app()'
"""
from gunicorn.app.base import BaseApplication

#: gunicorn's settings that ``linx serve`` always uses
FIXED_OPTIONS = {
    "worker_class": "gthread",
    "proc_name": "linx",
    # LINX_PROXY_HOPS alone decides which X-Forwarded-* headers to trust (gunicorn trusts loopback's by default)
    "forwarded_allow_ips": "",
    # no control socket: its default path is per user, and two servers on one host would share it
    "control_socket_disable": True,
}


def wsgi_app(runtime=None):
    """This process's app: a runtime from the ``LINX_*`` environment (checked as ``linx serve`` checks it, but
    booting while the database cannot be reached), logging set up as ``LINX_LOG_FORMAT`` says. Gunicorn calls it
    in each worker process, after the fork."""
    from linx_core.cli import _runtime
    from linx_core.logging_setup import configure

    from . import create_app

    rt = runtime or _runtime(migrated=False)
    configure(rt.settings)
    if runtime is None:
        _set_up_unless_away(rt)
    return create_app(runtime=rt)


def _set_up_unless_away(rt):
    """Refuse a database `linx init` has not set up, or one that refuses for good (a wrong URL); but boot while it
    cannot be reached, answering 503 until it can: gunicorn stops altogether when a process it starts (at
    start-up, or to replace one that died during an outage) fails to boot."""
    import logging

    from linx_core.cli import _away

    away = _away(rt)
    if away is not None:
        logging.getLogger("linx.serve").warning("the database cannot be reached (%s); answering 503 until it can",
                                                away)


class LinxServer(BaseApplication):
    """Gunicorn's arbiter with LinX's app: ``workers`` processes of ``threads`` threads on ``host:port``.

    With ``job_worker``, each process also runs a job worker thread, as a single ``linx serve`` does; it is
    stopped when gunicorn stops the process (a job it was running when killed comes back when its lease ends).
    """

    def __init__(self, host, port, workers, threads, job_worker=False, graceful_timeout=30):
        self.options = dict(FIXED_OPTIONS, bind=f"{host}:{port}", workers=workers, threads=threads,
                            graceful_timeout=graceful_timeout, worker_exit=self._worker_exit)
        self.job_worker = job_worker
        self._worker = None  # this process's job worker and its thread, once loaded
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        app = wsgi_app()
        if self.job_worker:
            from linx_core.worker import start_thread

            self._worker = start_thread(app.extensions["linx"])
        return app

    def _worker_exit(self, server, worker):
        """Gunicorn's hook as a process stops: let its job worker finish the job in hand (for a while)."""
        if self._worker is not None:
            job_worker, thread = self._worker
            job_worker.stop()
            thread.join(10)
