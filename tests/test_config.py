"""Settings: defaults, the environment, overrides, and what each setting allows."""
import base64

import pytest
from cryptography.fernet import Fernet

from gateway_app import create_app
from linx_core import devfile
from linx_core.config import Settings, check_secrets, generate_secrets
from linx_core.errors import ConfigurationError


def test_the_clock_can_be_sped_up_only_for_demos():
    with pytest.raises(ConfigurationError, match="LINX_CLOCK_SPEED"):
        Settings.load(environ={}, env="production", clock_speed=60, secret_key="k", data_key="x")


# -- secrets: weak ones refused outside development (issue 12, item 1) --------------------------------

STRONG = generate_secrets()
SECRET, DATA = STRONG["LINX_SECRET_KEY"], STRONG["LINX_DATA_KEY"]
ZERO_KEY = base64.urlsafe_b64encode(bytes(32)).decode()


def production(secret_key=SECRET, data_key=DATA, env="production"):
    return Settings.load(environ={}, env=env, secret_key=secret_key, data_key=data_key)


@pytest.mark.parametrize("secret_key, why", [
    ("a", "has 1 characters"),
    ("changeme", "placeholder"),
    ("Change_Me", "placeholder"),
    ("test-secret-key", "placeholder"),
    ("secret", "placeholder"),
    ("please-change-me-to-a-long-random-string-0123456789", "placeholder"),
    ("k" * 31 + "x", "2 distinct characters"),
    ("abcdabcdabcdabcdabcdabcdabcdabcdabcd", "4 distinct characters"),
    ("7Qx2vR9mKp4Wz8Ns3Jd6Hb1Lf5Tc0Y", "has 30 characters"),
    ("0123456789" * 4, "a shorter string repeated"),
    ("abcdefghij" * 4, "a shorter string repeated"),
    ("7Qx2vR9mKp4Wz8Ns3Jd" * 2 + "7Qx", "a shorter string repeated"),  # the last copy cut short
])
def test_a_weak_secret_key_is_refused_in_production_with_the_setting_and_the_fix(secret_key, why):
    with pytest.raises(ConfigurationError) as refused:
        production(secret_key=secret_key)
    message = str(refused.value)
    assert "LINX_SECRET_KEY" in message and why in message and "linx secrets generate" in message
    assert "invalidates the API keys" not in message and "not the API keys" in message  # they are plain hashes
    if len(secret_key) > 6:
        assert secret_key not in message  # the message never shows the secret


@pytest.mark.parametrize("data_key, why", [
    (ZERO_KEY, "one byte repeated"),
    (base64.urlsafe_b64encode(b"\xaa" * 32).decode(), "one byte repeated"),
    (base64.urlsafe_b64encode(bytes(16) + bytes(range(16))).decode(), "nearly one byte repeated"),
    (base64.urlsafe_b64encode(bytes(range(16)) + b"\x01\x02" * 8).decode(), "nearly one byte repeated"),
    (base64.urlsafe_b64encode(bytes(range(32))).decode(), "run in equal steps"),
    (base64.urlsafe_b64encode(bytes(range(255, 255 - 3 * 32, -3))).decode(), "run in equal steps"),
    (base64.urlsafe_b64encode(bytes((200 + 7 * i) % 256 for i in range(32))).decode(), "run in equal steps"),
    ("x", "not a Fernet key"),
    (base64.urlsafe_b64encode(bytes(range(31))).decode(), "not a Fernet key"),
])
def test_a_weak_or_broken_data_key_is_refused_in_production(data_key, why):
    with pytest.raises(ConfigurationError, match="LINX_DATA_KEY") as refused:
        production(data_key=data_key)
    assert why in str(refused.value)


def test_the_same_value_for_both_keys_is_refused():
    with pytest.raises(ConfigurationError, match="are the same"):
        production(secret_key=DATA)


@pytest.mark.parametrize("env", ["production", "staging", "prod", "", "test"])
def test_every_environment_but_development_refuses_weak_secrets(env):
    with pytest.raises(ConfigurationError, match="Weak secrets"):
        production(secret_key="changeme", data_key=ZERO_KEY, env=env)
    assert production(env=env).secret_key == SECRET


def test_development_alone_takes_any_secret():
    assert production(secret_key="a", data_key=ZERO_KEY, env="development").secret_key == "a"


def test_generated_secrets_are_fresh_and_pass_the_check():
    drawn = [generate_secrets() for _ in range(20)]
    assert len({d["LINX_SECRET_KEY"] for d in drawn}) == 20 and len({d["LINX_DATA_KEY"] for d in drawn}) == 20
    for values in drawn:
        check_secrets(values["LINX_SECRET_KEY"], values["LINX_DATA_KEY"])
        Fernet(values["LINX_DATA_KEY"].encode())  # a key cryptography takes


def test_the_web_app_does_not_boot_in_production_with_a_weak_secret(tmp_path):
    with pytest.raises(ConfigurationError, match="LINX_SECRET_KEY"):
        create_app(test_config=dict(env="production", secret_key="changeme", data_key=DATA,
                                    database_url=f"sqlite:///{tmp_path / 'linx.db'}"))


def test_development_keeps_strong_generated_secrets_in_the_instance_folder(tmp_path):
    settings = Settings.load(environ={}, env="development", instance_path=str(tmp_path))
    check_secrets(settings.secret_key, settings.data_key)
    assert (tmp_path / "secrets.json").stat().st_mode & 0o777 == 0o600


# -- instance/linx.env: make run's development settings, for `linx` run in the clone -----------------------------

def test_the_development_file_is_read_only_from_the_current_folder_in_development(tmp_path):
    devfile.write(tmp_path / devfile.PATH, {"LINX_ENV": "development", "LINX_PUBLIC_URL": "http://127.0.0.1:9000",
                                             "HOME": "/not/taken"})
    assert (tmp_path / devfile.PATH).stat().st_mode & 0o777 == 0o600
    assert devfile.read(tmp_path / devfile.PATH) == {"LINX_ENV": "development",
                                                     "LINX_PUBLIC_URL": "http://127.0.0.1:9000"}
    (tmp_path / ".git").mkdir()  # a clone
    assert devfile.applies({}, tmp_path) == tmp_path / devfile.PATH
    assert devfile.applies({"LINX_ENV": "development"}, tmp_path) == tmp_path / devfile.PATH
    assert devfile.applies({"LINX_ENV": "production"}, tmp_path) is None
    assert devfile.applies({"LINX_ENV": "test"}, tmp_path) is None
    assert devfile.applies({}, tmp_path / "elsewhere") is None

    environ = {"LINX_PUBLIC_URL": "https://mine.example", "PATH": "/bin"}
    with devfile.applied(environ, tmp_path) as path:
        assert path == tmp_path / devfile.PATH
        assert environ == {"LINX_ENV": "development", "LINX_PUBLIC_URL": "https://mine.example", "PATH": "/bin"}
    assert environ == {"LINX_PUBLIC_URL": "https://mine.example", "PATH": "/bin"}  # the environment wins, then is back


@pytest.mark.parametrize("mark", [".git", ".venv/.installed", "a worktree's .git file"])
def test_the_development_file_is_read_only_in_a_clone_and_without_a_secret_key(tmp_path, mark):
    """A deployment run from a folder where `make run` once ran, with LINX_ENV unset, must not slip into
    development: the file is read only in a clone and only when no LINX_SECRET_KEY is given (review, item 4)."""
    devfile.write(tmp_path / devfile.PATH, {"LINX_ENV": "development"})
    assert devfile.applies({}, tmp_path) is None  # not a clone: an instance folder alone
    if mark == ".venv/.installed":
        (tmp_path / ".venv").mkdir()
        (tmp_path / ".venv" / ".installed").touch()
    elif mark == ".git":
        (tmp_path / ".git").mkdir()
    else:
        (tmp_path / ".git").write_text("gitdir: /elsewhere/.git/worktrees/x\n")
    assert devfile.applies({}, tmp_path) == tmp_path / devfile.PATH
    assert devfile.applies({"LINX_SECRET_KEY": "k" * 40}, tmp_path) is None
    assert devfile.applies({"LINX_SECRET_KEY": ""}, tmp_path) is None  # set, even empty: a deployment's
    environ = {"LINX_SECRET_KEY": "given"}
    with devfile.applied(environ, tmp_path) as path:
        assert path is None and environ == {"LINX_SECRET_KEY": "given"}


def test_a_development_file_that_is_not_utf8_is_refused_by_name(tmp_path):
    path = tmp_path / devfile.PATH
    path.parent.mkdir()
    path.write_bytes(b"LINX_ENV=development\nLINX_PUBLIC_URL=http://caf\xe9.example\n")  # Latin-1
    (tmp_path / ".git").mkdir()
    with pytest.raises(ConfigurationError, match="linx.env is not UTF-8"):
        devfile.read(path)
    with pytest.raises(ConfigurationError, match="linx.env is not UTF-8"), devfile.applied({}, tmp_path):
        pass


def test_a_development_file_that_does_not_say_development_is_refused(tmp_path):
    path = tmp_path / devfile.PATH
    path.parent.mkdir()
    path.write_text("LINX_DATABASE_URL=sqlite:///x.db\n")
    with pytest.raises(ConfigurationError, match="LINX_ENV=development"):
        devfile.read(path)
    path.write_text("LINX_ENV=development\nnot a setting\n")
    with pytest.raises(ConfigurationError, match=r"linx.env:2"):
        devfile.read(path)
    with pytest.raises(ConfigurationError, match="only development"):
        devfile.write(path, {"LINX_ENV": "production"})
