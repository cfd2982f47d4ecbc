"""Delivery: email through a real SMTP server on loopback, idempotent re-runs, retries with backoff, failures
kept and shown to tenant admins, and queued again on request."""

from __future__ import annotations

from core.notifications.tables import InboxItem, NotificationDelivery, OutboxMessage
from core.notifications.notify import notify
from core.tenancy import unscoped
from tests.workers.conftest import drain, free_port, queued_deliveries, run_worker


async def _deliveries(nid) -> dict[str, dict]:
    with unscoped():
        rows = await NotificationDelivery.select().where(NotificationDelivery.notification_id == nid)
    return {r["channel"]: r for r in rows}


async def test_email_goes_through_smtp_once(make_tenant, redis, smtp_server, smtp_config):
    t = await make_tenant(modules=["example"])
    ctx = await t.ctx()
    nid = await notify(ctx, kind="example.visit", title="Lịch kiểm tra ISO ngày 02/04",
                       body="Đoàn kiểm tra làm việc tại Sở Giao thông Vận tải.", recipients=["agency_officer"],
                       agency_id=t.agencies["D1"], link="example/notes")
    await drain(redis, smtp_config.with_(public_url="https://iso.example.gov.vn"))

    mails = smtp_server.to(t.emails["agency_officer"])
    assert len(mails) == 1
    mail = mails[0]
    assert mail["Subject"] == "Lịch kiểm tra ISO ngày 02/04"
    text = mail.get_content()
    assert "Đoàn kiểm tra làm việc tại Sở Giao thông Vận tải." in text
    assert f"https://iso.example.gov.vn/api/v1/tenants/{t.code}/example/notes" in text
    assert "isogov@test.local" in mail["From"]
    rows = await _deliveries(nid)
    assert rows["email"]["status"] == "sent" and rows["email"]["attempts"] == 1 and rows["email"]["sent_at"]

    # the same jobs queued again (a relay that ran twice, a sweep): nothing is sent or shown again
    from workers.relay import sweep_once

    with unscoped():
        await OutboxMessage.update({OutboxMessage.relayed_at: None}).where(OutboxMessage.tenant_id == t.id)
    await drain(redis, smtp_config)
    assert len(smtp_server.to(t.emails["agency_officer"])) == 1
    with unscoped():
        assert await InboxItem.count().where(InboxItem.notification_id == nid) == 1
    assert await sweep_once(redis, smtp_config.with_(redeliver_after=0)) == 0  # nothing pending any more


async def test_failing_email_is_retried_then_marked_failed_and_shown_to_tenant_admins(
        client, make_tenant, redis, wconfig, smtp_server, smtp_config):
    t = await make_tenant(modules=["example"])
    other = await make_tenant(modules=["example"])
    nid = await notify(await t.ctx(), kind="example.visit", title="Thư không gửi được", recipients=["viewer"])
    closed = wconfig.with_(smtp_host="127.0.0.1", smtp_port=free_port(), smtp_starttls=False, max_attempts=3,
                           backoff_seconds=0.05)
    await drain(redis, closed)

    rows = await _deliveries(nid)
    assert rows["in_app"]["status"] == "sent"  # one channel failing does not hold the other back
    email = rows["email"]
    assert email["status"] == "failed" and email["attempts"] == 3
    assert "Connect" in email["last_error"] or "refused" in email["last_error"].lower()
    assert smtp_server.messages == []

    url = t.url("/notifications/failed")
    r = await client.get(url, headers=t.headers("tenant_admin"))
    assert r.status_code == 200, r.text
    page = r.json()
    assert page["total"] == 1
    item = page["items"][0]
    assert item["id"] == str(email["id"]) and item["channel"] == "email" and item["status"] == "failed"
    assert item["title"] == "Thư không gửi được" and item["user_email"] == t.emails["viewer"]
    assert item["attempts"] == 3
    for role in ("inspector", "agency_officer", "viewer"):
        assert (await client.get(url, headers=t.headers(role))).status_code == 403
    # the other tenant's admin sees neither this list nor this delivery
    assert (await client.get(url, headers=other.headers("tenant_admin"))).status_code == 404
    assert (await client.get(other.url("/notifications/failed"), headers=other.headers("tenant_admin"))).json()[
        "total"] == 0
    retry = f"/notifications/deliveries/{email['id']}/retry"
    assert (await client.post(other.url(retry), headers=other.headers("tenant_admin"))).status_code == 404

    # the SMTP server is back: a tenant admin queues it again and it goes out once
    r = await client.post(t.url(retry), headers=t.headers("tenant_admin"))
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "pending" and r.json()["attempts"] == 0
    assert (await client.post(t.url(retry), headers=t.headers("tenant_admin"))).status_code == 409
    await drain(redis, smtp_config)
    assert (await _deliveries(nid))["email"]["status"] == "sent"
    assert len(smtp_server.to(t.emails["viewer"])) == 1
    assert (await client.get(url, headers=t.headers("tenant_admin"))).json()["total"] == 0


async def test_an_address_the_mail_server_refuses_fails_at_once(make_tenant, redis, smtp_server, smtp_config):
    t = await make_tenant(modules=["example"])
    smtp_server.refuse.add(t.emails["viewer"])
    nid = await notify(await t.ctx(), kind="example.visit", title="x", recipients=["viewer", "inspector"])
    await drain(redis, smtp_config.with_(max_attempts=5))
    with unscoped():
        rows = await NotificationDelivery.select().where(
            (NotificationDelivery.notification_id == nid) & (NotificationDelivery.channel == "email"))
    by_user = {r["user_id"]: r for r in rows}
    refused = by_user[t.users["viewer"]]
    assert refused["status"] == "failed" and refused["attempts"] == 1 and "refused" in refused["last_error"]
    assert by_user[t.users["inspector"]]["status"] == "sent"
    assert len(smtp_server.to(t.emails["inspector"])) == 1 and smtp_server.to(t.emails["viewer"]) == []


async def test_deactivated_recipient_is_skipped_not_retried(make_tenant, redis, wconfig):
    from core.users.tables import User

    t = await make_tenant(modules=["example"])
    ctx = await t.ctx()
    nid = await notify(ctx, kind="example.visit", title="x", recipients=["viewer"])
    await ctx.scope(User).update(t.users["viewer"], {"active": False})
    await drain(redis, wconfig)
    rows = await _deliveries(nid)
    assert {r["status"] for r in rows.values()} == {"skipped"}
    assert all(r["attempts"] == 0 for r in rows.values())
    with unscoped():
        assert await InboxItem.count().where(InboxItem.notification_id == nid) == 0


async def test_lost_queue_is_refilled_by_the_sweep(make_tenant, redis, wconfig):
    """Redis lost its jobs after the relay marked them relayed: the sweep queues the pending deliveries again."""
    from datetime import datetime, timedelta, timezone

    from workers.relay import relay_all, sweep_once

    t = await make_tenant(modules=["example"])
    nid = await notify(await t.ctx(), kind="example.visit", title="x", recipients=["inspector"])
    assert await relay_all(redis, wconfig) == 2
    # simulate a Redis restart without persistence: this session's queue and its jobs are gone
    job_ids = [j.decode() for j in await redis.zrange(wconfig.queue, 0, -1)]
    assert len(job_ids) == 2  # the email's job and the in-app group's
    await redis.delete(wconfig.queue, *[f"arq:job:{j}" for j in job_ids])
    await run_worker(redis, wconfig)
    assert {r["status"] for r in (await _deliveries(nid)).values()} == {"pending"}

    assert await sweep_once(redis, wconfig) == 0  # not yet overdue
    with unscoped():
        await NotificationDelivery.update({
            NotificationDelivery.next_attempt_at: datetime.now(timezone.utc) - timedelta(hours=1),
        }).where(NotificationDelivery.notification_id == nid)
    assert await sweep_once(redis, wconfig) == 2
    await run_worker(redis, wconfig)
    assert {r["status"] for r in (await _deliveries(nid)).values()} == {"sent"}
    with unscoped():
        assert await InboxItem.count().where(InboxItem.notification_id == nid) == 1


async def test_concurrent_relays_queue_each_job_once(make_tenant, redis, wconfig):
    import asyncio

    from workers.relay import relay_once

    await drain(redis, wconfig)  # what earlier tests left in the outbox
    t = await make_tenant(modules=["example"])
    ctx = await t.ctx()
    ids = [await notify(ctx, kind="example.visit", title=f"x{i}", recipients=["inspector", "viewer"]) for i in range(10)]
    await asyncio.gather(*(relay_once(redis, wconfig) for _ in range(4)))
    # 10 notifications x 2 users x 2 channels: each delivery in one queued job, whatever the relays did
    # (emails one job each, the in-app ones together)
    carried = await queued_deliveries(redis, wconfig)
    with unscoped():
        rows = await NotificationDelivery.select(NotificationDelivery.id, NotificationDelivery.channel).where(
            NotificationDelivery.notification_id.is_in(ids))
    assert sorted(carried) == sorted(str(r["id"]) for r in rows) and len(rows) == 40
    await run_worker(redis, wconfig)
    with unscoped():
        assert await InboxItem.count().where(InboxItem.notification_id.is_in(ids)) == 20
        assert await NotificationDelivery.count().where(
            NotificationDelivery.notification_id.is_in(ids) & (NotificationDelivery.status == "sent")) == 40


async def test_inbox_writer_groups_concurrent_deliveries_and_isolates_a_bad_one(make_tenant, monkeypatch):
    """Jobs arriving together share one transaction; a batch that fails is retried one by one, so only the
    delivery at fault fails."""
    import asyncio

    from workers.channels import in_app

    t = await make_tenant(modules=["example"])
    ctx = await t.ctx()
    ids = [await notify(ctx, kind="example.visit", title=f"x{i}", recipients=["inspector"]) for i in range(6)]
    with unscoped():
        rows = await NotificationDelivery.select(NotificationDelivery.id, NotificationDelivery.notification_id).where(
            NotificationDelivery.notification_id.is_in(ids) & (NotificationDelivery.channel == "in_app"))
    delivery_ids = [r["id"] for r in rows]
    bad = delivery_ids[0]
    calls: list[int] = []
    real = in_app.deliver_in_app

    async def flaky(batch):
        calls.append(len(batch))
        if bad in batch:
            raise RuntimeError("a row the database will not take")
        return await real(batch)

    monkeypatch.setattr(in_app, "deliver_in_app", flaky)
    writer = in_app.InboxWriter()
    results = await asyncio.gather(*(writer.submit(i) for i in delivery_ids), return_exceptions=True)
    assert isinstance(results[0], RuntimeError)
    assert results[1:] == ["sent"] * 5
    assert calls[0] == 6  # all six in one batch first, then one by one
    assert sorted(calls[1:]) == [1] * 6
    with unscoped():
        assert await InboxItem.count().where(InboxItem.notification_id.is_in(ids)) == 5


async def test_a_mail_server_that_hangs_counts_attempts_and_ends_failed(make_tenant, redis, wconfig):
    """aiosmtplib's timeout is per command: a server that answers slowly can hold a job past arq's timeout, which
    cancels it without counting an attempt; the delivery stayed pending and was queued again forever."""
    import asyncio

    from tests.workers.conftest import drain

    held: list = []

    async def silent(reader, writer):  # accepts, never greets
        held.append(writer)
        await reader.read()  # until the client gives up
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        t = await make_tenant(modules=["example"])
        nid = await notify(await t.ctx(), kind="example.visit", title="x", recipients=["viewer"])
        hanging = wconfig.with_(smtp_host="127.0.0.1", smtp_port=port, smtp_starttls=False, job_timeout=2,
                                max_attempts=2, backoff_seconds=0.05)
        await drain(redis, hanging)
        email = (await _deliveries(nid))["email"]
        assert email["status"] == "failed" and email["attempts"] == 2, email
    finally:
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()


async def test_inbox_writer_outcomes_and_its_connection_goes_back_clean(client, make_tenant):
    """Every outcome of a batch (sent, skipped, another channel, done already, unknown), the same on both databases:
    on PostgreSQL the batch is one statement on a connection the writer holds on the platform path, which must be
    taken off that path before the pool hands it to anyone else."""
    import asyncio
    import uuid

    from core import db
    from core.users.tables import User
    from workers.channels import in_app

    t = await make_tenant(modules=["example"])
    ctx = await t.ctx()
    nid = await notify(ctx, kind="example.visit", title="x", recipients=["inspector", "viewer"])
    await ctx.scope(User).update(t.users["viewer"], {"active": False})
    with unscoped():
        rows = await NotificationDelivery.select(NotificationDelivery.id, NotificationDelivery.channel,
                                                 NotificationDelivery.user_id).where(
            NotificationDelivery.notification_id == nid)
    ids = {(r["channel"], r["user_id"]): r["id"] for r in rows}
    inspector_app, viewer_app = ids[("in_app", t.users["inspector"])], ids[("in_app", t.users["viewer"])]
    inspector_mail = ids[("email", t.users["inspector"])]
    unknown = uuid.uuid4()
    before = db.PLATFORM_ACCESS[in_app.SESSION_REASON]

    writer = in_app.InboxWriter()
    results = await asyncio.gather(*(writer.submit(i) for i in (inspector_app, viewer_app, inspector_mail, unknown)))
    assert results == ["sent", "skipped", in_app.OTHER, "noop"]
    assert await writer.submit(inspector_app) == "noop"  # done already: nothing written twice

    with unscoped():
        items = await InboxItem.select(InboxItem.user_id, InboxItem.key).where(InboxItem.notification_id == nid)
        after = {r["id"]: r for r in await NotificationDelivery.select().where(NotificationDelivery.notification_id == nid)}
    assert items == [{"user_id": t.users["inspector"], "key": f"{nid}:{t.users['inspector']}"}]
    assert (after[inspector_app]["status"], after[inspector_app]["attempts"]) == ("sent", 1)
    assert after[inspector_app]["sent_at"] is not None
    assert (after[viewer_app]["status"], after[viewer_app]["attempts"]) == ("skipped", 0)
    assert after[viewer_app]["last_error"] == in_app.SKIP_REASON
    assert after[inspector_mail]["status"] == "pending"

    engine = db.engine()
    if not db.is_sqlite():
        assert db.PLATFORM_ACCESS[in_app.SESSION_REASON] > before  # counted like every platform access
        pool = engine.pool
        held = [await pool.acquire() for _ in range(pool.get_size())]  # every pooled connection, the writer's too
        try:
            for conn in held:
                assert await conn.fetchval("SELECT current_setting('app.platform', true)") in ("", None)
        finally:
            for conn in held:
                await pool.release(conn)
