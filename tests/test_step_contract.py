"""Every built-in step kind passes the step-kind contract (``linx_core.testing.steps``)."""
from decimal import Decimal

import pytest

from linx_core import clock
from linx_core.services.businesses import add_financial_account
from linx_core.store.models import Customer, CustomerFinancialAccount
from linx_core.testing.steps import StepKindContract
from linx_plugins.steps.customer_account import CustomerAccount
from linx_plugins.steps.document_acceptance import DocumentAcceptanceStep
from linx_plugins.steps.enhance_profile import EnhanceProfile
from linx_plugins.steps.financial_account import FinancialAccount
from linx_plugins.steps.lookup_financial_account import LookupFinancialAccount
from linx_plugins.steps.lookup_profile import LookupProfile
from linx_plugins.steps.move_money import MoveMoney
from linx_plugins.steps.notification import Notification

PHONE = "+16475550101"
PROFILE = {"firstName": "Jane", "lastName": "Roe", "email": "jane@example.com"}
CARD = {"holderName": "Jane Roe", "cardNumber": "4000056655665556", "expiry": "12/30", "postalCode": "10001"}
NOTIFY = {"channel": "SMS", "phoneNumber": PHONE, "introductoryMessage": "Hello"}


def body(steps, **parameters):
    return {"title": "Contract", "expireIn": "2", "parameters": dict(NOTIFY, **parameters),
            "steps": [{"name": name} for name in ["notification", *steps]]}


def customer_of(rt, business):
    return Customer.create(business=business.id, status="ACTIVE", first_name="John", last_name="Doe",
                           phone_number=PHONE, email="john@example.com", created_at=clock.now())


def card_of(rt, customer):
    sealed = rt.vault.seal("4000056655665556")
    return CustomerFinancialAccount.create(
        business=customer.business_id, customer=customer.id, type="CARD", subtype="DEBIT", state="ACTIVE",
        holder_name="John Doe", sealed_number=sealed.sealed, last4=sealed.last4, masked_number=sealed.masked,
        fingerprint=sealed.fingerprint, brand="VISA", expiry="2030-12", currency="USD", created_at=clock.now())


def payment(rt, business):
    account = add_financial_account(rt, business, "Operating")
    return dict(transactionType="SEND", solution="push-to-card", baFinancialAccountId=str(account.id),
                currency="USD", amount=Decimal("256.25"), priority="IMMEDIATE", paymentReasonId="payment-of-rebates")


class TestNotification(StepKindContract):
    kind = Notification()
    workflow = body(["customer-account"])
    stays = True  # no page: the first message completes it, never a post

    def test_the_good_post_completes_the_step_once(self, rt, at_step):  # noqa: D102 - it has no post
        assert not self.kind.has_page


class TestCustomerAccount(StepKindContract):
    kind = CustomerAccount()
    workflow = body(["customer-account"])
    good_form = PROFILE


class TestLookupProfile(StepKindContract):
    kind = LookupProfile()

    def workflow_body(self, rt, business):
        return body(["lookup-profile"], customerId=str(customer_of(rt, business).id))


class SkipThatWrites(LookupProfile):
    """A kind that does complete's work in skip: the contract must catch it."""

    def skip(self, act):
        act.data(customerId=str(act.workflow.customer_id))
        return {}


class TestTheSkipContractCatchesASkipThatWrites(TestLookupProfile):
    kind = SkipThatWrites()

    def test_skip_answers_values_for_complete_or_none_and_asking_changes_nothing(self, rt, at_step):
        with pytest.raises(AssertionError, match="skip called act.data or act.save"):
            super().test_skip_answers_values_for_complete_or_none_and_asking_changes_nothing(rt, at_step)


class TestEnhanceProfile(StepKindContract):
    kind = EnhanceProfile()
    good_form = {"salutation": "Ms", "dateOfBirth": "1990-04-01", "mailingAddress.street": "1 Main Street",
                 "mailingAddress.city": "Toronto", "mailingAddress.state": "ON", "mailingAddress.postalCode": "M5V 2T6"}

    def workflow_body(self, rt, business):
        return body(["lookup-profile", "enhance-profile"], customerId=str(customer_of(rt, business).id),
                    profileFields=["salutation", "dateOfBirth", "mailingAddress"])


class TestFinancialAccount(StepKindContract):
    kind = FinancialAccount()
    workflow = body(["customer-account", "financial-account"], financialAccountSubType="DEBIT")
    forms = {"customer-account": PROFILE}
    good_form = CARD


class TestLookupFinancialAccount(StepKindContract):
    kind = LookupFinancialAccount()

    def workflow_body(self, rt, business):
        customer = customer_of(rt, business)
        return body(["lookup-profile", "lookup-financial-account", "move-money"], customerId=str(customer.id),
                    customerFinancialAccountId=str(card_of(rt, customer).id), **payment(rt, business))


class TestDocumentAcceptance(StepKindContract):
    kind = DocumentAcceptanceStep()
    workflow = body(["customer-account", "document-acceptance"],
                    documents=[{"documentId": "privacy-policy"}, {"documentId": "terms-of-service"}])
    forms = {"customer-account": PROFILE}
    good_form = {"accept-privacy-policy": "yes", "accept-terms-of-service": "yes"}


class TestMoveMoney(StepKindContract):
    kind = MoveMoney()
    forms = {"customer-account": PROFILE, "financial-account": CARD}
    stays = True  # the transaction's outcome completes it

    def workflow_body(self, rt, business):
        return body(["customer-account", "financial-account", "move-money"], financialAccountSubType="DEBIT",
                    **payment(rt, business))


def test_the_gateway_and_the_journey_name_no_step():
    """The Gateway dispatches to step kinds and the journey completes through them: neither names a step."""
    import ast
    from pathlib import Path

    from linx_core.rules import load_rules

    root = Path(__file__).resolve().parent.parent
    names = set(load_rules().steps)
    sources = list((root / "gateway_app").rglob("*.py")) + [root / "linx_core" / "services" / "journey.py"]
    for source in sources:
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                assert node.value not in names, f"{source.relative_to(root)}:{node.lineno} names the step {node.value}"


def test_a_step_of_the_rules_that_no_kind_provides_is_refused_with_its_place():
    import pytest

    from linx_core.errors import RuleFileError
    from linx_core.plugins import make_manager
    from linx_core.rules import load_rules, step_entries
    from linx_core.steps import kinds_by_name

    kinds = kinds_by_name(make_manager(load_entrypoints=False).hook.linx_step_kinds(rt=None))
    entries = step_entries(k for name, k in kinds.items() if name != "enhance-profile")
    with pytest.raises(RuleFileError) as refused:
        load_rules(steps=entries, installed_only=True)
    assert [p.code for p in refused.value.problems] == ["RULE_STEP_NOT_INSTALLED"]
    assert refused.value.problems[0].path.startswith("steps.yaml:")
    assert "no installed step kind is named 'enhance-profile'" in refused.value.problems[0].message


def test_an_admin_entry_is_merged_over_the_kinds_own(tmp_path):
    import shutil

    import pytest

    from linx_core.errors import RuleFileError
    from linx_core.rules import default_rules_dir, load_rules

    entry = {"order": 3, "displayName": "Email check", "parameters": {"required": ["email"]}}
    plain = load_rules(steps=[("plugin x", "email-check", entry)])
    assert plain.steps["email-check"]["displayName"] == "Email check"
    rules = tmp_path / "rules"
    shutil.copytree(default_rules_dir(), rules)
    with open(rules / "steps.yaml", "a", encoding="utf-8") as fh:
        fh.write("\n  email-check:\n    order: 3\n    displayName: Email address check\n")
    merged = load_rules(rules, steps=[("plugin x", "email-check", entry)])
    assert merged.steps["email-check"]["displayName"] == "Email address check"  # the admin's word
    assert merged.steps["email-check"]["parameters"]["required"] == ["email"]  # the kind's, kept
    with pytest.raises(RuleFileError) as refused:
        load_rules(steps=[("plugin x", "email-check", ["not", "a", "mapping"])])
    assert refused.value.problems[0].code == "RULE_ENTRY_SHAPE"
    assert refused.value.problems[0].path == "plugin x: steps.email-check"
