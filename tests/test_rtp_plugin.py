"""A third-party rail, ``rtp`` (``tests/rtp_plugin``, its own distribution found by entry point), passes the
contract and completes workflows with no change to LinX; the rules take ``solution: rtp`` only when it is loaded."""
import datetime as dt
import re

import pytest

from linx_core import clock
from linx_core.payments import AccountDetails
from linx_core.plugins import make_manager
from linx_core.store.models import Workflow
from linx_core.testing.solutions import SolutionContract

from .conftest import ROOT
from .journeys import BANK_FORM, api_for, body, create, freeze, rail_runtime, reload, run, to_confirmation

linx_rtp = pytest.importorskip("linx_rtp", reason="install it: pip install -e tests/rtp_plugin")
TUESDAY = dt.datetime(2026, 2, 3, 15, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def real_clock_afterwards():
    """Tests here freeze the clock; the next test gets the real one back."""
    yield
    clock.set_clock(None)


class TestRtpContract(SolutionContract):
    @pytest.fixture
    def solution(self, tmp_path):
        return linx_rtp.RtpSandbox(tmp_path / "rtp")

    @pytest.fixture
    def payable_account(self):
        return AccountDetails(kind="BANK", subtype="CHECKING", number="000123456789", holder_name="Jane Doe",
                              routing_number="110000000", last4="6789")

    @pytest.fixture
    def unpayable_account(self):
        return AccountDetails(kind="CARD", subtype="DEBIT", number="4000056655665556", last4="5556")


class TestRtpRequestContract(TestRtpContract):
    @pytest.fixture
    def transfer_type(self):
        return "REQUEST"


def with_entry_points(rt, tmp_path):
    return rail_runtime(rt, tmp_path, plugins=make_manager(load_entrypoints=True))


def test_it_is_found_by_its_entry_point_only():
    assert make_manager().get_plugin("rtp") is None  # not under tests unless asked
    plugin = make_manager(load_entrypoints=True).get_plugin("rtp")
    assert plugin is linx_rtp


def test_the_rules_take_rtp_only_when_the_plugin_is_loaded(rt, demo, tmp_path):
    without = api_for(rail_runtime(rt, tmp_path), demo[1])
    refused = without.create(None, raw=body(solution="rtp", phone="+16475550501"))
    assert refused.status_code == 422
    assert "parameters.solution" in [e["path"] for e in refused.get_json()["errors"]]
    runtime = with_entry_points(rt, tmp_path)
    assert runtime.rules.solutions["rtp"]["displayName"] == "Real-time payments"
    assert create(api_for(runtime, demo[1]), body(solution="rtp", phone="+16475550501"))
    # its own rules apply: it takes no SAME_DAY priority
    response = api_for(runtime, demo[1]).create(None, raw=body(solution="rtp", priority="SAME_DAY"))
    assert response.status_code == 422
    assert [e["path"] for e in response.get_json()["errors"]] == ["parameters.priority"]


@pytest.mark.parametrize("type, final", [("SEND", "SETTLED"), ("REQUEST", "CLEARED")])
def test_a_workflow_completes_end_to_end(rt, demo, tmp_path, type, final):
    frozen = freeze(TUESDAY)
    runtime = with_entry_points(rt, tmp_path)
    workflow_id = create(api_for(runtime, demo[1]), body(solution="rtp", type=type, phone="+16475550502"))
    tx = to_confirmation(runtime, workflow_id, BANK_FORM)
    run(runtime)
    frozen.advance(seconds=30)
    run(runtime)
    tx = reload(tx)
    assert tx.status == final and tx.rail_reference.startswith("rtp_")
    assert Workflow.get_by_id(workflow_id).status == "COMPLETED"
    assert len(runtime.solution("rtp").ledger.transfers()) == 1


def test_a_rejection_declines(rt, demo, tmp_path):
    freeze(TUESDAY)
    runtime = with_entry_points(rt, tmp_path)
    workflow_id = create(api_for(runtime, demo[1]), body(solution="rtp", phone="+16475550503"))
    tx = to_confirmation(runtime, workflow_id, dict(BANK_FORM, accountNumber="000987650000"))
    run(runtime)
    assert reload(tx).status == "DECLINED" and "AC04" in reload(tx).message
    assert Workflow.get_by_id(workflow_id).status == "FAILED"


def test_linx_itself_does_not_name_rtp():
    for folder in ("linx_core", "plugins", "gateway_app"):
        for source in (ROOT / folder).rglob("*.py"):
            assert not re.search(r"\brtp\b", source.read_text(), re.I), source


def test_an_instant_third_party_rail_promises_its_own_arrival(rt, tmp_path):
    rtp = with_entry_points(rt, tmp_path).solution("rtp")
    promise = rtp.arrival("IMMEDIATE", TUESDAY, "fr-CA")
    assert promise.kind == "minutes" and promise.phrase == "within minutes"
