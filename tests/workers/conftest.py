"""Fixtures of the worker tests: a queue of this session's own on the shared Redis, real arq workers, real SMTP.

Nothing here flushes Redis: every key this session makes is under its own queue name or a job id that holds a
fresh UUID, and the queue keys are deleted at the end.
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any, AsyncIterator

import pytest

from core.metrics import jobs_key

QUEUE = f"isogov-test-{os.getpid()}-{uuid.uuid4().hex[:8]}"
os.environ["ISOGOV_QUEUE"] = QUEUE


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def wconfig() -> Any:
    from workers.config import load_worker_config

    return load_worker_config().with_(queue=QUEUE, smtp_host=None, backoff_seconds=0.01, max_attempts=3,
                                      poll_delay=0.01, relay_interval=0.05, job_timeout=20, max_jobs=10)


@pytest.fixture(scope="session")
async def redis(wconfig: Any, migrated: None) -> AsyncIterator[Any]:
    from workers.queue import connect

    pool = await connect(wconfig)
    yield pool
    from workers.queue import health_check_key

    await pool.delete(wconfig.queue, health_check_key(wconfig.queue), wconfig.scheduler_queue,
                      health_check_key(wconfig.scheduler_queue), jobs_key(wconfig.queue))
    await pool.aclose()


async def run_worker(redis: Any, config: Any, timeout: float = 60) -> Any:
    """A real arq worker in burst mode: runs every job on the queue (waiting out deferred retries), then stops."""
    from arq.worker import Worker

    from workers.settings import worker_settings

    from workers.metrics import flush

    worker = Worker(**worker_settings(config, relay=False, manage_db=False, redis_pool=redis, burst=True,
                                      handle_signals=False, poll_delay=0.01))
    await asyncio.wait_for(worker.async_run(), timeout=timeout)
    await flush(redis)  # as a stopping worker does (async_run skips the shutdown hook: the pool is the test's)
    return worker


async def queued_deliveries(redis: Any, config: Any) -> list[str]:
    """The delivery ids the jobs on the queue carry (one per `core:deliver` job, a group per `core:deliver_in_app`
    job), with repeats."""
    from arq.jobs import deserialize_job

    carried: list[str] = []
    for job_id in await redis.zrange(config.queue, 0, -1):
        data = await redis.get(f"arq:job:{job_id.decode()}")
        if data is None:
            continue
        job = deserialize_job(data)
        if job.function == "core:deliver_in_app":
            carried += [str(i) for i in job.kwargs["delivery_ids"]]
        elif job.function == "core:deliver":
            carried.append(str(job.kwargs["delivery_id"]))
    return carried


async def drain(redis: Any, config: Any, timeout: float = 60) -> None:
    """Relay the outbox and run workers until the outbox is empty and the queue idle."""
    from core.notifications.tables import OutboxMessage
    from core.tenancy import unscoped
    from workers.relay import relay_all

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        await relay_all(redis, config)
        await run_worker(redis, config, timeout=max(1.0, deadline - loop.time()))
        with unscoped():
            left = await OutboxMessage.count().where(OutboxMessage.relayed_at.is_null())
        if not left:
            return
        if loop.time() > deadline:
            raise TimeoutError("the outbox did not drain in time")


@dataclass
class Mailbox:
    """A real SMTP server on loopback (aiosmtpd) and what it received."""

    host: str
    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)  # addresses answered with 550

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,  # noqa: N802
                          rcpt_options: list[str]) -> str:
        if address in self.refuse:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd API)
        msg = message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
        msg["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        self.messages.append(msg)  # type: ignore[arg-type]
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if address in m["X-Envelope-To"]]


@pytest.fixture
def smtp_server() -> Any:
    from aiosmtpd.controller import Controller

    box = Mailbox(host="127.0.0.1", port=free_port())
    controller = Controller(box, hostname=box.host, port=box.port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


@pytest.fixture
def smtp_config(wconfig: Any, smtp_server: Mailbox) -> Any:
    return wconfig.with_(smtp_host=smtp_server.host, smtp_port=smtp_server.port, smtp_starttls=False,
                         smtp_from="isogov@test.local")
