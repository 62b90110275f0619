"""The contract every payment solution (rail) keeps, as a pytest class to subclass.

A rail plugin proves it keeps the ``linx_solutions`` contract by running this suite against
its own rail (a sandbox, or a fake of the provider's API)::

    import pytest
    from linx_core.payments import AccountDetails
    from linx_core.testing.solutions import SolutionContract

    class TestMyRail(SolutionContract):
        @pytest.fixture
        def solution(self, tmp_path):        # the solution under test, with a store of its own
            return MyRail(tmp_path)

        @pytest.fixture
        def payable_account(self):           # an account the rail accepts and pays
            return AccountDetails(kind="BANK", subtype="CHECKING", number="000123456789",
                                  routing_number="110000000", holder_name="Jane Doe", last4="6789")

        # optional
        @pytest.fixture
        def held(self, solution):            # how many transfers the rail holds (not needed for a rail
            return lambda: len(solution.transfers())  # keeping a linx_core.sandbox.Ledger as ``ledger``)

        @pytest.fixture
        def unpayable_account(self):         # an account can_pay refuses (else that test skips)
            ...

The suite installs a :class:`~linx_core.clock.FrozenClock` at ``start`` (a banking day's morning in
New York) and moves it to each ``check_at`` the rail gives. Class attributes tune it: ``start``,
``currency``, ``amount`` (a :class:`~decimal.Decimal`), ``max_checks``.

The contract: the solution describes itself (name, transaction types, account kinds, priorities)
and its ``rule_fragment()`` is a valid entry of a rule book that accepts a workflow naming it; it
answers its ``arrival(priority, now, locale)`` with a :class:`~linx_core.payments.Arrival` for each
of its priorities (and None, where the priority is optional) on a weekday morning, a weekday night
and a weekend, never promising a moment before ``now``;
``can_pay`` answers None for a payable account and a reason for another; submitting twice with one
idempotency key is one transfer (one reference), another key is another; ``status`` reaches a final
state as the clock moves; an unknown reference is a :class:`~linx_core.payments.RailError`;
``cancel`` either cancels or raises a permanent RailError.
"""
from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pytest

from linx_core import clock as linx_clock
from linx_core.clock import FrozenClock
from linx_core.lifecycle import TRANSACTIONS
from linx_core.payments import ARRIVAL_KINDS, AccountDetails, Arrival, RailError, RailStatus, Solution, Transfer
from linx_core.sandbox import Ledger

if TYPE_CHECKING:  # pragma: no cover
    from linx_core.rules.book import RuleBook

MakeTransfer = Callable[..., Transfer]

TYPES = {"SEND", "REQUEST"}
KINDS = {"CARD", "BANK"}
PRIORITIES = {"IMMEDIATE", "SAME_DAY", "NEXT_DAY", "SCHEDULED"}
RAIL_STATUSES = {"PROCESSING", "APPROVED", "SETTLED", "CLEARED", "DECLINED", "ERROR", "REVERSED", "CANCELLED"}
FINAL = set(TRANSACTIONS.final_states)


class SolutionContract:
    """Subclass it (as ``Test...``) and provide the fixtures named in the module's docstring."""

    start = dt.datetime(2026, 2, 3, 14, 0, tzinfo=dt.UTC)  # a Tuesday, 09:00 in New York
    currency = "USD"
    amount = Decimal("25.50")
    max_checks = 50

    # -- fixtures a subclass may replace ---------------------------------------------------------

    @pytest.fixture(autouse=True)
    def frozen_clock(self) -> Iterator[FrozenClock]:
        frozen = FrozenClock(self.start)
        linx_clock.set_clock(frozen)
        yield frozen
        linx_clock.set_clock(None)

    @pytest.fixture
    def unpayable_account(self) -> AccountDetails:
        pytest.skip("this rail's tests name no account it refuses")

    @pytest.fixture
    def held(self, solution: Solution) -> Callable[[], int]:
        """How many transfers the rail holds: its :class:`~linx_core.sandbox.Ledger`'s, if it keeps one."""
        ledger = getattr(solution, "ledger", None)
        if not isinstance(ledger, Ledger):
            pytest.fail("the rail keeps no linx_core.sandbox.Ledger as `ledger`: give the suite a `held` fixture")
        return lambda: len(ledger.transfers())

    @pytest.fixture
    def transfer_type(self, solution: Solution) -> str:
        return "SEND" if "SEND" in solution.transaction_types else sorted(solution.transaction_types)[0]

    @pytest.fixture
    def make_transfer(self, solution: Solution, payable_account: AccountDetails, transfer_type: str) -> MakeTransfer:
        def make(**overrides: Any) -> Transfer:
            values: dict[str, Any] = dict(
                id=str(uuid.uuid4()), type=transfer_type, amount=self.amount, currency=self.currency,
                account=payable_account, business_account_id=str(uuid.uuid4()),
                priority=sorted(solution.priorities)[0] if solution.priorities else None,
                description="Contract check", memo=None, payment_reason="payment-of-rebates")
            values.update(overrides)
            return Transfer(**values)

        return make

    # -- the contract ----------------------------------------------------------------------------

    def test_it_describes_itself(self, solution: Solution) -> None:
        assert isinstance(solution.name, str) and solution.name
        assert set(solution.transaction_types) and set(solution.transaction_types) <= TYPES
        assert set(solution.account_kinds) and set(solution.account_kinds) <= KINDS
        assert set(solution.priorities) <= PRIORITIES

    def test_its_rule_fragment_is_valid_in_a_rule_book(self, solution: Solution) -> None:
        from linx_core.rules import load_rules, solution_fragments

        book = load_rules(fragments=solution_fragments([solution]))
        entry = book.solutions[solution.name]
        assert set(entry["transactionTypes"]) <= set(solution.transaction_types)
        assert set(entry["priorities"]) <= set(solution.priorities)
        assert {book.account_kind(s) for s in entry["financialAccountSubTypes"]} <= set(solution.account_kinds)
        assert self.currency in entry["limits"], f"the fragment has no limits for {self.currency}"
        first = solution.rule_fragment()
        first.clear()  # the caller owns what it gets: the next call is whole again
        assert solution.rule_fragment(), "rule_fragment() must return a fresh mapping each time"
        book.validate_workflow(self._workflow_body(book, solution, entry))

    @pytest.mark.parametrize("moment", [
        dt.datetime(2026, 2, 3, 14, 0, tzinfo=dt.UTC),   # a Tuesday, 09:00 in New York
        dt.datetime(2026, 2, 4, 3, 30, tzinfo=dt.UTC),   # that night, after every cut-off
        dt.datetime(2026, 2, 7, 17, 0, tzinfo=dt.UTC),   # a Saturday
    ])
    @pytest.mark.parametrize("locale", ["en", "fr-CA"])
    def test_it_promises_an_arrival_for_each_priority(self, solution: Solution, moment: dt.datetime,
                                                      locale: str) -> None:
        entry = solution.rule_fragment()
        optional = "priority" not in entry.get("parameters", {}).get("required", ())
        for priority in (*solution.priorities, *([None] if optional else [])):
            promise = solution.arrival(priority, moment, locale)
            assert isinstance(promise, Arrival), f"arrival({priority!r}) gave {promise!r}"
            assert promise.kind in ARRIVAL_KINDS and promise.phrase
            if promise.by is not None:
                assert promise.by.tzinfo is not None and promise.by >= moment, promise

    def test_can_pay_answers(self, solution: Solution, payable_account: AccountDetails) -> None:
        assert solution.can_pay(payable_account) is None

    def test_can_pay_gives_a_reason_for_an_account_it_refuses(self, solution: Solution,
                                                              unpayable_account: AccountDetails) -> None:
        reason = solution.can_pay(unpayable_account)
        assert isinstance(reason, str) and len(reason.split()) >= 3, reason

    def test_submitting_twice_with_one_key_is_one_transfer(self, solution: Solution, make_transfer: MakeTransfer,
                                                           held: Callable[[], int]) -> None:
        transfer = make_transfer()
        before = held()
        first = solution.submit(transfer, idempotency_key=transfer.id)
        second = solution.submit(transfer, idempotency_key=transfer.id)
        assert isinstance(first, RailStatus) and first.reference
        assert second.reference == first.reference
        assert held() == before + 1
        other = make_transfer()
        third = solution.submit(other, idempotency_key=other.id)
        assert third.reference != first.reference
        assert held() == before + 2

    def test_a_submitted_transfer_has_a_status(self, solution: Solution, make_transfer: MakeTransfer) -> None:
        transfer = make_transfer()
        submitted = solution.submit(transfer, idempotency_key=transfer.id)
        assert submitted.status in RAIL_STATUSES and submitted.reference, submitted
        now = solution.status(submitted.reference)
        assert isinstance(now, RailStatus)
        assert now.reference == submitted.reference and now.status in RAIL_STATUSES

    def test_the_status_reaches_a_final_state_as_the_clock_moves(self, solution: Solution, make_transfer: MakeTransfer,
                                                                 frozen_clock: FrozenClock) -> None:
        transfer = make_transfer()
        answer = solution.submit(transfer, idempotency_key=transfer.id)
        seen = [answer.status]
        for _ in range(self.max_checks):
            if answer.status in FINAL and answer.check_at is None:
                break
            if answer.check_at is not None:
                assert answer.check_at.tzinfo is not None, "check_at must be an aware datetime"
                wait = max(answer.check_at - frozen_clock.now(), dt.timedelta(0))
                frozen_clock.advance(seconds=wait.total_seconds())
            else:
                frozen_clock.advance(hours=1)
            assert answer.reference, f"an answer names its transfer: {answer}"
            answer = solution.status(answer.reference)
            seen.append(answer.status)
        assert answer.status in FINAL and answer.check_at is None, f"not final after {self.max_checks} checks: {seen}"
        assert answer.status in ({"SETTLED"} if transfer.type == "SEND" else {"CLEARED", "SETTLED"}), seen

    def test_an_unknown_reference_is_a_rail_error(self, solution: Solution) -> None:
        with pytest.raises(RailError):
            solution.status(f"unknown-{uuid.uuid4().hex}")

    def test_cancel_cancels_or_is_refused_for_good(self, solution: Solution, make_transfer: MakeTransfer) -> None:
        transfer = make_transfer()
        submitted = solution.submit(transfer, idempotency_key=transfer.id)
        assert submitted.reference, submitted
        try:
            answer = solution.cancel(submitted.reference)
        except RailError as exc:
            assert exc.permanent, "a rail that cannot cancel says so with a permanent RailError"
            assert exc.code and exc.reason
            return
        assert answer is None or answer.status == "CANCELLED"
        assert solution.status(submitted.reference).status == "CANCELLED"

    # -- helpers ---------------------------------------------------------------------------------

    def _workflow_body(self, book: RuleBook, solution: Solution, entry: dict[str, Any]) -> dict[str, Any]:
        params: dict[str, Any] = {
            "channel": "SMS", "phoneNumber": "+16471234567", "customerId": str(uuid.uuid4()),
            "customerFinancialAccountId": str(uuid.uuid4()), "transactionType": entry["transactionTypes"][0],
            "solution": solution.name, "baFinancialAccountId": str(uuid.uuid4()), "currency": self.currency,
            "amount": entry["limits"][self.currency]["min"],
            "paymentReasonId": sorted(book.catalog["paymentReasons"])[0],
        }
        fill = {"priority": entry["priorities"][0], "description": "Contract check", "memo": "Contract memo"}
        for name in entry["parameters"]["required"]:
            params[name] = fill[name]
        return {"title": "Contract check", "parameters": params,
                "steps": [{"name": n} for n in ("notification", "lookup-profile", "lookup-financial-account",
                                                "move-money")]}
