"""SQLite's write transactions queue on a lock of the process (linx_core.store.sqlite): a thread waits for
the one in its transaction without SQLite's busy sleeps, gives the lock back however its transaction ends,
and waits no longer than the busy timeout."""
import threading
import time

import peewee
import pytest

from linx_core.store import open_database, unavailable
from linx_core.store.sqlite import SerialSqlite


@pytest.fixture
def database(tmp_path):
    found = open_database(f"sqlite:///{tmp_path}/serial.db?timeout=0.5")
    assert isinstance(found, SerialSqlite)
    found.execute_sql("CREATE TABLE t (n INTEGER)")
    yield found
    found.close()


def test_a_second_writer_waits_for_the_first_and_starts_when_it_commits(database):
    inside, release, order = threading.Event(), threading.Event(), []

    def first():
        with database.atomic():
            database.execute_sql("INSERT INTO t VALUES (1)")
            inside.set()
            release.wait(5)
            order.append("first commits")
        database.close()

    def second():
        inside.wait(5)
        with database.atomic():
            order.append("second begins")
            database.execute_sql("INSERT INTO t VALUES (2)")
        database.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    inside.wait(5)
    time.sleep(0.1)
    assert order == []  # the second waits on the process's lock, not failing
    release.set()
    for thread in threads:
        thread.join(10)
    assert order == ["first commits", "second begins"]
    assert [r[0] for r in database.execute_sql("SELECT n FROM t ORDER BY n")] == [1, 2]


@pytest.mark.parametrize("ending", ["commit", "error", "close"])
def test_the_lock_is_given_back_however_the_transaction_ends(database, ending):
    if ending == "error":
        with pytest.raises(RuntimeError), database.atomic():
            database.execute_sql("INSERT INTO t VALUES (1)")
            assert database.holds_writer()
            raise RuntimeError("the request failed")
    elif ending == "close":
        database.begin()
        assert database.holds_writer()
        database.close()  # the connection goes, and its transaction with it
    else:
        with database.atomic():
            assert database.holds_writer()
    assert not database.holds_writer()
    got = []
    thread = threading.Thread(target=lambda: (got.append(database._writer.acquire(timeout=1)),
                                              database._writer.release()))
    thread.start()
    thread.join(5)
    assert got == [True]


def test_a_writer_waits_no_longer_than_the_busy_timeout_and_fails_as_busy(database):
    inside, release, failures = threading.Event(), threading.Event(), []

    def holder():
        with database.atomic():
            inside.set()
            release.wait(5)
        database.close()

    thread = threading.Thread(target=holder)
    thread.start()
    inside.wait(5)
    started = time.monotonic()
    try:
        with database.atomic():
            pass
    except peewee.OperationalError as exc:
        failures.append(exc)
    waited = time.monotonic() - started
    release.set()
    thread.join(5)
    assert len(failures) == 1 and unavailable(failures[0]) == "busy"
    assert 0.4 < waited < 5
