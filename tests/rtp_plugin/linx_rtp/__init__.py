"""A third-party LinX payment solution, written as an integrator would write one: ``rtp``.

A sandbox of a Real-Time Payments rail (instant credit transfers between US bank accounts, final
and irrevocable). It declares what it can do, and LinX derives its rule fragment from that, so once
this distribution is installed the rules accept ``"solution": "rtp"``; nothing in LinX itself names it.

- SEND: a credit transfer to the customer's checking or savings account, settled at once.
- REQUEST: a request for payment; the customer's bank pays it (CLEARED) 30 seconds later.
- Priority IMMEDIATE; amounts from 0.01 to 10,000,000.00 USD; the customer is promised "within minutes".
- Cannot be cancelled (a real-time payment is final).

Test values: an account number ending in 0000 is rejected (DECLINED, ISO 20022 reason AC04
"closed account"); an amount of 13.13 is rejected (AM04 "insufficient funds" for a REQUEST,
AG01 "transaction forbidden" for a SEND).

Transfers are kept in LinX's sandbox ledger (``linx_core.sandbox.Ledger``) under
``<instance>/rails/rtp/``, keyed by idempotency key, so a second submit with one key returns the first.
"""
import datetime as dt
from decimal import Decimal
from pathlib import Path

from linx_core import clock, hookimpl
from linx_core.payments import Arrival, RailError, RailStatus, Solution
from linx_core.sandbox import Ledger, iso, parse_time, transfer_fingerprint

REQUEST_CLEARS_AFTER = dt.timedelta(seconds=30)


class RtpSandbox(Solution):
    name = "rtp"
    display_name = "Real-time payments"
    description = "Instant, final credit transfers (RTP) to and requests for payment from US bank accounts."
    transaction_types = ("SEND", "REQUEST")
    account_kinds = ("BANK",)
    account_subtypes = ("CHECKING", "SAVING")
    priorities = ("IMMEDIATE",)
    optional_parameters = ("priority",)
    limits = {"USD": {"min": "0.01", "max": "10000000.00"}}

    def __init__(self, folder=None):
        self.ledger = Ledger(folder, "rtp") if folder else None

    def arrival(self, priority, now, locale="en"):
        return Arrival("minutes", by=now + REQUEST_CLEARS_AFTER)

    def can_pay(self, account):
        if account.kind != "BANK":
            return "Real-time payments reach bank accounts only: use a checking or savings account."
        if not account.routing_number:
            return "Real-time payments need the account's routing number."
        return None

    def submit(self, transfer, idempotency_key):
        if transfer.type not in self.transaction_types:
            raise RailError("UNSUPPORTED_TYPE", f"RTP does not do {transfer.type}.", permanent=True)
        if transfer.currency != "USD":
            raise RailError("UNSUPPORTED_CURRENCY", "RTP moves US dollars only.", permanent=True)
        refusal = self.can_pay(transfer.account)
        if refusal:
            raise RailError("ACCOUNT_NOT_ELIGIBLE", refusal, permanent=True)
        fingerprint = transfer_fingerprint(transfer, transfer.account.number[-4:])
        now = clock.now()

        def make(reference):
            reject = None
            if transfer.account.number.endswith("0000"):
                reject = "AC04 closed account"
            elif transfer.amount == Decimal("13.13"):
                reject = "AM04 insufficient funds" if transfer.type == "REQUEST" else "AG01 transaction forbidden"
            return {"fingerprint": fingerprint, "type": transfer.type, "amount": str(transfer.amount),
                    "reject": reject, "clearAt": iso(now + REQUEST_CLEARS_AFTER)}

        record, _ = self._ledger().record(idempotency_key, make)
        if record["fingerprint"] != fingerprint:
            raise RailError("DUPLICATE_KEY", "This idempotency key was used for another transfer.", permanent=True)
        return self._status(record)

    def status(self, reference):
        record = self._ledger().get(reference)
        if record is None:
            raise RailError("UNKNOWN_REFERENCE", f"No RTP payment {reference}.", permanent=True)
        return self._status(record)

    def cancel(self, reference):
        raise RailError("CANCEL_UNSUPPORTED", "A real-time payment is final: it cannot be cancelled.", permanent=True)

    def _status(self, record):
        reference = record["reference"]
        if record["reject"]:
            return RailStatus("DECLINED", reference, f"Rejected by the receiving bank: {record['reject']}.")
        if record["type"] == "SEND":
            return RailStatus("SETTLED", reference, "Paid in real time.")
        clear_at = parse_time(record["clearAt"])
        if clock.now() >= clear_at:
            return RailStatus("CLEARED", reference, "The customer's bank paid the request.")
        return RailStatus("APPROVED", reference, "Request for payment sent to the customer's bank.",
                          check_at=clear_at)

    def _ledger(self):
        if self.ledger is None:
            raise RailError("NOT_CONFIGURED", "This RTP rail was built without a folder.", permanent=True)
        return self.ledger


@hookimpl
def linx_solutions(rt):
    folder = Path(rt.settings.instance_path) / "rails" / "rtp" if rt is not None else None
    return [RtpSandbox(folder)]
