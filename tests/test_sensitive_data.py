"""A known card number and a known bank account number go through whole flows (push to card, ACH, wire);
then the database, the captured logs, every event, every webhook body and every API response are searched
for them: zero hits, and so is every file under the instance folder. (The ACH rail's NACHA file must hold
the account number, by format: it is sealed at rest with the data key, holds the number once opened, is
readable by its owner only, and is purged after the rule files' retention.)"""
import datetime as dt
import json
import logging
import stat

import pytest

from linx_core.demo import init_demo
from linx_core.runtime import Runtime
from linx_core.services import journey
from linx_core.store.models import MODELS, Event, Workflow

from .conftest import Api
from .conftest import test_settings as make_settings
from .journeys import ADDRESS, CUSTOMER_FORM, body, freeze, make_app, reload, run, to_confirmation
from .test_webhooks import Receiver

CARD = "5200828282828210"  # a Mastercard debit test number no other test stores
ACCOUNT = "000555666777"
ROUTING = "110000000"
SECRETS = {
    "card": [CARD, "5200 8282 8282 8210", "5200-8282-8282-8210"],
    "account": [ACCOUNT, "555666777"],
    "mistyped card": [CARD[:-1] + "1"],  # typed once, refused (bad check digit): never kept, never shown
}
UTC = dt.UTC


def hits(text):
    return [f"{name}: {form}" for name, forms in SECRETS.items() for form in forms if form in text]


class RecordingApi(Api):
    """An Api that keeps every response body."""

    def __init__(self, client, key):
        super().__init__(client, key)
        self.bodies = []

    def call(self, method, path, **kwargs):
        response = getattr(self.client, method)(path, headers=self.headers(kwargs.pop("headers", None)), **kwargs)
        self.bodies.append(f"{method.upper()} {path} {response.status_code}\n{response.get_data(as_text=True)}")
        return response

    def create(self, body, headers=None, raw=None):
        response = super().create(body, headers, raw)
        self.bodies.append(f"POST /v2/linx/workflows {response.status_code}\n{response.get_data(as_text=True)}")
        return response

    def get(self, path, **kwargs):
        return self.call("get", path, **kwargs)


@pytest.fixture
def fresh(rt, backend_url, tmp_path):
    """A runtime on a brand-new SQLite file (or on the PostgreSQL test database), delivering to loopback."""
    sqlite = backend_url.startswith("sqlite")
    instance = tmp_path / "instance"
    if sqlite:
        settings = make_settings(database_url=f"sqlite:///{tmp_path}/linx.db", instance_path=str(instance),
                                 webhook_allow_private=True, webhook_timeout_seconds=5)
        runtime = Runtime(settings)
        runtime.migrate()
    else:
        settings = make_settings(database_url=rt.settings.database_url, instance_path=str(instance),
                                 webhook_allow_private=True, webhook_timeout_seconds=5)
        runtime = Runtime(settings, database=rt.database)
    runtime.bind()
    runtime.database.connect(reuse_if_open=True)
    yield runtime, (tmp_path / "linx.db") if sqlite else None
    if sqlite:
        runtime.database.close()
        rt.bind()


def test_no_full_number_anywhere(fresh, caplog, capfd):
    caplog.set_level(logging.DEBUG)
    runtime, db_file = fresh
    receiver = Receiver().up()
    try:
        frozen = freeze(dt.datetime(2026, 2, 3, 14, 0, tzinfo=UTC))  # Tuesday 09:00 in New York
        business, key = init_demo(runtime)
        api = RecordingApi(make_app(runtime).test_client(), key)
        subscribed = api.call("post", "/v2/push-notifications", json={
            "description": "Everything", "url": receiver.url, "eventTypes": ["*"]})
        assert subscribed.status_code == 201, subscribed.get_json()

        workflows = []

        def flow(raw, form, settle_after):
            response = api.create(None, raw=raw)
            assert response.status_code == 201, response.get_json()
            workflow_id = response.get_json()["id"]
            workflows.append(workflow_id)
            tx = to_confirmation(runtime, workflow_id, form)
            run(runtime)
            frozen.advance(**settle_after)
            run(runtime)
            return reload(tx)

        # a typo first: the Gateway says what is wrong without repeating the number
        wrong = api.create(None, raw=body(phone="+16475550701"))
        workflow_id = wrong.get_json()["id"]
        workflows.append(workflow_id)
        run(runtime)
        workflow = Workflow.get_by_id(workflow_id)
        journey.submit(runtime, workflow.id, 1, "customer-account", CUSTOMER_FORM)
        with pytest.raises(Exception) as caught:
            journey.submit(runtime, workflow.id, 2, "financial-account",
                           {"holderName": "Jane Doe", "cardNumber": CARD[:-1] + "1", "expiry": "12/30",
                            "postalCode": "10001"})
        assert not hits(str(caught.value) + repr(getattr(caught.value, "problems", "")))

        card_tx = flow(body(phone="+16475550702"), {"holderName": "Jane Doe", "cardNumber": "5200 8282 8282 8210",
                                                    "expiry": "12/30", "postalCode": "10001"}, {"seconds": 10})
        assert card_tx.status == "SETTLED"
        ach_tx = flow(body(solution="ach", phone="+16475550703"),
                      {"holderName": "Jane Doe", "routingNumber": ROUTING, "accountNumber": ACCOUNT}, {"hours": 4})
        assert ach_tx.status == "SETTLED"
        wire_tx = flow(body(solution="wire", description="Invoice 7", memo="Thanks", phone="+16475550704"),
                       dict({"holderName": "Jane Doe", "routingNumber": ROUTING, "accountNumber": ACCOUNT}, **ADDRESS),
                       {"minutes": 15})
        assert wire_tx.status == "SETTLED"
        frozen.advance(days=3)
        run(runtime)  # the ACH return window closes; webhooks delivered

        # every API response a business can get about all this
        for workflow_id in workflows:
            api.get(f"/v2/linx/workflows/{workflow_id}")
            api.get(f"/v2/linx/workflows/{workflow_id}/notifications/history")
        for tx in (card_tx, ach_tx, wire_tx):
            assert api.get(f"/v2/transactions/{tx.id}").status_code == 200
            api.get(f"/v2/transactions/{tx.id}/status")
        api.get("/v2/linx/workflows?size=100")
        page = api.get("/v2/events?size=100").get_json()
        for n in range(2, page["totalPages"] + 1):
            api.get(f"/v2/events?size=100&page={n}")
        api.get(f"/v2/push-notifications/{subscribed.get_json()['id']}/deliveries?size=100")
        api.get("/v2/openapi.json")
        api.call("post", f"/v2/transactions/{card_tx.id}/cancel")  # refused: its body too

        # the searches
        events = [json.dumps(e.data) for e in Event.select()]
        assert len(events) > 20 and any('"status": "SETTLED"' in e for e in events)
        assert not [h for e in events for h in hits(e)]
        bodies = [r["body"].decode() for r in receiver.received()]
        assert len(bodies) == len(events)
        assert not [h for b in bodies for h in hits(b)]
        assert not [h for b in api.bodies for h in hits(b)]
        logs = caplog.text + "\n".join(r.getMessage() for r in caplog.records)
        out, err = capfd.readouterr()
        assert "push-to-card" in logs or "transaction" in logs
        assert not hits(logs + out + err)
        if db_file is not None:
            runtime.database.close()
            for path in db_file.parent.glob("linx.db*"):  # the file, and its WAL if any
                assert not hits(path.read_bytes().decode("latin-1")), path
            runtime.database.connect()
        else:
            for model in MODELS:
                rows = runtime.database.execute_sql(f'SELECT t::text FROM "{model._meta.table_name}" t').fetchall()
                assert not [h for (row,) in rows for h in hits(row)], model
        # the instance folder: the rails' ledgers, the console inbox and the NACHA file, sealed at rest
        instance = runtime.settings.instance_path
        from pathlib import Path

        ach = runtime.solution("ach")
        [nacha_file] = ach.files()
        assert hits(ach.open_file(nacha_file)) == ["account: 000555666777", "account: 555666777"]  # by format
        assert stat.S_IMODE(nacha_file.stat().st_mode) == 0o600
        assert stat.S_IMODE(nacha_file.parent.stat().st_mode) == 0o700
        files = [path for path in Path(instance).rglob("*") if path.is_file()]
        assert nacha_file in files and len(files) > 3
        for path in files:
            assert not hits(path.read_bytes().decode("latin-1")), path
        # past the rule files' retention, the next file cycle purges the file and the ledger's sealed number
        frozen.advance(days=runtime.rules.nacha["retentionDays"] + 1)
        ach.status(ach.ledger.transfers()[0]["reference"])
        assert ach.files() == [] and not nacha_file.exists()
        assert [t["sealedAccount"] for t in ach.ledger.transfers()] == [None]
    finally:
        receiver.down()
