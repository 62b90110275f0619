"""Push to card: a SEND to a Visa, Mastercard or Discover debit or prepaid card, settled in seconds.

A sandbox rail that behaves like the card networks' push-payment services (Visa Direct, Mastercard
Send): the answer is immediate (approved or declined), the funds settle a few seconds later, and a
push payment cannot be cancelled. Credit cards are refused before anything is sent (``can_pay``):
the sandbox knows the funding type of the well-known test card numbers below, and trusts the
customer's choice (debit or prepaid) for any other number.

Test values (the customer's card):

=====================  ====================================================================
Card number            Outcome
=====================  ====================================================================
4000056655665556       Visa debit: approved, settled 5 seconds later
5200828282828210       Mastercard debit: approved, settled
5105105105105100       Mastercard prepaid: approved, settled
4111111111111111       Visa credit: refused by ``can_pay`` (credit cards cannot receive push payments)
5555555555554444       Mastercard credit: refused by ``can_pay``
378282246310005        American Express: refused by ``can_pay`` (network does not take push payments)
4000000000000010       Visa debit whose bank does not accept push payments: refused by ``can_pay``
ends in 0002           declined, 05 "Do not honor" (4000000000000002)
ends in 9995           declined, 61 "Exceeds the card's limit for incoming payments" (4000000000009995)
ends in 0119           the network is unavailable on the first attempt (a temporary error), then approved
ends in 0127           a permanent error, INVALID_ACCOUNT: the transaction ends in ERROR
=====================  ====================================================================

Amounts: 13.13 is declined (05 "Do not honor") whatever the card.
"""
import datetime as dt
import logging
from decimal import Decimal
from pathlib import Path

from linx_core import clock, hookimpl
from linx_core.accounts import card_brand
from linx_core.payments import Arrival, RailError, RailStatus, Solution
from linx_core.sandbox import Ledger, iso, parse_time, pause_before_answer, transfer_fingerprint

log = logging.getLogger("linx.rails.push-to-card")

NAME = "push-to-card"
SETTLE_SECONDS = 5
NETWORKS = ("VISA", "MASTERCARD", "DISCOVER")
#: the sandbox's BIN table: the funding type of the card networks' well-known test numbers (any other number's
#: is unknown here: ``linx_card_funding`` answers None, and the customer's choice stands)
FUNDING = {
    "4000056655665556": "DEBIT", "5200828282828210": "DEBIT", "5105105105105100": "PREPAID",
    "4111111111111111": "CREDIT", "5555555555554444": "CREDIT", "4012888888881881": "CREDIT",
    "378282246310005": "CREDIT", "6011111111111117": "CREDIT",
}
PUSH_DISABLED = {"4000000000000010"}
DECLINES_BY_LAST4 = {"0002": ("05", "Do not honor"), "9995": ("61", "Exceeds the card's limit for incoming payments")}
DECLINED_AMOUNT = Decimal("13.13")
UNAVAILABLE_ONCE_LAST4 = "0119"
INVALID_LAST4 = "0127"


class PushToCardSandbox(Solution):
    name = NAME
    display_name = "Push to card"
    description = "Real-time payment to a Visa, Mastercard or Discover debit or prepaid card."
    transaction_types = ("SEND",)
    account_kinds = ("CARD",)
    account_subtypes = ("DEBIT", "PREPAID")
    priorities = ("IMMEDIATE",)
    optional_parameters = ("priority",)
    limits = {"USD": {"min": "0.01", "max": "25000.00"}, "CAD": {"min": "0.01", "max": "25000.00"}}

    def __init__(self, folder=None):
        self.ledger = Ledger(folder, "ptc") if folder else None

    def arrival(self, priority, now, locale="en"):
        """Approved at once, settled seconds later, at any hour: within minutes."""
        return Arrival("minutes", by=now + dt.timedelta(seconds=SETTLE_SECONDS))

    def can_pay(self, account):
        if account.kind != "CARD":
            return "Push to card pays cards only: use a debit or prepaid card."
        brand = account.brand or card_brand(account.number)
        if brand not in NETWORKS:
            return "This card's network does not take push payments: use a Visa, Mastercard or Discover debit card."
        funding = FUNDING.get(account.number, account.subtype)
        if account.subtype == "CREDIT" or funding == "CREDIT":
            return "This is a credit card, and push payments reach debit and prepaid cards only: use a debit card."
        if account.number in PUSH_DISABLED:
            return "This card's bank does not accept push payments: use another debit card."
        return None

    def submit(self, transfer, idempotency_key):
        self._require_ledger()
        if transfer.type != "SEND":
            raise RailError("UNSUPPORTED_TYPE", "Push to card only sends money to a card.", permanent=True)
        if transfer.priority not in (None, "IMMEDIATE"):
            raise RailError("UNSUPPORTED_PRIORITY", "Push to card is always IMMEDIATE.", permanent=True)
        refusal = self.can_pay(transfer.account)
        if refusal:
            raise RailError("CARD_NOT_ELIGIBLE", refusal, permanent=True)
        last4 = transfer.account.number[-4:]
        if last4 == INVALID_LAST4:
            raise RailError("INVALID_ACCOUNT", "The card network does not know this card.", permanent=True)
        if last4 == UNAVAILABLE_ONCE_LAST4 and self.ledger.first_time(f"unavailable:{idempotency_key}"):
            raise RailError("NETWORK_UNAVAILABLE", "The card network did not answer; try again.", retry_after=1)
        fingerprint = transfer_fingerprint(transfer, last4)
        now = clock.now()

        def make(reference):
            code, reason = DECLINES_BY_LAST4.get(last4, (None, None))
            if transfer.amount == DECLINED_AMOUNT:
                code, reason = "05", "Do not honor"
            return {"fingerprint": fingerprint, "type": transfer.type, "amount": str(transfer.amount),
                    "currency": transfer.currency, "last4": last4,
                    "brand": transfer.account.brand or card_brand(transfer.account.number),
                    "submittedAt": iso(now), "declineCode": code, "declineReason": reason,
                    "settleAt": None if code else iso(now + dt.timedelta(seconds=SETTLE_SECONDS))}

        data, created = self.ledger.record(idempotency_key, make)
        if not created and data["fingerprint"] != fingerprint:
            raise RailError("IDEMPOTENCY_KEY_REUSED", "This idempotency key was used for another transfer.",
                            permanent=True)
        if created:
            log.info("push-to-card %s: %s %s to card ending %s", data["reference"],
                     "declined" if data["declineCode"] else "approved", data["amount"], last4)
            pause_before_answer()
        return self._status(data)

    def status(self, reference):
        self._require_ledger()
        data = self.ledger.get(reference)
        if data is None:
            raise RailError("UNKNOWN_REFERENCE", f"No push payment {reference}.", permanent=True)
        return self._status(data)

    def cancel(self, reference):
        raise RailError("CANCEL_UNSUPPORTED", "A push payment is final once approved: it cannot be cancelled.",
                        permanent=True)

    def _status(self, data):
        reference = data["reference"]
        if data["declineCode"]:
            return RailStatus("DECLINED", reference, f"Declined by the card's bank: {data['declineCode']} "
                                                     f"{data['declineReason']}.")
        settle_at = parse_time(data["settleAt"])
        if clock.now() >= settle_at:
            return RailStatus("SETTLED", reference, "Funds are available on the card.")
        return RailStatus("APPROVED", reference, "Approved by the card network.", check_at=settle_at)

    def _require_ledger(self):
        if self.ledger is None:
            raise RailError("NOT_CONFIGURED", "This push-to-card rail was built without a folder.", permanent=True)


def for_runtime(rt):
    if rt is None:  # rules only (``load_rules``): no transfer is ever made with it
        return PushToCardSandbox()
    return PushToCardSandbox(Path(rt.settings.instance_path) / "rails" / NAME)


@hookimpl
def linx_solutions(rt):
    return [for_runtime(rt)]


@hookimpl
def linx_card_funding(number):
    """The funding type of a card network's test number (the sandbox's BIN table), else None."""
    return FUNDING.get(number)
