"""Operational endpoints: ``/healthz`` (liveness), ``/readyz`` (readiness) and ``/metrics`` (Prometheus).

``init_app(app)`` registers them and the per-request hooks:

- the request's trace id goes into :data:`linx_core.logging_setup.trace_id`, so every log line
  written while serving the request carries it;
- each request's duration is observed in ``linx_http_request_duration_seconds``, labelled by the
  Flask URL rule (``/v2/linx/workflows/<workflow_id>``, never the raw path), method and status.

The three endpoints are served before the app's own ``before_request`` opens a database
connection: liveness touches no database, and readiness and metrics report an unreachable
database instead of failing with it.

Metrics live in a registry of this app's own (never prometheus_client's global one), and the
database figures are read when Prometheus scrapes. None of them names a business or a customer.

Who may read them: the counts are every tenant's together, so outside development ``/metrics`` is served
only to ``Authorization: Bearer <LINX_METRICS_TOKEN>`` (compared in constant time; a missing or wrong
token gets 401), or to anyone on the metrics address of ``linx serve --metrics-port`` (loopback unless
told otherwise; the token is asked there too when it is set). Without the setting, outside development
``/metrics`` answers 404, as a page that is not served. ``/readyz`` answers its status (200 or 503) to
anyone, for load balancers; its details (database, rules, job lag) go only to whoever may read metrics.
"""
import hmac
import logging
import time

from flask import Blueprint, Response, current_app, g, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

from linx_core import __version__, clock, logging_setup
from linx_core.lifecycle import WORKFLOW
from linx_core.serving import METRICS_LISTENER
from linx_core.store.models import Job, WebhookDelivery, Workflow

from .errors import error_response

log = logging.getLogger("linx.ops")

bp = Blueprint("ops", __name__)

DEFAULT_MAX_JOB_LAG_SECONDS = 300.0
JOB_STATUSES = ("DUE", "RUNNING", "DONE", "PARKED")
DELIVERY_OUTCOMES = ("SUCCEEDED", "FAILED")
METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
EXTENSION = "linx.metrics"
# Endpoints served by this module before the app's database hook runs.
OPS_ENDPOINTS = ("ops.healthz", "ops.readyz", "ops.metrics")


def _rt():
    return current_app.extensions["linx"]


def max_job_lag_seconds(settings):
    """``LINX_READY_MAX_JOB_LAG_SECONDS`` (300 unless set)."""
    value = getattr(settings, "ready_max_job_lag_seconds", None)
    return float(DEFAULT_MAX_JOB_LAG_SECONDS if value is None else value)


# -- the database figures, read at scrape time -------------------------------------------------------


def oldest_due_lag(now=None):
    """Seconds since the ``run_at`` of the oldest DUE job that should have run by now (0 when none)."""
    now = now or clock.now()
    row = (Job.select(Job.run_at).where((Job.status == "DUE") & (Job.run_at <= now))
           .order_by(Job.run_at).limit(1).first())
    return max(0.0, (now - row.run_at).total_seconds()) if row else 0.0


def _count_by(model, column):
    from peewee import fn

    return dict(model.select(column, fn.COUNT(model.id)).group_by(column).tuples())


class DatabaseCollector:
    """Gauges read from the database on each scrape; ``linx_database_up 0`` when it cannot answer."""

    def __init__(self, runtime):
        self.runtime = runtime

    def describe(self):
        return []  # the registry must not call collect() (and so the database) when registering

    def collect(self):
        up = GaugeMetricFamily("linx_database_up", "1 when the database answered this scrape, else 0.")
        try:
            figures = self._read()
        except Exception as exc:  # noqa: BLE001 - any failure means "no figures this time"
            log.warning("metrics: the database did not answer: %s: %s", type(exc).__name__, exc)
            _rollback(self.runtime.database)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        workflows = GaugeMetricFamily("linx_workflows", "Workflows by status.", labels=["status"])
        for status in sorted(set(WORKFLOW["states"]) | set(figures["workflows"])):
            workflows.add_metric([status], figures["workflows"].get(status, 0))
        yield workflows
        jobs = GaugeMetricFamily("linx_jobs", "Outbox jobs by status (DUE includes jobs scheduled for later).",
                                 labels=["status"])
        for status in sorted(set(JOB_STATUSES) | set(figures["jobs"])):
            jobs.add_metric([status], figures["jobs"].get(status, 0))
        yield jobs
        yield GaugeMetricFamily("linx_jobs_due_now", "DUE jobs whose run_at has passed: waiting for a worker.",
                                value=figures["due_now"])
        yield GaugeMetricFamily("linx_jobs_parked", "Jobs that kept failing and wait for an operator "
                                                    "(linx jobs list --status PARKED).",
                                value=figures["jobs"].get("PARKED", 0))
        yield GaugeMetricFamily("linx_job_lag_seconds", "Age of the oldest DUE job whose run_at has passed "
                                                        "(0 when none waits).", value=figures["lag"])
        deliveries = GaugeMetricFamily("linx_webhook_deliveries", "Webhook delivery attempts on record, by outcome.",
                                       labels=["outcome"])
        for outcome in sorted(set(DELIVERY_OUTCOMES) | set(figures["deliveries"])):
            deliveries.add_metric([outcome], figures["deliveries"].get(outcome, 0))
        yield deliveries
        yield GaugeMetricFamily("linx_webhook_deliveries_failed", "Webhook delivery attempts that failed, on record.",
                                value=figures["deliveries"].get("FAILED", 0))

    def _read(self):
        runtime = self.runtime
        runtime.bind()
        database = runtime.database
        opened = database.connect(reuse_if_open=True)
        try:
            now = clock.now()
            due_now = Job.select().where((Job.status == "DUE") & (Job.run_at <= now)).count()
            return {
                "workflows": _count_by(Workflow, Workflow.status),
                "jobs": _count_by(Job, Job.status),
                "due_now": due_now,
                "lag": oldest_due_lag(now),
                "deliveries": _count_by(WebhookDelivery, WebhookDelivery.outcome),
            }
        finally:
            if opened and not database.is_closed():
                database.close()


class Metrics:
    """One app's registry: the request histogram and the database collector."""

    def __init__(self, runtime):
        self.registry = CollectorRegistry(auto_describe=False)
        self.requests = Histogram(
            "linx_http_request_duration_seconds", "Time to answer a request, by Flask URL rule, method and status.",
            labelnames=("endpoint", "method", "status"), registry=self.registry)
        info = GaugeMetricFamily("linx_info", "LinX's version.", labels=["version"])
        info.add_metric([__version__], 1)
        self.registry.register(_Static([info]))
        self.registry.register(DatabaseCollector(runtime))

    def observe(self, endpoint, method, status, seconds):
        self.requests.labels(endpoint=endpoint, method=method, status=str(status)).observe(seconds)

    def render(self):
        return generate_latest(self.registry)


class _Static:
    def __init__(self, families):
        self.families = families

    def collect(self):
        return iter(self.families)


def _rollback(database):
    try:
        if not database.is_closed():
            database.rollback()
    except Exception:  # noqa: BLE001 - the connection is gone; the request's teardown closes it
        pass


# -- who may read them -------------------------------------------------------------------------------


def _bearer_token():
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _token_matches(expected):
    """The request's bearer token is ``expected``, compared in constant time (bytes: any text compares)."""
    return hmac.compare_digest(_bearer_token().encode(), expected.encode())


def may_read_metrics():
    """Whether this request may read the metrics and the readiness details (see the module's docstring)."""
    settings = _rt().settings
    if settings.metrics_token:
        return _token_matches(settings.metrics_token)
    return bool(request.environ.get(METRICS_LISTENER)) or settings.development


def _refusal():
    """401 (with ``WWW-Authenticate``) when a token is set; else 404, as for a page that is not served here."""
    if _rt().settings.metrics_token:
        response = error_response(401, "Send the metrics token as `Authorization: Bearer <LINX_METRICS_TOKEN>`.",
                                  "METRICS_TOKEN_REQUIRED")
        response.headers["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return error_response(404, "No such resource.", "NOT_FOUND")


# -- the endpoints ----------------------------------------------------------------------------------


@bp.get("/healthz")
def healthz():
    """Liveness: the process answers. No database."""
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz():
    """Readiness: the database answers, the rules are loaded, and due jobs are not waiting too long.

    The status (200 or 503, ``{"status": ...}``) is for anyone; what failed and why only for :func:`may_read_metrics`.
    """
    rt = _rt()
    checks, failed = {}, []
    database = rt.database
    rt.bind()
    try:
        database.connect(reuse_if_open=True)
        database.execute_sql("SELECT 1")
        checks["database"] = {"ok": True}
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready"
        log.warning("readyz: the database did not answer: %s: %s", type(exc).__name__, exc)
        _rollback(database)
        checks["database"] = {"ok": False, "error": f"The database did not answer ({type(exc).__name__})."}
        failed.append("database")

    rules = rt.rules
    loaded = rules is not None and bool(getattr(rules, "steps", None))
    checks["rules"] = {"ok": loaded, **({"steps": len(rules.steps)} if loaded else
                                        {"error": "No rule book is loaded."})}
    if not loaded:
        failed.append("rules")

    bound = max_job_lag_seconds(rt.settings)
    if "database" in failed:
        checks["jobLag"] = {"ok": None, "maxSeconds": bound, "error": "Not checked: the database did not answer."}
    else:
        try:
            lag = oldest_due_lag()
            ok = lag < bound
            checks["jobLag"] = {"ok": ok, "seconds": round(lag, 3), "maxSeconds": bound}
            if not ok:
                failed.append("jobLag")
        except Exception as exc:  # noqa: BLE001 - e.g. a database `linx init` has not set up
            log.warning("readyz: could not read the jobs: %s: %s", type(exc).__name__, exc)
            _rollback(database)
            checks["jobLag"] = {"ok": False, "maxSeconds": bound,
                                "error": f"The jobs could not be read ({type(exc).__name__})."}
            failed.append("jobLag")
    body = {"status": "unavailable" if failed else "ready"}
    if may_read_metrics():
        body.update(failed=failed, checks=checks)
    response = jsonify(body)
    response.status_code = 503 if failed else 200
    return response


@bp.get("/metrics")
def metrics():
    """The Prometheus text exposition of this app's registry, for :func:`may_read_metrics` alone."""
    if not may_read_metrics():
        return _refusal()
    return Response(current_app.extensions[EXTENSION].render(), content_type=CONTENT_TYPE_LATEST)


# -- registration and request hooks ---------------------------------------------------------------


def init_app(app):
    """Register the endpoints, the metrics registry and the request hooks on ``app`` (after create_app's own)."""
    app.extensions[EXTENSION] = Metrics(app.extensions["linx"])
    app.register_blueprint(bp)
    # First of all before_request functions, so that timing covers the whole request and the ops
    # endpoints are served without the app's database hook.
    app.before_request_funcs.setdefault(None, []).insert(0, _start)
    app.before_request(_sync_trace_id)  # after create_app's hook, which sets g.trace_id
    app.after_request(_observe)
    app.teardown_request(_forget_trace_id)


def _start():
    from . import _trace_id

    g.linx_started = time.perf_counter()
    if "trace_id" not in g:
        g.trace_id = _trace_id()
    g.linx_trace_token = logging_setup.set_trace_id(g.trace_id)
    if request.endpoint in OPS_ENDPOINTS and request.method in ("GET", "HEAD"):
        return current_app.view_functions[request.endpoint]()
    return None


def _sync_trace_id():
    logging_setup.trace_id.set(g.get("trace_id") or None)


def _observe(response):
    started = g.get("linx_started")
    metrics_ = current_app.extensions.get(EXTENSION)
    if started is not None and metrics_ is not None:
        rule = request.url_rule
        method = request.method if request.method in METHODS else "OTHER"
        metrics_.observe(rule.rule if rule is not None else "<unmatched>", method, response.status_code,
                         time.perf_counter() - started)
    return response


def _forget_trace_id(exc):
    logging_setup.reset_trace_id(g.pop("linx_trace_token", None))
