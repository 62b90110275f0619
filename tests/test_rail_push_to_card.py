"""Push to card: debit and prepaid cards only, IMMEDIATE, settled in seconds, the documented declines."""
import datetime as dt
from decimal import Decimal

import pytest

from linx_core import clock
from linx_core.errors import RuleViolation
from linx_core.payments import AccountDetails, RailError, Transfer
from linx_core.store.models import Job, Notification, TransactionStatus, Workflow, WorkflowStep
from linx_plugins.push_to_card import SETTLE_SECONDS, PushToCardSandbox

from .journeys import CARD_FORM, api_for, body, create, freeze, rail_runtime, reload, run, to_confirmation

TUESDAY = dt.datetime(2026, 2, 3, 15, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def real_clock_afterwards():
    """Tests here freeze the clock; the next test gets the real one back."""
    yield
    clock.set_clock(None)


def card(number, subtype="DEBIT", brand=None):
    from linx_core.accounts import card_brand

    return AccountDetails(kind="CARD", subtype=subtype, number=number, holder_name="Jane Doe",
                          brand=brand or card_brand(number), expiry="2030-12", last4=number[-4:])


@pytest.fixture
def sandbox(tmp_path):
    return PushToCardSandbox(tmp_path / "ptc")


def transfer(number, amount="25.00", **overrides):
    values = dict(id="tx-1", type="SEND", amount=Decimal(amount), currency="USD", account=card(number),
                  business_account_id="ba-1", priority="IMMEDIATE")
    values.update(overrides)
    return Transfer(**values)


# -- the rail itself ---------------------------------------------------------------------------


@pytest.mark.parametrize("number, subtype, reason", [
    ("4000056655665556", "DEBIT", None),
    ("5200828282828210", "DEBIT", None),
    ("5105105105105100", "PREPAID", None),
    ("6011000990139424", "DEBIT", None),  # Discover, a number the sandbox does not know: the customer's word
    ("4111111111111111", "DEBIT", "This is a credit card, and push payments reach debit and prepaid cards only"),
    ("5555555555554444", "DEBIT", "This is a credit card"),
    ("4000056655665556", "CREDIT", "This is a credit card"),
    ("378282246310005", "DEBIT", "This card's network does not take push payments"),
    ("4000000000000010", "DEBIT", "This card's bank does not accept push payments"),
])
def test_can_pay_takes_debit_and_prepaid_cards_only(sandbox, number, subtype, reason):
    answer = sandbox.can_pay(card(number, subtype))
    if reason is None:
        assert answer is None
    else:
        assert answer.startswith(reason), answer


def test_can_pay_refuses_a_bank_account(sandbox):
    bank = AccountDetails(kind="BANK", subtype="CHECKING", number="000123456789", routing_number="110000000")
    assert "cards only" in sandbox.can_pay(bank)


def test_the_brand_is_detected_from_the_number():
    assert [card(n).brand for n in ("4000056655665556", "5200828282828210", "2223003122003222", "6011000990139424",
                                    "378282246310005")] == ["VISA", "MASTERCARD", "MASTERCARD", "DISCOVER", "AMEX"]


def test_approved_at_once_and_settled_seconds_later(sandbox):
    frozen = freeze(TUESDAY)
    first = sandbox.submit(transfer("4000056655665556"), "key-1")
    assert first.status == "APPROVED" and first.check_at == TUESDAY + dt.timedelta(seconds=SETTLE_SECONDS)
    assert sandbox.ledger.transfers()[0]["brand"] == "VISA"
    frozen.advance(seconds=SETTLE_SECONDS - 1)
    assert sandbox.status(first.reference).status == "APPROVED"
    frozen.advance(seconds=1)
    settled = sandbox.status(first.reference)
    assert (settled.status, settled.check_at) == ("SETTLED", None)


@pytest.mark.parametrize("number, amount, code", [
    ("4000000000000002", "25.00", "05 Do not honor"),
    ("4000000000009995", "25.00", "61 Exceeds the card's limit for incoming payments"),
    ("4000056655665556", "13.13", "05 Do not honor"),
])
def test_documented_declines(sandbox, number, amount, code):
    freeze(TUESDAY)
    answer = sandbox.submit(transfer(number, amount), "key-1")
    assert answer.status == "DECLINED" and answer.check_at is None
    assert code in answer.message


def test_the_network_unavailable_once_is_a_temporary_error(sandbox):
    freeze(TUESDAY)
    with pytest.raises(RailError) as caught:
        sandbox.submit(transfer("4000000000000119"), "key-1")
    assert not caught.value.permanent and caught.value.code == "NETWORK_UNAVAILABLE"
    assert sandbox.ledger.transfers() == []  # nothing was accepted
    assert sandbox.submit(transfer("4000000000000119"), "key-1").status == "APPROVED"


def test_an_unknown_card_is_a_permanent_error(sandbox):
    with pytest.raises(RailError) as caught:
        sandbox.submit(transfer("4000000000000127"), "key-1")
    assert caught.value.permanent and caught.value.code == "INVALID_ACCOUNT"


@pytest.mark.parametrize("overrides, code", [
    ({"type": "REQUEST"}, "UNSUPPORTED_TYPE"),
    ({"priority": "SAME_DAY"}, "UNSUPPORTED_PRIORITY"),
])
def test_push_to_card_sends_immediately_only(sandbox, overrides, code):
    with pytest.raises(RailError) as caught:
        sandbox.submit(transfer("4000056655665556", **overrides), "key-1")
    assert caught.value.permanent and caught.value.code == code


def test_one_key_for_two_different_transfers_is_refused(sandbox):
    sandbox.submit(transfer("4000056655665556", "25.00"), "key-1")
    with pytest.raises(RailError) as caught:
        sandbox.submit(transfer("4000056655665556", "26.00"), "key-1")
    assert caught.value.code == "IDEMPOTENCY_KEY_REUSED"
    assert len(sandbox.ledger.transfers()) == 1


# -- through LinX ------------------------------------------------------------------------------


def workflow(rt, demo, tmp_path, number=None, amount="256.25", phone="+16475550101"):
    frozen = freeze(TUESDAY)
    runtime = rail_runtime(rt, tmp_path)
    api = api_for(runtime, demo[1])
    workflow_id = create(api, body(amount=amount, phone=phone))
    form = dict(CARD_FORM, cardNumber=number) if number else CARD_FORM
    tx = to_confirmation(runtime, workflow_id, form)
    return runtime, api, frozen, workflow_id, tx


def history(tx):
    return [(h.status, h.message) for h in TransactionStatus.select().where(TransactionStatus.transaction == tx.id)
            .order_by(TransactionStatus.seq)]


def test_a_send_settles_in_seconds_and_completes_the_workflow(rt, demo, tmp_path):
    runtime, api, frozen, workflow_id, tx = workflow(rt, demo, tmp_path)
    assert tx.status == "PENDING"
    run(runtime)
    tx = reload(tx)
    assert tx.status == "APPROVED" and tx.rail_reference.startswith("ptc_")
    poll = Job.get(Job.kind == "transaction.poll")
    assert poll.run_at == TUESDAY + dt.timedelta(seconds=SETTLE_SECONDS)
    frozen.advance(seconds=SETTLE_SECONDS)
    run(runtime)
    tx = reload(tx)
    assert tx.status == "SETTLED"
    assert [s for s, _ in history(tx)] == ["NEW", "PENDING", "PROCESSING", "APPROVED", "SETTLED"]
    assert history(tx)[-1][1] == "Funds are available on the card."
    assert Job.get_by_id(poll.id).status == "DONE"
    assert Workflow.get_by_id(workflow_id).status == "COMPLETED"
    step = WorkflowStep.get((WorkflowStep.workflow == workflow_id) & (WorkflowStep.name == "move-money"))
    assert step.status == "COMPLETED"
    completion = Notification.get((Notification.workflow == workflow_id) & (Notification.origin == "COMPLETION_SEND"))
    assert completion.status in ("SENT", "DELIVERED")
    ledger = runtime.solution("push-to-card").ledger.transfers()
    assert [(t["key"], t["amount"], t["last4"]) for t in ledger] == [(str(tx.id), "256.25", "5556")]


@pytest.mark.parametrize("number, amount, message", [
    ("4000000000000002", "256.25", "05 Do not honor"),
    ("4000000000009995", "256.25", "61 Exceeds"),
    ("4000056655665556", "13.13", "05 Do not honor"),
])
def test_a_decline_fails_the_step_and_the_workflow(rt, demo, tmp_path, number, amount, message):
    runtime, api, frozen, workflow_id, tx = workflow(rt, demo, tmp_path, number, amount)
    run(runtime)
    tx = reload(tx)
    assert tx.status == "DECLINED" and message in tx.message
    assert [s for s, _ in history(tx)] == ["NEW", "PENDING", "PROCESSING", "DECLINED"]
    assert Workflow.get_by_id(workflow_id).status == "FAILED"
    step = WorkflowStep.get((WorkflowStep.workflow == workflow_id) & (WorkflowStep.name == "move-money"))
    assert step.status == "FAILED"
    assert not Job.select().where(Job.kind == "transaction.poll").exists()
    assert not Notification.select().where(Notification.origin.startswith("COMPLETION")).exists()


def test_a_temporary_rail_error_is_retried_then_settles(rt, demo, tmp_path):
    runtime, api, frozen, workflow_id, tx = workflow(rt, demo, tmp_path, "4000000000000119")
    run(runtime)
    job = Job.get(Job.kind == "transaction.submit")
    assert job.status == "DUE" and "NETWORK_UNAVAILABLE" in job.last_error
    assert reload(tx).status == "PROCESSING"
    frozen.advance(seconds=1)
    run(runtime)
    assert reload(tx).status == "APPROVED"
    frozen.advance(seconds=SETTLE_SECONDS)
    run(runtime)
    assert reload(tx).status == "SETTLED"
    assert len(runtime.solution("push-to-card").ledger.transfers()) == 1


def test_a_permanent_rail_error_ends_in_error(rt, demo, tmp_path):
    runtime, api, frozen, workflow_id, tx = workflow(rt, demo, tmp_path, "4000000000000127")
    run(runtime)
    tx = reload(tx)
    assert tx.status == "ERROR" and tx.message.startswith("INVALID_ACCOUNT")
    assert Workflow.get_by_id(workflow_id).status == "FAILED"
    assert Job.get(Job.kind == "transaction.submit").status == "DONE"


@pytest.mark.parametrize("number, reason", [
    ("4111111111111111", "This is a credit card"),
    ("378282246310005", "This card's network does not take push payments"),
])
def test_the_customer_is_told_why_a_card_cannot_be_paid(rt, demo, tmp_path, number, reason):
    freeze(TUESDAY)
    runtime = rail_runtime(rt, tmp_path)
    workflow_id = create(api_for(runtime, demo[1]), body(phone="+16475550102"))
    with pytest.raises(RuleViolation) as caught:
        to_confirmation(runtime, workflow_id, dict(CARD_FORM, cardNumber=number))
    problem = caught.value.problems[0]
    assert (problem.path, problem.code) == ("cardNumber", "ACCOUNT_NOT_PAYABLE")
    assert problem.message.startswith(reason)
    assert number not in problem.message


def test_the_rules_take_immediate_debit_and_prepaid_sends_only(rt, demo, tmp_path):
    runtime = rail_runtime(rt, tmp_path)
    api = api_for(runtime, demo[1])
    for raw, path in ((body(type="REQUEST"), "parameters.transactionType"),
                      (body(priority="SAME_DAY"), "parameters.priority"),
                      (body(subtype="CREDIT"), "parameters.financialAccountSubType"),
                      (body(amount="25000.01"), "parameters.amount")):
        response = api.create(None, raw=raw)
        assert response.status_code == 422, response.get_json()
        assert path in [e["path"] for e in response.get_json()["errors"]]


def test_a_push_payment_is_promised_within_minutes_at_any_hour():
    saturday_night = dt.datetime(2026, 2, 7, 4, 0, tzinfo=dt.UTC)
    for priority in ("IMMEDIATE", None):
        promise = PushToCardSandbox().arrival(priority, saturday_night, "fr-CA")
        assert promise.kind == "minutes" and promise.phrase == "within minutes"
        assert promise.by == saturday_night + dt.timedelta(seconds=5)
