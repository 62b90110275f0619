"""The Gateway's words: the customer's language, translation, and how money, accounts and payments read.

Step kinds reach these through their :class:`~linx_core.steps.StepView` (``view._``, ``view.words``):
a kind with catalogs of its own (``translations_dir``) is translated from them, the Gateway's own
words from the Gateway's catalog (:mod:`gateway_app.i18n`, gettext through Flask-Babel).
"""
from decimal import Decimal

from flask import current_app, url_for

from linx_core import clock, localtime
from linx_core.payments import Arrival
from linx_core.services import journey
from linx_core.services.transactions import FAILED

from .. import i18n
from ..i18n import N_
from ..i18n import gettext as _

#: a transaction's status as the customer reads it
TX_WORDS = {
    "NEW": N_("Processing"), "PENDING": N_("Processing"), "PROCESSING": N_("Processing"), "APPROVED": N_("Processing"),
    "SETTLED": N_("Funds sent"), "CLEARED": N_("Funds received"), "DECLINED": N_("The payment did not go through"),
    "ERROR": N_("The payment did not go through"), "CANCELLED": N_("The payment was cancelled"),
    "REVERSED": N_("The payment was reversed"),
}
#: the rails' promises (``Solution.arrival``) as the customer reads them: written out here, so that the
#: catalogs hold them (a test checks that these are exactly ``ARRIVAL_KINDS``)
ARRIVAL = {
    "minutes": N_("within minutes"),
    "same-business-day": N_("the same business day"),
    "next-business-day": N_("the next business day"),
    "business-days": N_("in a few business days"),
}
#: what a collection does, by where it stands
COLLECT = {
    "failed": N_("{business} did not collect {money} from your {account}"),
    "reversed": N_("The payment of {money} from your {account} was reversed"),
    "done": N_("{business} collected {money} from your {account}"),
    "ahead": N_("{business} will collect {money} from your {account}"),
}
#: what a payment to the customer does, by where it stands: (on a card, in an account)
RECEIVE = {
    "failed": (N_("You did not receive {money} on your {account}"),
               N_("You did not receive {money} in your {account}")),
    "reversed": (N_("The payment of {money} to your {account} was reversed"),) * 2,
    "done": (N_("You received {money} on your {account}"), N_("You received {money} in your {account}")),
    "ahead": (N_("You will receive {money} on your {account}"), N_("You will receive {money} in your {account}")),
}


def rt():
    return current_app.extensions["linx"]


def lang():
    """``en`` or ``fr``: the request's language (for a step kind's ``view.lang`` and documents' files)."""
    return i18n.language()


def translator(kind):
    """The ``_`` of a step kind: its own catalog when it brings one (the Gateway's for the rest), else the
    Gateway's."""
    if kind is None or kind.translations_dir is None:
        return _
    return i18n.catalog_gettext(kind.translations_dir, kind.translation_domain)


class Words:
    """The Gateway's shared formatting, for the pages and the step kinds (``view.words``)."""

    @staticmethod
    def money(workflow):
        params = workflow.parameters or {}
        amount = workflow.amount if workflow.amount is not None else Decimal(str(params.get("amount", "0")))
        currency = workflow.currency or params.get("currency") or "USD"
        return i18n.format_money(amount, currency, places=rt().rules.decimals(currency))

    @staticmethod
    def account(account):
        return i18n.account_words(account.brand, account.subtype, account.last4)

    @staticmethod
    def subtype(subtype):
        return i18n.subtype_words(subtype)

    @staticmethod
    def subtype_title(subtype):
        return i18n.subtype_title(subtype)

    @staticmethod
    def country(code):
        return i18n.country(code)

    @staticmethod
    def phone(number):
        return i18n.format_phone(number)

    @staticmethod
    def label(text):
        """A label from the rule files, translated when the catalog knows it."""
        return _(text)

    @staticmethod
    def document_url(workflow, document_id):
        """Where the customer reads a document's full text."""
        return url_for("gateway.document", workflow_id=str(workflow.id), document_id=document_id)

    @staticmethod
    def time(workflow, moment, business=None):
        """``moment`` as the workflow's customer reads it: in their zone (:mod:`linx_core.localtime`: the phone
        number's, else the business's, which is the workflow's own unless given), named."""
        business = business if business is not None else journey.business_of(workflow)
        return i18n.format_datetime(moment, tz=localtime.customer_zone(workflow, business, moment))

    @staticmethod
    def document_text(document_id):
        """A document's full text in the request's language, exactly as its page shows it (None: no such file)."""
        from .documents import document_text  # documents imports this module

        return document_text(document_id)

    @classmethod
    def arrival(cls, workflow, at=None, settle_at=None):
        """When the money arrives (or leaves), as the workflow's rail promises it for a confirmation ``at``
        (now, unless the transaction was confirmed already: its time). The rail counts its own cut-offs (an
        ACH entry after the day's last cut-off goes the next business day); when it names the moment
        (``Arrival.by``), the customer reads that moment instead, in their own time; ``settle_at``: the moment the
        rail recorded (:attr:`~linx_core.payments.RailStatus.settle_at`), which wins over any promise."""
        params = workflow.parameters or {}
        solution = rt().solution(params.get("solution"))
        if settle_at is not None:  # the rail recorded it (its submit picked the window): no promise is needed
            promise = Arrival("business-days", localtime.local(settle_at, localtime.UTC))
        elif solution is not None:
            promise = solution.arrival(params.get("priority"), at or clock.now(), i18n.html_lang())
        else:
            promise = Arrival("business-days")
        if promise.by is not None and promise.kind != "minutes":
            # the moment, in the customer's zone, says it all: the rail's "same/next business day" counts
            # its own days (New York's, for ACH), which are not the customer's everywhere
            when = _("by {time}", time=cls.time(workflow, promise.by))
        else:
            when = _(ARRIVAL[promise.kind])
        if params.get("transactionType") == "REQUEST":
            return _("Expected withdrawal: {when}.", when=when)
        return _("Expected arrival: {when}.", when=when)

    @classmethod
    def move_sentence(cls, workflow, account, business, status=None):
        """What the payment does, in one sentence for the customer, true to where it stands: what will happen
        before it is final (``status`` None or in flight), what happened after (SETTLED, CLEARED), that it did
        not happen (DECLINED, ERROR, CANCELLED), or that it was undone (REVERSED)."""
        stage = "failed" if status in FAILED else "reversed" if status == "REVERSED" else \
            "done" if status in ("SETTLED", "CLEARED") else "ahead"
        if (workflow.parameters or {}).get("transactionType") == "REQUEST":
            text = COLLECT[stage]
        else:
            text = RECEIVE[stage][0 if account is not None and account.type == "CARD" else 1]
        return _(text, business=business.display_name, money=cls.money(workflow),
                 account=cls.account(account) if account else _("account"))


words = Words()
