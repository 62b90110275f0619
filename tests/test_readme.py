"""The README's runnable shell blocks run as pasted (issue 16): each block marked ``<!-- runnable -->`` is pasted,
in the README's order, into one new shell (no ``LINX_*`` variable set) in a copy of the clone where `make run`'s
steps ran, against a real ``linx serve``; every command must succeed (``set -e``; the curl calls use ``-fsS``, so
a 4xx or 5xx fails)."""
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from .conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")
RUNNABLE = re.compile(r"^<!-- runnable -->\n```(?:sh|bash|console)\n(.*?)^```", re.S | re.M)
SHELL_BLOCK = re.compile(r"^```(?:sh|bash|console)\n(.*?)^```", re.S | re.M)
PLACEHOLDER = re.compile(r"<[a-zA-Z_-]+>")


def runnable_blocks(text=README):
    return RUNNABLE.findall(text)


def test_the_readme_marks_its_runnable_blocks_and_they_hold_no_placeholder():
    blocks = runnable_blocks()
    assert len(blocks) >= 5, blocks
    for block in blocks:
        assert not PLACEHOLDER.search(block), block
        for line in block.splitlines():
            if re.search(r"\bcurl\b", line):
                assert "curl -fsS" in line, line  # a refused request must fail the command
    # the Try it block comes first: it sets what the others use
    assert blocks[0].startswith("KEY=$(.venv/bin/linx init --demo --json")


def test_an_unmarked_block_has_a_reason_not_to_run():
    """A shell block left unmarked holds a placeholder, or is not for the clone's shell (make, a deployment)."""
    unmarked = [b for b in SHELL_BLOCK.findall(README) if b not in runnable_blocks()]
    for block in unmarked:
        assert PLACEHOLDER.search(block) or re.search(r"^(make |export |\(umask|gunicorn |linx )", block, re.M), block


def _free_port():
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.system
def test_the_readmes_runnable_blocks_run_as_pasted_after_make_run(tmp_path):
    port = _free_port()
    clone = tmp_path / "linx"
    clone.mkdir()
    (clone / ".git").mkdir()  # a clone, as linx_core.devfile tells one
    (clone / ".venv").symlink_to(Path(sys.prefix))  # this test's environment, where `linx` is installed
    (clone / "rules").symlink_to(ROOT / "rules")
    plain = {k: v for k, v in os.environ.items() if not k.startswith("LINX_") and k not in ("VIRTUAL_ENV",)}
    # `make run`'s steps, with its environment (Makefile: LINX_ENV, LINX_PUBLIC_URL from HOST and PORT)
    make_env = dict(plain, LINX_ENV="development", LINX_PUBLIC_URL=f"http://127.0.0.1:{port}")
    linx = str(clone / ".venv" / "bin" / "linx")
    python = str(clone / ".venv" / "bin" / "python")
    for step in ([python, "-m", "linx_core.ports", "127.0.0.1", str(port)],
                 [python, "-m", "linx_core.devfile", "instance/linx.env"],
                 [linx, "init", "--demo", "--json"]):
        done = subprocess.run(step, cwd=clone, env=make_env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, (step, done.stderr)
    log = open(tmp_path / "serve.log", "w")  # noqa: SIM115 (closed in the finally below, after the server)
    server = subprocess.Popen([linx, "serve", "--host", "127.0.0.1", "--port", str(port)], cwd=clone, env=make_env,
                              stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert server.poll() is None and time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
            time.sleep(0.2)
        # the README's blocks, in order, in one new shell; the port is this test's, not 8000
        script = "\n".join(block.replace("127.0.0.1:8000", f"127.0.0.1:{port}") for block in runnable_blocks())
        (tmp_path / "readme.sh").write_text(
            "set -eo pipefail\ntrap 'echo \"README command failed: $BASH_COMMAND\" >&2' ERR\nset -x\n" + script)
        shell = subprocess.run(["bash", "--noprofile", "--norc", str(tmp_path / "readme.sh")], cwd=clone, env=plain,
                               capture_output=True, text=True, timeout=300)
        assert shell.returncode == 0, (shell.stdout[-4000:], shell.stderr[-6000:])
        assert "README command failed" not in shell.stderr
        # what they did: four workflows (and example 1's, extended, resent, cancelled, archived), Acme's key
        assert shell.stdout.count('"passcode"') >= 4
        assert '"status": "ARCHIVED"' in shell.stdout or '"status":"ARCHIVED"' in shell.stdout, shell.stdout[-3000:]
        assert "linx: development settings from instance/linx.env" in shell.stderr
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)
        log.close()
    assert "Traceback" not in (tmp_path / "serve.log").read_text()
