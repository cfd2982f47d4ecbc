"""Crash safety: a real worker process on real Redis, killed with SIGKILL in the middle of a batch (while it holds
jobs of grouped in-app deliveries), started again: every notification is delivered, none is shown twice."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

from arq.jobs import deserialize_job

from core.db import transaction
from core.notifications.tables import InboxItem, NotificationDelivery, NotificationPreference, OutboxMessage
from core.notifications.notify import notify
from core.tenancy import unscoped
from tests.workers.conftest import drain

ROOT = Path(__file__).resolve().parents[2]
NOTIFICATIONS = 400
USERS = ("inspector", "viewer")
JOB_TIMEOUT = 3  # a killed worker's running jobs are taken up again JOB_TIMEOUT + 10 s later (arq's lease)


def _start_worker(config, log_path: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "ISOGOV_QUEUE": config.queue,
        "ISOGOV_JOB_TIMEOUT": str(JOB_TIMEOUT),
        "ISOGOV_WORKER_MAX_JOBS": "10",
        "ISOGOV_WORKER_POLL_DELAY": "0.01",
        "ISOGOV_RELAY_INTERVAL": "0.05",
        "ISOGOV_DELIVERY_BACKOFF_SECONDS": "0.1",
        "ISOGOV_SMTP_HOST": "",
        "ISOGOV_LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }
    log = open(log_path, "ab")
    try:
        return subprocess.Popen([sys.executable, "-m", "workers", "worker"], cwd=ROOT, env=env, stdout=log,
                                stderr=subprocess.STDOUT)
    finally:
        log.close()


async def _sent(tenant_id) -> int:
    with unscoped():
        return await NotificationDelivery.count().where(
            (NotificationDelivery.tenant_id == tenant_id) & (NotificationDelivery.status == "sent"))


async def _wait_for(predicate, timeout: float, what: str, proc: subprocess.Popen, log_path: Path,
                    every: float = 0.01) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await predicate():
        if proc.poll() is not None:
            raise AssertionError(f"the worker exited with {proc.returncode} while waiting for {what}:\n"
                                 + log_path.read_text(errors="replace")[-3000:])
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}:\n" + log_path.read_text(errors="replace")[-3000:])
        await asyncio.sleep(every)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


async def test_worker_killed_mid_batch_delivers_everything_once(client, make_tenant, redis, wconfig, tmp_path):
    await drain(redis, wconfig)  # leave nothing of other tests in this session's outbox and queue
    t = await make_tenant(modules=["example"])
    ctx = await t.ctx()
    for role in USERS:  # in-app only: the inbox is what must never show a notification twice
        uid = t.users[role]
        await ctx.scope(NotificationPreference).insert({"user_id": uid, "kind": "*", "key": f"{uid}:*",
                                                        "in_app": True, "email": "off"})
    async with transaction():
        ids = [await notify(ctx, kind="example.batch", title=f"Thông báo {i}", recipients=list(USERS))
               for i in range(NOTIFICATIONS)]
    total = NOTIFICATIONS * len(USERS)

    with unscoped():
        rows = await NotificationDelivery.select(NotificationDelivery.id, NotificationDelivery.notification_id,
                                                 NotificationDelivery.user_id, NotificationDelivery.channel).where(
            NotificationDelivery.tenant_id == t.id)
    ours = {str(r["id"]) for r in rows}

    async def held_jobs() -> dict[str, set[str]]:  # this test's jobs a worker holds right now: their deliveries
        # the relay in the worker groups in-app deliveries into `core:deliver_in_app` jobs (ids deliver:in_app:…)
        held = {}
        async for key in redis.scan_iter(match="arq:in-progress:deliver:in_app:*", count=1000):
            data = await redis.get("arq:job:" + key.decode().removeprefix("arq:in-progress:"))
            if data is not None:
                carried = {str(i) for i in deserialize_job(data).kwargs.get("delivery_ids", ())} & ours
                if carried:
                    held[key.decode()] = carried
        return held

    async def running() -> int:
        return len(await held_jobs())

    log_path = tmp_path / "worker.log"
    # Kill a worker once a fair part is delivered, at a moment it holds running jobs (it finishes them in
    # batches, so there are instants between two batches with none: then start it again and kill it later).
    for attempt in range(1, 6):
        proc = _start_worker(wconfig, log_path)
        try:
            target = total * (attempt + 1) // 10

            async def ready() -> bool:
                return await _sent(t.id) >= target and await running() > 0

            await _wait_for(ready, 90, "deliveries in progress", proc, log_path, every=0.002)
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)
        assert proc.returncode == -signal.SIGKILL
        leases = await held_jobs()
        held = len(leases)
        sent_at_kill = await _sent(t.id)
        assert 0 < sent_at_kill < total, "the kill must land in the middle of the batch"
        if held:
            break
    else:
        raise AssertionError("five kills in a row landed between two batches of jobs")
    with unscoped():
        done = {r["id"] for r in await NotificationDelivery.select(NotificationDelivery.id).where(
            (NotificationDelivery.tenant_id == t.id) & (NotificationDelivery.status == "sent"))}
    carried = set().union(*leases.values())
    committed = len(carried & {str(i) for i in done})
    print(f"\nSIGKILL (try {attempt}) at {sent_at_kill}/{total} sent, {held} jobs running with {len(carried)} "
          f"deliveries, {committed} of them already committed")

    second = _start_worker(wconfig, log_path)
    try:
        await _wait_for(lambda: _at_least(t.id, total), JOB_TIMEOUT + 10 + 90, "every delivery", second, log_path)
        with unscoped():
            assert await OutboxMessage.count().where(
                (OutboxMessage.tenant_id == t.id) & OutboxMessage.relayed_at.is_null()) == 0
    finally:
        _stop(second)

    with unscoped():
        statuses = await NotificationDelivery.select(NotificationDelivery.status).where(
            NotificationDelivery.tenant_id == t.id)
        items = await InboxItem.select(InboxItem.notification_id, InboxItem.user_id).where(InboxItem.tenant_id == t.id)
    assert [s["status"] for s in statuses] == ["sent"] * total
    pairs = [(i["notification_id"], i["user_id"]) for i in items]
    assert len(pairs) == total and len(set(pairs)) == total  # every notification shown, none twice
    assert set(pairs) == {(n, t.users[role]) for n in ids for role in USERS}

    page = (await client.get("/api/v1/me/notifications", params={"limit": 500}, headers=t.headers("viewer"))).json()
    assert page["total"] == NOTIFICATIONS and page["unread"] == NOTIFICATIONS
    titles = [item["title"] for item in page["items"]]
    assert len(titles) == len(set(titles)) == NOTIFICATIONS


async def _at_least(tenant_id, count: int) -> bool:
    return await _sent(tenant_id) >= count
