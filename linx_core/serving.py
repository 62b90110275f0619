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

With ``--metrics-port``, the same processes also listen on a second address (loopback unless
``--metrics-host`` says otherwise) that serves only ``/metrics`` and ``/healthz``
(:class:`MetricsListener`): Prometheus scrapes there without a token, and the public address keeps
``/metrics`` for the token alone. One app serves both, so the metrics describe the requests the public
address served; the listener is told apart by the port the request arrived on, which the WSGI
server (waitress, gunicorn) takes from the listening socket, never from a header.
"""
import ipaddress
import json
import re
import socket
import threading
from collections.abc import Iterable
from typing import Any
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

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


#: the WSGI environ key :class:`MetricsListener` sets (to ``True``) on a request that came in on the metrics address
METRICS_LISTENER = "linx.metrics_listener"
#: what the metrics address serves
METRICS_PATHS = ("/metrics", "/healthz")


class MetricsListener:
    """WSGI middleware for a server listening on two addresses: what arrives on ``port`` (the metrics address)
    reaches the app only for :data:`METRICS_PATHS`, marked with :data:`METRICS_LISTENER`; the rest is a 404
    there. What arrives on any other port passes untouched (and unmarked: a header cannot set an environ key)."""

    def __init__(self, app: WSGIApplication, port: int) -> None:
        self.app = app
        self.port = str(port)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("SERVER_PORT") != self.port:
            return self.app(environ, start_response)
        if environ.get("PATH_INFO") not in METRICS_PATHS:
            body = json.dumps({"message": "The metrics address serves only /metrics and /healthz.",
                               "errorCode": "NOT_FOUND"}).encode()
            start_response("404 Not Found", [("Content-Type", "application/json"),
                                             ("Content-Length", str(len(body))), ("Cache-Control", "no-store")])
            return [body]
        environ[METRICS_LISTENER] = True
        return self.app(environ, start_response)


def address(host: str, port: int) -> str:
    """``host:port`` as waitress and gunicorn take it (an IPv6 host in brackets)."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


HOSTNAME_LABEL = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?")


def check_host(host: str, option: str = "--host") -> str:
    """``host`` as a listening address (an IPv6 one without its brackets), or :class:`ConfigurationError` saying
    why not: an IP address, or a host name (RFC 1123 labels, not all digits) that resolves. Checked before
    anything starts, so a typo is a message, not waitress's or gunicorn's traceback."""
    name = host.strip()
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    if not name:
        raise ConfigurationError(f"{option} is empty: give an address such as 127.0.0.1, 0.0.0.0 or ::1.")
    try:
        ipaddress.ip_address(name)  # a scoped IPv6 one too (fe80::1%eth0)
        return name
    except ValueError:
        pass
    labels = name[:-1].split(".") if name.endswith(".") else name.split(".")
    if len(name) > 253 or not all(HOSTNAME_LABEL.fullmatch(label) for label in labels):
        raise ConfigurationError(f"{option} {host!r} is neither an IP address nor a host name.")
    if labels[-1].isdigit():
        raise ConfigurationError(f"{option} {host!r} is not a valid IP address.")
    try:
        socket.getaddrinfo(name, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise ConfigurationError(f"{option} {host!r}: the host name does not resolve here.") from None
    return name


def check_metrics_address(host: str, port: int, metrics: tuple[str, int] | None) -> None:
    """Refuse a metrics address that is the public one: the two are told apart by their port."""
    if metrics is not None and metrics[1] == port:
        raise ConfigurationError(f"--metrics-port {port} is the port the API and the Gateway are served on: "
                                 "choose another one.")


def with_metrics_listener(app: WSGIApplication, metrics: tuple[str, int] | None) -> WSGIApplication:
    """``app``, behind :class:`MetricsListener` when there is a metrics address."""
    return MetricsListener(app, metrics[1]) if metrics is not None else app


def serve(app: WSGIApplication, host: str, port: int, threads: int,
          metrics: tuple[str, int] | None = None) -> None:
    """Serve ``app`` (:func:`web_app`'s) in this process with waitress until it is stopped; also on the
    ``(host, port)`` of ``metrics``, for ``/metrics`` and ``/healthz`` alone, when given."""
    import waitress  # only for one process: gunicorn's processes do without it

    check_metrics_address(host, port, metrics)
    listen = address(host, port) + (" " + address(*metrics) if metrics is not None else "")
    # waitress would strip X-Forwarded-* before the app sees them: LINX_PROXY_HOPS alone decides what to trust
    waitress.serve(with_metrics_listener(app, metrics), listen=listen, threads=threads, ident="linx",
                   clear_untrusted_proxy_headers=False)


class LinxServer(BaseApplication):
    """Gunicorn's arbiter with LinX's app: ``workers`` processes of ``threads`` threads on ``host:port``.

    With ``job_worker``, each process also runs a job worker thread, as a single ``linx serve`` does; it is
    stopped when gunicorn stops the process (a job it was running when killed comes back when its lease ends).
    """

    def __init__(self, host: str, port: int, workers: int, threads: int, job_worker: bool = False,
                 graceful_timeout: int = 30, metrics: tuple[str, int] | None = None) -> None:
        check_metrics_address(host, port, metrics)
        bind = [address(host, port)] + ([address(*metrics)] if metrics is not None else [])
        self.options = dict(FIXED_OPTIONS, bind=bind, workers=workers, threads=threads,
                            graceful_timeout=graceful_timeout, worker_exit=self._worker_exit)
        self.job_worker = job_worker
        self.metrics = metrics
        self._worker: tuple[Worker, threading.Thread] | None = None  # this process's job worker and thread, once loaded
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> WSGIApplication:
        rt = web_runtime()
        app = with_metrics_listener(web_app(rt), self.metrics)
        if self.job_worker:
            self._worker = start_thread(rt)
        return app

    def _worker_exit(self, server: Any, worker: Any) -> None:
        """Gunicorn's hook as a process stops: let its job worker finish the job in hand (for a while)."""
        if self._worker is not None:
            job_worker, thread = self._worker
            job_worker.stop()
            thread.join(10)
