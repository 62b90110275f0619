"""Wire: a same-day SEND to a bank account whose holder's address is known, with a description.

A sandbox rail that behaves like a bank's Fedwire service. Times are Eastern, read from
``linx_core.clock``: wires are released on banking days between 09:00 and the 18:00 cut-off and
settle 10 minutes after release; a wire submitted after the cut-off, or on a weekend or a Federal
Reserve holiday, is released at 09:00 on the next banking day. A wire is irrevocable: it cannot be
cancelled. The beneficiary bank may reject a wire (DECLINED); there are no returns after settlement.

Requirements: the account holder's address (``billing_address``), a ``description`` of 1 to 100
characters (the payment's purpose, sent to the beneficiary); ``memo`` (at most 140 characters) is
optional.

Test values (the customer's bank account; any routing number with a valid check digit):

=====================  ====================================================================
Account number         Outcome
=====================  ====================================================================
000123456789           settles (so does any number not listed here)
000111111116           rejected by the beneficiary bank: no such account (DECLINED)
000111111113           rejected by the beneficiary bank: account closed (DECLINED)
=====================  ====================================================================

Amounts: 13.13 is declined (the sending bank's risk check).
"""
import datetime as dt
import logging
from decimal import Decimal
from pathlib import Path

from linx_core import clock, hookimpl
from linx_core.payments import RailError, RailStatus, Solution
from linx_core.sandbox import Ledger, iso, parse_time, pause_before_answer, transfer_fingerprint

from .sandbox import eastern, eastern_date, is_banking_day, next_banking_day, settling

log = logging.getLogger("linx.rails.wire")

NAME = "wire"
OPENS = (9, 0)
CUTOFF = (18, 0)
SETTLE_MINUTES = 10
DESCRIPTION_MAX = 100
MEMO_MAX = 140
REJECTS = {"000111111116": "The beneficiary bank has no such account.",
           "000111111113": "The beneficiary's account is closed."}
DECLINED_AMOUNT = Decimal("13.13")
ADDRESS_FIELDS = ("street", "city", "postalCode")

def release_time(now):
    """When a wire submitted at ``now`` leaves: now within business hours, else the next opening."""
    day = eastern_date(now)
    if is_banking_day(day):
        if now < eastern(day, *OPENS):
            return eastern(day, *OPENS)
        if now < eastern(day, *CUTOFF):
            return now
    return eastern(next_banking_day(day), *OPENS)


class WireSandbox(Solution):
    name = NAME
    display_name = "Wire"
    description = "Same-day wire transfer to a bank account; needs the holder's address and a description."
    transaction_types = ("SEND",)
    account_kinds = ("BANK",)
    account_subtypes = ("CHECKING", "SAVING")
    priorities = ("SAME_DAY",)
    required_parameters = ("priority", "description")
    optional_parameters = ("memo",)
    limits = {"USD": {"min": "1.00", "max": "10000000.00"}, "CAD": {"min": "1.00", "max": "10000000.00"}}
    billing_address = "required"

    def __init__(self, folder=None):
        self.ledger = Ledger(folder, "wire") if folder else None

    def arrival(self, priority, now, locale="en"):
        """The same business day within the wire room's hours; after the cut-off, the next business day."""
        settle_at = release_time(now) + dt.timedelta(minutes=SETTLE_MINUTES)
        return settling(now, settle_at)

    def can_pay(self, account):
        if account.kind != "BANK":
            return "A wire goes to a bank account: use a checking or savings account."
        if not (account.routing_number and len(account.routing_number) == 9):
            return "A wire needs the account's 9-digit routing number."
        address = account.billing_address or {}
        if not all((address.get(part) or "").strip() for part in ADDRESS_FIELDS):
            return "A wire needs the account holder's address (street, city and postal code)."
        return None

    def submit(self, transfer, idempotency_key):
        if self.ledger is None:
            raise RailError("NOT_CONFIGURED", "This wire rail was built without a folder.", permanent=True)
        if transfer.type != "SEND":
            raise RailError("UNSUPPORTED_TYPE", "A wire only sends money.", permanent=True)
        if transfer.priority not in (None, "SAME_DAY"):
            raise RailError("UNSUPPORTED_PRIORITY", "A wire is always SAME_DAY.", permanent=True)
        description = (transfer.description or "").strip()
        if not description or len(description) > DESCRIPTION_MAX:
            raise RailError("DESCRIPTION_REQUIRED", f"A wire needs a description of 1 to {DESCRIPTION_MAX} characters.",
                            permanent=True)
        if transfer.memo and len(transfer.memo) > MEMO_MAX:
            raise RailError("MEMO_TOO_LONG", f"A wire's memo has at most {MEMO_MAX} characters.", permanent=True)
        refusal = self.can_pay(transfer.account)
        if refusal:
            raise RailError("ACCOUNT_NOT_ELIGIBLE", refusal, permanent=True)
        account = transfer.account
        fingerprint = transfer_fingerprint(transfer, account.routing_number + account.number[-4:])
        now = clock.now()

        def make(reference):
            reject = REJECTS.get(account.number)
            if transfer.amount == DECLINED_AMOUNT:
                reject = "Refused by the sending bank's risk check (test amount 13.13)."
            released = release_time(now)
            return {"fingerprint": fingerprint, "type": transfer.type, "amount": str(transfer.amount),
                    "currency": transfer.currency, "last4": account.number[-4:], "description": description,
                    "memo": transfer.memo, "submittedAt": iso(now), "reject": reject,
                    "releaseAt": iso(released),
                    "settleAt": iso(released + dt.timedelta(minutes=SETTLE_MINUTES))}

        data, created = self.ledger.record(idempotency_key, make)
        if not created and data["fingerprint"] != fingerprint:
            raise RailError("IDEMPOTENCY_KEY_REUSED", "This idempotency key was used for another transfer.",
                            permanent=True)
        if created:
            log.info("wire %s: %s %s %s", data["reference"], "rejected" if data["reject"] else "accepted",
                     data["amount"], data["currency"])
            pause_before_answer()
        return self._status(data)

    def status(self, reference):
        if self.ledger is None:
            raise RailError("NOT_CONFIGURED", "This wire rail was built without a folder.", permanent=True)
        data = self.ledger.get(reference)
        if data is None:
            raise RailError("UNKNOWN_REFERENCE", f"No wire {reference}.", permanent=True)
        return self._status(data)

    def cancel(self, reference):
        raise RailError("CANCEL_UNSUPPORTED", "A wire is irrevocable once accepted: it cannot be cancelled.",
                        permanent=True)

    def _status(self, data):
        reference = data["reference"]
        if data["reject"]:
            return RailStatus("DECLINED", reference, f"Rejected: {data['reject']}")
        now = clock.now()
        release_at, settle_at = parse_time(data["releaseAt"]), parse_time(data["settleAt"])
        if now >= settle_at:
            return RailStatus("SETTLED", reference, "Settled: funds credited to the beneficiary's account.")
        if now >= release_at:
            return RailStatus("APPROVED", reference, "Released to Fedwire.", check_at=settle_at)
        return RailStatus("PROCESSING", reference, "Waiting for the wire room to open.", check_at=release_at)


def for_runtime(rt):
    if rt is None:  # rules only (``load_rules``): no transfer is ever made with it
        return WireSandbox()
    return WireSandbox(Path(rt.settings.instance_path) / "rails" / NAME)


@hookimpl
def linx_solutions(rt):
    return [for_runtime(rt)]
