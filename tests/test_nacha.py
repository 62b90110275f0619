"""Every NACHA file the ACH rail writes passes two independent checks: achkit (from PyPI: its parser
and reconciliation validator) and a strict reader written for these tests from the record layouts
(``tests/nacha_reader.py``), which shares no code with the writer."""
import datetime as dt
from decimal import Decimal

import pytest
from cryptography.fernet import Fernet

from linx_core import clock
from linx_core.payments import AccountDetails, Transfer
from linx_core.vault import Vault
from linx_plugins import nacha
from linx_plugins.ach import AchSandbox

from . import nacha_reader
from .journeys import freeze

UTC = dt.UTC
BEFORE_SD1 = dt.datetime(2026, 2, 3, 14, 0, tzinfo=UTC)  # Tuesday 09:00 in New York
AFTER_SD1 = dt.datetime(2026, 2, 3, 15, 30, tzinfo=UTC)
BUSINESS_A = "31c6d624-6a0c-4049-b1f1-f3ea7d00ba35"
BUSINESS_B = "7a0e2d36-1111-4a6b-9d7e-5c3f8e2b0a01"

try:
    import achkit
except ImportError:  # the test extra installs it (setup.cfg); without it only the strict reader checks
    achkit = None


@pytest.fixture(autouse=True)
def real_clock_afterwards():
    """Tests here freeze the clock; the next test gets the real one back."""
    yield
    clock.set_clock(None)


def check(text):
    """Both readers accept ``text``; returns the strict reader's view."""
    parsed = nacha_reader.read(text)
    if achkit is not None:
        result = achkit.validate(text)
        assert result["ok"], result["errors"]
        assert len(achkit.parse(text)["batches"]) == len(parsed["batches"])
    return parsed


def test_the_pypi_validator_is_there():
    if achkit is None:
        pytest.skip("achkit is not installed: pip install achkit (the test extra has it)")
    assert achkit.is_valid_routing("110000000") and not achkit.is_valid_routing("110000001")


@pytest.fixture
def ach(tmp_path):
    vault = Vault(Fernet.generate_key().decode())
    return AchSandbox(tmp_path / "ach", seal=vault.seal_text, unseal=vault.unseal)


def submit(ach, n, type, subtype, amount, business=BUSINESS_A, number=None, routing="110000000", name="Jane Doe"):
    account = AccountDetails(kind="BANK", subtype=subtype, number=number or f"{n:012d}", holder_name=name,
                             routing_number=routing, last4=(number or f"{n:012d}")[-4:])
    transfer = Transfer(id=f"5e1d{n:04d}-0000-4000-8000-{n:012d}", type=type, amount=Decimal(amount),
                        currency="USD", account=account, business_account_id=business, priority="SAME_DAY")
    return ach.submit(transfer, f"key-{n}")


def window_file(ach):
    freeze(AFTER_SD1)
    [path] = ach.close_due_windows()
    return ach.open_file(path)  # sealed at rest: opened through the rail's helper


def test_a_file_with_every_transaction_code_and_two_businesses(ach):
    freeze(BEFORE_SD1)
    submit(ach, 1, "SEND", "CHECKING", "100.00", routing="110000000")
    submit(ach, 2, "SEND", "SAVING", "250.55", routing="021000021")
    submit(ach, 3, "REQUEST", "CHECKING", "75.10", routing="011401533")
    submit(ach, 4, "REQUEST", "SAVING", "0.01", routing="091000019")
    submit(ach, 5, "SEND", "CHECKING", "1000000.00", business=BUSINESS_B, routing="322271627", name="Zoë Ünïcode-Smith")
    parsed = check(window_file(ach))

    assert parsed["header"]["destination"] == "110000000" and parsed["header"]["origin"] == "1234567890"
    assert parsed["header"]["created"] == dt.date(2026, 2, 3) and parsed["header"]["modifier"] == "A"
    first, second = parsed["batches"]
    assert first["header"]["serviceClass"] == "200"  # credits and debits
    assert second["header"]["serviceClass"] == "220"  # credits only
    assert first["header"]["sec"] == "PPD" and first["header"]["effectiveDate"] == dt.date(2026, 2, 3)
    assert first["header"]["descriptiveDate"] == "SD1300"
    assert first["header"]["discretionary"] == BUSINESS_A.replace("-", "")[:20].upper()
    assert [(e["code"], e["direction"], e["subtype"], e["amountCents"]) for e in first["entries"]] == [
        ("22", "CREDIT", "CHECKING", 10000), ("32", "CREDIT", "SAVING", 25055),
        ("27", "DEBIT", "CHECKING", 7510), ("37", "DEBIT", "SAVING", 1)]
    assert first["control"] == {"count": 4, "entryHash": 11000000 + 2100002 + 1140153 + 9100001,
                                "debitCents": 7511, "creditCents": 35055}
    assert second["entries"][0]["name"] == "ZOE UNICODE-SMITH" and second["entries"][0]["amountCents"] == 100000000
    assert parsed["control"] == {"batches": 2, "blocks": 2, "entries": 5,
                                 "entryHash": 11000000 + 2100002 + 1140153 + 9100001 + 32227162,
                                 "debitCents": 7511, "creditCents": 100035055}
    # 1 + (1 + 4 + 1) + (1 + 1 + 1) + 1 = 11 records, padded with 9s to 20
    assert parsed["records"] == 20 and parsed["padding"] == 9
    traces = [e["traceNumber"] for b in parsed["batches"] for e in b["entries"]]
    assert traces == [110000000000001 + i for i in range(5)]


@pytest.mark.parametrize("entries, records, padding", [(6, 10, 0), (7, 20, 9), (16, 20, 0), (17, 30, 9)])
def test_blocks_of_ten(ach, entries, records, padding):
    freeze(BEFORE_SD1)
    for n in range(1, entries + 1):
        submit(ach, n, "SEND", "CHECKING", f"{n}.00")
    parsed = check(window_file(ach))
    assert (parsed["records"], parsed["padding"], parsed["control"]["blocks"]) == (records, padding, records // 10)


def test_the_entry_hash_keeps_its_rightmost_ten_digits():
    entries = [nacha.Entry(code="22", routing="322271627", account=f"{n:09d}", amount_cents=100,
                           individual_id=f"ID{n}", name="JANE DOE") for n in range(400)]
    batch = nacha.Batch(company_name="LINX SANDBOX", company_id="1234567890", entry_class="PPD",
                        description="PAYMENT", effective_date=dt.date(2026, 2, 3), entries=entries)
    header = nacha.FileHeader(destination_routing="110000000", destination_name="SANDBOX ODFI",
                              origin="1234567890", origin_name="LINX SANDBOX",
                              created=dt.datetime(2026, 2, 3, 10, 30))
    text = nacha.write(header, [batch], "11000000")
    assert 32227162 * 400 > 10**10
    parsed = check(text)
    assert parsed["control"]["entryHash"] == (32227162 * 400) % 10**10


def test_the_strict_reader_catches_what_it_should(ach):
    freeze(BEFORE_SD1)
    submit(ach, 1, "SEND", "CHECKING", "100.00")
    text = window_file(ach)
    nacha_reader.read(text)
    lines = text.splitlines()

    def broken(index, start, replacement):
        copy = list(lines)
        line = copy[index]
        copy[index] = line[:start - 1] + replacement + line[start - 1 + len(replacement):]
        return "\n".join(copy) + "\n"

    faults = {
        "entry hash": broken(3, 11, "0000000001"),
        "total credit entry dollar amount": broken(3, 33, "000000000001"),
        "transaction code": broken(2, 2, "23"),
        "receiving DFI identification and check digit": broken(2, 12, "1"),
        "block count": broken(4, 8, "000002"),
        "record size": broken(0, 35, "095"),
        "record": "\n".join(lines[:1] + [lines[1][:-1]] + lines[2:]) + "\n",
        "padding": broken(9, 1, "8"),
    }
    for field, text_with_fault in faults.items():
        with pytest.raises(nacha_reader.NachaError) as caught:
            nacha_reader.read(text_with_fault)
        assert caught.value.field == field, (field, str(caught.value))
