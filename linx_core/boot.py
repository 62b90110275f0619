"""Starting a process: its runtime from the ``LINX_*`` environment, and the look at the database before work.

Every process (the command line, ``linx serve`` and each of its gunicorn processes, ``linx worker``, a plain
gunicorn command line) starts here, so they all refuse the same things the same way: a database `linx init`
has not set up, or one that refuses for good (a wrong URL, no such role, a bad password). A database that
cannot be reached *for now* (a server starting or restarting) is another matter: the command line waits
for it (:func:`set_up_once_reachable`), a web process boots and answers 503 until it is back
(:func:`set_up_unless_away`).
"""
import logging
import threading

import peewee
from playhouse.pool import MaxConnectionsExceeded

from .config import Settings
from .errors import ConfigurationError
from .plugins import make_manager
from .runtime import Runtime
from .store import redacted, refused_for_good, unavailable
from .store.migrate import pending

WAIT_FOR_DATABASE_MAX_SECONDS = 30  # the longest pause between two looks at a database that is not there yet


def runtime(migrated: bool = True, web: bool = False) -> Runtime:
    """The runtime from the environment; with ``migrated``, refuse a database `linx init` has not set up.

    ``web``: its plugin manager also holds the web plugins (:data:`linx_core.plugins.WEB_PLUGINS`), for a
    process that serves HTTP; the others never import the web layer.
    """
    rt = Runtime(Settings.load(), plugins=make_manager(web=True) if web else None)
    if migrated:
        check_set_up(rt)
    return rt


def check_set_up(rt: Runtime) -> None:
    """Raise :class:`ConfigurationError` unless every migration has been applied (`linx init`)."""
    with rt.database.connection_context():
        missing = pending(rt.database)
    if missing:
        raise ConfigurationError(f"The database {redacted(rt.settings.database_url)} is not set up or is out of date "
                                 f"({len(missing)} migration(s) pending): run `linx init` first.")


def away(rt: Runtime) -> str | None:
    """None when the database is set up; why not, in a line, while it cannot be reached for now (a wait may see
    it back). Raises when it is not set up or refuses for good (no such database or role, a wrong password)."""
    try:
        check_set_up(rt)
        return None
    except (peewee.DatabaseError, peewee.InterfaceError, MaxConnectionsExceeded) as exc:
        if unavailable(exc) != "unreachable" or refused_for_good(exc):
            raise
        return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def set_up_once_reachable(rt: Runtime, command: str, stopped: threading.Event) -> bool:
    """Refuse a database `linx init` has not set up, as :func:`runtime` does; but while the database cannot be
    reached (a server still starting, restarting, refusing connections), wait for it, saying so, instead of
    exiting: processes started before their database (a compose file, a reboot) come up when it does. A server
    that refuses for good (no such database or role, a wrong password) is refused at once.
    Returns False if ``stopped`` was set while waiting."""
    log = logging.getLogger(f"linx.{command}")
    pause = 0.5
    while True:
        why = away(rt)
        if why is None:
            return True
        log.warning("the database cannot be reached (%s); looking again in %g s", why, pause)
        if stopped.wait(pause):
            return False
        pause = min(pause * 2, WAIT_FOR_DATABASE_MAX_SECONDS)


def set_up_unless_away(rt: Runtime) -> None:
    """Refuse a database `linx init` has not set up, or one that refuses for good (a wrong URL); but boot while it
    cannot be reached, answering 503 until it can: gunicorn stops altogether when a process it starts (at
    start-up, or to replace one that died during an outage) fails to boot."""
    why = away(rt)
    if why is not None:
        logging.getLogger("linx.serve").warning("the database cannot be reached (%s); answering 503 until it can",
                                                why)
