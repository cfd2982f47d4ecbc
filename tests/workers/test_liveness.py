"""`isogov worker --check` as a Kubernetes liveness probe: it answers for the worker of its own pod (host), not for
any worker of the queue, so a hung pod is restarted even while other replicas are healthy."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

from arq.worker import Worker

from workers.cli import check
from workers.queue import health_check_key
from workers.settings import scheduler_settings, worker_settings


async def test_each_host_beats_under_its_own_key_and_check_reads_it(redis: Any, wconfig: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr("workers.config.get_worker_config", lambda: wconfig)
    key = health_check_key(wconfig.queue)
    assert key == f"{wconfig.queue}:health-check:{socket.gethostname()}"
    worker = Worker(**worker_settings(wconfig, relay=False, manage_db=False, redis_pool=redis, burst=True,
                                      handle_signals=False))
    scheduler = Worker(**scheduler_settings(wconfig, manage_db=False, redis_pool=redis, burst=True,
                                            handle_signals=False))
    assert worker.health_check_key == key
    assert scheduler.health_check_key == health_check_key(wconfig.scheduler_queue)
    await redis.delete(key, scheduler.health_check_key)
    try:
        assert await asyncio.to_thread(check) == 1  # nothing beat on this host yet
        await worker.record_health()
        assert await asyncio.to_thread(check) == 0
        assert await asyncio.to_thread(check, True) == 1  # the scheduler has its own key
        await scheduler.record_health()
        assert await asyncio.to_thread(check, True) == 0
        # another pod's heartbeat does not keep this one alive
        await redis.delete(key)
        await redis.psetex(f"{wconfig.queue}:health-check:another-pod", 61000, b"alive")
        assert await asyncio.to_thread(check) == 1
    finally:
        await redis.delete(key, scheduler.health_check_key, f"{wconfig.queue}:health-check:another-pod")
