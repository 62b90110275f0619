"""Every built-in rail passes the solution contract (``linx_core.testing.solutions``)."""
import pytest
from cryptography.fernet import Fernet

from linx_core.payments import AccountDetails
from linx_core.testing.solutions import SolutionContract
from linx_core.vault import Vault
from linx_plugins.ach import AchSandbox
from linx_plugins.push_to_card import PushToCardSandbox
from linx_plugins.wire import WireSandbox

ADDRESS = {"street": "1 Main Street", "city": "New York", "state": "NY", "postalCode": "10001", "country": "USA"}


class TestPushToCard(SolutionContract):
    @pytest.fixture
    def solution(self, tmp_path):
        return PushToCardSandbox(tmp_path / "push-to-card")

    @pytest.fixture
    def payable_account(self):
        return AccountDetails(kind="CARD", subtype="DEBIT", number="4000056655665556", holder_name="Jane Doe",
                              brand="VISA", expiry="2030-12", last4="5556")

    @pytest.fixture
    def unpayable_account(self):
        return AccountDetails(kind="CARD", subtype="DEBIT", number="4111111111111111", holder_name="Jane Doe",
                              brand="VISA", expiry="2030-12", last4="1111")


class TestAch(SolutionContract):
    max_checks = 20

    @pytest.fixture
    def solution(self, tmp_path):
        vault = Vault(Fernet.generate_key().decode())
        return AchSandbox(tmp_path / "ach", seal=vault.seal_text, unseal=vault.unseal)

    @pytest.fixture
    def payable_account(self):
        return AccountDetails(kind="BANK", subtype="CHECKING", number="000123456789", holder_name="Jane Doe",
                              routing_number="110000000", last4="6789")

    @pytest.fixture
    def unpayable_account(self):
        return AccountDetails(kind="CARD", subtype="DEBIT", number="4000056655665556", holder_name="Jane Doe",
                              brand="VISA", last4="5556")


class TestAchRequest(TestAch):
    @pytest.fixture
    def transfer_type(self):
        return "REQUEST"


class TestWire(SolutionContract):
    @pytest.fixture
    def solution(self, tmp_path):
        return WireSandbox(tmp_path / "wire")

    @pytest.fixture
    def payable_account(self):
        return AccountDetails(kind="BANK", subtype="CHECKING", number="000123456789", holder_name="Jane Doe",
                              routing_number="110000000", billing_address=ADDRESS, last4="6789")

    @pytest.fixture
    def unpayable_account(self):
        return AccountDetails(kind="BANK", subtype="CHECKING", number="000123456789", holder_name="Jane Doe",
                              routing_number="110000000", billing_address=None, last4="6789")
