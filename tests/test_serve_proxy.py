"""`linx serve` behind a reverse proxy: with LINX_PROXY_HOPS=1 the Gateway's per-address rate limits count
the client address the proxy forwards (waitress must pass X-Forwarded-For through for the app to judge),
and without it a forwarded address is not believed."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from .test_serve import _free_port, _wait

LINX = str(Path(sys.executable).parent / "linx")
LINK_LIMIT = 30  # link openings per address per minute (gateway.DEFAULTS)


@pytest.mark.system
@pytest.mark.parametrize("hops", [1, 0])
def test_link_rate_limit_counts_the_forwarded_address_only_behind_a_proxy(tmp_path, hops):
    port = _free_port()
    env = dict(os.environ, LINX_ENV="development", LINX_DATABASE_URL=f"sqlite:///{tmp_path}/linx.db",
               LINX_INSTANCE_PATH=str(tmp_path / "instance"), LINX_PUBLIC_URL=f"http://127.0.0.1:{port}",
               LINX_PROXY_HOPS=str(hops))
    init = subprocess.run([LINX, "init"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert init.returncode == 0, init.stderr
    server = subprocess.Popen([LINX, "serve", "--no-worker", "--port", str(port)], env=env, cwd=tmp_path,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        def up():
            try:
                return requests.get(f"{base}/healthz", timeout=2).status_code == 200
            except requests.ConnectionError:
                return False

        assert _wait(up), "the server did not come up"
        statuses = [requests.get(f"{base}/l/no-such-token", timeout=10,
                                 headers={"X-Forwarded-For": f"203.0.113.{n}"}).status_code
                    for n in range(1, LINK_LIMIT + 6)]
    finally:
        server.terminate()
        output = server.communicate(timeout=20)[0]
    assert "Traceback" not in output, output
    if hops:
        assert 429 not in statuses  # every customer has an address of their own
    else:
        assert statuses.count(429) == 5  # all came from the one peer: the forwarded addresses are not believed


def test_behind_a_trusted_proxy_the_client_address_is_the_forwarded_one(rt):
    from flask import request

    from gateway_app import create_app
    from linx_core.runtime import Runtime

    from .conftest import test_settings

    seen = []
    for hops in (0, 1):
        app = create_app(runtime=Runtime(test_settings(database_url=rt.settings.database_url, proxy_hops=hops),
                                         database=rt.database))
        app.before_request(lambda: seen.append(request.remote_addr))
        app.test_client().get("/v2/openapi.json", headers={"X-Forwarded-For": "203.0.113.9"})
    rt.bind()
    assert seen == ["127.0.0.1", "203.0.113.9"]
