"""The Gateway's words: the customer's language, translation, and how money, accounts and payments read.

Step kinds reach these through their :class:`~linx_core.steps.StepView` (``view._``, ``view.words``):
a kind with catalogs of its own (``translations_dir``) is translated from them, the Gateway's own
words from the Gateway's catalog.
"""
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from flask import current_app, g, request, url_for

from linx_core import clock
from linx_core.payments import ARRIVAL_KINDS, Arrival
from linx_core.services.notifications import format_amount

from .. import gateway_i18n as i18n
from ..gateway_i18n import HTML_LANG

#: a transaction's status as the customer reads it
TX_WORDS = {
    "NEW": "Processing", "PENDING": "Processing", "PROCESSING": "Processing", "APPROVED": "Processing",
    "SETTLED": "Funds sent", "CLEARED": "Funds received", "DECLINED": "The payment did not go through",
    "ERROR": "The payment did not go through", "CANCELLED": "The payment was cancelled",
    "REVERSED": "The payment was reversed",
}
#: the rails' promises (``Solution.arrival``), each kind in English: the message ids translated
ARRIVAL = ARRIVAL_KINDS


def rt():
    return current_app.extensions["linx"]


def lang():
    """``en`` or ``fr``, from the request's ``Accept-Language`` (once per request)."""
    if "lang" not in g:
        g.lang = i18n.pick(request.accept_languages)
    return g.lang


def _(msgid, **values):
    """``msgid`` in the customer's language, with ``values`` put in its ``{placeholders}``."""
    return i18n.gettext(lang(), msgid, **values)


@lru_cache(maxsize=64)
def _catalog(directory, domain, locale):
    """A kind's translations for ``locale``: ``{msgid: text}`` from its ``.po`` file (or ``{}``)."""
    from babel.messages.pofile import read_po

    for name in (locale, locale.split("_")[0]):
        path = Path(directory) / name / "LC_MESSAGES" / f"{domain}.po"
        if path.is_file():
            with path.open("rb") as handle:
                catalog = read_po(handle)
            return {m.id: m.string for m in catalog if m.id and m.string and not m.fuzzy}
    return {}


def translator(kind):
    """The ``_`` of a step kind: its own catalog when it brings one, else the Gateway's."""
    if kind is None or kind.translations_dir is None:
        return _

    def translate(msgid, **values):
        text = msgid
        if lang() == "fr":
            text = _catalog(str(kind.translations_dir), kind.translation_domain, "fr_CA").get(msgid) or msgid
        return text.format(**values) if values else text

    return translate


class Words:
    """The Gateway's shared formatting, for the pages and the step kinds (``view.words``)."""

    @staticmethod
    def money(workflow):
        params = workflow.parameters or {}
        amount = workflow.amount if workflow.amount is not None else Decimal(str(params.get("amount", "0")))
        currency = workflow.currency or params.get("currency") or "USD"
        return i18n.format_money(lang(), format_amount(rt(), amount, currency), currency)

    @staticmethod
    def account(account):
        return i18n.account_words(lang(), account.brand, account.subtype, account.last4)

    @staticmethod
    def subtype(subtype):
        return i18n.subtype_words(lang(), subtype)

    @staticmethod
    def subtype_title(subtype):
        return i18n.subtype_title(lang(), subtype)

    @staticmethod
    def country(code):
        return i18n.country(lang(), code)

    @staticmethod
    def phone(number):
        return i18n.format_phone(number)

    @staticmethod
    def label(text):
        """A label from the rule files, translated when the catalog knows it."""
        return i18n.gettext(lang(), text)

    @staticmethod
    def document_url(workflow, document_id):
        """Where the customer reads a document's full text."""
        return url_for("gateway.document", workflow_id=str(workflow.id), document_id=document_id)

    @staticmethod
    def arrival(workflow, at=None):
        """When the money arrives (or leaves), as the workflow's rail promises it for a confirmation ``at``
        (now, unless the transaction was confirmed already: its time)."""
        params = workflow.parameters or {}
        solution = rt().solution(params.get("solution"))
        promise = solution.arrival(params.get("priority"), at or clock.now(), HTML_LANG[lang()]) \
            if solution is not None else Arrival("business-days")
        when = _(promise.phrase)
        if params.get("transactionType") == "REQUEST":
            return _("Expected withdrawal: {when}.", when=when)
        return _("Expected arrival: {when}.", when=when)

    @classmethod
    def move_sentence(cls, workflow, account, business):
        """What the payment does, in one sentence for the customer."""
        params = workflow.parameters or {}
        money = cls.money(workflow)
        where = cls.account(account) if account else _("account")
        if params.get("transactionType") == "REQUEST":
            return _("{business} will collect {money} from your {account}", business=business.display_name,
                     money=money, account=where)
        if account is not None and account.type == "CARD":
            return _("You will receive {money} on your {account}", money=money, account=where)
        return _("You will receive {money} in your {account}", money=money, account=where)


words = Words()
