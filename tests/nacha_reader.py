"""A strict reader of NACHA (ACH) files, written for the tests from the NACHA record layouts.

It shares no code with the writer (``plugins/nacha.py``): it reads each field at its positions
(1-based, as the Operating Rules' Appendix Three gives them), checks every field's format, the
order of records, the batch and file controls (counts, entry hash, totals) and the blocking, and
raises :class:`NachaError` naming the line and field at the first fault. It reads PPD/CCD/WEB
entries without addenda, which is what LinX writes.
"""
import datetime as dt
import re

CREDIT_CODES = {"22": "CHECKING", "32": "SAVING"}
DEBIT_CODES = {"27": "CHECKING", "37": "SAVING"}
SEC_CODES = {"PPD", "CCD", "WEB"}
ALPHANUMERIC = re.compile(r"[A-Z0-9 !\"&'()*+,\-./:;<>=?@%_#]*")


class NachaError(AssertionError):
    def __init__(self, line, field, message):
        super().__init__(f"line {line}: {field}: {message}")
        self.line = line
        self.field = field


def aba_valid(nine):
    if not re.fullmatch(r"\d{9}", nine):
        return False
    weights = (3, 7, 1) * 3
    return sum(int(d) * w for d, w in zip(nine, weights, strict=True)) % 10 == 0


class _Record:
    def __init__(self, text, line):
        self.text = text
        self.line = line

    def get(self, start, end):
        """Positions ``start`` to ``end`` inclusive, 1-based."""
        return self.text[start - 1:end]

    def fail(self, field, message):
        raise NachaError(self.line, field, message)

    def digits(self, start, end, field):
        value = self.get(start, end)
        if not re.fullmatch(r"\d+", value):
            self.fail(field, f"must be {end - start + 1} digits, is {value!r}")
        return int(value)

    def exact(self, start, end, field, expected):
        value = self.get(start, end)
        if value != expected:
            self.fail(field, f"must be {expected!r}, is {value!r}")
        return value

    def blank(self, start, end, field):
        return self.exact(start, end, field, " " * (end - start + 1))

    def alnum(self, start, end, field, required=False):
        value = self.get(start, end)
        if not ALPHANUMERIC.fullmatch(value):
            self.fail(field, f"has characters outside upper-case alphanumerics: {value!r}")
        if value.strip() and value[0] == " ":
            self.fail(field, f"must be left-justified: {value!r}")
        if required and not value.strip():
            self.fail(field, "must not be blank")
        return value.rstrip()

    def date(self, start, end, field):
        value = self.get(start, end)
        try:
            return dt.datetime.strptime(value, "%y%m%d").date()
        except ValueError:
            self.fail(field, f"must be a date YYMMDD, is {value!r}")

    def time(self, start, end, field):
        value = self.get(start, end)
        if not re.fullmatch(r"([01]\d|2[0-3])[0-5]\d", value):
            self.fail(field, f"must be a time HHMM, is {value!r}")
        return value


def read(text):
    """The file as a dict (header, batches with entries and controls, control), or :class:`NachaError`."""
    if not text.endswith("\n"):
        raise NachaError(0, "file", "must end with a line break")
    lines = text[:-1].split("\n")
    lines = [line[:-1] if line.endswith("\r") else line for line in lines]
    for n, line in enumerate(lines, 1):
        if len(line) != 94:
            raise NachaError(n, "record", f"is {len(line)} characters, not 94")
        if not line.isascii() or not line.isprintable():
            raise NachaError(n, "record", "holds characters that are not printable ASCII")
    if len(lines) % 10:
        raise NachaError(len(lines), "file", f"{len(lines)} records is not a whole number of blocks of 10")
    records = [_Record(line, n) for n, line in enumerate(lines, 1)]
    position = 0

    def peek():
        return records[position].get(1, 1) if position < len(records) else None

    if peek() != "1":
        raise NachaError(1, "record type", "the file must start with a file header (1)")
    header = _file_header(records[0])
    position = 1
    batches = []
    traces = []
    while peek() == "5":
        batch_header = _batch_header(records[position], len(batches) + 1)
        position += 1
        entries = []
        while peek() == "6":
            entries.append(_entry(records[position], batch_header))
            traces.append((records[position].line, entries[-1]["traceNumber"]))
            position += 1
        if not entries:
            raise NachaError(records[position - 1].line, "batch", "a batch holds at least one entry")
        if peek() != "8":
            raise NachaError(records[position].line if position < len(records) else len(records), "record type",
                             "a batch must end with a batch control (8)")
        control = _batch_control(records[position], batch_header, entries)
        position += 1
        batches.append({"header": batch_header, "entries": entries, "control": control})
    if peek() != "9":
        raise NachaError(records[position].line if position < len(records) else len(records), "record type",
                         "expected a batch header (5) or the file control (9)")
    control = _file_control(records[position], batches, len(records))
    position += 1
    padding = 0
    while position < len(records):
        if records[position].text != "9" * 94:
            raise NachaError(records[position].line, "padding", "after the file control only records of 9s may follow")
        position += 1
        padding += 1
    if padding >= 10:
        raise NachaError(len(records), "padding", "more padding than needed to fill the last block")
    numbers = [t for _, t in traces]
    if numbers != sorted(numbers) or len(set(numbers)) != len(numbers):
        raise NachaError(traces[0][0], "trace number", "trace numbers must ascend through the file")
    return {"header": header, "batches": batches, "control": control, "records": len(records), "padding": padding}


def _file_header(r):
    r.exact(2, 3, "priority code", "01")
    r.exact(4, 4, "immediate destination (blank)", " ")
    destination = r.get(5, 13)
    if not aba_valid(destination):
        r.fail("immediate destination", f"{destination!r} is not a routing number with a valid check digit")
    origin = r.get(14, 23)
    if not (re.fullmatch(r"\d{10}", origin) or re.fullmatch(r" \d{9}", origin)):
        r.fail("immediate origin", f"must be 10 digits or a blank and 9 digits, is {origin!r}")
    created = r.date(24, 29, "file creation date")
    r.time(30, 33, "file creation time")
    modifier = r.get(34, 34)
    if not re.fullmatch(r"[A-Z0-9]", modifier):
        r.fail("file ID modifier", f"must be A-Z or 0-9, is {modifier!r}")
    r.exact(35, 37, "record size", "094")
    r.exact(38, 39, "blocking factor", "10")
    r.exact(40, 40, "format code", "1")
    return {"destination": destination, "origin": origin.strip(), "created": created, "modifier": modifier,
            "destinationName": r.alnum(41, 63, "immediate destination name"),
            "originName": r.alnum(64, 86, "immediate origin name"), "reference": r.alnum(87, 94, "reference code")}


def _batch_header(r, number):
    service = r.get(2, 4)
    if service not in ("200", "220", "225"):
        r.fail("service class code", f"must be 200, 220 or 225, is {service!r}")
    sec = r.get(51, 53)
    if sec not in SEC_CODES:
        r.fail("standard entry class code", f"{sec!r} is not one LinX writes ({', '.join(sorted(SEC_CODES))})")
    r.blank(76, 78, "settlement date (the ACH operator fills it)")
    r.exact(79, 79, "originator status code", "1")
    odfi = r.get(80, 87)
    if not re.fullmatch(r"\d{8}", odfi):
        r.fail("originating DFI identification", f"must be 8 digits, is {odfi!r}")
    if r.digits(88, 94, "batch number") != number:
        r.fail("batch number", f"must be {number} (batches are numbered from 1)")
    return {"serviceClass": service, "companyName": r.alnum(5, 20, "company name", required=True),
            "discretionary": r.alnum(21, 40, "company discretionary data"),
            "companyId": r.alnum(41, 50, "company identification", required=True), "sec": sec,
            "description": r.alnum(54, 63, "company entry description", required=True),
            "descriptiveDate": r.alnum(64, 69, "company descriptive date"),
            "effectiveDate": r.date(70, 75, "effective entry date"), "odfi": odfi, "number": number}


def _entry(r, batch):
    code = r.get(2, 3)
    if code in CREDIT_CODES:
        direction, subtype = "CREDIT", CREDIT_CODES[code]
    elif code in DEBIT_CODES:
        direction, subtype = "DEBIT", DEBIT_CODES[code]
    else:
        r.fail("transaction code", f"{code!r} is not a live checking or savings credit or debit (22, 27, 32, 37)")
    if batch["serviceClass"] == "220" and direction != "CREDIT":
        r.fail("transaction code", "a debit in a credits-only (220) batch")
    if batch["serviceClass"] == "225" and direction != "DEBIT":
        r.fail("transaction code", "a credit in a debits-only (225) batch")
    rdfi = r.get(4, 11)
    check = r.get(12, 12)
    if not aba_valid(rdfi + check):
        r.fail("receiving DFI identification and check digit", f"{rdfi + check!r} is not a valid routing number")
    account = r.alnum(13, 29, "DFI account number", required=True)
    amount = r.digits(30, 39, "amount")
    if amount <= 0:
        r.fail("amount", "must be positive for a live entry")
    r.exact(79, 79, "addenda record indicator", "0")
    trace_odfi = r.get(80, 87)
    if trace_odfi != batch["odfi"]:
        r.fail("trace number", f"must start with the ODFI {batch['odfi']}, starts with {trace_odfi!r}")
    trace = r.digits(80, 94, "trace number")
    return {"code": code, "direction": direction, "subtype": subtype, "rdfi": rdfi, "routing": rdfi + check,
            "account": account, "amountCents": amount,
            "individualId": r.alnum(40, 54, "individual identification number"),
            "name": r.alnum(55, 76, "individual name", required=True),
            "discretionary": r.alnum(77, 78, "discretionary data"), "traceNumber": trace}


def _batch_control(r, batch, entries):
    r.exact(1, 1, "record type", "8")
    r.exact(2, 4, "service class code", batch["serviceClass"])
    if r.digits(5, 10, "entry/addenda count") != len(entries):
        r.fail("entry/addenda count", f"must be {len(entries)}")
    expected_hash = sum(int(e["rdfi"]) for e in entries) % 10**10
    if r.digits(11, 20, "entry hash") != expected_hash:
        r.fail("entry hash", f"must be {expected_hash:010d}")
    debit = sum(e["amountCents"] for e in entries if e["direction"] == "DEBIT")
    credit = sum(e["amountCents"] for e in entries if e["direction"] == "CREDIT")
    if r.digits(21, 32, "total debit entry dollar amount") != debit:
        r.fail("total debit entry dollar amount", f"must be {debit:012d}")
    if r.digits(33, 44, "total credit entry dollar amount") != credit:
        r.fail("total credit entry dollar amount", f"must be {credit:012d}")
    if r.alnum(45, 54, "company identification") != batch["companyId"]:
        r.fail("company identification", "must match the batch header's")
    r.blank(55, 73, "message authentication code")
    r.blank(74, 79, "reserved")
    r.exact(80, 87, "originating DFI identification", batch["odfi"])
    if r.digits(88, 94, "batch number") != batch["number"]:
        r.fail("batch number", "must match the batch header's")
    return {"count": len(entries), "entryHash": expected_hash, "debitCents": debit, "creditCents": credit}


def _file_control(r, batches, records):
    entries = [e for b in batches for e in b["entries"]]
    if r.digits(2, 7, "batch count") != len(batches):
        r.fail("batch count", f"must be {len(batches)}")
    if r.digits(8, 13, "block count") != records // 10:
        r.fail("block count", f"must be {records // 10}")
    if r.digits(14, 21, "entry/addenda count") != len(entries):
        r.fail("entry/addenda count", f"must be {len(entries)}")
    expected_hash = sum(int(e["rdfi"]) for e in entries) % 10**10
    if r.digits(22, 31, "entry hash") != expected_hash:
        r.fail("entry hash", f"must be {expected_hash:010d}")
    debit = sum(b["control"]["debitCents"] for b in batches)
    credit = sum(b["control"]["creditCents"] for b in batches)
    if r.digits(32, 43, "total debit entry dollar amount in file") != debit:
        r.fail("total debit entry dollar amount in file", f"must be {debit:012d}")
    if r.digits(44, 55, "total credit entry dollar amount in file") != credit:
        r.fail("total credit entry dollar amount in file", f"must be {credit:012d}")
    r.blank(56, 94, "reserved")
    return {"batches": len(batches), "blocks": records // 10, "entries": len(entries), "entryHash": expected_hash,
            "debitCents": debit, "creditCents": credit}
