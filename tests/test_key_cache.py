"""The API keys a process has looked up are kept in memory under the keys' revocation epoch, which the
database's own triggers bump (migration 0006_bench): whatever ends a key's right (the service, an
operator's SQL, a deleted key or business) is refused at once, by every app. Both backends."""
import datetime as dt

import pytest

from linx_core.runtime import Runtime
from linx_core.secrets import token_hash
from linx_core.services import businesses
from linx_core.store import db
from linx_core.store.models import Business

from .conftest import Api, make_app
from .conftest import test_settings as make_settings

WORKFLOWS = "/v2/linx/workflows"


@pytest.fixture
def apps(rt, app):
    """This test's app and another on the same database through a runtime of its own (its own connections)."""
    other = Runtime(make_settings(database_url=rt.settings.database_url), rules=rt.rules)
    yield [app, make_app(other)]
    other.database.close_all() if hasattr(other.database, "close_all") else other.database.close()
    rt.bind()


def epoch():
    return businesses._key_epoch()


def sql(statement, *params):
    with db.atomic():
        db.execute_sql(statement.replace("?", db.obj.param), params)


def statuses(apps, key):
    return [Api(a.test_client(), key).get(WORKFLOWS).status_code for a in apps]


def test_a_key_in_use_is_served_from_memory_while_the_epoch_holds(rt, app, demo, monkeypatch):
    key = demo[1]
    assert statuses([app], key) == [200]
    assert businesses._KEYS_SEEN[token_hash(key)][0] == epoch()

    def no_lookup(*_):
        raise AssertionError("the key was looked up again")

    monkeypatch.setattr(businesses._KEY_OWNER, "first", no_lookup)
    assert statuses([app], key) == [200] and statuses([app], key) == [200]
    sql("UPDATE api_key SET last_used_at = ?", dt.datetime(2020, 1, 1))  # not a change of right: epoch holds
    assert statuses([app], key) == [200]


@pytest.mark.parametrize("change", [
    "UPDATE api_key SET revoked_at = CURRENT_TIMESTAMP",
    "DELETE FROM api_key",
])
def test_a_key_revoked_or_deleted_by_sql_is_refused_at_once_by_every_app(rt, apps, demo, change):
    key = demo[1]
    assert statuses(apps, key) == [200, 200] and statuses(apps, key) == [200, 200]  # both keep it now
    before = epoch()
    sql(change + " WHERE key_hash = ?", token_hash(key))
    assert epoch() > before
    assert statuses(apps, key) == [401, 401]


def test_a_key_made_read_only_by_sql_cannot_write_at_once(rt, app, demo):
    key = demo[1]
    api = Api(app.test_client(), key)
    assert api.create({}).status_code == 400  # the key may write (the body is refused, not the key)
    sql("UPDATE api_key SET read_only = ? WHERE key_hash = ?", True, token_hash(key))
    refused = api.create({})
    assert refused.status_code == 403 and refused.get_json()["errorCode"] == "READ_ONLY_API_KEY"
    assert api.get(WORKFLOWS).status_code == 200


def test_the_service_revocation_bumps_the_epoch(rt, apps, demo):
    business = demo[0]
    key = businesses.issue_key(rt, business, "ci")
    assert statuses(apps, key) == [200, 200]
    before = epoch()
    businesses.revoke_key(rt, business, "ci")
    assert epoch() == before + 1
    assert statuses(apps, key) == [401, 401]
    assert statuses(apps, demo[1]) == [200, 200]


def test_a_changed_business_is_read_again(rt, app, demo):
    key = demo[1]
    assert statuses([app], key) == [200]
    Business.update(display_name="Demo Renamed").where(Business.id == demo[0].id).execute()
    assert businesses.authenticate(key, method="GET").display_name == "Demo Renamed"


def test_without_the_epoch_row_nothing_is_kept_and_revocation_still_holds(rt, apps, demo):
    business = demo[0]
    key = businesses.issue_key(rt, business, "ci")
    row = db.execute_sql("SELECT value FROM cache_epoch WHERE name = 'api_keys'").fetchone()
    sql("DELETE FROM cache_epoch")
    try:
        businesses._KEYS_SEEN.clear()
        assert epoch() is None
        assert statuses(apps, key) == [200, 200]
        assert token_hash(key) not in businesses._KEYS_SEEN
        businesses.revoke_key(rt, business, "ci")
        assert statuses(apps, key) == [401, 401]
    finally:
        sql("INSERT INTO cache_epoch (name, value) VALUES ('api_keys', ?)", row[0])
