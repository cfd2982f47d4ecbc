"""In-app deliveries travel in groups (`core:deliver_in_app`, up to `INBOX_JOB_SIZE` a job): the same guarantees
as one job per delivery. Exactly one inbox item per delivery, however many jobs carry it; a group relayed again is
the same job (its id is made of its deliveries); a failing delivery is retried and counted on its own, and the job
with it, without its neighbours being written twice. (A worker killed mid-group: tests/workers/test_sigkill.py.)"""

from __future__ import annotations

import asyncio

import pytest
from arq.worker import Retry

from core.db import transaction
from core.notifications.notify import notify
from core.notifications.tables import InboxItem, NotificationDelivery, NotificationPreference, OutboxMessage
from core.tenancy import unscoped
from tests.workers.conftest import drain, queued_deliveries, run_worker

USERS = ("inspector", "viewer")


async def _in_app_only(t) -> None:
    ctx = await t.ctx()
    for role in USERS:
        uid = t.users[role]
        await ctx.scope(NotificationPreference).insert({"user_id": uid, "kind": "*", "key": f"{uid}:*",
                                                        "in_app": True, "email": "off"})


async def _in_app_ids(nids) -> list[str]:
    with unscoped():
        rows = await NotificationDelivery.select(NotificationDelivery.id).where(
            NotificationDelivery.notification_id.is_in(list(nids)) & (NotificationDelivery.channel == "in_app"))
    return [str(r["id"]) for r in rows]


async def _inbox_pairs(nids) -> list[tuple]:
    with unscoped():
        items = await InboxItem.select(InboxItem.notification_id, InboxItem.user_id).where(
            InboxItem.notification_id.is_in(list(nids)))
    return [(i["notification_id"], i["user_id"]) for i in items]


async def test_in_app_deliveries_are_grouped_and_a_group_relayed_again_is_the_same_job(make_tenant, redis, wconfig):
    from workers.relay import INBOX_JOB_SIZE, relay_all

    await drain(redis, wconfig)  # what earlier tests left in the outbox
    t = await make_tenant(modules=["example"])
    await _in_app_only(t)
    ctx = await t.ctx()
    count = INBOX_JOB_SIZE + 25  # 2 x 125 in-app deliveries: three groups (100, 100, 50)
    async with transaction():
        nids = [await notify(ctx, kind="example.batch", title=f"n{i}", recipients=list(USERS)) for i in range(count)]
    ids = await _in_app_ids(nids)
    assert len(ids) == 2 * count

    assert await relay_all(redis, wconfig) == 2 * count  # outbox rows relayed
    jobs = await redis.zrange(wconfig.queue, 0, -1)
    assert len(jobs) == 3 and all(j.decode().startswith("deliver:in_app:") for j in jobs)
    assert sorted(await queued_deliveries(redis, wconfig)) == sorted(ids)

    # the relay died after queueing, before marking its rows: they are relayed again, as the same jobs
    with unscoped():
        await OutboxMessage.update({OutboxMessage.relayed_at: None}).where(OutboxMessage.tenant_id == t.id)
    assert await relay_all(redis, wconfig) == 2 * count
    assert sorted(await redis.zrange(wconfig.queue, 0, -1)) == sorted(jobs)

    await run_worker(redis, wconfig)
    pairs = await _inbox_pairs(nids)
    assert len(pairs) == len(set(pairs)) == 2 * count
    with unscoped():
        assert await NotificationDelivery.count().where(
            NotificationDelivery.id.is_in(ids) & (NotificationDelivery.status == "sent")) == 2 * count


async def test_two_jobs_carrying_the_same_deliveries_show_each_once(make_tenant, wconfig):
    """Two relays reading the same rows on SQLite, a sweep beside a late job: one delivery in two jobs at once."""
    from workers.delivery import deliver_in_app

    t = await make_tenant(modules=["example"])
    await _in_app_only(t)
    ctx = await t.ctx()
    nids = [await notify(ctx, kind="example.visit", title=f"x{i}", recipients=list(USERS)) for i in range(5)]
    ids = await _in_app_ids(nids)
    job_ctx = {"config": wconfig}
    first, second = await asyncio.gather(deliver_in_app(job_ctx, ids), deliver_in_app(job_ctx, ids[:4]))
    assert sum(first.values()) == 10 and sum(second.values()) == 4 and set(first) | set(second) <= {"sent", "noop"}
    with unscoped():
        assert await NotificationDelivery.count().where(
            NotificationDelivery.id.is_in(ids) & (NotificationDelivery.status == "sent")
            & (NotificationDelivery.attempts == 1)) == 10
    pairs = await _inbox_pairs(nids)
    assert len(pairs) == len(set(pairs)) == 10
    assert await deliver_in_app(job_ctx, ids) == {"noop": 10}  # run again (a killed worker's job): nothing to do


async def test_a_failing_delivery_retries_the_group_alone_and_ends_failed(make_tenant, redis, wconfig, monkeypatch):
    from workers.channels import in_app
    from workers.delivery import deliver_in_app
    from workers.relay import relay_all

    await drain(redis, wconfig)
    t = await make_tenant(modules=["example"])
    await _in_app_only(t)
    ctx = await t.ctx()
    nids = [await notify(ctx, kind="example.visit", title=f"x{i}", recipients=list(USERS)) for i in range(3)]
    ids = await _in_app_ids(nids)
    bad = ids[0]
    real = in_app.deliver_in_app
    batches: list[list[str]] = []

    async def flaky(batch):
        batches.append([str(i) for i in batch])
        if any(str(i) == bad for i in batch):
            raise RuntimeError("a row the database will not take")
        return await real(batch)

    monkeypatch.setattr(in_app, "deliver_in_app", flaky)
    with pytest.raises(Retry):  # the job is retried for the one delivery that failed ...
        await deliver_in_app({"config": wconfig}, ids)
    with unscoped():
        rows = {str(r["id"]): r for r in await NotificationDelivery.select().where(NotificationDelivery.id.is_in(ids))}
    assert rows[bad]["status"] == "pending" and rows[bad]["attempts"] == 1 and "will not take" in rows[bad]["last_error"]
    assert all(rows[i]["status"] == "sent" and rows[i]["attempts"] == 1 for i in ids[1:])  # ... its neighbours went

    # through the queue: retried with backoff (the sent ones are no-ops), then failed after the last attempt
    assert await relay_all(redis, wconfig) == len(ids)
    await run_worker(redis, wconfig)
    with unscoped():
        rows = {str(r["id"]): r for r in await NotificationDelivery.select().where(NotificationDelivery.id.is_in(ids))}
    assert rows[bad]["status"] == "failed" and rows[bad]["attempts"] == wconfig.max_attempts
    assert all(rows[i]["status"] == "sent" and rows[i]["attempts"] == 1 for i in ids[1:])
    pairs = await _inbox_pairs(nids)
    assert len(pairs) == len(set(pairs)) == len(ids) - 1
    assert await redis.zcard(wconfig.queue) == 0
