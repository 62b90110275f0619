"""gateway_app.i18n: the locale from Accept-Language, the gettext catalogs, Babel's formats.

The catalog checks read the same ``babel.cfg`` as ``make translations``: every id found in the code,
the templates and the rule files must have a French (Canada) text, with the same placeholders.
"""
import datetime as dt
import io
import string
from decimal import Decimal

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po
from flask import Flask, render_template_string
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

from gateway_app import i18n

from .conftest import ROOT

NBSP, NNBSP = "\u00a0", "\u202f"
PO = i18n.TRANSLATIONS / "fr_CA" / "LC_MESSAGES" / "messages.po"
MO = PO.with_suffix(".mo")


@pytest.fixture(scope="module")
def app():
    app = Flask("i18n_test")
    i18n.init_app(app)
    return app


def request_in(app, accept_language):
    return app.test_request_context("/", headers={"Accept-Language": accept_language} if accept_language else {})


def accept(header):
    return parse_accept_header(header, LanguageAccept)


# -- the locale ------------------------------------------------------------------------------------

@pytest.mark.parametrize("header, locale", [
    ("fr-CA", "fr_CA"), ("fr-CA,fr;q=0.9,en;q=0.8", "fr_CA"), ("fr", "fr_CA"), ("fr-FR", "fr_CA"),
    ("en-US", "en"), ("en-CA,fr-CA;q=0.5", "en"), ("fr;q=0.3,en;q=0.9", "en"), ("de-DE", "en"), ("", "en"),
    ("*", "en"), ("zz-@@;q=x", "en"),
])
def test_accept_language_chooses_english_or_canadian_french(header, locale):
    assert i18n.pick(accept(header)) == locale


def test_the_request_locale_drives_words_formats_and_the_html_lang(app):
    with request_in(app, "fr-CA,fr;q=0.9"):
        assert i18n.current_locale() == "fr_CA" and i18n.language() == "fr" and i18n.html_lang() == "fr-CA"
        assert i18n.gettext("Continue") == "Continuer"
    with request_in(app, "en-GB"):
        assert i18n.current_locale() == "en" and i18n.html_lang() == "en"
        assert i18n.gettext("Continue") == "Continue"
    with request_in(app, None):
        assert i18n.current_locale() == "en"
    with app.app_context():  # no request: the default locale, not a crash
        assert i18n.current_locale() == "en" and i18n.gettext("Continue") == "Continue"


# -- words -----------------------------------------------------------------------------------------

def test_gettext_fills_the_brace_placeholders_of_the_translation(app):
    with request_in(app, "fr-CA"):
        assert i18n.gettext("Step {n} of {total}", n=2, total=5) == "Étape 2 sur 5"
        assert i18n.gettext("Ask {business} how to go on.", business="Demo Co") == \
            "Demandez à Demo Co comment continuer."
        assert i18n.gettext("A message no catalog has, {x}", x=1) == "A message no catalog has, 1"
    assert i18n.gettext("Step {n} of {total}", locale="en", n=2, total=5) == "Step 2 of 5"
    assert i18n.gettext("Continue", locale="fr_CA") == "Continuer"


def test_templates_translate_with_underscore_and_escape_the_values(app):
    template = '<p lang="x">{{ _("{business} asks you to:", business=name) }}</p>'
    with request_in(app, "fr-CA"):
        html = render_template_string(template, name="<b>A&B</b>")
    assert html == '<p lang="x">&lt;b&gt;A&amp;B&lt;/b&gt; vous demande de :</p>'
    with request_in(app, "en"):
        assert render_template_string('{{ _("Continue") }}') == "Continue"


def test_account_words_subtypes_and_countries_in_both_languages():
    assert i18n.account_words("VISA", "DEBIT", "4242", locale="en") == "Visa debit card ending 4242"
    assert i18n.account_words(None, "CHECKING", "6789", locale="en") == "checking account ending 6789"
    assert i18n.account_words("VISA", "DEBIT", "4242", locale="fr_CA") == "carte de débit Visa se terminant par 4242"
    assert i18n.account_words(None, "SAVING", "6789", locale="fr_CA") == "compte d'épargne se terminant par 6789"
    assert i18n.subtype_words("PREPAID", locale="fr_CA") == "carte prépayée"
    assert i18n.subtype_words("RTP_WALLET", locale="fr_CA") == "rtp_wallet"  # unknown: its code, as before
    assert i18n.subtype_title("SAVING", locale="en") == "Savings"
    assert i18n.subtype_title("SAVING", locale="fr_CA") == "Épargne"
    assert i18n.subtype_title("RTP_WALLET", locale="fr_CA") == "Rtp_Wallet"
    assert i18n.country("USA", locale="fr_CA") == "États-Unis" and i18n.country("CAN", locale="en") == "Canada"
    assert i18n.country("MEX", locale="fr_CA") == "MEX"


def test_a_service_problem_reads_in_french_by_its_code_and_in_english_as_the_service_said():
    said = "Enter the 12 to 19 digits of the card number."
    assert i18n.problem_text("INVALID_CARD_NUMBER", said, locale="en") == said
    assert i18n.problem_text("INVALID_CARD_NUMBER", said, locale="fr_CA") == \
        "Ce numéro de carte n'est pas valide : vérifiez les chiffres."
    assert i18n.problem_text("LENGTH", "At most 40 characters.", locale="fr_CA") == "Au plus 40 caractères."
    assert i18n.problem_text("LENGTH", "Too long.", locale="fr_CA") == "Ce texte est trop long."
    assert i18n.problem_text("SOMETHING_NEW", "Something new.", locale="fr_CA") == "Something new."
    for code in i18n.PROBLEMS:
        assert i18n.problem_text(code, "x", locale="fr_CA") not in ("x", i18n.PROBLEMS[code]), code


def test_a_phone_number_reads_in_international_form_and_junk_stays_as_given():
    assert i18n.format_phone("+14165550100") == "+1 416-555-0100"
    assert i18n.format_phone("not a number") == "not a number"


# -- values through Babel --------------------------------------------------------------------------

def test_money_in_the_locale_format_with_a_symbol_that_tells_the_dollars_apart():
    assert i18n.format_money(Decimal("1256.25"), "USD", locale="en") == "$1,256.25"
    assert i18n.format_money(Decimal("1256.25"), "CAD", locale="en") == "CA$1,256.25"
    assert i18n.format_money(Decimal("1256.25"), "USD", locale="fr_CA") == f"1{NBSP}256,25{NBSP}${NBSP}US"
    assert i18n.format_money(Decimal("256.25"), "CAD", locale="fr_CA") == f"256,25{NBSP}$"
    assert i18n.format_money("5000", "USD", places=2, locale="en") == "$5,000.00"


def test_money_shows_the_places_the_rules_give_and_never_goes_through_a_float():
    assert i18n.format_money(Decimal("12.345"), "USD", places=3, locale="en") == "$12.345"
    assert i18n.format_money(Decimal("1234"), "JPY", places=0, locale="fr_CA") == f"1{NBSP}234{NBSP}¥"
    huge = Decimal("12345678901234567.01")
    assert i18n.format_money(huge, "USD", places=2, locale="en") == "$12,345,678,901,234,567.01"


def test_money_and_dates_follow_the_request_locale(app):
    when = dt.datetime(2026, 1, 3, 9, 5, tzinfo=dt.UTC)
    with request_in(app, "fr-CA"):
        assert i18n.format_money(Decimal("256.25"), "USD", places=2) == f"256,25{NBSP}${NBSP}US"
        assert i18n.format_datetime(when) == "3 janv. 2026, 09 h 05 UTC"
    with request_in(app, "en-US"):
        assert i18n.format_money(Decimal("256.25"), "USD", places=2) == "$256.25"
        assert i18n.format_datetime(when) == f"Jan 3, 2026, 9:05{NNBSP}AM UTC"


def test_a_date_is_shown_in_utc_whatever_its_zone_and_a_naive_one_is_utc():
    naive = dt.datetime(2026, 7, 14, 23, 30)
    toronto = dt.datetime(2026, 7, 14, 19, 30, tzinfo=dt.timezone(dt.timedelta(hours=-4)))
    assert i18n.format_datetime(naive, locale="fr_CA") == "14 juill. 2026, 23 h 30 UTC"
    assert i18n.format_datetime(toronto, locale="fr_CA") == "14 juill. 2026, 23 h 30 UTC"
    assert i18n.format_datetime(toronto, locale="en") == f"Jul 14, 2026, 11:30{NNBSP}PM UTC"


# -- a plugin's own catalog ------------------------------------------------------------------------

def write_catalog(directory, domain, locale, messages):
    catalog = Catalog(locale=locale)
    for msgid, text in messages.items():
        catalog.add(msgid, text)
    folder = directory / locale / "LC_MESSAGES"
    folder.mkdir(parents=True)
    with open(folder / f"{domain}.mo", "wb") as f:
        write_mo(f, catalog)


def test_a_plugin_brings_its_own_catalog_and_borrows_the_gateway_words(app, tmp_path):
    write_catalog(tmp_path, "verify_email", "fr_CA", {"Enter the code we sent to {email}":
                                                      "Entrez le code envoyé à {email}"})
    fixed = i18n.catalog_gettext(tmp_path, "verify_email", "fr_CA")
    assert fixed("Enter the code we sent to {email}", email="a@b.ca") == "Entrez le code envoyé à a@b.ca"
    assert fixed("Continue") == "Continuer"  # not in the plugin's catalog: the Gateway's
    assert fixed("Unknown to both, {n}", n=3) == "Unknown to both, 3"
    words = i18n.catalog_gettext(tmp_path, "verify_email")  # the request's locale, at each call
    with request_in(app, "fr-CA"):
        assert words("Enter the code we sent to {email}", email="x@y.ca") == "Entrez le code envoyé à x@y.ca"
    with request_in(app, "en"):
        assert words("Enter the code we sent to {email}", email="x@y.ca") == "Enter the code we sent to x@y.ca"
    missing = i18n.catalog_gettext(tmp_path / "nowhere", "verify_email", "fr_CA")
    assert missing("Continue") == "Continuer" and missing("Code") == "Code"


def test_a_plugin_may_ship_its_po_alone_and_under_the_language_only(tmp_path):
    folder = tmp_path / "fr" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    (folder / "kind.po").write_text('msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
                                    'msgid "Your code, {name}"\nmsgstr "Votre code, {name}"\n\n'
                                    '#, fuzzy\nmsgid "Not sure"\nmsgstr "Pas sûr"\n', encoding="utf-8")
    words = i18n.catalog_gettext(tmp_path, "kind", "fr_CA")
    assert words("Your code, {name}", name="Jo") == "Votre code, Jo"
    assert words("Not sure") == "Not sure"  # a fuzzy translation is not used
    assert i18n.catalog_gettext(tmp_path, "kind", "en")("Your code, {name}", name="Jo") == "Your code, Jo"


# -- the catalogs ----------------------------------------------------------------------------------

def extracted_ids():
    """Every id ``make translations`` extracts, as in babel.cfg (code, templates, rule files)."""
    with open(ROOT / "babel.cfg", "rb") as f:
        method_map, options_map = parse_mapping_cfg(io.TextIOWrapper(f, encoding="utf-8"))
    found = {}
    for filename, _lineno, message, _comments, _context in extract_from_dir(ROOT, method_map, options_map):
        msgid = message[0] if isinstance(message, tuple) else message
        if msgid:
            found.setdefault(msgid, filename)
    return found


@pytest.fixture(scope="module")
def french():
    with open(PO, "rb") as f:
        return read_po(f)


def test_the_extraction_finds_the_code_the_templates_and_the_rule_labels():
    ids = extracted_ids()
    assert ids["Skip to the content"].endswith(".html")  # a template
    assert ids["{brand} {kind} ending {last4}"] == "gateway_app/i18n.py"
    assert ids["checking account"] == "gateway_app/i18n.py"  # marked with N_
    assert ids["Privacy Policy"] == "rules/catalog.yaml" and ids["I'm not interested"] == "rules/catalog.yaml"
    assert len(ids) > 150


def test_every_message_has_its_canadian_french(french):
    missing = []
    for msgid, where in sorted(extracted_ids().items()):
        message = french.get(msgid)
        if message is None or not message.string or message.fuzzy:
            missing.append(f"{where}: {msgid!r}")
    assert not missing, "no fr_CA text (run `make translations`, then translate):\n" + "\n".join(missing)


def fields(text):
    return sorted(name for _literal, name, _spec, _conv in string.Formatter().parse(text) if name is not None)


def test_each_translation_keeps_the_placeholders_of_its_id(french):
    wrong = [(m.id, m.string) for m in french if m.id and m.string and fields(m.id) != fields(m.string)]
    assert not wrong, wrong
    assert fields("Step {n} of {total}") == ["n", "total"]  # the check itself sees placeholders


def test_the_compiled_catalog_is_the_current_one(french):
    assert MO.is_file(), "run `make compile`"
    with open(MO, "rb") as f:
        compiled = {m.id: m.string for m in read_mo(f) if m.id}
    written = {m.id: m.string for m in french if m.id and m.string and not m.fuzzy}
    assert compiled == written, "the .mo is older than the .po: run `make compile`"


def test_the_rule_extractor_takes_only_the_named_fields_with_their_lines():
    text = (b"declineReasons:\n  A: {label: First reason}\n  B:\n    label: Second reason\n    code: 7\n"
            b"other:\n  C: {label: Not this one}\ndocuments:\n  d: {title: A title, version: '1'}\n")
    found = list(i18n.extract_rules(io.BytesIO(text), [], [], {"fields": "declineReasons.label documents.title"}))
    assert found == [(2, "gettext", "First reason", ["declineReasons.A.label"]),
                     (4, "gettext", "Second reason", ["declineReasons.B.label"]),
                     (9, "gettext", "A title", ["documents.d.title"])]
    assert list(i18n.extract_rules(io.BytesIO(b"- a list\n"), [], [], {"fields": "x.y"})) == []


def test_the_words_the_gateway_looks_up_by_name_are_in_the_catalog(french):
    """Words chosen at run time (a rail's promise, a transaction's status) are not found by extraction from a
    variable: they are written out in gateway/words.py, each must match what it stands for and be translated."""
    from gateway_app.gateway import words
    from linx_core.payments import ARRIVAL_KINDS

    assert words.ARRIVAL == ARRIVAL_KINDS  # one entry, worded alike, for each kind a rail may promise
    looked_up = set(words.ARRIVAL.values()) | set(words.TX_WORDS.values())
    missing = sorted(m for m in looked_up if french.get(m) is None or not french.get(m).string)
    assert not missing, f"no French for words looked up by name: {missing}"
