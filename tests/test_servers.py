"""`isogov api` serves the same app on either HTTP server (ISOGOV_SERVER), on the test database."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from typing import Any

import pytest


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("server", ["uvicorn", "granian"])
def test_api_serves_on_either_server(server: str, make_tenant: Any) -> None:
    port = _port()
    env = {**os.environ, "ISOGOV_SERVER": server, "ISOGOV_PORT": str(port)}
    proc = subprocess.Popen([sys.executable, "-m", "core.cli", "api"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, proc.stderr.read().decode(errors="replace")[-2000:] if proc.stderr else ""
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as r:
                    assert r.status == 200 and json.loads(r.read())["status"] == "ok"
                break
            except (urllib.error.URLError, ConnectionError):
                assert time.monotonic() < deadline, f"{server} did not answer"
                time.sleep(0.2)
        request = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/tenants/nowhere/agencies",
                                         headers={"Authorization": "Bearer not-a-token"})
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(request, timeout=10)
        assert err.value.code == 401
        assert err.value.headers["content-type"].startswith("application/problem+json")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_an_unknown_server_is_refused() -> None:
    result = subprocess.run([sys.executable, "-m", "core.cli", "api"], capture_output=True, text=True, timeout=120,
                            env={**os.environ, "ISOGOV_SERVER": "gunicorn"})
    assert result.returncode != 0
    assert "ISOGOV_SERVER must be one of uvicorn, granian" in result.stderr
