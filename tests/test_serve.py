"""`linx init --demo` then `linx serve`, as `make run` does: one process serves the API and runs the worker; and
`linx serve --workers 2`: gunicorn's master and two processes, each with its own runtime and worker thread."""
import json
import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from flask import Flask
from werkzeug.test import Client

from linx_core import hookimpl, serving
from linx_core.errors import ConfigurationError
from linx_core.plugins import make_manager

from .conftest import seed_examples

pytestmark = pytest.mark.system  # real processes, servers or a browser: `make test-fast` skips them

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


def _environment(tmp_path, port):
    env = dict(os.environ, LINX_ENV="development", LINX_DATABASE_URL=f"sqlite:///{tmp_path}/linx.db",
               LINX_INSTANCE_PATH=str(tmp_path / "instance"), LINX_PUBLIC_URL=f"http://127.0.0.1:{port}",
               LINX_WORKER_POLL_SECONDS="0.2")
    env.pop("LINX_SECRET_KEY", None)
    env.pop("LINX_DATA_KEY", None)
    init = subprocess.run([LINX, "init", "--demo", "--json"], env=env, cwd=tmp_path, capture_output=True, text=True,
                          timeout=60)
    assert init.returncode == 0, init.stderr
    return env, json.loads(init.stdout)["apiKey"]


def _up(base):
    try:
        return requests.get(f"{base}/v2/openapi.json", timeout=2).status_code == 200
    except (requests.ConnectionError, requests.Timeout):  # not listening yet, or a process still loading the app
        return False


def _create_and_read_the_link(base, key):
    """Create a workflow through the API; the message a worker thread sent for it, from the console inbox."""
    created = requests.post(f"{base}/v2/linx/workflows", data=seed_examples()[3], timeout=10, headers={
        "Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    assert created.status_code == 201, created.text
    workflow_id = created.json()["id"]

    def delivered():
        inbox = requests.get(f"{base}/dev/messages.json", timeout=5).json()["messages"]
        return [m for m in inbox if m["workflowId"] == workflow_id]

    return workflow_id, _wait(delivered)


def test_serve_answers_the_api_and_its_worker_sends_the_link(tmp_path):
    port = _free_port()
    env, key = _environment(tmp_path, port)
    server = subprocess.Popen([LINX, "serve", "--port", str(port)], env=env, cwd=tmp_path,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        assert _wait(lambda: _up(base)), "the server did not come up"
        workflow_id, messages = _create_and_read_the_link(base, key)
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


@pytest.mark.parametrize("workers", ["1", "2"])
def test_serve_refuses_a_database_that_was_not_initialised(tmp_path, workers):
    env = dict(os.environ, LINX_ENV="development", LINX_DATABASE_URL=f"sqlite:///{tmp_path}/none.db",
               LINX_INSTANCE_PATH=str(tmp_path / "instance"))
    result = subprocess.run([LINX, "serve", "--port", str(_free_port()), "--workers", workers], env=env, cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "linx init" in result.stderr and "Traceback" not in result.stderr


def _children(pid):
    """The processes ``pid`` started, still alive (Linux)."""
    try:
        return {int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()}
    except FileNotFoundError:
        return set()


def test_serve_with_2_workers_runs_2_processes_that_serve_replace_a_killed_one_and_stop_on_sigterm(tmp_path):
    port = _free_port()
    env, key = _environment(tmp_path, port)
    server = subprocess.Popen([LINX, "serve", "--port", str(port), "--workers", "2", "--threads", "4"], env=env,
                              cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        assert _wait(lambda: _up(base) and len(_children(server.pid)) == 2, 30), "the server did not come up"
        first = _children(server.pid)
        with ThreadPoolExecutor(8) as pool:  # requests at once, spread over both processes
            answers = list(pool.map(lambda _: requests.get(f"{base}/readyz", timeout=10).status_code, range(40)))
        assert answers == [200] * 40
        workflow_id, messages = _create_and_read_the_link(base, key)  # a process's own worker thread sent it
        assert len(messages) == 1 and f"{base}/l/" in messages[0]["text"]

        os.kill(min(first), signal.SIGKILL)  # gunicorn's master replaces a process that dies
        assert _wait(lambda: len(_children(server.pid)) == 2 and _children(server.pid) != first, 30)
        assert _wait(lambda: _up(base))
        shown = requests.get(f"{base}/v2/linx/workflows/{workflow_id}", timeout=5,
                             headers={"Authorization": f"Bearer {key}"})
        assert shown.status_code == 200 and shown.json()["status"] == "ACTIVE"
        processes = _children(server.pid)
    finally:
        server.send_signal(signal.SIGTERM)
        output = server.communicate(timeout=40)[0]
    assert server.returncode == 0, output
    assert "with 2 gunicorn processes of 4 threads, each with a worker thread" in output
    assert not any(Path(f"/proc/{pid}").exists() for pid in processes), "a process outlived its master"
    assert "Traceback" not in output, output


def test_the_plain_gunicorn_line_of_the_readme_serves_the_app(tmp_path):
    port = _free_port()
    env, key = _environment(tmp_path, port)
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    server = subprocess.Popen([gunicorn, "--workers", "2", "--worker-class", "gthread", "--threads", "4", "--bind",
                               f"127.0.0.1:{port}", "--forwarded-allow-ips", "", "--no-control-socket",
                               "gateway_app.wsgi:wsgi_app()"], env=env,
                              cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        assert _wait(lambda: _up(base)), "gunicorn did not come up"
        assert requests.get(f"{base}/readyz", timeout=5).json()["status"] == "ready"
        listed = requests.get(f"{base}/v2/linx/workflows", timeout=5, headers={"Authorization": f"Bearer {key}"})
        assert listed.status_code == 200
    finally:
        server.send_signal(signal.SIGTERM)
        output = server.communicate(timeout=40)[0]
    assert server.returncode == 0 and "Traceback" not in output, output


# -- the web app comes from a plugin (linx_web_app): the core imports no web layer --------------------------------

def _with_plugins(rt, monkeypatch, **manager):
    monkeypatch.setitem(rt.__dict__, "plugins", make_manager(**manager))
    return rt


def test_linx_web_app_gives_the_gateway_to_a_web_process(rt, monkeypatch):
    app = serving.web_app(_with_plugins(rt, monkeypatch, web=True))
    assert isinstance(app, Flask) and app.extensions["linx"] is rt
    assert app.test_client().get("/v2/openapi.json").status_code == 200


def test_a_plugins_linx_web_app_is_served_in_the_gateways_place(rt, monkeypatch):
    def their_app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"theirs"]

    class Theirs:
        @hookimpl
        def linx_web_app(self, rt):
            return their_app

    assert serving.web_app(_with_plugins(rt, monkeypatch, web=True, extra=[Theirs()])) is their_app


def test_a_plugin_can_wrap_the_gateway_in_middleware(rt, monkeypatch):
    class Stamp:
        @hookimpl(wrapper=True)
        def linx_web_app(self, rt):
            app = yield

            def stamped(environ, start_response):
                def start(status, headers, *exc_info):
                    return start_response(status, [*headers, ("X-Stamp", "yes")], *exc_info)
                return app(environ, start)
            stamped.inner = app
            return stamped

    app = serving.web_app(_with_plugins(rt, monkeypatch, web=True, extra=[Stamp()]))
    assert isinstance(app.inner, Flask)
    response = Client(app).get("/healthz")
    assert response.status_code == 200 and response.headers["X-Stamp"] == "yes"


def test_without_the_web_plugins_no_web_app_is_served(rt, monkeypatch):
    with pytest.raises(ConfigurationError, match="linx_web_app"):
        serving.web_app(_with_plugins(rt, monkeypatch))


def test_a_worker_process_never_imports_the_web_layer(tmp_path):
    env, _ = _environment(tmp_path, _free_port())
    script = ("import sys\nfrom linx_core.cli import main\ntry:\n    main(['worker', '--once'])\n"
              "except SystemExit as exc:\n    assert not exc.code, exc.code\n"
              "print(sorted(m for m in sys.modules if m.split('.')[0] in ('flask', 'gateway_app')))\n")
    ran = subprocess.run([sys.executable, "-c", script], env=env, cwd=tmp_path, capture_output=True, text=True,
                         timeout=60)
    assert ran.returncode == 0, ran.stderr
    said = ran.stdout.splitlines()
    assert said[-2].startswith("ran ") and said[-1] == "[]", ran.stdout


# -- development on a public address (issue 12, item 8) ------------------------------------------------------------

@pytest.mark.parametrize("host", ["0.0.0.0", "::"])
def test_development_refuses_a_non_loopback_address_without_i_know(tmp_path, host):
    env = dict(os.environ, LINX_ENV="development", LINX_DATABASE_URL=f"sqlite:///{tmp_path}/linx.db",
               LINX_INSTANCE_PATH=str(tmp_path / "instance"))
    result = subprocess.run([LINX, "serve", "--host", host, "--port", str(_free_port())], env=env, cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "non-loopback" in result.stderr and "--i-know" in result.stderr and "/dev/messages" in result.stderr
    assert "Traceback" not in result.stderr


def test_production_may_serve_on_every_address(tmp_path):
    from linx_core.config import generate_secrets

    env = dict(os.environ, LINX_ENV="production", LINX_DATABASE_URL=f"sqlite:///{tmp_path}/none.db",
               **generate_secrets())
    result = subprocess.run([LINX, "serve", "--host", "0.0.0.0", "--port", str(_free_port())], env=env, cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "linx init" in result.stderr and "--i-know" not in result.stderr


def test_development_on_every_address_with_i_know_serves_and_warns_loudly(tmp_path):
    port = _free_port()
    env, _ = _environment(tmp_path, port)
    server = subprocess.Popen([LINX, "serve", "--host", "0.0.0.0", "--port", str(port), "--no-worker", "--i-know"],
                              env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert _wait(lambda: _up(f"http://127.0.0.1:{port}")), "the server did not come up"
    finally:
        server.terminate()
        output = server.communicate(timeout=20)[0]
    assert "WARNING" in output and "DEVELOPMENT MODE ON A NON-LOOPBACK ADDRESS (0.0.0.0, --i-know)" in output, output


@pytest.mark.parametrize("host, loopback", [("127.0.0.1", True), ("127.0.0.2", True), ("::1", True),
                                            ("[::1]", True), ("localhost", True), ("0.0.0.0", False),
                                            ("::", False), ("", False), ("192.168.1.20", False),
                                            ("10.0.0.5", False), ("no-such-host.invalid", False)])
def test_which_hosts_are_loopback(host, loopback):
    from linx_core.cli import _loopback

    assert _loopback(host) is loopback
