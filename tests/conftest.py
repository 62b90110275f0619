"""Fixtures: a runtime per database backend, the app, a client, the demo data, a live server.

Every test that asks for ``rt`` (or anything built on it) runs once on SQLite and
once on PostgreSQL. PostgreSQL tests create their own database and drop it; with
no server they skip, unless ``LINX_TEST_REQUIRE_POSTGRES=1`` makes that a failure.
"""
import json
import os
import tempfile
import threading
from decimal import Decimal
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from werkzeug.serving import make_server

from gateway_app import create_app
from linx_core import clock
from linx_core.config import Settings
from linx_core.demo import init_demo
from linx_core.runtime import Runtime
from linx_core.services.businesses import add_financial_account, create_business
from linx_core.store import models
from linx_core.testing.postgres import ADMIN, admin_connection, temporary_database

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN = ADMIN
# strong enough for the tests that run LinX in production mode (linx_core.config.check_secrets)
SECRET_KEY = "linx-suite-7Qx2vR9mKp4Wz8Ns3Jd6Hb1Lf5Tc0Ya"
DATA_KEY = Fernet.generate_key().decode()
INSTANCE = tempfile.mkdtemp(prefix="linx-test-instance-")


def test_settings(**overrides):
    values = dict(env="test", secret_key=SECRET_KEY, data_key=DATA_KEY, database_url="sqlite:///:memory:",
                  instance_path=INSTANCE)
    values.update(overrides)
    return Settings.load(environ={}, **values)


_postgres_admin = admin_connection


def postgres_or_skip(what="PostgreSQL"):
    """An admin connection to the test server; without one, a skip (a failure when CI requires PostgreSQL)."""
    try:
        return admin_connection()
    except Exception as exc:  # noqa: BLE001 - any failure to reach the server means "no PostgreSQL here"
        if os.environ.get("LINX_TEST_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL is required (LINX_TEST_REQUIRE_POSTGRES=1) but unreachable: {exc}")
        pytest.skip(f"{what} at {PG_ADMIN['host']}:{PG_ADMIN['port']} is not there: {exc}")


@pytest.fixture(scope="session")
def postgres_url():
    """A fresh PostgreSQL database for this test session, dropped at the end."""
    admin = postgres_or_skip("no PostgreSQL")
    try:
        with temporary_database("linx_test", admin) as (url, _, _):
            yield url
    finally:
        admin.close()


# The PostgreSQL run of each test talks to a server: a system test (`make test` runs it, `make test-fast` does not)
@pytest.fixture(scope="session", params=["sqlite", pytest.param("postgres", marks=[pytest.mark.postgres,
                                                                                   pytest.mark.system])])
def backend_url(request, tmp_path_factory):
    if request.param == "sqlite":
        return "sqlite:///" + str(tmp_path_factory.mktemp("sqlite") / "linx.db")
    return request.getfixturevalue("postgres_url")


@pytest.fixture(scope="session")
def session_runtime(backend_url):
    rt = Runtime(test_settings(database_url=backend_url))
    rt.migrate()
    yield rt
    rt.database.close_all() if hasattr(rt.database, "close_all") else rt.database.close()


@pytest.fixture
def rt(session_runtime):
    """The runtime of this test's backend, with every table emptied."""
    session_runtime.bind()
    db = session_runtime.database
    with db.connection_context():
        with db.atomic():
            for model in reversed(models.MODELS):
                model.delete().execute()
    clock.set_clock(None)
    db.connect(reuse_if_open=True)
    yield session_runtime
    clock.set_clock(None)
    if not db.is_closed():
        db.close()


def make_app(runtime):
    """The app on ``runtime``, in testing mode."""
    app = create_app(runtime=runtime)
    app.config["TESTING"] = True
    return app


@pytest.fixture
def app(rt):
    return make_app(rt)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def demo(rt):
    """Demo Co with the seed ids: ``(business, api_key)``."""
    return init_demo(rt)


@pytest.fixture
def other(rt):
    """Another business, Other Co, with its own customer, card and bank account."""
    business, key = create_business(rt, "Other Co")
    ba = add_financial_account(rt, business, "Other operating", "CHECKING", "USD", "999988887777")
    customer = models.Customer.create(business=business, first_name="Olga", last_name="Other",
                                      phone_number="+14165550123", email="olga@example.com")
    sealed = rt.vault.seal("4000056655665556")
    card = models.CustomerFinancialAccount.create(
        business=business, customer=customer, type="CARD", subtype="DEBIT", holder_name="Olga Other",
        sealed_number=sealed.sealed, last4=sealed.last4, masked_number=sealed.masked,
        fingerprint=sealed.fingerprint, brand="VISA", expiry="2030-01")
    return {"business": business, "key": key, "ba": ba, "customer": customer, "card": card}


class Api:
    """Calls the business API as one business."""

    def __init__(self, client, key):
        self.client = client
        self.key = key

    def headers(self, extra=None):
        headers = {"Authorization": f"Bearer {self.key}"}
        headers.update(extra or {})
        return headers

    def create(self, body, headers=None, raw=None):
        data = raw if raw is not None else json.dumps(body, default=_json_default)
        return self.client.post("/v2/linx/workflows", data=data, content_type="application/json",
                                headers=self.headers(headers))

    def get(self, path, **kwargs):
        return self.client.get(path, headers=self.headers(), **kwargs)


def _json_default(obj):
    if isinstance(obj, Decimal):
        return float(obj) if obj == obj.to_integral_value() else str(obj)
    raise TypeError(obj)


@pytest.fixture
def api(client, demo):
    return Api(client, demo[1])


def seed_examples():
    """The four example requests of the seed document, as written there."""
    text = (ROOT / "tests" / "fixtures" / "seeds" / "001_e0fc4bc0fd522db8.txt").read_text()
    blocks, depth, start = [], 0, None
    for i, ch in enumerate(text):
        if ch == "{":
            if depth == 0:
                start = i
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                blocks.append(text[start:i + 1])
    assert len(blocks) == 4, "the seed document holds four example requests"
    return blocks


@pytest.fixture
def live_server(app):
    """The app on a real HTTP server on loopback (threaded): its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)


def pytest_configure(config):
    import sys

    sys._called_from_test = True  # the plugin manager skips entry points under tests
