"""The daily digest: one mail with everything a user chose to get by digest, sent once."""

from __future__ import annotations

from core.notifications.tables import NotificationDelivery
from core.notifications.notify import notify
from core.tenancy import unscoped
from tests.workers.conftest import drain, free_port, run_worker
from workers.digest import digest_scan


async def _email_statuses(t, role: str) -> list[str]:
    with unscoped():
        rows = await NotificationDelivery.select(NotificationDelivery.status).where(
            (NotificationDelivery.tenant_id == t.id) & (NotificationDelivery.user_id == t.users[role])
            & (NotificationDelivery.channel == "email"))
    return sorted(r["status"] for r in rows)


async def test_digest_gathers_the_day_into_one_mail(client, make_tenant, redis, smtp_server, smtp_config):
    await drain(redis, smtp_config)
    t = await make_tenant(modules=["example"])
    h = t.headers("inspector")
    r = await client.put("/api/v1/me/notifications/preferences/example", json={"in_app": True, "email": "digest"},
                         headers=h)
    assert r.status_code == 200
    ctx = await t.ctx()
    titles = ["Kế hoạch kiểm tra năm 2026", "Đoàn kiểm tra số 02/QĐ-BCĐISO", "Biên bản kiểm tra Sở Tư pháp"]
    for title in titles:
        await notify(ctx, kind="example.plan", title=title, body="Chi tiết trong ứng dụng.",
                     recipients=["inspector", "viewer"], link="example/notes")
    await drain(redis, smtp_config)

    # immediate for the viewer (3 mails), nothing yet for the inspector, whose in-app inbox has all three
    assert len(smtp_server.to(t.emails["viewer"])) == 3
    assert smtp_server.to(t.emails["inspector"]) == []
    assert (await client.get("/api/v1/me/notifications", headers=h)).json()["total"] == 3
    assert await _email_statuses(t, "inspector") == ["digest"] * 3

    queued = await digest_scan({"config": smtp_config, "redis": redis})
    assert queued >= 1
    await run_worker(redis, smtp_config)
    mails = smtp_server.to(t.emails["inspector"])
    assert len(mails) == 1
    assert mails[0]["Subject"].startswith("Tóm tắt thông báo") and "(3)" in mails[0]["Subject"]
    text = mails[0].get_content()
    for title in titles:
        assert title in text
    assert await _email_statuses(t, "inspector") == ["sent"] * 3

    # a second run (the cron fired twice, a retried job) finds nothing waiting and sends nothing
    await digest_scan({"config": smtp_config, "redis": redis})
    await run_worker(redis, smtp_config)
    assert len(smtp_server.to(t.emails["inspector"])) == 1

    # what comes next goes into the next digest only
    await notify(ctx, kind="example.plan", title="Thông báo sau", recipients=["inspector"])
    await drain(redis, smtp_config)
    from workers.digest import send_digest_for

    assert await send_digest_for(t.id, t.users["inspector"], smtp_config) == 1
    mails = smtp_server.to(t.emails["inspector"])
    assert len(mails) == 2 and "Thông báo sau" in mails[1].get_content() and titles[0] not in mails[1].get_content()


async def test_failing_digest_is_retried_then_marked_failed(make_tenant, redis, wconfig):
    t = await make_tenant(modules=["example"])
    ctx = await t.ctx()
    from core.notifications.tables import NotificationPreference

    uid = t.users["viewer"]
    await ctx.scope(NotificationPreference).insert({"user_id": uid, "kind": "*", "key": f"{uid}:*",
                                                    "in_app": False, "email": "digest"})
    await notify(ctx, kind="example.plan", title="a", recipients=[uid])
    await notify(ctx, kind="example.plan", title="b", recipients=[uid])
    closed = wconfig.with_(smtp_host="127.0.0.1", smtp_port=free_port(), smtp_starttls=False, max_attempts=2,
                           backoff_seconds=0.05)
    await drain(redis, closed)
    await digest_scan({"config": closed, "redis": redis})
    await run_worker(redis, closed)
    with unscoped():
        rows = await NotificationDelivery.select().where(NotificationDelivery.user_id == uid)
    assert [(r["status"], r["attempts"]) for r in rows] == [("failed", 2), ("failed", 2)]
    assert all("Connect" in r["last_error"] or "refused" in r["last_error"].lower() for r in rows)
