"""Wire: SEND only, to a bank account with its holder's address, a description required, same day."""
import dataclasses
import datetime as dt
from decimal import Decimal

import pytest

from linx_core import clock
from linx_core.errors import RuleViolation
from linx_core.payments import AccountDetails, RailError, Transfer
from linx_plugins.wire import WireSandbox

from .journeys import (
    ADDRESS,
    BANK_FORM,
    CUSTOMER_FORM,
    api_for,
    body,
    create,
    freeze,
    rail_runtime,
    reload,
    run,
    to_confirmation,
)

UTC = dt.UTC


@pytest.fixture(autouse=True)
def real_clock_afterwards():
    """Tests here freeze the clock; the next test gets the real one back."""
    yield
    clock.set_clock(None)


def at(day, hour, minute=0):
    """2026-02-DD at hour:minute in New York (EST), as UTC."""
    return dt.datetime(2026, 2, day, hour, minute, tzinfo=UTC) + dt.timedelta(hours=5)


def bank(number="000123456789", address=ADDRESS):
    return AccountDetails(kind="BANK", subtype="CHECKING", number=number, holder_name="Jane Doe",
                          routing_number="110000000", billing_address=address, last4=number[-4:])


def transfer(amount="5000.00", description="Invoice 2026-001", memo=None, **account):
    return Transfer(id="tx-1", type="SEND", amount=Decimal(amount), currency="USD", account=bank(**account),
                    business_account_id="ba-1", priority="SAME_DAY", description=description, memo=memo)


@pytest.fixture
def wire(tmp_path):
    return WireSandbox(tmp_path / "wire")


def test_a_wire_within_business_hours_settles_ten_minutes_later(wire):
    frozen = freeze(at(3, 11))
    answer = wire.submit(transfer(), "key-1")
    assert (answer.status, answer.check_at) == ("APPROVED", at(3, 11, 10))
    frozen.advance(minutes=10)
    assert (wire.status(answer.reference).status, wire.status(answer.reference).check_at) == ("SETTLED", None)


@pytest.mark.parametrize("moment, release", [
    (at(3, 7), at(3, 9)),  # before the wire room opens
    (at(3, 18), at(4, 9)),  # at the cut-off: tomorrow
    (at(6, 19), at(9, 9)),  # Friday evening: Monday
    (at(13, 18, 30), at(17, 9)),  # Friday evening before Presidents' Day: Tuesday
])
def test_a_wire_outside_business_hours_waits_for_the_next_opening(wire, moment, release):
    frozen = freeze(moment)
    answer = wire.submit(transfer(), "key-1")
    assert (answer.status, answer.check_at) == ("PROCESSING", release)
    frozen.advance(seconds=(release - moment).total_seconds())
    assert wire.status(answer.reference).status == "APPROVED"
    frozen.advance(minutes=10)
    assert wire.status(answer.reference).status == "SETTLED"


@pytest.mark.parametrize("number, amount, message", [
    ("000111111116", "5000.00", "no such account"),
    ("000111111113", "5000.00", "account is closed"),
    ("000123456789", "13.13", "13.13"),
])
def test_documented_rejections(wire, number, amount, message):
    freeze(at(3, 11))
    answer = wire.submit(transfer(amount=amount, number=number), "key-1")
    assert answer.status == "DECLINED" and message in answer.message


@pytest.mark.parametrize("change, code", [
    ({"description": None}, "DESCRIPTION_REQUIRED"),
    ({"description": "x" * 101}, "DESCRIPTION_REQUIRED"),
    ({"memo": "m" * 141}, "MEMO_TOO_LONG"),
    ({"type": "REQUEST"}, "UNSUPPORTED_TYPE"),
    ({"priority": "NEXT_DAY"}, "UNSUPPORTED_PRIORITY"),
])
def test_what_a_wire_refuses(wire, change, code):
    with pytest.raises(RailError) as caught:
        wire.submit(dataclasses.replace(transfer(), **change), "key-1")
    assert caught.value.permanent and caught.value.code == code


def test_a_memo_is_optional_and_kept(wire):
    freeze(at(3, 11))
    wire.submit(transfer(description="x" * 100, memo="For March"), "key-1")
    wire.submit(dataclasses.replace(transfer(), id="tx-2"), "key-2")
    assert [(t["description"], t["memo"]) for t in wire.ledger.transfers()] == [("x" * 100, "For March"),
                                                                                ("Invoice 2026-001", None)]


def test_can_pay_needs_a_bank_account_with_its_holders_address(wire):
    assert wire.can_pay(bank()) is None
    assert "holder's address" in wire.can_pay(bank(address=None))
    assert "holder's address" in wire.can_pay(bank(address={"street": "1 Main Street"}))
    card = AccountDetails(kind="CARD", subtype="DEBIT", number="4000056655665556")
    assert "bank account" in wire.can_pay(card)


# -- through LinX ------------------------------------------------------------------------------------


def test_a_wire_through_linx_asks_the_address_and_settles_the_same_day(rt, demo, tmp_path):
    frozen = freeze(at(3, 11))
    runtime = rail_runtime(rt, tmp_path)
    api = api_for(runtime, demo[1])
    workflow_id = create(api, body(solution="wire", amount="12500.00", description="Invoice 2026-001",
                                   memo="Thank you", phone="+16475550301"))
    with pytest.raises(RuleViolation) as caught:  # the Gateway asks for the holder's address
        to_confirmation(runtime, workflow_id, BANK_FORM)
    assert {p.path for p in caught.value.problems} >= {"street", "city", "postalCode"}
    from linx_core.services import journey
    from linx_core.store.models import Workflow

    workflow = Workflow.get_by_id(workflow_id)
    journey.submit(runtime, workflow.id, workflow.current_step, "financial-account", dict(BANK_FORM, **ADDRESS))
    tx = to_confirmation(runtime, workflow_id)
    assert (tx.description, tx.memo) == ("Invoice 2026-001", "Thank you")
    run(runtime)
    tx = reload(tx)
    assert tx.status == "APPROVED" and tx.rail_reference.startswith("wire_")
    frozen.advance(minutes=10)
    run(runtime)
    assert reload(tx).status == "SETTLED"
    assert Workflow.get_by_id(workflow_id).status == "COMPLETED"
    [held] = runtime.solution("wire").ledger.transfers()
    assert (held["amount"], held["description"], held["memo"]) == ("12500.00", "Invoice 2026-001", "Thank you")


def test_a_rejected_wire_fails_the_workflow(rt, demo, tmp_path):
    freeze(at(3, 11))
    runtime = rail_runtime(rt, tmp_path)
    workflow_id = create(api_for(runtime, demo[1]), body(solution="wire", description="Invoice", phone="+16475550302"))
    from linx_core.services import journey
    from linx_core.store.models import Workflow

    run(runtime)
    workflow = Workflow.get_by_id(workflow_id)
    journey.submit(runtime, workflow.id, 1, "customer-account", CUSTOMER_FORM)
    journey.submit(runtime, workflow.id, 2, "financial-account",
                   dict(BANK_FORM, accountNumber="000111111116", **ADDRESS))
    tx = to_confirmation(runtime, workflow_id)
    run(runtime)
    assert reload(tx).status == "DECLINED" and "no such account" in reload(tx).message
    assert Workflow.get_by_id(workflow_id).status == "FAILED"


def test_the_rules_want_a_description_of_at_most_100_characters(rt, demo, tmp_path):
    api = api_for(rail_runtime(rt, tmp_path), demo[1])
    for raw, path in ((body(solution="wire"), "parameters.description"),
                      (body(solution="wire", description="x" * 101), "parameters.description"),
                      (body(solution="wire", type="REQUEST", description="Invoice"), "parameters.transactionType"),
                      (body(solution="wire", amount="0.99", description="Invoice"), "parameters.amount")):
        response = api.create(None, raw=raw)
        assert response.status_code == 422, response.get_json()
        assert path in [e["path"] for e in response.get_json()["errors"]], response.get_json()
    assert api.create(None, raw=body(solution="wire", description="x" * 100)).status_code == 201
    assert api.create(None, raw=body(solution="wire", description="Invoice", memo="A memo")).status_code == 201


@pytest.mark.parametrize("moment, kind, settles", [
    (at(3, 8), "same-business-day", at(3, 9, 10)),        # before the wire room opens
    (at(3, 17, 59), "same-business-day", at(3, 18, 9)),   # just before the cut-off
    (at(3, 18), "next-business-day", at(4, 9, 10)),       # at the cut-off: tomorrow's opening
    (at(7, 12), "next-business-day", at(9, 9, 10)),       # Saturday: Monday
])
def test_the_arrival_promise_follows_the_wire_rooms_hours(moment, kind, settles):
    promise = WireSandbox().arrival("SAME_DAY", moment, "en")
    assert (promise.kind, promise.by) == (kind, settles)
