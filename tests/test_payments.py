"""``linx_core.payments``: a solution's declared capabilities make its rule fragment; its arrival promise."""
import datetime as dt

import pytest

from linx_core.payments import ARRIVAL_KINDS, Arrival, Solution
from linx_core.rules import load_rules, solution_fragments

NOW = dt.datetime(2026, 2, 3, 14, 0, tzinfo=dt.UTC)


class Declared(Solution):
    name = "declared"
    display_name = "Declared"
    description = "A rail that only declares what it can do."
    transaction_types = ("SEND",)
    account_kinds = ("BANK",)
    account_subtypes = ("CHECKING",)
    priorities = ("NEXT_DAY",)
    required_parameters = ("priority", "description")
    limits = {"USD": {"min": "1.00", "max": "500.00"}}
    billing_address = "required"


def test_the_rule_fragment_is_derived_from_the_declared_capabilities():
    assert Declared().rule_fragment() == {
        "displayName": "Declared", "description": "A rail that only declares what it can do.",
        "transactionTypes": ["SEND"], "financialAccountSubTypes": ["CHECKING"], "priorities": ["NEXT_DAY"],
        "parameters": {"required": ["priority", "description"], "optional": []},
        "limits": {"USD": {"min": "1.00", "max": "500.00"}}, "billingAddress": "required"}
    book = load_rules(fragments=solution_fragments([Declared()]))
    entry = book.solutions["declared"]
    assert entry["priorities"] == ["NEXT_DAY"] and entry["billingAddress"] == "required"


def test_the_fragment_is_the_callers_to_change():
    first = Declared().rule_fragment()
    first["limits"]["USD"]["max"] = "1.00"
    assert Declared.limits["USD"]["max"] == "500.00"
    assert Declared().rule_fragment()["limits"]["USD"]["max"] == "500.00"


def test_a_solution_that_knows_no_better_promises_a_few_business_days():
    promise = Declared().arrival("NEXT_DAY", NOW, "en")
    assert promise == Arrival("business-days") and promise.phrase == "in a few business days"


@pytest.mark.parametrize("kind, phrase", [("minutes", "within minutes"),
                                          ("same-business-day", "the same business day"),
                                          ("next-business-day", "the next business day"),
                                          ("business-days", "in a few business days")])
def test_each_kind_has_the_phrase_the_gateway_translates(kind, phrase):
    assert Arrival(kind).phrase == ARRIVAL_KINDS[kind] == phrase


@pytest.mark.parametrize("kind, by", [("soon", None), ("minutes", dt.datetime(2026, 2, 3, 14, 0))])
def test_an_arrival_is_refused_when_it_is_not_one_the_gateway_can_word(kind, by):
    with pytest.raises(ValueError):
        Arrival(kind, by)
