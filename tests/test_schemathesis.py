"""Schemathesis against /schema/openapi.json of a real `isogov api` process: no generated request may get a 5xx.

Bounded for CI: the fuzzing phase only, 5 examples per operation, deterministic generation (the same requests
every run), two workers, about a minute. The server runs on a scratch SQLite database with one province (every
module enabled) and its tenant admin's token, so most operations get past authentication and the tenant guard.
"""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.sqlite_only  # one engine is enough: the requests are the same, the app code is shared
def test_schemathesis_finds_no_server_error(tmp_path: Path, app: Any) -> None:
    from core.auth import issue_token
    from core.embedded import die_with_parent
    from core.plugins import get_plugin_system

    st = shutil.which("st", path=str(Path(sys.executable).parent))
    assert st, "schemathesis is a dev dependency (pyproject.toml)"
    port = _free_port()
    env = {**os.environ, "ISOGOV_VAR_DIR": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path / 'st.sqlite3'}",
           "ISOGOV_PORT": str(port), "ISOGOV_LOG_LEVEL": "WARNING", "PYTHONPATH": str(ROOT)}

    def cli(*args: str, **extra: str) -> None:
        r = subprocess.run([sys.executable, "-m", "core.cli", *args], env={**env, **extra}, capture_output=True,
                           text=True, timeout=300, cwd=ROOT)
        assert r.returncode == 0, r.stderr[-2000:]

    cli("migrate")
    modules = [a for name in get_plugin_system().module_names() for a in ("--module", name)]
    cli("create-tenant", "st-a", "Tỉnh Kiểm Thử", *modules)
    cli("create-user", "admin@st-a.test", "--role", "tenant_admin", "--full-name", "Quản trị", "--tenant", "st-a",
        ISOGOV_NEW_USER_PASSWORD=uuid.uuid4().hex)
    with sqlite3.connect(tmp_path / "st.sqlite3") as db:
        user_id = db.execute("SELECT id FROM app_user WHERE email = 'admin@st-a.test'").fetchone()[0]
    token = issue_token(app.state.jwt_auth, uuid.UUID(str(user_id)))  # the same ISOGOV_SECRET_KEY as the server

    server = subprocess.Popen([sys.executable, "-m", "core.cli", "api"], env=env, cwd=ROOT, preexec_fn=die_with_parent,
                              stdout=subprocess.DEVNULL, stderr=open(tmp_path / "api.log", "wb"))
    try:
        run = subprocess.run(
            [st, "run", f"http://127.0.0.1:{port}/schema/openapi.json", "--wait-for-schema", "120",
             "--checks", "not_a_server_error", "--phases", "fuzzing", "--max-examples", "5",
             "--generation-deterministic", "--workers", "2", "--no-color", "--max-failures", "20",
             "--header", f"Authorization: Bearer {token}", "--report-dir", str(tmp_path / "report")],
            capture_output=True, text=True, timeout=900, cwd=tmp_path)
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
    summary = run.stdout[-4000:]
    assert run.returncode == 0, summary + (tmp_path / "api.log").read_text(errors="replace")[-3000:]
    assert " passed" in summary, summary
