"""What a payment solution (a rail) receives and answers (see ``linx_solutions`` in hookspecs).

A solution moves money for a :class:`Transfer`. The transaction's id is the
idempotency key of every submit: submitting the same transfer twice must not
move money twice. Statuses a rail reports are transaction statuses (see
``linx_core.lifecycle.TRANSACTION``); LinX moves the transaction through them.
"""
import copy
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .errors import ProviderError


@dataclass(frozen=True)
class AccountDetails:
    """The customer's account, opened from the vault only to be handed to the rail."""

    kind: str  # CARD | BANK
    subtype: str
    number: str = field(repr=False)
    holder_name: str = ""
    brand: str | None = None
    expiry: str | None = None  # yyyy-MM
    routing_number: str | None = None
    billing_address: dict | None = None
    last4: str = ""


@dataclass(frozen=True)
class Transfer:
    id: str
    type: str  # SEND | REQUEST
    amount: Decimal
    currency: str
    account: AccountDetails
    business_account_id: str
    priority: str | None = None
    description: str | None = None
    memo: str | None = None
    payment_reason: str | None = None


@dataclass(frozen=True)
class RailStatus:
    """Where a transfer stands at the rail. ``check_at``: when to ask again (None: final or callback);
    ``settle_at``: when the rail will settle it, once it knows (an ACH entry's window, picked at submit): the
    transaction keeps it, and the customer's done page shows it rather than a promise made before."""

    status: str
    reference: str | None = None
    message: str = ""
    return_code: str | None = None
    check_at: dt.datetime | None = None
    settle_at: dt.datetime | None = None


class RailError(ProviderError):
    """A call to the rail that did not work. Temporary errors are retried; permanent ones end in ERROR."""


@dataclass(frozen=True)
class Arrival:
    """When the money arrives (a SEND) or leaves the customer's account (a REQUEST), as promised before confirming.

    ``kind`` is one of :data:`ARRIVAL_KINDS`; the Gateway words it in the customer's language (its
    catalogs hold each kind's :attr:`phrase`), so a rail never needs words of its own. ``by``, when the
    rail knows it, is the latest moment it promises (an aware datetime): a page may show it as a date.
    """

    kind: str
    by: dt.datetime | None = None

    def __post_init__(self) -> None:
        if self.kind not in ARRIVAL_KINDS:
            raise ValueError(f"an arrival is one of {', '.join(ARRIVAL_KINDS)}, not {self.kind!r}")
        if self.by is not None and self.by.tzinfo is None:
            raise ValueError("an arrival's `by` is an aware datetime")

    @property
    def phrase(self) -> str:
        """The English words for the kind ("within minutes"...), the message id the Gateway translates."""
        return ARRIVAL_KINDS[self.kind]


ARRIVAL_KINDS = {  # kind -> the English phrase, completing "Expected arrival: ..."
    "minutes": "within minutes",
    "same-business-day": "the same business day",
    "next-business-day": "the next business day",
    "business-days": "in a few business days",
}


class Solution:
    """The contract of a payment solution. Subclass it or provide the same attributes.

    A solution declares what it can do once, as class attributes, and the rest is derived from
    them: ``name``; ``display_name`` and ``description`` (the rules' words for it);
    ``transaction_types`` (SEND, REQUEST); ``account_kinds`` (CARD, BANK: what ``can_pay`` takes)
    and ``account_subtypes`` (the rules' financial account subtypes: DEBIT, CHECKING...);
    ``priorities``; ``required_parameters`` and ``optional_parameters`` (the move-money parameters
    it needs or allows: priority, description, memo); ``limits`` (``{currency: {"min": "0.01",
    "max": "25000.00"}}``); ``billing_address`` ("required", "optional" or "none").
    ``rule_fragment()`` builds the solution's entry for the rules' ``solutions`` section from them,
    so an integrator's rail brings its own rules and cannot contradict them.
    """

    name = ""
    display_name = ""
    description = ""
    transaction_types: Sequence[str] = ()
    account_kinds: Sequence[str] = ()
    account_subtypes: Sequence[str] = ()
    priorities: Sequence[str] = ()
    required_parameters: Sequence[str] = ()
    optional_parameters: Sequence[str] = ()
    limits: Mapping[str, Mapping[str, str]] = {}
    billing_address = "none"

    def rule_fragment(self) -> dict[str, Any]:
        """The solution's entry in the rules' ``solutions`` section, from its declared capabilities.

        A fresh mapping on each call: the caller may change it.
        """
        fragment: dict[str, Any] = {
            "displayName": self.display_name or self.name,
            "description": self.description,
            "transactionTypes": list(self.transaction_types),
            "financialAccountSubTypes": list(self.account_subtypes),
            "priorities": list(self.priorities),
            "parameters": {"required": list(self.required_parameters),
                           "optional": list(self.optional_parameters)},
            "limits": copy.deepcopy(dict(self.limits)),
        }
        if self.billing_address != "none":
            fragment["billingAddress"] = self.billing_address
        return fragment

    def arrival(self, priority: str | None, now: dt.datetime, locale: str = "en") -> Arrival:
        """When a transfer confirmed at ``now`` (an aware datetime) with ``priority`` arrives: an :class:`Arrival`.

        ``priority`` is one of ``priorities`` or None (the workflow named none). ``locale`` is the
        customer's (``en``, ``fr-CA``), for a rail whose promise differs by region; the Gateway words
        the answer itself. A rail with cut-offs answers from them (an ACH entry after the day's last
        same-day cut-off settles the next business day). This default promises nothing precise.
        """
        return Arrival("business-days")

    def can_pay(self, account: AccountDetails) -> str | None:
        """None if the rail can move money with ``account`` (AccountDetails), else the reason it cannot."""
        return None

    def submit(self, transfer: Transfer, idempotency_key: str) -> RailStatus:
        """Submit ``transfer``; the same key twice is the same transfer. Returns a RailStatus."""
        raise NotImplementedError

    def status(self, reference: str) -> RailStatus:
        """Poll the transfer ``reference``. Returns a RailStatus."""
        raise NotImplementedError

    def cancel(self, reference: str) -> RailStatus | None:
        """Cancel where the rail allows it; raise RailError(permanent=True) where it does not."""
        raise RailError("CANCEL_UNSUPPORTED", f"{self.name} transfers cannot be cancelled", permanent=True)
