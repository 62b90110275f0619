"""`linx init --demo` then `linx serve`, as `make run` does: one process serves the API and runs the worker."""
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from .conftest import seed_examples

LINX = str(Path(sys.executable).parent / "linx")


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(predicate, seconds=20):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.2)
    return predicate()


def test_serve_answers_the_api_and_its_worker_sends_the_link(tmp_path):
    port = _free_port()
    env = dict(os.environ, LINX_ENV="development", LINX_DATABASE_URL=f"sqlite:///{tmp_path}/linx.db",
               LINX_INSTANCE_PATH=str(tmp_path / "instance"), LINX_PUBLIC_URL=f"http://127.0.0.1:{port}",
               LINX_WORKER_POLL_SECONDS="0.2")
    env.pop("LINX_SECRET_KEY", None)
    env.pop("LINX_DATA_KEY", None)
    init = subprocess.run([LINX, "init", "--demo", "--json"], env=env, cwd=tmp_path, capture_output=True, text=True,
                          timeout=60)
    assert init.returncode == 0, init.stderr
    key = json.loads(init.stdout)["apiKey"]
    server = subprocess.Popen([LINX, "serve", "--port", str(port)], env=env, cwd=tmp_path,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        def up():
            try:
                return requests.get(f"{base}/v2/openapi.json", timeout=2).status_code == 200
            except requests.ConnectionError:
                return False

        assert _wait(up), "the server did not come up"
        created = requests.post(f"{base}/v2/linx/workflows", data=seed_examples()[3], timeout=10, headers={
            "Authorization": f"Bearer {key}", "Content-Type": "application/json"})
        assert created.status_code == 201, created.text
        workflow_id = created.json()["id"]

        def delivered():
            inbox = requests.get(f"{base}/dev/messages.json", timeout=5).json()["messages"]
            return [m for m in inbox if m["workflowId"] == workflow_id]

        messages = _wait(delivered)
        assert len(messages) == 1 and messages[0]["to"] == "+16471234567"
        assert f"{base}/l/" in messages[0]["text"]
        shown = requests.get(f"{base}/v2/linx/workflows/{workflow_id}", timeout=5,
                             headers={"Authorization": f"Bearer {key}"}).json()
        assert shown["status"] == "ACTIVE" and shown["nextNotificationAt"]
        assert requests.get(f"{base}/v2/docs", timeout=5).status_code == 200
    finally:
        server.terminate()
        output = server.communicate(timeout=20)[0]
    assert "Traceback" not in output, output


def test_serve_refuses_a_database_that_was_not_initialised(tmp_path):
    env = dict(os.environ, LINX_ENV="development", LINX_DATABASE_URL=f"sqlite:///{tmp_path}/none.db",
               LINX_INSTANCE_PATH=str(tmp_path / "instance"))
    result = subprocess.run([LINX, "serve", "--port", str(_free_port())], env=env, cwd=tmp_path, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2 and "linx init" in result.stderr and "Traceback" not in result.stderr
