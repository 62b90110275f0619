"""Idempotency-Key: replay, conflict, in-flight, expiry, and a race between threads."""
import datetime as dt
import json
import threading

import requests

from linx_core import clock
from linx_core.clock import FrozenClock
from linx_core.services import idempotency
from linx_core.store.models import Business, IdempotencyRecord, Job, Workflow

from .conftest import seed_examples


def _count():
    return Workflow.select().count()


def test_same_key_and_body_replays_the_first_response(api):
    first = api.create(None, raw=seed_examples()[0], headers={"Idempotency-Key": "key-000001"})
    second = api.create(None, raw=seed_examples()[0], headers={"Idempotency-Key": "key-000001"})
    assert first.status_code == second.status_code == 201
    assert second.get_json() == dict(first.get_json(), passcode=None)  # shown once: withheld on replay
    assert second.headers["Idempotent-Replayed"] == "true"
    assert _count() == 1 and Job.select().where(Job.kind == "notify").count() == 1


def test_replay_ignores_json_whitespace_and_key_order(api):
    body = json.loads(seed_examples()[0])
    api.create(body, headers={"Idempotency-Key": "key-000002"})
    reordered = json.dumps(dict(reversed(list(body.items()))), indent=4)
    again = api.create(None, raw=reordered, headers={"Idempotency-Key": "key-000002"})
    assert again.status_code == 201 and again.headers.get("Idempotent-Replayed") == "true"
    assert _count() == 1


def test_same_key_with_another_body_is_a_conflict(api):
    api.create(None, raw=seed_examples()[0], headers={"Idempotency-Key": "key-000003"})
    other = api.create(None, raw=seed_examples()[1], headers={"Idempotency-Key": "key-000003"})
    assert other.status_code == 409
    assert other.get_json()["errorCode"] == "IDEMPOTENCY_KEY_REUSED"
    assert _count() == 1


def test_a_duplicate_while_the_first_is_in_flight_is_a_conflict(api, rt, demo):
    from gateway_app.api import auth  # noqa: F401 - the hash is the API's; reserve through the API once

    # Reserve the key as a first request would, then never finish it.
    with api.client.application.test_request_context(
            "/v2/linx/workflows", method="POST", data=seed_examples()[0], content_type="application/json"):
        request_hash = auth._request_hash()
    reservation = idempotency.reserve(rt, demo[0], "key-inflight", request_hash)
    assert isinstance(reservation, idempotency.Reservation)
    duplicate = api.create(None, raw=seed_examples()[0], headers={"Idempotency-Key": "key-inflight"})
    assert duplicate.status_code == 409
    assert duplicate.get_json()["errorCode"] == "IDEMPOTENCY_REQUEST_IN_PROGRESS"
    assert _count() == 0


def test_a_stale_in_flight_key_is_taken_over(api, rt, demo):
    frozen = FrozenClock()
    clock.set_clock(frozen)
    with api.client.application.test_request_context(
            "/v2/linx/workflows", method="POST", data=seed_examples()[0], content_type="application/json"):
        from gateway_app.api.auth import _request_hash

        request_hash = _request_hash()
    idempotency.reserve(rt, demo[0], "key-stale1", request_hash)
    frozen.advance(minutes=4)
    busy = api.create(None, raw=seed_examples()[0], headers={"Idempotency-Key": "key-stale1"})
    assert busy.status_code == 409
    frozen.advance(minutes=2)
    retried = api.create(None, raw=seed_examples()[0], headers={"Idempotency-Key": "key-stale1"})
    assert retried.status_code == 201
    assert _count() == 1


def test_a_failed_request_releases_its_key(api):
    bad = json.loads(seed_examples()[0])
    del bad["title"]
    assert api.create(bad, headers={"Idempotency-Key": "key-000004"}).status_code == 400
    assert IdempotencyRecord.select().count() == 0
    fixed = api.create(None, raw=seed_examples()[0], headers={"Idempotency-Key": "key-000004"})
    assert fixed.status_code == 201


def test_records_are_kept_at_least_24_hours_then_expire(api, rt):
    frozen = FrozenClock()
    clock.set_clock(frozen)
    api.create(None, raw=seed_examples()[0], headers={"Idempotency-Key": "key-000005"})
    frozen.advance(hours=23, minutes=59)
    replay = api.create(None, raw=seed_examples()[0], headers={"Idempotency-Key": "key-000005"})
    assert replay.headers.get("Idempotent-Replayed") == "true" and _count() == 1
    frozen.advance(minutes=2)
    fresh = api.create(None, raw=seed_examples()[0], headers={"Idempotency-Key": "key-000005"})
    assert fresh.status_code == 201 and "Idempotent-Replayed" not in fresh.headers
    assert _count() == 2
    frozen.advance(hours=25)
    assert idempotency.purge_expired() == 1


def test_keys_belong_to_one_business(api, client, other):
    api.create(None, raw=seed_examples()[0], headers={"Idempotency-Key": "key-shared"})
    theirs = client.post("/v2/linx/workflows", data=json.dumps({
        "title": "Hello", "parameters": {"channel": "SMS", "phoneNumber": "+14165550123"},
        "steps": [{"name": "notification"}, {"name": "customer-account"}]}),
        content_type="application/json",
        headers={"Authorization": f"Bearer {other['key']}", "Idempotency-Key": "key-shared"})
    assert theirs.status_code == 201
    owners = {w.business_id for w in Workflow.select()}
    assert owners == {b.id for b in Business.select()}


def test_idempotency_key_must_be_6_to_255_printable_characters(api):
    for key in ("short", "x" * 256, "bad\tkey!"):
        response = api.create(None, raw=seed_examples()[0], headers={"Idempotency-Key": key})
        assert response.status_code == 400, key
        assert response.get_json()["errors"][0]["path"] == "header.Idempotency-Key"
    assert _count() == 0


def test_concurrent_requests_with_one_key_create_one_workflow(live_server, demo, rt):
    barrier = threading.Barrier(6)
    results = []

    def send():
        barrier.wait()
        r = requests.post(f"{live_server}/v2/linx/workflows", data=seed_examples()[2], timeout=30, headers={
            "Authorization": f"Bearer {demo[1]}", "Content-Type": "application/json",
            "Idempotency-Key": "race-key-1"})
        results.append((r.status_code, r.json()))

    threads = [threading.Thread(target=send) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    statuses = sorted(s for s, _ in results)
    assert len(results) == 6 and set(statuses) <= {201, 409}, results
    ids = {body["id"] for status, body in results if status == 201}
    assert len(ids) == 1
    assert all(body["errorCode"] == "IDEMPOTENCY_REQUEST_IN_PROGRESS" for s, body in results if s == 409)
    assert _count() == 1 and Job.select().where(Job.kind == "notify").count() == 1


def test_concurrent_requests_with_distinct_keys_all_succeed(live_server, demo, rt):
    def send(i):
        r = requests.post(f"{live_server}/v2/linx/workflows", data=seed_examples()[0], timeout=30, headers={
            "Authorization": f"Bearer {demo[1]}", "Content-Type": "application/json",
            "Idempotency-Key": f"distinct-{i:04d}"})
        results.append(r.status_code)

    results = []
    threads = [threading.Thread(target=send, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert results == [201] * 8
    assert _count() == 8


def test_expired_records_do_not_block_new_keys_at_the_boundary(rt, demo):
    frozen = FrozenClock()
    clock.set_clock(frozen)
    first = idempotency.reserve(rt, demo[0], "boundary-1", "h1")
    idempotency.complete(first, 201, "{}")
    frozen.advance(hours=rt.settings.idempotency_ttl_hours)
    again = idempotency.reserve(rt, demo[0], "boundary-1", "h2")
    assert isinstance(again, idempotency.Reservation)
    assert IdempotencyRecord.get_by_id(again.record_id).expires_at == frozen.now() + dt.timedelta(
        hours=rt.settings.idempotency_ttl_hours)


def test_a_replay_withholds_the_passcode_which_is_never_stored(api):
    first = api.create(None, raw=seed_examples()[3], headers={"Idempotency-Key": "key-secret-1"})
    passcode = first.get_json()["passcode"]
    replay = api.create(None, raw=seed_examples()[3], headers={"Idempotency-Key": "key-secret-1"})
    assert replay.headers["Idempotent-Withheld"] == "passcode"
    assert replay.get_json()["passcode"] is None
    assert dict(first.get_json(), passcode=None) == replay.get_json()
    stored = [r.response_body for r in IdempotencyRecord.select()]
    assert stored and all(f'"{passcode}"' not in body for body in stored)
