"""`linx doctor`: a production-like configuration passes every check (exit 0); each fault fails its own check,
and only that one, with how to fix it (exit 1). `linx migrate` brings an empty database up to date.

The base configuration is what docs/deploy.md sets up: LINX_ENV=production, generated secrets, an https public
URL behind one proxy, Twilio, a metrics token, the webhook guard on, and a migrated database: a temporary
PostgreSQL one (and a SQLite file, for `make test-fast`)."""
import datetime as dt
import json
import os
import secrets

import pytest
from click.testing import CliRunner

from linx_core import clock
from linx_core.cli import main
from linx_core.config import generate_secrets
from linx_core.runtime import Runtime
from linx_core.testing.postgres import temporary_database

from .conftest import postgres_or_skip
from .conftest import test_settings as make_settings

NAMES = ["environment", "secrets", "public-url", "proxy", "channel", "webhook-guard", "metrics", "rules", "database",
         "clock"]


def _migrated(url):
    rt = Runtime(make_settings(database_url=url))
    rt.migrate()
    getattr(rt.database, "close_all", rt.database.close)()


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=[pytest.mark.postgres,
                                                                                   pytest.mark.system])])
def database_url(request, tmp_path_factory):
    if request.param == "sqlite":
        url = "sqlite:///" + str(tmp_path_factory.mktemp("doctor") / "linx.db")
        _migrated(url)
        yield url
        return
    admin = postgres_or_skip()
    try:
        with temporary_database("linx_doctor", admin) as (url, _, _):
            _migrated(url)
            yield url
    finally:
        admin.close()


@pytest.fixture
def good(database_url):
    """The environment of a deployment ready to go live."""
    return dict(generate_secrets(), LINX_ENV="production", LINX_DATABASE_URL=database_url,
                LINX_PUBLIC_URL="https://pay.example.com", LINX_PROXY_HOPS="1",
                LINX_TWILIO_ACCOUNT_SID="AC" + "0123456789abcdef" * 2, LINX_TWILIO_AUTH_TOKEN=secrets.token_hex(16),
                LINX_TWILIO_MESSAGING_SERVICE_SID="MG" + "fedcba9876543210" * 2,
                LINX_METRICS_TOKEN=secrets.token_urlsafe(32))


def doctor(environ, *args):
    """``linx doctor`` with exactly ``environ`` as its LINX_* settings: (exit code, output)."""
    env = {name: None for name in os.environ if name.startswith("LINX_")}
    env.update(environ)
    result = CliRunner().invoke(main, ["doctor", *args], env=env, catch_exceptions=False)
    return result.exit_code, result.output


def checks(environ):
    code, output = doctor(environ, "--json")
    report = json.loads(output)
    assert report["ok"] is (code == 0)
    return code, {c["name"]: c for c in report["checks"]}


def test_a_production_like_configuration_passes_every_check(good):
    code, output = doctor(good)
    assert code == 0, output
    lines = output.splitlines()
    assert [line.split()[:2] for line in lines[:-1]] == [["OK", name] for name in NAMES]
    assert lines[-1] == "all checks passed: ready to go live"
    assert "postgres" not in good["LINX_DATABASE_URL"] or "PostgreSQL, up to date" in output
    assert good["LINX_SECRET_KEY"] not in output and good["LINX_METRICS_TOKEN"] not in output


def test_json_names_every_check(good):
    code, found = checks(good)
    assert code == 0
    assert list(found) == NAMES
    assert all(c["ok"] and c["message"] and c["fix"] == "" for c in found.values())


def test_email_alone_is_a_channel(good):
    environ = {k: v for k, v in good.items() if not k.startswith("LINX_TWILIO_")}
    environ.update(LINX_SMTP_HOST="smtp.example.com", LINX_SMTP_FROM="pay@example.com")
    code, found = checks(environ)
    assert code == 0, found["channel"]
    assert "EMAIL via smtp" in found["channel"]["message"] and "SMS via console" in found["channel"]["message"]


WEAK = "ab" * 20


@pytest.mark.parametrize("changes, failing, says", [
    ({"LINX_ENV": "development"}, "environment", "LINX_ENV=development"),
    ({"LINX_SECRET_KEY": None}, "secrets", "LINX_SECRET_KEY is not set"),
    ({"LINX_SECRET_KEY": None, "LINX_DATA_KEY": None}, "secrets", "LINX_SECRET_KEY and LINX_DATA_KEY are not set"),
    ({"LINX_SECRET_KEY": "changeme-changeme-changeme-changeme"}, "secrets", "placeholder"),
    ({"LINX_SECRET_KEY": WEAK}, "secrets", "distinct characters"),
    ({"LINX_DATA_KEY": "not-a-fernet-key"}, "secrets", "not a Fernet key"),
    ({"LINX_PUBLIC_URL": "http://pay.example.com"}, "public-url", "is not https"),
    ({"LINX_PUBLIC_URL": "https://127.0.0.1:8443"}, "public-url", "cannot reach"),
    ({"LINX_PUBLIC_URL": "https://linx.internal"}, "public-url", "cannot reach"),
    ({"LINX_PUBLIC_URL": "https://10.0.0.5"}, "public-url", "cannot reach"),
    ({"LINX_PUBLIC_URL": "https://pay.example.com:99999"}, "public-url", "is not a URL"),
    ({"LINX_PROXY_HOPS": None}, "proxy", "LINX_PROXY_HOPS=0"),
    ({"LINX_PROXY_HOPS": "0"}, "proxy", "the proxy's address"),
    ({"LINX_TWILIO_ACCOUNT_SID": None}, "channel", "No channel is configured"),
    ({"LINX_TWILIO_MESSAGING_SERVICE_SID": None}, "channel", "LINX_TWILIO_* are set in part"),
    ({"LINX_WEBHOOK_ALLOW_PRIVATE": "true"}, "webhook-guard", "LINX_WEBHOOK_ALLOW_PRIVATE=true"),
    ({"LINX_METRICS_TOKEN": None}, "metrics", "LINX_METRICS_TOKEN is not set"),
    ({"LINX_METRICS_TOKEN": "short"}, "metrics", "at least 16 characters"),
])
def test_each_fault_fails_its_own_check_with_a_fix(good, changes, failing, says):
    environ = dict(good, **{k: v for k, v in changes.items() if v is not None})
    for name in [k for k, v in changes.items() if v is None]:
        environ.pop(name)
    code, found = checks(environ)
    assert code == 1
    assert [name for name, c in found.items() if not c["ok"]] == [failing]
    assert says in found[failing]["message"]
    assert found[failing]["fix"]
    text_code, text = doctor(environ)
    assert text_code == 1
    assert any(line.startswith(f"FAIL  {failing} ") for line in text.splitlines())
    assert "fix: " in text and text.splitlines()[-1] == f"1 of {len(NAMES)} check(s) failed"


def test_broken_rules_fail_the_rules_check(good, tmp_path):
    (tmp_path / "steps.yaml").write_text("steps: [not, a, mapping\n")
    code, found = checks(dict(good, LINX_RULES_DIR=str(tmp_path)))
    assert code == 1
    assert {n for n, c in found.items() if not c["ok"]} == {"rules", "channel"}  # the rules name the channels
    assert "linx rules check" in found["rules"]["fix"]


def test_a_database_that_does_not_answer(good):
    code, found = checks(dict(good, LINX_DATABASE_URL="postgresql://postgres@127.0.0.1:1/linx"))
    assert code == 1
    assert {n for n, c in found.items() if not c["ok"]} == {"database", "clock"}
    assert "127.0.0.1:1/linx" in found["database"]["message"] and "pg_hba.conf" in found["database"]["fix"]
    assert found["clock"]["message"] == "Not compared: the database did not answer."


def test_the_password_in_the_database_url_is_not_shown(good):
    code, output = doctor(dict(good, LINX_DATABASE_URL="postgresql://linx:hunter2-secret@127.0.0.1:1/linx"))
    assert code == 1 and "hunter2-secret" not in output and "linx:***@127.0.0.1:1" in output


def test_a_missing_sqlite_file_is_not_created(good, tmp_path):
    path = tmp_path / "nowhere.db"
    code, found = checks(dict(good, LINX_DATABASE_URL=f"sqlite:///{path}"))
    assert code == 1 and not found["database"]["ok"] and "no database file" in found["database"]["message"]
    assert not path.exists()


def test_a_settings_error_is_a_failed_check_not_a_traceback(good):
    code, output = doctor(dict(good, LINX_CLOCK_SPEED="60"))
    assert code == 1
    assert output.splitlines()[0].startswith("FAIL  settings ") and "LINX_CLOCK_SPEED" in output


def test_an_unmigrated_database_then_linx_migrate(good):
    if not good["LINX_DATABASE_URL"].startswith("postgresql"):
        pytest.skip("the PostgreSQL run covers it")
    admin = postgres_or_skip()
    try:
        with temporary_database("linx_doctor_empty", admin) as (url, _, _):
            environ = dict(good, LINX_DATABASE_URL=url)
            code, found = checks(environ)
            assert code == 1 and [n for n, c in found.items() if not c["ok"]] == ["database"]
            assert "migration(s) not applied (0001_initial" in found["database"]["message"]
            assert "linx migrate" in found["database"]["fix"]
            env = {name: None for name in os.environ if name.startswith("LINX_")}
            migrated = CliRunner().invoke(main, ["migrate", "--json"], env=dict(env, **environ))
            assert migrated.exit_code == 0, migrated.output
            assert json.loads(migrated.output)["applied"][0] == "0001_initial"
            again = CliRunner().invoke(main, ["migrate"], env=dict(env, **environ))
            assert again.output.strip() == "the database is up to date"
            assert checks(environ)[0] == 0
    finally:
        admin.close()


@pytest.mark.parametrize("offset", [60, -60])
def test_a_clock_out_of_step_with_the_database(good, offset):
    """This process's clock moved a minute away from the database's (PostgreSQL's ``now()``)."""
    if not good["LINX_DATABASE_URL"].startswith("postgresql"):
        pytest.skip("SQLite keeps no clock of its own")
    clock.set_clock(clock.FrozenClock(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=offset)))
    try:
        code, found = checks(good)
    finally:
        clock.set_clock(None)
    assert code == 1 and [n for n, c in found.items() if not c["ok"]] == ["clock"]
    assert ("ahead of" if offset > 0 else "behind") in found["clock"]["message"]
    assert "NTP" in found["clock"]["fix"]
