"""Card and account numbers: sealed with Fernet, shown only masked.

A row keeps the sealed number, the last four digits, a masked form and a
fingerprint (HMAC of the number under the data key) that finds a duplicate
account without decrypting anything.
"""
import hashlib
import hmac
from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken

from .errors import ConfigurationError


@dataclass(frozen=True)
class Sealed:
    sealed: str
    last4: str
    masked: str
    fingerprint: str


class Vault:
    def __init__(self, data_key: str | bytes) -> None:
        key = data_key.encode() if isinstance(data_key, str) else data_key
        try:
            self._fernet = Fernet(key)
        except (ValueError, TypeError):
            raise ConfigurationError("LINX_DATA_KEY is not a Fernet key.") from None
        self._mac_key = hashlib.sha256(b"linx-fingerprint:" + key).digest()

    def seal(self, number: str) -> Sealed:
        digits = "".join(ch for ch in number if ch.isdigit())
        if not digits or digits != number.replace(" ", "").replace("-", ""):
            raise ValueError("an account number is digits only")
        return Sealed(
            sealed=self._fernet.encrypt(digits.encode()).decode(),
            last4=digits[-4:],
            masked=mask(digits),
            fingerprint=self.fingerprint(digits),
        )

    def seal_text(self, text: str) -> str:
        """Seal a secret that is not an account number (a webhook signing secret); open it with unseal()."""
        return self._fernet.encrypt(text.encode()).decode()

    def unseal(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken:
            raise ConfigurationError(
                "A sealed number does not open with LINX_DATA_KEY (was the key changed?).") from None

    def fingerprint(self, digits: str) -> str:
        return hmac.new(self._mac_key, digits.encode(), hashlib.sha256).hexdigest()


def mask(digits: str) -> str:
    """All but the last four digits hidden: ``************4242``."""
    return "*" * max(len(digits) - 4, 0) + digits[-4:]
