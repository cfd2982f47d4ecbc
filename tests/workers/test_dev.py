"""`isogov dev` (what `make run` starts): the API, the embedded Redis, a worker and the scheduler together.

The scheduler's start-up scan finds the example plugin's demo notes due, the worker delivers the reminder, and a
demo tenant admin reads it through the API. Stopping `dev` stops the worker and the scheduler with it.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.workers.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]


def _http(method: str, url: str, body: dict | None = None, token: str | None = None) -> tuple[int, dict]:
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, method=method, headers=headers,
                                     data=json.dumps(body).encode() if body is not None else None)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_dev_runs_a_worker_and_the_scheduler_beside_the_api(tmp_path: Path) -> None:
    port, redis_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "ISOGOV_QUEUE"}}
    env.update({
        "ISOGOV_VAR_DIR": str(tmp_path / "var"),
        "ISOGOV_EMBEDDED_REDIS_PORT": str(redis_port),
        "ISOGOV_PORT": str(port),
        "ISOGOV_REMINDER_HOUR": "0",  # past the hour whenever the test runs: the scheduler scans at start-up
        "ISOGOV_LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    })
    out = tmp_path / "dev.log"
    with open(out, "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "core.cli", "dev"], cwd=ROOT, env=env, stdout=log,
                                stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        token = None
        items: list = []
        wanted = "reminder.example.notes_pending"  # other installed plugins may remind of more
        while time.monotonic() < deadline and wanted not in [i["kind"] for i in items]:
            assert proc.poll() is None, out.read_text(errors="replace")[-3000:]
            try:
                if token is None:
                    status, body = _http("POST", f"{base}/api/v1/auth/login",
                                         {"email": "admin@lang-son.isogov.local", "password": "isogov-demo"})
                    token = body.get("access_token") if status == 200 else None
                if token:
                    items = _http("GET", f"{base}/api/v1/me/notifications", token=token)[1].get("items", [])
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.2)
        kinds = [i["kind"] for i in items]
        assert wanted in kinds, "the reminder did not reach the inbox:\n" + out.read_text(errors="replace")[-3000:]
        assert kinds.count(wanted) == 1
        from core.plugins import get_plugin_system

        assert all(get_plugin_system().notification_kind(k) is not None for k in kinds)  # declared kinds only
        status, ready = _http("GET", f"{base}/ready")
        assert status == 200 and ready["checks"]["redis"] == "ok"
        match = re.search(r"pids (\d+), (\d+)", out.read_text(errors="replace"))
        assert match, out.read_text(errors="replace")[-3000:]
        pids = [int(p) for p in match.groups()]
        assert all(_alive(pid) for pid in pids)
        for command in ("worker", "scheduler"):  # what a liveness probe runs
            r = _cli(command, "--check", REDIS_URL=f"redis://127.0.0.1:{redis_port}/0", ISOGOV_QUEUE="isogov")
            assert r.returncode == 0, r.stderr
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    assert not any(_alive(pid) for pid in pids), "the worker and the scheduler stop with `isogov dev`"


def _cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "core.cli", *args], capture_output=True, text=True, timeout=120,
                          cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT), **env})


def test_worker_commands_explain_a_missing_redis(wconfig) -> None:
    for command in ("worker", "scheduler", "relay"):
        r = _cli(command, REDIS_URL="")
        assert r.returncode == 1, r.stderr
        assert "REDIS_URL is not set" in r.stderr and "Traceback" not in r.stderr
    r = _cli("worker", "--check", ISOGOV_QUEUE=f"{wconfig.queue}-nobody")
    assert r.returncode == 1, r.stderr


async def test_relay_once_drains_the_outbox(make_tenant, redis, wconfig) -> None:
    from core.notifications.tables import OutboxMessage
    from core.notifications.notify import notify
    from core.tenancy import unscoped
    from tests.workers.conftest import run_worker

    t = await make_tenant(modules=["example"])
    await notify(await t.ctx(), kind="example.x", title="x", recipients=["viewer"])
    r = _cli("relay", "--once", ISOGOV_QUEUE=wconfig.queue)
    assert r.returncode == 0, r.stderr
    assert re.search(r"relayed [1-9]\d* outbox rows", r.stdout)
    with unscoped():
        assert await OutboxMessage.count().where(
            (OutboxMessage.tenant_id == t.id) & OutboxMessage.relayed_at.is_null()) == 0
    await run_worker(redis, wconfig)
