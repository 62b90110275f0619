"""The store: migrations match the models, money is exact, numbers are sealed."""
import datetime as dt
import sqlite3
import uuid
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
        assert database.execute_sql("PRAGMA cache_size").fetchone()[0] == -500  # bounded per kept connection


def test_an_unknown_database_url_is_a_clear_error():
    with pytest.raises(ConfigurationError, match="LINX_DATABASE_URL"):
        store.open_database("mysql://nope")
    with pytest.raises(ConfigurationError) as refused:
        store.open_database("mysql://linx:s3cret-pw@db.internal:3306/linx")
    assert "s3cret-pw" not in str(refused.value) and "mysql://linx:***@db.internal:3306/linx" in str(refused.value)


@pytest.mark.parametrize("url, shown", [
    ("postgresql://linx:pw@db/linx", "postgresql://linx:***@db/linx"),
    ("postgresql://linx:p%40ss@db:5433/linx?sslmode=require", "postgresql://linx:***@db:5433/linx?sslmode=require"),
    ("postgresql://:pw@db/linx", "postgresql://:***@db/linx"),
    ("postgresql://linx@db/linx", "postgresql://linx@db/linx"),
    ("sqlite:///var/lib/linx.db", "sqlite:///var/lib/linx.db"),
])
def test_a_database_url_in_a_message_never_shows_its_password(url, shown):
    assert store.redacted(url) == shown


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


def _row(model, instance):
    """The row as the database holds it, every column but the id, in the driver's own types."""
    columns = [f.column_name for f in model._meta.sorted_fields if f.name != "id"]
    database = model._meta.database
    param = database.obj.param
    sql = f'SELECT {", ".join(columns)} FROM "{model._meta.table_name}" WHERE "id" = {param}'
    return tuple(database.execute_sql(sql, [instance.id.hex]).fetchone())


def test_create_writes_exactly_what_peewees_own_insert_writes(rt, demo):
    when = dt.datetime(2026, 5, 6, 7, 8, 9, 123456, tzinfo=dt.timezone.utc)
    values = dict(business=demo[0], status="CREATED", title="Thé ünïcode 'quoted'", channel="SMS",
                  amount=Decimal("256.2501"), currency="USD", parameters={"a": [1, Decimal("2.5")], "b": None},
                  phone_number=None, customer_memo="", expire_at=when, created_at=when, updated_at=when)
    fast = models.Workflow.create(**values)
    slow = models.Workflow(**values)
    slow.save(force_insert=True)  # peewee's own INSERT, built from its query tree
    assert _row(models.Workflow, fast) == _row(models.Workflow, slow)
    assert any(key[0] is models.Workflow for key in models._INSERTS)  # the statement text kept for reuse
    assert not fast.dirty_fields
    again = models.Workflow.get_by_id(fast.id)
    assert (again.amount, again.parameters, again.expire_at) == (Decimal("256.2501"), {"a": [1, "2.5"], "b": None}, when)


def test_bulk_create_writes_one_row_per_instance_as_peewee_does(rt, demo):
    wf = models.Workflow.create(business=demo[0], status="CREATED", title="t", channel="SMS",
                                expire_at=dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc))
    when = dt.datetime(2026, 5, 6, 7, 8, 9, tzinfo=dt.timezone.utc)
    fast = [models.WorkflowStep(workflow=wf, position=i, name=f"s{i}", status="CREATED", data={"i": i},
                                updated_at=when) for i in range(3)]
    models.WorkflowStep.bulk_create(fast)
    slow = [models.WorkflowStep(workflow=wf, position=i + 3, name=f"s{i}", status="CREATED", data={"i": i},
                                updated_at=when) for i in range(3)]
    import peewee
    peewee.Model.bulk_create.__func__(models.WorkflowStep, slow)  # peewee's own
    columns = [f.name for f in models.WorkflowStep._meta.sorted_fields if f.name != "id"]
    position = columns.index("position")

    def without_position(step):
        row = _row(models.WorkflowStep, step)
        return row[:position] + row[position + 1:]

    assert [without_position(s) for s in fast] == [without_position(s) for s in slow]
    assert [s.position for s in wf.steps.order_by(models.WorkflowStep.position)] == list(range(6))


def test_create_falls_back_to_peewee_for_expressions_and_uneven_rows(rt, demo):
    import peewee
    business = models.Business.create(name=peewee.fn.LOWER("FAST-PATH-CO"), display_name="x")
    assert models.Business.get_by_id(business.id).name == "fast-path-co"
    expire = dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)
    uneven = [models.Workflow(business=demo[0], status="CREATED", title="u1", channel="SMS", expire_at=expire,
                              phone_number="+15555550100"),
              models.Workflow(business=demo[0], status="CREATED", title="u2", channel="SMS", expire_at=expire)]
    models.Workflow.bulk_create(uneven)
    assert [models.Workflow.get_by_id(w.id).phone_number for w in uneven] == ["+15555550100", None]


def test_a_prepared_select_answers_as_its_peewee_query_does_with_each_call_s_values(rt, demo, other):
    business = demo[0]

    def build(name, owner):
        return (models.BusinessFinancialAccount.select(models.BusinessFinancialAccount, models.Business)
                .join(models.Business)
                .where((models.BusinessFinancialAccount.name == name)
                       & (models.BusinessFinancialAccount.business == owner)))

    prepared = store.Prepared(build, models.BusinessFinancialAccount.name, models.BusinessFinancialAccount.business)
    for account in [*models.BusinessFinancialAccount.select(), other["ba"]]:
        owner = account.business
        expected = [(a.id, a.business.name, a.currency) for a in build(account.name, owner)]
        got = [(a.id, a.business.name, a.currency) for a in prepared.rows(account.name, owner)]
        assert got == expected and got  # the joined business came back as a model, as peewee's own
        # the other business's id finds nothing: the values are this call's, not the first call's
        stranger = other["business"] if owner.id != other["business"].id else business
        assert prepared.first(account.name, stranger) is None
    assert prepared.first("x' OR '1'='1", business) is None  # a value is a parameter, never SQL
    assert models.BusinessFinancialAccount.select().count() >= 2


def test_a_prepared_select_refuses_a_build_that_drops_a_value(rt):
    prepared = store.Prepared(lambda a, b: models.Business.select().where(models.Business.name == a),
                              models.Business.name, models.Business.name)
    with pytest.raises(AssertionError, match="every value"):
        prepared.first("a", "b")


def test_written_behind_inserts_commit_with_the_transaction_in_one_round_trip(rt, demo):
    if not store.is_postgres(rt.database):
        pytest.skip("SQLite has no round trips to save: write_behind changes nothing there")
    sent = []
    database = rt.database

    class Counting(type(database.cursor())):
        def execute(self, sql, params=None):
            sent.append(sql)
            return super().execute(sql, params)

    expire = dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)
    with database.atomic(), store.write_behind():
        database.connection().cursor_factory = Counting
        first = models.Workflow.create(business=demo[0], status="CREATED", title="behind 1", channel="SMS",
                                       expire_at=expire)
        models.WorkflowStep.bulk_create([models.WorkflowStep(workflow=first, position=0, name="a")])
        assert sent == []  # nothing sent yet
        # a read in the same transaction sees them: they travel ahead of it
        assert models.WorkflowStep.select().where(models.WorkflowStep.workflow == first.id).count() == 1
        assert len(sent) == 1 and sent[0].count("INSERT INTO") == 2
        second = models.Workflow.create(business=demo[0], status="CREATED", title="behind 2", channel="SMS",
                                        expire_at=expire)
    database.connection().cursor_factory = None
    assert len(sent) == 2 and sent[1].startswith("INSERT INTO") and sent[1].endswith("COMMIT")
    assert {w.title for w in models.Workflow.select().where(models.Workflow.id.in_([first.id, second.id]))} == {
        "behind 1", "behind 2"}


def test_a_written_behind_insert_that_fails_takes_its_whole_transaction_with_it(rt, demo):
    import peewee
    expire = dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)
    before = models.Workflow.select().count()
    with pytest.raises(peewee.IntegrityError):
        with rt.database.atomic(), store.write_behind():
            models.Workflow.create(business=demo[0], status="CREATED", title="kept?", channel="SMS",
                                   expire_at=expire)
            models.WorkflowStep.create(workflow=uuid.uuid4(), position=0, name="orphan")  # no such workflow
    assert models.Workflow.select().count() == before
    # and the connection is usable again, with nothing left pending
    models.Workflow.create(business=demo[0], status="CREATED", title="after", channel="SMS", expire_at=expire)
    assert models.Workflow.select().count() == before + 1


def test_an_exception_inside_write_behind_discards_what_was_pending(rt, demo):
    expire = dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)
    before = models.Workflow.select().count()
    with pytest.raises(RuntimeError):
        with rt.database.atomic(), store.write_behind():
            models.Workflow.create(business=demo[0], status="CREATED", title="gone", channel="SMS",
                                   expire_at=expire)
            raise RuntimeError("the change fails before it commits")
    assert models.Workflow.select().count() == before
    assert models.Workflow.select().where(models.Workflow.title == "gone").count() == 0


def test_on_postgresql_begin_travels_with_the_transactions_first_statement(rt, demo):
    if not store.is_postgres(rt.database):
        pytest.skip("SQLite has no round trips to save")
    database = rt.database
    sent = []

    class Counting(type(database.cursor())):
        def execute(self, sql, params=None):
            sent.append(sql)
            return super().execute(sql, params)

    database.connection().cursor_factory = Counting
    try:
        with database.atomic():
            pass
        assert sent == []  # a transaction that ran nothing costs nothing
        with pytest.raises(RuntimeError):
            with database.atomic():
                raise RuntimeError("before any statement")
        assert sent == []  # nor does undoing one that never reached the server
        with database.atomic():
            assert models.Business.get_by_id(demo[0].id).name == demo[0].name
        assert len(sent) == 2 and sent[0].startswith("BEGIN; SELECT") and sent[1] == "COMMIT"
        del sent[:]
        with database.atomic():
            models.Business.update(display_name="Renamed").where(models.Business.id == demo[0].id).execute()
            with pytest.raises(RuntimeError):
                with database.atomic():  # a savepoint, rolled back
                    models.Business.update(display_name="Lost").where(models.Business.id == demo[0].id).execute()
                    raise RuntimeError("undo the inner change only")
    finally:
        database.connection().cursor_factory = None
    assert models.Business.get_by_id(demo[0].id).display_name == "Renamed"
    assert sent[0].startswith("BEGIN; UPDATE") and sent[-1] == "COMMIT"
