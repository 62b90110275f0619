"""The store: migrations match the models, money is exact, numbers are sealed."""
import datetime as dt
import sqlite3
import uuid
from decimal import Decimal
from pathlib import Path

import peewee
import pytest
from playhouse.schema_diff import diff_models

from linx_core import store
from linx_core.errors import ConfigurationError
from linx_core.store import models
from linx_core.store.fields import MoneyField
from linx_core.store.migrate import MIGRATIONS_DIR, migrate, pending
from linx_core.vault import Vault, mask

from .conftest import DATA_KEY


def test_migrations_are_applied_once_and_match_the_models(rt):
    assert pending(rt.database) == []
    assert migrate(rt.database) == []
    diff = diff_models(rt.database, models.MODELS)
    assert not diff, diff


def _insert_as_the_old_code(instance, new_columns):
    """Insert ``instance`` with raw SQL naming only the columns the code before migration 0002 knew (a process
    still on it, during a rolling deploy): the database must fill the others."""
    model = type(instance)
    fields = [f for f in model._meta.sorted_fields if f.column_name not in new_columns]
    columns = ", ".join(f'"{f.column_name}"' for f in fields)
    params = ", ".join([model._meta.database.obj.param] * len(fields))
    values = [f.db_value(instance.__data__.get(f.name)) for f in fields]
    model._meta.database.execute_sql(f'INSERT INTO "{model._meta.table_name}" ({columns}) VALUES ({params})', values)


def test_rows_inserted_by_the_code_before_migration_0002_get_database_defaults(rt, demo):
    """Peewee's defaults live in Python: without SQL defaults an old process's insert failed (null in a NOT NULL
    column: its create answered 500, its issue_key raised)."""
    now = dt.datetime.now(dt.UTC)
    workflow = models.Workflow(id=uuid.uuid4(), business=demo[0], status="CREATED", title="From the old code",
                               channel="SMS", phone_number="+14165550100", expire_at=now, created_at=now,
                               updated_at=now)
    _insert_as_the_old_code(workflow, {"session_epoch"})
    assert models.Workflow.get_by_id(workflow.id).session_epoch == 0
    key = models.ApiKey(id=uuid.uuid4(), business=demo[0], prefix="lx_oldcode", key_hash="0" * 64, created_at=now)
    _insert_as_the_old_code(key, {"label", "read_only", "last_used_at"})
    stored = models.ApiKey.get_by_id(key.id)
    assert stored.read_only is False and stored.label is None and stored.last_used_at is None


@pytest.mark.parametrize("amount", ["256.25", "0.01", "1000000000.9999", "12345678901234.5"])
def test_money_round_trips_exactly(rt, demo, amount):
    business = demo[0]
    wf = models.Workflow.create(business=business, status="CREATED", title="t", channel="SMS",
                                amount=Decimal(amount), currency="USD",
                                expire_at=dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
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
        raw = Path(rt.database.database).read_bytes()
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
    assert applied[0] == "0001_initial" and applied == sorted(p.stem for p in MIGRATIONS_DIR.glob("[0-9]*.py"))
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
    when = dt.datetime(2026, 5, 6, 7, 8, 9, 123456, tzinfo=dt.UTC)
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
    assert (again.amount, again.parameters, again.expire_at) == (
        Decimal("256.2501"), {"a": [1, "2.5"], "b": None}, when)


def test_bulk_create_writes_one_row_per_instance_as_peewee_does(rt, demo):
    wf = models.Workflow.create(business=demo[0], status="CREATED", title="t", channel="SMS",
                                expire_at=dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
    when = dt.datetime(2026, 5, 6, 7, 8, 9, tzinfo=dt.UTC)
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
    expire = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
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

    expire = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
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
    expire = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
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
    expire = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
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


# -- peewee's private APIs -------------------------------------------------------------------------------------------
# store.Prepared, store.write_behind (PooledPostgres) and models.create lean on names peewee does not document as
# public. setup.cfg pins peewee>=4,<5; each test below holds one of those names to what the store expects of it, so
# that an upgrade that changes one fails here, naming it, rather than somewhere deep in a service.

class _Owner(peewee.Model):
    id = peewee.UUIDField(primary_key=True, default=uuid.uuid4)
    name = peewee.CharField()


class _Thing(peewee.Model):
    id = peewee.UUIDField(primary_key=True, default=uuid.uuid4)
    owner = peewee.ForeignKeyField(_Owner)
    name = peewee.CharField()
    amount = MoneyField(null=True)


@pytest.fixture
def memory():
    """A database of its own, in memory, with two small models bound to it."""
    database = peewee.SqliteDatabase(":memory:")
    with database.bind_ctx([_Owner, _Thing]):
        database.create_tables([_Owner, _Thing])
        owner = _Owner.create(name="Ann")
        _Thing.create(owner=owner, name="first", amount=Decimal("1.25"))
        _Thing.create(owner=owner, name="second")
        yield database
    database.close()


def test_peewee_value_with_converter_false_goes_into_the_params_as_it_is():
    """Prepared: a marker ``Value(text, converter=False)`` reaches ``sql()``'s params untouched (the field's
    ``db_value``, which would refuse the text for a money column, is not applied)."""
    marker = "\x00linx-value-0\x00"
    sql, params = _Thing.select().where(_Thing.amount == peewee.Value(marker, converter=False)).sql()
    assert params == [marker]


def test_peewee_query_returning_holds_the_selected_columns_in_order():
    """Prepared (``_whole_rows_of``): ``query._returning`` is the selected columns, the very field objects, in
    ``_meta.sorted_fields`` order for a plain ``select()`` and for ``update().returning(*sorted_fields)``."""
    fields = _Thing._meta.sorted_fields
    assert [f.name for f in fields] == ["id", "owner", "name", "amount"]
    assert all(a is b for a, b in zip(_Thing.select()._returning, fields, strict=True))
    update = _Thing.update(name="x").returning(*fields)
    assert all(a is b for a, b in zip(update._returning, fields, strict=True))
    assert [f.name for f in _Thing.select(_Thing.name)._returning] == ["name"]
    assert list(_Thing._meta.sorted_field_names) == ["id", "owner", "name", "amount"]  # models._insert
    assert _Thing._meta.fields["amount"] is _Thing.amount


def test_peewee_query_joins_and_from_list_tell_a_join_or_a_second_table():
    """Prepared (``_whole_rows_of``): ``_joins`` is empty and ``_from_list`` one table for a one-model select."""
    plain = _Thing.select()
    assert not plain._joins and len(plain._from_list) == 1
    assert _Thing.select(_Thing, _Owner).join(_Owner)._joins
    assert len(_Thing.select().from_(_Thing, _Owner)._from_list) == 2


def test_peewee_get_cursor_wrapper_makes_the_querys_rows_from_a_cursor(memory):
    """Prepared.rows: ``query._get_cursor_wrapper(cursor)`` over the cursor of the query's own SQL yields what
    iterating the query yields, joined models included."""
    query = _Thing.select(_Thing, _Owner).join(_Owner).order_by(_Thing.name)
    sql, params = query.sql()
    rows = list(query._get_cursor_wrapper(memory.execute_sql(sql, params)))
    expected = list(query)
    assert [(r.id, r.name, r.amount, r.owner.name) for r in rows] == [
        (r.id, r.name, r.amount, r.owner.name) for r in expected]
    assert [r.amount for r in rows] == [Decimal("1.25"), None] and rows[0].owner.name == "Ann"


def test_peewee_model_no_default_makes_an_empty_instance_that_reads_its_data(memory):
    """Prepared.rows: ``Model(__no_default__=1)`` applies no default (no new id) and leaves nothing dirty;
    values put in ``__data__`` read back as attributes. models.create clears ``_dirty`` the same way."""
    instance = _Thing(__no_default__=1)
    assert instance.__data__ == {} and not instance._dirty
    row = _Thing.select().where(_Thing.name == "first").get()
    instance.__data__.update(row.__data__)
    assert (instance.id, instance.name, instance.amount) == (row.id, "first", Decimal("1.25"))
    fresh = _Thing(name="x")
    assert "id" in fresh.__data__ and "name" in fresh._dirty  # the default path, for contrast


def test_peewee_database_proxy_obj_is_the_database_it_was_given():
    """store.bind, write_behind, is_postgres and models._insert read the bound database as ``db.obj``."""
    proxy = peewee.DatabaseProxy()
    assert proxy.obj is None
    database = peewee.SqliteDatabase(":memory:")
    proxy.initialize(database)
    assert proxy.obj is database


def test_peewee_placeholder_and_quote_of_each_database():
    """models._insert writes its INSERT text with the database's ``param`` and ``quote``."""
    assert (peewee.SqliteDatabase.param, peewee.SqliteDatabase.quote) == ("?", '""')
    assert (peewee.PostgresqlDatabase.param, peewee.PostgresqlDatabase.quote) == ("%s", '""')
    assert isinstance(peewee.fn.LOWER("x"), peewee.Node) and not isinstance("x", peewee.Node)


def test_peewee_transactions_go_through_the_databases_begin_commit_and_rollback():
    """PooledPostgres (write_behind): ``atomic()`` at depth 0 calls ``begin()`` with no argument and ends with
    ``commit()`` or ``rollback()``; a nested ``atomic()`` is a savepoint sent through ``execute_sql``; and
    ``transaction_depth()`` counts the open ones. The overrides of those three methods are how BEGIN travels
    with the first statement and the written-behind inserts with the COMMIT."""
    calls = []

    class Recording(peewee.SqliteDatabase):
        def begin(self, *args, **kwargs):
            calls.append(("begin", args, kwargs))
            return super().begin(*args, **kwargs)

        def commit(self):
            calls.append(("commit",))
            return super().commit()

        def rollback(self):
            calls.append(("rollback",))
            return super().rollback()

        def execute_sql(self, sql, params=None):
            calls.append(("sql", sql.split()[0]))
            return super().execute_sql(sql, params)

    database = Recording(":memory:")
    with database.connection_context():
        assert database.transaction_depth() == 0
        with database.atomic():
            assert database.transaction_depth() == 1
            with database.atomic():
                database.execute_sql("SELECT 1")
        with pytest.raises(RuntimeError):
            with database.atomic():
                raise RuntimeError("undo")
    assert calls == [("begin", (), {}), ("sql", "SAVEPOINT"), ("sql", "SELECT"), ("sql", "RELEASE"), ("commit",),
                     ("begin", (), {}), ("rollback",)]


def test_peewee_connection_state_keeps_the_connection_and_the_open_connection_contexts():
    """PooledPostgres: ``_state.conn`` is this thread's connection and ``_state.ctx`` the stack of open
    ``connection_context`` blocks; ``connect()`` resets that stack (which PooledPostgres.connect undoes, so a
    block that opened a connection can still close it)."""
    database = peewee.SqliteDatabase(":memory:")
    with database.connection_context():
        assert database._state.conn is database.connection() and len(database._state.ctx) == 1
        kept = list(database._state.ctx)
        database.close()
        database.connect()
        assert database._state.ctx == []  # what PooledPostgres.connect puts back
        database._state.ctx = kept
    assert database.is_closed()


def test_peewee_exception_wrapper_turns_driver_errors_into_peewees_keeping_the_original():
    """PooledPostgres.commit sends its last statement under ``peewee.__exception_wrapper__``; store.unavailable
    reads the driver's exception from ``orig``."""
    import psycopg2

    for driver_error, wrapped, outage in (
            (sqlite3.OperationalError("database is locked"), peewee.OperationalError, "busy"),
            (psycopg2.OperationalError("server closed the connection"), peewee.OperationalError, "unreachable"),
            (psycopg2.IntegrityError("duplicate key"), peewee.IntegrityError, None)):
        with pytest.raises(wrapped) as caught:
            with peewee.__exception_wrapper__:
                raise driver_error
        assert caught.value.orig is driver_error and store.unavailable(caught.value) == outage


def test_peewee_postgres_isolation_level_is_unset_unless_asked_for():
    """PooledPostgres.begin defers BEGIN only when ``_isolation_level`` is unset (else BEGIN must name it)."""
    assert not store.PooledPostgres("linx_never_connected")._isolation_level
    assert store.PooledPostgres("linx_never_connected", isolation_level="SERIALIZABLE")._isolation_level


def test_peewee_pool_manual_close_lets_go_of_the_connection_for_good():
    """PooledPostgres._let_go_if_lost: ``manual_close()`` closes this thread's connection without putting it
    back in the pool, so the next statement opens a new one."""
    from playhouse.pool import PooledSqliteDatabase

    database = PooledSqliteDatabase(":memory:", max_connections=2)
    database.connect()
    first = database.connection()
    assert database.manual_close() is not False and database.is_closed()
    database.connect()
    assert database.connection() is not first
    database.close()
