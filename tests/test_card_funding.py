"""A card's funding type comes from plugins (``linx_card_funding``), not from the core: the sandbox's push-to-card
rail knows the networks' test numbers, a BIN plugin knows others, and a number nobody knows is not refused."""
import pytest

from linx_core import accounts, hookimpl
from linx_core.errors import RuleViolation
from linx_core.plugins import make_manager

from .journeys import CARD_FORM, api_for, body, create, rail_runtime, to_confirmation

BIN_CREDIT = "4242424242424242"  # a valid Visa number that is no network's test number


class BinTable:
    @hookimpl
    def linx_card_funding(self, number):
        return {BIN_CREDIT: "CREDIT"}.get(number)


def test_the_core_holds_no_card_data_and_the_sandbox_rail_answers_for_its_test_numbers():
    assert not hasattr(accounts, "TEST_CARD_FUNDING")
    bare = make_manager(load_entrypoints=False)
    bare.unregister(name="linx_plugins.push_to_card")
    assert accounts.card_funding(bare, "4111 1111 1111 1111") is None  # unknown: not refused
    shipped = make_manager(load_entrypoints=False)
    assert accounts.card_funding(shipped, "4111-1111-1111-1111") == "CREDIT"
    assert accounts.card_funding(shipped, "4000056655665556") == "DEBIT"
    assert accounts.card_funding(shipped, BIN_CREDIT) is None


@pytest.mark.parametrize("with_bin_plugin", [True, False])
def test_a_bin_plugin_refuses_a_credit_card_the_sandbox_does_not_know(rt, demo, tmp_path, with_bin_plugin):
    plugins = make_manager(load_entrypoints=False, extra=[BinTable()] if with_bin_plugin else [])
    runtime = rail_runtime(rt, tmp_path, plugins=plugins)
    workflow_id = create(api_for(runtime, demo[1]), body(phone="+14165550199"))
    form = dict(CARD_FORM, cardNumber=BIN_CREDIT)
    if with_bin_plugin:
        with pytest.raises(RuleViolation) as refused:
            to_confirmation(runtime, workflow_id, account_form=form, confirm=False)
        assert [(p.path, p.code) for p in refused.value.problems] == [("cardNumber", "NOT_A_DEBIT_CARD")]
    else:  # nobody knows the number: the customer's DEBIT stands
        assert to_confirmation(runtime, workflow_id, account_form=form, confirm=False) is None
