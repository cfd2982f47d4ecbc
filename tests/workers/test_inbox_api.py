"""The inbox API: unread first, pages, mark one or all read, nobody else's items, preferences."""

from __future__ import annotations

import uuid

from core.notifications.notify import notify
from tests.workers.conftest import drain

INBOX = "/api/v1/me/notifications"


async def _notify_n(t, n: int, role: str = "inspector") -> list[uuid.UUID]:
    ctx = await t.ctx()
    ids = []
    for i in range(n):
        ids.append(await notify(ctx, kind="example.numbered", title=f"Thông báo {i}", body=f"nội dung {i}",
                                recipients=[role], link=f"example/notes/{i}"))
    return ids


async def test_inbox_lists_unread_first_and_pages(client, make_tenant, redis, wconfig):
    t = await make_tenant(modules=["example"])
    await _notify_n(t, 5)
    await drain(redis, wconfig)
    h = t.headers("inspector")

    page = (await client.get(INBOX, headers=h)).json()
    assert page["total"] == 5 and page["unread"] == 5
    titles = [i["title"] for i in page["items"]]
    assert titles == [f"Thông báo {i}" for i in (4, 3, 2, 1, 0)]  # newest first
    assert page["items"][0]["link"] == f"/api/v1/tenants/{t.code}/example/notes/4"
    assert page["items"][0]["read"] is False

    # read the two newest: they go after the unread ones
    for item in page["items"][:2]:
        r = await client.post(f"{INBOX}/{item['id']}/read", headers=h)
        assert r.status_code == 200 and r.json()["read"] is True and r.json()["read_at"]
    page = (await client.get(INBOX, headers=h)).json()
    assert page["unread"] == 3
    assert [i["title"] for i in page["items"]] == [f"Thông báo {i}" for i in (2, 1, 0, 4, 3)]
    assert [i["read"] for i in page["items"]] == [False, False, False, True, True]

    # pages cut across the unread/read boundary without losing or repeating an item
    seen = []
    for offset in range(0, 5, 2):
        part = (await client.get(INBOX, params={"limit": 2, "offset": offset}, headers=h)).json()
        assert part["total"] == 5 and part["limit"] == 2 and part["offset"] == offset
        seen += [i["title"] for i in part["items"]]
    assert seen == [f"Thông báo {i}" for i in (2, 1, 0, 4, 3)]

    unread_only = (await client.get(INBOX, params={"unread_only": True}, headers=h)).json()
    assert unread_only["total"] == 3 and len(unread_only["items"]) == 3

    # marking read twice keeps the first time
    first = page["items"][3]
    again = (await client.post(f"{INBOX}/{first['id']}/read", headers=h)).json()
    assert again["read_at"] == first["read_at"]

    r = await client.post(f"{INBOX}/read-all", headers=h)
    assert r.status_code == 200 and r.json() == {"updated": 3}
    page = (await client.get(INBOX, headers=h)).json()
    assert page["unread"] == 0 and page["total"] == 5
    assert (await client.post(f"{INBOX}/read-all", headers=h)).json() == {"updated": 0}

    # other users of the tenant do not receive them
    assert (await client.get(INBOX, headers=t.headers("viewer"))).json()["total"] == 0

    bad = await client.get(INBOX, params={"limit": 0}, headers=h)
    assert bad.status_code == 400 and bad.headers["content-type"].startswith("application/problem+json")


async def test_nobody_reads_or_marks_anyone_elses_items(client, make_tenant, redis, wconfig, platform_users):
    a = await make_tenant(modules=["example"])
    b = await make_tenant(modules=["example"])
    await _notify_n(a, 1, role="tenant_admin")
    await drain(redis, wconfig)
    item = (await client.get(INBOX, headers=a.headers("tenant_admin"))).json()["items"][0]

    # another user of the same tenant, a user of another tenant, a platform admin: 404, and nothing changes
    for headers in (a.headers("inspector"), b.headers("tenant_admin"), platform_users["platform_admin"]):
        r = await client.post(f"{INBOX}/{item['id']}/read", headers=headers)
        assert r.status_code == 404, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        listing = (await client.get(INBOX, headers=headers)).json()
        assert item["id"] not in [i["id"] for i in listing["items"]]
        assert (await client.post(f"{INBOX}/read-all", headers=headers)).json() == {"updated": 0}
    assert (await client.get(INBOX, headers=a.headers("tenant_admin"))).json()["unread"] == 1

    assert (await client.post(f"{INBOX}/{uuid.uuid4()}/read", headers=a.headers("tenant_admin"))).status_code == 404
    assert (await client.get(INBOX)).status_code == 401


async def test_preferences_api(client, make_tenant, redis, wconfig):
    t = await make_tenant(modules=["example"])
    h = t.headers("inspector")
    url = f"{INBOX}/preferences"

    r = await client.get(url, headers=h)
    assert r.status_code == 200
    assert r.json() == {"items": [], "default": {"kind": "*", "in_app": True, "email": "immediate"}}

    assert (await client.put(f"{url}/*", json={"in_app": True, "email": "digest"}, headers=h)).status_code == 200
    r = await client.put(f"{url}/example.numbered", json={"in_app": False, "email": "off"}, headers=h)
    assert r.status_code == 200 and r.json() == {"kind": "example.numbered", "in_app": False, "email": "off"}
    r = await client.put(f"{url}/example.numbered", json={"in_app": True, "email": "off"}, headers=h)
    assert r.json()["in_app"] is True  # a second PUT updates, it does not duplicate
    items = (await client.get(url, headers=h)).json()["items"]
    assert [(i["kind"], i["in_app"], i["email"]) for i in items] == [("*", True, "digest"),
                                                                   ("example.numbered", True, "off")]
    # preferences are per user
    assert (await client.get(url, headers=t.headers("viewer"))).json()["items"] == []

    # they decide the channels of the next notifications
    ctx = await t.ctx()
    from core.notifications.tables import NotificationDelivery
    from core.tenancy import unscoped

    nid = await notify(ctx, kind="example.numbered", title="x", recipients=["inspector"])
    other = await notify(ctx, kind="example.other", title="y", recipients=["inspector"])
    with unscoped():
        rows = await NotificationDelivery.select().where(NotificationDelivery.notification_id.is_in([nid, other]))
    assert sorted((r["notification_id"] == nid, r["channel"], r["status"]) for r in rows) == [
        (False, "email", "digest"), (False, "in_app", "pending"), (True, "in_app", "pending")]

    assert (await client.delete(f"{url}/example.numbered", headers=h)).status_code == 204
    assert (await client.delete(f"{url}/example.numbered", headers=h)).status_code == 404
    assert [i["kind"] for i in (await client.get(url, headers=h)).json()["items"]] == ["*"]

    for body, field in (({"in_app": True, "email": "weekly"}, "email"), ({"in_app": "yes"}, "in_app"),
                        ({"in_app": True, "sms": True}, "sms")):
        r = await client.put(f"{url}/example.numbered", json=body, headers=h)
        assert r.status_code == 400, r.text
        assert r.json()["field"] == field
    r = await client.put(f"{url}/Not A Kind", json={"in_app": True}, headers=h)
    assert r.status_code == 400 and r.json()["field"] == "kind"


async def test_out_of_range_input_is_a_400_not_a_500(client, make_tenant):
    """Offsets beyond a 64-bit integer and kinds with a NUL byte reached the database (500 on PostgreSQL)."""
    t = await make_tenant(modules=["example"])
    h = t.headers("inspector")
    for url, headers in ((INBOX, h), (t.url("/notifications/failed"), t.headers("tenant_admin"))):
        for offset in (2**63, 10**20):
            r = await client.get(url, params={"offset": offset}, headers=headers)
            assert r.status_code == 400, r.text
            assert r.json()["field"] == "offset"
    r = await client.delete(f"{INBOX}/preferences/a%00b", headers=h)
    assert r.status_code == 400, r.text
    assert r.json()["field"] == "kind"
