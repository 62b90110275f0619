"""The deployment files and the guide cannot drift from the code: every ``LINX_*`` setting they name is a real one,
every ``linx`` command they run exists, the settings file loads, and systemd accepts the unit files
(``systemd-analyze verify``, where it is installed)."""
import re
import shutil
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import click
import pytest

from linx_core.cli import main
from linx_core.config import Settings

from .conftest import ROOT

DEPLOY = ROOT / "deploy"
GUIDE = ROOT / "docs" / "deploy.md"
FILES = [GUIDE, *sorted(p for p in DEPLOY.rglob("*") if p.is_file())]
SETTINGS = {"LINX_" + f.name.upper() for f in fields(Settings) if f.name != "extra"}
UNITS = ["linx-web@.service", "linx-worker@.service", "linx-backup.service", "linx-backup.timer"]


def test_the_deploy_folder_holds_what_the_guide_installs():
    assert {p.name for p in (DEPLOY / "systemd").iterdir()} == set(UNITS)
    assert (DEPLOY / "nginx" / "linx.conf").is_file() and (DEPLOY / "linx.env").is_file()
    for path in ["deploy/linx.env", "deploy/nginx/linx.conf", *(f"deploy/systemd/{u}" for u in UNITS)]:
        assert path in GUIDE.read_text() or Path(path).name in GUIDE.read_text(), path


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_setting_named_is_a_real_one(path):
    named = set(re.findall(r"\bLINX_[A-Z0-9_]*[A-Z0-9]\b", path.read_text()))
    assert named <= SETTINGS, f"{path.name} names settings LinX does not have: {sorted(named - SETTINGS)}"


def test_every_linx_command_the_guide_runs_exists():
    text = GUIDE.read_text() + "".join(p.read_text() for p in DEPLOY.rglob("*.service"))
    runs = re.findall(r"(?:bin/linx|`linx) ([a-z][a-z-]*)(?: ([a-z][a-z-]*))?", text)
    assert {"migrate", "doctor", "serve", "worker", "secrets", "business"} <= {r[0] for r in runs}
    ctx = click.Context(main)
    for name, sub in runs:
        command = main.get_command(ctx, name)
        assert command is not None, f"linx {name}"
        if isinstance(command, click.Group) and sub:
            assert command.get_command(ctx, sub) is not None, f"linx {name} {sub}"


def env_file(path):
    """``NAME=value`` lines as systemd's EnvironmentFile reads them (comments skipped, one pair of quotes taken off)."""
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            values[name] = value[1:-1] if len(value) > 1 and value[0] == value[-1] == '"' else value
    return values


def test_the_settings_file_loads_as_production_settings():
    values = env_file(DEPLOY / "linx.env")
    settings = Settings.load(values, secrets=False)
    assert settings.env == "production" and settings.proxy_hops == 1 and settings.log_format == "json"
    assert settings.public_url.startswith("https://") and settings.webhook_allow_private is False
    assert settings.smtp_from == "Payments <pay@example.com>"
    assert "LINX_SECRET_KEY" not in values and "LINX_DATA_KEY" not in values  # they live in secrets.env


@pytest.mark.system
def test_systemd_accepts_the_units(tmp_path):
    """``systemd-analyze verify`` on each unit, with ``/opt/linx/current`` standing for this environment's install
    (systemd refuses a unit whose command does not exist)."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed here")
    venv = str(Path(sys.executable).parent.parent)
    for unit in UNITS:
        text = (DEPLOY / "systemd" / unit).read_text()
        assert "/opt/linx/current" in text or unit.startswith("linx-backup")
        (tmp_path / unit).write_text(text.replace("/opt/linx/current", venv))
    names = [str(tmp_path / u.replace("@.", "@1.")) for u in UNITS]
    done = subprocess.run([analyze, "verify", *names], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr
    broken = tmp_path / "linx-worker@.service"
    broken.write_text(broken.read_text().replace(venv, "/nowhere"))
    failed = subprocess.run([analyze, "verify", str(tmp_path / "linx-worker@1.service")], capture_output=True,
                            text=True, timeout=60, cwd=tmp_path)
    assert failed.returncode != 0 and "/nowhere/bin/linx" in failed.stderr  # the check can fail


def test_without_nginx_the_proxy_test_skips_unless_ci_requires_it(monkeypatch):
    from _pytest.outcomes import Failed, Skipped

    from . import test_deploy_nginx

    monkeypatch.setattr(test_deploy_nginx.shutil, "which", lambda name: None)
    monkeypatch.setattr(test_deploy_nginx.os, "access", lambda path, mode: False)
    monkeypatch.delenv("LINX_TEST_REQUIRE_NGINX", raising=False)
    with pytest.raises(Skipped, match="nginx is not installed"):
        test_deploy_nginx.nginx_or_skip()
    monkeypatch.setenv("LINX_TEST_REQUIRE_NGINX", "1")
    with pytest.raises(Failed, match="LINX_TEST_REQUIRE_NGINX=1"):
        test_deploy_nginx.nginx_or_skip()
    assert "LINX_TEST_REQUIRE_NGINX=1" in (ROOT / ".ci" / "run").read_text()
