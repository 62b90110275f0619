"""Operational endpoints: /healthz, /readyz and /metrics; who may read the metrics and the readiness details."""
import json
import shutil
import uuid
from dataclasses import fields, replace

import pytest
from prometheus_client.parser import text_string_to_metric_families

from gateway_app import ops
from linx_core import clock, jobs, serving, store
from linx_core.clock import FrozenClock
from linx_core.config import Settings
from linx_core.errors import ConfigurationError
from linx_core.runtime import Runtime
from linx_core.store.models import Event, Job, WebhookDelivery, WebhookSubscription, Workflow

from .conftest import make_app, seed_examples
from .conftest import test_settings as make_settings

TOKEN = "metrics-token-for-the-tests-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def rt(rt, monkeypatch):
    """The backend's runtime with ``LINX_METRICS_TOKEN`` set (these tests read the metrics as Prometheus would)."""
    monkeypatch.setattr(rt, "settings", replace(rt.settings, metrics_token=TOKEN))
    return rt


def scrape(client):
    response = client.get("/metrics", headers=AUTH)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    text = response.get_data(as_text=True)
    return text, {f.name: f for f in text_string_to_metric_families(text)}


def gauge(families, name, **labels):
    found = [s.value for s in families[name].samples if s.name == name and s.labels == labels]
    assert len(found) == 1, (name, labels, families[name].samples)
    return found[0]


def histogram_count(families, endpoint, method, status):
    samples = [s.value for s in families["linx_http_request_duration_seconds"].samples
               if s.name == "linx_http_request_duration_seconds_count"
               and s.labels == {"endpoint": endpoint, "method": method, "status": str(status)}]
    return samples[0] if samples else 0


@pytest.fixture
def frozen(rt):
    frozen = FrozenClock()
    clock.set_clock(frozen)
    return frozen


# -- a runtime whose database cannot be reached --------------------------------------------------


@pytest.fixture(params=["sqlite", "postgres"])
def unreachable(request, tmp_path):
    """A runtime whose database is gone: a SQLite file whose folder was removed, or a closed PostgreSQL port."""
    bound = store.db.obj
    if request.param == "sqlite":
        folder = tmp_path / "db"
        folder.mkdir()
        runtime = Runtime(make_settings(database_url=f"sqlite:///{folder}/linx.db", metrics_token=TOKEN))
        runtime.migrate()
        shutil.rmtree(folder)  # root ignores permissions, so the folder goes rather than turns unreadable
    else:
        runtime = Runtime(make_settings(database_url="postgresql://linx@127.0.0.1:1/linx", metrics_token=TOKEN))
    yield runtime
    if bound is not None:
        store.bind(bound)


# -- /healthz -------------------------------------------------------------------------------------


def test_healthz_says_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}
    assert len(response.headers["X-Trace-Id"]) == 32


def test_healthz_needs_no_database(unreachable):
    client = make_app(unreachable).test_client()
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}
    assert client.head("/healthz").status_code == 200


def test_healthz_takes_only_get(client):
    response = client.post("/healthz")
    assert response.status_code == 405
    assert response.get_json()["errorCode"] == "METHOD_NOT_ALLOWED"


# -- /readyz --------------------------------------------------------------------------------------


def test_readyz_is_ready_with_a_database_rules_and_no_waiting_job(client):
    response = client.get("/readyz", headers=AUTH)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["status"] == "ready" and body["failed"] == []
    assert body["checks"]["database"] == {"ok": True}
    assert body["checks"]["rules"]["ok"] is True and body["checks"]["rules"]["steps"] > 0
    assert body["checks"]["jobLag"] == {"ok": True, "seconds": 0.0, "maxSeconds": 300.0}


def test_readyz_fails_when_the_oldest_due_job_waits_longer_than_the_bound(client, rt, frozen):
    jobs.enqueue("test.noop", {})
    # jobs that are not waiting for a worker do not count
    jobs.enqueue("test.later", {}, run_at=frozen.now().replace(year=2027))
    parked = jobs.enqueue("test.parked", {}, run_at=frozen.now().replace(year=2025))
    Job.update(status="PARKED").where(Job.id == parked.id).execute()

    frozen.advance(seconds=299)
    response = client.get("/readyz", headers=AUTH)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["checks"]["jobLag"] == {"ok": True, "seconds": 299.0, "maxSeconds": 300.0}

    frozen.advance(seconds=2)
    response = client.get("/readyz", headers=AUTH)
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "unavailable" and body["failed"] == ["jobLag"]
    assert body["checks"]["jobLag"] == {"ok": False, "seconds": 301.0, "maxSeconds": 300.0}
    assert body["checks"]["database"]["ok"] is True and body["checks"]["rules"]["ok"] is True

    # a worker catches up: ready again
    Job.update(status="DONE").where(Job.status == "DUE").execute()
    assert client.get("/readyz", headers=AUTH).status_code == 200


def test_readyz_fails_when_the_database_is_unreachable(unreachable):
    client = make_app(unreachable).test_client()
    response = client.get("/readyz", headers=AUTH)
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "unavailable" and body["failed"] == ["database"]
    assert body["checks"]["database"]["ok"] is False
    assert body["checks"]["rules"]["ok"] is True
    assert body["checks"]["jobLag"]["ok"] is None
    # says which check failed, without the database's address or path
    text = response.get_data(as_text=True)
    assert "127.0.0.1" not in text and "linx.db" not in text
    assert len(response.headers["X-Trace-Id"]) == 32


def test_the_bound_comes_from_the_settings():
    assert ops.max_job_lag_seconds(make_settings()) == 300
    if "ready_max_job_lag_seconds" not in {f.name for f in fields(Settings)}:
        pytest.skip("Settings has no ready_max_job_lag_seconds field yet")
    settings = Settings.load(environ={"LINX_READY_MAX_JOB_LAG_SECONDS": "30"}, secrets=False)
    assert ops.max_job_lag_seconds(settings) == 30


# -- /metrics -------------------------------------------------------------------------------------


def test_metrics_match_the_database(api, client, rt, demo, frozen):
    created = [api.create(None, raw=raw) for raw in seed_examples()]
    assert [r.status_code for r in created] == [201] * 4
    cancelled = api.client.post(f"/v2/linx/workflows/{created[0].get_json()['id']}/cancel", headers=api.headers())
    assert cancelled.status_code == 200, cancelled.get_json()
    parked = jobs.enqueue("test.parked", {})
    Job.update(status="PARKED").where(Job.id == parked.id).execute()
    jobs.enqueue("test.later", {}, run_at=frozen.now().replace(year=2027))

    subscription = WebhookSubscription.create(business=demo[0], url="https://hooks.example.com/",
                                              event_types=["*"], sealed_secret="x")
    event = Event.select().first()
    for attempt, outcome in enumerate(["FAILED", "FAILED", "SUCCEEDED"], 1):
        WebhookDelivery.create(subscription=subscription, event=event, attempt=attempt, outcome=outcome)
    frozen.advance(seconds=42)

    text, families = scrape(client)

    assert gauge(families, "linx_database_up") == 1
    for status in ("CREATED", "ACTIVE", "COMPLETED", "CANCELLED", "EXPIRED", "FAILED", "DECLINED", "ARCHIVED"):
        assert gauge(families, "linx_workflows", status=status) == Workflow.select().where(
            Workflow.status == status).count(), status
    assert gauge(families, "linx_workflows", status="CREATED") == 3
    assert gauge(families, "linx_workflows", status="CANCELLED") == 1
    counts = jobs.counts()
    for status in ("DUE", "RUNNING", "DONE", "PARKED"):
        assert gauge(families, "linx_jobs", status=status) == counts.get(status, 0), status
    due_now = Job.select().where((Job.status == "DUE") & (Job.run_at <= frozen.now())).count()
    assert due_now >= 4  # a notification per workflow, at least
    assert gauge(families, "linx_jobs_due_now") == due_now
    later = Job.select().where((Job.status == "DUE") & (Job.run_at > frozen.now())).count()
    assert later >= 1  # expiry and reminders, and the one for 2027
    assert gauge(families, "linx_jobs", status="DUE") == due_now + later
    assert gauge(families, "linx_jobs_parked") == 1
    assert gauge(families, "linx_job_lag_seconds") == 42
    assert gauge(families, "linx_webhook_deliveries", outcome="FAILED") == 2
    assert gauge(families, "linx_webhook_deliveries", outcome="SUCCEEDED") == 1
    assert gauge(families, "linx_webhook_deliveries_failed") == 2

    # no tenant data: no business, workflow, customer or key appears
    for secret in [str(demo[0].id), demo[0].name, demo[1], "+16471234567", str(subscription.id),
                   *(r.get_json()["id"] for r in created)]:
        assert secret not in text


def test_metrics_follow_changes_at_scrape_time(api, client, rt):
    _, before = scrape(client)
    assert gauge(before, "linx_workflows", status="CREATED") == 0
    assert api.create(None, raw=seed_examples()[0]).status_code == 201
    _, after = scrape(client)
    assert gauge(after, "linx_workflows", status="CREATED") == 1


def test_latency_histograms_count_requests_by_url_rule_and_status(api, client):
    for _ in range(3):
        assert api.get(f"/v2/linx/workflows/{uuid.uuid4()}").status_code == 404
    for _ in range(2):
        assert api.get("/v2/linx/workflows").status_code == 200
    assert client.get("/v2/linx/workflows").status_code == 401
    assert client.get("/no/such/path/" + uuid.uuid4().hex).status_code == 404
    assert client.get("/healthz").status_code == 200

    text, families = scrape(client)

    assert histogram_count(families, "/v2/linx/workflows/<workflow_id>", "GET", 404) == 3
    assert histogram_count(families, "/v2/linx/workflows", "GET", 200) == 2
    assert histogram_count(families, "/v2/linx/workflows", "GET", 401) == 1
    assert histogram_count(families, "<unmatched>", "GET", 404) == 1
    assert histogram_count(families, "/healthz", "GET", 200) == 1
    buckets = [s for s in families["linx_http_request_duration_seconds"].samples
               if s.name.endswith("_bucket") and s.labels["endpoint"] == "/v2/linx/workflows/<workflow_id>"]
    assert buckets and max(s.value for s in buckets) == 3  # the +Inf bucket holds them all
    assert "/no/such/path" not in text  # raw paths never become labels


def test_each_app_has_its_own_registry(rt, client):
    assert client.get("/healthz").status_code == 200
    other = make_app(rt).test_client()
    _, families = scrape(other)
    assert histogram_count(families, "/healthz", "GET", 200) == 0
    _, families = scrape(client)
    assert histogram_count(families, "/healthz", "GET", 200) == 1


def test_metrics_still_answer_when_the_database_is_unreachable(unreachable):
    client = make_app(unreachable).test_client()
    client.get("/healthz")
    _, families = scrape(client)
    assert gauge(families, "linx_database_up") == 0
    assert "linx_workflows" not in families
    assert histogram_count(families, "/healthz", "GET", 200) == 1


def test_the_ops_endpoints_answer_json_with_a_trace_id(client):
    response = client.get("/readyz", headers={
        **AUTH, "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"})
    assert response.headers["X-Trace-Id"] == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert json.loads(response.get_data(as_text=True))["status"] == "ready"


# -- who may read the metrics and the readiness details (issue 12, item 5) -------------------------


def replace_settings(rt, monkeypatch, **changes):
    monkeypatch.setattr(rt, "settings", replace(rt.settings, **changes))
    return rt


def _without_token(rt, monkeypatch, env="test"):
    return make_app(replace_settings(rt, monkeypatch, metrics_token="", env=env)).test_client()


@pytest.mark.parametrize("headers", [
    {},
    {"Authorization": "Bearer"},
    {"Authorization": "Bearer "},
    {"Authorization": "Bearer wrong-token-of-some-length"},
    {"Authorization": f"Bearer {TOKEN[:-1]}"},  # a prefix
    {"Authorization": f"Bearer {TOKEN}x"},
    {"Authorization": f"Basic {TOKEN}"},  # the right token in another scheme
    {"Authorization": f"Bearer {TOKEN.upper()}"},
    {"Authorization": "Bearer \u00e9t\u00e9"},  # not ASCII: refused, not a 500
], ids=["none", "bearer-alone", "empty", "wrong", "prefix", "longer", "basic", "upper", "non-ascii"])
def test_metrics_refuse_a_missing_or_wrong_token(client, headers):
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="metrics"'
    body = response.get_json()
    assert body["errorCode"] == "METRICS_TOKEN_REQUIRED" and body["traceId"]
    assert "linx_" not in response.get_data(as_text=True)


def test_metrics_answer_the_right_token(client):
    for scheme in ("Bearer", "bearer"):
        response = client.get("/metrics", headers={"Authorization": f"{scheme} {TOKEN}"})
        assert response.status_code == 200
        assert "linx_database_up 1.0" in response.get_data(as_text=True)


def test_the_token_is_compared_in_constant_time(client, monkeypatch):
    compared = []
    real = ops.hmac.compare_digest
    monkeypatch.setattr(ops.hmac, "compare_digest", lambda a, b: compared.append((a, b)) or real(a, b))
    assert client.get("/metrics", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert compared == [(b"nope", TOKEN.encode())]


def test_without_a_token_metrics_are_not_served_outside_development(rt, monkeypatch):
    client = _without_token(rt, monkeypatch)
    for headers in ({}, AUTH):
        response = client.get("/metrics", headers=headers)
        assert response.status_code == 404 and response.get_json()["errorCode"] == "NOT_FOUND"
        assert "linx_" not in response.get_data(as_text=True)
        assert client.get("/readyz", headers=headers).get_json() == {"status": "ready"}


def test_in_development_without_a_token_metrics_and_details_are_served(rt, monkeypatch):
    client = _without_token(rt, monkeypatch, env="development")
    assert client.get("/metrics").status_code == 200
    assert client.get("/readyz").get_json()["checks"]["database"] == {"ok": True}


def test_a_token_set_in_development_is_asked_for_there_too(client, rt, monkeypatch):
    replace_settings(rt, monkeypatch, env="development")
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers=AUTH).status_code == 200


def test_readyz_tells_anyone_its_status_and_only_the_token_its_details(client, rt, frozen):
    assert client.get("/readyz").get_json() == {"status": "ready"}
    assert client.get("/readyz", headers={"Authorization": "Bearer wrong"}).get_json() == {"status": "ready"}
    jobs.enqueue("test.noop", {})
    frozen.advance(seconds=301)
    response = client.get("/readyz")
    assert response.status_code == 503 and response.get_json() == {"status": "unavailable"}
    detailed = client.get("/readyz", headers=AUTH)
    assert detailed.status_code == 503 and detailed.get_json()["failed"] == ["jobLag"]
    assert detailed.get_json()["checks"]["jobLag"]["seconds"] == 301.0


def test_readyz_hides_an_unreachable_database_details_without_the_token(unreachable):
    client = make_app(unreachable).test_client()
    response = client.get("/readyz")
    assert response.status_code == 503 and response.get_json() == {"status": "unavailable"}


def test_the_metrics_address_serves_metrics_without_a_token_unless_one_is_set(client, rt, monkeypatch):
    on_metrics_address = {serving.METRICS_LISTENER: True}
    assert client.get("/metrics", environ_overrides=on_metrics_address).status_code == 401  # the token is set
    assert client.get("/metrics", environ_overrides=on_metrics_address, headers=AUTH).status_code == 200
    plain = _without_token(rt, monkeypatch)
    assert plain.get("/metrics").status_code == 404
    response = plain.get("/metrics", environ_overrides=on_metrics_address)
    assert response.status_code == 200 and "linx_database_up 1.0" in response.get_data(as_text=True)
    # a header cannot pose as the metrics address
    assert plain.get("/metrics", headers={"Linx-Metrics-Listener": "1", "X-Forwarded-Port": "9100"}).status_code == 404


def test_the_metrics_listener_lets_through_only_metrics_and_healthz_on_its_port(rt, monkeypatch):
    from werkzeug.test import Client

    app = make_app(replace_settings(rt, monkeypatch, metrics_token=""))
    wrapped = Client(serving.MetricsListener(app, 9100))
    on = {"SERVER_PORT": "9100"}
    assert wrapped.get("/metrics", environ_overrides=on).status_code == 200
    assert wrapped.get("/healthz", environ_overrides=on).get_json() == {"status": "ok"}
    for path in ("/readyz", "/v2/openapi.json", "/v2/linx/workflows", "/metrics/", "/l/x", "/"):
        response = wrapped.get(path, environ_overrides=on)
        assert response.status_code == 404 and response.get_json()["errorCode"] == "NOT_FOUND", path
    # on the public port: the app as it is (no token set here, outside development: no metrics)
    off = {"SERVER_PORT": "8000"}
    assert wrapped.get("/metrics", environ_overrides=off).status_code == 404
    assert wrapped.get("/v2/openapi.json", environ_overrides=off).status_code == 200


def test_the_metrics_port_must_differ_from_the_public_one():
    with pytest.raises(ConfigurationError, match="--metrics-port 8000"):
        serving.check_metrics_address("127.0.0.1", 8000, ("127.0.0.1", 8000))
    serving.check_metrics_address("127.0.0.1", 8000, ("127.0.0.1", 9100))
    assert serving.address("::1", 9100) == "[::1]:9100" and serving.address("127.0.0.1", 1) == "127.0.0.1:1"


@pytest.mark.parametrize("token, fault", [("short-token", "at least 16"), ("a token with spaces", "without spaces"),
                                          ("t\u00f6ken-with-an-umlaut-in-it", "printable ASCII"),
                                          ("token-with-a-newline\n-in-it", "printable ASCII")])
def test_a_weak_or_unusable_metrics_token_is_refused_without_being_repeated(token, fault):
    with pytest.raises(ConfigurationError, match=fault) as caught:
        Settings.load(environ={"LINX_METRICS_TOKEN": token}, secrets=False)
    assert token not in str(caught.value)
    assert Settings.load(environ={"LINX_METRICS_TOKEN": TOKEN}, secrets=False).metrics_token == TOKEN
