"""ACH: SEND (a credit) and REQUEST (a debit) to a US checking or savings account, same-day or next-day.

A sandbox rail that behaves like an ODFI's ACH origination service. Times are Eastern (the
Federal Reserve's), read from ``linx_core.clock``; banking days skip weekends and the Federal
Reserve's holidays.

- **Windows.** SAME_DAY entries go in the first same-day window whose cut-off has not passed
  (cut-offs 10:30, 14:45 and 16:45; settlement 13:00, 17:00 and 18:00 the same day); after the last
  cut-off, or on a day without settlement, in the next banking day's first window. NEXT_DAY entries
  go in the window whose cut-off is 17:00 on a banking day, settling at 08:30 the next banking day.
- **Files.** When a window's cut-off passes, the rail writes one NACHA file for it: one PPD batch per
  business account, entry transaction codes 22/32 (credit to checking/savings) for SEND and 27/37
  (debit) for REQUEST. The format requires each entry's full account number in the file, so the file
  is sealed at rest with the data key (Fernet, ``<instance>/rails/ach/nacha/ACH-YYYYMMDD-<window>.ach.sealed``,
  readable by its owner only) and opened only to hand it to the bank's transport (the sandbox's is
  :class:`SandboxBank`); :meth:`AchSandbox.open_file` opens one for an operator or a test. Each file
  cycle (any submit, poll or cancel) also purges the files older than the rule files'
  ``nacha.retentionDays`` (days after the window's day), with the sealed account numbers the ledger kept
  for them.
- **Statuses.** PROCESSING until the cut-off; APPROVED once the file is sent; SETTLED (SEND) or
  CLEARED (REQUEST) on the settlement date; returns arrive one banking day after settlement at 10:00
  (REVERSED with the return code), and a transfer is final two banking days after settlement.
- **Cancel** is allowed until the window's cut-off (the entry is left out of the file).

Test values (the customer's bank account; any routing number with a valid check digit, say 110000000):

=====================  ====================================================================
Account number         Outcome
=====================  ====================================================================
000123456789           settles (so does any number not listed here)
000222222227           returned after settlement: R01 insufficient funds
000111111113           returned after settlement: R02 account closed
000111111116           returned after settlement: R03 no account / unable to locate account
=====================  ====================================================================

Amounts: 13.13 is declined at submission (the ODFI's risk check).

Settings (environment): ``LINX_ACH_COMPANY_NAME`` (16 characters, default ``LINX SANDBOX``),
``LINX_ACH_COMPANY_ID`` (10, default ``1234567890``), ``LINX_ACH_ODFI`` (the originating bank's
routing number, default ``110000000``).
"""
import contextlib
import datetime as dt
import json
import logging
import os
import tempfile
from decimal import Decimal
from pathlib import Path

from linx_core import clock, hookimpl
from linx_core.payments import RailError, RailStatus, Solution
from linx_core.sandbox import Ledger, iso, parse_time, pause_before_answer, transfer_fingerprint

from . import nacha
from .sandbox import EASTERN, add_banking_days, eastern, eastern_date, is_banking_day, next_banking_day, settling

log = logging.getLogger("linx.rails.ach")

NAME = "ach"
SAME_DAY_WINDOWS = (((10, 30), (13, 0)), ((14, 45), (17, 0)), ((16, 45), (18, 0)))  # (cut-off, settlement)
NEXT_DAY_CUTOFF = (17, 0)
NEXT_DAY_SETTLEMENT = (8, 30)
RETURN_AT = (1, (10, 0))  # banking days after settlement, time
FINAL_AT = (2, (17, 0))
RETURNS = {
    "000222222227": ("R01", "Insufficient funds"),
    "000111111113": ("R02", "Account closed"),
    "000111111116": ("R03", "No account / unable to locate account"),
}
DECLINED_AMOUNT = Decimal("13.13")
SEALED_SUFFIX = ".ach.sealed"
DEFAULT_RETENTION_DAYS = 90  # the rule files' default (``nacha.retentionDays``), for a rail built without rules


class SandboxBank:
    """The sandbox ODFI's file transport: it takes a NACHA file's clear text, as a bank's SFTP drop would.

    It keeps nothing: it checks the file's shape (records of 94 characters, a file header first) and logs
    the file's name and entry count, never its content. A real deployment passes its own ``transport``.
    """

    def __call__(self, name, text):
        records = text.splitlines()
        if not records or not records[0].startswith("101") or any(len(r) != nacha.RECORD_SIZE for r in records):
            raise RailError("FILE_REFUSED", f"The bank refused {name}: not a NACHA file.", permanent=False)
        log.info("ach: %s handed to the sandbox bank (%s entries)", name, sum(r.startswith("6") for r in records))

def windows_after(priority, moment):
    """The windows, ``(id, cut-off, settlement)``, of ``priority`` whose cut-off is after ``moment``, in order."""
    day = eastern_date(moment)
    for _ in range(400):
        if is_banking_day(day):
            if priority == "SAME_DAY":
                for n, (cut, settle) in enumerate(SAME_DAY_WINDOWS, 1):
                    cutoff = eastern(day, *cut)
                    if cutoff > moment:
                        yield f"{day:%Y%m%d}-SD{n}", cutoff, eastern(day, *settle)
            else:
                cutoff = eastern(day, *NEXT_DAY_CUTOFF)
                if cutoff > moment:
                    yield f"{day:%Y%m%d}-ND", cutoff, eastern(next_banking_day(day), *NEXT_DAY_SETTLEMENT)
        day += dt.timedelta(days=1)


class AchSandbox(Solution):
    name = NAME
    display_name = "ACH"
    description = "Same-day or next-day ACH credit (SEND) or debit (REQUEST) to a US bank account."
    transaction_types = ("SEND", "REQUEST")
    account_kinds = ("BANK",)
    account_subtypes = ("CHECKING", "SAVING")
    priorities = ("SAME_DAY", "NEXT_DAY")
    required_parameters = ("priority",)
    limits = {"USD": {"min": "0.01", "max": "1000000.00"}}

    def __init__(self, folder=None, seal=None, unseal=None, company_name=None, company_id=None, odfi=None,
                 transport=None, retention_days=None):
        """``transport(name, text)`` takes each file's clear text to the bank (default :class:`SandboxBank`);
        ``retention_days``: days a file is kept after its window's day, a number or a function returning one
        (the runtime's reads the rule files' ``nacha.retentionDays`` when the files are purged)."""
        self.folder = Path(folder) if folder else None
        self.ledger = Ledger(self.folder, "ach") if folder else None
        self.seal = seal
        self.unseal = unseal
        self.transport = transport or SandboxBank()
        self.retention_days = retention_days if retention_days is not None else DEFAULT_RETENTION_DAYS
        self.company_name = company_name or os.environ.get("LINX_ACH_COMPANY_NAME") or "LINX SANDBOX"
        self.company_id = company_id or os.environ.get("LINX_ACH_COMPANY_ID") or "1234567890"
        self.odfi = odfi or os.environ.get("LINX_ACH_ODFI") or "110000000"

    @property
    def files_folder(self):
        return self.folder / "nacha"

    def arrival(self, priority, now, locale="en"):
        """From the window an entry confirmed at ``now`` would go in: its cut-off decides the day.

        SAME_DAY settles the same business day until the day's last same-day cut-off, then the next
        business day; NEXT_DAY settles the next business day until its 17:00 cut-off, then a
        business day later. ``by`` is the window's settlement.
        """
        if priority not in self.priorities:
            return super().arrival(priority, now, locale)
        _, _, settle_at = next(windows_after(priority, now))
        return settling(now, settle_at)

    def can_pay(self, account):
        if account.kind != "BANK":
            return "ACH moves money with bank accounts only: use a checking or savings account."
        if account.subtype not in ("CHECKING", "SAVING"):
            return "ACH needs a checking or savings account."
        routing = account.routing_number or ""
        if not (len(routing) == 9 and routing.isdigit()):
            return "ACH needs the account's 9-digit routing number."
        if not (1 <= len(account.number) <= 17 and account.number.isascii() and account.number.isdigit()):
            return "An ACH account number is 1 to 17 digits."
        if not nacha.alpha(account.holder_name, 22).strip():
            return "ACH files carry the account holder's name in Latin letters: enter it that way."
        return None

    # -- the rail's calls ----------------------------------------------------------------------

    def submit(self, transfer, idempotency_key):
        self._require_ledger()
        if transfer.type not in self.transaction_types:
            raise RailError("UNSUPPORTED_TYPE", f"ACH does not do {transfer.type}.", permanent=True)
        if transfer.priority not in self.priorities:
            raise RailError("UNSUPPORTED_PRIORITY", "ACH needs a priority of SAME_DAY or NEXT_DAY.", permanent=True)
        if transfer.currency != "USD":
            raise RailError("UNSUPPORTED_CURRENCY", "ACH moves US dollars only.", permanent=True)
        refusal = self.can_pay(transfer.account)
        if refusal:
            raise RailError("ACCOUNT_NOT_ELIGIBLE", refusal, permanent=True)
        account = transfer.account
        fingerprint = transfer_fingerprint(transfer, account.routing_number + account.number[-4:])
        now = clock.now()
        self.close_due_windows(now)

        def make(reference):
            declined = transfer.amount == DECLINED_AMOUNT
            window_id, cutoff, settle_at = self._open_window(transfer.priority, now)
            code, reason = RETURNS.get(account.number, (None, None))
            settle_day = eastern_date(settle_at)
            return {
                "fingerprint": fingerprint, "type": transfer.type, "amount": str(transfer.amount),
                "currency": transfer.currency, "priority": transfer.priority, "subtype": account.subtype,
                "routing": account.routing_number, "sealedAccount": self._seal(account.number),
                "last4": account.number[-4:], "name": account.holder_name, "transferId": transfer.id,
                "businessAccountId": transfer.business_account_id, "submittedAt": iso(now),
                "status": "DECLINED" if declined else "QUEUED",
                "declineReason": "Refused by the originating bank's risk check (test amount 13.13)."
                if declined else None,
                "window": window_id, "cutoff": iso(cutoff), "settleAt": iso(settle_at),
                "returnCode": code, "returnReason": reason,
                "returnAt": iso(eastern(add_banking_days(settle_day, RETURN_AT[0]), *RETURN_AT[1])) if code else None,
                "finalAt": iso(eastern(add_banking_days(settle_day, FINAL_AT[0]), *FINAL_AT[1])),
            }

        data, created = self.ledger.record(idempotency_key, make)
        if not created and data["fingerprint"] != fingerprint:
            raise RailError("IDEMPOTENCY_KEY_REUSED", "This idempotency key was used for another transfer.",
                            permanent=True)
        if created:
            log.info("ach %s: %s %s %s for window %s", data["reference"], data["status"].lower(), data["type"],
                     data["amount"], data["window"])
            pause_before_answer()
        return self._status(data, clock.now())

    def status(self, reference):
        self._require_ledger()
        now = clock.now()
        self.close_due_windows(now)
        data = self.ledger.get(reference)
        if data is None:
            raise RailError("UNKNOWN_REFERENCE", f"No ACH entry {reference}.", permanent=True)
        return self._status(data, now)

    def cancel(self, reference):
        self._require_ledger()
        now = clock.now()
        self.close_due_windows(now)
        with self.ledger.transaction() as conn:
            row = conn.execute("SELECT data FROM transfers WHERE reference = ?", (reference,)).fetchone()
            if row is None:
                raise RailError("UNKNOWN_REFERENCE", f"No ACH entry {reference}.", permanent=True)
            data = json.loads(row["data"])
            if data["status"] == "CANCELLED":
                return RailStatus("CANCELLED", reference, "Cancelled before the window's cut-off.")
            if data["status"] != "QUEUED" or self._closed(conn, data["window"]):
                raise RailError("CANCEL_TOO_LATE", "The entry has left in a NACHA file: it cannot be cancelled.",
                                permanent=True)
            self.ledger.update(conn, reference, status="CANCELLED")
        return RailStatus("CANCELLED", reference, "Cancelled before the window's cut-off.")

    def _status(self, data, now):
        reference = data["reference"]
        if data["status"] == "DECLINED":
            return RailStatus("DECLINED", reference, data["declineReason"])
        if data["status"] == "CANCELLED":
            return RailStatus("CANCELLED", reference, "Cancelled before the window's cut-off.")
        cutoff, settle_at = parse_time(data["cutoff"]), parse_time(data["settleAt"])
        if data["status"] == "QUEUED" or now < cutoff:
            return RailStatus("PROCESSING", reference, f"Queued for the ACH window {data['window']}.", check_at=cutoff,
                              settle_at=settle_at)
        if now < settle_at:
            return RailStatus("APPROVED", reference, f"Sent in the NACHA file of window {data['window']}.",
                              check_at=settle_at, settle_at=settle_at)
        final = "SETTLED" if data["type"] == "SEND" else "CLEARED"
        done = "Settled: funds credited to the account." if data["type"] == "SEND" else \
            "Cleared: funds collected from the account."
        if data["returnCode"]:
            return_at = parse_time(data["returnAt"])
            if now >= return_at:
                return RailStatus("REVERSED", reference, f"Returned by the receiving bank: {data['returnCode']} "
                                                         f"{data['returnReason'].lower()}.",
                                  return_code=data["returnCode"])
            return RailStatus(final, reference, done, check_at=return_at)
        final_at = parse_time(data["finalAt"])
        return RailStatus(final, reference, done, check_at=final_at if now < final_at else None)

    # -- windows and files ---------------------------------------------------------------------

    def _open_window(self, priority, now):
        """The first window of ``priority`` after ``now`` that is not closed (inside the ledger's transaction)."""
        for window_id, cutoff, settle_at in windows_after(priority, now):
            if not self._window_file(window_id).exists():
                return window_id, cutoff, settle_at
        raise RailError("NO_WINDOW", "No ACH window is open.", permanent=False)

    def _window_file(self, window_id):
        return self.files_folder / f"ACH-{window_id}{SEALED_SUFFIX}"

    def _closed(self, conn, window_id):
        return self._window_file(window_id).exists()

    def close_due_windows(self, now=None):
        """The file cycle: write, seal and hand to the bank the NACHA file of every window whose cut-off has
        passed, then purge the files past their retention. Returns the files written (sealed)."""
        if self.ledger is None:
            return []
        now = now or clock.now()
        written = []
        with self.ledger.transaction() as conn:
            rows = conn.execute("SELECT reference, data FROM transfers ORDER BY created_at, rowid").fetchall()
            due = {}
            for row in rows:
                data = json.loads(row["data"])
                if data["status"] == "QUEUED" and parse_time(data["cutoff"]) <= now:
                    due.setdefault(data["window"], []).append(dict(data, reference=row["reference"]))
            for window_id, entries in sorted(due.items(), key=lambda kv: kv[1][0]["cutoff"]):
                path = self._write_file(window_id, entries)
                try:
                    self._hand_to_bank(path)
                except Exception as exc:  # noqa: BLE001 - not sent: no file, the entries stay queued for the next cycle
                    path.unlink(missing_ok=True)
                    log.warning("ach window %s: the bank's transport did not take the file: %s: %s", window_id,
                                type(exc).__name__, getattr(exc, "reason", exc))
                    continue
                for entry in entries:
                    self.ledger.update(conn, entry["reference"], status="SENT", file=path.name)
                written.append(path)
                log.info("ach window %s: %s entries in %s", window_id, len(entries), path.name)
        self.purge_files(now)
        return written

    def _hand_to_bank(self, path):
        """Open the sealed file and give its clear text to the bank's transport: the only place it is opened
        (but :meth:`open_file`, an operator's or a test's)."""
        self.transport(path.name[: -len(SEALED_SUFFIX)] + ".ach", self.open_file(path))

    def open_file(self, path):
        """The clear text of the sealed NACHA file ``path`` (one of :meth:`files`), for an operator or a test."""
        return self._unseal(Path(path).read_text(encoding="ascii"))

    def purge_files(self, now=None):
        """Delete the NACHA files older than the retention (days after their window's day, Eastern), and the
        sealed account numbers the ledger kept for them. Returns the names purged."""
        if self.ledger is None or not self.files_folder.exists():
            return []
        self.seal_clear_files()
        now = now or clock.now()
        days = self.retention_days() if callable(self.retention_days) else self.retention_days
        oldest_kept = eastern_date(now) - dt.timedelta(days=int(days))
        purged = []
        for path in self.files():
            try:
                day = dt.datetime.strptime(path.name.split("-")[1], "%Y%m%d").date()
            except (IndexError, ValueError):
                continue  # not a file of this rail's naming: left alone
            if day >= oldest_kept:
                continue
            with self.ledger.transaction() as conn:
                for row in conn.execute("SELECT reference, data FROM transfers").fetchall():
                    data = json.loads(row["data"])
                    if data.get("file") == path.name and data.get("sealedAccount"):
                        self.ledger.update(conn, row["reference"], sealedAccount=None, purgedAt=iso(now))
                path.unlink(missing_ok=True)
            purged.append(path.name)
        if purged:
            log.info("ach: purged %s NACHA file(s) older than %s days: %s", len(purged), days, ", ".join(purged))
        return purged

    def seal_clear_files(self):
        """Seal in place the clear NACHA files an earlier version wrote (``ACH-*.ach``), so that no full account
        number stays on disk after an upgrade; the purge then keeps or deletes them by their day like the others.
        Returns the names sealed."""
        sealed = []
        for clear in sorted(self.files_folder.glob("ACH-*.ach")):
            path = self._write_sealed(self.files_folder / (clear.name + ".sealed"), clear.read_text(encoding="ascii"))
            with self.ledger.transaction() as conn:  # its entries name the sealed file now (the purge finds them)
                for row in conn.execute("SELECT reference, data FROM transfers").fetchall():
                    if json.loads(row["data"]).get("file") == clear.name:
                        self.ledger.update(conn, row["reference"], file=path.name)
            clear.unlink()
            sealed.append(clear.name)
        if sealed:
            log.warning("ach: sealed %s clear NACHA file(s) written before files were sealed: %s", len(sealed),
                        ", ".join(sealed))
        return sealed

    def _write_file(self, window_id, entries):
        cutoff = parse_time(entries[0]["cutoff"])
        settle_at = parse_time(entries[0]["settleAt"])
        settle_day = eastern_date(settle_at)
        same_day = "-SD" in window_id
        batches = {}
        for entry in entries:
            batch = batches.get(entry["businessAccountId"])
            if batch is None:
                batch = batches[entry["businessAccountId"]] = nacha.Batch(
                    company_name=self.company_name, company_id=self.company_id, entry_class="PPD",
                    description="PAYMENT", effective_date=settle_day,
                    descriptive_date=f"SD{settle_at.astimezone(EASTERN):%H%M}" if same_day else "",
                    discretionary=entry["businessAccountId"].replace("-", "")[:20])
            batch.entries.append(nacha.Entry(
                code=nacha.transaction_code("CREDIT" if entry["type"] == "SEND" else "DEBIT", entry["subtype"]),
                routing=entry["routing"], account=self._unseal(entry["sealedAccount"]),
                amount_cents=nacha.cents(Decimal(entry["amount"])),
                individual_id=entry["transferId"].replace("-", "")[:15], name=entry["name"]))
        day_index = {"SD1": "A", "SD2": "B", "SD3": "C", "ND": "D"}[window_id.split("-")[1]]
        header = nacha.FileHeader(destination_routing=self.odfi, destination_name="SANDBOX ODFI",
                                  origin=self.company_id, origin_name=self.company_name,
                                  created=cutoff.astimezone(EASTERN), file_id_modifier=day_index,
                                  reference=window_id.split("-")[1])
        text = nacha.write(header, list(batches.values()), self.odfi)
        folder = self.files_folder
        folder.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(OSError):
            os.chmod(folder, 0o700)
        path = self._window_file(window_id)
        self._write_sealed(path, text)  # the clear text never touches the disk
        return path

    def _write_sealed(self, path, text):
        """``text`` sealed, written atomically to ``path`` (mode 0600)."""
        sealed = self._seal(text)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=SEALED_SUFFIX)
        with os.fdopen(fd, "w", encoding="ascii", newline="") as fh:
            fh.write(sealed)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
        return path

    def files(self):
        """The sealed NACHA files kept (written, not yet purged), by name; open one with :meth:`open_file`."""
        if self.folder is None or not self.files_folder.exists():
            return []
        return sorted(self.files_folder.glob(f"ACH-*{SEALED_SUFFIX}"))

    # -- helpers ---------------------------------------------------------------------------------

    def _seal(self, number):
        return self.seal(number) if self.seal else None

    def _unseal(self, sealed):
        if not self.unseal or not sealed:
            raise RailError("NOT_CONFIGURED", "The ACH rail cannot open sealed account numbers.", permanent=True)
        return self.unseal(sealed)

    def _require_ledger(self):
        if self.ledger is None or self.seal is None:
            raise RailError("NOT_CONFIGURED", "This ACH rail was built without a folder or a vault.", permanent=True)


def for_runtime(rt):
    if rt is None:  # rules only (``load_rules``): no transfer is ever made with it
        return AchSandbox()
    return AchSandbox(Path(rt.settings.instance_path) / "rails" / NAME,
                      seal=lambda number: rt.vault.seal_text(number), unseal=lambda sealed: rt.vault.unseal(sealed),
                      retention_days=lambda: rt.rules.nacha["retentionDays"])  # rt.rules is built after the rails


@hookimpl
def linx_solutions(rt):
    return [for_runtime(rt)]
