"""core.notifications.notify: recipients within the tenant, preferences, the outbox written with the business change."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

import pytest

from core.db import transaction
from core.errors import BadRequest, NotFound
from core.notifications.tables import InboxItem, Notification, NotificationDelivery, NotificationPreference, OutboxMessage
from core.notifications.notify import notify
from core.users.tables import User
from core.tenancy import unscoped
from core.text import fold
from tests.example_plugin.tables import ExampleNote
from tests.workers.conftest import drain


async def _deliveries(notification_id: uuid.UUID) -> list[dict]:
    with unscoped():
        return await NotificationDelivery.select().where(NotificationDelivery.notification_id == notification_id)


async def _counts(tenant_id: uuid.UUID) -> dict[str, int]:
    with unscoped():
        return {
            "notifications": await Notification.count().where(Notification.tenant_id == tenant_id),
            "deliveries": await NotificationDelivery.count().where(NotificationDelivery.tenant_id == tenant_id),
            "outbox": await OutboxMessage.count().where(OutboxMessage.tenant_id == tenant_id),
            "inbox": await InboxItem.count().where(InboxItem.tenant_id == tenant_id),
        }


async def test_outbox_is_written_with_the_business_change_or_not_at_all(make_tenant, redis, wconfig):
    t = await make_tenant(modules=["example"])
    ctx = await t.ctx()

    class Boom(Exception):
        pass

    with pytest.raises(Boom):
        async with transaction():
            await ctx.scope(ExampleNote).insert({"agency_id": t.agencies["D1"], "title": "Ghi chú",
                                                 "title_folded": fold("Ghi chú")})
            await notify(ctx, kind="example.note_created", title="Ghi chú mới", recipients=["tenant_admin"])
            raise Boom()
    assert await ctx.scope(ExampleNote).count() == 0
    assert await _counts(t.id) == {"notifications": 0, "deliveries": 0, "outbox": 0, "inbox": 0}
    await drain(redis, wconfig)
    assert (await _counts(t.id))["inbox"] == 0  # a rolled-back change sends nothing

    async with transaction():
        await ctx.scope(ExampleNote).insert({"agency_id": t.agencies["D1"], "title": "Ghi chú",
                                             "title_folded": fold("Ghi chú")})
        nid = await notify(ctx, kind="example.note_created", title="Ghi chú mới", recipients=["tenant_admin"])
    counts = await _counts(t.id)
    assert counts == {"notifications": 1, "deliveries": 2, "outbox": 2, "inbox": 0}  # in-app + email, not yet sent
    await drain(redis, wconfig)
    rows = await _deliveries(nid)
    assert {(r["channel"], r["status"]) for r in rows} == {("in_app", "sent"), ("email", "sent")}
    assert (await _counts(t.id))["inbox"] == 1


async def test_recipients_stay_inside_the_tenant(make_tenant):
    t = await make_tenant(modules=["example"])
    other = await make_tenant(modules=["example"])
    ctx = await t.ctx()

    with pytest.raises(NotFound):
        await notify(ctx, kind="example.x", title="x", recipients=[other.users["tenant_admin"]])
    with pytest.raises(NotFound):
        await notify(ctx, kind="example.x", title="x", recipients=["agency_officer"], agency_id=other.agencies["D1"])
    with pytest.raises(BadRequest):
        await notify(ctx, kind="example.x", title="x", recipients=["tenant_admin"],
                     link=f"/api/v1/tenants/{other.code}/example/notes")
    for bad in ("https://evil.example/x", "//evil.example/x", "/api/v1/me", "notes/../../other", "a b"):
        with pytest.raises(BadRequest):
            await notify(ctx, kind="example.x", title="x", recipients=["tenant_admin"], link=bad)
    with pytest.raises(BadRequest):
        await notify(ctx, kind="example.x", title="x", recipients=["nobody"])
    with pytest.raises(BadRequest):
        await notify(ctx, kind="Bad Kind", title="x", recipients=["tenant_admin"])
    assert (await _counts(t.id))["notifications"] == 0

    nid = await notify(ctx, kind="example.x", title="x", recipients=[str(t.users["viewer"]), "inspector"],
                       link="example/notes")
    rows = await _deliveries(nid)
    assert {r["user_id"] for r in rows} == {t.users["viewer"], t.users["inspector"]}
    assert {r["tenant_id"] for r in rows} == {t.id}
    with unscoped():
        note = await Notification.select().where(Notification.id == nid).first()
    assert note["link"] == f"/api/v1/tenants/{t.code}/example/notes"


async def test_agency_officers_of_the_agency_or_its_nearest_parent(make_tenant):
    t = await make_tenant(modules=["example"])
    ctx = await t.ctx()
    nid = await notify(ctx, kind="example.x", title="D1", recipients=["agency_officer"], agency_id=t.agencies["D1"])
    assert {r["user_id"] for r in await _deliveries(nid)} == {t.users["agency_officer"]}
    # D1U has no officer of its own: its parent D1's officer is told
    nid = await notify(ctx, kind="example.x", title="D1U", recipients=["agency_officer"], agency_id=t.agencies["D1U"])
    assert {r["user_id"] for r in await _deliveries(nid)} == {t.users["agency_officer"]}
    # D2 and its parents have no officer: nobody, but the notification is kept
    nid = await notify(ctx, kind="example.x", title="D2", recipients=["agency_officer", "tenant_admin"],
                       agency_id=t.agencies["D2"])
    assert {r["user_id"] for r in await _deliveries(nid)} == {t.users["tenant_admin"]}
    # a deactivated user is left out
    await ctx.scope(User).update(t.users["inspector"], {"active": False})
    nid = await notify(ctx, kind="example.x", title="x", recipients=["inspector", t.users["inspector"]])
    assert await _deliveries(nid) == []


async def test_dedup_key_makes_notify_idempotent(make_tenant):
    t = await make_tenant(modules=["example"])
    ctx = await t.ctx()
    first = await notify(ctx, kind="example.x", title="x", recipients=["tenant_admin"], dedup_key="once")
    again = await notify(ctx, kind="example.x", title="x", recipients=["tenant_admin"], dedup_key="once")
    assert first is not None and again is None
    other = await make_tenant(modules=["example"])  # the key is per tenant
    assert await notify(await other.ctx(), kind="example.x", title="x", recipients=["tenant_admin"],
                        dedup_key="once") is not None
    assert (await _counts(t.id))["notifications"] == 1
    assert (await _counts(t.id))["deliveries"] == 2


async def test_preferences_choose_channels_most_specific_first(make_tenant):
    t = await make_tenant(modules=["example"])
    ctx = await t.ctx()
    uid = t.users["inspector"]

    async def pref(kind: str, in_app: bool, email: str) -> None:
        await ctx.scope(NotificationPreference).insert({"user_id": uid, "kind": kind, "key": f"{uid}:{kind}",
                                                        "in_app": in_app, "email": email})

    await pref("*", True, "off")
    await pref("example", True, "digest")
    await pref("example.loud", False, "immediate")

    async def channels(kind: str) -> set[tuple[str, str]]:
        nid = await notify(ctx, kind=kind, title="x", recipients=[uid])
        return {(r["channel"], r["status"]) for r in await _deliveries(nid)}

    assert await channels("reminder.other.thing") == {("in_app", "pending")}
    assert await channels("example.quiet") == {("in_app", "pending"), ("email", "digest")}
    assert await channels("example.loud") == {("email", "pending")}
    assert await channels("example.loud.sub") == {("email", "pending")}
    with unscoped():
        # digest deliveries wait for the digest: no outbox row for them
        digest_ids = await NotificationDelivery.select(NotificationDelivery.id).where(
            (NotificationDelivery.tenant_id == t.id) & (NotificationDelivery.status == "digest"))
        assert len(digest_ids) == 1
        assert await OutboxMessage.count().where(OutboxMessage.tenant_id == t.id) == 4


async def test_a_role_of_many_users_is_written_in_chunks(make_tenant):
    t = await make_tenant(modules=["example"])
    ctx = await t.ctx()
    users = [User(id=uuid.uuid4(), tenant_id=t.id, email=f"viewer{i}@{t.code}.test", full_name=f"Viewer {i}",
                  full_name_folded=f"viewer {i}", role="viewer", password_hash="x") for i in range(1300)]
    with unscoped():
        for start in range(0, len(users), 400):
            await User.insert(*users[start:start + 400])
    nid = await notify(ctx, kind="example.broadcast", title="Cho mọi người", recipients=["viewer"])
    with unscoped():
        assert await NotificationDelivery.count().where(NotificationDelivery.notification_id == nid) == 2 * 1301
        assert await OutboxMessage.count().where(OutboxMessage.tenant_id == t.id) == 2 * 1301
        note = await Notification.select(Notification.recipient_count).where(Notification.id == nid).first()
    assert note["recipient_count"] == 1301
    with unscoped():  # leave the session's outbox light for the tests that drain it
        await OutboxMessage.update({OutboxMessage.relayed_at: datetime.now(timezone.utc)}).where(
            OutboxMessage.tenant_id == t.id)
        await NotificationDelivery.update({NotificationDelivery.status: "skipped"}).where(
            NotificationDelivery.notification_id == nid)


async def test_links_with_encoded_dot_segments_cannot_leave_the_tenant(make_tenant):
    """URL parsers (WHATWG: browsers, mail clients) treat %2e%2e as "..": such a link would lead into another
    tenant's paths once resolved."""
    from urllib.parse import urljoin

    t = await make_tenant(modules=["example"])
    other = await make_tenant(modules=["example"])
    ctx = await t.ctx()
    for bad in ("%2e%2e/%2e%2e/" + other.code + "/example/notes", "%2E%2E/" + other.code,
                "example/.%2e/.%2E/" + other.code, f"/api/v1/tenants/{t.code}/%2e%2e/{other.code}/example",
                "..%2f..%2f" + other.code):
        with pytest.raises(BadRequest):
            await notify(ctx, kind="example.x", title="x", recipients=["tenant_admin"], link=bad)
    assert (await _counts(t.id))["notifications"] == 0
    # a percent sign elsewhere is fine
    nid = await notify(ctx, kind="example.x", title="x", recipients=["tenant_admin"], link="example/notes?q=50%25")
    with unscoped():
        note = await Notification.select(Notification.link).where(Notification.id == nid).first()
    assert urljoin("https://iso.example.gov.vn/", note["link"]).startswith(
        f"https://iso.example.gov.vn/api/v1/tenants/{t.code}/")
