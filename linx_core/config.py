"""Settings: defaults, then ``LINX_*`` environment variables, then overrides.

Secrets (``LINX_SECRET_KEY`` for hashes, ``LINX_DATA_KEY`` for the vault) come
from the environment. In development (``LINX_ENV=development``) missing ones are
generated once and kept in the instance folder, so ``make run`` needs no set-up;
elsewhere a missing secret is a configuration error that says what to set, and so is a weak one
(:func:`check_secrets`): a forged session cookie or a derived API key is only as hard to make as the
secret key is to guess. ``linx secrets generate`` (:func:`generate_secrets`) prints strong ones.
"""
import base64
import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import Field, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

from .errors import ConfigurationError


@dataclass(frozen=True)
class Settings:
    env: str = "production"
    database_url: str = "sqlite:///linx.db"
    rules_dir: str = ""  # empty: the rule files installed with LinX
    instance_path: str = "instance"
    secret_key: str = ""
    data_key: str = ""
    public_url: str = "http://127.0.0.1:8000"
    max_body_bytes: int = 1_048_576
    log_format: str = "text"  # json: one JSON object per line, with the request's traceId
    ready_max_job_lag_seconds: int = 300  # /readyz fails when the oldest due job has waited longer
    metrics_token: str = ""  # the bearer token /metrics and /readyz's details ask for (outside development)
    proxy_hops: int = 0  # reverse proxies in front of LinX whose X-Forwarded-* headers are trusted
    idempotency_ttl_hours: int = 24
    page_size_max: int = 100
    clock_speed: float = 1.0  # >1 speeds time up for demos (reminders, expiry); production keeps 1
    job_lease_seconds: int = 60
    job_retention_days: int = 7
    worker_poll_seconds: float = 1.0
    twilio_account_sid: str = ""
    twilio_auth_token: str = ""
    twilio_from_number: str = ""
    twilio_messaging_service_sid: str = ""
    twilio_api_url: str = ""  # empty: Twilio itself; tests point it at a fake API on loopback
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_starttls: bool = True
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_from: str = ""
    webhook_timeout_seconds: float = 15.0
    webhook_allow_private: bool = False  # development allows loopback receivers
    rail_timeout_seconds: float = 30.0  # a rail's answer later than this is taken as lost (0: wait for ever)
    send_pacing: str = "auto"  # on | off | auto: the senders' pace (rules' notifications.rates), on in production
    quiet_hours: str = "auto"  # on | off | auto: no SMS LinX starts at night (rules' quietHours), on in production
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def development(self) -> bool:
        return self.env == "development"

    @property
    def pacing(self) -> bool:
        """Whether messages keep to their senders' pace (``send_pacing``; ``auto``: in production, where a real
        provider sends; development's console and the tests' frozen clocks need none)."""
        return self.send_pacing == "on" or (self.send_pacing == "auto" and self.env == "production")

    @property
    def quiet(self) -> bool:
        """Whether quiet hours hold the SMS LinX starts (``quiet_hours``; ``auto``: in production only)."""
        return self.quiet_hours == "on" or (self.quiet_hours == "auto" and self.env == "production")

    @classmethod
    def load(cls, environ: Mapping[str, str] | None = None, *, secrets: bool = True, **overrides: Any) -> "Settings":
        """Build settings from defaults, ``environ`` (``os.environ``) and ``overrides``.

        ``secrets=False`` skips the secrets, for commands that need none (``linx rules check``).
        """
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            key = "LINX_" + f.name.upper()
            if f.name != "extra" and key in environ:
                values[f.name] = _coerce(f, environ[key], key)
        values.update({k: v for k, v in overrides.items() if v is not None})
        unknown = set(values) - {f.name for f in fields(cls)}
        if unknown:
            raise ConfigurationError(f"Unknown setting(s): {', '.join(sorted(unknown))}")
        settings = cls(**values)
        if settings.clock_speed != 1 and settings.env not in ("development", "test"):
            raise ConfigurationError("LINX_CLOCK_SPEED is for demos: it needs LINX_ENV=development.")
        if settings.clock_speed <= 0:
            raise ConfigurationError("LINX_CLOCK_SPEED must be positive.")
        if settings.rail_timeout_seconds < 0:
            raise ConfigurationError("LINX_RAIL_TIMEOUT_SECONDS must be 0 (wait for ever) or a positive number "
                                     f"of seconds, not {settings.rail_timeout_seconds:g}.")
        for name in ("send_pacing", "quiet_hours"):
            value = getattr(settings, name)
            if value not in ("on", "off", "auto"):
                raise ConfigurationError(f"LINX_{name.upper()} must be on, off or auto, not {value!r}.")
        settings._check_metrics_token()
        return settings.with_secrets() if secrets else settings

    #: the shortest ``LINX_METRICS_TOKEN`` taken: a scraper's token is a secret, not a password to remember
    METRICS_TOKEN_MIN_LENGTH = 16

    def _check_metrics_token(self) -> None:
        """A token is printable ASCII without spaces (what an ``Authorization`` header can carry) and long enough
        to be guessed by no one; the message never repeats it."""
        token = self.metrics_token
        if not token:
            return
        if not (token.isascii() and token.isprintable()) or " " in token:
            raise ConfigurationError("LINX_METRICS_TOKEN must be printable ASCII without spaces "
                                     "(python -c 'import secrets; print(secrets.token_urlsafe(32))').")
        if len(token) < self.METRICS_TOKEN_MIN_LENGTH:
            raise ConfigurationError(f"LINX_METRICS_TOKEN must be at least {self.METRICS_TOKEN_MIN_LENGTH} "
                                     "characters (python -c 'import secrets; print(secrets.token_urlsafe(32))').")

    def with_secrets(self) -> "Settings":
        """Fill missing secrets from the instance folder in development, else refuse; refuse weak ones outside
        development (:func:`check_secrets`)."""
        if self.secret_key and self.data_key:
            self._check_data_key(self.data_key)
            if self.env not in LENIENT_ENVS:
                check_secrets(self.secret_key, self.data_key, self.env)
            return self
        if not self.development:
            missing = [n for n, v in (("LINX_SECRET_KEY", self.secret_key),
                                      ("LINX_DATA_KEY", self.data_key)) if not v]
            raise ConfigurationError(
                f"{' and '.join(missing)} must be set: `linx secrets generate` prints both, to paste into "
                "the environment of every LinX process (or set LINX_ENV=development, on a developer's machine "
                "only, to keep generated keys in the instance folder)."
            )
        stored = self._instance_secrets()
        return replace(self, secret_key=self.secret_key or stored["secret_key"],
                       data_key=self.data_key or stored["data_key"])

    def _instance_secrets(self) -> dict[str, str]:
        path = Path(self.instance_path) / "secrets.json"
        if path.exists():
            try:
                data = json.loads(path.read_text())
                self._check_data_key(data["data_key"])
                if not data.get("secret_key"):
                    raise KeyError("secret_key")
                return data
            except (ValueError, KeyError, TypeError) as exc:
                raise ConfigurationError(
                    f"{path}: not a LinX secrets file ({exc}); move it away to regenerate.") from None
        path.parent.mkdir(parents=True, exist_ok=True)
        fresh = generate_secrets()
        data = {"secret_key": fresh["LINX_SECRET_KEY"], "data_key": fresh["LINX_DATA_KEY"]}
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh)
        return data

    @staticmethod
    def _check_data_key(key: str) -> None:
        if _fernet_bytes(key) is None:
            raise ConfigurationError("LINX_DATA_KEY is not a Fernet key (32 url-safe base64-encoded bytes): "
                                     "`linx secrets generate` prints one.")


#: the environments where weak secrets are let through: a developer's machine alone. Not ``test``: a server
#: started with ``LINX_ENV=test`` (or any other name) is a real server, and the suite runs with strong keys.
LENIENT_ENVS = ("development",)
SECRET_KEY_MIN_LENGTH = 32
SECRET_KEY_MIN_DISTINCT = 10
DATA_KEY_HALF_MIN_DISTINCT = 8  # distinct bytes in each 16-byte half of a Fernet key (random: 16 in 10^13 fall short)
#: secret keys seen in examples, tutorials and test suites, compared without case or separators (-, _, ., space)
PLACEHOLDERS = frozenset({"changeme", "changeit", "secret", "secretkey", "mysecret", "supersecret", "password",
                          "passw0rd", "testsecretkey", "test", "testing", "dev", "development", "devkey",
                          "default", "insecure", "example", "linx", "linxsecretkey", "letmein", "xxx", "todo"})
#: words that mark a placeholder whatever surrounds them ("please-change-me-...", "your-secret-key-here")
PLACEHOLDER_WORDS = ("changeme", "changethis", "replaceme", "placeholder", "yoursecret", "notasecret",
                     "insecure", "example")


def check_secrets(secret_key: str, data_key: str, env: str = "production") -> None:
    """Refuse secrets too weak for ``env``: a secret key under :data:`SECRET_KEY_MIN_LENGTH` characters, a
    known placeholder, one of fewer than :data:`SECRET_KEY_MIN_DISTINCT` distinct characters, or a shorter
    string repeated (:func:`_period`); a data key that is not a Fernet key, whose bytes run in equal steps
    (``bytes(range(32))``; an all-zero key is the step 0), or whose signing or encryption half is nearly one
    byte repeated; the same value for both. The secret key signs the Gateway's session cookies and derives
    the demo API key: guessed, it opens a customer's steps with no link and no passcode.

    The message names the settings and the fix, never the secret itself.
    """
    problems = []
    normal = "".join(ch for ch in secret_key.lower() if ch not in "-_. ")
    if normal in PLACEHOLDERS or any(word in normal for word in PLACEHOLDER_WORDS):
        problems.append("LINX_SECRET_KEY is a placeholder from an example")
    elif len(secret_key) < SECRET_KEY_MIN_LENGTH:
        problems.append(f"LINX_SECRET_KEY has {len(secret_key)} characters (at least {SECRET_KEY_MIN_LENGTH} "
                        "are needed)")
    elif len(set(secret_key)) < SECRET_KEY_MIN_DISTINCT:
        problems.append(f"LINX_SECRET_KEY has {len(set(secret_key))} distinct characters (at least "
                        f"{SECRET_KEY_MIN_DISTINCT} are needed)")
    elif _period(secret_key) is not None:
        problems.append("LINX_SECRET_KEY is a shorter string repeated")
    raw = _fernet_bytes(data_key)
    if raw is None:
        problems.append("LINX_DATA_KEY is not a Fernet key (32 url-safe base64-encoded bytes)")
    elif len(set(raw)) == 1:
        problems.append("LINX_DATA_KEY is one byte repeated")
    elif len({(b - a) % 256 for a, b in zip(raw, raw[1:], strict=False)}) == 1:
        problems.append("LINX_DATA_KEY is not random (its bytes run in equal steps)")
    elif min(len(set(raw[:16])), len(set(raw[16:]))) < DATA_KEY_HALF_MIN_DISTINCT:
        problems.append("LINX_DATA_KEY is not random (a half of it is nearly one byte repeated)")
    if secret_key == data_key:
        problems.append("LINX_SECRET_KEY and LINX_DATA_KEY are the same")
    if problems:
        raise ConfigurationError(
            f"Weak secrets for LINX_ENV={env}: {'; '.join(problems)}. Run `linx secrets generate` and set the "
            "LINX_SECRET_KEY and LINX_DATA_KEY lines it prints in the environment of every LinX process "
            "(a new LINX_SECRET_KEY ends the Gateway's sessions and the passcodes sent with the old one, not the "
            "API keys: revoke those with `linx business revoke-key`; a new LINX_DATA_KEY cannot open the numbers "
            "sealed with the old one). Weak keys are allowed only with "
            "LINX_ENV=development.")


def generate_secrets() -> dict[str, str]:
    """Fresh ``LINX_SECRET_KEY`` (64 url-safe characters, 384 random bits) and ``LINX_DATA_KEY`` (a Fernet
    key), drawn again in the (astronomically rare) case that :func:`check_secrets` would refuse them."""
    while True:
        values = {"LINX_SECRET_KEY": secrets.token_urlsafe(48), "LINX_DATA_KEY": Fernet.generate_key().decode()}
        try:
            check_secrets(values["LINX_SECRET_KEY"], values["LINX_DATA_KEY"])
        except ConfigurationError:  # pragma: no cover - about 1 draw in 10^12
            continue
        return values


def _period(text: str) -> int | None:
    """The shortest ``p`` at most half of ``text``'s length such that ``text`` is its first ``p`` characters
    repeated (the last copy may be cut short: ``'0123456789' * 4``, ``'abc' * 11 + 'a'``), or None. A random
    32-character key has none; a typed pattern has one, and is as easy to guess as its first copy."""
    for p in range(1, len(text) // 2 + 1):
        if text[p:] == text[:-p]:
            return p
    return None


def _fernet_bytes(key: str) -> bytes | None:
    """The 32 bytes of a Fernet key, or None if ``key`` is not one."""
    try:
        raw = base64.urlsafe_b64decode(key.encode())
    except (ValueError, TypeError):
        return None
    return raw if len(raw) == 32 else None


def _coerce(f: Field[Any], raw: str, key: str) -> object:
    if f.type is bool:
        if raw.lower() in ("1", "true", "yes", "on"):
            return True
        if raw.lower() in ("0", "false", "no", "off", ""):
            return False
        raise ConfigurationError(f"{key}={raw!r}: true or false is required.")
    if f.type in (int, float):
        try:
            return f.type(raw)
        except ValueError:
            raise ConfigurationError(f"{key}={raw!r}: a number is required.") from None
    return raw
