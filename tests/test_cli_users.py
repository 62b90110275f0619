"""``linx user``: create (password on standard input), list, disable, reset-password (issue 15)."""
import json
import os
import subprocess

import pytest

from .test_cli import LINX

PASSWORD = "a-long-enough-phrase-77"


@pytest.fixture
def linx(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINX_")}
    env.update(LINX_ENV="development", LINX_DATABASE_URL=f"sqlite:///{tmp_path / 'linx.db'}")

    def run(*args, stdin=""):
        return subprocess.run([str(LINX), *args], cwd=tmp_path, env=env, input=stdin, capture_output=True, text=True,
                              timeout=60)

    assert run("init", "--demo").returncode == 0
    return run


def test_create_list_disable_and_reset(linx):
    made = linx("user", "create", "Ops@Demo.Example", "--business", "Demo Co", "--role", "operator",
                "--password-stdin", "--json", stdin=PASSWORD + "\n")
    assert made.returncode == 0, made.stderr
    user = json.loads(made.stdout)
    assert user["email"] == "ops@demo.example" and user["role"] == "operator" and user["disabledAt"] is None
    assert PASSWORD not in made.stdout + made.stderr
    by_id = linx("user", "create", "v@demo.example", "--business", user["businessId"], "--role", "viewer",
                 "--password-stdin", stdin=PASSWORD)
    assert by_id.returncode == 0, by_id.stderr
    listed = json.loads(linx("user", "list", "--business", "Demo Co", "--json").stdout)["users"]
    assert {u["email"] for u in listed} == {"admin@demo.example", "ops@demo.example", "v@demo.example"}
    disabled = json.loads(linx("user", "disable", "ops@demo.example", "--json").stdout)
    assert disabled["disabledAt"]
    reset = linx("user", "reset-password", "ops@demo.example", "--password-stdin", stdin="another-good-phrase-88\n")
    assert reset.returncode == 0, reset.stderr


@pytest.mark.parametrize("args,stdin,fragment", [
    (["user", "create", "x@demo.example", "--business", "Demo Co", "--password-stdin"], "short", "12 characters"),
    (["user", "create", "x@demo.example", "--business", "Demo Co", "--password-stdin"], "password1234", "common"),
    (["user", "create", "x@demo.example", "--business", "Nope Co", "--password-stdin"], PASSWORD, "No business"),
    (["user", "create", "not-an-email", "--business", "Demo Co", "--password-stdin"], PASSWORD, "email"),
    (["user", "create", "admin@demo.example", "--business", "Demo Co", "--password-stdin"], PASSWORD, "exists"),
    (["user", "disable", "nobody@demo.example"], "", "No such user"),
])
def test_refusals_are_clear(linx, args, stdin, fragment):
    result = linx(*args, stdin=stdin)
    assert result.returncode == 2 and fragment.lower() in result.stderr.lower(), (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr


def test_a_password_on_the_command_line_is_not_taken(linx):
    result = linx("user", "create", "x@demo.example", "--business", "Demo Co")
    assert result.returncode == 2 and "--password-stdin" in result.stderr
