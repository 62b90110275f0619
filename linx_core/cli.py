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
def main() -> None:
    """LinX: do it by link. Settings come from LINX_* environment variables."""


@main.command()
@click.option("--demo", is_flag=True, help="Also create the demo data set, Demo Co, and print its API key.")
@click.option("--json", "as_json", is_flag=True, help="Print {businessId, apiKey} as JSON.")
def init(demo: bool, as_json: bool) -> None:
    """Create or upgrade the database (idempotent)."""
    from .boot import runtime

    rt = runtime(migrated=False)
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
def business() -> None:
    """Business accounts."""


@business.command("create")
@click.argument("name")
@click.option("--display-name", help="The name customers see (default: NAME).")
@click.option("--no-passcode", is_flag=True, help="Workflows need no passcode unless a request asks for one.")
@click.option("--json", "as_json", is_flag=True)
def business_create(name: str, display_name: str | None, no_passcode: bool, as_json: bool) -> None:
    """Create a business and print its first API key."""
    from .boot import runtime
    from .services.businesses import create_business

    rt = runtime()
    with rt.database.connection_context():
        created, key = create_business(rt, name, display_name, passcode_default=not no_passcode)
    _print({"businessId": str(created.id), "apiKey": key}, as_json,
           f"Business {created.name} ({created.id})\nAPI key: {key}")


@business.command("key")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True)
def business_key(name: str, as_json: bool) -> None:
    """Issue a new API key for the business NAME."""
    from .boot import runtime
    from .services.businesses import find_business, issue_key

    rt = runtime()
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


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--threads", default=8, show_default=True, type=click.IntRange(1, 256),
              help="Requests served at once by each process.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Web processes; above 1, gunicorn's master forks them (each with its own worker thread "
                   "unless --no-worker).")
@click.option("--no-worker", is_flag=True, help="Run no job worker thread in the web process(es).")
@click.option("--metrics-port", type=click.IntRange(1, 65535),
              help="Also listen on this port for /metrics and /healthz alone (no token asked there unless "
                   "LINX_METRICS_TOKEN is set).")
@click.option("--metrics-host", default="127.0.0.1", show_default=True,
              help="The address --metrics-port listens on.")
def serve(host: str, port: int, threads: int, workers: int, no_worker: bool, metrics_port: int | None,
          metrics_host: str) -> None:
    """Serve the API and the Gateway, with a worker thread unless --no-worker."""
    import signal
    import threading

    from . import serving
    from .boot import runtime, set_up_once_reachable
    from .logging_setup import configure
    from .worker import start_thread

    metrics = (metrics_host, metrics_port) if metrics_port is not None else None
    serving.check_metrics_address(host, port, metrics)
    rt = runtime(migrated=False, web=workers == 1)  # gunicorn's processes build their own, after the fork
    configure(rt.settings)
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


if __name__ == "__main__":  # pragma: no cover
    main()
