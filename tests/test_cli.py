"""The real ``linx`` console script, run as an integrator runs it.

Each test runs in its own temporary folder (the instance folder and the SQLite file
land there) with ``LINX_ENV=development`` and no other ``LINX_*`` variable.
"""
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from gateway_app import create_app
from linx_core.runtime import Runtime

from .conftest import ROOT
from .conftest import test_settings as make_settings

pytestmark = pytest.mark.system  # real processes, servers or a browser: `make test-fast` skips them

LINX = Path(sys.executable).parent / "linx"


@pytest.fixture
def linx(tmp_path):
    """``linx(*args, **env)``: run the console script in ``tmp_path``; returns the CompletedProcess."""
    assert LINX.exists(), f"no console script at {LINX}"
    base = {k: v for k, v in os.environ.items() if not k.startswith("LINX_")}
    base.update(LINX_ENV="development", LINX_DATABASE_URL=f"sqlite:///{tmp_path / 'linx.db'}")

    def run(*args, **env):
        merged = dict(base)
        for key, value in env.items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = value
        return subprocess.run([str(LINX), *args], cwd=tmp_path, env=merged, capture_output=True, text=True,
                              timeout=60)

    run.tmp_path = tmp_path
    run.database = tmp_path / "linx.db"
    return run


def ok(result):
    assert result.returncode == 0, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    return result.stdout


def ok_json(result):
    return json.loads(ok(result))


def refused(result, *fragments):
    """Exit code 2, a clear message naming each fragment, and no traceback."""
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout, result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr
    return result.stderr


def key_rows(database, key):
    with sqlite3.connect(database) as conn:
        return conn.execute("SELECT business_id, revoked_at FROM api_key WHERE key_hash = ?",
                            (hashlib.sha256(key.encode()).hexdigest(),)).fetchall()


def test_help(linx):
    out = ok(linx("--help"))
    for command in ("init", "business", "rules", "serve"):
        assert command in out
    assert "account" in ok(linx("business", "--help"))
    assert "0.1.0" in ok(linx("--version"))


def test_init_demo_is_repeatable_and_its_key_is_stored(linx):
    first = ok_json(linx("init", "--demo", "--json"))
    second = ok_json(linx("init", "--demo", "--json"))
    assert set(first) == {"businessId", "apiKey", "portalEmail", "portalPassword"}
    assert first == second
    # the key is stored once, hashed, for Demo Co
    rows = key_rows(linx.database, first["apiKey"])
    assert len(rows) == 1
    business_id, revoked = rows[0]
    assert str(business_id).replace("-", "") == first["businessId"].replace("-", "") and revoked is None
    with sqlite3.connect(linx.database) as conn:
        assert conn.execute("SELECT count(*) FROM api_key WHERE key_hash = ?", (first["apiKey"],)).fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM business WHERE name = 'Demo Co'").fetchone()[0] == 1
    # the secrets were generated once, in the instance folder; with them, the key opens the API
    secrets = json.loads((linx.tmp_path / "instance" / "secrets.json").read_text())
    runtime = Runtime(make_settings(database_url=f"sqlite:///{linx.database}", secret_key=secrets["secret_key"],
                                    data_key=secrets["data_key"]))
    try:
        client = create_app(runtime=runtime).test_client()
        listed = client.get("/v2/linx/workflows", headers={"Authorization": f"Bearer {first['apiKey']}"})
        assert listed.status_code == 200, listed.get_json()
        assert client.get("/v2/linx/workflows", headers={"Authorization": "Bearer lx_wrong"}).status_code == 401
    finally:
        runtime.database.close()


def test_init_demo_holds_the_seed_ids(linx):
    ok(linx("init", "--demo"))
    with sqlite3.connect(linx.database) as conn:
        def ids(table):
            return {str(r[0]).replace("-", "") for r in conn.execute(f"SELECT id FROM {table}")}

        assert "31c6d6246a0c4049b1f1f3ea7d00ba35" in ids("business_financial_account")
        assert "8c8cab634e534acf9efae7324816aa36" in ids("customer")
        assert "bbbf2fbf81d44f2d8f80201bcca921d4" in ids("customer_financial_account")


def test_init_without_demo_reports_up_to_date_the_second_time(linx):
    first = ok(linx("init"))
    assert "applied" in first and "0001" in first
    assert ok(linx("init")).strip() == "the database is up to date"
    assert ok_json(linx("init", "--json")) == {"applied": []}


def test_business_create_and_a_new_key(linx):
    ok(linx("init"))
    created = ok_json(linx("business", "create", "Acme", "--json"))
    assert set(created) == {"businessId", "apiKey"}
    issued = ok_json(linx("business", "key", "Acme", "--json"))
    assert set(issued) == {"businessId", "apiKey", "prefix", "label", "readOnly"}
    assert issued["businessId"] == created["businessId"]
    assert issued["apiKey"] != created["apiKey"]
    # both keys are valid, both stored only as hashes
    assert len(key_rows(linx.database, created["apiKey"])) == 1
    assert len(key_rows(linx.database, issued["apiKey"])) == 1


def test_business_settings_turn_self_service_recovery_on_off_and_back_to_the_rules(linx):
    ok(linx("init"))
    ok(linx("business", "create", "Acme"))
    assert ok_json(linx("business", "settings", "Acme", "--json"))["selfServiceRecovery"] is False
    assert "off (the rules default)" in ok(linx("business", "settings", "Acme"))
    on = ok_json(linx("business", "settings", "Acme", "--self-service-recovery", "on", "--json"))
    assert on["selfServiceRecovery"] is True and on["selfServiceRecoveryFromRules"] is False
    with sqlite3.connect(linx.database) as conn:
        [(settings,)] = conn.execute("SELECT settings FROM business WHERE name = 'Acme'").fetchall()
    assert json.loads(settings) == {"selfServiceRecovery": True}
    assert ok(linx("business", "settings", "Acme")).strip() == "self-service recovery: on"
    assert ok_json(linx("business", "settings", "Acme", "--self-service-recovery", "off", "--json"))[
        "selfServiceRecovery"] is False
    back = ok_json(linx("business", "settings", "Acme", "--self-service-recovery", "default", "--json"))
    assert back["selfServiceRecovery"] is False and back["selfServiceRecoveryFromRules"] is True
    refused(linx("business", "settings", "Acme", "--self-service-recovery", "maybe"), "maybe")
    missing = linx("business", "settings", "Nobody")
    assert missing.returncode != 0 and "Nobody" in missing.stderr and "Traceback" not in missing.stderr


def test_labelled_and_read_only_keys_are_listed_and_revoked_by_label_or_prefix(linx):
    ok(linx("init"))
    first = ok_json(linx("business", "create", "Acme", "--json"))["apiKey"]
    ci = ok_json(linx("business", "key", "Acme", "--label", "ci", "--read-only", "--json"))
    assert ci["label"] == "ci" and ci["readOnly"] is True and ci["prefix"] == ci["apiKey"][:10]
    refused(linx("business", "key", "Acme", "--label", "ci"), "labelled 'ci' already")
    refused(linx("business", "key", "Acme", "--label", "bad label"), "label")
    listed = ok_json(linx("business", "keys", "Acme", "--json"))["keys"]
    assert [(k["label"], k["readOnly"], k["revokedAt"]) for k in listed] == [("default", False, None),
                                                                            ("ci", True, None)]
    assert ci["apiKey"] not in json.dumps(listed)
    table = ok(linx("business", "keys", "Acme"))
    assert "PREFIX" in table and "LAST USED" in table and ci["prefix"] in table and "read" in table
    revoked = ok_json(linx("business", "revoke-key", "Acme", "ci", "--json"))
    assert revoked["label"] == "ci" and revoked["revokedAt"]
    assert key_rows(linx.database, ci["apiKey"])[0][1] is not None
    assert "Revoked the key" in ok(linx("business", "revoke-key", "Acme", first[:10]))
    refused(linx("business", "revoke-key", "Acme", first[:10]), "no key")
    assert all(k["revokedAt"] for k in ok_json(linx("business", "keys", "Acme", "--json"))["keys"])
    ok(linx("business", "key", "Acme", "--label", "ci"))  # the label is free again


def test_business_create_takes_a_time_zone_for_customers_without_one(linx):
    ok(linx("init"))
    ok(linx("business", "create", "Acme", "--time-zone", "America/Vancouver", "--json"))
    with sqlite3.connect(linx.database) as conn:
        (settings,) = conn.execute("SELECT settings FROM business WHERE name = 'Acme'").fetchone()
    assert json.loads(settings) == {"timeZone": "America/Vancouver"}
    refused(linx("business", "create", "Other", "--time-zone", "Mars/Olympus"), "time zone")


def test_business_update_sets_the_time_zone_of_an_existing_business(linx):
    ok(linx("init"))
    ok(linx("business", "create", "Acme"))
    ok(linx("business", "settings", "Acme", "--self-service-recovery", "on"))
    updated = ok_json(linx("business", "update", "Acme", "--time-zone", "Europe/Paris", "--json"))
    assert updated["timeZone"] == "Europe/Paris"
    with sqlite3.connect(linx.database) as conn:
        (settings,) = conn.execute("SELECT settings FROM business WHERE name = 'Acme'").fetchone()
    assert json.loads(settings) == {"selfServiceRecovery": True, "timeZone": "Europe/Paris"}  # the rest kept
    refused(linx("business", "update", "Acme", "--time-zone", "Mars/Olympus"), "time zone")
    refused(linx("business", "update", "Nobody", "--time-zone", "Europe/Paris"), "Nobody")
    with sqlite3.connect(linx.database) as conn:
        (settings,) = conn.execute("SELECT settings FROM business WHERE name = 'Acme'").fetchone()
    assert json.loads(settings)["timeZone"] == "Europe/Paris"


def test_creating_a_business_twice_is_refused_clearly(linx):
    ok(linx("init"))
    ok(linx("business", "create", "Acme", "--json"))
    err = refused(linx("business", "create", "Acme", "--json"), "Acme", "exists already")
    assert err.startswith("error:")


def test_business_create_before_init_is_handled(linx):
    result = linx("business", "create", "Acme", "--json")
    assert "Traceback" not in result.stderr, result.stderr
    # either it migrates first and succeeds, or it says to run `linx init`
    assert result.returncode == 0 or (result.returncode == 2 and "linx init" in result.stderr), result.stderr


def test_a_key_for_an_unknown_business_is_refused_clearly(linx):
    ok(linx("init"))
    refused(linx("business", "key", "Nobody"), "No business named 'Nobody'")


def test_business_account(linx):
    ok(linx("init"))
    ok(linx("business", "create", "Acme"))
    account = ok_json(linx("business", "account", "Acme", "--currency", "CAD", "--json"))
    assert account["currency"] == "CAD"
    with sqlite3.connect(linx.database) as conn:
        rows = conn.execute("SELECT currency, subtype FROM business_financial_account").fetchall()
    assert rows == [("CAD", "CHECKING")]
    refused(linx("business", "account", "Acme", "--currency", "EUR"), "currency", "USD, CAD")


def test_rules_check_passes_on_the_shipped_rules(linx):
    out = ok(linx("rules", "check"))
    # the eight built-in steps, and the sample third-party one (tests/verify_email_step), found by its entry point
    assert "OK" in out and "9 steps" in out
    assert "OK" in ok(linx("rules", "check", str(ROOT / "rules")))


def _broken_copy(tmp_path):
    broken = tmp_path / "broken-rules"
    shutil.copytree(ROOT / "rules", broken, ignore=shutil.ignore_patterns("__pycache__"))
    parameters = broken / "parameters.yaml"
    text = parameters.read_text()
    assert text.count("values: priorities") == 1
    parameters.write_text(text.replace("values: priorities", "values: urgencies"))
    line = next(i for i, text in enumerate(parameters.read_text().splitlines(), 1) if "urgencies" in text)
    return broken, f"parameters.yaml:{line}: parameters.priority.values"


def test_rules_check_names_file_line_and_place_on_a_broken_copy(linx):
    broken, where = _broken_copy(linx.tmp_path)
    refused(linx("rules", "check", str(broken)), where, "urgencies")
    # the same through LINX_RULES_DIR
    refused(linx("rules", "check", LINX_RULES_DIR=str(broken)), where, "urgencies")


def test_the_server_refuses_to_start_on_bad_rules(linx):
    broken, where = _broken_copy(linx.tmp_path)
    refused(linx("serve", "--port", "1", LINX_RULES_DIR=str(broken)), where)


def test_production_without_a_secret_key_names_the_variable(linx):
    err = refused(linx("init", LINX_ENV="production"), "LINX_SECRET_KEY")
    assert not (linx.tmp_path / "instance").exists()
    assert not linx.database.exists()
    assert "LINX_SECRET_KEY" in refused(linx("business", "create", "Acme", LINX_ENV="production",
                                             LINX_DATA_KEY=None))
    assert err.startswith("error:")


def test_rules_check_needs_no_secrets(linx):
    assert "OK" in ok(linx("rules", "check", LINX_ENV="production"))
    assert not (linx.tmp_path / "instance").exists()


# -- secrets in production, `linx secrets generate`, make run's settings file (issue 12, item 1) ------------------

WEAK = {"LINX_ENV": "production", "LINX_SECRET_KEY": "changeme",
        "LINX_DATA_KEY": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}  # an all-zero Fernet key


def generated(linx):
    lines = ok(linx("secrets", "generate")).splitlines()
    values = dict(line.split("=", 1) for line in lines)
    assert list(values) == ["LINX_SECRET_KEY", "LINX_DATA_KEY"], lines
    return values


@pytest.mark.parametrize("command", [["init"], ["serve", "--port", "1"], ["worker"], ["worker", "--once"],
                                     ["business", "create", "Acme"]])
def test_production_refuses_to_start_with_weak_secrets(linx, command):
    err = refused(linx(*command, **WEAK), "LINX_SECRET_KEY", "placeholder", "LINX_DATA_KEY", "one byte repeated",
                  "linx secrets generate")
    assert "changeme" not in err
    assert not linx.database.exists() and not (linx.tmp_path / "instance").exists()


@pytest.mark.parametrize("command", [["init"], ["serve", "--host", "0.0.0.0", "--port", "1"]])
def test_linx_env_test_does_not_let_weak_secrets_through(linx, command):
    """``LINX_ENV=test`` on a real server is no way around the check: only development is lenient."""
    weak = {"LINX_ENV": "test", "LINX_SECRET_KEY": "a", "LINX_DATA_KEY": WEAK["LINX_DATA_KEY"]}
    refused(linx(*command, **weak), "LINX_SECRET_KEY", "has 1 characters", "LINX_ENV=test")
    assert not linx.database.exists()


def test_secrets_generate_prints_fresh_keys_that_production_accepts(linx):
    first, second = generated(linx), generated(linx)
    assert first != second
    as_json = ok_json(linx("secrets", "generate", "--json"))
    assert set(as_json) == {"LINX_SECRET_KEY", "LINX_DATA_KEY"} and as_json != first
    assert "applied" in ok(linx("init", LINX_ENV="production", **first))
    created = ok_json(linx("business", "create", "Acme", "--json", LINX_ENV="production", **first))
    assert created["apiKey"]
    ok(linx("init", LINX_ENV="production", **as_json))


@pytest.mark.parametrize("env", ["production", "test"])
def test_init_demo_is_refused_outside_development(linx, env):
    refused(linx("init", "--demo", LINX_ENV=env, **generated(linx)), "--demo", "development", "linx business create")
    assert not linx.database.exists()


def test_init_outside_development_revokes_a_demo_key_made_with_a_weak_secret(linx):
    """A demo key is stored as a plain hash: a new secret key would not stop it, so `linx init` revokes it."""
    weak = {"LINX_SECRET_KEY": "a", "LINX_DATA_KEY": WEAK["LINX_DATA_KEY"]}
    demo_key = ok_json(linx("init", "--demo", "--json", **weak))["apiKey"]
    assert demo_key.startswith("lx_demo_")
    acme_key = ok_json(linx("business", "create", "Acme", "--json", **weak))["apiKey"]
    strong = generated(linx)
    done = linx("init", LINX_ENV="production", **strong)
    ok(done)
    assert "revoked the demo API key " + demo_key[:10] in done.stderr and "Demo Co" in done.stderr, done.stderr
    assert demo_key not in done.stderr
    assert "disabled the demo Portal user admin@demo.example" in done.stderr, done.stderr
    with sqlite3.connect(linx.database) as conn:
        assert conn.execute("SELECT disabled_at FROM portal_user WHERE email = 'admin@demo.example'").fetchone()[0]
    [(_, revoked)] = key_rows(linx.database, demo_key)
    assert revoked is not None
    [(_, acme_revoked)] = key_rows(linx.database, acme_key)
    assert acme_revoked is None  # a real key stays
    with sqlite3.connect(linx.database) as conn:
        assert conn.execute("SELECT count(*) FROM event WHERE type = 'linx.api-key-revoked'").fetchone()[0] == 1
    again = linx("init", LINX_ENV="production", **strong)
    assert "revoked" not in ok(again) + again.stderr and "disabled" not in again.stderr
    # development keeps its demo key
    assert "revoked" not in linx("init", **weak).stderr


def _fresh_shell(linx, *args, cwd=None, **env):
    """``linx`` as pasted into a new shell: no LINX_* variable but those given."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("LINX_")}
    environ.update(env)
    return subprocess.run([str(LINX), *args], cwd=cwd or linx.tmp_path, env=environ, capture_output=True,
                          text=True, timeout=60)


def test_a_new_shell_in_the_clone_uses_the_settings_make_run_wrote(linx):
    clone = linx.tmp_path
    (clone / ".git").mkdir()
    other = clone / "other.db"
    written = subprocess.run([sys.executable, "-m", "linx_core.devfile", "instance/linx.env"], cwd=clone,
                             env=dict(os.environ, LINX_ENV="development", LINX_DATABASE_URL=f"sqlite:///{other}"),
                             capture_output=True, text=True, timeout=60)
    assert written.returncode == 0, written.stderr
    assert (clone / "instance" / "linx.env").stat().st_mode & 0o777 == 0o600

    done = _fresh_shell(linx, "init", "--demo", "--json")
    assert done.returncode == 0 and "instance/linx.env" in done.stderr, done.stderr
    assert json.loads(done.stdout)["apiKey"] and other.exists()
    assert (clone / "instance" / "secrets.json").exists()  # development's keys, as make run's
    assert _fresh_shell(linx, "business", "create", "Acme", LINX_ENV="development").returncode == 0

    # production, or another folder: the file is not read
    refused(_fresh_shell(linx, "init", LINX_ENV="production"), "LINX_SECRET_KEY")
    elsewhere = clone / "elsewhere"
    elsewhere.mkdir()
    refused(_fresh_shell(linx, "init", cwd=elsewhere), "LINX_SECRET_KEY")
    assert not (elsewhere / "linx.db").exists()

    # a file that does not say development is refused, not half-read
    (clone / "instance" / "linx.env").write_text(f"LINX_DATABASE_URL=sqlite:///{other}\n")
    refused(_fresh_shell(linx, "init"), "instance/linx.env", "LINX_ENV=development")


def _clone_with_a_development_file(linx, other):
    clone = linx.tmp_path
    (clone / ".git").mkdir()
    written = subprocess.run([sys.executable, "-m", "linx_core.devfile", "instance/linx.env"], cwd=clone,
                             env=dict(os.environ, LINX_ENV="development", LINX_DATABASE_URL=f"sqlite:///{other}"),
                             capture_output=True, text=True, timeout=60)
    assert written.returncode == 0, written.stderr
    return clone


def test_a_deployment_with_a_secret_key_never_reads_the_development_file(linx):
    """LINX_ENV unset, LINX_SECRET_KEY given, in a checkout where `make run` once ran: production, not a silent
    development (issue 12 review, item 4)."""
    other = linx.tmp_path / "other.db"
    _clone_with_a_development_file(linx, other)
    strong = generated(linx)
    done = _fresh_shell(linx, "init", "--demo", LINX_DATABASE_URL=f"sqlite:///{linx.database}", **strong)
    refused(done, "--demo", "LINX_ENV=production")
    assert "instance/linx.env" not in done.stderr and not other.exists()
    done = _fresh_shell(linx, "init", LINX_DATABASE_URL=f"sqlite:///{linx.database}", **strong)
    assert "applied" in ok(done) and "instance/linx.env" not in done.stderr
    weak = _fresh_shell(linx, "init", LINX_SECRET_KEY="a", LINX_DATA_KEY=strong["LINX_DATA_KEY"])
    refused(weak, "LINX_SECRET_KEY", "has 1 characters")


def test_a_development_file_outside_a_clone_is_not_read(linx):
    other = linx.tmp_path / "other.db"
    _clone_with_a_development_file(linx, other)
    (linx.tmp_path / ".git").rmdir()
    refused(_fresh_shell(linx, "init"), "LINX_SECRET_KEY")
    assert not other.exists()


def test_a_development_file_that_is_not_utf8_is_refused_by_name(linx):
    other = linx.tmp_path / "other.db"
    clone = _clone_with_a_development_file(linx, other)
    (clone / "instance" / "linx.env").write_bytes(b"LINX_ENV=development\nLINX_PUBLIC_URL=http://caf\xe9.example\n")
    for command in (["init"], ["rules", "check"], ["secrets", "generate"]):
        refused(_fresh_shell(linx, *command), "instance/linx.env", "not UTF-8")
