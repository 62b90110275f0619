"""The ``linx`` command: set-up, businesses, rules, the server and the worker.

Each command imports what it uses when it runs, so that ``linx --help`` and ``linx rules check`` start
at once. A process's runtime and its look at the database are :mod:`linx_core.boot`'s; serving HTTP is
:mod:`linx_core.serving`'s, which finds the web app through a hook (the core imports no web layer).
"""
from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any, NoReturn

import click
import peewee

from .errors import LinxError

if TYPE_CHECKING:  # pragma: no cover
    from .runtime import Runtime
    from .store.models import Job
    from .worker import Worker


def _fail(exc: object) -> NoReturn:
    click.echo(f"error: {exc}", err=True)
    sys.exit(2)


class Group(click.Group):
    """Turns domain and configuration errors into a message and exit code 2, not a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except LinxError as exc:
            _fail(exc)
        except peewee.DatabaseError as exc:
            _fail(f"the database refused: {exc} (is LINX_DATABASE_URL right, and was `linx init` run?)")


@click.group(cls=Group)
@click.version_option(package_name="linx")
@click.pass_context
def main(ctx: click.Context) -> None:
    """LinX: do it by link. Settings come from LINX_* environment variables (and, in a clone where `make run`
    has run, from ./instance/linx.env unless LINX_ENV says other than development or LINX_SECRET_KEY is
    set)."""
    _read_development_file(ctx)


def _read_development_file(ctx: click.Context) -> None:
    """Run from a clone in development, the command also takes the settings ``make run`` wrote to
    ``instance/linx.env`` (:mod:`linx_core.devfile` has the exact rule), so the README's commands work as
    pasted in a new shell; they are taken out of the environment again when the command ends."""
    from . import devfile

    path = ctx.with_resource(devfile.applied())
    if path is not None:
        click.echo(f"linx: development settings from {devfile.PATH}", err=True)


@main.command()
@click.option("--demo", is_flag=True, help="Also create the demo data set, Demo Co, and print its API key.")
@click.option("--json", "as_json", is_flag=True, help="Print {businessId, apiKey} as JSON.")
def init(demo: bool, as_json: bool) -> None:
    """Create or upgrade the database (idempotent)."""
    from .boot import runtime

    if demo:
        _refuse_demo_outside_development()
    rt = runtime(migrated=False)
    with rt.database.connection_context():
        applied = rt.migrate()
        if not rt.settings.development:
            _revoke_demo_keys(rt)
        if not demo:
            click.echo(json.dumps({"applied": applied}) if as_json else
                       (f"applied: {', '.join(applied)}" if applied else "the database is up to date"))
            return
        from .demo import init_demo, init_demo_admin

        business, key = init_demo(rt)
        email, password = init_demo_admin(rt, business)
    if as_json:
        click.echo(json.dumps({"businessId": str(business.id), "apiKey": key, "portalEmail": email,
                               "portalPassword": password}))
    else:
        click.echo(f"Demo Co is ready (business {business.id}).\nAPI key: {key}\nPortal: {email} / {password}")


@main.command()
@click.option("--json", "as_json", is_flag=True, help='Print {"applied": [...]} as JSON.')
def migrate(as_json: bool) -> None:
    """Apply the pending migrations (idempotent): run it on every upgrade, before the new version's processes
    start. Every migration is one that the version before it still runs on."""
    from .boot import runtime

    rt = runtime(migrated=False)
    with rt.database.connection_context():
        applied = rt.migrate()
    click.echo(json.dumps({"applied": applied}) if as_json else
               (f"applied: {', '.join(applied)}" if applied else "the database is up to date"))


@main.command()
@click.option("--json", "as_json", is_flag=True, help='Print {"ok": ..., "checks": [{name, ok, message, fix}]}.')
def doctor(as_json: bool) -> None:
    """Check this environment's configuration before it goes live: secrets, database and migrations, public URL, proxy,
    channel, webhook guard, metrics token, rules, clock. Exit 0 only when every check passes, 1 otherwise."""
    from . import doctor as checks

    found = checks.run()
    ok = all(c.ok for c in found)
    click.echo(json.dumps({"ok": ok, "checks": [c.as_dict() for c in found]}) if as_json else checks.report(found))
    sys.exit(0 if ok else 1)


def _revoke_demo_keys(rt: Runtime) -> None:
    """Outside development, revoke the demo keys a database holds (from an earlier ``linx init --demo``): each
    was derived from the secret key of the day, maybe a weak one, and would keep working after the secret key
    changed (only its hash is stored). Said on stderr, with each key's prefix and business."""
    from .demo import disable_demo_admin
    from .services.businesses import revoke_derived_keys

    if disable_demo_admin():
        click.echo(f"linx: disabled the demo Portal user admin@demo.example: its password was derived from a "
                   f"development secret (LINX_ENV={rt.settings.env})", err=True)
    for row in revoke_derived_keys(rt):
        click.echo(f"linx: revoked the demo API key {row.prefix}... of {row.business.name}: a key derived from "
                   f"a development secret has no place with LINX_ENV={rt.settings.env} (`linx business key NAME` "
                   "issues a real one)", err=True)


def _refuse_demo_outside_development() -> None:
    """Demo Co's API key is derived from the secret key, and its data is made up: neither belongs in production."""
    from .config import Settings
    from .errors import ConfigurationError

    env = Settings.load(secrets=False).env
    if env != "development":
        raise ConfigurationError(f"`linx init --demo` is for development, not LINX_ENV={env}: run `linx init`, "
                                 "then `linx business create NAME` for a real business and its API key.")


@main.group("secrets", cls=Group)
def secrets_group() -> None:
    """Secret keys for the environment of every LinX process."""


@secrets_group.command("generate")
@click.option("--json", "as_json", is_flag=True, help='Print {"LINX_SECRET_KEY": ..., "LINX_DATA_KEY": ...}.')
def secrets_generate(as_json: bool) -> None:
    """Print a fresh LINX_SECRET_KEY and LINX_DATA_KEY, as NAME=value lines to paste (an env file, or
    `export` in a shell). Generate them once per deployment: every process shares them. Changing the secret
    key later ends every Gateway session and makes pending passcodes fail (a resend sends new ones), but API
    keys keep working (revoke them with `linx business revoke-key`); changing the data key leaves the numbers
    sealed with the old one unreadable."""
    from .config import generate_secrets

    values = generate_secrets()
    if as_json:
        click.echo(json.dumps(values))
        return
    for name, value in values.items():
        click.echo(f"{name}={value}")


@main.group(cls=Group)
def business() -> None:
    """Business accounts."""


@business.command("create")
@click.argument("name")
@click.option("--display-name", help="The name customers see (default: NAME).")
@click.option("--no-passcode", is_flag=True, help="Workflows need no passcode unless a request asks for one.")
@click.option("--time-zone", help="Where customers without a phone number's zone read times (IANA name, such as "
                                  "America/Toronto; default UTC).")
@click.option("--json", "as_json", is_flag=True)
def business_create(name: str, display_name: str | None, no_passcode: bool, time_zone: str | None,
                    as_json: bool) -> None:
    """Create a business and print its first API key."""
    from .boot import runtime
    from .services.businesses import create_business

    rt = runtime()
    with rt.database.connection_context():
        created, key = create_business(rt, name, display_name, passcode_default=not no_passcode,
                                       time_zone=time_zone)
    _print({"businessId": str(created.id), "apiKey": key}, as_json,
           f"Business {created.name} ({created.id})\nAPI key: {key}")


@business.command("update")
@click.argument("name")
@click.option("--time-zone", required=True, help="Where customers without a phone number's zone read times "
                                                 "(IANA name, such as America/Toronto).")
@click.option("--json", "as_json", is_flag=True)
def business_update(name: str, time_zone: str, as_json: bool) -> None:
    """Change the business NAME: its time zone."""
    from .boot import runtime
    from .services.businesses import find_business, set_time_zone

    rt = runtime()
    with rt.database.connection_context():
        found = set_time_zone(find_business(name), time_zone)
    _print({"businessId": str(found.id), "timeZone": time_zone}, as_json, f"time zone: {time_zone}")


@business.command("key")
@click.argument("name")
@click.option("--label", help="A name for the key, unique among the business's keys not revoked "
                              "(letters, digits, '.', '_', '-'); `revoke-key` takes it.")
@click.option("--read-only", is_flag=True, help="The key may only read (GET); anything else is refused (403).")
@click.option("--json", "as_json", is_flag=True)
def business_key(name: str, label: str | None, read_only: bool, as_json: bool) -> None:
    """Issue a new API key for the business NAME (shown this once; only its hash is kept)."""
    from .boot import runtime
    from .services.businesses import find_business, issue_key

    rt = runtime()
    with rt.database.connection_context():
        found = find_business(name)
        key = issue_key(rt, found, label, read_only=read_only)
    _print({"businessId": str(found.id), "apiKey": key, "prefix": key[:10], "label": label, "readOnly": read_only},
           as_json, f"API key{f' {label!r}' if label else ''}{' (read-only)' if read_only else ''}: {key}")


@business.command("keys")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True)
def business_keys(name: str, as_json: bool) -> None:
    """List the API keys of the business NAME: prefix, label, access, created, last used, revoked."""
    from .boot import runtime
    from .events import iso
    from .services.businesses import find_business, list_keys

    rt = runtime()
    with rt.database.connection_context():
        found = find_business(name)
        rows: list[dict[str, Any]] = [
            {"prefix": k.prefix, "label": k.label, "readOnly": k.read_only, "createdAt": iso(k.created_at),
             "lastUsedAt": iso(k.last_used_at), "revokedAt": iso(k.revoked_at)} for k in list_keys(found)]
    if as_json:
        click.echo(json.dumps({"businessId": str(found.id), "keys": rows}))
        return
    click.echo(f"{'PREFIX':<12}{'LABEL':<20}{'ACCESS':<8}{'CREATED':<22}{'LAST USED':<22}REVOKED")
    for row in rows:
        click.echo(f"{row['prefix']:<12}{row['label'] or '-':<20}{'read' if row['readOnly'] else 'all':<8}"
                   f"{(row['createdAt'] or '-')[:19]:<22}{(row['lastUsedAt'] or '-')[:19]:<22}"
                   f"{(row['revokedAt'] or '-')[:19]}")


@business.command("revoke-key")
@click.argument("name")
@click.argument("key")
@click.option("--json", "as_json", is_flag=True)
def business_revoke_key(name: str, key: str, as_json: bool) -> None:
    """Revoke an API key of the business NAME. KEY is its label, its prefix (as `keys` lists it) or the key
    itself; every server refuses it (401) from now on."""
    from .boot import runtime
    from .events import iso
    from .services.businesses import find_business, revoke_key

    rt = runtime()
    with rt.database.connection_context():
        found = find_business(name)
        row = revoke_key(rt, found, key)
    _print({"businessId": str(found.id), "prefix": row.prefix, "label": row.label, "revokedAt": iso(row.revoked_at)},
           as_json, f"Revoked the key {row.prefix}{f' ({row.label})' if row.label else ''}.")


@business.command("settings")
@click.argument("name")
@click.option("--self-service-recovery", "recovery", type=click.Choice(["on", "off", "default"]),
              help="Let customers ask for a new link from an expired one (workflows without a passcode); "
                   "`default`: as the rules' workflow.recovery.selfService says.")
@click.option("--json", "as_json", is_flag=True)
def business_settings(name: str, recovery: str | None, as_json: bool) -> None:
    """Show (and with an option, change) the settings of the business NAME."""
    from .boot import runtime
    from .services.businesses import (
        SELF_SERVICE_RECOVERY,
        find_business,
        self_service_recovery_setting,
        set_self_service_recovery,
    )

    rt = runtime()
    with rt.database.connection_context():
        found = find_business(name)
        if recovery is not None:
            found = set_self_service_recovery(found, {"on": True, "off": False}.get(recovery))
        on, own = self_service_recovery_setting(rt, found)
    _print({"businessId": str(found.id), SELF_SERVICE_RECOVERY: on, f"{SELF_SERVICE_RECOVERY}FromRules": not own},
           as_json, f"self-service recovery: {'on' if on else 'off'}{'' if own else ' (the rules default)'}")


@business.command("sender")
@click.argument("name")
@click.option("--sms-from", help="The business's own Twilio from-number (E.164).")
@click.option("--sms-service", help="The business's own Twilio Messaging Service SID (MG...).")
@click.option("--installation", "reset", is_flag=True, help="Back to the installation's sender.")
@click.option("--json", "as_json", is_flag=True)
def business_sender(name: str, sms_from: str | None, sms_service: str | None, reset: bool, as_json: bool) -> None:
    """Show (and with an option, set) the sender the SMS of the business NAME leave from: its own (paced by its
    own bucket, at the rules' notifications.rates) or the installation's."""
    from .boot import runtime
    from .services.businesses import find_business, own_sms_sender, set_sms_sender

    if reset and (sms_from or sms_service):
        raise click.UsageError("--installation takes no --sms-from or --sms-service.")
    rt = runtime()
    with rt.database.connection_context():
        found = find_business(name)
        if reset or sms_from or sms_service:
            found = set_sms_sender(found, sms_from, sms_service)
        own = own_sms_sender(found)
    words = ", ".join(f"{k} {v}" for k, v in own.items()) or "the installation's"
    _print({"businessId": str(found.id), "sms": own or None}, as_json, f"SMS sender: {words}")


@business.command("account")
@click.argument("name")
@click.option("--label", default="Operating account", show_default=True, help="The account's name.")
@click.option("--subtype", default="CHECKING", show_default=True)
@click.option("--currency", default="USD", show_default=True)
@click.option("--number", default="", help="The account number (only the last four digits are kept).")
@click.option("--id", "account_id", help="A UUID to give the account (default: a new one).")
@click.option("--json", "as_json", is_flag=True)
def business_account(name: str, label: str, subtype: str, currency: str, number: str, account_id: str | None,
                     as_json: bool) -> None:
    """Add a financial account of the business NAME (money's source or destination)."""
    from .boot import runtime
    from .services.businesses import add_financial_account, find_business

    rt = runtime()
    with rt.database.connection_context():
        account = add_financial_account(rt, find_business(name), label, subtype, currency, number, account_id)
    _print({"baFinancialAccountId": str(account.id), "currency": account.currency}, as_json,
           f"Financial account {account.id} ({account.subtype}, {account.currency})")


@main.group(cls=Group)
def rules() -> None:
    """The rule files."""


@rules.command("check")
@click.argument("directory", required=False, type=click.Path(file_okay=False))
def rules_check(directory: str | None) -> None:
    """Check the rule files in DIRECTORY (default: LINX_RULES_DIR or the installed ones)."""
    from .config import Settings
    from .rules import load_rules

    directory = directory or Settings.load(secrets=False).rules_dir or None
    book = load_rules(directory)
    click.echo(f"{book.directory}: {len(book.steps)} steps, {len(book.parameters)} parameters, "
               f"{len(book.solutions)} solutions, {len(book.combinations)} combination rules: OK")


def _listening_host(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """A ``--host``/``--metrics-host`` checked as it is parsed (:func:`linx_core.serving.check_host`): exit 2 and
    the reason, not a traceback from the WSGI server."""
    from .errors import ConfigurationError
    from .serving import check_host

    try:
        return check_host(value, f"--{(param.name or 'host').replace('_', '-')}")
    except ConfigurationError as exc:
        raise click.BadParameter(str(exc)) from None


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, callback=_listening_host)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--threads", default=8, show_default=True, type=click.IntRange(1, 256),
              help="Requests served at once by each process.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Web processes; above 1, gunicorn's master forks them (each with its own worker thread "
                   "unless --no-worker).")
@click.option("--no-worker", is_flag=True, help="Run no job worker thread in the web process(es).")
@click.option("--i-know", is_flag=True,
              help="In development, serve on a non-loopback address anyway (the developer inbox at /dev/messages "
                   "shows every customer's link to whoever reaches it); serve --metrics-port on a non-loopback "
                   "--metrics-host without LINX_METRICS_TOKEN anyway (every business's metrics to whoever reaches "
                   "it).")
@click.option("--metrics-port", type=click.IntRange(1, 65535),
              help="Also listen on this port for /metrics and /healthz alone (no token asked there unless "
                   "LINX_METRICS_TOKEN is set).")
@click.option("--metrics-host", default="127.0.0.1", show_default=True, callback=_listening_host,
              help="The address --metrics-port listens on; one that is not loopback needs LINX_METRICS_TOKEN "
                   "(or --i-know).")
def serve(host: str, port: int, threads: int, workers: int, no_worker: bool, i_know: bool, metrics_port: int | None,
          metrics_host: str) -> None:
    """Serve the API and the Gateway, with a worker thread unless --no-worker."""
    import signal
    import threading

    from . import ports, serving

    ports.check(host, port)  # before anything starts: a busy port is a line naming a free one, exit 2
    if metrics_port is not None and metrics_port != port:
        ports.check(metrics_host, metrics_port, "--metrics-port")
    from .boot import runtime, set_up_once_reachable
    from .logging_setup import configure
    from .worker import start_thread

    metrics = (metrics_host, metrics_port) if metrics_port is not None else None
    serving.check_metrics_address(host, port, metrics)
    rt = runtime(migrated=False, web=workers == 1)  # gunicorn's processes build their own, after the fork
    configure(rt.settings)
    _guard_public_development(rt, host, i_know)
    _guard_public_metrics(rt, metrics, i_know)
    stopped = threading.Event()  # a SIGTERM while waiting for the database: exit 0, as a running server does
    before = signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    try:  # refuses a database `linx init` has not set up, before anything listens
        if not set_up_once_reachable(rt, "serve", stopped):
            return
    finally:
        signal.signal(signal.SIGTERM, before)
    base = f"http://{serving.address(host, port)}"
    where = _metrics_where(rt, base, metrics)
    if workers > 1:
        _let_go_of_the_database(rt)
        click.echo(f"LinX is serving on {base}  (API docs: {base}/v2/docs) with {workers} gunicorn processes of "
                   f"{threads} threads" + ("" if no_worker else ", each with a worker thread") + f"; {where}")
        serving.LinxServer(host, port, workers, threads, job_worker=not no_worker, metrics=metrics).run()
        return
    app = serving.web_app(rt)
    if not no_worker:
        start_thread(rt)
    click.echo(f"LinX is serving on {base}  (API docs: {base}/v2/docs)"
               + ("" if no_worker else ", with a worker thread") + f"; {where}")
    serving.serve(app, host, port, threads, metrics)


def _metrics_where(rt: Runtime, base: str, metrics: tuple[str, int] | None) -> str:
    """Where Prometheus finds the metrics, for the start-up line (so a 404 on /metrics surprises no one)."""
    from .serving import address

    token = " with LINX_METRICS_TOKEN" if rt.settings.metrics_token else ""
    if metrics is not None:
        return f"metrics at http://{address(*metrics)}/metrics{token}"
    if token:
        return f"metrics at {base}/metrics{token}"
    if rt.settings.development:
        return f"metrics at {base}/metrics (development: no token)"
    return "/metrics is not served (set LINX_METRICS_TOKEN or use --metrics-port)"


def _guard_public_development(rt: Runtime, host: str, i_know: bool) -> None:
    """Development on a non-loopback address serves the developer inbox, every customer's link in it, to
    anyone who can reach the address: refused unless ``--i-know``, and then said loudly in the log."""
    import logging

    from .errors import ConfigurationError

    if not rt.settings.development or _loopback(host):
        return
    if not i_know:
        raise ConfigurationError(
            f"LINX_ENV=development on {host!r}, a non-loopback address: the developer inbox (/dev/messages) would "
            "show every customer's link to anyone who can reach it. Serve on 127.0.0.1 (the default), or pass "
            "--i-know if this network is yours alone; a deployment runs without LINX_ENV=development.")
    logging.getLogger("linx.serve").warning(
        "DEVELOPMENT MODE ON A NON-LOOPBACK ADDRESS (%s, --i-know): the developer inbox /dev/messages shows every "
        "customer's link, and development secrets and settings are in use; anyone who can reach this address "
        "can read them. Never do this on a network you do not control.", host)


def _guard_public_metrics(rt: Runtime, metrics: tuple[str, int] | None, i_know: bool) -> None:
    """The metrics address asks for no token unless ``LINX_METRICS_TOKEN`` is set: on a non-loopback
    ``--metrics-host`` it would show every business's counts to anyone who can reach it. Refused unless the
    token is set or ``--i-know`` (a network only the scraper reaches), and then said in the log."""
    import logging

    from .errors import ConfigurationError

    if metrics is None or rt.settings.metrics_token or _loopback(metrics[0]):
        return
    if not i_know:
        raise ConfigurationError(
            f"--metrics-host {metrics[0]!r} is not a loopback address and LINX_METRICS_TOKEN is not set: every "
            "business's metrics would be served to anyone who can reach it. Set LINX_METRICS_TOKEN (Prometheus "
            "sends it as a bearer token), keep --metrics-host 127.0.0.1 (the default), or pass --i-know if only "
            "your scraper can reach that address.")
    logging.getLogger("linx.serve").warning(
        "METRICS WITHOUT A TOKEN ON A NON-LOOPBACK ADDRESS (%s, --i-know): every business's metrics are served to "
        "anyone who can reach it.", metrics[0])


def _loopback(host: str) -> bool:
    """Whether every address ``host`` names is a loopback one (``127.0.0.1``, ``::1``, ``localhost``); an empty
    host, a wildcard (``0.0.0.0``, ``::``) or a name that does not resolve is not."""
    import ipaddress
    import socket

    name = host.strip("[]")
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        pass
    if not name:
        return False
    try:
        found = {info[4][0] for info in socket.getaddrinfo(name, None)}
    except (OSError, UnicodeError):
        return False
    return bool(found) and all(ipaddress.ip_address(str(a).split("%")[0]).is_loopback for a in found)


def _let_go_of_the_database(rt: Runtime) -> None:
    """Gunicorn's master forks its processes: it lets go of the connection the start-up check opened (a connection
    must never be shared across a fork); each process builds its own runtime after the fork."""
    if hasattr(rt.database, "close_all"):
        rt.database.close_all()
    elif not rt.database.is_closed():
        rt.database.close()


@main.command()
@click.option("--concurrency", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Jobs run at once in this process.")
@click.option("--once", is_flag=True, help="Run what is due, then exit.")
def worker(concurrency: int, once: bool) -> None:
    """Run due jobs: notifications, reminders, expiry, webhooks, payments."""
    import signal
    import threading

    from .boot import runtime, set_up_once_reachable
    from .logging_setup import configure
    from .worker import Worker

    runner: Worker | None = None
    stopped = threading.Event()  # a SIGTERM while starting up or waiting for the database: stop, taking no job

    def on_sigterm(*_: object) -> None:
        stopped.set()
        if runner is not None:
            runner.stop()

    if not once:
        signal.signal(signal.SIGTERM, on_sigterm)
    rt = runtime(migrated=once)  # --once: a database away is an error now
    configure(rt.settings)
    if not once and not set_up_once_reachable(rt, "worker", stopped):
        return
    runner = Worker(rt, concurrency)
    if once:
        click.echo(f"ran {runner.run_until_idle()} job(s)")
        return
    if stopped.is_set():
        return
    try:
        runner.run_forever()
    except KeyboardInterrupt:
        runner.stop()


@main.group(cls=Group)
def jobs() -> None:
    """The outbox: list, show and retry jobs."""


@jobs.command("list")
@click.option("--status", type=click.Choice(["DUE", "RUNNING", "DONE", "PARKED"]))
@click.option("--kind")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--json", "as_json", is_flag=True)
def jobs_list(status: str | None, kind: str | None, limit: int, as_json: bool) -> None:
    """Jobs, most recently changed first."""
    from . import jobs as outbox
    from .boot import runtime

    rt = runtime()
    with rt.database.connection_context():
        rows = [_job_dict(j) for j in outbox.list_jobs(status, kind, limit)]
    if as_json:
        click.echo(json.dumps(rows))
        return
    for row in rows:
        error = (row["lastError"] or "").splitlines()[0][:60] if row["lastError"] else ""
        click.echo(f"{row['id']}  {row['status']:<7} {row['kind']:<16} attempts={row['attempts']:<3} "
                   f"runAt={row['runAt']}  {error}")
    if not rows:
        click.echo("no jobs")


@jobs.command("show")
@click.argument("job_id")
def jobs_show(job_id: str) -> None:
    """One job, with its payload and last error."""
    from . import jobs as outbox
    from .boot import runtime

    rt = runtime()
    with rt.database.connection_context():
        click.echo(json.dumps(_job_dict(outbox.get(job_id)), indent=2))


@jobs.command("retry")
@click.argument("job_id")
def jobs_retry(job_id: str) -> None:
    """Put a PARKED job back in line now."""
    from . import jobs as outbox
    from .boot import runtime

    rt = runtime()
    with rt.database.connection_context():
        job = outbox.retry(job_id)
    click.echo(f"job {job.id} is {job.status} again")


def _job_dict(job: Job) -> dict[str, Any]:
    return {"id": str(job.id), "kind": job.kind, "status": job.status, "attempts": job.attempts,
            "runAt": job.run_at.isoformat(), "leaseUntil": job.lease_until.isoformat() if job.lease_until else None,
            "payload": job.payload, "lastError": job.last_error}


def _print(data: dict[str, Any], as_json: bool, text: str) -> None:
    click.echo(json.dumps(data) if as_json else text)


from .cli_users import register as _register_users  # noqa: E402 - `linx user`, in a module of its own

_register_users(main, Group)

if __name__ == "__main__":  # pragma: no cover
    main()
