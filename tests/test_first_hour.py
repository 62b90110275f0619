"""The first hour of a new user (issue 16): a busy port, and the two environments of the Makefile (`make run`
serves without the test plugins; `make test` has them)."""
import os
import re
import shutil
import socket
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

from linx_core import ports
from linx_core.errors import ConfigurationError

from .conftest import ROOT

LINX = str(Path(sys.executable).parent / "linx")
TEST_DISTRIBUTIONS = {"linx-sample-plugin", "linx-rtp", "linx-verify-email"}


@pytest.fixture
def busy():
    """A port something listens on (loopback)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def test_a_busy_port_is_found_and_a_free_one_is_named(busy):
    assert ports.in_use("127.0.0.1", busy)
    with pytest.raises(ConfigurationError) as refused:
        ports.check("127.0.0.1", busy)
    free = ports.next_free("127.0.0.1", busy)
    assert free is not None and free > busy and not ports.in_use("127.0.0.1", free)
    assert str(refused.value).startswith(f"port {busy} is in use; try make run PORT={free}")


def test_a_port_taken_on_every_address_is_busy_on_loopback_too():
    with socket.socket() as sock:
        sock.bind(("0.0.0.0", 0))
        sock.listen()
        port = sock.getsockname()[1]
        assert ports.in_use("127.0.0.1", port)


def test_a_busy_metrics_port_names_its_own_option(busy):
    with pytest.raises(ConfigurationError) as refused:
        ports.check("127.0.0.1", busy, "--metrics-port")
    assert str(refused.value) == (f"port {busy} (--metrics-port) is in use; try --metrics-port "
                                  f"{ports.next_free('127.0.0.1', busy)}")


def test_a_free_port_passes():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    ports.check("127.0.0.1", port)  # closed again: free


@pytest.mark.system
def test_linx_serve_on_a_busy_port_exits_2_before_starting_anything(busy, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINX_")}
    env.update(LINX_ENV="development", LINX_DATABASE_URL=f"sqlite:///{tmp_path}/linx.db",
               LINX_INSTANCE_PATH=str(tmp_path / "instance"))
    done = subprocess.run([LINX, "serve", "--port", str(busy)], env=env, cwd=tmp_path, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2, (done.stdout, done.stderr)
    free = ports.next_free("127.0.0.1", busy)
    assert re.search(rf"^error: port {busy} is in use; try make run PORT={free}\b", done.stderr, re.M), done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "linx.db").exists()  # nothing started: not even the database was opened
    # make run's own look, before its banner: the same line, exit 2
    early = subprocess.run([sys.executable, "-m", "linx_core.ports", "127.0.0.1", str(busy)], env=env,
                           capture_output=True, text=True, timeout=30)
    assert early.returncode == 2 and f"port {busy} is in use; try make run PORT=" in early.stderr


# -- the Makefile's two environments -------------------------------------------------------------------------------

def _dry_run(tmp_path, target):
    """What `make -n` would run for ``target`` in a copy of the Makefile (with the files its rules name)."""
    for name in ("Makefile", "setup.cfg", "pyproject.toml", "tests/browser/package.json",
                 "tests/browser/package-lock.json"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, tmp_path / name)
    catalog = Path("gateway_app/translations/fr_CA/LC_MESSAGES/messages.po")  # so that `compile` has work to do
    (tmp_path / catalog).parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / catalog, tmp_path / catalog)
    for plugin in ("sample_plugin", "rtp_plugin", "verify_email_step"):
        (tmp_path / "tests" / plugin).mkdir(parents=True)
        shutil.copy(ROOT / "tests" / plugin / "pyproject.toml", tmp_path / "tests" / plugin / "pyproject.toml")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAKE", "LINX_"))}
    done = subprocess.run(["make", "-n", target], cwd=tmp_path, capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _distribution_names():
    names = set()
    for plugin in ("sample_plugin", "rtp_plugin", "verify_email_step"):
        text = (ROOT / "tests" / plugin / "pyproject.toml").read_text()
        names.add(re.search(r'^name = "([^"]+)"', text, re.M).group(1))
    return names


@pytest.mark.skipif(shutil.which("make") is None, reason="no make")
def test_make_run_installs_no_test_plugin_and_make_test_installs_them_all(tmp_path):
    assert _distribution_names() == TEST_DISTRIBUTIONS
    run = _dry_run(tmp_path, "run")
    installs = [line for line in run.splitlines() if "pip install" in line]
    assert installs and all(".venv/bin/python" in line and "tests/" not in line and "[test" not in line
                            for line in installs), installs
    assert "linx serve" in run and ".venv-test" not in run
    assert ".venv/bin/pybabel compile" in run  # the catalogs, compiled with make run's own environment
    # a .venv made before the split loses the test plugins
    [uninstall] = [line for line in run.splitlines() if "pip uninstall" in line]
    assert set(uninstall.split()) >= TEST_DISTRIBUTIONS
    for target in ("test", "test-fast", "lint", "bench"):
        (tmp_path / "tests").exists() and shutil.rmtree(tmp_path / "tests")
        out = _dry_run(tmp_path, target)
        [install] = {line for line in out.splitlines() if "pip install" in line and " -e " in line}
        assert install.startswith(".venv-test/bin/python") and "'.[test,bench]'" in install, (target, install)
        for plugin in ("tests/sample_plugin", "tests/rtp_plugin", "tests/verify_email_step"):
            assert f"-e {plugin}" in install, (target, install)
        if target in ("test", "test-fast"):
            assert ".venv-test/bin/pybabel compile" in out, (target, out)
        commands = [line for line in out.splitlines() if re.match(r"\S*/bin/(python|ruff|mypy|pybabel)", line)]
        assert commands and all(c.startswith(".venv-test/") for c in commands), (target, commands)


def test_this_test_environment_holds_the_test_plugins():
    """`make test`'s environment (this one) has them: the suite's rail, channel and step kind are found."""
    installed = {d.metadata["Name"] for d in metadata.distributions()}
    assert installed >= TEST_DISTRIBUTIONS


RUN_PYTHON = ROOT / ".venv" / "bin" / "python"


@pytest.mark.system
def test_the_make_run_environment_serves_only_the_real_solutions(tmp_path):
    """In `make run`'s .venv, the rules and the OpenAPI document name LinX's own rails and no test plugin's.
    CI (.ci/run: `make install`) has that environment; elsewhere the test skips without it."""
    if not (ROOT / ".venv" / ".installed-run").exists():
        if os.environ.get("CI"):
            pytest.fail("CI runs `make install`, but there is no .venv/.installed-run")
        pytest.skip("no make run environment (.venv) here: `make install` makes one")
    script = (
        "import json\n"
        "from importlib import metadata\n"
        "from gateway_app import create_app\n"
        "app = create_app()\n"
        "rt = app.extensions['linx']\n"
        "spec = app.test_client().get('/v2/openapi.json').get_json()\n"
        "print(json.dumps({'solutions': sorted(rt.rules.solutions), 'spec': json.dumps(spec),\n"
        "                  'dists': sorted(d.metadata['Name'] for d in metadata.distributions())}))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINX_") and k != "PYTHONPATH"}
    env.update(LINX_ENV="development", LINX_DATABASE_URL=f"sqlite:///{tmp_path}/linx.db",
               LINX_INSTANCE_PATH=str(tmp_path))
    done = subprocess.run([str(RUN_PYTHON), "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    import json

    seen = json.loads(done.stdout)
    assert not TEST_DISTRIBUTIONS & set(seen["dists"]), seen["dists"]
    assert seen["solutions"] == ["ach", "push-to-card", "wire"]
    assert '"rtp"' not in seen["spec"] and "verify-email" not in seen["spec"]


# -- the LICENSE and the picture the README shows --------------------------------------------------------------------

def test_the_license_file_is_the_one_setup_cfg_names():
    import configparser

    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    assert config["metadata"]["license"] == "Apache-2.0"
    assert config["metadata"]["license_files"].strip() == "LICENSE"
    text = (ROOT / "LICENSE").read_text()
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text


def test_the_flow_picture_is_an_accessible_svg_shown_in_the_readme():
    from xml.etree import ElementTree

    ns = {"svg": "http://www.w3.org/2000/svg"}
    root = ElementTree.parse(ROOT / "docs" / "flow.svg").getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg" and root.get("role") == "img"
    title, desc = root.find("svg:title", ns), root.find("svg:desc", ns)
    assert title is not None and title.text and desc is not None and desc.text
    assert root.get("aria-labelledby").split() == [title.get("id"), desc.get("id")]
    words = " ".join(t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text"))
    for stage in ("Business", "SMS", "Gateway", "Rail", "webhooks"):
        assert stage in words, stage
    svg = (ROOT / "docs" / "flow.svg").read_text()
    assert "<script" not in svg and "href=\"http" not in svg  # a picture, nothing that runs or loads
    readme = (ROOT / "README.md").read_text()
    assert re.search(r"!\[[^\]]+\]\(docs/flow\.svg\)", readme)


@pytest.mark.system
def test_make_runs_banner_names_what_the_app_serves(tmp_path):
    """`python -m linx_core.banner` as `make run` calls it: the docs, the inbox, the key, where the passcode is."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINX_")}
    env.update(LINX_ENV="development", LINX_DATABASE_URL=f"sqlite:///{tmp_path}/linx.db",
               LINX_INSTANCE_PATH=str(tmp_path / "instance"), LINX_PUBLIC_URL="http://127.0.0.1:8123")
    init = subprocess.run([LINX, "init", "--demo", "--json"], env=env, cwd=tmp_path, capture_output=True, text=True,
                          timeout=60)
    assert init.returncode == 0, init.stderr
    (tmp_path / "demo.json").write_text(init.stdout)
    shown = subprocess.run([sys.executable, "-m", "linx_core.banner", str(tmp_path / "demo.json")], env=env,
                           cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert shown.returncode == 0, shown.stderr
    import json

    key = json.loads(init.stdout)["apiKey"]
    for expected in ("http://127.0.0.1:8123/v2/docs", "http://127.0.0.1:8123/dev/messages", f"Demo Co key: {key}",
                     '"passcode"', "create response", "http://127.0.0.1:8123/portal",
                     f"admin@demo.example / {json.loads(init.stdout)['portalPassword']}"):
        assert expected in shown.stdout, (expected, shown.stdout)
