"""Link tokens, passcodes and API keys: made at random, stored only as hashes.

Tokens and API keys carry 256 random bits, so a plain SHA-256 is a safe store.
Passcodes are short, so they are hashed with HMAC-SHA-256 under the server's
secret key: a copy of the database alone does not reveal them.
"""
import hashlib
import hmac
import secrets

API_KEY_PREFIX = "lx_"


def new_token() -> str:
    """A link token: 256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_api_key() -> tuple[str, str, str]:
    """``(key, prefix, hash)``: the key is shown once; the prefix lets an admin tell keys apart."""
    key = API_KEY_PREFIX + secrets.token_urlsafe(32)
    return key, key[:10], token_hash(key)


def new_passcode(digits: int = 6) -> str:
    return "".join(secrets.choice("0123456789") for _ in range(digits))


def passcode_hash(secret_key: str, workflow_id: object, passcode: str) -> str:
    message = f"{workflow_id}:{passcode}".encode()
    return hmac.new(secret_key.encode(), message, hashlib.sha256).hexdigest()


def passcode_matches(secret_key: str, workflow_id: object, passcode: str, stored: str | None) -> bool:
    return hmac.compare_digest(passcode_hash(secret_key, workflow_id, passcode), stored or "")
