"""API keys: labels, read-only keys, last use, and revocation that every process honours at once.

Runs on SQLite and PostgreSQL. "Every process" is two apps, each with its own runtime and its own
connections to the one database, as two web processes would have.
"""
import pytest

from linx_core import clock
from linx_core.errors import Conflict, NotFound, RuleViolation
from linx_core.runtime import Runtime
from linx_core.services import businesses
from linx_core.store.models import ApiKey, Event

from .conftest import Api, make_app
from .conftest import test_settings as make_settings
from .drive import seed

WORKFLOWS = "/v2/linx/workflows"


@pytest.fixture
def second_app(rt):
    """Another app on the same database through a runtime of its own (its own connections)."""
    other = Runtime(make_settings(database_url=rt.settings.database_url), rules=rt.rules)
    yield make_app(other)
    other.database.close_all() if hasattr(other.database, "close_all") else other.database.close()
    rt.bind()


def error_code(response):
    return response.get_json()["errorCode"]


def test_a_revoked_key_is_refused_at_once_by_every_app(rt, app, second_app, demo):
    business = demo[0]
    key = businesses.issue_key(rt, business, "ci")
    apis = [Api(app.test_client(), key), Api(second_app.test_client(), key)]
    for _round in range(3):  # both have used the key, more than once
        assert [a.get(WORKFLOWS).status_code for a in apis] == [200, 200]
    revoked = businesses.revoke_key(rt, business, "ci")
    assert revoked.revoked_at is not None
    for a in apis:
        refused = a.get(WORKFLOWS)
        assert refused.status_code == 401 and error_code(refused) == "INVALID_API_KEY"
    still = [Api(a.client, demo[1]).get(WORKFLOWS).status_code for a in apis]
    assert still == [200, 200]  # the business's other keys are untouched


def test_a_key_is_revoked_by_its_prefix_or_by_itself_and_only_once(rt, app, demo):
    business = demo[0]
    first = businesses.issue_key(rt, business)
    second = businesses.issue_key(rt, business)
    assert businesses.revoke_key(rt, business, first[:10]).prefix == first[:10]
    assert businesses.revoke_key(rt, business, second).prefix == second[:10]
    for key in (first, second):
        assert Api(app.test_client(), key).get(WORKFLOWS).status_code == 401
        with pytest.raises(NotFound):
            businesses.revoke_key(rt, business, key[:10])
    with pytest.raises(NotFound):
        businesses.revoke_key(rt, business, "no-such-label")


def test_another_business_cannot_revoke_a_key_it_does_not_own(rt, app, demo, other):
    key = businesses.issue_key(rt, demo[0], "ci")
    with pytest.raises(NotFound):
        businesses.revoke_key(rt, other["business"], "ci")
    with pytest.raises(NotFound):
        businesses.revoke_key(rt, other["business"], key)
    assert Api(app.test_client(), key).get(WORKFLOWS).status_code == 200


def test_labels_name_one_live_key_each_and_a_revoked_label_can_be_reused(rt, demo, other):
    business = demo[0]
    businesses.issue_key(rt, business, "ci")
    with pytest.raises(Conflict) as taken:
        businesses.issue_key(rt, business, "ci")
    assert taken.value.code == "API_KEY_LABEL_TAKEN"
    businesses.issue_key(rt, other["business"], "ci")  # labels are per business
    for bad in ("", " ci", "c i", "x" * 65, "lx_abc", "ci\n", "é"):
        with pytest.raises(RuleViolation):
            businesses.issue_key(rt, business, bad)
    businesses.revoke_key(rt, business, "ci")
    businesses.issue_key(rt, business, "ci")  # the replacement takes the label
    labels = [(k.label, k.revoked_at is None) for k in businesses.list_keys(business)]
    assert labels.count(("ci", True)) == 1 and labels.count(("ci", False)) == 1
    assert [k.label for k in businesses.list_keys(other["business"])] == ["default", "ci"]


def test_issuing_and_revoking_are_events_that_never_carry_the_key(rt, demo):
    key = businesses.issue_key(rt, demo[0], "reports", read_only=True)
    businesses.revoke_key(rt, demo[0], "reports")
    found = list(Event.select().where(Event.type.startswith("linx.api-key-")).order_by(Event.created_at))
    assert [e.type for e in found] == ["linx.api-key-issued", "linx.api-key-revoked"]
    for event in found:
        assert event.data["label"] == "reports" and event.data["readOnly"] is True
        assert event.data["prefix"] == key[:10] and key not in str(event.data)


def test_a_read_only_key_can_only_read(rt, app, demo):
    key = businesses.issue_key(rt, demo[0], "reports", read_only=True)
    reader = Api(app.test_client(), key)
    writer = Api(app.test_client(), demo[1])
    created = writer.create(seed(0))
    assert created.status_code == 201
    wid = created.get_json()["id"]
    for path in (WORKFLOWS, f"{WORKFLOWS}/{wid}", f"{WORKFLOWS}/{wid}/notifications/history", "/v2/events",
                 "/v2/push-notifications"):
        assert reader.get(path).status_code == 200, path
    refusals = [reader.create(seed(0)),
                reader.client.post(f"{WORKFLOWS}/{wid}/cancel", headers=reader.headers()),
                reader.client.post(f"{WORKFLOWS}/{wid}/resend", headers=reader.headers()),
                reader.client.post("/v2/push-notifications", json={"url": "https://example.com/hook"},
                                   headers=reader.headers())]
    for refused in refusals:
        assert refused.status_code == 403 and error_code(refused) == "READ_ONLY_API_KEY", refused.get_json()
        assert "read" in refused.get_json()["message"]
    assert reader.get(f"{WORKFLOWS}/{wid}").get_json()["status"] != "CANCELLED"
    document = app.test_client().get("/v2/openapi.json").get_json()
    assert "403" in document["paths"][WORKFLOWS]["post"]["responses"]
    assert "403" in document["paths"]["/v2/push-notifications"]["post"]["responses"]
    assert "403" not in document["paths"][WORKFLOWS]["get"]["responses"]


def test_last_use_is_written_at_most_once_a_minute(rt, app, demo, monkeypatch):
    frozen = clock.FrozenClock()
    clock.set_clock(frozen)
    key = businesses.issue_key(rt, demo[0], "ci")
    assert ApiKey.get(ApiKey.label == "ci").last_used_at is None
    writes = []
    real = businesses._KEY_USED.execute
    monkeypatch.setattr(businesses._KEY_USED, "execute", lambda *values: writes.append(values) or real(*values))
    api = Api(app.test_client(), key)
    for _ in range(5):
        assert api.get(WORKFLOWS).status_code == 200
    assert len(writes) == 1 and ApiKey.get(ApiKey.label == "ci").last_used_at == frozen.now()
    first = frozen.now()
    frozen.advance(seconds=59)
    api.get(WORKFLOWS)
    assert len(writes) == 1 and ApiKey.get(ApiKey.label == "ci").last_used_at == first
    frozen.advance(seconds=2)
    api.get(WORKFLOWS)
    api.get(WORKFLOWS)
    assert len(writes) == 2 and ApiKey.get(ApiKey.label == "ci").last_used_at == frozen.now()


def test_authenticate_must_be_told_the_method(rt, demo):
    """A plugin's route cannot forget the method (and so let a read-only key write): it is required, by name."""
    key = businesses.issue_key(rt, demo[0], "reports", read_only=True)
    with pytest.raises(TypeError):
        businesses.authenticate(key)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        businesses.authenticate(key, "GET")  # type: ignore[misc]
    assert businesses.authenticate(key, method="GET") == demo[0]


def test_a_refused_revocation_never_echoes_a_whole_key(rt, demo, other):
    key = businesses.issue_key(rt, demo[0], "ci")
    with pytest.raises(NotFound) as refused:
        businesses.revoke_key(rt, other["business"], key)
    assert key not in str(refused.value) and key[:10] in str(refused.value)
    with pytest.raises(NotFound) as by_label:
        businesses.revoke_key(rt, other["business"], "a-rather-long-label")
    assert "a-rather-long-label" in str(by_label.value)  # a label is no secret: named whole
