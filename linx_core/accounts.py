"""Checking what a customer types for a card or a bank account.

Each check returns a list of :class:`~linx_core.errors.Problem`, with the form
field as path, so the Gateway can show each next to its field. A card number
is never put into a message.
"""
import datetime as dt
import re
from typing import Any

from stdnum import luhn
from stdnum.us import rtn

from .errors import Problem

BRANDS = (  # (brand, prefixes as (low, high) over the first digits)
    ("AMEX", ((34, 34), (37, 37))),
    ("VISA", ((4, 4),)),
    ("MASTERCARD", ((51, 55), (2221, 2720))),
    ("DISCOVER", ((6011, 6011), (644, 649), (65, 65))),
)


#: the subtypes a credit card is not, and the problem code for a credit card given as one
NOT_CREDIT = {"DEBIT": "NOT_A_DEBIT_CARD", "PREPAID": "NOT_A_PREPAID_CARD"}


def card_funding(plugins: Any, number: str) -> str | None:
    """DEBIT, PREPAID or CREDIT where a plugin knows the card's funding type (the ``linx_card_funding`` hook: a
    rail's or a BIN table's), else None: unknown, not refused."""
    answer = plugins.hook.linx_card_funding(number=digits(number))
    return answer if answer in ("DEBIT", "PREPAID", "CREDIT") else None


def digits(value: str | None) -> str:
    """The value without spaces and dashes. Only ASCII digits count as digits (``isdigit`` would take
    Arabic-Indic and other digits, which no rail can carry)."""
    return re.sub(r"[\s-]", "", value or "")


ASCII_DIGITS = re.compile(r"[0-9]+")


def card_brand(number: str) -> str | None:
    """VISA, MASTERCARD, AMEX or DISCOVER from the number's first digits, else None."""
    for brand, ranges in BRANDS:
        for low, high in ranges:
            width = len(str(low))
            if len(number) >= width and low <= int(number[:width]) <= high:
                return brand
    return None


def check_card(number: str | None, expiry: str | None,
               today: dt.date) -> tuple[str | None, str | None, list[Problem]]:
    """``(brand, expiry as yyyy-MM, problems)`` for a card number and an MM/YY expiry."""
    problems: list[Problem] = []
    number = digits(number)
    brand = None
    if not number:
        problems.append(Problem("cardNumber", "Enter the card number.", "REQUIRED"))
    elif not ASCII_DIGITS.fullmatch(number) or not 12 <= len(number) <= 19:
        problems.append(Problem("cardNumber", "Enter the 12 to 19 digits of the card number.", "INVALID_CARD_NUMBER"))
    elif not luhn.is_valid(number):
        problems.append(Problem("cardNumber", "This card number is not valid: check the digits.",
                                "INVALID_CARD_NUMBER"))
    else:
        brand = card_brand(number)
    match = re.fullmatch(r"\s*(\d{1,2})\s*/\s*(\d{2}|\d{4})\s*", expiry or "")
    normalized = None
    if not (expiry or "").strip():
        problems.append(Problem("expiry", "Enter the card's expiry (MM/YY).", "REQUIRED"))
    elif not match or not 1 <= int(match.group(1)) <= 12:
        problems.append(Problem("expiry", "Enter the expiry as MM/YY.", "INVALID_EXPIRY"))
    else:
        month, year = int(match.group(1)), int(match.group(2))
        year = year + 2000 if year < 100 else year
        if (year, month) < (today.year, today.month):
            problems.append(Problem("expiry", "This card has expired.", "CARD_EXPIRED"))
        elif year > today.year + 20:
            problems.append(Problem("expiry", "Enter the expiry as MM/YY.", "INVALID_EXPIRY"))
        else:
            normalized = f"{year:04d}-{month:02d}"
    return brand, normalized, problems


def check_bank(routing_number: str | None, account_number: str | None) -> list[Problem]:
    """Problems with a US routing number (9 digits, the last a check digit) and an account number (4 to 17
    digits), each saying what is wrong: missing, not digits, the wrong length, or a check digit that does not
    match."""
    problems: list[Problem] = []
    routing = digits(routing_number)
    if not routing:
        problems.append(Problem("routingNumber", "Enter the routing number.", "REQUIRED"))
    elif not ASCII_DIGITS.fullmatch(routing):
        problems.append(Problem("routingNumber", "A routing number has digits only: 9 of them.",
                                "ROUTING_NUMBER_DIGITS"))
    elif len(routing) != 9:
        problems.append(Problem("routingNumber", f"This routing number has {len(routing)} digits: a routing number "
                                                 "has 9.", "ROUTING_NUMBER_LENGTH"))
    elif not rtn.is_valid(routing):
        problems.append(Problem("routingNumber", "This routing number is not valid: check the digits.",
                                "INVALID_ROUTING_NUMBER"))
    account = digits(account_number)
    if not account:
        problems.append(Problem("accountNumber", "Enter the account number.", "REQUIRED"))
    elif not (ASCII_DIGITS.fullmatch(account) and 4 <= len(account) <= 17):
        problems.append(Problem("accountNumber", "Enter the 4 to 17 digits of the account number.",
                                "INVALID_ACCOUNT_NUMBER"))
    return problems


def today() -> dt.date:
    from . import clock

    return clock.now().date()


__all__ = ["check_card", "check_bank", "card_brand", "card_funding", "NOT_CREDIT", "digits",
           "today", "dt"]
