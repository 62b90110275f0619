"""ACH: same-day and next-day windows on the clock, a NACHA file per window, settlement, returns."""
import datetime as dt
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from linx_core import clock
from linx_core.payments import AccountDetails, RailError, Transfer
from linx_core.store.models import Event, Job, Notification, Workflow
from linx_core.vault import Vault
from linx_plugins.ach import AchSandbox, windows_after
from linx_plugins.sandbox import holidays

from . import nacha_reader
from .journeys import BANK_FORM, api_for, body, create, freeze, rail_runtime, reload, run, to_confirmation

UTC = dt.UTC
TUESDAY_9AM = dt.datetime(2026, 2, 3, 14, 0, tzinfo=UTC)  # 09:00 in New York (EST)


@pytest.fixture(autouse=True)
def real_clock_afterwards():
    """Tests here freeze the clock; the next test gets the real one back."""
    yield
    clock.set_clock(None)


def at(day, hour, minute=0):
    """``day`` (2026-02-DD) at hour:minute New York time (EST, UTC-5), as UTC."""
    return dt.datetime(2026, 2, day, hour, minute, tzinfo=UTC) + dt.timedelta(hours=5)


@pytest.fixture
def ach(tmp_path):
    vault = Vault(Fernet.generate_key().decode())
    return AchSandbox(tmp_path / "ach", seal=vault.seal_text, unseal=vault.unseal)


def bank(number="000123456789", subtype="CHECKING", routing="110000000", name="Jane Doe"):
    return AccountDetails(kind="BANK", subtype=subtype, number=number, holder_name=name, routing_number=routing,
                          last4=number[-4:])


def transfer(n=1, type="SEND", amount="100.00", priority="SAME_DAY", **account):
    return Transfer(id=f"00000000-0000-0000-0000-{n:012d}", type=type, amount=Decimal(amount), currency="USD",
                    account=bank(**account), business_account_id="31c6d624-6a0c-4049-b1f1-f3ea7d00ba35",
                    priority=priority)


# -- the calendar and the windows ---------------------------------------------------------------


def first_window(priority, moment):
    return next(windows_after(priority, moment))


@pytest.mark.parametrize("moment, window, cutoff, settlement", [
    (at(3, 9), "20260203-SD1", at(3, 10, 30), at(3, 13)),
    (at(3, 10, 30), "20260203-SD2", at(3, 14, 45), at(3, 17)),  # the cut-off itself is too late
    (at(3, 14, 44), "20260203-SD2", at(3, 14, 45), at(3, 17)),
    (at(3, 15), "20260203-SD3", at(3, 16, 45), at(3, 18)),
    (at(3, 17), "20260204-SD1", at(4, 10, 30), at(4, 13)),
    (at(6, 17), "20260209-SD1", at(9, 10, 30), at(9, 13)),  # Friday evening: Monday
    (at(7, 9), "20260209-SD1", at(9, 10, 30), at(9, 13)),  # Saturday
    (at(13, 17), "20260217-SD1", at(17, 10, 30), at(17, 13)),  # Friday before Presidents' Day
])
def test_same_day_windows(moment, window, cutoff, settlement):
    assert first_window("SAME_DAY", moment) == (window, cutoff, settlement)


@pytest.mark.parametrize("moment, window, cutoff, settlement", [
    (at(3, 9), "20260203-ND", at(3, 17), at(4, 8, 30)),
    (at(3, 17), "20260204-ND", at(4, 17), at(5, 8, 30)),
    (at(6, 12), "20260206-ND", at(6, 17), at(9, 8, 30)),  # Friday: settles Monday
    (at(13, 12), "20260213-ND", at(13, 17), at(17, 8, 30)),  # Presidents' Day skipped
    (at(14, 12), "20260217-ND", at(17, 17), at(18, 8, 30)),
])
def test_next_day_windows(moment, window, cutoff, settlement):
    assert first_window("NEXT_DAY", moment) == (window, cutoff, settlement)


def test_the_federal_reserve_holidays_of_2026():
    # Independence Day falls on a Saturday in 2026: the Federal Reserve does not move it to Friday
    assert sorted(holidays(2026)) == [dt.date(2026, 1, 1), dt.date(2026, 1, 19), dt.date(2026, 2, 16),
                                      dt.date(2026, 5, 25), dt.date(2026, 6, 19), dt.date(2026, 7, 4),
                                      dt.date(2026, 9, 7), dt.date(2026, 10, 12),
                                      dt.date(2026, 11, 11), dt.date(2026, 11, 26), dt.date(2026, 12, 25)]


def test_windows_follow_daylight_saving_time():
    # 10:30 in New York is 14:30 UTC in summer (EDT, UTC-4)
    summer = dt.datetime(2026, 7, 7, 12, 0, tzinfo=UTC)
    assert first_window("SAME_DAY", summer)[1] == dt.datetime(2026, 7, 7, 14, 30, tzinfo=UTC)


# -- the rail ------------------------------------------------------------------------------------


def test_an_entry_waits_for_its_window_then_settles(ach):
    frozen = freeze(at(3, 9))
    answer = ach.submit(transfer(), "key-1")
    assert (answer.status, answer.check_at) == ("PROCESSING", at(3, 10, 30))
    assert ach.files() == []
    frozen.advance(minutes=90)  # 10:30: the cut-off
    answer = ach.status(answer.reference)
    assert (answer.status, answer.check_at) == ("APPROVED", at(3, 13))
    assert [p.name for p in ach.files()] == ["ACH-20260203-SD1.ach.sealed"]
    frozen.advance(hours=2, minutes=30)  # 13:00: settlement
    answer = ach.status(answer.reference)
    assert (answer.status, answer.check_at) == ("SETTLED", at(5, 17))  # returns may come for two banking days
    frozen.advance(days=2, hours=4)
    answer = ach.status(answer.reference)
    assert (answer.status, answer.check_at) == ("SETTLED", None)


def test_a_request_clears(ach):
    frozen = freeze(at(3, 9))
    answer = ach.submit(transfer(type="REQUEST", priority="NEXT_DAY"), "key-1")
    assert (answer.status, answer.check_at) == ("PROCESSING", at(3, 17))
    frozen.advance(hours=8)
    assert ach.status(answer.reference).status == "APPROVED"
    frozen.advance(hours=16)  # Wednesday 09:00
    assert ach.status(answer.reference).status == "CLEARED"


@pytest.mark.parametrize("number, code, reason", [
    ("000222222227", "R01", "insufficient funds"),
    ("000111111113", "R02", "account closed"),
    ("000111111116", "R03", "no account / unable to locate account"),
])
def test_documented_returns_come_after_settlement(ach, number, code, reason):
    frozen = freeze(at(3, 9))
    reference = ach.submit(transfer(number=number), "key-1").reference
    frozen.advance(hours=4)  # 13:00, settled
    settled = ach.status(reference)
    assert (settled.status, settled.check_at) == ("SETTLED", at(4, 10))
    frozen.advance(hours=21)  # Wednesday 10:00
    returned = ach.status(reference)
    assert (returned.status, returned.return_code, returned.check_at) == ("REVERSED", code, None)
    assert reason in returned.message


def test_the_documented_amount_is_declined(ach):
    freeze(at(3, 9))
    answer = ach.submit(transfer(amount="13.13"), "key-1")
    assert answer.status == "DECLINED" and "13.13" in answer.message


@pytest.mark.parametrize("change, code", [
    ({"priority": "IMMEDIATE"}, "UNSUPPORTED_PRIORITY"),
    ({"currency": "CAD"}, "UNSUPPORTED_CURRENCY"),
])
def test_what_ach_refuses(ach, change, code):
    import dataclasses

    with pytest.raises(RailError) as caught:
        ach.submit(dataclasses.replace(transfer(), **change), "key-1")
    assert caught.value.permanent and caught.value.code == code


def test_can_pay(ach):
    assert ach.can_pay(bank()) is None
    assert ach.can_pay(bank(subtype="SAVING")) is None
    assert "bank accounts only" in ach.can_pay(AccountDetails(kind="CARD", subtype="DEBIT", number="4000056655665556"))
    assert "routing number" in ach.can_pay(bank(routing=None))


def test_cancel_before_the_cut_off_leaves_the_entry_out_of_the_file(ach):
    frozen = freeze(at(3, 9))
    kept = ach.submit(transfer(1), "key-1").reference
    dropped = ach.submit(transfer(2, amount="7.00"), "key-2").reference
    assert ach.cancel(dropped).status == "CANCELLED"
    frozen.advance(hours=2)
    assert ach.status(dropped).status == "CANCELLED"
    assert ach.status(kept).status == "APPROVED"
    parsed = nacha_reader.read(ach.open_file(ach.files()[0]))
    assert [e["amountCents"] for b in parsed["batches"] for e in b["entries"]] == [10000]
    with pytest.raises(RailError) as caught:
        ach.cancel(kept)
    assert caught.value.permanent and caught.value.code == "CANCEL_TOO_LATE"


def test_each_window_writes_its_own_file(ach):
    frozen = freeze(at(3, 9))
    ach.submit(transfer(1), "key-1")
    frozen.advance(hours=2)  # 11:00: SD1 closed, the next entry is for SD2
    second = ach.submit(transfer(2, amount="2.00"), "key-2")
    assert second.check_at == at(3, 14, 45)
    ach.submit(transfer(3, amount="3.00", priority="NEXT_DAY"), "key-3")
    frozen.advance(hours=6)  # 17:00: SD2, SD3 (empty) and ND have closed
    ach.close_due_windows()
    assert [p.name for p in ach.files()] == ["ACH-20260203-ND.ach.sealed", "ACH-20260203-SD1.ach.sealed",
                                             "ACH-20260203-SD2.ach.sealed"]
    amounts = {p.name: [e["amountCents"] for b in nacha_reader.read(ach.open_file(p))["batches"] for e in b["entries"]]
               for p in ach.files()}
    assert amounts == {"ACH-20260203-SD1.ach.sealed": [10000], "ACH-20260203-SD2.ach.sealed": [200],
                       "ACH-20260203-ND.ach.sealed": [300]}


def test_the_ledger_never_holds_a_full_account_number(ach):
    freeze(at(3, 9))
    ach.submit(transfer(number="000987654321"), "key-1")
    assert "000987654321" not in (ach.folder / "ledger.sqlite3").read_bytes().decode("latin-1")
    wal = ach.folder / "ledger.sqlite3-wal"
    assert not wal.exists() or "000987654321" not in wal.read_bytes().decode("latin-1")


# -- through LinX ---------------------------------------------------------------------------------


def ach_workflow(rt, demo, tmp_path, type="SEND", account="000123456789", subtype="CHECKING", amount="256.25",
                 priority="SAME_DAY", phone="+16475550201"):
    frozen = freeze(at(3, 9))
    runtime = rail_runtime(rt, tmp_path)
    api = api_for(runtime, demo[1])
    workflow_id = create(api, body(solution="ach", type=type, subtype=subtype, amount=amount, priority=priority,
                                   phone=phone))
    tx = to_confirmation(runtime, workflow_id, dict(BANK_FORM, accountNumber=account, subtype=subtype))
    run(runtime)
    return runtime, frozen, workflow_id, reload(tx)


def statuses(tx):
    from linx_core.services.transactions import history

    return [h.status for h in history(tx)]


def advance_to(frozen, moment):
    frozen.advance(seconds=(moment - frozen.now()).total_seconds())


@pytest.mark.parametrize("type, subtype, code, final, origin", [
    ("SEND", "CHECKING", "22", "SETTLED", "COMPLETION_SEND"),
    ("REQUEST", "SAVING", "37", "CLEARED", "COMPLETION_REQUEST"),
])
def test_a_transfer_through_linx_waits_for_its_window_and_settles(rt, demo, tmp_path, type, subtype, code, final,
                                                                 origin):
    runtime, frozen, workflow_id, tx = ach_workflow(rt, demo, tmp_path, type=type, subtype=subtype)
    assert tx.status == "PROCESSING" and tx.rail_reference.startswith("ach_")
    assert Job.get(Job.kind == "transaction.poll").run_at == at(3, 10, 30)
    advance_to(frozen, at(3, 10, 30))
    run(runtime)
    assert reload(tx).status == "APPROVED"
    [path] = runtime.solution("ach").files()
    parsed = nacha_reader.read(runtime.solution("ach").open_file(path))
    [entry] = parsed["batches"][0]["entries"]
    assert (entry["code"], entry["amountCents"], entry["account"], entry["routing"]) == \
        (code, 25625, "000123456789", "110000000")
    assert entry["individualId"] == str(tx.id).replace("-", "").upper()[:15]
    advance_to(frozen, at(3, 13))
    run(runtime)
    assert reload(tx).status == final
    assert Workflow.get_by_id(workflow_id).status == "COMPLETED"
    assert Notification.select().where((Notification.workflow == workflow_id)
                                       & (Notification.origin == origin)).exists()
    poll = Job.get(Job.kind == "transaction.poll")
    assert poll.status == "DUE" and poll.run_at == at(5, 17)  # watching for returns
    advance_to(frozen, at(5, 17))
    run(runtime)
    assert Job.get_by_id(poll.id).status == "DONE"
    assert statuses(reload(tx)) == ["NEW", "PENDING", "PROCESSING", "APPROVED", final]


@pytest.mark.parametrize("type, account, code", [
    ("SEND", "000222222227", "R01"),
    ("SEND", "000111111113", "R02"),
    ("REQUEST", "000111111116", "R03"),
])
def test_a_return_after_settlement_reverses_the_transaction_with_an_event(rt, demo, tmp_path, type, account, code):
    runtime, frozen, workflow_id, tx = ach_workflow(rt, demo, tmp_path, type=type, account=account)
    advance_to(frozen, at(3, 13))
    run(runtime)
    final = "SETTLED" if type == "SEND" else "CLEARED"
    assert reload(tx).status == final
    assert Workflow.get_by_id(workflow_id).status == "COMPLETED"
    advance_to(frozen, at(4, 10))
    run(runtime)
    tx = reload(tx)
    assert (tx.status, tx.return_code) == ("REVERSED", code)
    assert statuses(tx) == ["NEW", "PENDING", "PROCESSING", "APPROVED", final, "REVERSED"]
    events = [e.data for e in Event.select().where((Event.type == "transactions.status-changed")
                                                   & (Event.subject_id == tx.id))]
    reversed_ = [d for d in events if d["status"] == "REVERSED"]
    assert len(reversed_) == 1
    assert reversed_[0]["previousStatus"] == final and reversed_[0]["returnCode"] == code
    assert Job.get(Job.kind == "transaction.poll").status == "DONE"


def test_the_documented_amount_is_declined_through_linx(rt, demo, tmp_path):
    runtime, frozen, workflow_id, tx = ach_workflow(rt, demo, tmp_path, amount="13.13")
    assert tx.status == "DECLINED"
    assert Workflow.get_by_id(workflow_id).status == "FAILED"


def test_a_next_day_transfer_after_the_friday_cut_off_settles_on_tuesday_after_a_holiday(rt, demo, tmp_path):
    frozen = freeze(at(13, 17, 30))  # Friday, after the cut-off; Monday is Presidents' Day
    runtime = rail_runtime(rt, tmp_path)
    workflow_id = create(api_for(runtime, demo[1]), body(solution="ach", priority="NEXT_DAY", phone="+16475550202"))
    tx = to_confirmation(runtime, workflow_id, BANK_FORM)
    run(runtime)
    assert Job.get(Job.kind == "transaction.poll").run_at == at(17, 17)
    advance_to(frozen, at(17, 17))
    run(runtime)
    assert reload(tx).status == "APPROVED"
    assert [p.name for p in runtime.solution("ach").files()] == ["ACH-20260217-ND.ach.sealed"]
    advance_to(frozen, at(18, 8, 30))
    run(runtime)
    assert reload(tx).status == "SETTLED"


def test_the_rules_take_bank_accounts_with_a_priority(rt, demo, tmp_path):
    runtime = rail_runtime(rt, tmp_path)
    api = api_for(runtime, demo[1])
    no_priority = body(solution="ach").replace('"priority": "SAME_DAY", ', "")
    for raw, path in ((no_priority, "parameters.priority"),
                      (body(solution="ach", priority="IMMEDIATE"), "parameters.priority"),
                      (body(solution="ach", subtype="DEBIT"), "parameters.financialAccountSubType"),
                      (body(solution="ach", currency="CAD"), "parameters.currency")):
        response = api.create(None, raw=raw)
        assert response.status_code == 422, response.get_json()
        assert path in [e["path"] for e in response.get_json()["errors"]], response.get_json()


# -- the arrival promise ------------------------------------------------------------------------------


@pytest.mark.parametrize("moment, priority, kind, settles", [
    (at(3, 9), "SAME_DAY", "same-business-day", at(3, 13)),          # the first window of the day
    (at(3, 16, 44), "SAME_DAY", "same-business-day", at(3, 18)),     # the last window, before its cut-off
    (at(3, 16, 45), "SAME_DAY", "next-business-day", at(4, 13)),     # after the last cut-off: tomorrow's first
    (at(6, 17), "SAME_DAY", "next-business-day", at(9, 13)),         # Friday evening: Monday
    (at(7, 12), "SAME_DAY", "next-business-day", at(9, 13)),         # Saturday: Monday, the next business day
    (at(3, 16, 59), "NEXT_DAY", "next-business-day", at(4, 8, 30)),  # before the 17:00 cut-off
    (at(3, 17), "NEXT_DAY", "business-days", at(5, 8, 30)),          # after it: a business day later
    (at(13, 12), "NEXT_DAY", "next-business-day", at(17, 8, 30)),    # Friday before Presidents' Day: Tuesday
])
def test_the_arrival_promise_follows_the_cut_offs(moment, priority, kind, settles):
    promise = AchSandbox().arrival(priority, moment, "en")
    assert (promise.kind, promise.by) == (kind, settles)


def test_the_promise_is_what_the_rail_then_does(ach):
    freeze(at(3, 16, 50))
    promise = ach.arrival("SAME_DAY", clock.now(), "fr-CA")
    answer = ach.submit(transfer(priority="SAME_DAY"), "key-1")
    assert ach.ledger.get(answer.reference)["settleAt"] == promise.by.isoformat()


def test_a_holder_name_nacha_cannot_carry_is_refused(rt):
    cyrillic = AccountDetails(kind="BANK", subtype="CHECKING", number="000123456789", holder_name="Иван Петров",
                              routing_number="011000015", last4="6789")
    assert "Latin" in rt.solution("ach").can_pay(cyrillic)


# -- the files at rest: sealed, handed to the bank, purged -------------------------------------------------


def clear_hits(folder, number):
    """The files under ``folder`` holding ``number`` in clear (SQLite files and WALs included)."""
    return [p for p in Path(folder).rglob("*") if p.is_file() and number in p.read_bytes().decode("latin-1")]


def test_a_nacha_file_is_sealed_at_rest_and_opened_only_for_the_banks_transport(tmp_path):
    vault = Vault(Fernet.generate_key().decode())
    handed = []
    ach = AchSandbox(tmp_path / "ach", seal=vault.seal_text, unseal=vault.unseal,
                     transport=lambda name, text: handed.append((name, text)))
    frozen = freeze(at(3, 9))
    ach.submit(transfer(number="000987654321"), "key-1")
    frozen.advance(hours=2)
    [path] = ach.close_due_windows()
    assert path.name == "ACH-20260203-SD1.ach.sealed" and clear_hits(tmp_path, "000987654321") == []
    [(name, text)] = handed  # the bank got the clear file, under its NACHA name
    assert name == "ACH-20260203-SD1.ach" and text == ach.open_file(path)
    [entry] = nacha_reader.read(text)["batches"][0]["entries"]
    assert entry["account"] == "000987654321"
    other = Vault(Fernet.generate_key().decode())
    with pytest.raises(Exception, match="does not open"):  # another data key cannot open it
        AchSandbox(tmp_path / "ach", seal=other.seal_text, unseal=other.unseal).open_file(path)


def test_a_file_the_bank_does_not_take_is_written_again_at_the_next_cycle(tmp_path):
    vault = Vault(Fernet.generate_key().decode())
    down = [True]

    def transport(name, text):
        if down[0]:
            raise OSError("connection refused")

    ach = AchSandbox(tmp_path / "ach", seal=vault.seal_text, unseal=vault.unseal, transport=transport)
    frozen = freeze(at(3, 9))
    reference = ach.submit(transfer(), "key-1").reference
    frozen.advance(hours=2)
    assert ach.close_due_windows() == [] and ach.files() == []
    assert ach.status(reference).status == "PROCESSING"
    down[0] = False
    assert [p.name for p in ach.close_due_windows()] == ["ACH-20260203-SD1.ach.sealed"]
    assert ach.status(reference).status == "APPROVED"


def test_nacha_files_are_purged_after_the_retention_days_of_the_rule_files(rt, demo, tmp_path):
    rules = tmp_path / "rules"
    shutil.copytree(Path(__file__).resolve().parents[1] / "rules", rules,
                    ignore=shutil.ignore_patterns("__pycache__"))
    (rules / "nacha.yaml").write_text("nacha:\n  retentionDays: 5\n")
    frozen = freeze(at(3, 9))
    runtime = rail_runtime(rt, tmp_path / "instance", rules_dir=str(rules))
    assert runtime.rules.nacha == {"retentionDays": 5}
    ach = runtime.solution("ach")
    workflow_id = create(api_for(runtime, demo[1]), body(solution="ach", phone="+16475550203"))
    tx = to_confirmation(runtime, workflow_id, dict(BANK_FORM, accountNumber="000444555666"))
    run(runtime)
    advance_to(frozen, at(3, 10, 30))
    run(runtime)
    assert reload(tx).status == "APPROVED"
    [path] = ach.files()
    assert "000444555666" in ach.open_file(path) and clear_hits(tmp_path, "000444555666") == []
    [kept] = ach.ledger.transfers()
    assert kept["sealedAccount"] and kept["file"] == path.name

    advance_to(frozen, at(8, 23))  # five days after the window's day: still kept
    assert ach.purge_files() == [] and path.exists()
    advance_to(frozen, at(9, 0, 1))  # the sixth day: the next file cycle purges it
    ach.status(kept["reference"])
    assert not path.exists() and ach.files() == []
    [purged] = ach.ledger.transfers()
    assert purged["sealedAccount"] is None and purged["purgedAt"]
    assert ach.status(kept["reference"]).status == "SETTLED"  # the entry's history stays


@pytest.mark.parametrize("value", ["0", "-1", "'90'", "9999", "[]"])
def test_a_bad_retention_is_refused_with_its_place(value, tmp_path):
    from linx_core.errors import RuleFileError
    from linx_core.rules import load_rules

    rules = tmp_path / "rules"
    shutil.copytree(Path(__file__).resolve().parents[1] / "rules", rules,
                    ignore=shutil.ignore_patterns("__pycache__"))
    (rules / "nacha.yaml").write_text(f"nacha:\n  retentionDays: {value}\n")
    with pytest.raises(RuleFileError) as caught:
        load_rules(rules)
    assert [p.path for p in caught.value.problems] == ["nacha.yaml:2: nacha.retentionDays"], caught.value.problems


def test_without_a_nacha_section_files_are_kept_90_days(tmp_path):
    from linx_core.rules import load_rules

    rules = tmp_path / "rules"
    shutil.copytree(Path(__file__).resolve().parents[1] / "rules", rules,
                    ignore=shutil.ignore_patterns("__pycache__"))
    (rules / "nacha.yaml").unlink()
    assert load_rules(rules).nacha == {"retentionDays": 90}


def test_clear_nacha_files_from_before_the_upgrade_are_sealed_then_purged_by_their_day(ach):
    """Files written in clear by an earlier version (``ACH-*.ach``) are sealed in place at the next file cycle,
    their entries follow them, and the retention then applies (found by review: they stayed in clear forever)."""
    freeze(at(3, 9))
    ach.submit(transfer(1), "key-1")  # a file cycle's ledger and folder exist
    folder = ach.files_folder
    folder.mkdir(parents=True, exist_ok=True)
    old_text, recent_text = "101 OLD 000999888777\n", "101 RECENT 000111222333\n"
    (folder / "ACH-20200101-SD1.ach").write_text(old_text, encoding="ascii")
    (folder / "ACH-20260202-ND.ach").write_text(recent_text, encoding="ascii")
    ach.purge_files(at(3, 9))
    assert not list(folder.glob("ACH-*.ach"))  # no clear file left
    names = [p.name for p in ach.files()]
    assert "ACH-20200101-SD1.ach.sealed" not in names  # past the retention: gone
    assert "ACH-20260202-ND.ach.sealed" in names
    recent = folder / "ACH-20260202-ND.ach.sealed"
    assert "000111222333" not in recent.read_text() and ach.open_file(recent) == recent_text
