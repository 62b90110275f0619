"""The store: migrations match the models, money is exact, numbers are sealed."""
import datetime as dt
import sqlite3
from decimal import Decimal

import pytest
from playhouse.schema_diff import diff_models

from linx_core import store
from linx_core.errors import ConfigurationError
from linx_core.store import models
from linx_core.store.fields import MoneyField
from linx_core.store.migrate import migrate, pending
from linx_core.vault import Vault, mask

from .conftest import DATA_KEY


def test_migrations_are_applied_once_and_match_the_models(rt):
    assert pending(rt.database) == []
    assert migrate(rt.database) == []
    diff = diff_models(rt.database, models.MODELS)
    assert not diff, diff


@pytest.mark.parametrize("amount", ["256.25", "0.01", "1000000000.9999", "12345678901234.5"])
def test_money_round_trips_exactly(rt, demo, amount):
    business = demo[0]
    wf = models.Workflow.create(business=business, status="CREATED", title="t", channel="SMS",
                                amount=Decimal(amount), currency="USD",
                                expire_at=dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc))
    assert models.Workflow.get_by_id(wf.id).amount == Decimal(amount)


def test_money_refuses_more_places_than_it_keeps():
    with pytest.raises(ValueError):
        MoneyField().db_value(Decimal("0.00001"))


def test_naive_datetimes_are_refused(rt, demo):
    with pytest.raises(ValueError):
        models.Event.create(business=demo[0], type="x", subject_id=demo[0].id, data={},
                            created_at=dt.datetime(2026, 1, 1))


def test_sqlite_runs_with_wal_foreign_keys_and_busy_timeout(tmp_path):
    database = store.open_database(f"sqlite:///{tmp_path}/x.db")
    with database.connection_context():
        assert database.execute_sql("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert database.execute_sql("PRAGMA foreign_keys").fetchone()[0] == 1
        assert database.execute_sql("PRAGMA busy_timeout").fetchone()[0] == 10_000


def test_an_unknown_database_url_is_a_clear_error():
    with pytest.raises(ConfigurationError, match="LINX_DATABASE_URL"):
        store.open_database("mysql://nope")


def test_card_numbers_are_sealed_at_rest(rt, demo, tmp_path):
    from linx_core.demo import CARD_ID, CARD_NUMBER

    card = models.CustomerFinancialAccount.get_by_id(CARD_ID)
    assert CARD_NUMBER not in card.sealed_number
    assert card.masked_number == mask(CARD_NUMBER) and card.last4 == CARD_NUMBER[-4:]
    assert rt.vault.unseal(card.sealed_number) == CARD_NUMBER
    if rt.database.__class__.__name__.startswith("Sqlite"):
        rt.database.execute_sql("PRAGMA wal_checkpoint(FULL)")
        raw = open(rt.database.database, "rb").read()
        assert CARD_NUMBER.encode() not in raw


def test_vault_fingerprints_match_for_the_same_number_only():
    vault = Vault(DATA_KEY)
    a, b, c = vault.seal("4111111111111111"), vault.seal("4111111111111111"), vault.seal("4000056655665556")
    assert a.fingerprint == b.fingerprint != c.fingerprint
    assert a.sealed != b.sealed  # Fernet is randomised
    with pytest.raises(ValueError):
        vault.seal("4111-abc")


def test_a_wrong_data_key_is_a_configuration_error():
    with pytest.raises(ConfigurationError):
        Vault("not-a-key")


def test_sqlite_database_file_is_a_real_sqlite_database(tmp_path):
    from linx_core.runtime import Runtime

    from .conftest import test_settings

    rt = Runtime(test_settings(database_url=f"sqlite:///{tmp_path}/real.db"))
    applied = rt.migrate()
    assert applied == ["0001_initial"]
    tables = {r[0] for r in sqlite3.connect(tmp_path / "real.db").execute("select name from sqlite_master")}
    assert {"workflow", "workflow_step", "event", "job", "idempotency_record", "linx_migration"} <= tables
    assert rt.migrate() == []
