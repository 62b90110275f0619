"""The ``linx`` command: set-up, businesses, rules and the server."""
import json
import sys

import click
import peewee

from .errors import LinxError


def _runtime(migrated=True):
    """The runtime from the environment; with ``migrated``, refuse a database `linx init` has not set up."""
    from .config import Settings
    from .runtime import Runtime

    rt = Runtime(Settings.load())
    if migrated:
        _check_set_up(rt)
    return rt


def _check_set_up(rt):
    from .errors import ConfigurationError
    from .store import redacted
    from .store.migrate import pending

    with rt.database.connection_context():
        missing = pending(rt.database)
    if missing:
        raise ConfigurationError(f"The database {redacted(rt.settings.database_url)} is not set up or is out of date "
                                 f"({len(missing)} migration(s) pending): run `linx init` first.")


WAIT_FOR_DATABASE_MAX_SECONDS = 30  # the longest pause between two looks at a database that is not there yet


def _set_up_once_reachable(rt, command, stopped):
    """Refuse a database `linx init` has not set up, as :func:`_runtime` does; but while the database cannot be
    reached (a server still starting, restarting, refusing connections), wait for it, saying so, instead of
    exiting: processes started before their database (a compose file, a reboot) come up when it does. A server
    that refuses for good (no such database or role, a wrong password) is refused at once.
    Returns False if ``stopped`` was set while waiting."""
    import logging

    log = logging.getLogger(f"linx.{command}")
    pause = 0.5
    while True:
        away = _away(rt)
        if away is None:
            return True
        log.warning("the database cannot be reached (%s); looking again in %g s", away, pause)
        if stopped.wait(pause):
            return False
        pause = min(pause * 2, WAIT_FOR_DATABASE_MAX_SECONDS)


def _away(rt):
    """None when the database is set up; why not, in a line, while it cannot be reached for now (a wait may see
    it back). Raises when it is not set up or refuses for good (no such database or role, a wrong password)."""
    from playhouse.pool import MaxConnectionsExceeded

    from .store import refused_for_good, unavailable

    try:
        _check_set_up(rt)
        return None
    except (peewee.DatabaseError, peewee.InterfaceError, MaxConnectionsExceeded) as exc:
        if unavailable(exc) != "unreachable" or refused_for_good(exc):
            raise
        return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _fail(exc):
    click.echo(f"error: {exc}", err=True)
    sys.exit(2)


class Group(click.Group):
    """Turns domain and configuration errors into a message and exit code 2, not a traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except LinxError as exc:
            _fail(exc)
        except peewee.DatabaseError as exc:
            _fail(f"the database refused: {exc} (is LINX_DATABASE_URL right, and was `linx init` run?)")


@click.group(cls=Group)
@click.version_option(package_name="linx")
def main():
    """LinX: do it by link. Settings come from LINX_* environment variables."""


@main.command()
@click.option("--demo", is_flag=True, help="Also create the demo data set, Demo Co, and print its API key.")
@click.option("--json", "as_json", is_flag=True, help="Print {businessId, apiKey} as JSON.")
def init(demo, as_json):
    """Create or upgrade the database (idempotent)."""
    rt = _runtime(migrated=False)
    with rt.database.connection_context():
        applied = rt.migrate()
        if not demo:
            click.echo(json.dumps({"applied": applied}) if as_json else
                       (f"applied: {', '.join(applied)}" if applied else "the database is up to date"))
            return
        from .demo import init_demo

        business, key = init_demo(rt)
    if as_json:
        click.echo(json.dumps({"businessId": str(business.id), "apiKey": key}))
    else:
        click.echo(f"Demo Co is ready (business {business.id}).\nAPI key: {key}")


@main.group(cls=Group)
def business():
    """Business accounts."""


@business.command("create")
@click.argument("name")
@click.option("--display-name", help="The name customers see (default: NAME).")
@click.option("--no-passcode", is_flag=True, help="Workflows need no passcode unless a request asks for one.")
@click.option("--json", "as_json", is_flag=True)
def business_create(name, display_name, no_passcode, as_json):
    """Create a business and print its first API key."""
    from .services.businesses import create_business

    rt = _runtime()
    with rt.database.connection_context():
        created, key = create_business(rt, name, display_name, passcode_default=not no_passcode)
    _print({"businessId": str(created.id), "apiKey": key}, as_json,
           f"Business {created.name} ({created.id})\nAPI key: {key}")


@business.command("key")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True)
def business_key(name, as_json):
    """Issue a new API key for the business NAME."""
    from .services.businesses import find_business, issue_key

    rt = _runtime()
    with rt.database.connection_context():
        found = find_business(name)
        key = issue_key(rt, found)
    _print({"businessId": str(found.id), "apiKey": key}, as_json, f"API key: {key}")


@business.command("account")
@click.argument("name")
@click.option("--label", default="Operating account", show_default=True, help="The account's name.")
@click.option("--subtype", default="CHECKING", show_default=True)
@click.option("--currency", default="USD", show_default=True)
@click.option("--number", default="", help="The account number (only the last four digits are kept).")
@click.option("--id", "account_id", help="A UUID to give the account (default: a new one).")
@click.option("--json", "as_json", is_flag=True)
def business_account(name, label, subtype, currency, number, account_id, as_json):
    """Add a financial account of the business NAME (money's source or destination)."""
    from .services.businesses import add_financial_account, find_business

    rt = _runtime()
    with rt.database.connection_context():
        account = add_financial_account(rt, find_business(name), label, subtype, currency, number, account_id)
    _print({"baFinancialAccountId": str(account.id), "currency": account.currency}, as_json,
           f"Financial account {account.id} ({account.subtype}, {account.currency})")


@main.group(cls=Group)
def rules():
    """The rule files."""


@rules.command("check")
@click.argument("directory", required=False, type=click.Path(file_okay=False))
def rules_check(directory):
    """Check the rule files in DIRECTORY (default: LINX_RULES_DIR or the installed ones)."""
    from .config import Settings
    from .rules import load_rules

    directory = directory or Settings.load(secrets=False).rules_dir or None
    book = load_rules(directory)
    click.echo(f"{book.directory}: {len(book.steps)} steps, {len(book.parameters)} parameters, "
               f"{len(book.solutions)} solutions, {len(book.combinations)} combination rules: OK")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--threads", default=8, show_default=True, type=click.IntRange(1, 256),
              help="Requests served at once by each process.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Web processes; above 1, gunicorn's master forks them (each with its own worker thread "
                   "unless --no-worker).")
@click.option("--no-worker", is_flag=True, help="Run no job worker thread in the web process(es).")
def serve(host, port, threads, workers, no_worker):
    """Serve the API and the Gateway, with a worker thread unless --no-worker."""
    import signal
    import threading

    from .logging_setup import configure

    rt = _runtime(migrated=False)
    configure(rt.settings)
    stopped = threading.Event()  # a SIGTERM while waiting for the database: exit 0, as a running server does
    before = signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    try:  # refuses a database `linx init` has not set up, before anything listens
        if not _set_up_once_reachable(rt, "serve", stopped):
            return
    finally:
        signal.signal(signal.SIGTERM, before)
    if workers > 1:
        _serve_processes(rt, host, port, workers, threads, no_worker)
        return

    import waitress

    from gateway_app.wsgi import wsgi_app

    app = wsgi_app(rt)
    if not no_worker:
        from .worker import start_thread

        start_thread(rt)
    base = f"http://{host}:{port}"
    click.echo(f"LinX is serving on {base}  (API docs: {base}/v2/docs)"
               + ("" if no_worker else ", with a worker thread"))
    # waitress would strip X-Forwarded-* before the app sees them: LINX_PROXY_HOPS alone decides what to trust
    waitress.serve(app, host=host, port=port, threads=threads, ident="linx", clear_untrusted_proxy_headers=False)


def _serve_processes(rt, host, port, workers, threads, no_worker):
    """Gunicorn with ``workers`` processes; each builds its own runtime after the fork, so the master lets go of
    the database connection the start-up check opened (a connection must never be shared across a fork)."""
    from gateway_app.wsgi import LinxServer

    if hasattr(rt.database, "close_all"):
        rt.database.close_all()
    elif not rt.database.is_closed():
        rt.database.close()
    base = f"http://{host}:{port}"
    click.echo(f"LinX is serving on {base}  (API docs: {base}/v2/docs) with {workers} gunicorn processes of "
               f"{threads} threads" + ("" if no_worker else ", each with a worker thread"))
    LinxServer(host, port, workers, threads, job_worker=not no_worker).run()


@main.command()
@click.option("--concurrency", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Jobs run at once in this process.")
@click.option("--once", is_flag=True, help="Run what is due, then exit.")
def worker(concurrency, once):
    """Run due jobs: notifications, reminders, expiry, webhooks, payments."""
    import signal
    import threading

    from .worker import Worker

    from .logging_setup import configure

    runner = None
    stopped = threading.Event()  # a SIGTERM while starting up or waiting for the database: stop, taking no job

    def on_sigterm(*_):
        stopped.set()
        if runner is not None:
            runner.stop()

    if not once:
        signal.signal(signal.SIGTERM, on_sigterm)
    rt = _runtime(migrated=once)  # --once: a database away is an error now
    configure(rt.settings)
    if not once and not _set_up_once_reachable(rt, "worker", stopped):
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
def jobs():
    """The outbox: list, show and retry jobs."""


@jobs.command("list")
@click.option("--status", type=click.Choice(["DUE", "RUNNING", "DONE", "PARKED"]))
@click.option("--kind")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--json", "as_json", is_flag=True)
def jobs_list(status, kind, limit, as_json):
    """Jobs, most recently changed first."""
    from . import jobs as outbox

    rt = _runtime()
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
def jobs_show(job_id):
    """One job, with its payload and last error."""
    from . import jobs as outbox

    rt = _runtime()
    with rt.database.connection_context():
        click.echo(json.dumps(_job_dict(outbox.get(job_id)), indent=2))


@jobs.command("retry")
@click.argument("job_id")
def jobs_retry(job_id):
    """Put a PARKED job back in line now."""
    from . import jobs as outbox

    rt = _runtime()
    with rt.database.connection_context():
        job = outbox.retry(job_id)
    click.echo(f"job {job.id} is {job.status} again")


def _job_dict(job):
    return {"id": str(job.id), "kind": job.kind, "status": job.status, "attempts": job.attempts,
            "runAt": job.run_at.isoformat(), "leaseUntil": job.lease_until.isoformat() if job.lease_until else None,
            "payload": job.payload, "lastError": job.last_error}


def _print(data, as_json, text):
    click.echo(json.dumps(data) if as_json else text)


if __name__ == "__main__":  # pragma: no cover
    main()
