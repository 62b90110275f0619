"""Is the port free? ``linx serve`` (and ``make run``, before it prints its banner) asks before it starts anything,
so that a busy port is one line naming a free one, exit 2, not a traceback from the WSGI server after the
database, the worker and the banner are up."""
from __future__ import annotations

import errno
import socket
import sys

from .errors import ConfigurationError

#: how far past a busy port :func:`next_free` looks
LOOK_AHEAD = 50


def in_use(host: str, port: int) -> bool:
    """Whether a server listens on ``host:port`` already: binding there fails with "address in use". The socket
    is bound as waitress and gunicorn bind theirs (``SO_REUSEADDR``), so a port left in TIME_WAIT by a server
    that just stopped counts as free, as it is to them."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (OSError, UnicodeError):
        return False  # the host itself is refused elsewhere (linx_core.serving.check_host), with its reason
    for family, kind, proto, _name, where in infos:
        with socket.socket(family, kind, proto) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(where)
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE:
                    return True
    return False


def next_free(host: str, port: int) -> int | None:
    """The first port after ``port`` that is free on ``host`` (within :data:`LOOK_AHEAD`), or None."""
    for candidate in range(port + 1, min(port + 1 + LOOK_AHEAD, 65536)):
        if not in_use(host, candidate):
            return candidate
    return None


def check(host: str, port: int, option: str = "--port") -> None:
    """:class:`ConfigurationError` when ``host:port`` is in use, naming a free port to try instead."""
    if not in_use(host, port):
        return
    free = next_free(host, port)
    if free is None:
        raise ConfigurationError(f"port {port} is in use, and so are the {LOOK_AHEAD} after it: stop what listens "
                                 f"there, or give another {option}.")
    if option == "--port":
        raise ConfigurationError(f"port {port} is in use; try make run PORT={free} (or linx serve --port {free})")
    raise ConfigurationError(f"port {port} ({option}) is in use; try {option} {free}")


def main(argv: list[str]) -> int:
    """``python -m linx_core.ports HOST PORT``: exit 2 with the message when the port is in use (``make run``)."""
    host, port = argv[0], int(argv[1])
    try:
        check(host, port)
    except ConfigurationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(sys.argv[1:]))
