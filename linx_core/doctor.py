"""``linx doctor``: a configuration checked before it goes live.

Each check reads the ``LINX_*`` environment the way ``linx serve`` does and answers :class:`Check`: its name,
whether it passed, what it found and, when it failed, how to fix it. The checks are independent: a weak secret
does not hide an unmigrated database, so one run lists everything there is to fix.

- ``environment``: not ``LINX_ENV=development`` (generated secrets, the developer inbox, plain-http cookies);
- ``secrets``: both set, and strong by :func:`linx_core.config.check_secrets`, the test ``linx serve`` applies;
- ``public-url``: ``LINX_PUBLIC_URL`` is ``https://`` on a host customers' phones and Twilio can reach;
- ``proxy``: ``LINX_PROXY_HOPS`` is set: LinX serves plain http, so an https public URL means a proxy in front,
  and without it every customer would share the proxy's address and so its rate limits;
- ``channel``: at least one channel of the rules' catalog is served by something other than the console;
- ``webhook-guard``: ``LINX_WEBHOOK_ALLOW_PRIVATE`` is off (receivers inside the network are refused);
- ``metrics``: ``LINX_METRICS_TOKEN`` is set, and usable (16 printable characters or more);
- ``rules``: the rule files load;
- ``database``: it answers and every migration is applied (``linx migrate``);
- ``clock``: this host's clock and the database's agree within :data:`MAX_CLOCK_SKEW_SECONDS` (jobs, leases,
  expiry and rate-limit windows are stamped by each process's clock and compared across hosts).
"""
from __future__ import annotations

import datetime as dt
import ipaddress
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import peewee

from . import clock
from .config import Settings, check_secrets
from .errors import ConfigurationError, LinxError

#: how far this host's clock and the database's may drift apart before ``clock`` fails
MAX_CLOCK_SKEW_SECONDS = 5.0
#: how long ``database`` waits for a PostgreSQL server to answer a connection
CONNECT_TIMEOUT_SECONDS = 5
GENERATE = "Run `linx secrets generate` once for the deployment and put both lines in the environment file every " \
           "LinX process reads (deploy/linx.env, mode 0600)."


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    message: str
    fix: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def run(environ: Mapping[str, str] | None = None) -> list[Check]:
    """Every check, in order, on the settings of ``environ`` (``os.environ``)."""
    checks: list[Check] = []
    try:
        settings = Settings.load(environ, secrets=False)
        token_problem = None
    except ConfigurationError as exc:
        if "LINX_METRICS_TOKEN" not in str(exc):
            return [Check("settings", False, str(exc), "Correct the setting named above.")]
        token_problem = str(exc)  # reported by the metrics check; the others go on without the token
        settings = Settings.load(environ, secrets=False, metrics_token="")
    checks += [environment(settings), secrets(settings), public_url(settings), proxy(settings)]
    database, opened = _open(settings)
    try:
        rt, rules_check = rules(settings, database)
        checks += [channel(settings, rt), webhook_guard(settings), metrics(settings, token_problem), rules_check]
        checks.append(migrated(settings, database, opened))
        answered = database is not None and (not _postgres(database) or not database.is_closed())
        checks.append(clock_in_sync(database) if database is not None and answered else
                      Check("clock", False, "Not compared: the database did not answer.",
                            "Fix the database check first."))
    finally:
        if database is not None:
            getattr(database, "close_all", database.close)()
    return checks


def environment(settings: Settings) -> Check:
    if settings.development:
        return Check("environment", False,
                     "LINX_ENV=development: secrets are generated into the instance folder and any is taken, the "
                     "developer inbox /dev/messages shows every customer's link, cookies may go over plain http.",
                     "Remove LINX_ENV from the environment (production is the default) or set LINX_ENV=production.")
    return Check("environment", True, f"LINX_ENV={settings.env}")


def secrets(settings: Settings) -> Check:
    missing = [name for name, value in (("LINX_SECRET_KEY", settings.secret_key), ("LINX_DATA_KEY", settings.data_key))
               if not value]
    if missing:
        return Check("secrets", False, f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set.",
                     GENERATE)
    try:
        check_secrets(settings.secret_key, settings.data_key, settings.env)
    except ConfigurationError as exc:
        return Check("secrets", False, str(exc).split(". Run `linx secrets generate`")[0] + ".", GENERATE)
    return Check("secrets", True, "LINX_SECRET_KEY and LINX_DATA_KEY are set and strong")


def public_url(settings: Settings) -> Check:
    url = settings.public_url
    fix = ("Set LINX_PUBLIC_URL to the https:// address customers open, as the reverse proxy serves it with TLS "
           "(e.g. https://pay.example.com; deploy/nginx/linx.conf).")
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").rstrip(".").lower()
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        return Check("public-url", False, f"LINX_PUBLIC_URL={url!r} is not a URL.", fix)
    if parts.scheme != "https":
        return Check("public-url", False, f"LINX_PUBLIC_URL={url!r} is not https: the Gateway's cookies are Secure, "
                     "so a browser would not send them back over http, and links would travel in clear.", fix)
    if not host:
        return Check("public-url", False, f"LINX_PUBLIC_URL={url!r} names no host.", fix)
    if parts.query or parts.fragment or parts.username is not None:
        return Check("public-url", False, f"LINX_PUBLIC_URL={url!r} carries a query, a fragment or credentials: "
                     "it is the base links and callbacks are built on.", fix)
    if _internal(host):
        return Check("public-url", False, f"LINX_PUBLIC_URL={url!r} is on a host customers' phones and Twilio's "
                     "status callbacks cannot reach (loopback, private or local).", fix)
    return Check("public-url", True, url)


def proxy(settings: Settings) -> Check:
    if settings.proxy_hops < 1:
        return Check("proxy", False, "LINX_PROXY_HOPS=0: LinX serves plain http, so the TLS of an https public URL "
                     "ends at a proxy, and every customer would have the proxy's address: one limit of link "
                     "openings and passcode checks for all of them together.",
                     "Set LINX_PROXY_HOPS to the number of proxies in front of LinX (1 behind nginx, 2 with a load "
                     "balancer in front of it) and have the last one append the client's address to "
                     "X-Forwarded-For (deploy/nginx/linx.conf does).")
    return Check("proxy", True, f"LINX_PROXY_HOPS={settings.proxy_hops}: the client's address is the one the "
                                f"proxy{'s' if settings.proxy_hops > 1 else ''} in front forwarded")


def _internal(host: str) -> bool:
    if host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
        return True
    try:
        ip = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return not ip.is_global


def channel(settings: Settings, rt: Any) -> Check:
    fix = ("Set LINX_TWILIO_ACCOUNT_SID, LINX_TWILIO_AUTH_TOKEN and LINX_TWILIO_MESSAGING_SERVICE_SID (or "
           "LINX_TWILIO_FROM_NUMBER) for SMS, and/or LINX_SMTP_HOST and LINX_SMTP_FROM (with LINX_SMTP_USERNAME and "
           "LINX_SMTP_PASSWORD) for email; see docs/deploy.md.")
    if rt is None:
        return Check("channel", False, "Not checked: the rule files (which name the channels) did not load.",
                     "Fix the rules check first.")
    served = {name: getattr(rt.channel(name), "name", "?") for name in rt.rules.catalog.get("channels", {})}
    real = {name: provider for name, provider in served.items() if provider != "console"}
    listing = ", ".join(f"{name} via {provider}" for name, provider in served.items())
    if not real:
        half = [name for name, set_ in (("LINX_TWILIO_*", settings.twilio_account_sid or settings.twilio_auth_token),
                                        ("LINX_SMTP_*", settings.smtp_host)) if set_]
        return Check("channel", False, f"No channel is configured ({listing}): every message would fail with "
                     "NO_CHANNEL_CONFIGURED" + (f"; {' and '.join(half)} are set in part" if half else "") + ".", fix)
    return Check("channel", True, listing)


def webhook_guard(settings: Settings) -> Check:
    if settings.webhook_allow_private:
        return Check("webhook-guard", False,
                     "LINX_WEBHOOK_ALLOW_PRIVATE=true: a business may point webhooks at addresses inside your "
                     "network (the database, 169.254.169.254, an admin port) and LinX would post to them.",
                     "Remove LINX_WEBHOOK_ALLOW_PRIVATE (false is the default); it is for tests and closed networks.")
    return Check("webhook-guard", True, "webhooks go only to public addresses")


def metrics(settings: Settings, problem: str | None) -> Check:
    fix = ("Set LINX_METRICS_TOKEN=$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))') in every web "
           "process and give Prometheus the same value (credentials_file).")
    if problem:
        return Check("metrics", False, problem, fix)
    if not settings.metrics_token:
        return Check("metrics", False, "LINX_METRICS_TOKEN is not set: Prometheus cannot scrape the public address "
                     "(/metrics answers 404), and a --metrics-port listener would answer anyone who reaches it.",
                     fix)
    return Check("metrics", True, "/metrics asks for LINX_METRICS_TOKEN")


def rules(settings: Settings, database: peewee.Database | None) -> tuple[Any, Check]:
    """The runtime (None when the rules do not load) and the check. Building it opens no connection."""
    from .runtime import Runtime
    from .store import open_database

    try:
        rt = Runtime(settings, database=database or open_database("sqlite:///:memory:"))
    except LinxError as exc:
        return None, Check("rules", False, str(exc), "Run `linx rules check` and correct the file and line it names.")
    return rt, Check("rules", True, f"{rt.rules.directory}: {len(rt.rules.steps)} steps, "
                                    f"{len(rt.rules.solutions)} solutions")


def migrated(settings: Settings, database: peewee.Database | None, opened: str | None) -> Check:
    from .store import redacted
    from .store.migrate import pending

    where = redacted(settings.database_url)
    fix = ("Check LINX_DATABASE_URL, that the server runs and that the role may connect from this host "
           "(pg_hba.conf); docs/deploy.md, 'PostgreSQL'.")
    if database is None:
        return Check("database", False, f"{where}: {opened}", fix)
    if isinstance(database, peewee.SqliteDatabase) and database.database != ":memory:" \
            and not Path(database.database).is_file():
        return Check("database", False, f"{where}: there is no database file {database.database}.",
                     "Check LINX_DATABASE_URL, or run `linx migrate` to create it.")
    try:
        database.connect(reuse_if_open=True)
        missing = pending(database)
    except (peewee.DatabaseError, peewee.InterfaceError, OSError) as exc:
        return Check("database", False, f"{where}: {_first_line(exc)}", fix)
    if missing:
        return Check("database", False, f"{where}: {len(missing)} migration(s) not applied ({', '.join(missing)}).",
                     "Run `linx migrate` with this environment (before starting the new version's processes).")
    kind = "PostgreSQL" if _postgres(database) else "SQLite (one host only)"
    return Check("database", True, f"{where}: {kind}, up to date")


def clock_in_sync(database: peewee.Database, now: Callable[[], dt.datetime] | None = None) -> Check:
    """This process's clock (:func:`linx_core.clock.now`) against PostgreSQL's ``now()``, allowing for the time the
    question took; SQLite keeps no clock of its own (it runs on this host)."""
    if not _postgres(database):
        return Check("clock", True, "SQLite reads this host's clock")
    now = now or clock.now
    try:
        before, started = now(), time.monotonic()
        server = database.execute_sql("SELECT now()").fetchone()[0]
        took = time.monotonic() - started
    except (peewee.DatabaseError, peewee.InterfaceError) as exc:
        return Check("clock", False, f"Not compared: {_first_line(exc)}", "Fix the database check first.")
    local = before + dt.timedelta(seconds=took / 2)
    skew = (local - server).total_seconds()
    text = f"{abs(skew):.1f} s {'ahead of' if skew > 0 else 'behind'} the database"
    if abs(skew) > MAX_CLOCK_SKEW_SECONDS:
        return Check("clock", False, f"This host's clock is {text} (at most {MAX_CLOCK_SKEW_SECONDS:g} s allowed): "
                     "reminders, expiry, job leases and rate-limit windows would be off between hosts.",
                     "Keep every host on NTP (`timedatectl set-ntp true`, or chrony), the database's too.")
    return Check("clock", True, text)


def _open(settings: Settings) -> tuple[peewee.Database | None, str | None]:
    from .store import open_database

    url = settings.database_url
    parts = urlsplit(url)
    if parts.scheme.startswith("postgres") and "connect_timeout" not in dict(parse_qsl(parts.query)):
        query = urlencode(parse_qsl(parts.query) + [("connect_timeout", str(CONNECT_TIMEOUT_SECONDS))])
        url = urlunsplit(parts._replace(query=query))
    try:
        return open_database(url), None
    except (LinxError, ValueError) as exc:
        return None, str(exc)


def _postgres(database: peewee.Database) -> bool:
    return isinstance(database, peewee.PostgresqlDatabase)


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def report(checks: list[Check]) -> str:
    """The checks as text: ``OK``/``FAIL``, the name, what was found; under a failure, ``fix:`` and how."""
    lines = []
    for check in checks:
        lines.append(f"{'OK' if check.ok else 'FAIL':<5} {check.name:<14} {check.message}")
        if not check.ok and check.fix:
            lines.append(f"{'':<21}fix: {check.fix}")
    failed = sum(not c.ok for c in checks)
    lines.append("all checks passed: ready to go live" if not failed else
                 f"{failed} of {len(checks)} check(s) failed")
    return "\n".join(lines)
