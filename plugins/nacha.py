"""A NACHA (ACH) file writer: fixed 94-character records, blocked by ten.

Not a plugin (it implements no hook): the ACH rail's own helper. Records, per the NACHA
Operating Rules' record layouts:

- ``1`` file header, ``5`` batch header, ``6`` entry detail, ``8`` batch control, ``9`` file control;
- transaction codes 22/27 (checking credit/debit) and 32/37 (savings credit/debit);
- entry hash: the sum of the entries' 8-digit receiving DFI identifications, its rightmost 10 digits;
- totals in cents, counts of entries (no addenda are written), and the file padded with records of
  ``9`` to a multiple of ten records.
"""
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal

RECORD_SIZE = 94
BLOCKING_FACTOR = 10
CREDIT_CODES = {"CHECKING": "22", "SAVING": "32", "SAVINGS": "32"}
DEBIT_CODES = {"CHECKING": "27", "SAVING": "37", "SAVINGS": "37"}
ALLOWED = set("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,'&/-()")


def transaction_code(direction, subtype):
    """``22``/``32`` for a credit to checking/savings, ``27``/``37`` for a debit."""
    codes = CREDIT_CODES if direction == "CREDIT" else DEBIT_CODES
    return codes[subtype.upper()]


def cents(amount):
    """Decimal dollars to whole cents; refuses fractions of a cent."""
    value = Decimal(amount) * 100
    if value != value.to_integral_value():
        raise ValueError(f"{amount} has fractions of a cent")
    return int(value)


def alpha(text, width):
    """Alphanumeric field: upper-case ASCII, left-justified, blank-filled, cut to ``width``."""
    plain = unicodedata.normalize("NFKD", str(text or "")).encode("ascii", "ignore").decode().upper()
    plain = "".join(ch if ch in ALLOWED else " " for ch in plain)
    return plain[:width].ljust(width)


def numeric(value, width):
    """Numeric field: right-justified, zero-filled; refuses a value too wide."""
    text = str(int(value))
    if len(text) > width or int(value) < 0:
        raise ValueError(f"{value} does not fit {width} digits")
    return text.rjust(width, "0")


@dataclass
class Entry:
    code: str  # 22 | 27 | 32 | 37
    routing: str  # 9 digits
    account: str
    amount_cents: int
    individual_id: str
    name: str
    trace_sequence: int = 0


@dataclass
class Batch:
    company_name: str
    company_id: str  # 10 characters
    entry_class: str  # PPD, CCD, WEB
    description: str
    effective_date: object  # date
    descriptive_date: str = ""
    discretionary: str = ""
    entries: list = field(default_factory=list)

    @property
    def service_class(self):
        credits = any(e.code[1] in "23" for e in self.entries)
        debits = any(e.code[1] in "78" for e in self.entries)
        return "200" if credits and debits else ("220" if credits else "225")


@dataclass
class FileHeader:
    destination_routing: str  # 9 digits
    destination_name: str
    origin: str  # 10 characters (a company id) or 9 digits
    origin_name: str
    created: object  # datetime (local to the originator)
    file_id_modifier: str = "A"
    reference: str = ""


def _check(record):
    if len(record) != RECORD_SIZE:
        raise AssertionError(f"record of {len(record)} characters: {record!r}")
    return record


def file_header(h):
    origin = h.origin if len(h.origin) == 10 else " " + h.origin
    return _check("1" + "01" + " " + h.destination_routing + origin.rjust(10)[:10]
                  + h.created.strftime("%y%m%d") + h.created.strftime("%H%M") + h.file_id_modifier
                  + "094" + "10" + "1" + alpha(h.destination_name, 23) + alpha(h.origin_name, 23)
                  + alpha(h.reference, 8))


def batch_header(b, number, odfi):
    return _check("5" + b.service_class + alpha(b.company_name, 16) + alpha(b.discretionary, 20)
                  + alpha(b.company_id, 10) + alpha(b.entry_class, 3) + alpha(b.description, 10)
                  + alpha(b.descriptive_date, 6) + b.effective_date.strftime("%y%m%d") + "   " + "1"
                  + odfi + numeric(number, 7))


def entry_detail(e, odfi):
    return _check("6" + e.code + e.routing[:8] + e.routing[8] + alpha(e.account, 17) + numeric(e.amount_cents, 10)
                  + alpha(e.individual_id, 15) + alpha(e.name, 22) + "  " + "0"
                  + odfi + numeric(e.trace_sequence, 7))


def entry_hash(entries):
    return sum(int(e.routing[:8]) for e in entries) % 10**10


def batch_control(b, number, odfi):
    debit = sum(e.amount_cents for e in b.entries if e.code[1] in "78")
    credit = sum(e.amount_cents for e in b.entries if e.code[1] in "23")
    return _check("8" + b.service_class + numeric(len(b.entries), 6) + numeric(entry_hash(b.entries), 10)
                  + numeric(debit, 12) + numeric(credit, 12) + alpha(b.company_id, 10) + " " * 19 + " " * 6
                  + odfi + numeric(number, 7))


def write(header, batches, odfi):
    """The file's text: records of 94 characters, each ending with a line feed, padded to blocks of ten.

    Entries get their trace numbers here (``odfi`` + a sequence through the file) unless set already.
    """
    odfi = odfi[:8]
    lines = [file_header(header)]
    sequence = 0
    all_entries = []
    for number, batch in enumerate(batches, 1):
        lines.append(batch_header(batch, number, odfi))
        for entry in batch.entries:
            sequence += 1
            if not entry.trace_sequence:
                entry.trace_sequence = sequence
            lines.append(entry_detail(entry, odfi))
        lines.append(batch_control(batch, number, odfi))
        all_entries += batch.entries
    count = len(lines) + 1
    blocks = -(-count // BLOCKING_FACTOR)
    debit = sum(e.amount_cents for e in all_entries if e.code[1] in "78")
    credit = sum(e.amount_cents for e in all_entries if e.code[1] in "23")
    lines.append(_check("9" + numeric(len(batches), 6) + numeric(blocks, 6) + numeric(len(all_entries), 8)
                        + numeric(entry_hash(all_entries), 10) + numeric(debit, 12) + numeric(credit, 12)
                        + " " * 39))
    lines += ["9" * RECORD_SIZE] * (blocks * BLOCKING_FACTOR - len(lines))
    return "".join(line + "\n" for line in lines)
