"""`linx serve --metrics-port`: a real server in production mode keeps /metrics off its public address and serves
it, with /healthz and nothing else, on a loopback address of its own (issue 12, item 5)."""
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from cryptography.fernet import Fernet

from .test_serve import _free_port, _wait

pytestmark = pytest.mark.system  # real processes

LINX = str(Path(sys.executable).parent / "linx")


def _answers(url):
    try:
        return requests.get(url, timeout=2).status_code == 200
    except (requests.ConnectionError, requests.Timeout):
        return False


@pytest.mark.parametrize("workers", ["1", "2"])
def test_the_metrics_port_serves_metrics_and_nothing_else_and_the_public_port_no_metrics(tmp_path, workers):
    port, metrics_port = _free_port(), _free_port()
    env = dict(os.environ, LINX_ENV="production", LINX_DATABASE_URL=f"sqlite:///{tmp_path}/linx.db",
               LINX_INSTANCE_PATH=str(tmp_path / "instance"), LINX_PUBLIC_URL=f"http://127.0.0.1:{port}",
               LINX_SECRET_KEY=secrets.token_urlsafe(32), LINX_DATA_KEY=Fernet.generate_key().decode())
    env.pop("LINX_METRICS_TOKEN", None)
    init = subprocess.run([LINX, "init"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert init.returncode == 0, init.stderr
    server = subprocess.Popen([LINX, "serve", "--port", str(port), "--metrics-port", str(metrics_port),
                               "--workers", workers, "--threads", "2", "--no-worker"], env=env, cwd=tmp_path,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    public, private = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{metrics_port}"
    try:
        assert _wait(lambda: _answers(f"{public}/healthz") and _answers(f"{private}/healthz")), \
            "the server did not come up"
        assert requests.get(f"{public}/v2/openapi.json", timeout=5).status_code == 200

        # the public address: no metrics, and readiness without its details
        refused = requests.get(f"{public}/metrics", timeout=5)
        assert refused.status_code == 404 and "linx_" not in refused.text
        assert requests.get(f"{public}/readyz", timeout=5).json() == {"status": "ready"}

        # the metrics address: the metrics (of the requests the public address served too) and liveness
        scraped = requests.get(f"{private}/metrics", timeout=5)
        assert scraped.status_code == 200 and scraped.headers["Content-Type"].startswith("text/plain")
        assert "linx_database_up 1.0" in scraped.text
        if workers == "1":  # one process: the scrape sees what the public address served
            assert 'endpoint="/v2/openapi.json"' in scraped.text
        assert requests.get(f"{private}/healthz", timeout=5).json() == {"status": "ok"}
        for path in ("/readyz", "/v2/openapi.json", "/v2/docs", "/v2/linx/workflows", "/l/abc", "/", "/metrics/x"):
            response = requests.get(private + path, timeout=5)
            assert response.status_code == 404, path
            assert response.json()["errorCode"] == "NOT_FOUND", path
        assert requests.post(f"{private}/v2/linx/workflows", json={}, timeout=5).status_code == 404
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0]
    assert f"metrics at http://127.0.0.1:{metrics_port}/metrics" in output, output
    assert "Traceback" not in output, output


def test_serve_refuses_a_metrics_port_that_is_its_own_port(tmp_path):
    env = dict(os.environ, LINX_ENV="development", LINX_DATABASE_URL=f"sqlite:///{tmp_path}/linx.db",
               LINX_INSTANCE_PATH=str(tmp_path / "instance"))
    result = subprocess.run([LINX, "serve", "--port", "8123", "--metrics-port", "8123"], env=env, cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "--metrics-port 8123" in result.stderr and "Traceback" not in result.stderr


def _production(tmp_path, port, **extra):
    """A production environment on a fresh SQLite database that `linx init` has set up."""
    env = dict(os.environ, LINX_ENV="production", LINX_DATABASE_URL=f"sqlite:///{tmp_path}/linx.db",
               LINX_INSTANCE_PATH=str(tmp_path / "instance"), LINX_PUBLIC_URL=f"http://127.0.0.1:{port}",
               LINX_SECRET_KEY=secrets.token_urlsafe(32), LINX_DATA_KEY=Fernet.generate_key().decode())
    env.pop("LINX_METRICS_TOKEN", None)
    env.update(extra)
    init = subprocess.run([LINX, "init"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert init.returncode == 0, init.stderr
    return env


def test_metrics_on_a_public_address_need_the_token_or_i_know(tmp_path):
    """Without LINX_METRICS_TOKEN the metrics port asks for nothing: on 0.0.0.0 it would show every business's
    counts to anyone (issue 12 review, item 3)."""
    port, metrics_port = _free_port(), _free_port()
    env = _production(tmp_path, port)
    command = [LINX, "serve", "--port", str(port), "--metrics-port", str(metrics_port), "--metrics-host", "0.0.0.0",
               "--no-worker", "--threads", "2"]
    result = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "LINX_METRICS_TOKEN" in result.stderr and "'0.0.0.0'" in result.stderr and "--i-know" in result.stderr
    assert "Traceback" not in result.stderr

    token = secrets.token_urlsafe(24)
    for extra_env, extra_args in (({"LINX_METRICS_TOKEN": token}, []), ({}, ["--i-know"])):
        server = subprocess.Popen(command + extra_args, env=dict(env, **extra_env), cwd=tmp_path,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            assert _wait(lambda: _answers(f"http://127.0.0.1:{metrics_port}/healthz")), "the server did not come up"
            scraped = requests.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5)
            assert scraped.status_code == (200 if extra_args else 401), scraped.status_code
        finally:
            server.terminate()
            output = server.communicate(timeout=30)[0]
        assert "Traceback" not in output, output
        if extra_args:
            assert "METRICS WITHOUT A TOKEN" in output, output


@pytest.mark.parametrize("option", ["--host", "--metrics-host"])
@pytest.mark.parametrize("value, why", [("", "is empty"), ("256.1.1.1", "not a valid IP address"),
                                        ("a b", "neither an IP address nor a host name")])
def test_serve_refuses_an_invalid_address_with_the_reason(tmp_path, option, value, why):
    """Not waitress's ValueError traceback: exit 2 and why (issue 12 review, item 5)."""
    port = _free_port()
    env = _production(tmp_path, port, LINX_METRICS_TOKEN=secrets.token_urlsafe(24))
    result = subprocess.run([LINX, "serve", "--port", str(port), "--metrics-port", str(_free_port()), "--no-worker",
                             option, value], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert why in result.stderr and option in result.stderr and "Traceback" not in result.stderr, result.stderr
