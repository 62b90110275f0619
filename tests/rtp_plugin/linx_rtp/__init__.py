"""A third-party LinX payment solution, written as an integrator would write one: ``rtp``.

A sandbox of a Real-Time Payments rail (instant credit transfers between US bank accounts, final
and irrevocable). It brings its own rule fragment, so once this distribution is installed the rules
accept ``"solution": "rtp"``; nothing in LinX itself names it.

- SEND: a credit transfer to the customer's checking or savings account, settled at once.
- REQUEST: a request for payment; the customer's bank pays it (CLEARED) 30 seconds later.
- Priority IMMEDIATE; amounts from 0.01 to 10,000,000.00 USD.
- Cannot be cancelled (a real-time payment is final).

Test values: an account number ending in 0000 is rejected (DECLINED, ISO 20022 reason AC04
"closed account"); an amount of 13.13 is rejected (AM04 "insufficient funds" for a REQUEST,
AG01 "transaction forbidden" for a SEND).

Transfers are kept in ``<instance>/rails/rtp/transfers.json`` (a file lock guards it), keyed by
idempotency key, so a second submit with one key returns the first transfer.
"""
import copy
import datetime as dt
import fcntl
import json
import os
import uuid
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

from linx_core import clock, hookimpl
from linx_core.payments import RailError, RailStatus, Solution

REQUEST_CLEARS_AFTER = dt.timedelta(seconds=30)

FRAGMENT = {
    "displayName": "Real-time payments",
    "description": "Instant, final credit transfers (RTP) to and requests for payment from US bank accounts.",
    "transactionTypes": ["SEND", "REQUEST"],
    "financialAccountSubTypes": ["CHECKING", "SAVING"],
    "priorities": ["IMMEDIATE"],
    "parameters": {"optional": ["priority"]},
    "limits": {"USD": {"min": "0.01", "max": "10000000.00"}},
}


class RtpSandbox(Solution):
    name = "rtp"
    transaction_types = ("SEND", "REQUEST")
    account_kinds = ("BANK",)
    priorities = ("IMMEDIATE",)

    def __init__(self, folder=None):
        self.folder = Path(folder) if folder else None

    def rule_fragment(self):
        return copy.deepcopy(FRAGMENT)

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
        with self._store() as transfers:
            if idempotency_key in transfers:
                record = transfers[idempotency_key]
                if record["amount"] != str(transfer.amount) or record["type"] != transfer.type:
                    raise RailError("DUPLICATE_KEY", "This idempotency key was used for another transfer.",
                                    permanent=True)
                return self._status(record)
            now = clock.now()
            reject = None
            if transfer.account.number.endswith("0000"):
                reject = "AC04 closed account"
            elif transfer.amount == Decimal("13.13"):
                reject = "AM04 insufficient funds" if transfer.type == "REQUEST" else "AG01 transaction forbidden"
            record = {"reference": f"rtp_{uuid.uuid4().hex}", "type": transfer.type, "amount": str(transfer.amount),
                      "last4": transfer.account.number[-4:], "at": now.isoformat(), "reject": reject,
                      "clearAt": (now + REQUEST_CLEARS_AFTER).isoformat(), "cancelled": False}
            transfers[idempotency_key] = record
        return self._status(record)

    def status(self, reference):
        with self._store() as transfers:
            for record in transfers.values():
                if record["reference"] == reference:
                    return self._status(record)
        raise RailError("UNKNOWN_REFERENCE", f"No RTP payment {reference}.", permanent=True)

    def cancel(self, reference):
        raise RailError("CANCEL_UNSUPPORTED", "A real-time payment is final: it cannot be cancelled.", permanent=True)

    def transfers(self):
        with self._store() as transfers:
            return list(transfers.values())

    def _status(self, record):
        reference = record["reference"]
        if record["reject"]:
            return RailStatus("DECLINED", reference, f"Rejected by the receiving bank: {record['reject']}.")
        if record["type"] == "SEND":
            return RailStatus("SETTLED", reference, "Paid in real time.")
        clear_at = dt.datetime.fromisoformat(record["clearAt"])
        if clock.now() >= clear_at:
            return RailStatus("CLEARED", reference, "The customer's bank paid the request.")
        return RailStatus("APPROVED", reference, "Request for payment sent to the customer's bank.",
                          check_at=clear_at)

    @contextmanager
    def _store(self):
        if self.folder is None:
            raise RailError("NOT_CONFIGURED", "This RTP rail was built without a folder.", permanent=True)
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / "transfers.json"
        with open(self.folder / "transfers.lock", "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            transfers = json.loads(path.read_text()) if path.exists() else {}
            before = json.dumps(transfers, sort_keys=True)
            yield transfers
            if json.dumps(transfers, sort_keys=True) != before:
                tmp = path.with_suffix(".tmp")
                tmp.write_text(json.dumps(transfers))
                os.replace(tmp, path)


@hookimpl
def linx_solutions(rt):
    folder = Path(rt.settings.instance_path) / "rails" / "rtp" if rt is not None else None
    return [RtpSandbox(folder)]
