"""What a payment solution (a rail) receives and answers (see ``linx_solutions`` in hookspecs).

A solution moves money for a :class:`Transfer`. The transaction's id is the
idempotency key of every submit: submitting the same transfer twice must not
move money twice. Statuses a rail reports are transaction statuses (see
``linx_core.lifecycle.TRANSACTION``); LinX moves the transaction through them.
"""
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Optional

from .errors import ProviderError


@dataclass(frozen=True)
class AccountDetails:
    """The customer's account, opened from the vault only to be handed to the rail."""

    kind: str  # CARD | BANK
    subtype: str
    number: str = field(repr=False)
    holder_name: str = ""
    brand: Optional[str] = None
    expiry: Optional[str] = None  # yyyy-MM
    routing_number: Optional[str] = None
    billing_address: Optional[dict] = None
    last4: str = ""


@dataclass(frozen=True)
class Transfer:
    id: str
    type: str  # SEND | REQUEST
    amount: Decimal
    currency: str
    account: AccountDetails
    business_account_id: str
    priority: Optional[str] = None
    description: Optional[str] = None
    memo: Optional[str] = None
    payment_reason: Optional[str] = None


@dataclass(frozen=True)
class RailStatus:
    """Where a transfer stands at the rail. ``check_at``: when to ask again (None: final or callback)."""

    status: str
    reference: Optional[str] = None
    message: str = ""
    return_code: Optional[str] = None
    check_at: Optional[object] = None


class RailError(ProviderError):
    """A call to the rail that did not work. Temporary errors are retried; permanent ones end in ERROR."""


class Solution:
    """The contract of a payment solution. Subclass it or provide the same attributes.

    ``name``, ``transaction_types``, ``account_kinds`` (CARD, BANK) and ``priorities`` describe
    it; ``rule_fragment()`` returns its entry for the rules' ``solutions`` section (transaction
    types, subtypes, priorities, parameters, limits), so an integrator's rail brings its own rules.
    """

    name = ""
    transaction_types = ()
    account_kinds = ()
    priorities = ()

    def rule_fragment(self):
        raise NotImplementedError

    def can_pay(self, account):
        """None if the rail can move money with ``account`` (AccountDetails), else the reason it cannot."""
        return None

    def submit(self, transfer, idempotency_key):
        """Submit ``transfer``; the same key twice is the same transfer. Returns a RailStatus."""
        raise NotImplementedError

    def status(self, reference):
        """Poll the transfer ``reference``. Returns a RailStatus."""
        raise NotImplementedError

    def cancel(self, reference):
        """Cancel where the rail allows it; raise RailError(permanent=True) where it does not."""
        raise RailError("CANCEL_UNSUPPORTED", f"{self.name} transfers cannot be cancelled", permanent=True)
