"""A non-editable install works, default rule files included.

Builds a wheel of this checkout, checks what it holds, installs it into a fresh
venv, and runs the installed LinX from there. The build runs on a copy of the
source tree: pip builds in the tree it is given, and a ``build/`` folder left in
the checkout could leak stale files into a later wheel.

The new venv gets LinX only; its dependencies are this test run's venv's packages,
linked into a folder that a ``.pth`` line appends to the new venv's path (after its
own site-packages, so LinX itself can only come from the new venv). LinX's own
editable install and any plugin installed for the tests are left out of that
folder, and nothing is downloaded.
"""
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

from .conftest import ROOT

pytestmark = pytest.mark.system  # real processes, servers or a browser: `make test-fast` skips them

RULE_FILES = sorted(p.name for p in (ROOT / "rules").glob("*.yaml"))
SKIP = shutil.ignore_patterns(".git", ".venv", ".venv-test", "venv", "build", "dist", "*.egg-info", "__pycache__",
                              ".pytest_cache", "instance", "*.db", "*.db-wal", "*.db-shm", "tests", "bench",
                              "artifacts")


def run(args, **kwargs):
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=300, **kwargs)
    assert result.returncode == 0, (args, result.returncode, result.stdout[-3000:], result.stderr[-3000:])
    assert "Traceback" not in result.stderr, result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    source = tmp_path_factory.mktemp("source") / "linx"
    shutil.copytree(ROOT, source, ignore=SKIP)
    out = tmp_path_factory.mktemp("wheels")
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", out, source])
    wheels = list(out.glob("linx-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory):
    """A fresh venv with the wheel installed: its ``bin`` folder."""
    home = tmp_path_factory.mktemp("venv") / "venv"
    venv.EnvBuilder(with_pip=True, symlinks=True).create(home)
    python = home / "bin" / "python"
    run([python, "-m", "pip", "install", "--no-deps", "--no-index", "--quiet", wheel])
    own = Path(run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).strip())
    deps = tmp_path_factory.mktemp("dependencies")
    for site in dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]]):
        _link_dependencies(Path(site), deps)
    (own / "zz_linx_test_dependencies.pth").write_text(f"{deps}\n")
    return home


def _link_dependencies(site, target):
    """Link this venv's installed packages into ``target``, leaving out LinX itself and its plugins.

    Editable installs (``__editable__*``, ``*.pth``) and any distribution with a ``[linx]``
    entry point stay out, so the new venv sees exactly what a clean install would.
    """
    for entry in site.iterdir():
        name = entry.name
        if (target / name).exists() or name == "__pycache__" or name.startswith("__editable__") or \
                name.endswith((".pth", ".egg-link")):
            continue
        if name.endswith((".dist-info", ".egg-info")):
            entry_points = entry / "entry_points.txt"
            if name.startswith("linx-") or (entry_points.exists() and "[linx]" in entry_points.read_text()):
                continue
        (target / name).symlink_to(entry)


def env_for(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINX_") and k != "PYTHONPATH"}
    env.update(LINX_ENV="development", LINX_DATABASE_URL=f"sqlite:///{tmp_path / 'linx.db'}")
    return env


def test_the_wheel_holds_the_data_files(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in ("catalog.yaml", "parameters.yaml", "solutions.yaml", "steps.yaml", "workflow.yaml"):
        assert f"linx_rules/{name}" in names
    assert sorted(n for n in names if n.startswith("linx_rules/") and n.endswith(".yaml")) == \
        [f"linx_rules/{n}" for n in RULE_FILES]
    assert "linx_core/migrations/0001_initial.py" in names
    assert "gateway_app/templates/swagger.html" in names and "gateway_app/templates/home.html" in names
    assert "gateway_app/static/docs.css" in names and "gateway_app/static/swagger-init.js" in names
    assert "gateway_app/templates/gateway/landing.html" in names and "gateway_app/static/gateway.css" in names
    assert any(n.startswith("gateway_app/documents/") and n.endswith(".txt") for n in names)
    assert "gateway_app/translations/fr_CA/LC_MESSAGES/messages.mo" in names  # compiled by make, not committed
    entry_points = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith(".dist-info/entry_points.txt")))
    assert "linx = linx_core.cli:main" in entry_points.decode()
    # the generic names stay out of site-packages
    assert not any(n.startswith(("rules/", "plugins/", "tests/")) for n in names)


def test_linx_is_imported_from_the_new_venv(installed, tmp_path):
    out = run([installed / "bin" / "python", "-c",
               "import json, linx_core, gateway_app; from linx_core.rules import default_rules_dir; "
               "print(json.dumps([linx_core.__file__, gateway_app.__file__, str(default_rules_dir())]))"],
              cwd=tmp_path, env=env_for(tmp_path))
    core, gateway, rules = (Path(p).resolve() for p in json.loads(out))
    home = installed.resolve()
    assert core.is_relative_to(home), core
    assert gateway.is_relative_to(home), gateway
    assert rules.is_relative_to(home), rules
    assert sorted(p.name for p in rules.glob("*.yaml")) == RULE_FILES


def test_the_installed_rules_check(installed, tmp_path):
    out = run([installed / "bin" / "python", "-m", "linx_core.cli", "rules", "check"], cwd=tmp_path,
              env=env_for(tmp_path))
    assert "OK" in out
    assert Path(out.split(":", 1)[0]).resolve().is_relative_to(installed.resolve()), out


def test_the_installed_init_demo(installed, tmp_path):
    first = json.loads(run([installed / "bin" / "python", "-m", "linx_core.cli", "init", "--demo", "--json"],
                           cwd=tmp_path, env=env_for(tmp_path)))
    assert set(first) == {"businessId", "apiKey", "portalEmail", "portalPassword"}
    assert (tmp_path / "linx.db").exists()
    # the console script of the new venv gives the same, and its help works
    again = json.loads(run([installed / "bin" / "linx", "init", "--demo", "--json"], cwd=tmp_path,
                           env=env_for(tmp_path)))
    assert again == first
    assert "rules" in run([installed / "bin" / "linx", "--help"], cwd=tmp_path, env=env_for(tmp_path))


def test_the_installed_app_serves_its_docs_and_stylesheet(installed, tmp_path):
    script = (
        "from gateway_app import create_app\n"
        "client = create_app().test_client()\n"
        "docs = client.get('/v2/docs')\n"
        "assert docs.status_code == 200, docs.status_code\n"
        "assert b'swagger-ui.css' in docs.data\n"
        "css = client.get('/v2/docs/assets/swagger-ui.css')\n"
        "assert css.status_code == 200 and css.data, css.status_code\n"
        "assert client.get('/static/swagger-init.js').status_code == 200\n"
        "spec = client.get('/v2/openapi.json').get_json()\n"
        "assert 'payment-of-rebates' in str(spec)\n"
        "print('served')\n"
    )
    assert run([installed / "bin" / "python", "-c", script], cwd=tmp_path, env=env_for(tmp_path)).strip() == "served"
