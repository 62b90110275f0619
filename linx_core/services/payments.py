"""Moving the money: the submit and poll jobs that drive a transaction through its rail, and cancel.

``transaction.submit`` {transactionId}, queued on confirmation with the transaction PENDING:

1. in one database transaction, PENDING -> PROCESSING ("sent to the rail"). From then on the
   business can no longer cancel it, and a cancel that committed first is seen here (nothing is sent);
2. outside any database transaction, the rail is called with the transaction's id as idempotency
   key: ``solution.submit(transfer, idempotency_key=str(tx.id))``;
3. in one database transaction, the rail's answer is applied: its reference is stored and the
   transaction moves on (approve, then settle, say: one history row and one event per step), and a
   ``transaction.poll`` job is queued for ``check_at`` when the answer is not final.

A worker that dies between 2 and 3 leaves the transaction PROCESSING without a reference; the job
runs again (its lease ran out), submits again with the same key, gets the rail's first answer, and
applies it once. A transaction that has its reference, or is past PROCESSING, is left alone.

``transaction.poll`` {transactionId} asks ``solution.status(reference)`` and applies the answer; it
stays one job for the transaction's whole life, rescheduled (``RetryLater``) at each ``check_at``
until the rail says the transfer is final. A return after settlement (SETTLED or CLEARED ->
REVERSED) stores the return code and, like every change, emits ``transactions.status-changed``.

Rail errors: a temporary :class:`~linx_core.payments.RailError` retries the job later (at
``retry_after`` when the rail gave one); a permanent one moves the transaction to ERROR.

Every call to a rail has a deadline (``LINX_RAIL_TIMEOUT_SECONDS``): a rail that accepted a transfer
and whose answer never arrives would otherwise hold the job, and its worker thread, for ever (the
lease is renewed while a handler runs). Past the deadline the outcome is unknown, which is a
temporary error: the submit is retried with the same idempotency key and the rail's first answer
is applied, as after a worker that died.
"""
from __future__ import annotations

import collections
import datetime as dt
import logging
import threading
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar, cast

from .. import clock, jobs
from ..errors import Conflict, NotFound
from ..lifecycle import TRANSACTION, TRANSACTIONS, save_status
from ..payments import AccountDetails, RailError, RailStatus, Transfer
from ..store import db, is_postgres
from ..store.models import Business, CustomerFinancialAccount, Job, Transaction, Workflow
from .transactions import FINAL_OK, change_status, get_transaction

if TYPE_CHECKING:  # pragma: no cover
    from ..runtime import Runtime

T = TypeVar("T")

log = logging.getLogger("linx.payments")

SUBMIT = "transaction.submit"
POLL = "transaction.poll"
POLL_MAX_ATTEMPTS = 1000
RAIL_STATUSES = ("PROCESSING", "APPROVED", "SETTLED", "CLEARED", "DECLINED", "ERROR", "REVERSED", "CANCELLED")
FINAL = TRANSACTIONS.final_states
DEFAULT_MESSAGES = {
    "approve": "Approved by the rail.",
    "settle": "Settled.",
    "clear": "Cleared.",
    "decline": "Declined by the rail.",
    "error": "The rail reported an error.",
    "reverse": "Reversed by the rail.",
}


# -- job handlers -----------------------------------------------------------------------------------

def submit(rt: Runtime, job: Job) -> None:
    """``transaction.submit``: send the transaction to its rail, once."""
    tx_id = job.payload["transactionId"]
    with db.atomic():
        tx = _locked(tx_id)
        if tx is None:
            log.warning("submit: no transaction %s", tx_id)
            return
        if tx.status == "PENDING":
            solution = rt.solution(tx.solution)
            if solution is None:
                change_status(rt, tx, "error", f"No payment solution named {tx.solution!r} is installed.")
                return
            change_status(rt, tx, "process", "Sent to the rail.")
        elif tx.status != "PROCESSING" or tx.rail_reference:
            return  # done already (or cancelled before it was sent)
    solution = rt.solution(tx.solution)
    if solution is None:  # removed while the job waited: an operator can retry it once the plugin is back
        raise jobs.RetryLater(f"no payment solution named {tx.solution!r} is installed")
    transfer = _transfer(rt, tx)
    try:
        answer = _with_deadline(rt, solution.submit, transfer, idempotency_key=str(tx.id))
    except RailError as exc:
        _rail_error(rt, tx_id, exc, "submit")
        return
    with db.atomic():
        tx = _relocked(tx_id)
        if tx.status != "PROCESSING" or tx.rail_reference:
            return  # another run of this job recorded the answer first
        final = apply(rt, tx, answer)
        if not final:
            jobs.enqueue(POLL, {"transactionId": str(tx.id)}, tx.business_id, run_at=answer.check_at or clock.now())
    log.info("transaction %s submitted to %s: %s", tx.id, tx.solution, tx.status)


def poll(rt: Runtime, job: Job) -> None:
    """``transaction.poll``: ask the rail where the transfer stands, apply it, and come back at ``check_at``."""
    tx_id = job.payload["transactionId"]
    tx = Transaction.get_or_none(Transaction.id == tx_id)
    if tx is None or tx.rail_reference is None or tx.status in ("DECLINED", "ERROR", "CANCELLED", "REVERSED"):
        return
    solution = rt.solution(tx.solution)
    if solution is None:
        raise jobs.RetryLater(f"no payment solution named {tx.solution!r} is installed",
                              max_attempts=POLL_MAX_ATTEMPTS)
    try:
        answer = _with_deadline(rt, solution.status, tx.rail_reference)
    except RailError as exc:
        _rail_error(rt, tx_id, exc, "status", max_attempts=POLL_MAX_ATTEMPTS)
        return
    with db.atomic():
        tx = _relocked(tx_id)
        final = apply(rt, tx, answer)
    if not final:
        at = answer.check_at or (clock.now() + dt.timedelta(seconds=60))
        raise jobs.RetryLater(f"{tx.solution} says {answer.status}; next check at {at.isoformat()}", at=at,
                              max_attempts=POLL_MAX_ATTEMPTS)


def _rail_error(rt: Runtime, tx_id: uuid.UUID | str, exc: RailError, call: str,
                max_attempts: int | None = None) -> None:
    if not exc.permanent:
        at = clock.now() + dt.timedelta(seconds=float(exc.retry_after)) if exc.retry_after else None
        raise jobs.RetryLater(f"rail {call}: {exc.code}: {exc.reason}", at=at, max_attempts=max_attempts)
    with db.atomic():
        tx = _relocked(tx_id)
        if tx.status in ("PENDING", "PROCESSING"):
            change_status(rt, tx, "error", f"{exc.code}: {exc.reason}")
        elif call == "status":
            log.warning("transaction %s: the rail cannot tell its status: %s: %s", tx.id, exc.code, exc.reason)


def report(rt: Runtime, solution_name: str, reference: str, answer: RailStatus) -> Transaction:
    """A rail's own report of where a transfer stands (status by callback), applied as a poll's answer.

    A rail that calls back registers its own (signed) route with ``linx_register_blueprints`` and calls
    this; reports may repeat or arrive out of order: one that would move the transaction backwards is
    ignored. Returns the transaction, or raises NotFound for a reference LinX does not know.
    """
    tx = Transaction.get_or_none((Transaction.solution == solution_name) & (Transaction.rail_reference == reference))
    if tx is None:
        raise NotFound(f"No {solution_name} transfer {reference!r}.", "TRANSFER_NOT_FOUND")
    with db.atomic():
        tx = _relocked(tx.id)
        apply(rt, tx, answer)
    return tx


# -- applying a rail's answer -------------------------------------------------------------------------

def apply(rt: Runtime, tx: Transaction, answer: RailStatus) -> bool:
    """Move ``tx`` to where the rail's ``answer`` (a RailStatus) says it is. Inside a transaction.

    Each step on the way is one ``change_status`` (history row and event); the rail's message goes on
    the last. Returns True when nothing more will come from the rail (no ``check_at`` and a final
    status, or a status past which the transaction cannot move).
    """
    changes: dict[str, Any] = {}
    if answer.reference and tx.rail_reference != answer.reference:
        changes["rail_reference"] = answer.reference
    if answer.settle_at is not None and tx.settle_at != answer.settle_at:
        changes["settle_at"] = answer.settle_at
    target = answer.status
    if target in ("SETTLED", "CLEARED"):
        target = FINAL_OK.get(tx.type, target)  # a rail may say SETTLED for a collected REQUEST
    if target == "CANCELLED" and tx.status != "PENDING":
        target = "ERROR"  # cancelled at the rail after it was sent: the money did not move
    if target not in RAIL_STATUSES:
        target = "ERROR"
    steps = path(tx.type, tx.status, target)
    if steps is None:
        log.warning("transaction %s is %s; the rail says %s: no move", tx.id, tx.status, answer.status)
        steps = []
    for i, trigger in enumerate(steps):
        last = i == len(steps) - 1
        extra = dict(changes) if i == 0 else {}
        if trigger == "reverse":
            extra["return_code"] = answer.return_code
        message = answer.message if last and answer.message else DEFAULT_MESSAGES.get(trigger, "")
        if trigger == "error" and answer.status == "CANCELLED":
            message = answer.message or "Cancelled at the rail."
        change_status(rt, tx, trigger, message, **extra)
    if not steps and changes:
        save_status(tx, tx.status, updated_at=clock.now(), **changes)
    if tx.status in ("DECLINED", "ERROR", "CANCELLED", "REVERSED"):
        return True
    return answer.check_at is None and tx.status in ("SETTLED", "CLEARED")


_EDGES: collections.defaultdict[str, list[tuple[str, str]]] = collections.defaultdict(list)
for _t in TRANSACTION["transitions"]:
    for _source in (_t["source"] if isinstance(_t["source"], list) else [_t["source"]]):
        _EDGES[_source].append((_t["trigger"], _t["dest"]))
RAIL_TRIGGERS = {"approve", "decline", "error", "settle", "clear", "reverse"}
NOT_FOR = {"SEND": {"clear"}, "REQUEST": {"settle"}}


def path(type_: str, current: str, target: str) -> list[str] | None:
    """The triggers, read from the TRANSACTION lifecycle, that take a ``type_`` transaction from ``current``
    to ``target`` (shortest first); ``[]`` if it is there, ``None`` if the rail cannot take it there."""
    if current == target:
        return []
    allowed = RAIL_TRIGGERS - NOT_FOR.get(type_, set())
    queue: collections.deque[tuple[str, list[str]]] = collections.deque([(current, [])])
    seen = {current}
    while queue:
        state, steps = queue.popleft()
        for trigger, dest in _EDGES.get(state, ()):
            if trigger not in allowed or dest in seen:
                continue
            if dest == target:
                return steps + [trigger]
            seen.add(dest)
            queue.append((dest, steps + [trigger]))
    return None


# -- the business cancels -------------------------------------------------------------------------------

def cancel(rt: Runtime, business: Business, transaction_id: object) -> Transaction:
    """Cancel a transaction of ``business`` while it is PENDING (not sent to its rail yet); 409 otherwise.

    A PENDING transaction has never reached its rail: the submit job records PROCESSING before it calls
    the rail, under the same version check, so either the cancel or the submission wins, never both.
    """
    with db.atomic():
        tx = _relocked(get_transaction(business, transaction_id).id)
        if tx.status != "PENDING":
            raise Conflict(f"A {tx.status} transaction cannot be cancelled: only a PENDING one can.",
                           f"TRANSACTION_{tx.status}")
        change_status(rt, tx, "cancel", "Cancelled by the business.")
    return tx


# -- helpers ----------------------------------------------------------------------------------------------

def _with_deadline(rt: Runtime, call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``call(*args, **kwargs)``, or a temporary RailError once ``rail_timeout_seconds`` have passed.

    The call runs in a daemon thread: Python cannot stop it, so a late answer is dropped when it comes
    (the retry asks the rail again, under the same idempotency key), and a call that never returns
    cannot keep the worker process from exiting, as a pool's thread would.
    """
    seconds = rt.settings.rail_timeout_seconds
    if seconds <= 0:
        return call(*args, **kwargs)
    outcome: dict[str, Any] = {}
    done = threading.Event()

    def run() -> None:
        try:
            outcome["answer"] = call(*args, **kwargs)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller below
            outcome["error"] = exc
        finally:
            done.set()

    threading.Thread(target=run, name="linx-rail-call", daemon=True).start()
    if not done.wait(seconds):
        raise RailError("RAIL_TIMEOUT", f"no answer from the rail within {seconds:g} seconds; the outcome is "
                                        "unknown, so the same request is sent again")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["answer"]


def _locked(tx_id: uuid.UUID | str) -> Transaction | None:
    """The transaction, locked. Its workflow is locked first: every path that moves both takes the
    workflow, then the transaction (the workflow services do the same), so two of them cannot deadlock."""
    if is_postgres():
        tx = Transaction.get_or_none(Transaction.id == tx_id)
        if tx is not None and tx.workflow_id is not None:
            Workflow.select(Workflow.id).where(Workflow.id == tx.workflow_id).for_update().first()
    query = Transaction.select().where(Transaction.id == tx_id)
    return (query.for_update() if is_postgres() else query).first()


def _relocked(tx_id: uuid.UUID | str) -> Transaction:
    """The transaction read a moment ago, locked as :func:`_locked` does: transactions are never deleted."""
    return cast(Transaction, _locked(tx_id))


def _transfer(rt: Runtime, tx: Transaction) -> Transfer:
    """The :class:`Transfer` for ``tx``: the customer's account opened from the vault just for the rail."""
    account = CustomerFinancialAccount.get_by_id(tx.customer_account_id)
    number = rt.vault.unseal(account.sealed_number)
    details = AccountDetails(kind=account.type, subtype=account.subtype, number=number,
                             holder_name=account.holder_name, brand=account.brand, expiry=account.expiry,
                             routing_number=account.routing_number, billing_address=account.billing_address,
                             last4=account.last4)
    amount = tx.amount.quantize(Decimal(1).scaleb(-rt.rules.decimals(tx.currency)))  # the currency's minor units
    return Transfer(id=str(tx.id), type=tx.type, amount=amount, currency=tx.currency, account=details,
                    business_account_id=str(tx.business_account_id), priority=tx.priority,
                    description=tx.description, memo=tx.memo, payment_reason=tx.payment_reason)


__all__ = ["submit", "poll", "report", "apply", "path", "cancel", "SUBMIT", "POLL"]
