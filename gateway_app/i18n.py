"""The customer's language: gettext catalogs through Flask-Babel, and Babel's formats for the locale.

The English text is the message id, as translators expect, and keeps ``{name}`` placeholders
(``str.format``), so the ids written in the code and the templates stay as they are. The French
(Canada) text lives in ``translations/fr_CA/LC_MESSAGES/messages.po``: ``make translations``
extracts the ids (``babel.cfg``: the Python of ``gateway_app`` and ``plugins``, the templates, and the
customer-facing labels of the rule files) and updates the ``.po``; ``make compile`` builds the ``.mo``
that is read at run time (never committed: ``make run`` and ``make test`` build it first). A message
missing from a catalog shows in English; ``tests/test_i18n.py`` fails on any.

The locale is ``en`` or ``fr_CA``: the one the customer chose with the Gateway's switch (kept in the
session), else chosen from ``Accept-Language`` (:func:`select_locale`). Every
function takes the request's locale unless given ``locale=`` (the worker, tests). Money and dates are
Babel's, so a French-Canadian customer reads ``1 256,25 $ US`` and ``3 janv. 2026, 09 h 05 UTC``.

A plugin brings its own words in a catalog of its own (:func:`catalog_gettext`), so adding a step kind
changes nothing here.
"""
from __future__ import annotations

import datetime as dt
import functools
import io
import logging
import re
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import flask_babel
import phonenumbers
import yaml
from babel import Locale, numbers
from babel import dates as babel_dates
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from flask import Flask, has_request_context, request, session

from linx_core import localtime

log = logging.getLogger("linx.i18n")

TRANSLATIONS = Path(__file__).resolve().parent / "translations"
DOMAIN = "messages"
DEFAULT_LOCALE = "en"
LOCALES = ("en", "fr_CA")
HTML_LANG = {"en": "en", "fr_CA": "fr-CA"}  # the locale's BCP 47 tag, for <html lang>
UTC = dt.UTC

Gettext = Callable[..., str]


def N_(msgid: str) -> str:
    """Mark ``msgid`` for extraction where it is translated later (a table of words)."""
    return msgid


# -- the locale ------------------------------------------------------------------------------------

LANGUAGES = {"en": "en", "fr": "fr_CA"}  # a language the customer accepts -> the locale we have for it


def pick(accept_languages) -> str:
    """``en`` or ``fr_CA`` from a werkzeug ``LanguageAccept``: the first language by the customer's
    preference that we speak, any French read as Canadian French.

    Not ``best_match``: it prefers an exact tag at any quality, so ``en-CA, fr-CA;q=0.5`` would read French.
    """
    for tag, _quality in accept_languages:  # werkzeug keeps them best first
        locale = LANGUAGES.get(tag.replace("_", "-").split("-")[0].lower())
        if locale:
            return locale
    return DEFAULT_LOCALE


#: the session key of the language the customer chose with the Gateway's switch (English / Français)
SESSION_KEY = "lang"
#: the switch's choices: ``(locale, its name in its own language, its BCP 47 tag)``
CHOICES = (("en", "English", "en"), ("fr_CA", "Français", "fr-CA"))


def select_locale() -> str | None:
    """Flask-Babel's locale selector: the language the customer chose for this session (the Gateway's
    switch), else the request's ``Accept-Language``; the default outside a request."""
    if not has_request_context():
        return None
    chosen = session.get(SESSION_KEY)
    return chosen if chosen in LOCALES else pick(request.accept_languages)


def init_app(app: Flask) -> None:
    """Set up Flask-Babel on ``app`` and give every template ``_`` (this module's :func:`gettext`).

    Flask-Babel's own Jinja set-up is left off: its ``_`` formats with ``%``, while the ids here use
    ``{name}``. The result of ``_`` is a plain string, so Jinja escapes it and its values.
    """
    flask_babel.Babel(app, configure_jinja=False, default_locale=DEFAULT_LOCALE,
                      default_translation_directories=str(TRANSLATIONS), locale_selector=select_locale)
    app.jinja_env.globals.update(_=gettext, gettext=gettext)
    for locale in LOCALES:
        if locale != DEFAULT_LOCALE and not (TRANSLATIONS / locale / "LC_MESSAGES" / f"{DOMAIN}.mo").is_file():
            log.warning("no compiled catalog for %s: its pages show in English (run `make compile`)", locale)


def current_locale(locale: str | Locale | None = None) -> str:
    """``locale`` if given, else the request's (``en`` outside a request)."""
    if locale is not None:
        return str(locale)
    found = flask_babel.get_locale() if has_request_context() else None
    return str(found) if found is not None else DEFAULT_LOCALE


def language(locale: str | Locale | None = None) -> str:
    """The language alone (``en``, ``fr``): what a file per language is named by."""
    return Locale.parse(current_locale(locale)).language


def html_lang(locale: str | Locale | None = None) -> str:
    return HTML_LANG.get(current_locale(locale), DEFAULT_LOCALE)


# -- words -----------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=128)
def _load(directory: str, domain: str, locale: str) -> NullTranslations:
    return Translations.load(directory, [locale], domain)


@functools.lru_cache(maxsize=128)
def _load_plugin(directory: str, domain: str, locale: str) -> NullTranslations:
    """A plugin's catalog: its ``.mo``, or else its ``.po`` compiled here once (a plugin need not ship
    a build step); for ``fr_CA`` a catalog under ``fr`` serves too."""
    found = _load(directory, domain, locale)
    if not isinstance(found, Translations):
        for name in dict.fromkeys([locale, Locale.parse(locale).language]):
            po = Path(directory) / name / "LC_MESSAGES" / f"{domain}.po"
            if po.is_file():
                with po.open("rb") as source:
                    catalog = read_po(source, locale=name, domain=domain)
                compiled = io.BytesIO()
                write_mo(compiled, catalog)
                compiled.seek(0)
                return Translations(compiled, domain=domain)
    return found


def _format(text: str, values: dict[str, Any]) -> str:
    return text.format(**values) if values else text


def gettext(msgid: str, /, locale: str | Locale | None = None, **values: Any) -> str:
    """``msgid`` in the locale (the request's unless given), its ``{name}`` placeholders filled."""
    if locale is None and has_request_context():
        text = flask_babel.get_translations().gettext(msgid)
    else:
        text = _load(str(TRANSLATIONS), DOMAIN, current_locale(locale)).gettext(msgid)
    return _format(text, values)


def catalog_gettext(directory: str | Path, domain: str = DOMAIN, locale: str | Locale | None = None) -> Gettext:
    """A ``gettext(msgid, **values)`` over a plugin's own catalog (``<directory>/<locale>/LC_MESSAGES/
    <domain>.mo``, or its ``.po``), in ``locale`` or else the request's at each call.

    A message the plugin's catalog does not translate comes from the Gateway's (``Continue``,
    ``Optional``...), so a plugin translates only its own words.
    """
    folder = str(Path(directory).resolve())

    def plugin_gettext(msgid: str, /, **values: Any) -> str:
        text = _load_plugin(folder, domain, current_locale(locale)).gettext(msgid)
        if text == msgid:
            return gettext(msgid, locale=locale, **values)
        return _format(text, values)

    return plugin_gettext


# -- values ----------------------------------------------------------------------------------------

def format_datetime(when: dt.datetime, locale: str | Locale | None = None, tz: dt.tzinfo | None = None) -> str:
    """``Jan 3, 2026, 9:05 AM EST`` / ``3 janv. 2026, 09 h 05 HNE``: the locale's medium date, short
    time and zone, joined as the locale joins them, in ``tz`` (the customer's: :mod:`linx_core.localtime`;
    UTC when not given), the zone always named. A naive ``when`` is UTC, as the store keeps it."""
    loc = Locale.parse(current_locale(locale))
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    pattern = (str(babel_dates.get_datetime_format("medium", locale=loc))
               .replace("{0}", loc.time_formats["short"].pattern + " z")
               .replace("{1}", loc.date_formats["medium"].pattern))
    text = babel_dates.format_datetime(when, pattern, tzinfo=tz or UTC, locale=loc)
    zone = babel_dates.format_datetime(when, "z", tzinfo=tz or UTC, locale=loc)
    if zone[:1] in "+-":  # the locale has no short name for it (Europe/Paris): the zone database's (CET)
        text = text.replace(zone, localtime.zone_name(when.astimezone(tz or UTC)))
    return text


def format_money(amount: Decimal | str | int, currency: str, places: int | None = None,
                 locale: str | Locale | None = None) -> str:
    """``$1,256.25`` / ``1 256,25 $ US``: the locale's currency format (its symbol tells a US dollar from
    a Canadian one), with ``places`` decimals when given (the rules' decimals for the currency), else the
    currency's own."""
    loc = Locale.parse(current_locale(locale))
    amount = Decimal(amount)
    if places is None:
        return numbers.format_currency(amount, currency, locale=loc)
    pattern = numbers.parse_pattern(loc.currency_formats["standard"].pattern)
    pattern.frac_prec = (places, places)
    return numbers.format_currency(amount, currency, format=pattern, currency_digits=False, locale=loc)


def format_phone(number: str) -> str:
    """``+1 416-555-0100``: the international form, or the number as given when it does not parse."""
    try:
        parsed = phonenumbers.parse(number, None)
        return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    except phonenumbers.NumberParseException:
        return number


BRANDS = {"VISA": "Visa", "MASTERCARD": "Mastercard", "AMEX": "American Express", "DISCOVER": "Discover"}
SUBTYPE_WORDS = {"DEBIT": N_("debit card"), "CREDIT": N_("credit card"), "PREPAID": N_("prepaid card"),
                 "CHECKING": N_("checking account"), "SAVING": N_("savings account")}
SUBTYPE_TITLES = {"DEBIT": N_("Debit"), "CREDIT": N_("Credit"), "PREPAID": N_("Prepaid"),
                  "CHECKING": N_("Checking"), "SAVING": N_("Savings")}
COUNTRIES = {"USA": N_("United States"), "CAN": N_("Canada"), "GBR": N_("United Kingdom")}


def subtype_words(subtype: str, locale: str | Locale | None = None) -> str:
    """``debit card`` / ``carte de débit``; an unknown subtype as its code in lower case."""
    words = SUBTYPE_WORDS.get(subtype)
    return gettext(words, locale=locale) if words else subtype.lower()


def subtype_title(subtype: str, locale: str | Locale | None = None) -> str:
    words = SUBTYPE_TITLES.get(subtype)
    return gettext(words, locale=locale) if words else subtype.title()


def country(code: str, locale: str | Locale | None = None) -> str:
    words = COUNTRIES.get(code)
    return gettext(words, locale=locale) if words else code


def account_words(brand: str | None, subtype: str, last4: str, locale: str | Locale | None = None) -> str:
    """``Visa debit card ending 4242`` / ``carte de débit Visa se terminant par 4242``."""
    text = gettext("{brand} {kind} ending {last4}", locale=locale, brand=BRANDS.get(brand or "", ""),
                   kind=subtype_words(subtype, locale), last4=last4)
    return " ".join(text.split())


# -- the services' problems, by code ---------------------------------------------------------------

# The services speak English, each problem with a code; the English here is the id a translator sees.
PROBLEMS = {
    "REQUIRED": N_("This field is required."),
    "INVALID_EMAIL": N_("Enter an email address like name@example.com."),
    "INVALID_DATE": N_("Enter a real date of birth (YYYY-MM-DD)."),
    "NOT_ALLOWED": N_("Choose one of the options offered."),
    "INVALID_POSTAL_CODE": N_("Enter a valid ZIP or postal code."),
    "INVALID_STATE": N_("Enter the two-letter state or province code."),
    "INVALID_CARD_NUMBER": N_("This card number is not valid: check the digits."),
    "INVALID_EXPIRY": N_("Enter the expiry as MM/YY."),
    "CARD_EXPIRED": N_("This card has expired."),
    "INVALID_ROUTING_NUMBER": N_("This routing number is not valid: check the digits."),
    "ROUTING_NUMBER_LENGTH": N_("This routing number has {n} digits: a routing number has 9."),
    "ROUTING_NUMBER_DIGITS": N_("A routing number has digits only: 9 of them."),
    "INVALID_ACCOUNT_NUMBER": N_("Enter the 4 to 17 digits of the account number."),
    "ACCOUNT_NOT_PAYABLE": N_("This account cannot receive this payment. Try another one."),
    "NOT_ACCEPTED": N_("Accept each document to continue."),
    "INVALID_TEXT": N_("Remove the special characters."),
    "INVALID_PHONE": N_("Enter a phone number, for example +1 416 555 0123."),
    "NO_CUSTOMER": N_("There is no customer for this account yet."),
    "NO_ACCOUNT": N_("No account was chosen for this payment."),
    "CONTACT_CHANGED": N_("This link no longer matches your contact details. Ask for a new link."),
    "ACCOUNT_NOT_ACTIVE": N_("That account cannot be used any more."),
    "ACCOUNT_NOT_SUITABLE": N_("This kind of account cannot be used for this payment."),
    "CURRENCY_MISMATCH": N_("This account holds another currency than the payment."),
    "NOT_A_DEBIT_CARD": N_("This is a credit card: add a debit card."),
    "NOT_A_PREPAID_CARD": N_("This is a credit card: add a prepaid card."),
}
#: the words of a problem whose message carries no count (``{n}`` in :data:`PROBLEMS`)
WITHOUT_COUNT = {"ROUTING_NUMBER_LENGTH": N_("A routing number has 9 digits.")}
TOO_LONG = N_("This text is too long.")
AT_MOST = N_("At most {n} characters.")


def problem_text(code: str, message: str, locale: str | Locale | None = None) -> str:
    """A service's problem in the locale: in English the service's own message (it may say more than
    the code), otherwise the translation of the code's words; an unknown code keeps the message."""
    if language(locale) == "en":
        return message
    if code == "LENGTH":
        found = re.search(r"\d+", message or "")
        return gettext(AT_MOST, locale=locale, n=found.group(0)) if found else gettext(TOO_LONG, locale=locale)
    words = PROBLEMS.get(code)
    if words and "{n}" in words:  # the count the service put in its message (the first number in it)
        found = re.search(r"\d+", message or "")
        if found:
            return gettext(words, locale=locale, n=found.group(0))
        return gettext(WITHOUT_COUNT[code], locale=locale) if code in WITHOUT_COUNT else message
    return gettext(words, locale=locale) if words else message


# -- extraction of the rule files' labels ----------------------------------------------------------

def extract_rules(fileobj, keywords, comment_tags, options) -> Iterator[tuple[int, str, str, list[str]]]:
    """A Babel extractor for the customer-facing words of a rule file.

    ``options["fields"]`` names them as ``section.key`` (``declineReasons.label``): the ``key`` of each
    entry of ``section``. Yields ``(lineno, funcname, message, comments)`` as Babel expects.
    """
    wanted: dict[str, set[str]] = {}
    for item in (options.get("fields") or "").split():
        section, _dot, key = item.partition(".")
        wanted.setdefault(section, set()).add(key)
    root = yaml.compose(fileobj.read().decode(options.get("encoding", "utf-8")))
    if not isinstance(root, yaml.MappingNode):
        return
    for section_node, entries in root.value:
        keys = wanted.get(section_node.value)
        if not keys or not isinstance(entries, yaml.MappingNode):
            continue
        for name_node, entry in entries.value:
            if not isinstance(entry, yaml.MappingNode):
                continue
            for key_node, value_node in entry.value:
                if key_node.value in keys and isinstance(value_node, yaml.ScalarNode) and value_node.value:
                    yield (value_node.start_mark.line + 1, "gettext", value_node.value,
                           [f"{section_node.value}.{name_node.value}.{key_node.value}"])


__all__ = ["CHOICES", "SESSION_KEY",
           "DEFAULT_LOCALE", "HTML_LANG", "LOCALES", "TRANSLATIONS", "N_", "account_words", "catalog_gettext",
           "country", "current_locale", "extract_rules", "format_datetime", "format_money", "format_phone",
           "gettext", "html_lang", "init_app", "language", "pick", "problem_text", "select_locale",
           "subtype_title", "subtype_words"]
