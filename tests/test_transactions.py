"""The transaction lifecycle driven by the rails: submit and poll jobs, cancel, the API, the events."""
import datetime as dt
import uuid
from decimal import Decimal
from functools import partial

import pytest
from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from linx_core import clock, hookimpl
from linx_core.payments import RailError, RailStatus, Solution
from linx_core.plugins import make_manager
from linx_core.services import payments
from linx_core.services.payments import path
from linx_core.store.models import Event, Job, TransactionStatus, Workflow, WorkflowStep

from .conftest import Api
from .journeys import (
    BANK_FORM,
    CARD_FORM,
    api_for,
    body,
    create,
    freeze,
    make_app,
    rail_runtime,
    reload,
    run,
    to_confirmation,
)

TUESDAY = dt.datetime(2026, 2, 3, 15, 0, tzinfo=dt.UTC)


# -- moves read from the lifecycle -------------------------------------------------------------


@pytest.fixture(autouse=True)
def real_clock_afterwards():
    """Tests here freeze the clock; the next test gets the real one back."""
    yield
    clock.set_clock(None)


@pytest.mark.parametrize("type, current, target, steps", [
    ("SEND", "PROCESSING", "APPROVED", ["approve"]),
    ("SEND", "PROCESSING", "SETTLED", ["approve", "settle"]),
    ("REQUEST", "PROCESSING", "CLEARED", ["approve", "clear"]),
    ("SEND", "PROCESSING", "REVERSED", ["approve", "settle", "reverse"]),
    ("REQUEST", "APPROVED", "REVERSED", ["clear", "reverse"]),
    ("SEND", "PROCESSING", "DECLINED", ["decline"]),
    ("SEND", "PROCESSING", "ERROR", ["error"]),
    ("SEND", "APPROVED", "APPROVED", []),
    ("SEND", "SETTLED", "PROCESSING", None),
    ("SEND", "PROCESSING", "CLEARED", None),
    ("SEND", "SETTLED", "DECLINED", None),
])
def test_the_path_to_what_the_rail_says(type, current, target, steps):
    assert path(type, current, target) == steps


# -- a scripted rail, to drive the core's jobs through every case ---------------------------------


class Scripted(Solution):
    name = "scripted"
    transaction_types = ("SEND", "REQUEST")
    account_kinds = ("CARD", "BANK")
    priorities = ("IMMEDIATE",)

    def __init__(self):
        self.answers = []
        self.submitted = []
        self.polled = []

    def rule_fragment(self):
        return {"displayName": "Scripted", "transactionTypes": ["SEND", "REQUEST"],
                "financialAccountSubTypes": ["DEBIT", "CHECKING"], "priorities": ["IMMEDIATE"],
                "parameters": {"optional": ["priority"]}, "limits": {"USD": {"min": "0.01", "max": "100.00"}}}

    def _next(self):
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def submit(self, transfer, idempotency_key):
        self.submitted.append((idempotency_key, transfer))
        return self._next()

    def status(self, reference):
        self.polled.append(reference)
        return self._next()


class ScriptedPlugin:
    def __init__(self):
        self.rail = Scripted()

    @hookimpl
    def linx_solutions(self, rt):
        return [self.rail]


@pytest.fixture
def scripted(rt, demo, tmp_path):
    freeze(TUESDAY)
    plugin = ScriptedPlugin()
    runtime = rail_runtime(rt, tmp_path, plugins=make_manager(load_entrypoints=False, extra=[plugin]))
    api = api_for(runtime, demo[1])

    def start(type="SEND", amount="42.10", form=CARD_FORM, subtype="DEBIT"):
        workflow_id = create(api, body(solution="scripted", type=type, amount=amount, subtype=subtype,
                                       priority="IMMEDIATE", phone="+16475550401"))
        return workflow_id, to_confirmation(runtime, workflow_id, form)

    return runtime, plugin.rail, start


def statuses(tx):
    return [h.status for h in TransactionStatus.select().where(TransactionStatus.transaction == tx.id)
            .order_by(TransactionStatus.seq)]


def test_the_rail_gets_the_transaction_id_as_key_and_a_decimal_amount(scripted):
    runtime, rail, start = scripted
    rail.answers = [RailStatus("SETTLED", "ref-1", "Done.")]
    workflow_id, tx = start()
    run(runtime)
    [(key, transfer)] = rail.submitted
    assert key == str(tx.id) == transfer.id
    assert isinstance(transfer.amount, Decimal) and str(transfer.amount) == "42.10"
    assert (transfer.type, transfer.currency, transfer.account.kind, transfer.account.number) == \
        ("SEND", "USD", "CARD", CARD_FORM["cardNumber"])
    assert transfer.account.last4 == "5556" and transfer.account.number not in repr(transfer)
    assert statuses(reload(tx)) == ["NEW", "PENDING", "PROCESSING", "APPROVED", "SETTLED"]
    assert reload(tx).rail_reference == "ref-1"
    assert not Job.select().where(Job.kind == "transaction.poll").exists()


def test_a_second_run_of_the_submit_job_changes_nothing(scripted):
    runtime, rail, start = scripted
    rail.answers = [RailStatus("APPROVED", "ref-1", check_at=TUESDAY + dt.timedelta(minutes=1))]
    workflow_id, tx = start()
    run(runtime)
    before = statuses(reload(tx))
    job = Job.get(Job.kind == "transaction.submit")
    payments.submit(runtime, job)  # as a worker whose lease ran out would
    assert statuses(reload(tx)) == before == ["NEW", "PENDING", "PROCESSING", "APPROVED"]
    assert len(rail.submitted) == 1
    assert Job.select().where(Job.kind == "transaction.poll").count() == 1


def test_a_rail_that_says_settled_for_a_request_clears_it(scripted):
    runtime, rail, start = scripted
    rail.answers = [RailStatus("SETTLED", "ref-1")]
    workflow_id, tx = start(type="REQUEST", form=BANK_FORM, subtype="CHECKING")
    run(runtime)
    assert reload(tx).status == "CLEARED"
    assert Workflow.get_by_id(workflow_id).status == "COMPLETED"


def test_polling_until_final_then_stopping(scripted):
    runtime, rail, start = scripted
    first, second = TUESDAY + dt.timedelta(minutes=1), TUESDAY + dt.timedelta(minutes=5)
    rail.answers = [RailStatus("PROCESSING", "ref-1", check_at=first),
                    RailStatus("APPROVED", "ref-1", "On its way.", check_at=second),
                    RailError("DOWN", "the rail is down", retry_after=30),
                    RailStatus("SETTLED", "ref-1", "Paid.")]
    workflow_id, tx = start()
    run(runtime)
    assert reload(tx).status == "PROCESSING" and reload(tx).rail_reference == "ref-1"
    poll = Job.get(Job.kind == "transaction.poll")
    assert poll.run_at == first
    runtime_clock = freeze(first)
    run(runtime)
    assert reload(tx).status == "APPROVED" and Job.get_by_id(poll.id).run_at == second
    runtime_clock.advance(minutes=4)
    run(runtime)  # the rail is down: try again in 30 seconds
    assert reload(tx).status == "APPROVED"
    assert Job.get_by_id(poll.id).run_at == second + dt.timedelta(seconds=30)
    assert "DOWN" in Job.get_by_id(poll.id).last_error
    runtime_clock.advance(seconds=30)
    run(runtime)
    assert reload(tx).status == "SETTLED" and reload(tx).message == "Paid."
    assert Job.get_by_id(poll.id).status == "DONE"
    assert rail.polled == ["ref-1"] * 3


def test_cancelled_at_the_rail_after_it_was_sent_is_an_error(scripted):
    runtime, rail, start = scripted
    rail.answers = [RailStatus("CANCELLED", "ref-1", "Withdrawn by the bank.")]
    workflow_id, tx = start()
    run(runtime)
    assert (reload(tx).status, reload(tx).message) == ("ERROR", "Withdrawn by the bank.")


def test_a_transaction_whose_rail_is_gone_ends_in_error(rt, demo, tmp_path):
    freeze(TUESDAY)
    runtime = rail_runtime(rt, tmp_path)
    workflow_id = create(api_for(runtime, demo[1]), body(phone="+16475550402"))
    tx = to_confirmation(runtime, workflow_id)
    without = make_manager(load_entrypoints=False)
    without.unregister(name="linx_plugins.push_to_card")
    run(rail_runtime(rt, tmp_path, plugins=without))
    tx = reload(tx)
    assert tx.status == "ERROR" and "No payment solution named 'push-to-card'" in tx.message


# -- cancel -----------------------------------------------------------------------------------------


@pytest.fixture
def confirmed(rt, demo, tmp_path):
    """A push-to-card transaction, confirmed (PENDING), and an API on the same runtime."""
    freeze(TUESDAY)
    runtime = rail_runtime(rt, tmp_path)
    api = api_for(runtime, demo[1])
    workflow_id = create(api, body(phone="+16475550403"))
    tx = to_confirmation(runtime, workflow_id)
    return runtime, api, workflow_id, tx


def cancel(api, tx, key=None):
    headers = {"Idempotency-Key": key} if key else {}
    return api.client.post(f"/v2/transactions/{tx.id}/cancel", headers=api.headers(headers))


def test_a_pending_transaction_can_be_cancelled_and_is_never_sent(confirmed):
    runtime, api, workflow_id, tx = confirmed
    response = cancel(api, tx, key="cancel-0001")
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "CANCELLED"
    again = cancel(api, tx, key="cancel-0001")
    assert again.status_code == 200 and again.headers.get("Idempotent-Replayed") == "true"
    assert again.get_json() == response.get_json()
    run(runtime)
    assert statuses(reload(tx)) == ["NEW", "PENDING", "CANCELLED"]
    assert Job.get(Job.kind == "transaction.submit").status == "DONE"
    assert runtime.solution("push-to-card").ledger.transfers() == []
    assert Workflow.get_by_id(workflow_id).status == "FAILED"
    step = WorkflowStep.get((WorkflowStep.workflow == workflow_id) & (WorkflowStep.name == "move-money"))
    assert step.status == "FAILED"


def test_a_transaction_sent_to_its_rail_cannot_be_cancelled(confirmed):
    runtime, api, workflow_id, tx = confirmed
    run(runtime)
    response = cancel(api, tx)
    assert response.status_code == 409
    body_ = response.get_json()
    assert body_["errorCode"] == "TRANSACTION_APPROVED" and "only a PENDING one" in body_["message"]
    assert reload(tx).status == "APPROVED"


# -- the API -------------------------------------------------------------------------------------------


def test_get_a_transaction_and_its_history(confirmed):
    runtime, api, workflow_id, tx = confirmed
    run(runtime)
    shown = api.get(f"/v2/transactions/{tx.id}")
    assert shown.status_code == 200
    data = shown.get_json()
    assert {k: data[k] for k in ("id", "workflowId", "type", "solution", "priority", "amount", "currency", "status",
                                 "paymentReasonId", "returnCode")} == {
        "id": str(tx.id), "workflowId": workflow_id, "type": "SEND", "solution": "push-to-card",
        "priority": "IMMEDIATE", "amount": "256.25", "currency": "USD", "status": "APPROVED",
        "paymentReasonId": "payment-of-rebates", "returnCode": None}
    assert data["customerFinancialAccount"]["maskedNumber"] == "************5556"
    assert data["customerFinancialAccount"]["brand"] == "VISA"
    assert data["businessFinancialAccount"] == {"id": "31c6d624-6a0c-4049-b1f1-f3ea7d00ba35",
                                                "maskedNumber": "********6789"}
    history = api.get(f"/v2/transactions/{tx.id}/status").get_json()
    assert history["transactionId"] == str(tx.id) and history["status"] == "APPROVED"
    assert [(h["status"], h["message"]) for h in history["history"]] == [
        ("NEW", "Created on confirmation."), ("PENDING", "Queued for the rail."), ("PROCESSING", "Sent to the rail."),
        ("APPROVED", "Approved by the card network.")]
    assert all(h["time"] == "2026-02-03T15:00:00Z" for h in history["history"])


def test_another_business_sees_no_transaction_of_this_one(confirmed, other):
    runtime, api, workflow_id, tx = confirmed
    theirs = Api(make_app(runtime).test_client(), other["key"])
    for path_ in (f"/v2/transactions/{tx.id}", f"/v2/transactions/{tx.id}/status"):
        response = theirs.get(path_)
        assert response.status_code == 404 and response.get_json()["errorCode"] == "TRANSACTION_NOT_FOUND"
    response = theirs.client.post(f"/v2/transactions/{tx.id}/cancel", headers=theirs.headers())
    assert response.status_code == 404
    assert reload(tx).status == "PENDING"
    for missing in (str(uuid.uuid4()), "not-a-uuid"):
        assert api.get(f"/v2/transactions/{missing}").status_code == 404
    assert api.client.get(f"/v2/transactions/{tx.id}").status_code == 401


def test_the_openapi_paths():
    from gateway_app.api import transactions

    spec = APISpec(title="t", version="1", openapi_version="3.0.3", plugins=[MarshmallowPlugin()])
    transactions.add_paths(spec, lambda *codes: {str(c): {"description": "error"} for c in codes})
    doc = spec.to_dict()
    assert set(doc["paths"]) == {"/v2/transactions", "/v2/transactions/{transactionId}",
                                 "/v2/transactions/{transactionId}/status", "/v2/transactions/{transactionId}/cancel"}
    assert set(doc["paths"]["/v2/transactions/{transactionId}/cancel"]["post"]["responses"]) == {
        "200", "401", "404", "409"}
    assert "REVERSED" in doc["components"]["schemas"]["Transaction"]["properties"]["status"]["enum"]


# -- the events ---------------------------------------------------------------------------------------


def test_every_change_emits_a_status_changed_event_with_the_transaction(confirmed):
    runtime, api, workflow_id, tx = confirmed
    run(runtime)
    freeze(TUESDAY + dt.timedelta(seconds=5))
    run(runtime)
    events = [e.data for e in Event.select().where((Event.type == "transactions.status-changed")
                                                   & (Event.subject_id == tx.id))]
    # events of one instant have no order of their own: put them in the lifecycle's
    events.sort(key=lambda d: ["PENDING", "PROCESSING", "APPROVED", "SETTLED"].index(d["status"]))
    assert [(e["previousStatus"], e["status"]) for e in events] == [
        ("NEW", "PENDING"), ("PENDING", "PROCESSING"), ("PROCESSING", "APPROVED"), ("APPROVED", "SETTLED")]
    for data in events:
        assert {k: data[k] for k in ("transactionId", "workflowId", "type", "solution", "amount", "currency")} == {
            "transactionId": str(tx.id), "workflowId": workflow_id, "type": "SEND", "solution": "push-to-card",
            "amount": "256.25", "currency": "USD"}
        assert data["customerFinancialAccount"]["maskedNumber"] == "************5556"
        assert data["customerFinancialAccount"]["id"] == str(tx.customer_account_id)
        assert data["businessFinancialAccount"]["maskedNumber"] == "********6789"


def test_cancelling_the_payment_and_its_workflow_at_once_never_deadlocks(api, rt, demo):
    import threading

    from linx_core.errors import LinxError
    from linx_core.services import journey, workflows

    from .drive import ready_to_confirm

    for _ in range(5):
        wf = ready_to_confirm(api, rt)
        tx = journey.submit(rt, wf["id"], 3, "move-money", {})
        barrier = threading.Barrier(2)
        errors = []

        def run(action, barrier=barrier, errors=errors):  # bound to this round
            rt.bind()
            with rt.database.connection_context():
                barrier.wait()
                try:
                    action()
                except LinxError:
                    pass  # one of them may find the other's result: a clean refusal is fine
                except Exception as exc:  # noqa: BLE001 - a deadlock or any database error is the bug
                    errors.append(repr(exc))

        threads = [threading.Thread(target=run, args=(partial(payments.cancel, rt, demo[0], tx.id),)),
                   threading.Thread(target=run, args=(partial(workflows.cancel, rt, demo[0], wf["id"]),))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert errors == []


def test_a_rail_can_report_status_by_callback(api, rt):
    from linx_core.clock import FrozenClock
    from linx_core.errors import NotFound
    from linx_core.services import journey
    from linx_core.store.models import Transaction
    from linx_core.worker import Worker

    from .drive import ready_to_confirm

    frozen = FrozenClock()
    clock.set_clock(frozen)
    wf = ready_to_confirm(api, rt, amount=22)
    tx = journey.submit(rt, wf["id"], 3, "move-money", {})
    Worker(rt).run_until_idle()  # submitted: APPROVED, settling later
    tx = Transaction.get_by_id(tx.id)
    assert tx.status == "APPROVED" and tx.rail_reference
    payments.report(rt, "push-to-card", tx.rail_reference, RailStatus("SETTLED", tx.rail_reference, "Paid."))
    assert Transaction.get_by_id(tx.id).status == "SETTLED"
    assert Workflow.get_by_id(wf["id"]).status == "COMPLETED"
    payments.report(rt, "push-to-card", tx.rail_reference, RailStatus("APPROVED", tx.rail_reference))  # stale
    assert Transaction.get_by_id(tx.id).status == "SETTLED"
    with pytest.raises(NotFound):
        payments.report(rt, "push-to-card", "no-such-reference", RailStatus("SETTLED"))
