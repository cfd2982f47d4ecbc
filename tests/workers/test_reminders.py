"""The daily reminder scan: enabled modules only, once per item per day however often it runs."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

from core.notifications.tables import InboxItem, Notification
from core.tenancy import unscoped
from core.text import fold
from tenants import service
from tests.example_plugin.tables import ExampleNote
from tests.workers.conftest import drain, run_worker
from workers.reminders import scan_reminders, scan_tenant

DAY = date(2026, 3, 2)


async def _note(t) -> None:
    ctx = await t.ctx()
    await ctx.scope(ExampleNote).insert({"agency_id": t.agencies["D1"], "title": "Ghi chú cần xem",
                                         "title_folded": fold("Ghi chú cần xem")})


async def _reminders(t) -> list[dict]:
    with unscoped():
        return await Notification.select().where(
            (Notification.tenant_id == t.id) & Notification.kind.like("reminder.%"))


async def _inbox(t, role: str) -> int:
    with unscoped():
        return await InboxItem.count().where((InboxItem.tenant_id == t.id) & (InboxItem.user_id == t.users[role]))


async def test_repeated_scans_notify_once_per_item_per_day(make_tenant, redis, wconfig):
    t = await make_tenant(modules=["example"])
    await _note(t)

    first = await scan_tenant(t.code, DAY)
    assert (first.sent, first.repeated, first.failed) == (1, 0, 0)
    again = await scan_tenant(t.code, DAY)
    assert (again.sent, again.repeated) == (0, 1)
    # concurrent scans of the same day (two schedulers, a retried job) add nothing either
    results = await asyncio.gather(*(scan_tenant(t.code, DAY) for _ in range(3)))
    assert sum(r.sent for r in results) == 0 and sum(r.repeated for r in results) == 3
    await drain(redis, wconfig)
    assert await scan_tenant(t.code, DAY) is not None
    await drain(redis, wconfig)

    rows = await _reminders(t)
    assert len(rows) == 1
    assert rows[0]["kind"] == "reminder.example.notes_pending"
    assert rows[0]["title"] == "1 ghi chú cần xem" and "02/03/2026" in rows[0]["body"]
    assert await _inbox(t, "tenant_admin") == 1  # the reminder's audience
    assert await _inbox(t, "inspector") == 0

    # the next day is another reminder
    assert (await scan_tenant(t.code, DAY + timedelta(days=1))).sent == 1
    await drain(redis, wconfig)
    assert len(await _reminders(t)) == 2 and await _inbox(t, "tenant_admin") == 2


async def test_only_enabled_modules_and_active_tenants_are_asked(make_tenant):
    t = await make_tenant(modules=["example"])
    await _note(t)
    await service.set_module(await t.ctx(), "example", False)
    assert (await scan_tenant(t.code, DAY)).sent == 0
    await service.set_module(await t.ctx(), "example", True)

    await service.update_tenant(t.code, {"status": "suspended"}, (await t.ctx()).actor)
    assert (await scan_tenant(t.code, DAY)).sent == 0
    await service.update_tenant(t.code, {"status": "active"}, (await t.ctx()).actor)
    assert (await scan_tenant(t.code, DAY)).sent == 1

    quiet = await make_tenant(modules=["example"])  # nothing due there
    assert (await scan_tenant(quiet.code, DAY)).sent == 0
    assert await _reminders(quiet) == []


async def test_the_cron_job_queues_one_scan_per_tenant_for_the_workers(make_tenant, redis, wconfig):
    from workers.reminders import today

    t = await make_tenant(modules=["example"])
    await _note(t)
    ctx = {"config": wconfig, "redis": redis}
    queued = await scan_reminders(ctx)
    assert queued >= 1
    assert await scan_reminders(ctx) == queued  # queued twice: the same job ids, one scan each
    await run_worker(redis, wconfig)
    await drain(redis, wconfig)
    rows = await _reminders(t)
    assert len(rows) == 1 and rows[0]["dedup_key"].startswith(f"reminder:example:{today(wconfig).isoformat()}:")
    assert await _inbox(t, "tenant_admin") == 1


async def test_a_scan_that_failed_for_a_while_is_tried_again_the_same_day(make_tenant, redis, wconfig, monkeypatch):
    """A transient error (the database, a deadlock) while notifying a reminder must not skip it for the day: the
    tenant's scan job is run again, and what it already sent is not sent twice."""
    from workers import reminders

    t = await make_tenant(modules=["example"])
    await _note(t)
    real = reminders.notify
    calls: list[str] = []

    async def flaky(ctx, **kwargs):
        calls.append(kwargs["dedup_key"])
        if len(calls) == 1:
            raise ConnectionError("the database went away for a moment")
        return await real(ctx, **kwargs)

    monkeypatch.setattr(reminders, "notify", flaky)
    day = DAY + timedelta(days=40)
    await redis.enqueue_job(reminders.SCAN_TENANT_JOB, t.code, day.isoformat(),
                            _job_id=f"reminders:{t.id}:{day.isoformat()}:test", _queue_name=wconfig.queue)
    await run_worker(redis, wconfig)
    await drain(redis, wconfig)
    rows = [r for r in await _reminders(t) if day.isoformat() in r["dedup_key"]]
    assert len(rows) == 1 and len(calls) >= 2
    assert await _inbox(t, "tenant_admin") == 1
    await redis.delete(f"arq:result:reminders:{t.id}:{day.isoformat()}:test")


async def test_a_scan_longer_than_the_job_timeout_resumes_instead_of_skipping_the_rest(
        make_tenant, wconfig, monkeypatch):
    """arq cancels a job at its timeout and does not run it again: the reminders after that point were skipped
    for the day. The scan stops before its budget (checked between reminders) and its next run goes on where it
    stopped. Driven by a fake clock and the example plugin's real reminder: no sleeps, no fake plugin system."""
    import pytest
    from arq.worker import Retry

    from workers import reminders

    t = await make_tenant(modules=["example"])
    await _note(t)
    day = DAY + timedelta(days=50)
    now = {"t": 0.0}
    monkeypatch.setattr(reminders, "_clock", lambda: now["t"])
    real_scan = reminders.scan_tenant

    async def late_scan(tenant_code, on, should_stop=None):
        now["t"] = 10_000.0  # the budget is spent before the first reminder
        return await real_scan(tenant_code, on, should_stop)

    monkeypatch.setattr(reminders, "scan_tenant", late_scan)
    with pytest.raises(Retry):
        await reminders.scan_tenant_reminders({"config": wconfig, "job_try": 1}, t.code, day.isoformat())
    assert [r for r in await _reminders(t) if day.isoformat() in r["dedup_key"]] == []
    monkeypatch.setattr(reminders, "scan_tenant", real_scan)
    now["t"] = 0.0
    done = await reminders.scan_tenant_reminders({"config": wconfig, "job_try": 2}, t.code, day.isoformat())
    assert done == {"sent": 1, "repeated": 0, "failed": 0}
    rows = [r for r in await _reminders(t) if day.isoformat() in r["dedup_key"]]
    assert [r["title"] for r in rows] == ["1 ghi chú cần xem"]
